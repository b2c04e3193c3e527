import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from labeling.access import Capability, get_candidate_for_user, get_project_for_user, get_task_for_user, membership_for
from labeling.history import task_history
from labeling.media import local_path
from labeling.models import Candidate, Membership, Project, Task
from labeling.selectors import (
    annotator_progress,
    project_progress_for_user,
    task_candidates_for,
    tasks_as_shown_to,
)
from labeling.services import task_claim_next, task_release
from labeling.votes import (
    PAUSED_MESSAGE,
    InvalidVote,
    JudgePaused,
    OwnPromptForbidden,
    TaskNotOpen,
    VotingError,
    judging_refusal,
    preference_record,
    vote_cast,
)

# Tasks the annotator skipped go to the back of their queue for the rest of the session.
SKIPPED_SESSION_KEY = "labeling_skipped_tasks"
SKIPPED_KEPT = 500


@require_GET
def dashboard(request):
    projects = project_progress_for_user(user=request.user)
    counted_at = min((project.counts.counted_at for project in projects), default=None)
    return render(request, "labeling/dashboard.html", {"projects": projects, "counted_at": counted_at})


@require_GET
def project_detail(request, slug: str):
    project = get_project_for_user(user=request.user, slug=slug)
    membership = membership_for(user=request.user, project=project)
    return render(
        request,
        "labeling/project.html",
        {
            "project": project,
            "membership": membership,
            "may_see_quality": membership.can(Membership.Capability.REVIEW),
            "recent_tasks": tasks_as_shown_to(
                user=request.user, tasks=list(project.tasks.order_by("-created_at")[:20])
            ),
            "progress": annotator_progress(user=request.user, project=project),
        },
    )


def _task_context(request: HttpRequest, task: Task) -> dict:
    tasks_as_shown_to(user=request.user, tasks=[task])
    candidates, preference = task_candidates_for(user=request.user, task=task)
    refusal = judging_refusal(user=request.user, task=task)
    voting_open = refusal is None
    return {
        "task": task,
        "candidates": candidates,
        "preference": preference,
        "voting_open": voting_open,
        "may_pick": voting_open and len(candidates) >= 2,
        "judged_all": bool(candidates) and all(candidate.my_vote for candidate in candidates),
        "own_prompt": isinstance(refusal, OwnPromptForbidden),
        "paused": isinstance(refusal, JudgePaused),
    }


@require_GET
def task_detail(request, pk: int):
    task = get_task_for_user(user=request.user, pk=pk)
    may_manage = membership_for(user=request.user, project=task.project).can(Capability.MANAGE)
    # The generation job's state is shown above the grid, so only the whole page reads it, not the grid's re-renders.
    job = task.generation_jobs.order_by("-created_at", "-pk").first()
    return render(request, "labeling/task.html", {**_task_context(request, task), "may_manage": may_manage, "job": job})


@require_GET
def task_history_page(request, pk: int):
    """Who changed the task's votes, picks and reviews, when, from what to what: for the project's managers."""
    task = get_task_for_user(user=request.user, pk=pk, capability=Capability.MANAGE)
    return render(request, "labeling/task_history.html", {"task": task, "entries": task_history(task=task)})


@require_GET
def task_candidates(request, pk: int):
    """The candidate grid alone: swapped in once generation has finished, and after a pick."""
    task = get_task_for_user(user=request.user, pk=pk)
    return render(request, "labeling/_candidates.html", _task_context(request, task))


