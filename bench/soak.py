"""Soak: 64 annotators and 4 reviewers for SOAK_SECONDS (600) on the production setup, exporting every minute.

Setup, all real processes launched the way the README's "Production" section says:

- PostgreSQL from DATABASE_URL: a dedicated database ``<name>_soak`` is dropped, created, migrated and
  seeded on each run (dropped at the end unless SOAK_KEEP=1); Redis from REDIS_URL (its Celery queues
  are purged at start); a fresh temporary var dir holding media and a new Oxen repository.
- ``manage.py serve --workers SOAK_WORKERS`` (2), ``celery -A corral worker -Q default``,
  ``celery -A corral worker -Q exports --concurrency 1`` and ``celery -A corral beat`` with
  EXPORT_INTERVAL_SECONDS=60, so the real export task runs every minute on the exports worker while
  people work; LOG_FORMAT=json, LOG_LEVEL=INFO, the logs go to files in the var dir.

Load (one asyncio process speaking raw HTTP/1.1 on keep-alive connections, logged-in sessions):

- each annotator presses "Next task", opens the task page and its 4 images, picks (best 80 %, tie 10 %,
  all bad 10 %), votes 👍/👎 on every candidate and, one time in ten, flips one of those votes;
- each reviewer takes the next answer from the review queue, opens it and accepts (50 %), corrects (30 %)
  or rejects (20 %) it;
- everybody thinks SOAK_THINK_SECONDS (1.0, ±50 %) between actions; an empty queue is waited out;
- ``/healthz`` is polled once a second on a fresh connection, as a load balancer does.

Figures:

- ``requests``: responses to the simulated people; ``errors_5xx``: those with a 5xx status (health
  polls are counted apart: ``healthz_non_200``); ``other_failures``: unexpected other statuses, broken
  connections and timeouts (30 s); ``p95_ms``: 95th percentile latency of all their requests.
- RSS of every server and worker process (psutil, the launched processes and their children, sampled
  every 5 s) at the start of the load, at its baseline and at the end of the load. The baseline is the
  sample SOAK_WARMUP_SECONDS after the start (default: a fifth of the run, at most 120 s), when imports,
  connection pools and caches have settled; for a worker process whose first export ended later (the
  worker's JSON task lines name the process), the sample right after that export. ``rss_growth_pct``
  is the largest (end − baseline) / baseline of any process.
- After the load, beat and the workers stop, one last export runs (``manage.py export_oxen``),
  and the database is compared with the Oxen dataset as a reader sees it: the part files of the batches
  whose commits are in the repository's log, newest ``updated_at`` winning per id (as the dataset card
  says). Every database row is compared at its current version (id and ``updated_at`` to the
  microsecond): a vote and a review by id, rating or decision included; a correction also by its
  ``text_dpo`` row ``review:<id>``; a preference by its ``preference_id``, whose newest rows must carry
  its ``updated_at`` and number 3 for "best" of 4, 6 for "tie" (an "all bad" pick writes none).
  ``lost_rows``: database rows whose current version is not the newest in the dataset (missing or
  older). ``duplicated_rows``: dataset rows repeating an (id, ``updated_at``) already written, in any
  table (the same version exported twice; so the newest view can hold an id only once).
  ``phantom_rows``: ids whose newest dataset version is not in the database.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral REDIS_URL=redis://127.0.0.1:6379/14 \\
       SOAK_SECONDS=600 .venv/bin/python bench/soak.py
"""

