"""Rows of the ``votes`` table (exports/tables/contract.py), from due votes."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from exports.due import already_published, chunks, due_votes
from exports.models import ExportedRow
from exports.tables.values import generation_settings, uuid_text
from exports.writers import Batch, ProgressCallback
from labeling.models import Project, Vote
from quality.marks import excluded_mark, gold_mark

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
    "is_gold",
    "by_excluded",
]


def votes_marked(votes: QuerySet[Vote]) -> QuerySet[Vote]:
    """Votes with the marks their rows carry (``is_gold``, ``by_excluded`` in VOTE_FIELDS)."""
    return votes.annotate(
        is_gold=gold_mark(task_ref="candidate__task"),
        by_excluded=excluded_mark(user_ref="user", project_ref="candidate__task__project"),
    )


def export_votes(batch: Batch, project: Project | None, progress: ProgressCallback) -> None:
    for chunk in chunks(votes_marked(due_votes(project)), VOTE_FIELDS, settings.EXPORT_CHUNK_SIZE):
        published_before = already_published(
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
        batch.write("votes", [vote_row(vote, path=batch.image_path(vote["candidate_id"])) for vote in published])
        published_ids = {vote["pk"] for vote in published}
        batch.settle(
            ExportedRow.Source.VOTE, [(vote["pk"], vote["updated_at"], vote["pk"] in published_ids) for vote in chunk]
        )
        progress(len(chunk))


def vote_row(vote: dict[str, Any], *, path: str | None) -> dict[str, Any]:
    """A ``votes`` row from a vote's ``VOTE_FIELDS`` (driver values) and where its image is (the API gives a URL)."""
    steps, guidance = generation_settings(vote["candidate__params"])
    return {
        "id": vote["pk"],
        "prompt": vote["candidate__task__prompt"],
        "path": path,
        "response": vote["candidate__text"] or None,
        "rating": Vote.Value(vote["value"]).rating,
        "candidate_uid": uuid_text(vote["candidate__uid"]),
        "project": vote["candidate__task__project__slug"],
        "annotator": uuid_text(vote["user__public_id"]),
        "model": vote["candidate__model_name"],
        "seed": vote["candidate__seed"],
        "steps": steps,
        "guidance": guidance,
        "gold": bool(vote["is_gold"]),
        "excluded": bool(vote["by_excluded"]),
        "created_at": vote["created_at"],
        "updated_at": vote["updated_at"],
    }
