"""A project's judgements as numpy arrays, read straight from the database cursor.

At a million judgements, model instances (or even Django's per-value conversion) would cost more than every
figure together: each query returns plain numbers only. Timestamps come as seconds since 1970, computed by the
database; labels are small integer codes (``PICK_TIE``, ``REVIEW_CODES``).
"""

from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Func, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast

from labeling.models import Membership, Preference, Project, Review, Vote
from quality.marks import EXCLUDED_MEMBERSHIP

FETCH_ROWS = 100_000

# A pick as a number: the chosen candidate's index (0, 1, …) for "best", or one of these.
PICK_TIE = -1
PICK_ALL_BAD = -2
REVIEW_CODES = {Review.Decision.ACCEPT: 0, Review.Decision.CORRECT: 1, Review.Decision.REJECT: 2}


class EpochSeconds(Func):
    """A datetime column as float seconds since 1970 (UTC), computed in the database."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores UTC text that julianday() reads; 2440587.5 is the Julian day of 1970-01-01.
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)")


def _float(expression) -> Cast:
    """Every column as float8: PostgreSQL packs the values as such, SQLite returns them as numpy reads them."""
    return Cast(expression, FloatField())


def rows_postgresql(sql: str, params: tuple, fields: list[str]) -> np.ndarray:
    """The query's rows packed by PostgreSQL into one binary string per person (each value as float8send's 8
    big-endian bytes), read by numpy in one go: at a million rows, a Python tuple per row (or a COPY message
    per row) took longer than the query itself."""
    packed = " || ".join(f'float8send(q."{field}")' for field in fields)
    query = f"SELECT string_agg({packed}, ''::bytea) FROM ({sql}) q GROUP BY q.\"{fields[0]}\""  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        # Room for the joins' hash tables in memory rather than in temporary files, for this query only.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(query, params)
        data = b"".join(bytes(chunk) for (chunk,) in cursor.fetchall())
    return np.frombuffer(data, dtype=">f8").astype(np.float64).reshape(-1, len(fields))


def rows_plain(sql: str, params: tuple, fields: list[str]) -> np.ndarray:
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            parts.append(np.array(rows, dtype=np.float64))
    return np.concatenate(parts) if parts else np.empty((0, len(fields)))


def sql_of(queryset: QuerySet, fields: list[str]) -> tuple[str, tuple]:
    return queryset.order_by().values_list(*fields).query.get_compiler(connection=connection).as_sql()


def _columns(queryset: QuerySet, fields: list[str]) -> dict[str, np.ndarray]:
    """The queryset's ``fields`` as float64 arrays (every field must be numeric and never null)."""
    read = rows_postgresql if connection.vendor == "postgresql" else rows_plain
    table = read(*sql_of(queryset, fields), fields)
    return {name: table[:, column] for column, name in enumerate(fields)}


@dataclass
class Judgements:
    """One project's votes (withdrawn ones left out), picks and reviews, column by column.

    ``judge`` is the person's user id, ``item`` the judged object (candidate for votes and reviews, task for
    picks), ``label`` the answer (+1 / -1 for votes, a pick code, a review code), ``at`` when the judgement was
    first made.
    """

    votes: dict[str, np.ndarray]
    picks: dict[str, np.ndarray]
    reviews: dict[str, np.ndarray]
    excluded_users: frozenset[int]

    @property
    def count(self) -> int:
        return sum(len(kind["judge"]) for kind in (self.votes, self.picks, self.reviews))

    def kinds(self) -> dict[str, dict[str, np.ndarray]]:
        return {"votes": self.votes, "picks": self.picks, "reviews": self.reviews}


FIELDS = ["judge", "item", "label", "at"]


def judgement_querysets(*, project: Project) -> dict[str, QuerySet]:
    """The project's votes, picks and reviews, each annotated with ``FIELDS``."""
    votes = (
        Vote.objects.filter(candidate__task__project=project)
        .exclude(value=Vote.Value.WITHDRAWN)
        .annotate(
            judge=_float("user_id"), item=_float("candidate_id"), label=_float("value"), at=EpochSeconds("created_at")
        )
    )
    picks = Preference.objects.filter(task__project=project).annotate(
        judge=_float("user_id"),
        item=_float("task_id"),
        label=_float(
            Case(
                When(choice=Preference.Choice.BEST, then=F("chosen__index")),
                When(choice=Preference.Choice.TIE, then=Value(PICK_TIE)),
                default=Value(PICK_ALL_BAD),
                output_field=IntegerField(),
            )
        ),
        at=EpochSeconds("created_at"),
    )
    reviews = Review.objects.filter(candidate__task__project=project).annotate(
        judge=_float("reviewer_id"),
        item=_float("candidate_id"),
        label=_float(
            Case(
                *(When(decision=decision, then=Value(code)) for decision, code in REVIEW_CODES.items()),
                output_field=IntegerField(),
            )
        ),
        at=EpochSeconds("created_at"),
    )
    return {"votes": votes, "picks": picks, "reviews": reviews}


def judgements_of(*, project: Project) -> Judgements:
    columns = {kind: _columns(queryset, FIELDS) for kind, queryset in judgement_querysets(project=project).items()}
    excluded = Membership.objects.filter(EXCLUDED_MEMBERSHIP, project=project).values_list("user_id", flat=True)
    return Judgements(**columns, excluded_users=frozenset(excluded))