import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.vote_load import free_port, production_env, recreate_database  # noqa: E402

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP_SECONDS = float(os.environ.get("SOAK_WARMUP_SECONDS", str(min(120.0, SECONDS / 5))))
THINK_SECONDS = float(os.environ.get("SOAK_THINK_SECONDS", "1.0"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "2"))
ANNOTATORS = 64
REVIEWERS = 4
OVERLAP = 3
CANDIDATES_PER_TASK = 4
DISTINCT_IMAGES = 997  # candidates share these files, so seeding stays quick and no inode collects too many links
REQUEST_TIMEOUT_SECONDS = 30
IMAGE_PROJECT, TEXT_PROJECT = "soak-images", "soak-answers"
EXPECTED_PAIRS = {"best": CANDIDATES_PER_TASK - 1, "tie": CANDIDATES_PER_TASK * (CANDIDATES_PER_TASK - 1) // 2}
TASK_PATH = re.compile(r"^/tasks/(\d+)/$")
REVIEW_PATH = re.compile(r"^/review/([0-9a-f-]{36})/$")
CANDIDATE_UID = re.compile(r"/candidates/([0-9a-f-]{36})/vote")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Person:
    session_key: str
    csrf_token: str


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors_5xx: int = 0
    other_failures: int = 0
    samples: list[str] = field(default_factory=list)
    empty_queue: int = 0
    healthz_polls: int = 0
    healthz_non_200: int = 0
    healthz_samples: list[str] = field(default_factory=list)

    def failure(self, what: str) -> None:
        self.other_failures += 1
        if len(self.samples) < 8:
            self.samples.append(what)


# ---------------------------------------------------------------- seeding


def seed(media_root: Path) -> tuple[list[Person], list[Person]]:
    """Two projects (images, answers), the people with sessions, and enough work for the whole run."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connections
    from django.utils.crypto import get_random_string
    from PIL import Image

    from accounts.models import User
    from labeling.models import Candidate, Membership, Project, Task

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    images = Project.objects.create(
        slug=IMAGE_PROJECT, name="Soak images", votes_per_candidate=OVERLAP, candidates_per_task=CANDIDATES_PER_TASK
    )
    answers = Project.objects.create(
        slug=TEXT_PROJECT, name="Soak answers", kind=Project.Kind.TEXT, candidates_per_task=1, reviews_per_answer=1
    )
    folder = media_root / "candidates"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(DISTINCT_IMAGES):
        Image.new("RGB", (8, 8), (number % 256, number // 256, 90)).save(folder / f"soak-{number}.png")

    # A person with no think time does about 12 requests per task; seed twice what the fastest could use.
    per_task_seconds = max(THINK_SECONDS, 0.05) * 7
    task_count = int(2 * SECONDS * ANNOTATORS / per_task_seconds / OVERLAP) + 100
    tasks = Task.objects.bulk_create(
        (
            Task(project=images, prompt=f"soak prompt {n}", source=Task.Source.BATCH, status=Task.Status.READY)
            for n in range(task_count)
        ),
        batch_size=2000,
    )
    Candidate.objects.bulk_create(
        (
            Candidate(
                task=task,
                index=index,
                image=f"candidates/soak-{(task.pk * CANDIDATES_PER_TASK + index) % DISTINCT_IMAGES}.png",
                model_name="soak-model",
                seed=task.pk * CANDIDATES_PER_TASK + index,
                params={"steps": 10, "guidance": 7.5},
            )
            for task in tasks
            for index in range(CANDIDATES_PER_TASK)
        ),
        batch_size=5000,
    )
    answer_count = int(2 * SECONDS * REVIEWERS / (max(THINK_SECONDS, 0.05) * 2)) + 100
    answer_tasks = Task.objects.bulk_create(
        (
            Task(project=answers, prompt=f"soak question {n}?", source=Task.Source.BATCH, status=Task.Status.READY)
            for n in range(answer_count)
        ),
        batch_size=2000,
    )
    Candidate.objects.bulk_create(
        (
            Candidate(
                task=task,
                index=0,
                text=f"Maybe the answer to question {task.pk} is {task.pk % 7}.",
                model_name="soak-llm",
                confidence=0.4,
                review_state=Candidate.ReviewState.NEEDS_REVIEW,
                review_reason="hedge words: maybe",
            )
            for task in answer_tasks
        ),
        batch_size=5000,
    )

    def people(prefix: str, count: int, project: Project, role: str) -> list[Person]:
        users = User.objects.bulk_create(
            User(username=f"{prefix}{n}", password=make_password(None)) for n in range(count)
        )
        Membership.objects.bulk_create(Membership(user=user, project=project, role=role) for user in users)
        result = []
        for user in users:
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            result.append(Person(session_key=session.session_key, csrf_token=get_random_string(32)))
        return result

    annotators = people("soak-annotator", ANNOTATORS, images, Membership.Role.ANNOTATOR)
    reviewers = people("soak-reviewer", REVIEWERS, answers, Membership.Role.REVIEWER)
    print(f"seeded {task_count} image tasks, {answer_count} answers to review", flush=True)
    connections.close_all()
    return annotators, reviewers


# ---------------------------------------------------------------- HTTP


class Connection:
    """One person's keep-alive HTTP/1.1 connection with their session and CSRF cookies."""

    def __init__(self, port: int, person: Person, stats: Stats):
        self.port, self.stats = port, stats
        self.head = (
            f"Host: 127.0.0.1:{port}\r\n"
            f"Cookie: sessionid={person.session_key}; csrftoken={person.csrf_token}\r\n"
            f"X-CSRFToken: {person.csrf_token}\r\n"
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, expected: int, data: dict | None = None, *, htmx: bool = False
    ) -> tuple[int, dict[str, str], bytes] | None:
        """The response, or None after a failure (counted); a 5xx or an unexpected status is counted too."""
        body = urlencode(data).encode() if data is not None else b""
        head = f"{method} {path} HTTP/1.1\r\n{self.head}"
        if htmx:
            head += "HX-Request: true\r\n"
        if data is not None:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        began = time.perf_counter()
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(head.encode() + b"\r\n" + body)
            status, headers, content = await asyncio.wait_for(read_response(self.reader), REQUEST_TIMEOUT_SECONDS)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as error:
            self.stats.failure(f"{method} {path}: {type(error).__name__}: {error}")
            self.close()
            return None
        self.stats.latencies.append(time.perf_counter() - began)
        if headers.get("connection") == "close":
            self.close()
        if status >= 500:
            self.stats.errors_5xx += 1
            if len(self.stats.samples) < 8:
                self.stats.samples.append(f"{method} {path}: HTTP {status}")
        elif status != expected:
            self.stats.failure(f"{method} {path}: HTTP {status} {content[:200]!r}")
        return status, headers, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        content = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")
        content = b"".join(parts)
    else:
        content = b""
    return status, headers, content


async def think() -> None:
    await asyncio.sleep(THINK_SECONDS * random.uniform(0.5, 1.5))


async def annotate(port: int, person: Person, stop_at: float, stats: Stats) -> None:
    conn = Connection(port, person, stats)
    after = ""
    while time.monotonic() < stop_at:
        response = await conn.request("POST", f"/p/{IMAGE_PROJECT}/next", 302, {"after": after}, htmx=False)
        task = TASK_PATH.match(response[1].get("location", "")) if response else None
        if task is None:
            if response and response[0] == 302:
                stats.empty_queue += 1
            await asyncio.sleep(5 * THINK_SECONDS)
            continue
        task_id = task.group(1)
        page = await conn.request("GET", f"/tasks/{task_id}/", 200)
        uids = list(dict.fromkeys(CANDIDATE_UID.findall(page[2].decode()))) if page else []
        if not uids:
            await think()
            continue
        for uid in uids:
            await conn.request("GET", f"/candidates/{uid}/image", 200)
        await think()
        pick = random.random()
        choice = {"choice": "best", "chosen": random.choice(uids)} if pick < 0.8 else {}
        choice = choice or {"choice": "tie" if pick < 0.9 else "all_bad"}
        await conn.request("POST", f"/tasks/{task_id}/preference", 200, choice, htmx=True)
        values = {}
        for uid in uids:
            await think()
            values[uid] = random.choice(["up", "down"])
            await conn.request("POST", f"/candidates/{uid}/vote", 200, {"value": values[uid]}, htmx=True)
        if random.random() < 0.1:
            await think()
            uid = random.choice(uids)
            flipped = "down" if values[uid] == "up" else "up"
            await conn.request("POST", f"/candidates/{uid}/vote", 200, {"value": flipped}, htmx=True)
        after = task_id
        await think()
    conn.close()


async def review(port: int, person: Person, stop_at: float, stats: Stats) -> None:
    conn = Connection(port, person, stats)
    number = 0
    while time.monotonic() < stop_at:
        response = await conn.request("GET", f"/p/{TEXT_PROJECT}/review/", 302)
        answer = REVIEW_PATH.match(response[1].get("location", "")) if response else None
        if answer is None:
            if response and response[0] == 200:
                stats.empty_queue += 1
            await asyncio.sleep(5 * THINK_SECONDS)
            continue
        uid = answer.group(1)
        await conn.request("GET", f"/review/{uid}/", 200)
        await think()
        number += 1
        pick = random.random()
        if pick < 0.5:
            data = {"decision": "accept"}
        elif pick < 0.8:
            data = {"decision": "correct", "corrected_text": f"The answer is {number}.", "reason": "wrong number"}
        else:
            data = {"decision": "reject", "reason": "not an answer"}
        saved = await conn.request("POST", f"/review/{uid}/save", 302, data)
        if saved and data["decision"] == "correct" and saved[0] == 302:
            await conn.request("GET", saved[1]["location"], 200)
        await think()
    conn.close()


async def poll_health(port: int, stop_at: float, stats: Stats) -> None:
    while time.monotonic() < stop_at:
        began = time.monotonic()
        stats.healthz_polls += 1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            status, _, content = await asyncio.wait_for(read_response(reader), 10)
            writer.close()
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
            status, content = None, f"{type(error).__name__}: {error}".encode()
        if status != 200:
            stats.healthz_non_200 += 1
            if len(stats.healthz_samples) < 5:
                stats.healthz_samples.append(f"{status} {content[:300]!r}")
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))


