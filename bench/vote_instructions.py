"""What a vote and the floor cost the web process, counted in CPU instructions: a figure that does not drift.

``bench/vote_load.py`` measures throughput, which on this VM moves by 10-30 % between runs minutes apart, so a
change worth a few percent cannot be told from the drift there. This counts instructions instead (valgrind's
callgrind, ``apt-get install valgrind``): the same requests give the same count to about 0.01 %.

- PostgreSQL from DATABASE_URL (a ``<name>_votebench`` database, made and dropped as vote_load does) and Redis from
  REDIS_URL, with vote_load's production settings and seed (3 annotators).
- Each request goes in-process through Django's WSGI handler, every middleware included, as an htmx vote (or a POST
  to the floor, ``bench/urls.py``) with its session cookie and CSRF header; no HTTP server, so only Django's and
  the view's work is counted, not the server's.
- Per kind, two runs under callgrind, each after a warm-up with counting off (imports, the pool's connections,
  prepared statements): BENCH_FEW (20) and BENCH_MANY (120) requests; instructions per request are the difference
  of their counts over the difference of their requests, so start-up and exit cancel out.
- PostgreSQL's own work is not counted (see vote_load's CPU figures for it).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/corral REDIS_URL=redis://127.0.0.1:6379/0 \
       .venv/bin/python bench/vote_instructions.py
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEW = int(os.environ.get("BENCH_FEW", "20"))
MANY = int(os.environ.get("BENCH_MANY", "120"))
WARMUP = 10


def drive(kind: str, first: int, count: int, annotators_file: str) -> None:
    """In the process callgrind watches: warm up with counting off, switch it on, send ``count`` requests."""
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    annotators = json.loads(Path(annotators_file).read_text())

    def send(kind: str, number: int) -> None:
        annotator = annotators[number % len(annotators)]
        items = annotator["votes" if kind == "vote" else "floor"]
        path, body = items[(number // len(annotators)) % len(items)].split("|", 1)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_ORIGIN": "http://127.0.0.1",
            "HTTP_HX_REQUEST": "true",
            "HTTP_COOKIE": f"sessionid={annotator['session']}; csrftoken={annotator['csrf']}",
            "HTTP_X_CSRFTOKEN": annotator["csrf"],
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body.encode()),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        statuses = []
        response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(response)
        response.close()
        expected = "204" if kind == "floor" else "200"
        if not statuses[0].startswith(expected):
            raise SystemExit(f"{kind} {path}: {statuses[0]}, expected {expected}")

    # Warm-up on requests of their own (past every measured one), so measured votes are all first votes.
    for warm_kind in ("vote", "floor"):
        for number in range(10_000, 10_000 + WARMUP):
            send(warm_kind, number)
    subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
    for number in range(first, first + count):
        send(kind, number)


def counted(kind: str, first: int, count: int, env: dict, annotators_file: str, work: Path) -> int:
    """The instructions callgrind counted for ``count`` requests of ``kind`` (after the warm-up)."""
    out = work / f"callgrind.{kind}.{first}"
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
    command += [sys.executable, __file__, "--drive", kind, str(first), str(count), annotators_file]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    match = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode or match is None:
        raise SystemExit(f"callgrind run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return int(match.group(1))


def main() -> None:
    if not shutil.which("valgrind"):
        raise SystemExit("Install valgrind (apt-get install valgrind): instructions are counted with callgrind.")
    os.environ.setdefault("BENCH_USERS", "3")
    from bench import vote_load

    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/corral")
    database_url = vote_load.bench_database_url(base_url)
    work = Path(tempfile.mkdtemp(prefix="corral-instructions-"))
    env = vote_load.production_env(database_url, str(work))
    os.environ.update({key: value for key, value in env.items() if key != "DJANGO_SETTINGS_MODULE"})
    os.environ["DJANGO_SETTINGS_MODULE"] = "corral.settings"
    print(f"preparing {database_url.rsplit('/', 1)[-1]}", flush=True)
    vote_load.recreate_database(database_url)
    try:
        annotators = vote_load.seed()
        vote_load.vacuum_analyze(database_url)
        annotators_file = work / "annotators.json"
        annotators_file.write_text(
            json.dumps(
                [
                    {"session": a.session_key, "csrf": a.csrf_token, "votes": a.vote_paths, "floor": a.floor_bodies}
                    for a in annotators
                ]
            )
        )
        driver_env = {
            **env,
            "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            "PYTHONHASHSEED": "0",
        }
        runs = [(kind, first, count) for kind in ("vote", "floor") for first, count in ((0, FEW), (FEW, MANY))]
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = list(pool.map(lambda run: counted(*run, driver_env, str(annotators_file), work), runs))
    finally:
        from django.db import connections

        connections.close_all()
        vote_load.recreate_database(database_url, create=False)
        shutil.rmtree(work, ignore_errors=True)
    per_request = {kind: (counts[2 * n + 1] - counts[2 * n]) / (MANY - FEW) for n, kind in enumerate(("vote", "floor"))}
    print(f"vote_instructions: {per_request['vote']:.0f}")
    print(f"floor_instructions: {per_request['floor']:.0f}")
    print(f"instruction_ratio: {per_request['floor'] / per_request['vote']:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--drive"]:
        drive(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
