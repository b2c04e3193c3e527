"""Export to Oxen: incremental, exactly once, crash-safe.

One run, under a database lock:

1. settle runs a killed process left ``running``: if the Oxen log holds the commit of their batch they
   succeeded (their ledger rows stand); otherwise their files are unstaged and deleted and their ledger
   rows dropped, so the rows go out again now;
2. create the run (status ``running``, a new batch id) and stream every due row (never exported, or
   changed since) in chunks: part files ``<table>/<batch>.parquet``, new images under
   ``images/<batch>/``, and ledger rows (``ExportedRow``, ``ExportedImage``) tied to the run;
3. regenerate README.md, ``add`` only the batch's own paths, commit with the batch id in the message;
4. mark the run succeeded, which is what makes its ledger rows count as exported; then push.

A row is due when no *succeeded* run's ledger holds it at its current ``updated_at``, so a run that dies
anywhere before step 4 leaves its rows due, and step 1 of the next run decides from the Oxen log alone
whether they were committed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from exports.models import ExportedImage, ExportedRow, ExportLock, ExportRun
from exports.tables import SCHEMAS, TABLES, dataset_card
from labeling.models import Candidate, Preference, Project, Review, Vote

if TYPE_CHECKING:
    import oxen

logger = logging.getLogger(__name__)

CRASH_STAGES = ("before_write", "after_write", "after_add", "after_commit", "before_mark")
IMAGE_RENDER_METADATA = '{"_oxen": {"render": {"func": "image"}}}'
IMAGE_COLUMNS = {"votes": ["path"], "preferences": ["jpg_0", "jpg_1"]}
COMMIT_PREFIX = "Corral export "
# Arbitrary constant naming Corral's export in pg_advisory_lock's key space.
ADVISORY_LOCK_KEY = 726_607_006
REMOTE_NAME = "origin"

ProgressCallback = Callable[[int], None]


class ExportError(Exception):
    """An export step that failed for a reason the operator can act on."""


def _checkpoint(stage: str) -> None:
    """Fault injection for the crash tests: die here, for real, when asked to."""
    if stage == settings.EXPORT_CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------- lock


@contextlib.contextmanager
def export_lock() -> Iterator[bool]:
    """Yield True while this process holds the export lock, False when another export holds it.

    PostgreSQL: a session advisory lock, released by the server when the holder's connection dies.
    SQLite: a lease on the ExportLock row naming host and pid; a holder that no longer runs loses it.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        return

    holder = f"{socket.gethostname()}:{os.getpid()}"
    with transaction.atomic():
        lock, _ = ExportLock.objects.select_for_update().get_or_create(pk=1)
        acquired = not lock.holder or _holder_is_gone(lock.holder)
        if acquired:
            lock.holder, lock.acquired_at = holder, timezone.now()
            lock.save(update_fields=["holder", "acquired_at"])
    try:
        yield acquired
    finally:
        if acquired:
            ExportLock.objects.filter(pk=1, holder=holder).update(holder="", acquired_at=None)


def _holder_is_gone(holder: str) -> bool:
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


# ---------------------------------------------------------------- repository


def _oxen():
    """liboxen, imported on first use: importing it starts threads, and a prefork Celery worker imports the
    task modules before forking its pool; a child inherits none of those threads, and oxen's folder add then
    waits for them forever (tests/exports/test_forked_worker.py)."""
    import oxen

    return oxen


def _configure_oxen() -> None:
    oxen = _oxen()
    config_dir = Path(settings.OXEN_CONFIG_DIR)
    config_dir.mkdir(parents=True, exist_ok=True)
    # liboxen reads the author and hub tokens from OXEN_CONFIG_DIR at each call.
    os.environ["OXEN_CONFIG_DIR"] = str(config_dir)
    oxen.user.config_user(settings.OXEN_AUTHOR_NAME, settings.OXEN_AUTHOR_EMAIL, str(config_dir / "user_config.toml"))
    if settings.OXEN_REMOTE and settings.OXEN_API_KEY:
        host = urlsplit(settings.OXEN_REMOTE).netloc
        oxen.auth.auth.config_auth(host, settings.OXEN_API_KEY, str(config_dir / "auth_config.toml"))


class ExportRepositoryBusy(Exception):
    """Another process holds the Oxen repository: liboxen keeps its refs database locked for the life of the
    process that opened it, so every export must run in the one process that owns the repository."""