# ---------------------------------------------------------------- processes and memory


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


async def run_load(
    port: int, annotators: list[Person], reviewers: list[Person], launched: dict[str, subprocess.Popen]
) -> tuple[Stats, dict[int, str], list[tuple[float, dict[int, float]]]]:
    """Run the people until SOAK_SECONDS are up; RSS of every process is sampled every 5 s meanwhile."""
    stats = Stats()
    start = time.monotonic()
    stop_at = start + SECONDS
    pids = process_tree(launched)
    samples = [(time.time(), rss_mb(pids))]
    people = [
        *(annotate(port, person, stop_at, stats) for person in annotators),
        *(review(port, person, stop_at, stats) for person in reviewers),
        poll_health(port, stop_at, stats),
    ]
    load = asyncio.gather(*people)
    next_report = start + 60
    while (left := stop_at - 1 - time.monotonic()) > 0:
        await asyncio.sleep(min(5.0, left))
        pids.update(process_tree(launched))
        samples.append((time.time(), rss_mb(pids)))
        if time.monotonic() >= next_report:
            next_report += 60
            print(
                f"  t={time.monotonic() - start:.0f}s requests {len(stats.latencies)}, 5xx {stats.errors_5xx}, "
                f"other failures {stats.other_failures}, healthz non-200 {stats.healthz_non_200}",
                flush=True,
            )
    await load
    return stats, pids, samples


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


