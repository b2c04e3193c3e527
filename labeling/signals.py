"""What labeling announces to the apps above it (webhooks): a lower app may not import a higher one, so it sends
signals and the higher app listens.

Each signal is sent inside the transaction that made the change, so what a receiver writes (an outbox row) commits
or rolls back with the change itself. Receivers only record; nothing here waits for them to act.
"""

from django.dispatch import Signal

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

    Call inside the transaction that completed it. The batch is read only when someone listens.
    """
    task_completed.send(sender=Task, task_id=task_id)
    if batch_id is None or not batch_completed.has_listeners(PromptBatch):
        return
    # Two of its last tasks completing at once would each see the other still open: the batch's row lock makes
    # the second wait for the first to commit, and then see both complete.
    if not PromptBatch.objects.select_for_update().filter(pk=batch_id).values_list("pk", flat=True):
        return
    if not Task.objects.filter(batch_id=batch_id).exclude(status__in=BATCH_DONE_STATUSES).exists():
        batch_completed.send(sender=PromptBatch, batch_id=batch_id)