def repo_open() -> oxen.Repo:
    """The local dataset repository, created with an initial README commit on first use."""
    try:
        return _repo_open()
    except ValueError as exc:
        if "LOCK" not in str(exc):
            raise
        raise ExportRepositoryBusy(
            f"The Oxen repository {settings.OXEN_REPO_PATH} is held by another process (the exports worker, or "
            "`manage.py serve` in the embedded mode): liboxen keeps it locked for as long as that process lives. "
            "Queue the export for that process instead (`export_oxen --queue`, or the admin's Export now)."
        ) from exc


def _repo_open() -> oxen.Repo:
    _configure_oxen()
    oxen = _oxen()
    path = Path(settings.OXEN_REPO_PATH)
    if not (path / ".oxen").is_dir():
        path.mkdir(parents=True, exist_ok=True)
        repo = oxen.Repo(str(path)).init()
        (path / "README.md").write_text(dataset_card(counts={}))
        repo.add(str(path / "README.md"))
        repo.commit("Initialise the Corral dataset")
    repo = oxen.Repo(str(path))
    if repo.current_branch.name != settings.OXEN_BRANCH:
        repo.checkout(settings.OXEN_BRANCH, create=not repo.branch_exists(settings.OXEN_BRANCH))
    return repo


def _commit_message(run: ExportRun) -> str:
    return f"{COMMIT_PREFIX}{run.batch} (run {run.pk})"


def _find_commit(repo: oxen.Repo, batch: str) -> str:
    marker = f"{COMMIT_PREFIX}{batch} "
    return next((commit.id for commit in repo.log() if commit.message.startswith(marker)), "")


def _batch_paths(batch: str) -> list[str]:
    return [f"images/{batch}", *(f"{table}/{batch}.parquet" for table in TABLES)]


def _discard_batch(repo: oxen.Repo, run: ExportRun) -> None:
    """Unstage and delete whatever an uncommitted run wrote, and drop its ledger rows."""
    root = Path(settings.OXEN_REPO_PATH)
    for relative in [*_batch_paths(run.batch), "README.md"]:
        repo.restore(relative, staged=True)
    repo.restore("README.md")
    for relative in _batch_paths(run.batch):
        target = root / relative
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    ExportedRow.objects.filter(run=run).delete()
    ExportedImage.objects.filter(run=run).delete()


def _settle(repo: oxen.Repo, run: ExportRun, *, reason: str) -> None:
    """Decide from the Oxen log whether an unfinished run committed, and finish it either way."""
    commit_id = _find_commit(repo, run.batch)
    if commit_id:
        run.status, run.commit_id = ExportRun.Status.SUCCEEDED, commit_id
        run.error_message = ""
    else:
        _discard_batch(repo, run)
        run.status, run.error_message = ExportRun.Status.FAILED, reason
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "commit_id", "error_message", "finished_at"])


# ---------------------------------------------------------------- rows due


