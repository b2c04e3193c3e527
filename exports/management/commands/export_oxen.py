from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from exports.due import export_due_count
from exports.models import ExportRun
from exports.repository import ExportRepositoryBusy
from exports.run import export_preview, export_run
from exports.tasks import export_enqueue
from labeling.models import Project


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {count}" for table, count in counts.items())


class Command(BaseCommand):
    help = "Export new votes, preferences and reviews to the Oxen repository (OXEN_REPO_PATH) and push it."

    def add_arguments(self, parser):
        parser.add_argument("--project", default="", help="export only this project (slug)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be exported; write nothing")
        parser.add_argument(
            "--queue", action="store_true", help="hand the export to the exports worker instead of running it here"
        )

    def handle(self, *args, project: str, dry_run: bool, queue: bool, **options):
        if dry_run and queue:
            raise CommandError("--dry-run and --queue exclude each other: a dry run counts here and queues nothing.")
        target = None
        if project:
            target = Project.objects.filter(slug=project).first() if "\x00" not in project else None
            if target is None:
                known = ", ".join(Project.objects.values_list("slug", flat=True)) or "none"
                raise CommandError(f"No project with slug {project!r}. Known projects: {known}.")

        if dry_run:
            self.stdout.write(f"Would export: {_summary(export_preview(project=target))}.")
            return

        if queue:
            export_enqueue(project=target)
            self.stdout.write("Export queued for the exports worker; its run appears in the admin's export runs.")
            return

        try:
            with tqdm(total=export_due_count(project=target), unit="row", desc="export", file=self.stderr) as bar:
                run = export_run(project=target, progress=bar.update)
        except ExportRepositoryBusy as exc:
            raise CommandError(str(exc)) from exc
        if run is None:
            self.stdout.write("Another export is running; nothing done. Try again when it has finished.")
            return
        if run.status == ExportRun.Status.FAILED:
            raise CommandError(f"Export run {run.pk} failed: {run.error_message}")
        if not run.commit_id:
            self.stdout.write(f"Export run {run.pk}: no new data, no commit.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Export run {run.pk} committed {run.commit_id} to {settings.OXEN_REPO_PATH} "
                    f"(batch {run.batch}): {_summary(run.counts)}."
                )
            )
        if run.error_message:
            self.stderr.write(self.style.WARNING(run.error_message))
