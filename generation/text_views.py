from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from generation.selectors import job_latest_for_task
from generation.text_services import (
    TextGenerationError,
    text_generation_enqueue_batch,
    text_generation_request,
)
from labeling.access import Capability, get_project_for_user, get_task_for_user


def _panel_context(task, error: str = "") -> dict:
    return {"task": task, "job": job_latest_for_task(task=task), "error": error}


@require_GET
def text_panel(request, pk: int):
    """The task page's answer panel alone, re-fetched once a stream has ended."""
    task = get_task_for_user(user=request.user, pk=pk)
    watching = request.GET.get("watching", "")
    if watching.isdigit():
        # The page's fallback poll while a job runs: reload once it has ended, else leave the page alone.
        job = task.generation_jobs.filter(pk=int(watching)).first()
        if job is None or not job.is_active:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return HttpResponse(status=204)
    return render(request, "generation/_text_panel.html", _panel_context(task))


def text_panel_or_page(request, task, error: str = ""):
    """The answer panel for HTMX, with the refusal in it; a plain form gets the task page and a message."""
    if request.htmx:
        return render(request, "generation/_text_panel.html", _panel_context(task, error))
    if error:
        messages.error(request, error)
    return redirect(task)


@require_POST
def text_generate(request, pk: int):
    task = get_task_for_user(user=request.user, pk=pk)
    try:
        text_generation_request(user=request.user, task=task)
    except TextGenerationError as error:
        return text_panel_or_page(request, task, str(error))
    return text_panel_or_page(request, task)


@require_POST
def text_generate_batch(request, slug: str):
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        queued = text_generation_enqueue_batch(user=request.user, project=project)
    except TextGenerationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Queued answers for {queued} new task{'s' if queued != 1 else ''}.")
    return redirect(project)
