import pytest
from playwright.sync_api import expect

from labeling.models import Candidate, Review

pytestmark = pytest.mark.browser


def test_a_reviewer_corrects_an_answer_with_the_keyboard_and_gets_the_next(login_page, text_reviewer, flagged):
    first = flagged("Maybe the capital is Sydney.")
    second = flagged("Water boils at 90 degrees, possibly.")
    page = login_page(text_reviewer)
    page.goto("/p/answers/")
    page.get_by_role("link", name="Start reviewing").click()
    expect(page.locator("#answer-text")).to_have_text("Maybe the capital is Sydney.")
    # The shortcuts exist once review.js has run, at the end of the page: wait for the whole page.
    page.wait_for_load_state("load")

    page.keyboard.press("e")
    editor = page.locator("#corrected-text")
    expect(editor).to_be_focused()
    editor.fill("The capital is Canberra.")
    expect(page.locator("#diff-preview ins")).to_have_text(["The", "Canberra."])
    expect(page.locator("#diff-preview del")).to_have_text(["Maybe the", "Sydney."])
    page.keyboard.press("Control+Enter")

    expect(page.locator("h1")).to_have_text("Correction saved")
    expect(page.locator("#diff-preview ins").first).to_have_text("The")
    page.wait_for_load_state("load")
    page.keyboard.press("n")
    expect(page.locator("#answer-text")).to_have_text(second.text)
    page.wait_for_load_state("load")

    review = Review.objects.get(candidate=first)
    assert (review.decision, review.original_text, review.corrected_text) == (
        "correct",
        "Maybe the capital is Sydney.",
        "The capital is Canberra.",
    )
    first.refresh_from_db()
    assert first.review_state == Candidate.ReviewState.REVIEWED

    page.keyboard.press("a")
    expect(page.locator("#review-empty")).to_be_visible()
    assert Review.objects.get(candidate=second).decision == "accept"
