"""The soak's processes: their memory, their health, and stopping them."""

import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

from bench.soak_config import WARMUP_SECONDS


def process_tree(launched: dict[str, subprocess.Popen]) -> dict[int, str]:
    import psutil

    tree = {}
    for role, popen in launched.items():
        try:
            root = psutil.Process(popen.pid)
            tree[root.pid] = role
            for child in root.children(recursive=True):
                tree[child.pid] = f"{role} child"
        except psutil.NoSuchProcess:
            continue
    return tree


def rss_mb(pids: dict[int, str]) -> dict[int, float]:
    import psutil

    sizes = {}
    for pid in pids:
        try:
            sizes[pid] = psutil.Process(pid).memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return sizes


def first_exports(worker_log: Path) -> dict[int, float]:
    """Per worker process id: when its first export ended (from the worker's JSON task lines)."""
    import json

    ended = {}
    with open(worker_log, encoding="utf-8", errors="replace") as log:
        for line in log:
            if '"task": "exports.tasks.export_to_oxen"' not in line:
                continue
            record = json.loads(line)
            ended.setdefault(record["pid"], datetime.fromisoformat(record["time"]).timestamp())
    return ended


def rss_figures(
    pids: dict[int, str], samples: list[tuple[float, dict[int, float]]], exported: dict[int, float]
) -> dict[int, tuple[float | None, float | None, float | None]]:
    """Per process: RSS at the start, at its baseline and at the end of the load.

    The baseline is the first sample SOAK_WARMUP_SECONDS after the start, or, for a worker process whose
    first export ended later, the first sample after that export: loading the dataset machinery once is
    not growth over the run.
    """
    figures = {}
    warm = samples[0][0] + WARMUP_SECONDS
    for pid in pids:
        settled = max(warm, exported.get(pid, warm))
        baseline = next((sizes.get(pid) for moment, sizes in samples if moment >= settled), None)
        figures[pid] = (samples[0][1].get(pid), baseline, samples[-1][1].get(pid))
    return figures


def wait_until_healthy(port: int, launched: dict[str, subprocess.Popen], timeout: float = 120) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        for role, popen in launched.items():
            if popen.poll() is not None:
                raise SystemExit(f"{role} exited with {popen.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = error.read().decode()[:300]
        except OSError as error:
            last = str(error)
        time.sleep(1)
    raise SystemExit(f"/healthz did not become 200: {last}")


def stop(popen: subprocess.Popen, timeout: float = 60) -> bool:
    """SIGTERM, then SIGKILL to the process group after ``timeout``; False when it had to be killed."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
            return False
    return True
