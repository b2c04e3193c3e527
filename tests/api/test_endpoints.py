"""The API's endpoints through HTTP: projects, batches, tasks and exports."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from exports.models import ExportRun
from generation.models import GenerationJob
from labeling.models import PromptBatch, Task, Vote
from tests.api.conftest import api
from tests.factories import make_image_task, make_ready_task


def test_people_list_their_projects_with_their_role(annotator, manager, outsider, staff, project):
    assert [(p["slug"], p["role"]) for p in api(annotator).get(reverse("api-projects")).json()] == [
        ("birds", "annotator")
    ]
    assert [p["slug"] for p in api(outsider).get(reverse("api-projects")).json()] == ["elsewhere"]
    assert {(p["slug"], p["role"]) for p in api(staff).get(reverse("api-projects")).json()} == {
        ("birds", "manager"),
        ("elsewhere", "manager"),
    }


def test_a_project_reads_with_its_settings_and_counts(annotator, project):
    task = make_ready_task(project, candidates=2)
    Vote.objects.create(user=annotator, candidate=task.candidates.first(), value=Vote.Value.UP)
    body = api(annotator).get(reverse("api-project", args=[project.slug])).json()
    assert body["role"] == "annotator"
    assert body["settings"]["candidates_per_task"] == 4
    assert body["counts"]["tasks"] == {"new": 0, "generating": 0, "ready": 1, "complete": 0, "failed": 0}
    assert (body["counts"]["votes"], body["counts"]["members"], body["counts"]["picks"]) == (1, 1, 0)


def test_a_manager_imports_json_rows_and_reads_the_batch_state(manager, project):
    client = api(manager)
    rows = [{"prompt": "a heron"}, {"prompt": "a stork", "style": "ink"}]
    answer = client.post(reverse("api-batches", args=[project.slug]), {"name": "birds", "rows": rows}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["name"], body["prompt_count"], body["tasks"]["new"]) == ("birds", 2, 2)
    batch = PromptBatch.objects.get()
    assert sorted(batch.tasks.values_list("prompt", "extra")) == [("a heron", {}), ("a stork", {"style": "ink"})]
    assert client.get(body["url"]).json() == body


def test_a_manager_uploads_a_csv_and_queues_its_generation(manager, project):
    upload = SimpleUploadedFile("prompts.csv", b"prompt,style\na heron,ink\na stork,oil\n", content_type="text/csv")
    answer = api(manager).post(
        reverse("api-batches", args=[project.slug]), {"file": upload, "generate": "true"}, format="multipart"
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["tasks"]["generating"] == 2
    assert GenerationJob.objects.filter(status=GenerationJob.Status.PENDING).count() == 2


def test_a_batch_with_bad_rows_is_refused_whole_with_each_line_named(manager, project):
    rows = [{"prompt": "a heron"}, {"prompt": ""}, {"text": "no prompt"}, {"prompt": "a heron"}]
    answer = api(manager).post(reverse("api-batches", args=[project.slug]), {"rows": rows}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"line": 2, "reason": "empty prompt"},
        {"line": 3, "reason": "missing field 'prompt'"},
        {"line": 4, "reason": "duplicate of the prompt on line 1"},
    ]
    assert answer.json()["detail"].startswith("The batch was not imported (3 problems): line 2: empty prompt;")
    assert not Task.objects.exists() and not PromptBatch.objects.exists()


def test_tasks_page_by_cursor_in_change_order_and_filter_by_state_and_batch(annotator, project):
    batch = PromptBatch.objects.create(project=project, name="b")
    tasks = [
        Task.objects.create(project=project, prompt=f"p{n}", source="batch", batch=batch if n % 2 else None)
        for n in range(5)
    ]
    tasks[0].status = Task.Status.FAILED
    tasks[0].save()
    client = api(annotator)
    url = reverse("api-tasks", args=[project.slug])
    seen, page = [], client.get(url, {"page_size": 2}).json()
    while True:
        seen += [task["id"] for task in page["results"]]
        if page["next"] is None:
            break
        page = client.get(page["next"]).json()
    assert seen == [task.pk for task in tasks[1:]] + [tasks[0].pk]  # the failed one changed last
    assert [t["id"] for t in client.get(url, {"state": "failed"}).json()["results"]] == [tasks[0].pk]
    assert [t["id"] for t in client.get(url, {"batch": batch.pk}).json()["results"]] == [tasks[1].pk, tasks[3].pk]
    since = Task.objects.get(pk=tasks[0].pk).updated_at.isoformat()
    assert [t["id"] for t in client.get(url, {"updated_since": since}).json()["results"]] == [tasks[0].pk]


def test_a_task_reads_with_its_candidates_seeds_and_parameters(annotator, project):
    task = make_image_task(project, "a heron", count=2)
    body = api(annotator).get(reverse("api-task", args=[task.pk])).json()
    assert (body["prompt"], body["state"], body["project"]) == ("a heron", "ready", "birds")
    first = body["candidates"][0]
    assert (first["index"], first["seed"], first["model"]) == (0, 1000, "tiny-sd")
    assert first["parameters"] == {"steps": 10, "guidance": 7.5}
    assert first["image"].endswith(reverse("labeling-candidate-image", args=[first["uid"]]))


def test_a_manager_starts_an_export_handed_to_the_exports_worker(manager, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        answer = api(manager).post(reverse("api-exports", args=[project.slug]))
    assert answer.status_code == 202
    assert answer.json()["runs"].endswith(reverse("api-exports", args=[project.slug]))
    assert len(queued) == 1


def test_export_runs_read_with_their_state(manager, project):
    run = ExportRun.objects.create(project=project, status=ExportRun.Status.FAILED, error_message="disk full")
    client = api(manager)
    listed = client.get(reverse("api-exports", args=[project.slug])).json()
    assert [(r["id"], r["status"]) for r in listed] == [(run.pk, "failed")]
    assert client.get(reverse("api-export", args=[run.pk])).json()["error_message"] == "disk full"
