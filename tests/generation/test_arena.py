"""Arenas: candidates from several models per task, split evenly, shown in a stored random order, the model
never named to annotators; bad models refused when the project is saved and failed (with a retry) when a job runs."""

import random
from collections import Counter

import pytest
from django.forms import model_to_dict

from generation import arena
from generation.admin import ArenaCheckedProjectForm
from generation.demo_model import save_demo_model
from generation.models import GenerationJob
from generation.services import generation_requeue, image_generation_start
from generation.tasks import generate_images, generate_text
from generation.text_services import text_generation_request, text_generation_retry
from labeling.models import Candidate, Project, Task
from tests.factories import member
from tests.generation.conftest import TEST_STEPS
from tests.generation.fake_openai import FakeOpenAI, confident, start


@pytest.fixture(scope="session")
def second_model_path(tmp_path_factory):
    """Another tiny random pipeline: same architecture, other weights."""
    return save_demo_model(tmp_path_factory.mktemp("models") / "tiny-sd-b", seed=1)


@pytest.fixture
def image_arena(image_project, demo_model_path, second_model_path):
    image_project.arena_models = f"{demo_model_path}\n{second_model_path}"
    image_project.save()
    return image_project


def generate(task: Task) -> GenerationJob:
    job = image_generation_start(task=task)
    generate_images.apply(args=[job.pk])
    job.refresh_from_db()
    return job


def test_the_plan_splits_candidates_evenly_and_shuffles_their_positions():
    rng = random.Random(1)
    plans = [arena.arena_plan(models=["a", "b"], candidates=4, rng=rng) for _ in range(40)]

    assert all(Counter(plan) == {"a": 2, "b": 2} for plan in plans)
    assert len({tuple(plan) for plan in plans}) == 6  # every order of two a's and two b's turns up
    three = Counter(arena.arena_plan(models=["a", "b", "c"], candidates=4, rng=rng))
    assert sorted(three.values()) == [1, 1, 2]
    assert len(set(arena.arena_plan(models=["a", "b", "c"], candidates=2, rng=rng))) == 2


def test_an_image_arena_task_gets_two_images_of_each_model_in_a_random_order_that_is_stored(
    image_arena, demo_model_path, second_model_path, monkeypatch
):
    monkeypatch.setattr(arena, "_rng", random.Random(4))
    orders = []
    for number in range(6):
        task = Task.objects.create(project=image_arena, prompt=f"a heron {number}", source="batch")
        job = generate(task)
        assert job.status == GenerationJob.Status.SUCCEEDED, job.error_message
        assert (job.progress_step, job.progress_total) == (2 * TEST_STEPS, 2 * TEST_STEPS)
        candidates = list(task.candidates.order_by("index"))
        assert Counter(c.model_name for c in candidates) == {str(demo_model_path): 2, str(second_model_path): 2}
        for candidate in candidates:
            assert candidate.params["batch_seeds"] == [
                c.seed for c in candidates if c.model_name == candidate.model_name
            ]
        orders.append(tuple(c.model_name for c in candidates))
    assert len(set(orders)) > 1


def test_nothing_in_the_annotators_page_or_its_requests_names_the_model(client, image_arena, annotator):
    task = Task.objects.create(project=image_arena, prompt="a heron at dawn", source="batch")
    generate(task)
    client.force_login(annotator)
    names = {c.model_name for c in task.candidates.all()}
    telltales = names | {name.rstrip("/").rsplit("/", 1)[-1] for name in names}
    first = task.candidates.get(index=0)

    responses = [
        client.get(task.get_absolute_url()),
        client.get(f"/tasks/{task.pk}/candidates"),
        client.post(f"/candidates/{first.uid}/vote", {"value": "up"}, HTTP_HX_REQUEST="true"),
        client.post(
            f"/tasks/{task.pk}/preference", {"choice": "best", "chosen": str(first.uid)}, HTTP_HX_REQUEST="true"
        ),
        *(client.get(f"/candidates/{c.uid}/image") for c in task.candidates.all()),
    ]

    page = responses[0].content.decode()
    for candidate in task.candidates.all():
        assert f"/candidates/{candidate.uid}/image" in page
    for response in responses:
        assert response.status_code == 200
        seen = response.content.decode(errors="replace") + str(dict(response.headers))
        assert not any(telltale in seen for telltale in telltales)


def test_a_text_arena_asks_each_model_on_its_own_server_and_stores_all_answers_at_once(
    fake_llm, text_project, writer, settings, monkeypatch
):
    second = FakeOpenAI(models=["small-b"])
    server = start(second)
    settings.OPENAI_SERVERS = {"lab": {"base_url": second.base_url, "api_key": "lab-key"}}
    fake_llm.models = ["big-a"]
    text_project.arena_models = "big-a\nsmall-b@lab"
    text_project.candidates_per_task = 2
    text_project.save()
    fake_llm.answer(confident("Paris is the capital."), model="big-a-2026")
    second.answer(confident("It is Paris."), model="small-b")
    task = Task.objects.create(project=text_project, prompt="Capital of France?", source="batch")

    generate_text.apply(args=[text_generation_request(user=writer, task=task).pk])

    server.shutdown()
    answers = {c.model_name: c for c in task.candidates.all()}
    assert set(answers) == {"big-a", "small-b@lab"}
    assert answers["big-a"].text == "Paris is the capital." and answers["big-a"].params["served_model"] == "big-a-2026"
    assert fake_llm.requests[-1]["model"] == "big-a"
    assert second.requests[-1]["model"] == "small-b" and second.requests[-1]["_authorization"] == "Bearer lab-key"
    task.refresh_from_db()
    assert task.status == Task.Status.READY


