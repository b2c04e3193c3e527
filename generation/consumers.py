from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from generation.models import GenerationJob
from generation.services import job_group
from labeling.access import membership_for

# Close codes for refused connections (4000-4999 are for applications).
CLOSE_NOT_ALLOWED = 4403


@database_sync_to_async
def _job_for_member(user, job_id: int) -> GenerationJob | None:
    if not user.is_authenticated:
        return None
    job = GenerationJob.objects.select_related("task__project").filter(pk=job_id).first()
    if job is None or membership_for(user=user, project=job.task.project) is None:
        return None
    return job


@database_sync_to_async
def _current(job_id: int) -> GenerationJob:
    return GenerationJob.objects.get(pk=job_id)


class JobProgressConsumer(AsyncJsonWebsocketConsumer):
    """Progress of one generation job for members of its project: ``progress`` messages, then one ``finished``."""

    async def connect(self):
        self.job_id = int(self.scope["url_route"]["kwargs"]["job_id"])
        if await _job_for_member(self.scope["user"], self.job_id) is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.group = job_group(self.job_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # Read the state after joining the group, so nothing between the page load and now is missed.
        job = await _current(self.job_id)
        if job.status == GenerationJob.Status.RUNNING or job.progress_step:
            await self.send_json({"type": "progress", "step": job.progress_step, "total": job.progress_total})
        if not job.is_active:
            await self.send_json({"type": "finished", "status": job.status, "message": job.error_message})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def generation_progress(self, event):
        await self.send_json({"type": "progress", "step": event["step"], "total": event["total"]})

    async def generation_finished(self, event):
        await self.send_json({"type": "finished", "status": event["status"], "message": event["message"]})
