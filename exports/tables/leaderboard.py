"""Rows of the ``leaderboard`` table: each arena's Bradley–Terry ratings, one row per model, a new version of
a project's rows whenever its figures changed.

Before writing, every arena in the export's scope has its leaderboard computed from the judgements as they are
now (quality/figures.py), so a dataset never carries figures older than its own votes.
"""

from typing import Any

from exports.due import due_leaderboards
from exports.models import ExportedRow, ExportRun
from exports.writers import Batch, ProgressCallback
from labeling.models import Project
from quality.figure_models import FigureSnapshot
from quality.figures import figures_compute


def _arenas(project: Project | None):
    arenas = Project.objects.exclude(arena_models="")
    return arenas.filter(pk=project.pk) if project is not None else arenas


def export_leaderboards(batch: Batch, project: Project | None, progress: ProgressCallback) -> None:
    for arena in _arenas(project):
        figures_compute(project_id=arena.pk, kind=FigureSnapshot.Kind.LEADERBOARD)
    for snapshot in due_leaderboards(project).select_related("project"):
        rows = leaderboard_rows(snapshot)
        batch.write("leaderboard", rows)
        batch.settle(ExportedRow.Source.LEADERBOARD, [(snapshot.pk, snapshot.changed_at, bool(rows))])
        progress(1)


def leaderboard_rows(snapshot: FigureSnapshot) -> list[dict[str, Any]]:
    slug = snapshot.project.slug
    return [
        {
            "id": f"{slug}:{entry['model']}",
            "project": slug,
            "model": entry["model"],
            "rank": entry["rank"],
            "rating": entry["rating"],
            "rating_lower": entry["rating_lower"],
            "rating_upper": entry["rating_upper"],
            "comparisons": entry["comparisons"],
            "wins": entry["wins"],
            "ties": entry["ties"],
            "losses": entry["losses"],
            "thumbs_up": entry["thumbs_up"],
            "thumbs_down": entry["thumbs_down"],
            "updated_at": snapshot.changed_at,
        }
        for entry in snapshot.data["models"]
    ]


def published_leaderboards(run: ExportRun) -> list[FigureSnapshot]:
    """The leaderboards the dataset holds once ``run`` commits: those of this run or of succeeded ones."""
    published = ExportedRow.objects.filter(source=ExportedRow.Source.LEADERBOARD).filter(
        run__status=ExportRun.Status.SUCCEEDED
    ) | ExportedRow.objects.filter(source=ExportedRow.Source.LEADERBOARD, run=run)
    ids = set(published.values_list("object_id", flat=True))
    return list(FigureSnapshot.objects.filter(pk__in=ids).select_related("project").order_by("project__slug"))
