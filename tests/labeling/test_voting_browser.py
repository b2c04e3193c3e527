"""The annotator's experience in a real browser against the real ASGI server."""

import pytest
from playwright.sync_api import expect

from labeling.models import Preference, Task, Vote
from tests.factories import make_ready_task

pytestmark = pytest.mark.browser


def votes_in_db(user) -> list[tuple[int, int]]:
    return sorted(Vote.objects.filter(user=user).values_list("candidate__index", "value"))


def mark_page(page) -> None:
    """A marker that only survives if the page is never reloaded."""
    page.evaluate("window.__corralNoReload = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__corralNoReload === true")


def test_an_annotator_votes_with_the_mouse_and_changes_their_mind(login_page, annotator, project):
    task = make_ready_task(project)
    page = login_page(annotator)
    page.goto(task.get_absolute_url())
    mark_page(page)
    second = page.locator("#candidates .candidate").nth(1)

    second.locator(".vote-up").click()
    expect(second.locator(".vote-up")).to_have_attribute("aria-pressed", "true")
    second.locator(".vote-down").click()
    expect(second.locator(".vote-down")).to_have_attribute("aria-pressed", "true")
    expect(second.locator(".vote-up")).to_have_attribute("aria-pressed", "false")
    expect(second).to_have_class("candidate selected")
    assert_not_reloaded(page)
    assert votes_in_db(annotator) == [(1, Vote.Value.DOWN)]

    # A task that stops taking feedback says why, and nothing changes.
    Task.objects.filter(pk=task.pk).update(status=Task.Status.FAILED)
    second.locator(".vote-up").click()
    expect(page.locator("#vote-status")).to_contain_text("not taking feedback")
    expect(second.locator(".vote-down")).to_have_attribute("aria-pressed", "true")
    assert_not_reloaded(page)
    assert votes_in_db(annotator) == [(1, Vote.Value.DOWN)]


def test_an_annotator_judges_a_whole_task_with_the_keyboard_and_moves_on(login_page, annotator, project):
    first = make_ready_task(project, prompt="first prompt")
    second = make_ready_task(project, prompt="second prompt")
    page = login_page(annotator)
    page.goto(project.get_absolute_url())
    page.locator("#next-task").click()
    page.wait_for_url(f"**{first.get_absolute_url()}")
    mark_page(page)

    cards = page.locator("#candidates .candidate")
    for number, key in [(1, "u"), (2, "d"), (3, "u"), (4, "d")]:
        page.keyboard.press(str(number))
        expect(cards.nth(number - 1)).to_be_focused()
        page.keyboard.press(key)
        pressed = ".vote-up" if key == "u" else ".vote-down"
        expect(cards.nth(number - 1).locator(pressed)).to_have_attribute("aria-pressed", "true")

    expect(page.locator("#next-button")).to_have_class("primary judged")
    page.keyboard.press("b")  # the selected card, the 4th, is the best
    expect(cards.nth(3).locator(".choose-best")).to_have_attribute("aria-pressed", "true")
    expect(cards.nth(3)).to_have_class("candidate best selected")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    assert_not_reloaded(page)
    assert votes_in_db(annotator) == [(0, 1), (1, -1), (2, 1), (3, -1)]
    assert Preference.objects.get(user=annotator).chosen.index == 3

    page.keyboard.press("n")
    page.wait_for_url(f"**{second.get_absolute_url()}")
    expect(page.locator("h1.prompt")).to_have_text("second prompt")
    page.keyboard.press("x")
    expect(page.locator("#choose-all-bad")).to_have_attribute("aria-pressed", "true")
    assert Preference.objects.get(user=annotator, task=second).choice == Preference.Choice.ALL_BAD
    assert Vote.objects.filter(user=annotator).count() == 4
