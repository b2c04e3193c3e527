"""HTML typed into prompts, LLM answers, corrections and project names is shown as text in a real browser.

Every page gets a trap for ``window.__xss`` before its own scripts run: an assignment from injected
markup is reported to the test, across reloads, and the value stays readable on the page.
"""

import pytest
from playwright.sync_api import expect

from labeling.models import Candidate, Membership, Project, Review, Task
from tests.factories import make_ready_task, make_user
from tests.generation.conftest import (
    celery_worker,
    fake_llm,  # noqa: F401  (the fixture, for the streamed answer)
    purge_queues,
)
from tests.generation.fake_openai import confident

pytestmark = pytest.mark.browser

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
ANSWER_XSS = '<img src=y onerror="window.__xss=3"> The capital is <b>Canberra</b>.'
CORRECTION_XSS = '<svg onload="window.__xss=4"></svg> Canberra, not Sydney.'
NAME_XSS = 'Birds <img src=z onerror="window.__xss=5">'

TRAP = """
(() => {
  let value;
  Object.defineProperty(window, "__xss", {
    configurable: true,
    get() { return value; },
    set(next) { value = next; window.reportXss(String(next)); },
  });
})();
"""


@pytest.fixture
def watched(login_page):
    """``watched(user)`` → (page, reports): every assignment to window.__xss on any page lands in reports."""

    def _watched(user):
        page = login_page(user)
        reports: list[str] = []
        page.context.expose_binding("reportXss", lambda source, value: reports.append(value))
        page.context.add_init_script(TRAP)
        return page, reports

    return _watched


def assert_no_script_ran(page, reports: list[str]) -> None:
    page.wait_for_load_state("load")  # images have failed to load by now, so onerror would have fired
    assert reports == []
    assert page.evaluate("typeof window.__xss") == "undefined"


@pytest.fixture
def member(db):
    user = make_user("rita")
    image_project = Project.objects.create(slug="birds", name=NAME_XSS, kind=Project.Kind.IMAGE)
    text_project = Project.objects.create(slug="answers", name="Answers", kind=Project.Kind.TEXT, candidates_per_task=1)
    for project in (image_project, text_project):
        Membership.objects.create(user=user, project=project, role=Membership.Role.REVIEWER)
    return user


def test_the_trap_reports_a_script_that_runs(watched, member):
    page, reports = watched(member)
    page.goto("/")
    page.evaluate("window.__xss = 'probe'")
    assert reports == ["probe"]
    assert page.evaluate("window.__xss") == "probe"


def test_html_in_prompts_and_names_shows_as_text_on_the_dashboard_project_and_task_pages(watched, member):
    task = make_ready_task(Project.objects.get(slug="birds"), candidates=2, prompt=XSS)
    page, reports = watched(member)

    page.goto("/")
    expect(page.get_by_role("link", name=NAME_XSS)).to_be_visible()
    assert_no_script_ran(page, reports)

    page.goto("/p/birds/")
    expect(page.get_by_text(XSS).first).to_be_visible()
    assert_no_script_ran(page, reports)

    page.goto(f"/tasks/{task.pk}/")
    expect(page.locator("h1.prompt")).to_have_text(XSS)
    assert_no_script_ran(page, reports)


def test_html_in_an_answer_and_in_a_correction_shows_as_text_on_the_review_pages(watched, member):
    task = Task.objects.create(project=Project.objects.get(slug="answers"), prompt=XSS, source="batch", status="ready")
    answer = Candidate.objects.create(
        task=task, index=0, text=ANSWER_XSS, confidence=0.2, review_state=Candidate.ReviewState.NEEDS_REVIEW
    )
    page, reports = watched(member)

    page.goto(f"/review/{answer.uid}/")
    expect(page.locator("#answer-text")).to_have_text(ANSWER_XSS)
    expect(page.locator(".prompt")).to_have_text(XSS)
    assert_no_script_ran(page, reports)

    page.keyboard.press("e")
    page.locator("#corrected-text").fill(CORRECTION_XSS)
    expect(page.locator("#diff-preview ins").first).to_be_visible()  # the live diff of the correction
    assert_no_script_ran(page, reports)
    page.keyboard.press("Control+Enter")

    expect(page.locator("h1")).to_have_text("Correction saved")
    # A word diff of answer and correction: the markup of both shows as words.
    expect(page.locator("#diff-preview ins").first).to_have_text("<svg")
    expect(page.locator("#diff-preview")).to_contain_text('onload="window.__xss=4"></svg>')
    assert_no_script_ran(page, reports)
    assert Review.objects.get(candidate=answer).corrected_text == CORRECTION_XSS

    page.goto(f"/tasks/{task.pk}/")
    expect(page.locator(".answer").first).to_contain_text(ANSWER_XSS)
    assert_no_script_ran(page, reports)


def test_html_in_a_streamed_llm_answer_shows_as_text(watched, member, fake_llm):  # noqa: F811
    purge_queues()
    task = Task.objects.create(project=Project.objects.get(slug="answers"), prompt=XSS, source="batch")
    fake_llm.answer(confident(ANSWER_XSS))
    page, reports = watched(member)
    page.goto(f"/tasks/{task.pk}/")

    with page.expect_websocket():
        page.get_by_role("button", name="Generate answer").click()
    with celery_worker():
        page.locator(".answer-state", has_text="Answer 1").wait_for(timeout=30_000)

    assert Candidate.objects.get(task=task).text == ANSWER_XSS
    expect(page.locator(".answer").first).to_contain_text(ANSWER_XSS)
    assert_no_script_ran(page, reports)
