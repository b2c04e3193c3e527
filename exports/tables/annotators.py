"""Rows of the ``annotators`` table: each person's quality figures in a project, as of the export.

A person's row is written when their figures (or exclusion) differ from the newest row a succeeded run
wrote for them; the ledger (``ExportedAnnotator``) keeps a digest of each written row, so a run that dies
before its commit leaves them due, like every other table's rows.
"""

import hashlib
import json
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery

from exports.models import ExportedAnnotator, ExportRun
from exports.tables.values import uuid_text
from exports.writers import Batch
from labeling.models import Project
from quality.report import quality_report_compute

# The report's figures that go out, and the column names they take.
FIGURE_COLUMNS = {
    "gold_accuracy": ("gold_accuracy", "gold_items"),
    "agreement": ("agreement", "agreement_items"),
    "pick_agreement": ("pick_agreement", "pick_agreement_items"),
    "review_agreement": ("review_agreement", "review_agreement_items"),
}


def _row(project: Project, person: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"{project.slug}:{uuid_text(person['annotator'])}",
        "project": project.slug,
        "annotator": uuid_text(person["annotator"]),
        "judgements": person["judgements"],
        "excluded": person["excluded"],
        "updated_at": as_of,
    }
    for name, (value_column, items_column) in FIGURE_COLUMNS.items():
        row[value_column], row[items_column] = person[name]["value"], person[name]["items"]
    return row


def _digest(row: dict[str, Any]) -> str:
    content = {key: value for key, value in row.items() if key != "updated_at"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _published_digests(project: Project, user_ids: list[int]) -> dict[int, str | None]:
    newest = (
        ExportedAnnotator.objects.filter(project=project, user=OuterRef("pk"), run__status=ExportRun.Status.SUCCEEDED)
        .order_by("-run_id")
        .values("digest")[:1]
    )
    people = get_user_model().objects.filter(pk__in=user_ids).annotate(published=Subquery(newest))
    return dict(people.values_list("pk", "published"))


def export_annotators(batch: Batch, project: Project | None, as_of: datetime) -> None:
    for target in [project] if project is not None else Project.objects.order_by("pk"):
        people = [person for person in quality_report_compute(project=target)["annotators"] if person["judgements"]]
        if not people:
            continue
        published = _published_digests(target, [person["user_id"] for person in people])
        due = []
        for person in people:
            row = _row(target, person, as_of)
            digest = _digest(row)
            if published.get(person["user_id"]) != digest:
                due.append((person["user_id"], row, digest))
        batch.write("annotators", [row for _user_id, row, _digest in due])
        if batch.run is not None and due:
            ExportedAnnotator.objects.bulk_create(
                ExportedAnnotator(run=batch.run, project=target, user_id=user_id, digest=digest)
                for user_id, _row, digest in due
            )
