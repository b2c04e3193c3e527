import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from labeling.models import Candidate, Task


def png_bytes(shade: int = 0) -> bytes:
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


@pytest.fixture
def ready_task(project) -> Task:
    return make_ready_task(project)

