from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from generation.services import image_generation_start
from generation.text_services import answer_candidate_build, text_job_queue
from labeling.importers import parse_prompt_file
from labeling.models import Candidate, Project, PromptBatch, Task, TaskReservation
from labeling.selectors import task_held_by, tasks_unheld_for


@transaction.atomic
def prompt_batch_import(
    *, project: Project, filename: str, data: bytes, uploaded_by=None, name: str = "", generate: bool = False
) -> PromptBatch:
    """Create a batch and one task per prompt, or nothing at all; with ``generate``, queue each task's generation.

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
        with_answers=project.kind == Project.Kind.TEXT,
    )
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
        )
        for row in rows
    )
    _imported_answers_create(tasks=tasks, rows=rows)
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


# How often the queue looks again when another annotator took the task it was about to hold.
CLAIM_ATTEMPTS = 5


# --- The work queue ---


def _lock_first(tasks: QuerySet[Task], skipped: Collection[int]) -> Task | None:
    """Lock the first open task, skipped ones last; first passing over tasks others have locked, then waiting."""
    for skip_locked in (True, False):
        for part in (tasks.exclude(pk__in=skipped), tasks.filter(pk__in=skipped)):
            task = part.select_for_update(skip_locked=skip_locked).first()
            if task is not None:
                return task
    return None


def task_claim_next(*, user, project: Project, skipped: Collection[int] = ()) -> Task | None:
    """Hold the next task for the user and return it, or None when nothing is open to them.

    The user's own unfinished hold comes first; otherwise the oldest task with an open slot,
    skipped tasks last. Holds expire after QUEUE_RESERVATION_SECONDS; one hold per user and project.
    """
    passed_over: set[int] = set()
    for _attempt in range(CLAIM_ATTEMPTS):
        with transaction.atomic():
            now = timezone.now()
            expires_at = now + timedelta(seconds=settings.QUEUE_RESERVATION_SECONDS)
            TaskReservation.objects.filter(task__project=project, expires_at__lte=now).delete()
            held = task_held_by(user=user, project=project, now=now)
            if held is not None:
                TaskReservation.objects.filter(task=held, user=user).update(expires_at=expires_at)
                return held
            unheld = tasks_unheld_for(user=user, project=project, now=now)
            task = _lock_first(unheld.exclude(pk__in=passed_over), skipped)
            if task is None:
                return None
            # A new statement sees every hold committed before we got the lock, which the
            # statement that found the task may have missed.
            if not unheld.filter(pk=task.pk).exists():
                passed_over.add(task.pk)
                continue
            TaskReservation.objects.filter(user=user, task__project=project).delete()
            TaskReservation.objects.create(task=task, user=user, expires_at=expires_at)
            return task
    return None


def task_release(*, user, task: Task) -> None:
    """Give up the user's hold on a task (they skipped it), so its slot goes to someone else."""
    TaskReservation.objects.filter(task=task, user=user).delete()
