"""Export fixtures: a real local Oxen repository in a temporary folder, and feedback rows made with the ORM."""

import io
from pathlib import Path

import pandas as pd
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from labeling.models import Candidate, Task


def png_bytes(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (shade % 256, 64, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_image_task(project, prompt: str, *, count: int = 4) -> Task:
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.TYPED, status=Task.Status.READY)
    for index in range(count):
        candidate = Candidate(
            task=task, index=index, model_name="tiny-sd", seed=1000 + index, params={"steps": 10, "guidance": 7.5}
        )
        candidate.image.save(f"{prompt[:10]}-{index}.png", ContentFile(png_bytes(index * 40)), save=False)
        candidate.save()
    return task


def make_text_task(project, prompt: str, answers: list[str], *, confidence: float = 0.4) -> Task:
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.TYPED, status=Task.Status.READY)
    for index, answer in enumerate(answers):
        Candidate.objects.create(task=task, index=index, text=answer, model_name="tiny-llm", confidence=confidence)
    return task


def read_table(repo: Path, table: str) -> pd.DataFrame:
    parts = sorted((repo / table).glob("*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(part) for part in parts], ignore_index=True)


@pytest.fixture
def oxen_repo(settings, tmp_path) -> Path:
    settings.OXEN_REPO_PATH = tmp_path / "dataset"
    settings.OXEN_CONFIG_DIR = tmp_path / "oxen-config"
    settings.OXEN_REMOTE = ""
    settings.OXEN_API_KEY = ""
    settings.EXPORT_CHUNK_SIZE = 3
    return settings.OXEN_REPO_PATH
