"""The Quality page, its actions and its drill-down, through HTTP; the quality_report command."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from corral.celery import app as celery_app
from labeling.models import Membership, Preference, Vote
from quality.models import QualityAction, QualitySnapshot
from quality.services import snapshot_compute
from quality.tasks import quality_refresh_stale
from tests.factories import make_plain_task, member
from tests.quality.simulation import simulate


@pytest.fixture
def simulated(project):
    return simulate(project)


@pytest.fixture
def eager_celery(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def _page(client, project, **params):
    return client.get(reverse("quality-page", args=[project.slug]), params)


def test_the_page_shows_stored_figures_with_their_time_and_never_computes_them(client, manager, project, simulated):
    client.force_login(manager)
    empty = _page(client, project)
    assert "No figures yet" in empty.text
    assert not QualitySnapshot.objects.filter(computed_at__isnull=False).exists()

    snapshot = snapshot_compute(project=project)
    page = _page(client, project)
    assert "Figures as of" in page.text and snapshot.computed_at.strftime("%Y-%m-%d %H:%M:%S") in page.text
    alpha = snapshot.figures["figures"]["vote_alpha"]
    assert f"{alpha['value']:.3f} ({alpha['items']} items)" in page.text


def test_recompute_stores_fresh_figures_through_the_task(
    client, manager, project, simulated, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("quality-recompute", args=[project.slug]))
    assert response.status_code == 302
    snapshot = QualitySnapshot.objects.get(project=project)
    assert snapshot.computed_at is not None and not snapshot.recomputing
    # Every member, the manager who has judged nothing included.
    assert {row["username"] for row in snapshot.figures["annotators"]} == {*simulated, manager.username}


def test_a_recompute_asked_for_shows_as_recomputing_until_it_is_done(client, reviewer, project, simulated):
    client.force_login(reviewer)
    response = client.post(reverse("quality-recompute", args=[project.slug]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="recomputing"' in response.text


NAMES = ("hana", "hugo", "hal", "rex", "alf")


def _order(page) -> list[str]:
    """The simulated people in the order the table lists them."""
    return sorted(NAMES, key=lambda name: page.text.index(f'data-username="{name}"'))


def test_the_table_sorts_by_gold_accuracy_both_ways(client, manager, project, simulated):
    snapshot = snapshot_compute(project=project)
    client.force_login(manager)
    accuracy = {row["username"]: row["gold_accuracy"]["value"] for row in snapshot.figures["annotators"]}
    ascending = [accuracy[name] for name in _order(_page(client, project, sort="gold_accuracy"))]
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    descending = [accuracy[name] for name in _order(_page(client, project, sort="-gold_accuracy"))]
    assert descending == sorted(ascending, reverse=True)


def test_an_htmx_sort_returns_only_the_table(client, manager, project, simulated):
    snapshot_compute(project=project)
    client.force_login(manager)
    response = client.get(
        reverse("quality-page", args=[project.slug]), {"sort": "identical_share"}, headers={"HX-Request": "true"}
    )
    assert response.text.lstrip().startswith('<section class="card" id="annotator-table">')
    assert "<html" not in response.text


def test_an_unknown_sort_falls_back_to_flags_first(client, manager, project, simulated):
    snapshot_compute(project=project)
    client.force_login(manager)
    order = _order(_page(client, project, sort="password"))
    assert set(order[:2]) == {"rex", "alf"}


def test_a_manager_pauses_a_member_and_the_action_is_recorded(client, manager, project, simulated):
    client.force_login(manager)
    rex = simulated["rex"]
    url = reverse("quality-pause", args=[project.slug, rex.pk])
    response = client.post(url, {"reason": "clicks at random"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="person-{rex.pk}"') and "paused" in response.text
    membership = Membership.objects.get(user=rex, project=project)
    assert membership.paused_at is not None and membership.excluded_at is None
    action = QualityAction.objects.get()
    assert (action.actor, action.member, action.kind, action.reason) == (manager, rex, "pause", "clicks at random")
    assert "clicks at random" in _page(client, project).text


def test_exclude_then_reinstate_clears_both_marks(client, manager, project, simulated):
    client.force_login(manager)
    alf = simulated["alf"]
    for kind in ("pause", "exclude"):
        client.post(reverse(f"quality-{kind}", args=[project.slug, alf.pk]))
    membership = Membership.objects.get(user=alf, project=project)
    assert membership.paused_at and membership.excluded_at
    response = client.post(reverse("quality-reinstate", args=[project.slug, alf.pk]))
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.paused_at is None and membership.excluded_at is None
    assert list(QualityAction.objects.order_by("id").values_list("kind", flat=True)) == [
        "pause",
        "exclude",
        "reinstate",
    ]


@pytest.mark.parametrize("role", [Membership.Role.ANNOTATOR, Membership.Role.REVIEWER])
def test_someone_who_does_not_manage_the_project_may_not_pause_and_changes_nothing(client, project, simulated, role):
    client.force_login(member(project, "nosy", role=role))
    rex = simulated["rex"]
    for kind in ("pause", "exclude", "reinstate"):
        response = client.post(reverse(f"quality-{kind}", args=[project.slug, rex.pk]))
        assert response.status_code == 403
    membership = Membership.objects.get(user=rex, project=project)
    assert membership.paused_at is None and membership.excluded_at is None
    assert not QualityAction.objects.exists()


def test_a_manager_of_another_project_gets_404_and_changes_nothing(client, outsider, project, simulated):
    client.force_login(outsider)
    response = client.post(reverse("quality-pause", args=[project.slug, simulated["rex"].pk]))
    assert response.status_code == 404
    assert not Membership.objects.filter(paused_at__isnull=False).exists()


def test_a_person_who_is_not_a_member_cannot_be_paused(client, manager, project, outsider):
    client.force_login(manager)
    response = client.post(reverse("quality-pause", args=[project.slug, outsider.pk]))
    assert response.status_code == 404
    assert not QualityAction.objects.exists()


def test_a_reason_too_long_is_refused_with_the_limit(client, manager, project, simulated):
    client.force_login(manager)
    response = client.post(reverse("quality-pause", args=[project.slug, simulated["rex"].pk]), {"reason": "x" * 2001})
    assert response.status_code == 400 and "at most 2000" in response.text
    assert not Membership.objects.filter(paused_at__isnull=False).exists()


def test_the_drill_down_shows_a_persons_votes_beside_the_others_and_the_gold(client, reviewer, project):
    ann, bob, cy = (member(project, name) for name in ("ann", "bob", "cy"))
    task = make_plain_task(project, candidates=2, prompt="a gold heron", gold={"ratings": {"0": "good"}, "best": 0})
    first = task.candidates.get(index=0)
    Vote.objects.create(user=ann, candidate=first, value=-1)
    Vote.objects.create(user=bob, candidate=first, value=1)
    Vote.objects.create(user=cy, candidate=first, value=1)
    Preference.objects.create(user=ann, task=task, choice="tie")
    Preference.objects.create(user=bob, task=task, choice="best", chosen=first)
    client.force_login(reviewer)
    page = client.get(reverse("quality-annotator", args=[project.slug, ann.pk]))
    assert page.status_code == 200
    votes = page.text[page.text.index('id="judged-votes"') : page.text.index('id="judged-picks"')]
    assert "a gold heron" in votes and "👍 2" in votes and 'class="gold-miss"' in votes
    picks = page.text[page.text.index('id="judged-picks"') : page.text.index('id="judged-reviews"')]
    assert "best: #0 1" in picks and "tie" in picks


def test_the_drill_down_of_someone_from_elsewhere_is_404(client, manager, project, outsider):
    client.force_login(manager)
    assert client.get(reverse("quality-annotator", args=[project.slug, outsider.pk])).status_code == 404


def test_the_project_page_links_to_quality_for_reviewers_not_annotators(client, project, reviewer, annotator):
    client.force_login(reviewer)
    assert 'id="quality-link"' in client.get(project.get_absolute_url()).text
    client.force_login(annotator)
    assert 'id="quality-link"' not in client.get(project.get_absolute_url()).text


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_judgements(
    client, manager, project, simulated, django_assert_max_num_queries
):
    snapshot_compute(project=project)
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert _page(client, project).status_code == 200


def test_quality_report_prints_a_table_and_json(project, simulated):
    table = StringIO()
    call_command("quality_report", project.slug, stdout=table)
    assert "Krippendorff's alpha" in table.getvalue()
    alf_line = next(line for line in table.getvalue().splitlines() if line.startswith("alf"))
    assert "repeat the one before" in alf_line
    out = StringIO()
    call_command("quality_report", project.slug, "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert {row["username"] for row in report["annotators"]} == set(simulated)
    assert report["judgements"]["votes"] == 5 * 30 * 4


def test_quality_report_names_the_known_projects_when_the_slug_is_wrong(project):
    with pytest.raises(CommandError, match="No project with slug 'nope'. Known projects: birds"):
        call_command("quality_report", "nope")


def test_beat_refreshes_the_figures_of_projects_judged_since_their_snapshot_only(project, text_project, simulated):
    assert quality_refresh_stale() == 1  # birds judged, never computed; answers never judged
    computed = QualitySnapshot.objects.get(project=project).computed_at
    assert quality_refresh_stale() == 0
    vote = Vote.objects.filter(candidate__task__project=project).first()
    vote.value = -vote.value
    vote.save()
    assert quality_refresh_stale() == 1
    assert QualitySnapshot.objects.get(project=project).computed_at > computed
