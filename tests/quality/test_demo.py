"""seed_demo's quality project: worth a look on a fresh install, and seeded once."""

from io import StringIO

from django.core.management import call_command

from labeling.models import Preference, Project, Task, Vote
from quality.report import quality_report_compute


def test_seed_demo_adds_gold_tasks_and_judges_of_whom_only_the_careless_one_is_flagged(db):
    call_command("seed_demo", stdout=StringIO())
    project = Project.objects.get(slug="demo-quality")
    counts = (Task.objects.filter(project=project).count(), Vote.objects.count(), Preference.objects.count())
    assert Task.objects.filter(project=project, gold__isnull=False).count() == 3

    flagged = {row["username"] for row in quality_report_compute(project=project)["annotators"] if row["flags"]}
    assert flagged == {"demo-dash"}

    call_command("seed_demo", stdout=StringIO())
    assert (Task.objects.filter(project=project).count(), Vote.objects.count(), Preference.objects.count()) == counts