# ---------------------------------------------------------------- the dataset against the database


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def final_export(env: dict[str, str]) -> None:
    """``manage.py export_oxen``, the operator's command for the same export service the worker runs."""
    for _ in range(60):
        result = subprocess.run(
            [sys.executable, "manage.py", "export_oxen"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"the final export failed: {result.stdout[-1000:]} {result.stderr[-2000:]}")
        if "Another export is running" not in result.stdout:
            return
        time.sleep(5)
    raise SystemExit("the final export never got the export lock")


def read_dataset(repo_path: Path) -> tuple[dict[str, list[dict]], int]:
    """Rows of every table from the part files of committed batches; also the number of uncommitted parts."""
    import oxen
    import pyarrow as pa
    import pyarrow.parquet as pq

    from exports.services import COMMIT_PREFIX
    from exports.tables import TABLES

    committed = {
        commit.message.removeprefix(COMMIT_PREFIX).split(" ", 1)[0]
        for commit in oxen.Repo(str(repo_path)).log()
        if commit.message.startswith(COMMIT_PREFIX)
    }
    tables, uncommitted = {}, 0
    for table in TABLES:
        rows = []
        for part in sorted((repo_path / table).glob("*.parquet")):
            if part.stem not in committed:
                uncommitted += 1
                continue
            data = pq.read_table(part)
            data = data.set_column(
                data.schema.get_field_index("updated_at"), "updated_at", data["updated_at"].cast(pa.int64())
            )
            rows.extend(data.to_pylist())
        tables[table] = rows
    return tables, uncommitted


def newest(rows: list[dict], key: str) -> dict[object, list[dict]]:
    """Per ``key``: the rows at that key's newest updated_at (newest wins)."""
    latest: dict[object, list[dict]] = {}
    for row in rows:
        held = latest.get(row[key])
        if held is None or row["updated_at"] > held[0]["updated_at"]:
            latest[row[key]] = [row]
        elif row["updated_at"] == held[0]["updated_at"]:
            held.append(row)
    return latest


def compare(repo_path: Path) -> dict[str, int]:
    from labeling.models import Preference, Review, Vote

    tables, uncommitted = read_dataset(repo_path)
    duplicated = sum(len(rows) - len({(row["id"], row["updated_at"]) for row in rows}) for rows in tables.values())
    lost = phantom = 0
    ratings = {Vote.Value.UP: "good", Vote.Value.DOWN: "bad", Vote.Value.WITHDRAWN: "withdrawn"}

    def check(expected: dict[object, tuple], rows: list[dict], key: str, version, *, gone=lambda found: False) -> None:
        nonlocal lost, phantom
        latest = {identity: found for identity, found in newest(rows, key).items() if not gone(found)}
        for identity, wanted in expected.items():
            found = latest.get(identity)
            if found is None or version(found) != wanted:
                lost += 1
        phantom += sum(1 for identity, found in latest.items() if expected.get(identity) != version(found))

    votes = {
        pk: (_micros(updated), ratings[value])
        for pk, updated, value in Vote.objects.values_list("pk", "updated_at", "value")
        if value != Vote.Value.WITHDRAWN
    }
    check(votes, tables["votes"], "id", lambda found: (found[0]["updated_at"], found[0]["rating"]))

    preferences = {
        pk: (_micros(updated), EXPECTED_PAIRS[choice])
        for pk, updated, choice in Preference.objects.values_list("pk", "updated_at", "choice")
        if choice in EXPECTED_PAIRS
    }
    # A judgement whose newest version is one row without a pair gives no pairs (the dataset card's rule).
    check(
        preferences,
        tables["preferences"],
        "preference_id",
        lambda found: (found[0]["updated_at"], len(found)),
        gone=lambda found: found[0]["jpg_0"] is None,
    )

    reviews = list(Review.objects.values_list("pk", "updated_at", "decision"))
    check(
        {pk: (_micros(updated), decision) for pk, updated, decision in reviews},
        tables["reviews"],
        "id",
        lambda found: (found[0]["updated_at"], found[0]["decision"]),
    )
    check(
        {f"review:{pk}": _micros(updated) for pk, updated, decision in reviews if decision == Review.Decision.CORRECT},
        tables["text_dpo"],
        "id",
        lambda found: found[0]["updated_at"],
    )
    return {
        "votes": len(votes),
        "preferences": len(preferences),
        "reviews": len(reviews),
        "lost": lost,
        "duplicated": duplicated,
        "phantom": phantom,
        "uncommitted": uncommitted,
    }


# ---------------------------------------------------------------- main


def percentile_ms(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def count_log_lines(path: Path, event: str) -> int:
    marker = f'"event": "{event}"'
    with open(path, encoding="utf-8", errors="replace") as log:
        return sum(marker in line for line in log)


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")) or not redis_url.startswith("redis://"):
        raise SystemExit(
            "Set DATABASE_URL to a PostgreSQL server and REDIS_URL to a Redis database the soak may use, e.g. "
            "postgres://postgres@127.0.0.1:5432/corral and redis://127.0.0.1:6379/14"
        )
    parts = urlsplit(base_url)
    database_url = urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'corral'}_soak"))
    var_dir = Path(tempfile.mkdtemp(prefix="corral-soak-"))
    env = production_env(database_url, str(var_dir))
    env.pop("OXEN_REMOTE", None)  # never push the soak's dataset anywhere
    repo_path = var_dir / "oxen-dataset"
    env.update(
        MEDIA_ROOT=str(var_dir / "media"),
        OXEN_REPO_PATH=str(repo_path),
        OXEN_CONFIG_DIR=str(var_dir / "oxen-config"),
        REDIS_URL=redis_url,
        CHANNEL_LAYER_PREFIX=f"soak{os.getpid()}",
        EXPORT_INTERVAL_SECONDS="60",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    os.environ.update({key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "corral.settings"
    os.environ["LOG_LEVEL"] = "WARNING"  # this process's own export and queries stay quiet

    print(f"preparing {database_url.rsplit('/', 1)[-1]} and {var_dir}", flush=True)
    recreate_database(database_url)
    annotators, reviewers = seed(var_dir / "media")
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "corral", "purge", "-f", "-Q", "default,exports,gpu"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip

    port = free_port()
    commands = {
        "server": [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(WORKERS)],
        "worker": [sys.executable, "-m", "celery", "-A", "corral", "worker", "-Q", "default",
                   "--hostname", "soak-default@%h"],
        "exports": [sys.executable, "-m", "celery", "-A", "corral", "worker", "-Q", "exports",
                    "--concurrency", "1", "--hostname", "soak-exports@%h"],
        "beat": [sys.executable, "-m", "celery", "-A", "corral", "beat"],
    }  # fmt: skip
    launched: dict[str, subprocess.Popen] = {}
    try:
        for role, command in commands.items():
            with open(var_dir / f"{role}.log", "wb") as log:
                launched[role] = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        wait_until_healthy(port, launched)
        print(
            f"server: manage.py serve, {WORKERS} processes; workers -Q default and -Q exports; "
            f"beat, exports every 60 s; "
            f"{ANNOTATORS} annotators, {REVIEWERS} reviewers, think {THINK_SECONDS} s; {SECONDS:.0f} s, "
            f"memory baseline after {WARMUP_SECONDS:.0f} s; {os.cpu_count()} CPUs, "
            f"load average before {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        import uvloop

        stats, pids, samples = uvloop.run(run_load(port, annotators, reviewers, launched))

        stop(launched.pop("beat"))
        # A warm shutdown lets a running export finish; one still running after 2 minutes is hung.
        stop(launched.pop("worker"))
        worker_stopped = stop(launched.pop("exports"), timeout=120)
        from exports.models import ExportRun

        runs = {status: ExportRun.objects.filter(status=status).count() for status in ExportRun.Status.values}
        final_export(env)
        result = compare(repo_path)
    finally:
        for popen in launched.values():
            stop(popen)
        keep = os.environ.get("SOAK_KEEP") == "1"
        if not keep:
            from django.db import connections

            connections.close_all()
            recreate_database(database_url, create=False)

    growth = {}
    figures = rss_figures(pids, samples, first_exports(var_dir / "exports.log"))
    print("rss_mb (start / baseline / end):")
    for pid, role in sorted(pids.items(), key=lambda item: item[1]):
        sizes = figures[pid]
        shown = " / ".join(f"{size:.0f}" if size is not None else "-" for size in sizes)
        print(f"  {role} [{pid}]: {shown}")
        if sizes[1] and sizes[2]:
            growth[pid] = 100 * (sizes[2] - sizes[1]) / sizes[1]
    request_lines = count_log_lines(var_dir / "server.log", "request")
    if not keep:
        shutil.rmtree(var_dir, ignore_errors=True)
    else:
        print(f"kept {var_dir} and {database_url.rsplit('/', 1)[-1]}")

    print(f"failure samples: {stats.samples}")
    print(f"healthz samples: {stats.healthz_samples}")
    print(f"exports during the run: {runs}")
    print(f"exports worker stopped by SIGTERM within 2 minutes: {'yes' if worker_stopped else 'no, killed'}")
    print(f"dataset checked: {result['votes']} votes, {result['preferences']} picks, {result['reviews']} reviews")
    print(f"request_log_lines: {request_lines}")
    print(f"other_failures: {stats.other_failures}")
    print(f"empty_queue: {stats.empty_queue}")
    print(f"healthz_polls: {stats.healthz_polls}")
    print(f"healthz_non_200: {stats.healthz_non_200}")
    print(f"phantom_rows: {result['phantom']}")
    print(f"uncommitted_parts: {result['uncommitted']}")
    print(f"requests: {len(stats.latencies)}")
    print(f"errors_5xx: {stats.errors_5xx}")
    print(f"p95_ms: {percentile_ms(stats.latencies, 0.95):.1f}")
    print(f"lost_rows: {result['lost']}")
    print(f"duplicated_rows: {result['duplicated']}")
    print(f"rss_growth_pct: {max(growth.values()) if growth else float('nan'):.1f}")


if __name__ == "__main__":
    main()
