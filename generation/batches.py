"""Prompt batches: importing a file of prompts, with their generation queued when asked for."""

from django.conf import settings
from django.db import transaction

from generation.services import image_generation_start
from generation.text_jobs import answer_candidate_build
from generation.text_services import text_job_queue
from labeling.gold import gold_answers_to_review, task_gold_set
from labeling.importers import parse_prompt_file
from labeling.models import Candidate, Project, PromptBatch, Task


@transaction.atomic
def prompt_batch_import(
    *, project: Project, filename: str, data: bytes, uploaded_by=None, name: str = "", generate: bool = False
) -> PromptBatch:
    """Create a batch and one task per prompt, or nothing at all; with ``generate``, queue each task's generation.

    Rows with gold make gold tasks; rows naming an existing task set its gold (``batch.gold_tasks_set`` counts
    those). Raises ``labeling.importers.PromptFileError`` listing every bad line, and
    ``generation.services.GenerationRefused`` when the project cannot generate.
    """
    existing = set(Task.objects.filter(project=project).values_list("prompt", flat=True))
    rows = parse_prompt_file(
        filename=filename,
        data=data,
        max_chars=settings.PROMPT_MAX_CHARS,
        max_bytes=settings.PROMPT_IMPORT_MAX_BYTES,
        existing_prompts=existing,
        with_answers=project.kind == Project.Kind.TEXT,
        project=project,
    )
    gold_rows = [row for row in rows if row.task_id is not None]
    rows = [row for row in rows if row.task_id is None]
    batch = PromptBatch.objects.create(
        project=project, name=name or filename, uploaded_by=uploaded_by, prompt_count=len(rows)
    )
    tasks = Task.objects.bulk_create(
        Task(
            project=project,
            prompt=row.prompt,
            source=Task.Source.BATCH,
            batch=batch,
            created_by=uploaded_by,
            extra=row.extra,
            status=Task.Status.READY if row.response else Task.Status.NEW,
            gold=row.gold,
        )
        for row in rows
    )
    _imported_answers_create(tasks=tasks, rows=rows)
    gold_answers_to_review(task_ids=[task.pk for task in tasks if task.gold is not None])
    for row in gold_rows:
        task_gold_set(task=Task.objects.select_related("project").get(pk=row.task_id), gold=row.gold)
    batch.gold_tasks_set = len(gold_rows)
    if generate:
        _generation_queue(batch=batch, user=uploaded_by)
    return batch


def _generation_queue(*, batch: PromptBatch, user) -> None:
    """Images for every prompt of an image batch; LLM answers for the prompts of a text batch that came without."""
    for task in batch.tasks.select_related("project").order_by("pk"):
        if task.project.kind == Project.Kind.IMAGE:
            image_generation_start(task=task, requested_by=user)
        elif task.status == Task.Status.NEW:
            text_job_queue(user=user, task=task)


def _imported_answers_create(*, tasks: list[Task], rows: list) -> None:
    """Answers that came with their prompts are routed like generated ones, without calling an LLM."""
    Candidate.objects.bulk_create(
        answer_candidate_build(
            task=task,
            index=0,
            text=row.response,
            given_confidence=row.confidence,
            params={"source": "import"},
        )
        for task, row in zip(tasks, rows, strict=True)
        if row.response
    )
