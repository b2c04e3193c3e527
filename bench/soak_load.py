"""The soak's load: annotators and reviewers on keep-alive HTTP/1.1 connections, and the health poll."""

import asyncio
import random
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bench.soak_config import IMAGE_PROJECT, RAMP_SECONDS, SECONDS, TEXT_PROJECT, THINK_SECONDS
from bench.soak_processes import process_tree, rss_mb
from bench.soak_seed import Person

REQUEST_TIMEOUT_SECONDS = 30
UPKEEP_SECONDS = 60.0  # autovacuum's default naptime
TASK_PATH = re.compile(r"^/tasks/(\d+)/$")
REVIEW_PATH = re.compile(r"^/review/([0-9a-f-]{36})/$")
CANDIDATE_UID = re.compile(r"/candidates/([0-9a-f-]{36})/vote")


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    by_minute: dict[int, list[float]] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    errors_5xx: int = 0
    other_failures: int = 0
    samples: list[str] = field(default_factory=list)
    empty_queue: int = 0
    healthz_polls: int = 0
    healthz_non_200: int = 0
    healthz_samples: list[str] = field(default_factory=list)

    def record(self, kind: str, began: float, latency: float) -> None:
        self.latencies.append(latency)
        self.by_kind.setdefault(kind, []).append(latency)
        self.by_minute.setdefault(int((began - self.started) // 60), []).append(latency)

    def failure(self, what: str) -> None:
        self.other_failures += 1
        if len(self.samples) < 8:
            self.samples.append(what)


REQUEST_KINDS = (
    ("POST", re.compile(r"/next$"), "next"),
    ("GET", re.compile(r"^/tasks/\d+/$"), "task"),
    ("GET", re.compile(r"/image$"), "image"),
    ("POST", re.compile(r"/preference$"), "pick"),
    ("POST", re.compile(r"/vote$"), "vote"),
    ("GET", re.compile(r"/review/$"), "review_next"),
    ("GET", re.compile(r"^/review/[0-9a-f-]{36}/$"), "review_page"),
    ("POST", re.compile(r"/save$"), "review_save"),
)


def kind_of(method: str, path: str) -> str:
    """The page a request is for, for the soak's per-page latencies."""
    return next((kind for verb, pattern, kind in REQUEST_KINDS if verb == method and pattern.search(path)), "other")


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
        self.stats.record(kind_of(method, path), began, time.perf_counter() - began)
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


async def arrive() -> None:
    await asyncio.sleep(random.uniform(0, RAMP_SECONDS))


async def annotate(port: int, person: Person, stop_at: float, stats: Stats) -> None:
    conn = Connection(port, person, stats)
    await arrive()
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
    await arrive()
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


async def keep_up(upkeep: Callable[[], None], stop_at: float) -> None:
    """The database's upkeep every UPKEEP_SECONDS while the load runs, off the event loop."""
    while time.monotonic() + UPKEEP_SECONDS < stop_at:
        await asyncio.sleep(UPKEEP_SECONDS)
        await asyncio.to_thread(upkeep)


async def run_load(
    port: int,
    annotators: list[Person],
    reviewers: list[Person],
    launched: dict[str, subprocess.Popen],
    *,
    upkeep: Callable[[], None],
) -> tuple[Stats, dict[int, str], list[tuple[float, dict[int, float]]]]:
    """Run the people until SOAK_SECONDS are up; RSS of every process is sampled every 5 s meanwhile, and
    ``upkeep`` runs every UPKEEP_SECONDS."""
    stats = Stats()
    start = time.monotonic()
    stop_at = start + SECONDS
    pids = process_tree(launched)
    samples = [(time.time(), rss_mb(pids))]
    people = [
        *(annotate(port, person, stop_at, stats) for person in annotators),
        *(review(port, person, stop_at, stats) for person in reviewers),
        poll_health(port, stop_at, stats),
        keep_up(upkeep, stop_at),
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