def _settled_before() -> datetime | None:
    """Rows last changed before this were visible to a whole-site export that succeeded, so they are in the
    ledger already: only rows changed since need the ledger check, which keeps an export's cost with what is new.

    The margin covers transactions that were still open when that export started (a vote's is milliseconds).
    """
    started = (
        ExportRun.objects.filter(project__isnull=True, status=ExportRun.Status.SUCCEEDED, started_at__isnull=False)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return started - timedelta(seconds=settings.EXPORT_LATE_COMMIT_MARGIN_SECONDS) if started else None


def _due(queryset: QuerySet, source: str) -> QuerySet:
    exported = ExportedRow.objects.filter(
        source=source,
        object_id=OuterRef("pk"),
        updated_at__gte=OuterRef("updated_at"),
        run__status=ExportRun.Status.SUCCEEDED,
    )
    settled_before = _settled_before()
    if settled_before is not None:
        queryset = queryset.filter(updated_at__gte=settled_before)
    return queryset.filter(~Exists(exported))


def _due_votes(project: Project | None) -> QuerySet:
    queryset = Vote.objects.all() if project is None else Vote.objects.filter(candidate__task__project=project)
    return _due(queryset, ExportedRow.Source.VOTE)


def _due_preferences(project: Project | None) -> QuerySet:
    queryset = Preference.objects.all() if project is None else Preference.objects.filter(task__project=project)
    return _due(queryset, ExportedRow.Source.PREFERENCE)


def _due_reviews(project: Project | None) -> QuerySet:
    queryset = Review.objects.all() if project is None else Review.objects.filter(candidate__task__project=project)
    return _due(queryset, ExportedRow.Source.REVIEW)


def _chunks(queryset: QuerySet, fields: list[str], size: int) -> Iterator[list[dict[str, Any]]]:
    """Keyset pagination by primary key (``fields`` starts with ``pk``): each chunk is a fresh, short query,
    whatever the table's size.

    Values come as the database driver returns them, without Django's per-value conversion, which was over a
    quarter of a 100k-row export's own time. Datetimes stay the driver's: naive UTC on SQLite (Arrow reads
    naive values as UTC; the ledger writes them back in the very text Django stored), aware on PostgreSQL.
    UUIDs and JSON go through ``_uuid_text`` and ``_generation_settings``, which convert each distinct value once.
    """
    last = 0
    while True:
        query = queryset.filter(pk__gt=last).order_by("pk").values_list(*fields)[:size].query
        sql, params = query.get_compiler(connection=connection).as_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            chunk = [dict(zip(fields, row, strict=True)) for row in cursor.fetchall()]
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["pk"]


def _published_before(source: str, ids: Iterable[int]) -> set[int]:
    return set(
        ExportedRow.objects.filter(
            source=source, object_id__in=list(ids), published=True, run__status=ExportRun.Status.SUCCEEDED
        ).values_list("object_id", flat=True)
    )


def _steps(params: dict) -> int | None:
    value = params.get("steps", params.get("num_inference_steps"))
    return int(value) if value is not None else None


def _guidance(params: dict) -> float | None:
    value = params.get("guidance", params.get("guidance_scale"))
    return float(value) if value is not None else None


@functools.lru_cache(maxsize=4096)
def _generation_settings(raw_params: str | None) -> tuple[int | None, float | None]:
    """(steps, guidance) from a candidate's params as the database returns them (JSON text on both backends);
    most candidates share a few settings, so each distinct text is parsed once."""
    params = (json.loads(raw_params) if raw_params is not None else None) or {}
    return _steps(params), _guidance(params)


@functools.lru_cache(maxsize=4096)
def _uuid_text(raw: str | uuid.UUID) -> str:
    """A UUID as the dataset writes it: PostgreSQL's driver returns UUIDs, SQLite the hex digits Django stores.
    The few annotators recur on every row, so each is formatted once."""
    return str(raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw))


# ---------------------------------------------------------------- writing


