"""The writers: one run's part files, new images and ledger rows, chunk by chunk."""

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.files.storage import default_storage
from django.db import connection, transaction

from exports.models import ExportedImage, ExportedRow, ExportRun
from exports.tables.contract import SCHEMAS, TABLES
from exports.tables.values import uuid_text
from labeling.media import local_path

ProgressCallback = Callable[[int], None]


class ExportError(Exception):
    """An export step that failed for a reason the operator can act on."""


@dataclass
class Batch:
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
            path = f"images/{self.batch}/{uuid_text(candidate['uid'])}.png"
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
        source = local_path(name)
        if source is None:
            try:
                with default_storage.open(name, "rb") as stream, open(target, "wb") as out:
                    shutil.copyfileobj(stream, out)
            except OSError as error:
                raise ExportError(f"The image file {name!r} could not be read from media storage: {error}") from error
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
