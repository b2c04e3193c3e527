"""Generation fixtures: a tiny random Stable Diffusion pipeline saved to disk once per session, and a fake
OpenAI-compatible server for text generation.

Image tests load the model through the same ``from_pretrained`` path as production. Its
images are noise, which is all these tests look at.
"""

from contextlib import contextmanager

import pytest

from generation.demo_model import save_demo_model
from labeling.models import Membership, Project
from tests.factories import member
from tests.generation.fake_openai import FakeOpenAI, start

TEST_STEPS = 4


@pytest.fixture(scope="session")
def demo_model_path(tmp_path_factory):
    return save_demo_model(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture
def image_project(project, demo_model_path) -> Project:
    """The ``project`` fixture, generating 4 images of 64 px in a few steps with the tiny model."""
    project.image_model = str(demo_model_path)
    project.image_width = project.image_height = 64
    project.image_steps = TEST_STEPS
    project.candidates_per_task = 4
    project.save()
    return project


@pytest.fixture
def second_annotator(project):
    return member(project, "abe", role=Membership.Role.ANNOTATOR)


@pytest.fixture
def writer(text_project):
    """An annotator of the text project who asks for answers."""
    return member(text_project, "wendy", role=Membership.Role.ANNOTATOR)


@pytest.fixture
def fake_llm(settings):
    """The fake server, with the real openai client pointed at it through the settings."""
    fake = FakeOpenAI()
    server = start(fake)
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_TIMEOUT_SECONDS = 5.0
    settings.LLM_MAX_RETRIES = 3
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()


def purge_queues() -> None:
    """Drop messages left on the broker by earlier tests (their jobs no longer exist)."""
    from corral.celery import app

    with app.connection_for_write() as connection:
        for queue in ("gpu", "default", "exports"):
            connection.default_channel.queue_declare(queue=queue, durable=True, auto_delete=False)
            connection.default_channel.queue_purge(queue)


@contextmanager
def celery_worker(queues: tuple[str, ...] = ("gpu", "default", "exports")):
    """A real Celery worker in a thread of this process, on the configured broker (memory or Redis)."""
    from celery.contrib.testing.worker import start_worker

    from corral.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, queues=list(queues), shutdown_timeout=30):
        yield
