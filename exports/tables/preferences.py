"""Rows of the ``preferences`` (image pairs) and ``text_dpo`` (answer pairs) tables, from due preferences."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from exports.due import already_published, chunks, due_preferences
from exports.models import ExportedRow
from exports.tables.values import guidance_of, steps_of, uuid_text
from exports.writers import Batch, ProgressCallback
from labeling.models import Candidate, Preference, Project
from quality.marks import excluded_mark, gold_mark

CANDIDATE_FIELDS = ["id", "uid", "index", "image", "text", "model_name", "seed", "params"]
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
    "is_gold",
    "by_excluded",
]


def preference_pairs(preference: dict[str, Any], candidates: list[dict[str, Any]]) -> list[tuple[dict, dict, float]]:
    """(first, second, label_0) pairs in task order; label_0 is 1 when the first is the preferred one.

    Pick best among N → N−1 pairs (best against each other); tie → every pair at 0.5; all bad → none.
    ``candidates`` are the task's (``CANDIDATE_FIELDS``, in index order); images without a file are left out.
    """
    if preference["task__project__kind"] == Project.Kind.IMAGE:
        candidates = [c for c in candidates if c["image"]]
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


def preferences_marked(preferences: QuerySet[Preference]) -> QuerySet[Preference]:
    """Picks with the marks their rows carry (``is_gold``, ``by_excluded`` in PREFERENCE_FIELDS)."""
    return preferences.annotate(
        is_gold=gold_mark(task_ref="task"), by_excluded=excluded_mark(user_ref="user", project_ref="task__project")
    )


def candidates_by_task(task_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The candidates of these tasks (``CANDIDATE_FIELDS``), in index order, by task id."""
    by_task: dict[int, list[dict[str, Any]]] = {}
    for candidate in (
        Candidate.objects.filter(task_id__in=task_ids).order_by("task_id", "index").values("task_id", *CANDIDATE_FIELDS)
    ):
        by_task.setdefault(candidate["task_id"], []).append(candidate)
    return by_task


def pair_rows(
    preference: dict[str, Any], pairs: list[tuple[dict, dict, float]], *, image_path: Callable[[int], str | None]
) -> list[dict[str, Any]]:
    """The rows a judgement's pairs give: ``preferences`` rows on image projects, ``text_dpo`` rows (ties left
    out: DPO needs a chosen and a rejected answer) on text projects. ``image_path`` maps a candidate id to
    where its image is."""
    provenance = _preference_provenance(preference)
    if preference["task__project__kind"] == Project.Kind.IMAGE:
        return [_image_pair_row(preference, pair, provenance, image_path) for pair in pairs]
    return [_text_pair_row(preference, pair, provenance) for pair in pairs if pair[2] != 0.5]


def export_preferences(batch: Batch, project: Project | None, progress: ProgressCallback) -> None:
    for chunk in chunks(preferences_marked(due_preferences(project)), PREFERENCE_FIELDS, settings.EXPORT_CHUNK_SIZE):
        candidates = candidates_by_task({p["task_id"] for p in chunk})
        image_rows, text_rows, entries = [], [], []
        pairs_by_preference = {
            preference["pk"]: preference_pairs(preference, candidates.get(preference["task_id"], []))
            for preference in chunk
        }
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
            rows = pair_rows(preference, pairs_by_preference[preference["pk"]], image_path=batch.image_path)
            (image_rows if preference["task__project__kind"] == Project.Kind.IMAGE else text_rows).extend(rows)
            entries.append((preference["pk"], preference["updated_at"], bool(rows)))
        # A judgement that no longer gives a pair (changed to "all bad", or a text one to a tie) would leave its
        # earlier pairs the newest; readers who saw them get one row without a pair, which replaces them.
        emptied = [preference for preference, entry in zip(chunk, entries, strict=True) if not entry[2]]
        published_before = already_published(ExportedRow.Source.PREFERENCE, (p["pk"] for p in emptied))
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


def _image_pair_row(
    preference: dict, pair: tuple[dict, dict, float], provenance: dict, image_path: Callable[[int], str | None]
) -> dict:
    first, second, label = pair
    return {
        "id": f"{preference['pk']}:{first['uid']}:{second['uid']}",
        "preference_id": preference["pk"],
        "caption": preference["task__prompt"],
        "jpg_0": image_path(first["id"]),
        "jpg_1": image_path(second["id"]),
        "label_0": label,
        "choice": preference["choice"],
        "model": first["model_name"],
        "seed_0": first["seed"],
        "seed_1": second["seed"],
        "steps": steps_of(first["params"] or {}),
        "guidance": guidance_of(first["params"] or {}),
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
        "annotator": uuid_text(preference["user__public_id"]),
        "gold": bool(preference["is_gold"]),
        "excluded": bool(preference["by_excluded"]),
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