@dataclass
class _Batch:
    """What one run writes: part files, new images and ledger rows, chunk by chunk."""

    run: ExportRun | None  # None: a dry run, which counts and writes nothing
    root: Path
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys([*TABLES, "images"], 0))
    image_paths: dict[int, str | None] = field(default_factory=dict)
    writers: dict[str, pq.ParquetWriter] = field(default_factory=dict)

    @property
    def batch(self) -> str:
        return self.run.batch if self.run else "dry-run"

    def image_path(self, candidate_id: int) -> str | None:
        return self.image_paths.get(candidate_id)

    def plan_images(self, candidates: list[dict[str, Any]]) -> None:
        """Resolve each candidate's image path, exporting the images no earlier run wrote."""
        unknown = {c["id"]: c for c in candidates if c["id"] not in self.image_paths}
        if not unknown:
            return
        known = ExportedImage.objects.filter(
            candidate_id__in=list(unknown), run__status=ExportRun.Status.SUCCEEDED
        ).values_list("candidate_id", "path")
        self.image_paths.update(known)
        new_images = []
        for candidate_id, candidate in unknown.items():
            if candidate_id in self.image_paths:
                continue
            if not candidate["image"]:
                self.image_paths[candidate_id] = None
                continue
            path = f"images/{self.batch}/{_uuid_text(candidate['uid'])}.png"
            self.image_paths[candidate_id] = path
            new_images.append((candidate_id, path, candidate["image"]))
        self.counts["images"] += len(new_images)
        if self.run and new_images:
            self._place_images(new_images)

    def _place_images(self, new_images: list[tuple[int, str, str]]) -> None:
        """Put (candidate id, repo-relative path, media name) images in the batch folder and the image ledger."""
        # Plain strings rather than Path objects: at 25k images, Path joins cost more than the links themselves.
        root = str(self.root)
        os.makedirs(os.path.join(root, "images", self.batch), exist_ok=True)
        for _candidate_id, path, name in new_images:
            self._copy_image(name, os.path.join(root, path))
        # executemany, as for ExportedRow below: model instances cost more than the rows' own insert.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {ExportedImage._meta.db_table} (run_id, candidate_id, path) "  # noqa: S608
                "VALUES (%s, %s, %s)",
                [(self.run.pk, candidate_id, path) for candidate_id, path, _name in new_images],
            )

    @staticmethod
    def _copy_image(name: str, target: str) -> None:
        try:
            source = default_storage.path(name)
        except NotImplementedError:
            with default_storage.open(name, "rb") as stream, open(target, "wb") as out:
                shutil.copyfileobj(stream, out)
            return
        if not os.path.exists(source):
            raise ExportError(f"The image file {name!r} is missing from media storage ({source}).")
        try:
            # Candidate images never change, so the dataset may share the file instead of copying it.
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)

    def write(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.counts[table] += len(rows)
        if self.run is None:
            return
        writer = self.writers.get(table)
        if writer is None:
            target = self.root / table / f"{self.batch}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            writer = self.writers[table] = pq.ParquetWriter(target, SCHEMAS[table])
        writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[table]))

    def settle(self, source: str, entries: list[tuple[int, Any, bool]]) -> None:
        """Ledger rows for the chunk's source rows: (id, updated_at as the database returned it, whether a row
        was written). The database's own value, not a converted one: the due check compares the two."""
        if not self.run or not entries:
            return
        # One executemany instead of bulk_create: building a model instance per row was most of an export's
        # own time at 100k rows. In one transaction: in autocommit every row would be a commit of its own.
        table = ExportedRow._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (run_id, source, object_id, updated_at, published) "  # noqa: S608
                "VALUES (%s, %s, %s, %s, %s)",
                [(self.run.pk, source, pk, updated_at, published) for pk, updated_at, published in entries],
            )

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()


CANDIDATE_FIELDS = ["id", "uid", "index", "image", "text", "model_name", "seed", "params"]
VOTE_FIELDS = [
    "pk",
    "value",
    "created_at",
    "updated_at",
    "user__public_id",
    "candidate_id",
    "candidate__uid",
    "candidate__image",
    "candidate__text",
    "candidate__model_name",
    "candidate__seed",
    "candidate__params",
    "candidate__task__prompt",
    "candidate__task__project__slug",
]


RATINGS = {Vote.Value.UP: "good", Vote.Value.DOWN: "bad", Vote.Value.WITHDRAWN: "withdrawn"}


def _export_votes(batch: _Batch, project: Project | None, progress: ProgressCallback) -> None:
    for chunk in _chunks(_due_votes(project), VOTE_FIELDS, settings.EXPORT_CHUNK_SIZE):
        published_before = _published_before(
            ExportedRow.Source.VOTE, (vote["pk"] for vote in chunk if vote["value"] == Vote.Value.WITHDRAWN)
        )
        # A withdrawal is news only to readers who saw the vote; one never published is dropped silently.
        published = [vote for vote in chunk if vote["value"] != Vote.Value.WITHDRAWN or vote["pk"] in published_before]
        batch.plan_images(
            [
                {"id": vote["candidate_id"], "uid": vote["candidate__uid"], "image": vote["candidate__image"]}
                for vote in published
            ]
        )
        batch.write("votes", [_vote_row(batch, vote) for vote in published])
        published_ids = {vote["pk"] for vote in published}
        batch.settle(
            ExportedRow.Source.VOTE, [(vote["pk"], vote["updated_at"], vote["pk"] in published_ids) for vote in chunk]
        )
        progress(len(chunk))


def _vote_row(batch: _Batch, vote: dict[str, Any]) -> dict[str, Any]:
    steps, guidance = _generation_settings(vote["candidate__params"])
    return {
        "id": vote["pk"],
        "prompt": vote["candidate__task__prompt"],
        "path": batch.image_path(vote["candidate_id"]),
        "response": vote["candidate__text"] or None,
        "rating": RATINGS[vote["value"]],
        "candidate_uid": _uuid_text(vote["candidate__uid"]),
        "project": vote["candidate__task__project__slug"],
        "annotator": _uuid_text(vote["user__public_id"]),
        "model": vote["candidate__model_name"],
        "seed": vote["candidate__seed"],
        "steps": steps,
        "guidance": guidance,
        "created_at": vote["created_at"],
        "updated_at": vote["updated_at"],
    }


