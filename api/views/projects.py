from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.serializers.projects import SETTINGS_FIELDS, ProjectDetailSerializer, ProjectSerializer
from api.views.base import ApiView, responses
from labeling.access import Capability, get_project_for_user, membership_for
from labeling.models import Membership, Preference, Project, Review, Task, Vote


def _project_item(request, project: Project, role: str) -> dict:
    return {
        "slug": project.slug,
        "name": project.name,
        "kind": project.kind,
        "role": role,
        "url": request.build_absolute_uri(reverse("api-project", kwargs={"slug": project.slug})),
    }


class ProjectList(ApiView):
    @extend_schema(
        summary="Your projects",
        description="Every project you are a member of, with your role (superusers: every project, as manager). "
        "Any logged-in person or token.",
        responses=responses({200: ProjectSerializer(many=True)}),
    )
    def get(self, request):
        self.query_parameters()
        user = request.user
        if user.is_superuser:
            projects = Project.objects.order_by("name").values_list("slug", "name", "kind")
            rows = [(slug, name, kind, Membership.Role.MANAGER) for slug, name, kind in projects]
        else:
            role = Membership.objects.filter(user=user, project=OuterRef("pk")).values("role")[:1]
            rows = list(
                Project.objects.filter(memberships__user=user)
                .annotate(role=Subquery(role))
                .order_by("name")
                .values_list("slug", "name", "kind", "role")
            )
        return Response(
            [_project_item(request, Project(slug=slug, name=name, kind=kind), role) for slug, name, kind, role in rows]
        )


class ProjectDetail(ApiView):
    @extend_schema(
        summary="One project: settings and counts",
        description="Members of the project (any role).",
        responses=responses({200: ProjectDetailSerializer}),
    )
    def get(self, request, slug: str):
        self.query_parameters()
        project = get_project_for_user(user=request.user, slug=slug, capability=Capability.ANNOTATE)
        membership = membership_for(user=request.user, project=project)
        tasks = dict(Task.objects.filter(project=project).values_list("status").annotate(n=Count("pk")).order_by())
        body = _project_item(request, project, membership.role) | {
            "description": project.description,
            "settings": {field: getattr(project, field) for field in SETTINGS_FIELDS},
            "counts": {
                "tasks": {status.value: tasks.get(status.value, 0) for status in Task.Status},
                "batches": project.batches.count(),
                "members": project.memberships.count(),
                "votes": Vote.objects.filter(candidate__task__project=project).count(),
                "picks": Preference.objects.filter(task__project=project).count(),
                "reviews": Review.objects.filter(candidate__task__project=project).count(),
            },
        }
        return Response(body)
