"""The soak's figures (bench/soak.py): its environment variables and the shape of the load."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP_SECONDS = float(os.environ.get("SOAK_WARMUP_SECONDS", str(min(120.0, SECONDS / 5))))
THINK_SECONDS = float(os.environ.get("SOAK_THINK_SECONDS", "1.0"))
# People arrive over the first seconds, each at a random moment, as a load tool's spawn rate spreads them: 68 people
# pressing their first button in the same millisecond is no team's morning.
RAMP_SECONDS = float(os.environ.get("SOAK_RAMP_SECONDS", "10"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "2"))
ANNOTATORS = 64
REVIEWERS = 4
CANDIDATES_PER_TASK = 4
IMAGE_PROJECT, TEXT_PROJECT = "soak-images", "soak-answers"
