"""PostgreSQL restarts while annotators vote: requests fail cleanly, the same server serves again, no vote is lost."""

import threading
import time

import psycopg
import pytest

from tests.faults.conftest import wait_until
from tests.faults.http import Annotator, seed

pytestmark = pytest.mark.fault


class Load:
    """Annotators voting through their candidates, and one reloading a task page, until stopped."""

    def __init__(self, base_url: str, seeded: dict):
        self.annotators = [Annotator(base_url, key) for key in seeded["sessions"]]
        self.candidates = seeded["candidates"]
        self.task_path = f"/tasks/{seeded['task']}/"
        self.replies: list[tuple[float, str, object]] = []  # (sent at, what, reply)
        self.acknowledged: list[tuple[int, str, int]] = []  # (annotator, candidate uid, stored value)
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def _record(self, sent_at: float, what: str, reply) -> None:
        with self.lock:
            self.replies.append((sent_at, what, reply))

    def _vote(self, number: int) -> None:
        annotator = self.annotators[number]
        for position, uid in enumerate(self.candidates):
            if self.stopped.is_set():
                return
            value = "up" if (position + number) % 2 else "down"
            sent_at = time.monotonic()
            reply = annotator.vote(uid, value)
            self._record(sent_at, "vote", reply)
            if 200 <= reply.status < 300:
                with self.lock:
                    self.acknowledged.append((number, uid, 1 if value == "up" else -1))

    def _browse(self) -> None:
        while not self.stopped.is_set():
            sent_at = time.monotonic()
            self._record(sent_at, "page", self.annotators[0].request("GET", self.task_path))

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._vote, args=(n,)) for n in range(len(self.annotators))]
        threads.append(threading.Thread(target=self._browse))
        for thread in threads:
            thread.start()
        return threads

    def count(self, status: int, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for sent_at, _, reply in self.replies if reply.status == status and sent_at >= since)


def stored_votes(database_url: str) -> dict[tuple[int, str], int]:
    query = (
        "SELECT u.username, c.uid, v.value FROM labeling_vote v JOIN accounts_user u ON u.id = v.user_id"
        " JOIN labeling_candidate c ON c.id = v.candidate_id"
    )
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(query).fetchall()
    return {(int(username.removeprefix("annotator")), str(uid)): value for username, uid, value in rows}


@pytest.mark.parametrize("pool_size", ["0", "4"], ids=["no-pool", "pool"])
def test_a_postgres_restart_fails_requests_cleanly_and_the_same_server_recovers_without_losing_votes(
    private_postgres, private_database, processes, production_env, pool_size
):
    env = production_env(database_url=private_database, redis_url="", DATABASE_POOL_SIZE=pool_size)
    seeded = seed("seed_voting", env)
    server = processes.server(env)
    load = Load(server.base_url, seeded)
    threads = load.run()
    try:
        wait_until(lambda: len(load.acknowledged) >= 8, timeout=30, what="votes before the outage")
        private_postgres.stop()
        wait_until(lambda: load.count(503) >= 3, timeout=30, what="requests refused during the outage")
        private_postgres.start()
        back_at = time.monotonic()
        first_success = wait_until(
            lambda: min((at for at, _, reply in load.replies if reply.status == 200 and at >= back_at), default=None),
            timeout=30,
            what=f"the server to serve again\n{server.log()}",
        )
        wait_until(lambda: load.count(200, since=first_success) >= 20, timeout=30, what="requests after recovery")
    finally:
        load.stopped.set()
        for thread in threads:
            thread.join(timeout=30)

    assert server.process.poll() is None, "the server must not need a restart"
    statuses = {reply.status for _, _, reply in load.replies}
    assert statuses <= {200, 503}, (statuses, server.log())
    for _, what, reply in load.replies:
        if reply.status == 503:
            assert "The database is unavailable right now" in reply.body and "Traceback" not in reply.body
            kind = "text/plain" if what == "vote" else "text/html"
            assert reply.content_type.startswith(kind), (what, reply.content_type)
    after = [reply.status for at, _, reply in load.replies if at >= first_success]
    assert set(after) == {200}, "every request sent after the first success is served"
    stored = stored_votes(private_database)
    missing = [(number, uid) for number, uid, value in load.acknowledged if stored.get((number, uid)) != value]
    assert missing == [], f"{len(missing)} acknowledged votes are missing"
