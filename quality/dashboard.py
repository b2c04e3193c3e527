"""A project's dashboard figures, aggregated in the database: judgements per day, annotator and model, the
👍/👎 split, tasks by state, time to complete a task, review outcomes over time and the calibration of the
uncertainty score.

Each figure is a chart description the page draws and tabulates the same way: ``labels`` along one axis, one
``series`` of numbers per label set, and a note on how it was counted. Judgements of excluded annotators are
left out, as everywhere in the figures.
"""

from datetime import timedelta
from typing import Any

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from labeling.models import Candidate, Preference, Project, Review, Task, Vote
from quality.arena_comparisons import counted_judges_q

DAYS_SHOWN = 60
ANNOTATORS_SHOWN = 30
COMPLETION_BINS = [
    ("under 1 min", timedelta(minutes=1)),
    ("1–10 min", timedelta(minutes=10)),
    ("10–60 min", timedelta(hours=1)),
    ("1–6 h", timedelta(hours=6)),
    ("6–24 h", timedelta(days=1)),
    ("1–7 days", timedelta(days=7)),
    ("over 7 days", None),
]
CONFIDENCE_BINS = 10


def _counted_votes(project: Project) -> QuerySet[Vote]:
    return (
        Vote.objects.filter(candidate__task__project=project)
        .exclude(value=Vote.Value.WITHDRAWN)
        .filter(counted_judges_q(project=project))
    )


def _counted_preferences(project: Project) -> QuerySet[Preference]:
    return Preference.objects.filter(task__project=project).filter(counted_judges_q(project=project))


def _counted_reviews(project: Project) -> QuerySet[Review]:
    return Review.objects.filter(candidate__task__project=project).filter(
        counted_judges_q(project=project, user_field="reviewer")
    )


def _figure(figure_id: str, title: str, chart: str, labels: list, series: list[dict], note: str, **extra) -> dict:
    """A chart description; ``rows`` is the same numbers as the table beside the chart reads them."""
    rows = [[label, *(entry["data"][number] for entry in series)] for number, label in enumerate(labels)]
    figure = {"id": figure_id, "title": title, "chart": chart, "labels": labels, "series": series, "rows": rows}
    return figure | {"note": note} | extra


def _by(queryset: QuerySet, field: str) -> dict[Any, int]:
    return {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("pk")).order_by()}


def _judgements_per_day(project: Project, since) -> dict:
    day = TruncDate("created_at")
    counts = [
        _by(queryset.filter(created_at__gte=since).annotate(day=day), "day")
        for queryset in (_counted_votes(project), _counted_preferences(project), _counted_reviews(project))
    ]
    days = sorted(set().union(*counts))
    series = [
        {"label": label, "data": [count.get(d, 0) for d in days]}
        for label, count in zip(("👍/👎 votes", "picks", "reviews"), counts, strict=True)
    ]
    return _figure(
        "per-day",
        "Judgements per day",
        "stacked-bar",
        [d.isoformat() for d in days],
        series,
        f"Votes, picks (best / tie / all bad) and reviews made on each day of the last {DAYS_SHOWN} days.",
    )


def _judgements_per_annotator(project: Project) -> dict:
    counts = [
        _by(_counted_votes(project), "user__username"),
        _by(_counted_preferences(project), "user__username"),
        _by(_counted_reviews(project), "reviewer__username"),
    ]
    people = sorted(set().union(*counts), key=lambda name: (-sum(count.get(name, 0) for count in counts), name))
    shown = people[:ANNOTATORS_SHOWN]
    series = [
        {"label": label, "data": [count.get(name, 0) for name in shown]}
        for label, count in zip(("👍/👎 votes", "picks", "reviews"), counts, strict=True)
    ]
    more = f" The {ANNOTATORS_SHOWN} busiest of {len(people)} are shown." if len(people) > ANNOTATORS_SHOWN else ""
    return _figure(
        "per-annotator",
        "Judgements per annotator",
        "stacked-hbar",
        shown,
        series,
        "Excluded annotators are left out." + more,
    )


def _judgements_per_model(project: Project) -> dict:
    thumbs = (
        _counted_votes(project)
        .values("candidate__model_name")
        .annotate(up=Count("pk", filter=Q(value=Vote.Value.UP)), down=Count("pk", filter=Q(value=Vote.Value.DOWN)))
        .order_by()
    )
    by_model = {row["candidate__model_name"] or "(unnamed)": (row["up"], row["down"]) for row in thumbs}
    picked = _by(_counted_preferences(project).filter(choice=Preference.Choice.BEST), "chosen__model_name")
    models = sorted(set(by_model) | {name or "(unnamed)" for name in picked})
    up = [by_model.get(model, (0, 0))[0] for model in models]
    down = [by_model.get(model, (0, 0))[1] for model in models]
    labels = [*models, "all models"]
    up.append(sum(up))
    down.append(sum(down))
    shares = [round(u / (u + d), 3) if u + d else None for u, d in zip(up, down, strict=True)]
    return _figure(
        "per-model",
        "👍/👎 per model",
        "stacked-bar",
        labels,
        [
            {"label": "👍", "data": up},
            {"label": "👎", "data": down},
            {"label": "👍 share", "data": shares, "plot": False},
            {
                "label": "picked as best",
                "data": [*(picked.get(m, 0) for m in models), sum(picked.values())],
                "plot": False,
            },
        ],
        "Votes on each model's candidates; the last bar is the whole project's 👍/👎 split.",
    )