@require_GET
def candidate_image(request, uid):
    """Images are served through membership checks, never from a public media URL."""
    candidate = get_candidate_for_user(user=request.user, uid=uid)
    if not candidate.image:
        raise Http404("This candidate has no image.")
    if local_path(candidate.image.name) is None:
        # In a bucket: a signed link that expires (MEDIA_LINK_SECONDS), handed only to members, as this page is.
        response = HttpResponseRedirect(candidate.image.url)
        response["Cache-Control"] = "private, no-store"
        return response
    # Read whole: PNG candidates are small, and a sync file iterator stalls the ASGI loop.
    with candidate.image.open("rb") as image:
        response = HttpResponse(image.read(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


def _voting_error(request: HttpRequest, error: VotingError) -> HttpResponse:
    """A refused vote or pick: the reason, with a status scripts can tell apart. Nothing was changed."""
    status = (
        409 if isinstance(error, TaskNotOpen) else 403 if isinstance(error, OwnPromptForbidden | JudgePaused) else 400
    )
    if request.htmx or error.task is None:
        return HttpResponse(str(error), status=status, content_type="text/plain; charset=utf-8")
    return render(request, "labeling/voting_error.html", {"message": str(error), "task": error.task}, status=status)


@require_POST
def candidate_vote(request, uid):
    """👍 / 👎 / withdraw one candidate. HTMX gets the candidate's vote buttons back; a plain form, a redirect."""
    try:
        my_vote = vote_cast(user=request.user, candidate_uid=uid, value=request.POST.get("value", ""))
    except VotingError as error:
        return _voting_error(request, error)
    if not request.htmx:
        task_id = Candidate.objects.filter(uid=uid).values_list("task_id", flat=True).get()
        return redirect(f"{reverse('labeling-task', args=[task_id])}#candidate-{uid}")
    # htmx sends the page's CSRF token as a header (base.html), so the swapped-in buttons need no masked copy of it,
    # and nothing from the request: rendered without the context processors every page runs. The vote's own URL is
    # the one just requested.
    candidate = {"uid": uid, "my_vote": my_vote, "vote_url": request.path}
    buttons = {"candidate": candidate, "csrf_in_headers": True}
    return HttpResponse(render_to_string("labeling/_vote_buttons.html", buttons))


def _chosen_candidate(task: Task, raw_uid: str) -> Candidate | None:
    if not raw_uid:
        return None
    try:
        uid = uuid.UUID(raw_uid)
    except ValueError:
        raise InvalidVote(f"{raw_uid!r} is not a candidate id.", task=task) from None
    chosen = task.candidates.filter(uid=uid).first()
    if chosen is None:
        raise InvalidVote("That candidate belongs to another task.", task=task)
    return chosen


@require_POST
def task_preference(request, pk: int):
    """Best / tie / all bad for a task. HTMX gets the candidate grid back; a plain form, a redirect."""
    task = get_task_for_user(user=request.user, pk=pk)
    try:
        chosen = _chosen_candidate(task, request.POST.get("chosen", ""))
        preference_record(user=request.user, task=task, choice=request.POST.get("choice", ""), chosen=chosen)
    except VotingError as error:
        return _voting_error(request, error)
    if not request.htmx:
        return redirect(task)
    return render(request, "labeling/_candidates.html", _task_context(request, task))


def _go_to_next(request: HttpRequest, project: Project, *, leaving: str = "") -> HttpResponse:
    task = task_claim_next(user=request.user, project=project, skipped=request.session.get(SKIPPED_SESSION_KEY, []))
    if task is None:
        if Membership.is_paused(request.user, project):
            messages.warning(request, PAUSED_MESSAGE.format(project=project.name))
        else:
            messages.info(request, f"Nothing is waiting for you in {project.name} right now. Thank you!")
        return redirect(project)
    if str(task.pk) == leaving:
        messages.info(request, "This task is still yours: judge every candidate first, or skip it.")
    return redirect(task)


@require_POST
def task_next(request, slug: str):
    """Hold the next task for the annotator and go there (``after``: the task page it was pressed on)."""
    project = get_project_for_user(user=request.user, slug=slug)
    return _go_to_next(request, project, leaving=request.POST.get("after", ""))


@require_POST
def task_skip(request, pk: int):
    """Leave a task for later: its slot goes to someone else, and it comes back last in this session."""
    task = get_task_for_user(user=request.user, pk=pk)
    task_release(user=request.user, task=task)
    skipped = [task_id for task_id in request.session.get(SKIPPED_SESSION_KEY, []) if task_id != task.pk]
    request.session[SKIPPED_SESSION_KEY] = [*skipped, task.pk][-SKIPPED_KEPT:]
    return _go_to_next(request, task.project)
