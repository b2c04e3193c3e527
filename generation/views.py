from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generation.models import GenerationJob
from generation.selectors import job_latest_for_task
from generation.services import GenerationLimited, GenerationRefused, generation_request, generation_retry
from generation.text_services import TextGenerationError, text_generation_retry
from generation.text_views import text_panel_or_page
from labeling.access import get_project_for_user, get_task_for_user

JOB_STATUS_PARTIAL = "generation/_job_status.html#job-status"


@require_http_methods(["GET", "POST"])
def prompt_submit(request, slug: str):
    """Type a prompt; on success, the task page shows the images being made."""
    project = get_project_for_user(user=request.user, slug=slug)
    prompt = request.POST.get("prompt", "")
    error, status = "", 200
    if request.method == "POST":
        try:
            result = generation_request(user=request.user, project=project, prompt=prompt)
        except GenerationLimited as exc:
            error, status = str(exc), 429
        except GenerationRefused as exc:
            error, status = str(exc), 400
        else:
            for warning in result.warnings:
                messages.warning(request, warning)
            return redirect(result.task)
    context = {"project": project, "prompt": prompt, "error": error, "prompt_max_chars": settings.PROMPT_MAX_CHARS}
    return render(request, "generation/prompt.html", context, status=status)


def _job_for_user(request, pk: int) -> GenerationJob:
    job = GenerationJob.objects.filter(pk=pk).first()
    if job is None:
        raise Http404("No such generation job.")
    job.task = get_task_for_user(user=request.user, pk=job.task_id)
    return job


@require_GET
def job_status(request, pk: int):
    """The job's status panel alone: polled by the page when its websocket cannot connect."""
    job = _job_for_user(request, pk)
    return render(request, JOB_STATUS_PARTIAL, {"job": job, "task": job.task})


def _image_retry(request, task):
    try:
        job = generation_retry(user=request.user, task=task)
    except GenerationRefused as exc:
        if request.htmx:
            job = job_latest_for_task(task=task)
            return render(request, JOB_STATUS_PARTIAL, {"job": job, "task": task, "retry_error": str(exc)})
        messages.error(request, str(exc))
        return redirect(task)
    if request.htmx:
        return render(request, JOB_STATUS_PARTIAL, {"job": job, "task": task})
    messages.success(request, "Generation queued again.")
    return redirect(task)


def _text_retry(request, task, job: GenerationJob):
    try:
        text_generation_retry(user=request.user, job=job)
    except TextGenerationError as error:
        return text_panel_or_page(request, task, str(error))
    return text_panel_or_page(request, task)


@require_POST
def task_retry(request, pk: int):
    """Retry a task's failed generation: its images, or its LLM answers, by the kind of its latest job."""
    task = get_task_for_user(user=request.user, pk=pk)
    job = job_latest_for_task(task=task)
    if job is not None and job.kind == GenerationJob.Kind.TEXT:
        return _text_retry(request, task, job)
    return _image_retry(request, task)
