"""The server's application module, as a fresh server process loads it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_loading_the_application_freezes_what_it_loaded_out_of_the_collectors_full_passes(tmp_path):
    env = {**os.environ, "CORRAL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "corral.settings"}
    env.pop("DATABASE_URL", None)
    probe = "import gc; import corral.asgi; print(gc.get_freeze_count())"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    # Django, the apps and every view: far more than the interpreter's own start-up leaves.
    assert int(loaded.stdout.strip()) > 50_000
