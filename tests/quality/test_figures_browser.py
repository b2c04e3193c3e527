"""The dashboard and the leaderboard in a real browser against the real ASGI server."""

import pytest
from playwright.sync_api import expect

from labeling.models import Vote
from quality.figures import figures_compute
from tests.factories import member

pytestmark = pytest.mark.browser

DRAWN_PIXELS = """canvas => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
  return drawn;
}"""


def test_the_dashboard_draws_each_plot_with_its_numbers_in_the_table_beside_it(login_page, arena, arena_manager, judge):
    ann = member(arena, "ann")
    for chosen in (0, 0, 1):
        task = judge(ann, ["alpha", "beta"], "best", chosen).task
        for candidate in task.candidates.all():
            Vote.objects.create(user=ann, candidate=candidate, value=1 if candidate.model_name == "alpha" else -1)
    figures_compute(project_id=arena.pk, kind="dashboard")
    page = login_page(arena_manager)

    page.goto(f"/p/{arena.slug}/dashboard")

    section = page.locator("#figure-per-model")
    expect(section.locator("table tbody tr").first).to_contain_text("alpha")
    expect(section.locator("table tbody tr").first).to_contain_text("3")
    canvas = section.locator("canvas")
    expect(canvas).to_be_visible()
    assert canvas.evaluate(DRAWN_PIXELS) > 100
    bars = page.evaluate("Chart.getChart('chart-per-model').getDatasetMeta(0).data.length")
    assert bars == 3  # alpha, beta, all models
    for figure_id in ("per-day", "per-annotator", "tasks-by-state", "completion-time", "review-outcomes"):
        assert page.locator(f"#chart-{figure_id}").evaluate(DRAWN_PIXELS) > 0, figure_id


def test_the_leaderboard_lists_the_models_best_rated_first(login_page, arena, arena_manager, judge):
    ann = member(arena, "ann")
    for winner, loser, times in (("gamma", "alpha", 6), ("gamma", "beta", 5), ("alpha", "beta", 4)):
        for _ in range(times):
            judge(ann, [loser, winner], "best", 1)
    judge(ann, ["alpha", "beta"], "best", 1)
    figures_compute(project_id=arena.pk, kind="leaderboard")
    page = login_page(arena_manager)

    page.goto(f"/p/{arena.slug}/leaderboard")

    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(n).get_attribute("data-model") for n in range(3)] == ["gamma", "alpha", "beta"]
    ratings = [float(rows.nth(n).get_attribute("data-rating")) for n in range(3)]
    assert ratings == sorted(ratings, reverse=True)
    expect(rows.first.locator("td").first).to_have_text("1")
    expect(page.locator("#win-rates")).to_contain_text("100 %")
