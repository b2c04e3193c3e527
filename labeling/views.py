from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.access import get_candidate_for_user, get_project_for_user, get_task_for_user, membership_for
from labeling.models import Task
from labeling.selectors import project_progress_for_user


@require_GET
def dashboard(request):
    return render(request, "labeling/dashboard.html", {"projects": project_progress_for_user(user=request.user)})


@require_GET
def project_detail(request, slug: str):
    project = get_project_for_user(user=request.user, slug=slug)
    return render(
        request,
        "labeling/project.html",
        {
            "project": project,
            "membership": membership_for(user=request.user, project=project),
            "recent_tasks": project.tasks.order_by("-created_at")[:20],
        },
    )


def _task_context(task: Task) -> dict:
    return {
        "task": task,
        "candidates": task.candidates.all(),
        "job": task.generation_jobs.order_by("-created_at").first(),
    }


@require_GET
def task_detail(request, pk: int):
    task = get_task_for_user(user=request.user, pk=pk)
    return render(request, "labeling/task.html", _task_context(task))


@require_GET
def task_candidates(request, pk: int):
    """The candidate grid alone, for swapping in once generation has finished."""
    task = get_task_for_user(user=request.user, pk=pk)
    return render(request, "labeling/_candidates.html", _task_context(task))


@require_GET
def candidate_image(request, uid):
    """Images are served through membership checks, never from a public media URL."""
    candidate = get_candidate_for_user(user=request.user, uid=uid)
    if not candidate.image:
        raise Http404("This candidate has no image.")
    # Read whole: PNG candidates are small, and a sync file iterator stalls the ASGI loop.
    with candidate.image.open("rb") as image:
        response = HttpResponse(image.read(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response