PREFERENCE_FIELDS = [
    "pk",
    "choice",
    "chosen_id",
    "task_id",
    "created_at",
    "updated_at",
    "user__public_id",
    "task__prompt",
    "task__project__slug",
    "task__project__kind",
]


def _preference_pairs(preference: dict[str, Any], candidates: list[dict[str, Any]]) -> list[tuple[dict, dict, float]]:
    """(first, second, label_0) pairs in task order; label_0 is 1 when the first is the preferred one.

    Pick best among N → N−1 pairs (best against each other); tie → every pair at 0.5; all bad → none.
    """
    if preference["choice"] == Preference.Choice.BEST:
        chosen_index = next((c["index"] for c in candidates if c["id"] == preference["chosen_id"]), None)
        return [
            (first, second, 1.0 if first["id"] == preference["chosen_id"] else 0.0)
            for i, first in enumerate(candidates)
            for second in candidates[i + 1 :]
            if chosen_index in (first["index"], second["index"])
        ]
    if preference["choice"] == Preference.Choice.TIE:
        return [(first, second, 0.5) for i, first in enumerate(candidates) for second in candidates[i + 1 :]]
    return []


def _export_preferences(batch: _Batch, project: Project | None, progress: ProgressCallback) -> None:
    for chunk in _chunks(_due_preferences(project), PREFERENCE_FIELDS, settings.EXPORT_CHUNK_SIZE):
        candidates_by_task: dict[int, list[dict[str, Any]]] = {}
        for candidate in (
            Candidate.objects.filter(task_id__in={p["task_id"] for p in chunk})
            .order_by("task_id", "index")
            .values("task_id", *CANDIDATE_FIELDS)
        ):
            candidates_by_task.setdefault(candidate["task_id"], []).append(candidate)
        image_rows, text_rows, entries = [], [], []
        pairs_by_preference = {}
        for preference in chunk:
            candidates = candidates_by_task.get(preference["task_id"], [])
            if preference["task__project__kind"] == Project.Kind.IMAGE:
                candidates = [c for c in candidates if c["image"]]
            pairs_by_preference[preference["pk"]] = _preference_pairs(preference, candidates)
        batch.plan_images(
            [
                candidate
                for preference in chunk
                if preference["task__project__kind"] == Project.Kind.IMAGE
                for pair in pairs_by_preference[preference["pk"]]
                for candidate in pair[:2]
            ]
        )
        for preference in chunk:
            pairs = pairs_by_preference[preference["pk"]]
            provenance = _preference_provenance(preference)
            if preference["task__project__kind"] == Project.Kind.IMAGE:
                rows = [_image_pair_row(batch, preference, pair, provenance) for pair in pairs]
                image_rows.extend(rows)
            else:
                rows = [_text_pair_row(preference, pair, provenance) for pair in pairs if pair[2] != 0.5]
                text_rows.extend(rows)
            entries.append((preference["pk"], preference["updated_at"], bool(rows)))
        # A judgement that no longer gives a pair (changed to "all bad", or a text one to a tie) would leave its
        # earlier pairs the newest; readers who saw them get one row without a pair, which replaces them.
        emptied = [preference for preference, entry in zip(chunk, entries, strict=True) if not entry[2]]
        published_before = _published_before(ExportedRow.Source.PREFERENCE, (p["pk"] for p in emptied))
        for preference in emptied:
            if preference["pk"] in published_before:
                (image_rows if preference["task__project__kind"] == Project.Kind.IMAGE else text_rows).append(
                    _pair_retraction_row(preference)
                )
        entries = [(pk, updated_at, wrote or pk in published_before) for pk, updated_at, wrote in entries]
        batch.write("preferences", image_rows)
        batch.write("text_dpo", text_rows)
        batch.settle(ExportedRow.Source.PREFERENCE, entries)
        progress(len(chunk))


