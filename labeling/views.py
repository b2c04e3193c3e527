from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.access import get_candidate_for_user, get_project_for_user, get_task_for_user, membership_for
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


@require_GET
def task_detail(request, pk: int):
    task = get_task_for_user(user=request.user, pk=pk)
    return render(request, "labeling/task.html", {"task": task, "candidates": task.candidates.all()})


@require_GET
def candidate_image(request, uid):
    """Images are served through membership checks, never from a public media URL."""
    candidate = get_candidate_for_user(user=request.user, uid=uid)
    if not candidate.image:
        raise Http404("This candidate has no image.")
    response = FileResponse(candidate.image.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response
