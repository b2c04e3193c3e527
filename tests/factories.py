"""Factories: the plain functions that build objects for tests. Fixtures stay in the conftest files and call these."""

import io
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from accounts.models import User
from labeling.models import Candidate, Membership, Task


def past_first_request(client):
    """``client`` after one request: the first request after a log-in reads the user from the database, the next
    ones from the users' cache (with Redis and PostgreSQL, accounts/backends.py), so tests that compare query
    counts compare requests made after it."""
    assert client.get("/").status_code == 200
    return client


def make_user(username: str, **extra) -> User:
    return User.objects.create_user(username=username, password="correct horse battery staple", **extra)


def member(project, username: str, role=Membership.Role.ANNOTATOR) -> User:
    """A new user with a membership of ``project`` in ``role``."""
    user = make_user(username)
    Membership.objects.create(user=user, project=project, role=role)
    return user


def session_store(session_key: str | None = None):
    """A session as the configured engine keeps it (database rows; with Redis, read through its cache there)."""
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def expire_session(session_key: str) -> None:
    """Let a session run out, through its engine, so that its database row and its cached copy both say so."""
    store = session_store(session_key)
    store.set_expiry(timezone.now() - timedelta(seconds=1))
    store.save()


def png_bytes(shade: int = 0) -> bytes:
    """A small PNG; different shades make different files."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade % 256, 80, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_ready_task(project, *, candidates: int = 4, prompt: str = "a heron at dawn", **fields) -> Task:
    """A task as generation leaves it: ready, with small PNG candidates stored through Django's storage."""
    fields.setdefault("source", Task.Source.BATCH)
    fields.setdefault("status", Task.Status.READY)
    task = Task.objects.create(project=project, prompt=prompt, **fields)
    for index in range(candidates):
        candidate = Candidate(task=task, index=index, model_name="test", seed=index)
        candidate.image.save(f"c{task.pk}-{index}.png", ContentFile(png_bytes(index * 40)), save=True)
    return task


def make_image_task(project, prompt: str, *, count: int = 4) -> Task:
    """A typed, ready image task with ``count`` candidates carrying a model name, seed and parameters."""
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.TYPED, status=Task.Status.READY)
    for index in range(count):
        candidate = Candidate(
            task=task, index=index, model_name="tiny-sd", seed=1000 + index, params={"steps": 10, "guidance": 7.5}
        )
        candidate.image.save(f"{prompt[:10]}-{index}.png", ContentFile(png_bytes(index * 40)), save=False)
        candidate.save()
    return task


def make_text_task(project, prompt: str, answers: list[str], *, confidence: float = 0.4) -> Task:
    """A typed, ready text task with one candidate per answer."""
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.TYPED, status=Task.Status.READY)
    for index, answer in enumerate(answers):
        Candidate.objects.create(task=task, index=index, text=answer, model_name="tiny-llm", confidence=confidence)
    return task


def make_plain_task(project, *, candidates: int = 4, prompt: str = "a wren", gold: dict | None = None) -> Task:
    """A ready task whose candidates carry no files (figures and exports of texts need none); ``gold`` makes it a
    gold task with that expected judgement."""
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.BATCH, status="ready", gold=gold)
    Candidate.objects.bulk_create(
        Candidate(task=task, index=index, text=f"answer {index}") for index in range(candidates)
    )
    return task


def judged_at(judgement, at) -> None:
    """Backdate a vote, pick or review to ``at`` (created and updated), as if it had been made then."""
    type(judgement).objects.filter(pk=judgement.pk).update(created_at=at, updated_at=at)


def make_arena_task(project, models: list[str], *, prompt: str = "a lighthouse", text: bool = False) -> Task:
    """A ready task of an arena whose candidates, in this on-screen order, come from ``models``."""
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.BATCH, status=Task.Status.READY)
    Candidate.objects.bulk_create(
        Candidate(task=task, index=index, model_name=model, text=f"answer {index}" if text else "")
        for index, model in enumerate(models)
    )
    return task
