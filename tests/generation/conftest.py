"""Generation fixtures: a tiny random Stable Diffusion pipeline saved to disk once per session.

Tests load it through the same ``from_pretrained`` path as production. Its
images are noise, which is all these tests look at.
"""

from contextlib import contextmanager

import pytest

from generation.demo_model import save_demo_model
from labeling.models import Membership, Project
from tests.conftest import make_user

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
    user = make_user("abe")
    Membership.objects.create(user=user, project=project, role=Membership.Role.ANNOTATOR)
    return user


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
