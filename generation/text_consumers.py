"""The task page's websocket for streamed LLM answers."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from generation.models import GenerationJob
from generation.text_services import llm_stream_group
from labeling.access import get_task_for_user


@database_sync_to_async
def _may_watch(user, task_id: int) -> bool:
    try:
        get_task_for_user(user=user, pk=task_id)
    except (Http404, PermissionDenied):
        return False
    return True


@database_sync_to_async
def _latest_job_state(task_id: int) -> dict | None:
    job = GenerationJob.objects.filter(task_id=task_id, kind=GenerationJob.Kind.TEXT).order_by("-created_at").first()
    if job is None:
        return None
    return {"type": "llm.status", "status": job.status, "message": job.error_message}


class TextStreamConsumer(AsyncJsonWebsocketConsumer):
    """Forwards ``llm.*`` events of one task to members of its project, in the order they were sent."""

    async def connect(self):
        user = self.scope.get("user")
        self.task_id = int(self.scope["url_route"]["kwargs"]["pk"])
        if user is None or not user.is_authenticated or not await _may_watch(user, self.task_id):
            await self.close(code=4403)
            return
        self.group = llm_stream_group(self.task_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # The job may have moved on while the page loaded: say where it stands, so no page waits forever.
        state = await _latest_job_state(self.task_id)
        if state is not None:
            await self.send_json(state)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _forward(self, event):
        await self.send_json(event)

    llm_start = _forward
    llm_delta = _forward
    llm_done = _forward
    llm_status = _forward
