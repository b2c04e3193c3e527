"""The one websocket of generation: live updates of a job to members of its project.

``ws/jobs/<job_id>/`` watches one job; ``ws/tasks/<pk>/llm/`` watches a text task's latest job, whose stream
outlives a retry. The job's kind decides the group joined and the messages sent.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from generation.jobs import job_status_event, job_updates_group
from generation.models import GenerationJob
from labeling.access import get_task_for_user

# Close code for refused connections (4000-4999 are for applications).
CLOSE_NOT_ALLOWED = 4403


@database_sync_to_async
def _watched_group(user, *, job_id: int | None, task_id: int | None) -> tuple[str, str] | None:
    """The kind and group of what the socket asks to watch; None when the user may not watch it."""
    if user is None or not user.is_authenticated:
        return None
    kind = GenerationJob.Kind.TEXT
    if job_id is not None:
        job = GenerationJob.objects.filter(pk=job_id).only("kind", "task_id").first()
        if job is None:
            return None
        kind, task_id = job.kind, job.task_id
    try:
        get_task_for_user(user=user, pk=task_id)
    except (Http404, PermissionDenied):
        return None
    return kind, job_updates_group(kind=kind, job_id=job_id, task_id=task_id)


@database_sync_to_async
def _state_messages(*, kind: str, job_id: int | None, task_id: int | None) -> list[dict]:
    """Where the watched job stands now, as the messages its page would have heard."""
    if job_id is not None:
        job = GenerationJob.objects.filter(pk=job_id).first()
    else:
        job = GenerationJob.objects.filter(task_id=task_id, kind=kind).order_by("-created_at").first()
    if job is None:
        return []
    if kind == GenerationJob.Kind.TEXT:
        return [job_status_event(kind=kind, job_id=job.pk, status=job.status, message=job.error_message)]
    messages = []
    if job.status == GenerationJob.Status.RUNNING or job.progress_step:
        messages.append({"type": "progress", "step": job.progress_step, "total": job.progress_total})
    if not job.is_active:
        messages.append({"type": "finished", "status": job.status, "message": job.error_message})
    return messages


class JobUpdatesConsumer(AsyncJsonWebsocketConsumer):
    """Image jobs send ``progress`` messages, then one ``finished``; text tasks forward their ``llm.*`` events
    (start, delta, done, status) in the order they were sent."""

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        self.job_id, self.task_id = kwargs.get("job_id"), kwargs.get("pk")
        watched = await _watched_group(self.scope.get("user"), job_id=self.job_id, task_id=self.task_id)
        if watched is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        kind, self.group = watched
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Read the state after joining the group, so nothing between the page load and now is missed.
        for message in await _state_messages(kind=kind, job_id=self.job_id, task_id=self.task_id):
            await self.send_json(message)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def generation_progress(self, event):
        await self.send_json({"type": "progress", "step": event["step"], "total": event["total"]})

    async def generation_finished(self, event):
        await self.send_json({"type": "finished", "status": event["status"], "message": event["message"]})

    async def _forward(self, event):
        await self.send_json(event)

    llm_start = _forward
    llm_delta = _forward
    llm_done = _forward
    llm_status = _forward
