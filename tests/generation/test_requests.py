import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from generation.models import GenerationJob
from generation.services import GenerationRefused, generation_request
from generation.tasks import generate_images
from labeling.models import Candidate, Task


def post_prompt(client, project, prompt):
    return client.post(f"/p/{project.slug}/generate", {"prompt": prompt})


def test_typing_a_prompt_creates_a_task_queues_its_job_on_commit_and_redirects_to_it(
    image_project, annotator, client, django_capture_on_commit_callbacks
):
    client.force_login(annotator)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_prompt(client, image_project, "  a heron in the reeds  ")

    task = Task.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tasks/{task.pk}/"
    assert (task.prompt, task.source, task.created_by, task.status) == (
        "a heron in the reeds",
        Task.Source.TYPED,
        annotator,
        Task.Status.GENERATING,
    )
    job = GenerationJob.objects.get()
    assert (job.task, job.status, job.requested_by, job.kind) == (task, "pending", annotator, "image")
    assert len(callbacks) == 1

    page = client.get(response["Location"]).content.decode()
    assert 'id="job-status"' in page and f'data-job-id="{job.pk}"' in page and "Waiting for a worker" in page
    assert f'data-socket-path="/ws/jobs/{job.pk}/"' in page and "js/generation.js" in page


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("   ", "Type a prompt first: it is empty."),
        ("a heron\x00", "The prompt contains a NUL character; remove it and try again."),
        ("x" * 31, "The prompt is 31 characters; the limit is 30."),
    ],
)
def test_bad_prompts_are_refused_with_the_reason_and_the_prompt_kept(
    prompt, reason, image_project, annotator, client, settings
):
    settings.PROMPT_MAX_CHARS = 30
    client.force_login(annotator)
    response = post_prompt(client, image_project, prompt)
    assert response.status_code == 400
    page = response.content.decode()
    assert reason in page and 'id="prompt-input"' in page
    assert not Task.objects.exists() and not GenerationJob.objects.exists()


def test_a_prompt_longer_than_the_model_reads_is_accepted_with_a_warning(image_project, annotator, client):
    client.force_login(annotator)
    # The tiny model's tokenizer makes one token per character: 90 letters are 90 tokens, past CLIP's 75.
    response = post_prompt(client, image_project, "a" * 90)
    page = client.get(response["Location"]).content.decode()
    assert "reads only the first 75 tokens of a prompt and yours has 90" in page
    short = client.get(post_prompt(client, image_project, "a heron")["Location"])
    assert "reads only the first" not in short.content.decode()


def test_a_user_with_too_many_queued_generations_is_told_to_wait(image_project, annotator, client, settings):
    settings.GENERATION_MAX_QUEUED_PER_USER = 2
    client.force_login(annotator)
    post_prompt(client, image_project, "one")
    post_prompt(client, image_project, "two")
    response = post_prompt(client, image_project, "three")
    assert response.status_code == 429
    assert "You already have 2 generations queued or running (the limit is 2)" in response.content.decode()
    GenerationJob.objects.filter(task__prompt="one").update(status=GenerationJob.Status.SUCCEEDED)
    assert post_prompt(client, image_project, "three").status_code == 302


def test_the_hourly_limit_says_when_the_user_can_try_again(image_project, annotator, second_annotator, settings):
    settings.GENERATION_MAX_PER_HOUR_PER_USER = 2
    first = generation_request(user=annotator, project=image_project, prompt="one").job
    generation_request(user=annotator, project=image_project, prompt="two")
    GenerationJob.objects.update(status=GenerationJob.Status.SUCCEEDED)
    GenerationJob.objects.filter(pk=first.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=45))

    expected = r"2 generations in the last hour \(the limit is 2\); try again in 15 minutes"
    with pytest.raises(GenerationRefused, match=expected):
        generation_request(user=annotator, project=image_project, prompt="three")
    assert generation_request(user=second_annotator, project=image_project, prompt="three").job.status == "pending"


def test_outsiders_cannot_generate_and_text_projects_take_no_typed_prompts(
    image_project, text_project, outsider, annotator, client
):
    client.force_login(outsider)
    assert post_prompt(client, image_project, "a heron").status_code == 404
    with pytest.raises(GenerationRefused, match="text answers, not images"):
        generation_request(user=annotator, project=text_project, prompt="hello")
    image_project.allow_free_prompts = False
    image_project.save()
    client.force_login(annotator)
    response = post_prompt(client, image_project, "a heron")
    assert response.status_code == 400 and "typed prompts are off" in response.content.decode()
    assert 'id="prompt-form"' not in client.get(f"/p/{image_project.slug}/").content.decode()
    assert not Task.objects.exists()


def test_the_project_page_offers_the_prompt_form_to_members(image_project, annotator, client):
    client.force_login(annotator)
    page = client.get(f"/p/{image_project.slug}/").content.decode()
    assert 'id="prompt-form"' in page and f'action="/p/{image_project.slug}/generate"' in page
    assert "draws noise" not in page


def failed_task(project, user) -> Task:
    job = generation_request(user=user, project=project, prompt="a heron").job
    GenerationJob.objects.filter(pk=job.pk).update(status=GenerationJob.Status.FAILED, error_message="GPU on fire")
    Task.objects.filter(pk=job.task_id).update(status=Task.Status.FAILED)
    return Task.objects.get(pk=job.task_id)


