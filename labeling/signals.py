"""What labeling announces to the apps above it (webhooks): a lower app may not import a higher one, so it sends
signals and the higher app listens.

Each signal is sent in a transaction of its own right after the change (votes) or inside the transaction that made
it (reviews, exports), so what a receiver writes (an outbox row) commits whole. Receivers only record; nothing here
waits for them to act.
"""

from django.dispatch import Signal
from django.utils import timezone

from labeling.models import PromptBatch, Task

# A task's last needed judgement is in. Sent with ``task_id``.
task_completed = Signal()
# No task of a prompt batch waits for generation or judgements any more. Sent with ``batch_id``.
batch_completed = Signal()
# An LLM answer has all the reviews its project asks for. Sent with ``candidate_id``.
review_completed = Signal()

# A batch is complete when each of its tasks is complete or failed (a failed task waits for nobody's judgement).
BATCH_DONE_STATUSES = (Task.Status.COMPLETE, Task.Status.FAILED)


def task_completion_announce(*, task_id: int, batch_id: int | None) -> None:
    """Announce a task that just completed, and its batch when that was the batch's last open task.

    Call after the completion has committed. The batch is read only when someone listens; of several last tasks
    completing at once, each sees the others done, and the one whose update marks the batch complete announces it.
    """
    task_completed.send(sender=Task, task_id=task_id)
    if batch_id is None or not batch_completed.has_listeners(PromptBatch):
        return
    if Task.objects.filter(batch_id=batch_id).exclude(status__in=BATCH_DONE_STATUSES).exists():
        return
    if PromptBatch.objects.filter(pk=batch_id, completed_at__isnull=True).update(completed_at=timezone.now()):
        batch_completed.send(sender=PromptBatch, batch_id=batch_id)
