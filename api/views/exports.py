from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from api.pagination import iso
from api.serializers.exports import ExportQueuedSerializer, ExportRunSerializer
from api.views.base import ApiView, responses
from exports.models import ExportRun
from exports.tasks import export_enqueue
from labeling.access import Capability, get_project_for_user, project_access_check

RECENT_RUNS = 50


def _run_body(request, run: ExportRun) -> dict:
    return {
        "id": run.pk,
        "project": run.project.slug if run.project else None,
        "status": run.status,
        "batch": run.batch,
        "counts": run.counts,
        "commit_id": run.commit_id,
        "pushed": run.pushed,
        "error_message": run.error_message,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "url": request.build_absolute_uri(reverse("api-export", kwargs={"pk": run.pk})),
    }


class ExportList(ApiView):
    @extend_schema(
        summary="The project's latest export runs",
        description=f"Managers of the project. The newest {RECENT_RUNS} runs of this project, newest first.",
        responses=responses({200: ExportRunSerializer(many=True)}),
    )
    def get(self, request, slug: str):
        self.query_parameters()
        project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
        runs = ExportRun.objects.filter(project=project).select_related("project").order_by("-created_at", "-pk")
        return Response([_run_body(request, run) for run in runs[:RECENT_RUNS]])

    @extend_schema(
        summary="Export the project to the Oxen dataset now",
        description="Managers of the project, with a read-and-write token or a session. Hands the export to the "
        "exports worker; its run appears in the project's runs when the worker starts it (an export already "
        "running makes this one do nothing: its rows go out with the next).",
        request=None,
        responses=responses({202: ExportQueuedSerializer}),
    )
    def post(self, request, slug: str):
        self.query_parameters()
        project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
        if request.data:
            raise ValidationError({"detail": "This endpoint takes no request body: send none."})
        export_enqueue(project=project)
        runs = request.build_absolute_uri(reverse("api-exports", kwargs={"slug": project.slug}))
        return Response(
            {"detail": f"Export of {project.name} queued for the exports worker.", "runs": runs},
            status=status.HTTP_202_ACCEPTED,
        )


class ExportDetail(ApiView):
    @extend_schema(
        summary="One export run's state",
        description="Managers of the run's project (runs of every project: superusers).",
        responses=responses({200: ExportRunSerializer}),
    )
    def get(self, request, pk: int):
        self.query_parameters()
        run = ExportRun.objects.select_related("project").filter(pk=pk).first()
        if run is None or (run.project is None and not request.user.is_superuser):
            raise NotFound("No such export run in your projects.")
        if run.project is not None:
            project_access_check(user=request.user, project=run.project, capability=Capability.MANAGE)
        return Response(_run_body(request, run))