def test_the_failed_panel_shows_the_message_and_an_htmx_retry_button(image_project, annotator, client):
    task = failed_task(image_project, annotator)
    client.force_login(annotator)
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert "Generation failed: GPU on fire" in page and f'hx-post="/tasks/{task.pk}/retry"' in page

    response = client.post(f"/tasks/{task.pk}/retry", headers={"HX-Request": "true"})

    assert response.status_code == 200
    new_job = task.generation_jobs.get(status=GenerationJob.Status.PENDING)
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="job-status"') and f'data-job-id="{new_job.pk}"' in fragment
    assert "<html" not in fragment
    task.refresh_from_db()
    assert task.status == Task.Status.GENERATING
    again = client.post(f"/tasks/{task.pk}/retry", headers={"HX-Request": "true"})
    assert "Only failed generations can be retried" in again.content.decode()
    assert task.generation_jobs.count() == 2


def test_only_the_prompts_author_or_a_manager_may_retry(image_project, annotator, second_annotator, manager, client):
    task = failed_task(image_project, annotator)
    client.force_login(second_annotator)
    assert "Retry</button>" not in client.get(f"/tasks/{task.pk}/").content.decode()
    assert client.post(f"/tasks/{task.pk}/retry").status_code == 403
    client.force_login(manager)
    assert client.post(f"/tasks/{task.pk}/retry").status_code == 302
    assert task.generation_jobs.filter(status=GenerationJob.Status.PENDING, requested_by=manager).exists()


def test_the_job_status_partial_is_for_members_of_the_project_only(image_project, annotator, outsider, client):
    job = generation_request(user=annotator, project=image_project, prompt="a heron").job
    client.force_login(annotator)
    fragment = client.get(f"/jobs/{job.pk}/status").content.decode()
    assert fragment.lstrip().startswith('<section id="job-status"') and "step 0 of 4" in fragment
    client.force_login(outsider)
    assert client.get(f"/jobs/{job.pk}/status").status_code == 404
    assert client.get("/jobs/999999/status").status_code == 404


def test_import_with_generate_queues_one_job_per_new_task(
    image_project, tmp_path, capsys, django_capture_on_commit_callbacks
):
    path = tmp_path / "birds.csv"
    path.write_text("prompt\na heron\nan owl\n")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_prompts", image_project.slug, str(path), "--generate")
    assert "image generation queued for 2 tasks" in capsys.readouterr().out
    jobs = GenerationJob.objects.order_by("task__prompt")
    assert [job.task.prompt for job in jobs] == ["a heron", "an owl"]
    assert set(Task.objects.values_list("status", flat=True)) == {Task.Status.GENERATING}
    generate_images.apply(args=[jobs[0].pk])
    assert Candidate.objects.filter(task__prompt="a heron").count() == 4


def test_import_without_generate_queues_nothing_and_text_generation_needs_an_llm(
    text_project, image_project, tmp_path, settings
):
    from django.core.management import CommandError

    path = tmp_path / "q.csv"
    path.write_text("prompt\nwhy is the sky blue?\n")
    call_command("import_prompts", image_project.slug, str(path))
    assert not GenerationJob.objects.exists()
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    with pytest.raises(CommandError, match="Nothing imported: LLM not configured"):
        call_command("import_prompts", text_project.slug, str(path), "--generate")
    assert not Task.objects.filter(project=text_project).exists()


def test_the_admin_import_form_can_queue_generation(image_project, staff, client):
    client.force_login(staff)
    upload = SimpleUploadedFile("b.csv", b"prompt\na heron\n", content_type="text/csv")
    response = client.post(
        f"/admin/labeling/project/{image_project.pk}/import/", {"file": upload, "name": "", "generate": "on"}
    )
    assert response.status_code == 302
    assert GenerationJob.objects.get().task.prompt == "a heron"


def test_the_admin_requeues_failed_tasks_and_skips_the_others(image_project, annotator, staff, client):
    failed = failed_task(image_project, annotator)
    ready = Task.objects.create(project=image_project, prompt="done", source=Task.Source.BATCH, status="ready")
    client.force_login(staff)
    response = client.post(
        "/admin/labeling/task/",
        {"action": "requeue_failed", "_selected_action": [failed.pk, ready.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Queued 1 task(s) for generation." in page and f"task {ready.pk}: Only failed generations" in page
    assert failed.generation_jobs.filter(status=GenerationJob.Status.PENDING, requested_by=staff).exists()
    assert not ready.generation_jobs.exists()


def test_import_with_generate_queues_llm_answers_for_a_text_project(text_project, tmp_path, settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    path = tmp_path / "q.csv"
    path.write_text("prompt\nwhy is the sky blue?\nwhat is a heron?\n")
    call_command("import_prompts", text_project.slug, str(path), "--generate")
    jobs = GenerationJob.objects.filter(task__project=text_project)
    assert sorted(jobs.values_list("kind", "status")) == [("text", "pending")] * 2
    assert set(Task.objects.filter(project=text_project).values_list("status", flat=True)) == {Task.Status.GENERATING}


def test_with_a_websocket_origin_the_task_page_opens_its_socket_there(
    image_project, annotator, client, settings, django_capture_on_commit_callbacks
):
    settings.WEBSOCKET_ORIGIN = "wss://live.corral.example"
    client.force_login(annotator)
    with django_capture_on_commit_callbacks():
        response = post_prompt(client, image_project, "a heron")

    page = client.get(response["Location"]).content.decode()
    job = GenerationJob.objects.get()
    assert f'data-socket-path="wss://live.corral.example/ws/jobs/{job.pk}/"' in page