def _tasks_by_state(project: Project) -> dict:
    counts = _by(Task.objects.filter(project=project), "status")
    return _figure(
        "tasks-by-state",
        "Tasks by state",
        "bar",
        [label for _, label in Task.Status.choices],
        [{"label": "tasks", "data": [counts.get(value, 0) for value, _ in Task.Status.choices]}],
        "Every task of the project, by where it stands now.",
    )


def _completion_times(project: Project) -> dict:
    took = ExpressionWrapper(F("updated_at") - F("created_at"), output_field=DurationField())
    bin_of = Case(
        *(When(took__lt=limit, then=Value(number)) for number, (_, limit) in enumerate(COMPLETION_BINS) if limit),
        default=Value(len(COMPLETION_BINS) - 1),
        output_field=IntegerField(),
    )
    counts = _by(
        Task.objects.filter(project=project, status=Task.Status.COMPLETE).annotate(took=took, bin=bin_of), "bin"
    )
    data = [counts.get(number, 0) for number in range(len(COMPLETION_BINS))]
    total, running, median = sum(data), 0, None
    for (label, _), count in zip(COMPLETION_BINS, data, strict=True):
        running += count
        if median is None and total and running >= total / 2:
            median = label
    note = "From a task's creation to its completion (enough judgements for every candidate)."
    return _figure(
        "completion-time",
        "Time to complete a task",
        "bar",
        [label for label, _ in COMPLETION_BINS],
        [{"label": "tasks", "data": data}],
        note + (f" Half of the tasks took {median} or less." if median else " No task is complete yet."),
    )


def _review_outcomes(project: Project, since) -> dict:
    rows = (
        _counted_reviews(project)
        .filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day", "decision")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(row["day"], row["decision"]): row["n"] for row in rows}
    days = sorted({day for day, _ in counts})
    series = [
        {"label": label, "data": [counts.get((day, value), 0) for day in days]}
        for value, label in Review.Decision.choices
    ]
    return _figure(
        "review-outcomes",
        "Review outcomes over time",
        "line",
        [day.isoformat() for day in days],
        series,
        f"Reviews per day and decision, the last {DAYS_SHOWN} days.",
    )


def _calibration(project: Project) -> dict:
    width = 1 / CONFIDENCE_BINS
    bin_of = Case(
        *(When(candidate__confidence__lt=(n + 1) * width, then=Value(n)) for n in range(CONFIDENCE_BINS - 1)),
        default=Value(CONFIDENCE_BINS - 1),
        output_field=IntegerField(),
    )
    rows = (
        _counted_reviews(project)
        .filter(candidate__confidence__isnull=False)
        .annotate(bin=bin_of)
        .values("bin")
        .annotate(
            n=Count("pk"),
            corrected=Count("pk", filter=Q(decision=Review.Decision.CORRECT)),
            rejected=Count("pk", filter=Q(decision=Review.Decision.REJECT)),
        )
        .order_by()
    )
    by_bin = {row["bin"]: row for row in rows}
    reviewed = [by_bin.get(n, {}).get("n", 0) for n in range(CONFIDENCE_BINS)]
    corrected = [by_bin.get(n, {}).get("corrected", 0) for n in range(CONFIDENCE_BINS)]
    rejected = [by_bin.get(n, {}).get("rejected", 0) for n in range(CONFIDENCE_BINS)]
    share = [round(c / r, 3) if r else None for c, r in zip(corrected, reviewed, strict=True)]
    waiting = Candidate.objects.filter(task__project=project, review_state=Candidate.ReviewState.NEEDS_REVIEW).count()
    return _figure(
        "calibration",
        "Calibration of the uncertainty score",
        "line",
        [f"{n * width:.1f}–{(n + 1) * width:.1f}" for n in range(CONFIDENCE_BINS)],
        [
            {"label": "share corrected", "data": share},
            {"label": "reviews", "data": reviewed, "plot": False},
            {"label": "corrected", "data": corrected, "plot": False},
            {"label": "rejected", "data": rejected, "plot": False},
        ],
        f"Share of reviewed answers the reviewer corrected, by the answer's confidence score. Answers below the "
        f"review threshold ({project.review_threshold:.2f}) go to review, above it only an audit share: a "
        f"well-set threshold leaves few corrections above it. {waiting} answers wait for review now.",
        threshold=project.review_threshold,
        y_max=1,
    )


def dashboard_compute(*, project: Project) -> dict[str, Any]:
    """Every figure of the project's dashboard, as the page draws and tabulates them."""
    since = timezone.now() - timedelta(days=DAYS_SHOWN)
    figures = [
        _judgements_per_day(project, since),
        _judgements_per_annotator(project),
        _judgements_per_model(project),
        _tasks_by_state(project),
        _completion_times(project),
        _review_outcomes(project, since),
    ]
    if project.kind == Project.Kind.TEXT:
        figures.append(_calibration(project))
    totals = {
        "votes": _counted_votes(project).count(),
        "picks": _counted_preferences(project).count(),
        "reviews": _counted_reviews(project).count(),
    }
    return {"figures": figures, "totals": totals}
