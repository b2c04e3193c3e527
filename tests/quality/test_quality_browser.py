"""A manager's Quality page in a real browser against the real ASGI server."""

import pytest
from playwright.sync_api import expect

from labeling.models import Membership
from quality.models import QualityAction
from quality.services import snapshot_compute
from tests.quality.simulation import simulate

pytestmark = pytest.mark.browser


def test_a_manager_sorts_by_gold_accuracy_and_pauses_a_flagged_annotator(login_page, manager, project):
    people = simulate(project)
    snapshot = snapshot_compute(project=project)
    accuracy = {row["username"]: row["gold_accuracy"]["value"] for row in snapshot.figures["annotators"]}
    page = login_page(manager)
    page.goto(project.get_absolute_url())
    page.locator("#quality-link").click()
    expect(page.locator("#as-of")).to_be_visible()
    page.evaluate("window.__corralNoReload = true")

    page.locator("a.sort-gold_accuracy").click()
    expect(page.locator("th[aria-sort] a.sort-gold_accuracy")).to_contain_text("▲")
    page.wait_for_url("**sort=gold_accuracy")
    listed = [
        name
        for name in page.locator("#annotator-table tbody tr").evaluate_all(
            "rows => rows.map(row => row.dataset.username)"
        )
        if accuracy.get(name) is not None
    ]
    assert [accuracy[name] for name in listed] == sorted(accuracy[name] for name in listed)
    worst = listed[0]
    assert worst in ("rex", "alf")

    row = page.locator(f"#person-{people[worst].pk}")
    expect(row.locator(".flags")).to_contain_text("gold accuracy")
    row.locator("input[name=reason]").fill("flagged by the gold items")
    row.locator("button.pause").click()
    expect(page.locator(f"#person-{people[worst].pk} .badge")).to_have_text("paused")
    assert page.evaluate("window.__corralNoReload === true")
    membership = Membership.objects.get(user=people[worst], project=project)
    assert membership.paused_at is not None
    assert QualityAction.objects.get().reason == "flagged by the gold items"

    # The paused annotator, in their own browser: where Next was, the queue says there is nothing for them.
    paused_page = login_page(people[worst])
    paused_page.goto(project.get_absolute_url())
    expect(paused_page.locator("#queue-panel #paused-notice")).to_contain_text("no tasks for you")
    expect(paused_page.locator("#next-task")).to_have_count(0)
