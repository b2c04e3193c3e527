from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.batches import prompt_batch_import
from generation.services import GenerationRefused
from labeling.importers import PromptFileError
from labeling.models import Project


class Command(BaseCommand):
    help = (
        "Import a prompt batch (CSV with a 'prompt' column, or JSONL) into a project, gold fields included."
        " All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--name", default="", help="batch name (default: the file name)")
        parser.add_argument("--generate", action="store_true", help="queue image generation for every new task")

    def handle(self, *args, project: str, file: Path, name: str, generate: bool, **options):
        target = Project.objects.filter(slug=project).first() if "\x00" not in project else None
        if target is None:
            known = ", ".join(Project.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No project with slug {project!r}. Known projects: {known}.")
        if not file.is_file():
            raise CommandError(f"{file} is not a readable file.")
        size, limit = file.stat().st_size, settings.PROMPT_IMPORT_MAX_BYTES
        if size > limit:
            raise CommandError(
                f"Nothing imported: {file} is {size:,} bytes; the limit is {limit:,} bytes (PROMPT_IMPORT_MAX_BYTES)."
            )
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Nothing imported: cannot read {file} ({exc.strerror}).") from None
        try:
            batch = prompt_batch_import(project=target, filename=file.name, data=data, name=name, generate=generate)
        except PromptFileError as exc:
            lines = "\n".join(f"  {error}" for error in exc.errors)
            raise CommandError(f"Nothing imported; {len(exc.errors)} bad line(s) in {file}:\n{lines}") from None
        except GenerationRefused as exc:
            raise CommandError(f"Nothing imported: {exc}") from None
        queued = f"; image generation queued for {batch.prompt_count} tasks" if generate else ""
        gold = f"; gold set on {batch.gold_tasks_set} existing tasks" if batch.gold_tasks_set else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {batch.prompt_count} prompts into {target.slug} as batch {batch.pk}{queued}{gold}."
            )
        )
