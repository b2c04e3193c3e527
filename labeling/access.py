"""The one way views reach project objects.

Each helper returns the object when the user is a member of its project with
the needed capability, raises Http404 for everyone else (so outsiders cannot
tell whether an object exists), and PermissionDenied for members whose role
lacks the capability. Superusers act as managers of every project.
"""

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from labeling.models import Candidate, Membership, Project, Task

Capability = Membership.Capability


def membership_for(*, user, project: Project) -> Membership | None:
    if user.is_superuser:
        return Membership(user=user, project=project, role=Membership.Role.MANAGER)
    return Membership.objects.filter(user=user, project=project).first()


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


VOTE_TARGET_SQL = (
    "SELECT c.id, t.id, t.source, t.status, t.created_by_id, p.id, p.name, p.votes_per_candidate,"
    " p.forbid_self_voting,"
    " (SELECT m.role FROM labeling_membership m WHERE m.user_id = %s AND m.project_id = p.id)"
    " FROM labeling_candidate c JOIN labeling_task t ON t.id = c.task_id JOIN labeling_project p ON p.id = t.project_id"
    " WHERE c.uid = %s"
)


def _loaded(model, **values):
    """An instance as the ORM would load it with ``only(*values)``: other fields are read on access."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def get_candidate_for_vote(*, user, uid) -> Candidate:
    """``get_candidate_for_user`` for the vote path: the candidate with the task and project fields a vote reads.

    Votes are the busiest request, and building the ORM query cost more than running it, so this is one
    hand-written statement. Other fields of the three objects are deferred (read on access).
    """
    uid_value = Candidate._meta.get_field("uid").get_db_prep_value(uid, connection)
    with connection.cursor() as cursor:
        cursor.execute(VOTE_TARGET_SQL, [user.pk, uid_value])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such candidate.")
    candidate_id, task_id, source, status, created_by_id, project_id, name, overlap, forbid_self, role = row
    project = _loaded(
        Project, id=project_id, name=name, votes_per_candidate=overlap, forbid_self_voting=bool(forbid_self)
    )
    task = _loaded(Task, id=task_id, source=source, status=status, created_by_id=created_by_id, project_id=project_id)
    task.project = project
    candidate = _loaded(Candidate, id=candidate_id, uid=uid, task_id=task_id)
    candidate.task = task
    _check(user=user, project=project, capability=Capability.ANNOTATE, role=role)
    return candidate
