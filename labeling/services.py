from django.conf import settings
from django.db import transaction

from generation.services import image_generation_start
from labeling.importers import parse_prompt_file
from labeling.models import Project, PromptBatch, Task


@transaction.atomic
def prompt_batch_import(
    *, project: Project, filename: str, data: bytes, uploaded_by=None, name: str = "", generate: bool = False
) -> PromptBatch:
    """Create a batch and one task per prompt, or nothing at all; with ``generate``, queue each task's images.

    Raises ``labeling.importers.PromptFileError`` listing every bad line, and
    ``generation.services.GenerationRefused`` when the project cannot generate.
    """
    existing = set(Task.objects.filter(project=project).values_list("prompt", flat=True))
    rows = parse_prompt_file(
        filename=filename,
        data=data,
        max_chars=settings.PROMPT_MAX_CHARS,
        max_bytes=settings.PROMPT_IMPORT_MAX_BYTES,
        existing_prompts=existing,
    )
    batch = PromptBatch.objects.create(
        project=project, name=name or filename, uploaded_by=uploaded_by, prompt_count=len(rows)
    )
    Task.objects.bulk_create(
        Task(
            project=project,
            prompt=row.prompt,
            source=Task.Source.BATCH,
            batch=batch,
            created_by=uploaded_by,
            extra=row.extra,
        )
        for row in rows
    )
    if generate:
        for task in batch.tasks.select_related("project").order_by("pk"):
            image_generation_start(task=task, requested_by=uploaded_by)
    return batch