def test_a_model_the_server_does_not_offer_fails_the_job_with_its_name_and_a_retry_fills_the_task(
    fake_llm, text_project, writer
):
    fake_llm.models = ["big-a"]
    text_project.arena_models = "big-a\nmissing-model"
    text_project.candidates_per_task = 2
    text_project.save()
    task = Task.objects.create(project=text_project, prompt="Capital of France?", source="batch")

    job = text_generation_request(user=writer, task=task)
    generate_text.apply(args=[job.pk])

    job.refresh_from_db()
    assert job.status == GenerationJob.Status.FAILED
    assert "does not offer 'missing-model'" in job.error_message and "big-a" in job.error_message
    assert not Candidate.objects.filter(task=task).exists()
    assert fake_llm.requests == []  # nothing was asked before every model was checked

    fake_llm.models = ["big-a", "missing-model"]
    fake_llm.answer(confident("Paris."))
    fake_llm.answer(confident("Paris, France."))
    generate_text.apply(args=[text_generation_retry(user=writer, job=job).pk])

    assert sorted(task.candidates.values_list("model_name", flat=True)) == ["big-a", "missing-model"]


def test_a_broken_stream_leaves_no_half_filled_arena_task(fake_llm, text_project, writer):
    fake_llm.models = ["a", "b"]
    text_project.arena_models = "a\nb"
    text_project.candidates_per_task = 2
    text_project.save()
    fake_llm.answer(confident("First answer."))
    fake_llm.fail(400, "bad request")
    task = Task.objects.create(project=text_project, prompt="Say hi", source="batch")

    generate_text.apply(args=[text_generation_request(user=writer, task=task).pk])

    assert not Candidate.objects.filter(task=task).exists()
    assert task.generation_jobs.get().status == GenerationJob.Status.FAILED


def test_an_image_model_that_cannot_be_loaded_fails_the_job_with_its_name_and_can_be_retried(
    image_arena, demo_model_path, second_model_path, tmp_path
):
    missing = tmp_path / "not-a-model"
    missing.mkdir()
    image_arena.arena_models = f"{demo_model_path}\n{missing}"
    image_arena.save()
    task = Task.objects.create(project=image_arena, prompt="a heron", source="batch")

    job = generate(task)

    assert job.status == GenerationJob.Status.FAILED
    assert str(missing) in job.error_message
    assert not task.candidates.exists()
    image_arena.arena_models = f"{demo_model_path}\n{second_model_path}"
    image_arena.save()
    task.refresh_from_db()
    retried = generation_requeue(task=task)
    generate_images.apply(args=[retried.pk])
    assert task.candidates.count() == 4


def form_for(project: Project, **changes) -> ArenaCheckedProjectForm:
    data = {key: value for key, value in model_to_dict(project).items() if value is not None} | changes
    return ArenaCheckedProjectForm(data=data, instance=project)


def test_an_arena_with_one_model_is_refused_when_the_project_is_saved(project):
    form = form_for(project, arena_models="only-one-model")

    assert not form.is_valid()
    assert form.errors["arena_models"] == [
        "An arena compares two or more models; this one names only 'only-one-model'."
    ]


def test_a_local_image_model_that_is_no_pipeline_is_refused_when_the_project_is_saved(
    project, demo_model_path, tmp_path
):
    form = form_for(project, arena_models=f"{demo_model_path}\n{tmp_path}")

    assert not form.is_valid()
    assert "is not a folder holding a diffusers pipeline" in form.errors["arena_models"][0]
    assert form_for(project, arena_models=f"{demo_model_path}\nstabilityai/sd-turbo").is_valid()


def test_an_llm_the_server_does_not_offer_is_refused_when_the_project_is_saved(fake_llm, text_project):
    fake_llm.models = ["big-a", "small-b"]

    refused = form_for(text_project, arena_models="big-a\ntiny-c", candidates_per_task=2)
    accepted = form_for(text_project, arena_models="big-a\nsmall-b", candidates_per_task=2)
    unknown_server = form_for(text_project, arena_models="big-a\nsmall-b@nowhere", candidates_per_task=2)

    assert not refused.is_valid()
    assert "does not offer 'tiny-c' (it offers: big-a, small-b)" in refused.errors["arena_models"][0]
    assert accepted.is_valid(), accepted.errors
    assert not unknown_server.is_valid()
    assert "No LLM server is named 'nowhere' in OPENAI_SERVERS" in unknown_server.errors["arena_models"][0]


def test_the_text_comparison_page_of_a_text_arena_does_not_name_the_models(client, text_project, writer):
    text_project.arena_models = "big-a\nsmall-b@lab"
    text_project.candidates_per_task = 2
    text_project.save()
    task = Task.objects.create(project=text_project, prompt="Say hi", source="batch", status="ready")
    Candidate.objects.create(task=task, index=0, text="Hi!", model_name="small-b@lab", review_state="accepted")
    Candidate.objects.create(task=task, index=1, text="Hello.", model_name="big-a", review_state="accepted")
    reader = member(text_project, "reader")
    client.force_login(reader)

    page = client.get(f"/p/{text_project.slug}/compare/").content.decode()

    assert "Hi!" in page and "Hello." in page
    assert "big-a" not in page and "small-b" not in page