def _image_pair_row(batch: _Batch, preference: dict, pair: tuple[dict, dict, float], provenance: dict) -> dict:
    first, second, label = pair
    return {
        "id": f"{preference['pk']}:{first['uid']}:{second['uid']}",
        "preference_id": preference["pk"],
        "caption": preference["task__prompt"],
        "jpg_0": batch.image_path(first["id"]),
        "jpg_1": batch.image_path(second["id"]),
        "label_0": label,
        "choice": preference["choice"],
        "model": first["model_name"],
        "seed_0": first["seed"],
        "seed_1": second["seed"],
        "steps": _steps(first["params"] or {}),
        "guidance": _guidance(first["params"] or {}),
        **provenance,
    }


def _text_pair_row(preference: dict, pair: tuple[dict, dict, float], provenance: dict) -> dict:
    first, second, label = pair
    chosen, rejected = (first, second) if label == 1.0 else (second, first)
    return {
        "id": f"preference:{preference['pk']}:{rejected['uid']}",
        "prompt": preference["task__prompt"],
        "chosen": chosen["text"],
        "rejected": rejected["text"],
        "source": "preference",
        "source_id": preference["pk"],
        "model": chosen["model_name"],
        **provenance,
    }


def _preference_provenance(preference: dict) -> dict:
    return {
        "project": preference["task__project__slug"],
        "annotator": _uuid_text(preference["user__public_id"]),
        "created_at": preference["created_at"],
        "updated_at": preference["updated_at"],
    }


def _pair_retraction_row(preference: dict) -> dict:
    """The row that stands for a published judgement's pairs once it gives none: the newest, without a pair."""
    provenance = _preference_provenance(preference)
    if preference["task__project__kind"] == Project.Kind.IMAGE:
        return {
            "id": f"{preference['pk']}:none",
            "preference_id": preference["pk"],
            "caption": preference["task__prompt"],
            "choice": preference["choice"],
            **provenance,
        }
    return {
        "id": f"preference:{preference['pk']}:none",
        "prompt": preference["task__prompt"],
        "source": "preference",
        "source_id": preference["pk"],
        **provenance,
    }


REVIEW_FIELDS = [
    "pk",
    "decision",
    "original_text",
    "corrected_text",
    "reason",
    "created_at",
    "updated_at",
    "reviewer__public_id",
    "candidate__uid",
    "candidate__model_name",
    "candidate__confidence",
    "candidate__task__prompt",
    "candidate__task__project__slug",
]


def _export_reviews(batch: _Batch, project: Project | None, progress: ProgressCallback) -> None:
    for chunk in _chunks(_due_reviews(project), REVIEW_FIELDS, settings.EXPORT_CHUNK_SIZE):
        review_rows, text_rows = [], []
        for review in chunk:
            provenance = {
                "project": review["candidate__task__project__slug"],
                "annotator": _uuid_text(review["reviewer__public_id"]),
                "model": review["candidate__model_name"],
                "created_at": review["created_at"],
                "updated_at": review["updated_at"],
            }
            corrected = review["decision"] == Review.Decision.CORRECT
            review_rows.append(
                {
                    "id": review["pk"],
                    "prompt": review["candidate__task__prompt"],
                    "response": review["original_text"],
                    "final": review["corrected_text"] if corrected else review["original_text"],
                    "decision": review["decision"],
                    "confidence": review["candidate__confidence"],
                    "reason": review["reason"],
                    "candidate_uid": _uuid_text(review["candidate__uid"]),
                    **provenance,
                }
            )
            if corrected:
                text_rows.append(
                    {
                        "id": f"review:{review['pk']}",
                        "prompt": review["candidate__task__prompt"],
                        "chosen": review["corrected_text"],
                        "rejected": review["original_text"],
                        "source": "correction",
                        "source_id": review["pk"],
                        **provenance,
                    }
                )
        batch.write("reviews", review_rows)
        batch.write("text_dpo", text_rows)
        batch.settle(ExportedRow.Source.REVIEW, [(r["pk"], r["updated_at"], True) for r in chunk])
        progress(len(chunk))


def _fill(batch: _Batch, project: Project | None, progress: ProgressCallback) -> None:
    try:
        _export_votes(batch, project, progress)
        _export_preferences(batch, project, progress)
        _export_reviews(batch, project, progress)
    finally:
        batch.close()


def export_due_count(*, project: Project | None = None) -> int:
    """How many source rows (votes, preferences, reviews) the next export will read."""
    return sum(q.count() for q in (_due_votes(project), _due_preferences(project), _due_reviews(project)))


