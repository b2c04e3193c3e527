"""The dataset against the database: the final export, then every row compared with what a reader sees."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.soak_config import CANDIDATES_PER_TASK, ROOT

EXPECTED_PAIRS = {"best": CANDIDATES_PER_TASK - 1, "tie": CANDIDATES_PER_TASK * (CANDIDATES_PER_TASK - 1) // 2}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    from exports.repository import COMMIT_PREFIX
    from exports.tables.contract import TABLES

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

    def check(expected: dict[object, tuple], rows: list[dict], key: str, version, *, gone=lambda found: False) -> None:
        nonlocal lost, phantom
        latest = {identity: found for identity, found in newest(rows, key).items() if not gone(found)}
        for identity, wanted in expected.items():
            found = latest.get(identity)
            if found is None or version(found) != wanted:
                lost += 1
        phantom += sum(1 for identity, found in latest.items() if expected.get(identity) != version(found))

    votes = {
        pk: (_micros(updated), Vote.Value(value).rating)
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
