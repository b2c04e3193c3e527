"""The project dashboard: figures aggregated by a worker, read by the page with their time."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import Candidate, Membership, Review, Task, Vote
from quality.figure_models import FigureSnapshot
from quality.figures import figures_compute
from tests.factories import make_text_task, member


def figure(data: dict, figure_id: str) -> dict:
    return next(f for f in data["figures"] if f["id"] == figure_id)


def column(fig: dict, label: str) -> dict:
    position = 1 + [series["label"] for series in fig["series"]].index(label)
    return {row[0]: row[position] for row in fig["rows"]}


def test_the_dashboard_counts_judgements_per_model_and_the_thumbs_split_leaving_excluded_annotators_out(arena, judge):
    ann, gone = member(arena, "ann"), member(arena, "gone")
    task = judge(ann, ["alpha", "beta"], "best", 0).task
    alpha, beta = task.candidates.order_by("index")
    Vote.objects.create(user=ann, candidate=alpha, value=1)
    Vote.objects.create(user=ann, candidate=beta, value=-1)
    Vote.objects.create(user=gone, candidate=beta, value=1)
    Membership.objects.filter(user=gone).update(excluded_at=timezone.now())

    data = figures_compute(project_id=arena.pk, kind="dashboard").data

    per_model = figure(data, "per-model")
    assert column(per_model, "👍") == {"alpha": 1, "beta": 0, "all models": 1}
    assert column(per_model, "👎") == {"alpha": 0, "beta": 1, "all models": 1}
    assert column(per_model, "picked as best")["alpha"] == 1
    assert column(figure(data, "per-annotator"), "👍/👎 votes") == {"ann": 2}
    assert data["totals"] == {"votes": 2, "picks": 1, "reviews": 0}
    assert column(figure(data, "tasks-by-state"), "tasks")["Ready for feedback"] == 1


def test_completion_times_and_daily_counts_come_from_the_database(arena):
    ann = member(arena, "ann")
    task = Task.objects.create(project=arena, prompt="p", source="batch", status=Task.Status.COMPLETE)
    Task.objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(minutes=30), updated_at=timezone.now())
    candidate = Candidate.objects.create(task=task, index=0, model_name="alpha")
    vote = Vote.objects.create(user=ann, candidate=candidate, value=1)
    Vote.objects.filter(pk=vote.pk).update(created_at=timezone.now() - timedelta(days=2))

    data = figures_compute(project_id=arena.pk, kind="dashboard").data

    assert column(figure(data, "completion-time"), "tasks")["10–60 min"] == 1
    assert "Half of the tasks took 10–60 min or less." in figure(data, "completion-time")["note"]
    day = (timezone.localdate() - timedelta(days=2)).isoformat()
    assert column(figure(data, "per-day"), "👍/👎 votes") == {day: 1}


def test_the_calibration_plot_shows_the_share_of_answers_corrected_per_confidence_bin(text_project):
    reviewer = member(text_project, "rev", role=Membership.Role.REVIEWER)
    for confidence, decision in [(0.15, "correct"), (0.12, "accept"), (0.85, "accept"), (0.18, "reject")]:
        answer = make_text_task(text_project, f"q {confidence}", ["an answer"], confidence=confidence)
        Review.objects.create(
            reviewer=reviewer,
            candidate=answer.candidates.get(),
            decision=decision,
            original_text="an answer",
            corrected_text="better" if decision == "correct" else "",
        )

    data = figures_compute(project_id=text_project.pk, kind="dashboard").data

    calibration = figure(data, "calibration")
    assert column(calibration, "reviews")["0.1–0.2"] == 3
    assert column(calibration, "share corrected")["0.1–0.2"] == round(1 / 3, 3)
    assert column(calibration, "share corrected")["0.8–0.9"] == 0
    assert column(calibration, "share corrected")["0.5–0.6"] is None
    outcomes = figure(data, "review-outcomes")
    assert sum(column(outcomes, "Accept").values()) == 2


def test_the_page_reads_the_cached_figures_and_says_how_fresh_they_are(client, arena, arena_manager, judge):
    judge(member(arena, "ann"), ["alpha", "beta"], "best", 0)
    snapshot = figures_compute(project_id=arena.pk, kind="dashboard")
    client.force_login(arena_manager)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/p/{arena.slug}/dashboard").content.decode()

    assert "These figures were computed" in page
    assert 'id="chart-per-model"' in page
    assert '<th scope="row">alpha</th>' in page
    assert FigureSnapshot.objects.get(pk=snapshot.pk).computed_at == snapshot.computed_at
    assert not any("labeling_vote" in query["sql"] for query in queries.captured_queries)


def test_old_figures_ask_a_worker_for_fresh_ones_once(client, arena, arena_manager, settings):
    snapshot = figures_compute(project_id=arena.pk, kind="dashboard")
    FigureSnapshot.objects.filter(pk=snapshot.pk).update(
        computed_at=timezone.now() - timedelta(seconds=settings.FIGURES_MAX_AGE_SECONDS + 60)
    )
    client.force_login(arena_manager)

    client.get(f"/p/{arena.slug}/dashboard")
    asked = FigureSnapshot.objects.get(pk=snapshot.pk).requested_at
    page = client.get(f"/p/{arena.slug}/dashboard").content.decode()

    assert asked is not None
    assert FigureSnapshot.objects.get(pk=snapshot.pk).requested_at == asked
    assert "fresh ones are being computed" in page
    assert 'hx-trigger="every 2s"' in page


def test_a_failed_computation_shows_its_reason_and_the_recompute_button(client, arena, arena_manager):
    FigureSnapshot.objects.create(project=arena, kind="dashboard", error_message="OperationalError: boom")
    client.force_login(arena_manager)

    page = client.get(f"/p/{arena.slug}/dashboard").content.decode()
    client.post(f"/p/{arena.slug}/dashboard/recompute")

    assert "The last computation failed: OperationalError: boom" in page
    assert 'id="recompute"' in page
    snapshot = FigureSnapshot.objects.get(project=arena, kind="dashboard")
    assert snapshot.error_message == ""
    assert snapshot.requested_at is not None


def test_annotators_do_not_see_the_figures_pages(client, arena):
    client.force_login(member(arena, "ann"))

    assert client.get(f"/p/{arena.slug}/dashboard").status_code == 403
    assert client.get(f"/p/{arena.slug}/leaderboard").status_code == 403


def test_the_freshness_poll_reloads_the_page_once_new_figures_are_in(client, arena, arena_manager):
    old = figures_compute(project_id=arena.pk, kind="dashboard").computed_at
    client.force_login(arena_manager)
    url = f"/p/{arena.slug}/dashboard"

    unchanged = client.get(url, {"since": old.isoformat()}, HTTP_HX_REQUEST="true")
    figures_compute(project_id=arena.pk, kind="dashboard")
    changed = client.get(url, {"since": old.isoformat()}, HTTP_HX_REQUEST="true")

    assert 'id="freshness"' in unchanged.content.decode() and "HX-Refresh" not in unchanged.headers
    assert changed.headers["HX-Refresh"] == "true"
