"""Rows of the ``reviews`` table, and ``text_dpo`` rows from corrections, from due reviews."""

from django.conf import settings

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
    due = due_reviews(project).annotate(
        is_gold=gold_mark(task_ref="candidate__task"),
        by_excluded=excluded_mark(user_ref="reviewer", project_ref="candidate__task__project"),
    )
    for chunk in chunks(due, REVIEW_FIELDS, settings.EXPORT_CHUNK_SIZE):
        review_rows, text_rows = [], []
        for review in chunk:
            provenance = {
                "project": review["candidate__task__project__slug"],
                "annotator": uuid_text(review["reviewer__public_id"]),
                "model": review["candidate__model_name"],
                "gold": bool(review["is_gold"]),
                "excluded": bool(review["by_excluded"]),
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
                    "candidate_uid": uuid_text(review["candidate__uid"]),
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