def export_preview(*, project: Project | None = None) -> dict[str, int]:
    """Rows per table (and new images) that an export would write now; writes nothing."""
    batch = _Batch(run=None, root=Path(settings.OXEN_REPO_PATH))
    _fill(batch, project, lambda _n: None)
    return batch.counts


def _dataset_totals() -> dict[str, int]:
    totals = dict.fromkeys([*TABLES, "images"], 0)
    for counts in ExportRun.objects.filter(status=ExportRun.Status.SUCCEEDED).values_list("counts", flat=True):
        for key in totals:
            totals[key] += counts.get(key, 0)
    return totals


def _commit_batch(repo: oxen.Repo, run: ExportRun, counts: dict[str, int]) -> str:
    root = Path(settings.OXEN_REPO_PATH)
    totals = _dataset_totals()
    (root / "README.md").write_text(dataset_card(counts={k: totals[k] + counts[k] for k in totals}))
    run.counts = counts
    run.save(update_fields=["counts"])
    _checkpoint("after_write")

    # Only the batch's own paths: adding a new folder costs what is in it, not what is beside it.
    if counts["images"]:
        repo.add(str(root / "images" / run.batch))
    for table in TABLES:
        if counts[table]:
            part = f"{table}/{run.batch}.parquet"
            repo.add(str(root / part))
            for column in IMAGE_COLUMNS.get(table, []):
                repo.add_schema_metadata(part, column, IMAGE_RENDER_METADATA)
    repo.add(str(root / "README.md"))
    _checkpoint("after_add")

    commit = repo.commit(_commit_message(run))
    _checkpoint("after_commit")
    return commit.id


def _push(repo: oxen.Repo, run: ExportRun) -> None:
    """Push the branch when a remote is configured and some commit is not pushed yet; failures wait for next run."""
    if not (settings.OXEN_REMOTE and settings.OXEN_API_KEY):
        return
    unpushed = ExportRun.objects.filter(status=ExportRun.Status.SUCCEEDED, pushed=False).exclude(commit_id="")
    if not unpushed.exists():
        return
    try:
        repo.set_remote(REMOTE_NAME, settings.OXEN_REMOTE)
        repo.push(REMOTE_NAME, settings.OXEN_BRANCH)
    except (ValueError, OSError) as exc:
        run.error_message = (
            f"Push of branch {settings.OXEN_BRANCH!r} to {settings.OXEN_REMOTE} failed: {exc}. "
            f"The commits stay in {settings.OXEN_REPO_PATH}; the next export pushes them again."
        )
        run.save(update_fields=["error_message"])
        logger.warning("%s", run.error_message)
        return
    unpushed.update(pushed=True)
    run.refresh_from_db(fields=["pushed"])


def _new_batch_id() -> str:
    return f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def export_run(*, project: Project | None = None, progress: ProgressCallback | None = None) -> ExportRun | None:
    """Export every due row to the Oxen repository. Returns the run, or None when another export holds the lock."""
    progress = progress or (lambda _n: None)
    with export_lock() as acquired:
        if not acquired:
            logger.info("Another export is running; this one does nothing.")
            return None
        repo = repo_open()
        for stale in ExportRun.objects.filter(status=ExportRun.Status.RUNNING):
            _settle(repo, stale, reason="The export process stopped before its commit; its rows went out again.")

        run = ExportRun.objects.create(
            project=project, status=ExportRun.Status.RUNNING, batch=_new_batch_id(), started_at=timezone.now()
        )
        try:
            _checkpoint("before_write")
            batch = _Batch(run=run, root=Path(settings.OXEN_REPO_PATH))
            _fill(batch, project, progress)
            if any(batch.counts.values()):
                run.commit_id = _commit_batch(repo, run, batch.counts)
                run.save(update_fields=["commit_id"])
            _checkpoint("before_mark")
            run.status, run.finished_at = ExportRun.Status.SUCCEEDED, timezone.now()
            run.save(update_fields=["status", "finished_at"])
        except Exception as exc:
            logger.exception("Export run %s failed", run.pk)
            _settle(repo, run, reason=f"{type(exc).__name__}: {exc}")
            if run.status == ExportRun.Status.FAILED:
                return run
        _push(repo, run)
        return run


def export_enqueue(*, project: Project | None = None) -> None:
    """Queue an export on the worker once the current transaction commits."""
    from exports.tasks import export_to_oxen

    export_to_oxen.delay_on_commit(project_id=project.pk if project else None)
