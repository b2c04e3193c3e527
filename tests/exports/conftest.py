"""Export fixtures: a real local Oxen repository in a temporary folder, and reading its tables back."""

from pathlib import Path

import pandas as pd
import pytest


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
