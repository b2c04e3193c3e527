from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.pagination import iso, page_body, page_query
from api.serializers.common import page_of
from api.serializers.tasks import TaskDetailSerializer, TaskParameters, TaskSerializer
from api.views.base import ApiView, responses
from labeling.access import Capability, get_project_for_user, get_task_for_user
from labeling.models import Task

TASK_FIELDS = ["pk", "prompt", "status", "source", "batch_id", "created_at", "updated_at"]


def _task_item(request, task: dict) -> dict:
    return {
        "id": task["pk"],
        "prompt": task["prompt"],
        "state": task["status"],
        "source": task["source"],
        "batch": task["batch_id"],
        "created_at": iso(task["created_at"]),
        "updated_at": iso(task["updated_at"]),
        "url": request.build_absolute_uri(reverse("api-task", kwargs={"pk": task["pk"]})),
    }


class TaskList(ApiView):
    query_serializer_class = TaskParameters

    @extend_schema(
        summary="A project's tasks, oldest change first",
        description="Members of the project (any role). Filter by state, batch and change time; page with next_cursor.",
        parameters=[TaskParameters],
        responses=responses({200: page_of(TaskSerializer(many=True), "TaskPage")}),
    )
    def get(self, request, slug: str):
        params = self.query_parameters()
        project = get_project_for_user(user=request.user, slug=slug, capability=Capability.ANNOTATE)
        tasks = Task.objects.filter(project=project)
        if "state" in params:
            tasks = tasks.filter(status=params["state"])
        if "batch" in params:
            tasks = tasks.filter(batch_id=params["batch"])
        if "updated_since" in params:
            tasks = tasks.filter(updated_at__gte=params["updated_since"])
        size = params["page_size"]
        rows = list(page_query(tasks, after=params.get("cursor"), size=size).values(*TASK_FIELDS))
        last = (rows[size - 1]["updated_at"], rows[size - 1]["pk"]) if len(rows) > size else None
        return Response(page_body(request, [_task_item(request, row) for row in rows[:size]], next_position=last))


class TaskDetail(ApiView):
    @extend_schema(
        summary="One task with its candidates, seeds and parameters",
        description="Members of the task's project (any role).",
        responses=responses({200: TaskDetailSerializer}),
    )
    def get(self, request, pk: int):
        self.query_parameters()
        task = get_task_for_user(user=request.user, pk=pk, capability=Capability.ANNOTATE)
        item = _task_item(request, {field: getattr(task, field) for field in TASK_FIELDS})
        candidates = [
            {
                "uid": candidate.uid,
                "index": candidate.index,
                "image": request.build_absolute_uri(reverse("labeling-candidate-image", kwargs={"uid": candidate.uid}))
                if candidate.image
                else None,
                "text": candidate.text,
                "model": candidate.model_name,
                "seed": candidate.seed,
                "parameters": candidate.params,
                "confidence": candidate.confidence,
                "review_state": candidate.review_state,
            }
            for candidate in task.candidates.order_by("index")
        ]
        return Response(item | {"project": task.project.slug, "extra": task.extra, "candidates": candidates})
