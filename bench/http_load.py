"""The load generators of bench/vote_load.py: wrk for closed loops, an asyncio HTTP/1.1 client for paced ones.

Each annotator's requests go out on their own keep-alive connection, with their session cookie, CSRF token and
Origin as a browser's htmx sends them.
"""

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Credentials:
    session_key: str
    csrf_token: str


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding") == b"chunked":
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status, headers.get(b"connection") != b"close"


async def annotate(
    port: int,
    annotator: Credentials,
    items: list[str],
    expected: int,
    start_at: float,
    stop_at: float,
    results: Results,
    *,
    interval: float | None = None,
    first_due: float = 0.0,
) -> None:
    """One annotator's requests on a keep-alive connection: closed loop, or one every ``interval`` seconds
    from ``first_due`` (open loop: latency then counts from when the request was due, not when it went out)."""
    head = (
        f"Host: 127.0.0.1:{port}\r\nCookie: sessionid={annotator.session_key}; csrftoken={annotator.csrf_token}\r\n"
        f"Origin: http://127.0.0.1:{port}\r\nX-CSRFToken: {annotator.csrf_token}\r\nHX-Request: true\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
    )
    requests = []
    for item in items:
        path, body = item.split("|", 1)
        requests.append(f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}".encode())
    reader = writer = None
    number = 0
    while True:
        if interval is None:
            began = time.perf_counter()
        else:
            began = first_due + number * interval
            await asyncio.sleep(max(0.0, began - time.perf_counter()))
        if began >= stop_at:
            break
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(requests[number % len(requests)])
            number += 1
            status, keep_alive = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            if began >= start_at:
                results.error(f"{type(error).__name__}: {error}")
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        elapsed = time.perf_counter() - began
        if began >= start_at:
            if status == expected:
                results.latencies.append(elapsed)
            else:
                results.error(f"HTTP {status}")
        if not keep_alive:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


WRK_SCRIPT = """
local offset = tonumber(os.getenv("BENCH_WRK_OFFSET"))
local expected = tonumber(os.getenv("BENCH_WRK_EXPECTED"))
local requests = {}
for line in io.lines(os.getenv("BENCH_WRK_REQUESTS")) do
  requests[#requests + 1] = line:gsub("\\t", "\\r\\n")
end
local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end
local sent = 0
unexpected = 0
request = function()
  sent = sent + 1
  return requests[(offset + sent - 1) % #requests + 1]
end
response = function(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end
done = function(summary, latency, requests)
  local errors = summary.errors
  local wrong_status = 0
  for _, thread in ipairs(threads) do
    wrong_status = wrong_status + thread:get("unexpected")
  end
  io.write(string.format("wrk-result %d %d %d %.3f %.3f %.3f %d\\n", summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, wrong_status))
end
"""


@dataclass
class WrkResults:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def wrk_run(
    port: int, requests_file: Path, script: Path, *, connections: int, seconds: float, offset: int, expected: int
) -> WrkResults:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", str(script)]
    env = {
        **os.environ,
        "BENCH_WRK_REQUESTS": str(requests_file),
        "BENCH_WRK_OFFSET": str(offset),
        "BENCH_WRK_EXPECTED": str(expected),
    }
    output = subprocess.run(command + [f"http://127.0.0.1:{port}/"], env=env, capture_output=True, text=True)
    line = next((line for line in output.stdout.splitlines() if line.startswith("wrk-result")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {output.stdout}{output.stderr}")
    requests, duration_us, socket_errors, p50, p95, p99, bad_status = line.split()[1:]
    # Any other status than the one expected (a redirect to the log-in page too) counts as an error; wrk counts
    # those among its completed requests.
    return WrkResults(
        requests=int(requests) - int(bad_status),
        seconds=int(duration_us) / 1e6,
        errors=int(socket_errors) + int(bad_status),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
    )


def percentile_ms(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def summarized(results: Results, *, seconds: float) -> WrkResults:
    """The asyncio client's figures in the form wrk's come in."""
    return WrkResults(
        requests=len(results.latencies),
        seconds=seconds,
        errors=results.errors,
        p50_ms=percentile_ms(results.latencies, 0.5),
        p95_ms=percentile_ms(results.latencies, 0.95),
        p99_ms=percentile_ms(results.latencies, 0.99),
    )
