"""What is due: source rows no succeeded run's ledger holds at their current ``updated_at``, read in chunks.

A run that dies anywhere before it is marked succeeded leaves its rows due, so they go out again.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet

from exports.models import ExportedRow, ExportRun
from labeling.models import Preference, Project, Review, Vote
from quality.figure_models import FigureSnapshot


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


def due_votes(project: Project | None) -> QuerySet:
    queryset = Vote.objects.all() if project is None else Vote.objects.filter(candidate__task__project=project)
    return _due(queryset, ExportedRow.Source.VOTE)


def due_preferences(project: Project | None) -> QuerySet:
    queryset = Preference.objects.all() if project is None else Preference.objects.filter(task__project=project)
    return _due(queryset, ExportedRow.Source.PREFERENCE)


def due_reviews(project: Project | None) -> QuerySet:
    queryset = Review.objects.all() if project is None else Review.objects.filter(candidate__task__project=project)
    return _due(queryset, ExportedRow.Source.REVIEW)


def due_leaderboards(project: Project | None) -> QuerySet:
    """Arena projects' leaderboards whose current figures no export has written (their ``changed_at``)."""
    queryset = FigureSnapshot.objects.filter(kind=FigureSnapshot.Kind.LEADERBOARD, changed_at__isnull=False).annotate(
        updated_at=F("changed_at")
    )
    if project is not None:
        queryset = queryset.filter(project=project)
    return _due(queryset, ExportedRow.Source.LEADERBOARD)


def export_due_count(*, project: Project | None = None) -> int:
    """How many source rows (votes, preferences, reviews) the next export will read."""
    return sum(q.count() for q in (due_votes(project), due_preferences(project), due_reviews(project)))


def chunks(queryset: QuerySet, fields: list[str], size: int) -> Iterator[list[dict[str, Any]]]:
    """Keyset pagination by primary key (``fields`` starts with ``pk``): each chunk is a fresh, short query,
    whatever the table's size.

    Values come as the database driver returns them, without Django's per-value conversion, which was over a
    quarter of a 100k-row export's own time. Datetimes stay the driver's: naive UTC on SQLite (Arrow reads
    naive values as UTC; the ledger writes them back in the very text Django stored), aware on PostgreSQL.
    UUIDs and JSON go through ``uuid_text`` and ``generation_settings`` (exports/tables/values.py), which
    convert each distinct value once.
    """
    last = 0
    while True:
        chunk = raw_values(queryset.filter(pk__gt=last).order_by("pk")[:size], fields)
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["pk"]


def raw_values(queryset: QuerySet, fields: list[str], *, names: list[str] | None = None) -> list[dict[str, Any]]:
    """The queryset's rows as dicts of ``fields`` (keyed by ``names`` when given), each value as the database
    driver returns it (see ``chunks``): what the table row builders (exports/tables/) read."""
    sql, params = queryset.values_list(*fields).query.get_compiler(connection=connection).as_sql()
    keys = names or fields
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def already_published(source: str, ids: Iterable[int]) -> set[int]:
    """Which of these source rows a succeeded run wrote a dataset row for (not only a ledger entry)."""
    return set(
        ExportedRow.objects.filter(
            source=source, object_id__in=list(ids), published=True, run__status=ExportRun.Status.SUCCEEDED
        ).values_list("object_id", flat=True)
    )
