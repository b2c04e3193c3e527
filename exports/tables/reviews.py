"""Rows of the ``reviews`` table, and ``text_dpo`` rows from corrections, from due reviews."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from exports.due import chunks, due_reviews
from exports.models import ExportedRow
from exports.tables.values import uuid_text
from exports.writers import Batch, ProgressCallback
from labeling.models import Project, Review
from quality.marks import excluded_mark, gold_mark

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
    "is_gold",
    "by_excluded",
]


def export_reviews(batch: Batch, project: Project | None, progress: ProgressCallback) -> None:
    for chunk in chunks(reviews_marked(due_reviews(project)), REVIEW_FIELDS, settings.EXPORT_CHUNK_SIZE):
        batch.write("reviews", [review_row(review) for review in chunk])
        batch.write("text_dpo", [row for review in chunk if (row := correction_row(review)) is not None])
        batch.settle(ExportedRow.Source.REVIEW, [(r["pk"], r["updated_at"], True) for r in chunk])
        progress(len(chunk))


def reviews_marked(reviews: QuerySet[Review]) -> QuerySet[Review]:
    """Reviews with the marks their rows carry (``is_gold``, ``by_excluded`` in REVIEW_FIELDS)."""
    return reviews.annotate(
        is_gold=gold_mark(task_ref="candidate__task"),
        by_excluded=excluded_mark(user_ref="reviewer", project_ref="candidate__task__project"),
    )


def _provenance(review: dict[str, Any]) -> dict[str, Any]:
    return {
        "project": review["candidate__task__project__slug"],
        "annotator": uuid_text(review["reviewer__public_id"]),
        "model": review["candidate__model_name"],
        "gold": bool(review["is_gold"]),
        "excluded": bool(review["by_excluded"]),
        "created_at": review["created_at"],
        "updated_at": review["updated_at"],
    }


def review_row(review: dict[str, Any]) -> dict[str, Any]:
    """A ``reviews`` row from a review's ``REVIEW_FIELDS`` (driver values)."""
    corrected = review["decision"] == Review.Decision.CORRECT
    return {
        "id": review["pk"],
        "prompt": review["candidate__task__prompt"],
        "response": review["original_text"],
        "final": review["corrected_text"] if corrected else review["original_text"],
        "decision": review["decision"],
        "confidence": review["candidate__confidence"],
        "reason": review["reason"],
        "candidate_uid": uuid_text(review["candidate__uid"]),
        **_provenance(review),
    }


def correction_row(review: dict[str, Any]) -> dict[str, Any] | None:
    """The ``text_dpo`` row a correction gives (the correction chosen over the original), or None."""
    if review["decision"] != Review.Decision.CORRECT:
        return None
    return {
        "id": f"review:{review['pk']}",
        "prompt": review["candidate__task__prompt"],
        "chosen": review["corrected_text"],
        "rejected": review["original_text"],
        "source": "correction",
        "source_id": review["pk"],
        **_provenance(review),
    }
