"""Fault injection for the crash tests (tests/exports/test_crash.py): EXPORT_CRASH_AT names a stage of a run."""

import os
import signal

from django.conf import settings

CRASH_STAGES = ("before_write", "after_write", "after_add", "after_commit", "before_mark")


def checkpoint(stage: str) -> None:
    """Die here, for real, when asked to."""
    if stage == settings.EXPORT_CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)
