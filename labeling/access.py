"""The one way views reach project objects.

Each helper returns the object when the user is a member of its project with
the needed capability, raises Http404 for everyone else (so outsiders cannot
tell whether an object exists), and PermissionDenied for members whose role
lacks the capability. Superusers act as managers of every project.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from labeling.models import Candidate, Membership, Project, PromptBatch, Task

Capability = Membership.Capability


def membership_for(*, user, project: Project) -> Membership | None:
    """The user's membership of the project (None for outsiders), read once per project object
    (``Membership.of``): the access check, the view and its templates of one request ask for it on the same object."""
    return Membership.of(user, project)


def _role_in(*, user, project_ref: str) -> Subquery:
    """The user's role in the project that ``project_ref`` points at, to fetch with the object itself."""
    return Subquery(Membership.objects.filter(user=user.pk, project=OuterRef(project_ref)).values("role")[:1])


def _check(*, user, project: Project, capability: str, role: str | None = None) -> Membership:
    if role is not None and not user.is_superuser:
        membership = Membership(user=user, project=project, role=role)
    else:
        membership = membership_for(user=user, project=project)
    if membership is None:
        raise Http404("No such object in your projects.")
    if not membership.can(capability):
        raise PermissionDenied(f"Your role in {project.name} does not allow this ({capability}).")
    return membership


def project_access_check(*, user, project: Project, capability: str) -> Membership:
    """The user's membership of ``project`` when it allows ``capability``; Http404 or PermissionDenied otherwise.
    For objects of higher apps that belong to a project (an export run)."""
    return _check(user=user, project=project, capability=capability)


def get_project_for_user(*, user, slug: str, capability: str = Capability.ANNOTATE) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404("No such project.")
    _check(user=user, project=project, capability=capability)
    return project


def get_task_for_user(
    *, user, pk: int, capability: str = Capability.ANNOTATE, queryset: QuerySet[Task] | None = None
) -> Task:
    task = (queryset if queryset is not None else Task.objects.select_related("project")).filter(pk=pk).first()
    if task is None:
        raise Http404("No such task.")
    _check(user=user, project=task.project, capability=capability)
    return task


def get_batch_for_user(*, user, pk: int, capability: str = Capability.MANAGE) -> PromptBatch:
    batch = PromptBatch.objects.select_related("project").filter(pk=pk).first()
    if batch is None:
        raise Http404("No such prompt batch.")
    _check(user=user, project=batch.project, capability=capability)
    return batch


def get_candidate_for_user(
    *, user, uid, capability: str = Capability.ANNOTATE, queryset: QuerySet[Candidate] | None = None
) -> Candidate:
    base = queryset if queryset is not None else Candidate.objects.select_related("task__project")
    # A unique lookup needs no ORDER BY; .first() would join the task only to sort by its Meta ordering.
    matches = base.annotate(member_role=_role_in(user=user, project_ref="task__project")).filter(uid=uid).order_by()
    candidate = next(iter(matches[:1]), None)
    if candidate is None:
        raise Http404("No such candidate.")
    _check(user=user, project=candidate.task.project, capability=capability, role=candidate.member_role)
    return candidate
