from django.core.management.base import BaseCommand

from labeling.models import TaskJudgementCounts
from labeling.models.counts import judgement_counts_recount


class Command(BaseCommand):
    help = (
        "Count every task's and candidate's judgements again from the votes and picks themselves. The database keeps "
        "these counts as judgements are written; run this after loading rows with its triggers off (a restore with "
        "session_replication_role = replica, a bulk load)."
    )

    def handle(self, *args, **options):
        judgement_counts_recount()
        self.stdout.write(f"Counted the judgements of {TaskJudgementCounts.objects.count()} tasks again.")
