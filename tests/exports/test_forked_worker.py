import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_an_export_with_new_images_finishes_in_a_forked_worker_process(tmp_path):
    """A prefork worker imports the task modules and then forks; liboxen's threads must not exist before
    the fork (they are not copied into the child, and its folder add waited on them forever)."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DEBUG="1", CORRAL_VAR_DIR=str(tmp_path / "var"), LOG_LEVEL="WARNING")
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("forked_worker_scenario.py")), "30"],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "corral.settings"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.stdout.strip().splitlines()[-1:] == ["finished"], result.stdout + result.stderr
    assert (tmp_path / "var" / "oxen-dataset" / "images").is_dir()
