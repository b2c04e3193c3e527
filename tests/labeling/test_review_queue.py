from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from labeling.models import Candidate, Membership, Review, ReviewReservation
from labeling.review_diff import word_diff
from labeling.review_services import ReviewError, review_reserve_next, review_submit
from tests.factories import member

SYDNEY = [("Maybe", 0.5), (" the", 0.9), (" capital", 0.95), (" is", 0.9), (" Sydney", 0.2), (".", 0.99)]


def save(client, candidate, **data):
    return client.post(reverse("labeling-review-save", args=[candidate.uid]), data)


def test_the_queue_hands_out_the_oldest_answer_first(client, text_reviewer, flagged):
    first, second = flagged(), flagged()
    client.force_login(text_reviewer)
    response = client.get(reverse("labeling-review-next", args=["answers"]))
    assert response.url == reverse("labeling-review-answer", args=[first.uid])
    assert second.pk > first.pk


def test_the_page_shows_prompt_shaded_tokens_score_and_why_it_was_flagged(client, text_reviewer, flagged):
    candidate = flagged("Maybe the capital is Sydney.", tokens=SYDNEY)
    client.force_login(text_reviewer)
    page = client.get(reverse("labeling-review-answer", args=[candidate.uid])).content.decode()
    assert candidate.task.prompt in page
    assert (
        'class="token weakest" style="background-color: rgba(194, 59, 59, 0.480)" title="p = 0.20"> Sydney</span>'
        in page
    )
    assert 'Confidence: <strong id="confidence">0.40</strong>' in page
    assert "hedge words: maybe" in page


def test_two_reviewers_never_get_the_same_answer_at_the_same_moment(
    text_project, text_reviewer, other_reviewer, flagged
):
    first, second = flagged(), flagged()
    assert review_reserve_next(user=text_reviewer, project=text_project) == first
    assert review_reserve_next(user=other_reviewer, project=text_project) == second
    assert review_reserve_next(user=text_reviewer, project=text_project) == first
    third_reviewer = member(text_project, "remy", role=Membership.Role.REVIEWER)
    assert review_reserve_next(user=third_reviewer, project=text_project) is None


def test_an_expired_hold_frees_the_answer(text_project, text_reviewer, other_reviewer, flagged):
    candidate = flagged()
    review_reserve_next(user=text_reviewer, project=text_project)
    ReviewReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert review_reserve_next(user=other_reviewer, project=text_project) == candidate


def test_accepting_marks_the_answer_reviewed_and_moves_on(client, text_reviewer, flagged):
    candidate, following = flagged(), flagged()
    client.force_login(text_reviewer)
    client.get(reverse("labeling-review-next", args=["answers"]))
    response = save(client, candidate, decision="accept")
    assert response.url == reverse("labeling-review-next", args=["answers"])
    candidate.refresh_from_db()
    assert candidate.review_state == Candidate.ReviewState.REVIEWED
    review = Review.objects.get()
    assert (review.decision, review.original_text, review.corrected_text) == ("accept", candidate.text, "")
    assert client.get(response.url).url == reverse("labeling-review-answer", args=[following.uid])


def test_a_correction_keeps_the_original_and_shows_a_word_diff(client, text_reviewer, flagged):
    candidate = flagged("Maybe the capital is Sydney.")
    client.force_login(text_reviewer)
    client.get(reverse("labeling-review-next", args=["answers"]))
    response = save(client, candidate, decision="correct", corrected_text="The capital is Canberra.\n")
    assert response.url == reverse("labeling-review-saved", args=[candidate.uid])
    review = Review.objects.get()
    assert review.original_text == "Maybe the capital is Sydney."
    assert review.corrected_text == "The capital is Canberra."
    page = client.get(response.url).content.decode()
    assert "<del>Maybe the</del><ins>The</ins>" in page
    assert "<del>Sydney.</del><ins>Canberra.</ins>" in page


def test_the_diff_preview_marks_inserted_and_deleted_words(client, text_reviewer, flagged):
    candidate = flagged("a b c")
    client.force_login(text_reviewer)
    response = client.post(reverse("labeling-review-diff", args=[candidate.uid]), {"corrected_text": "a x c d"})
    assert "<span>a </span><del>b</del><ins>x</ins><span> c</span><ins> d</ins>" in response.content.decode()


def test_word_diff_of_identical_text_is_one_unchanged_part():
    assert [(part.kind, part.text) for part in word_diff("same text", "same text")] == [("same", "same text")]


def test_an_empty_correction_is_refused_and_nothing_is_saved(client, text_reviewer, flagged):
    candidate = flagged()
    client.force_login(text_reviewer)
    response = save(client, candidate, decision="correct", corrected_text="   \n ")
    assert response.status_code == 400
    assert "The correction is empty" in response.content.decode()
    assert not Review.objects.exists()
    candidate.refresh_from_db()
    assert candidate.review_state == Candidate.ReviewState.NEEDS_REVIEW


def test_a_refused_correction_keeps_the_reviewers_text_on_the_page(client, text_reviewer, flagged):
    candidate = flagged("Answer.")
    client.force_login(text_reviewer)
    response = save(client, candidate, decision="correct", corrected_text="Answer.")
    assert response.status_code == 400
    assert "the same as the answer" in response.content.decode()


def test_a_reject_stores_its_optional_reason(client, text_reviewer, flagged):
    candidate = flagged()
    client.force_login(text_reviewer)
    save(client, candidate, decision="reject", reason="Wrong city")
    review = Review.objects.get()
    assert (review.decision, review.reason, review.corrected_text) == ("reject", "Wrong city", "")


def test_an_unknown_decision_is_refused(client, text_reviewer, flagged):
    candidate = flagged()
    client.force_login(text_reviewer)
    response = save(client, candidate, decision="approve")
    assert response.status_code == 400 and "decision" in response.content.decode()
    assert not Review.objects.exists()


def test_an_already_reviewed_answer_is_not_overwritten(client, text_reviewer, other_reviewer, flagged):
    candidate = flagged()
    review_submit(reviewer=other_reviewer, candidate=candidate, decision="correct", corrected_text="Canberra.")
    client.force_login(text_reviewer)
    response = save(client, candidate, decision="accept")
    assert response.status_code == 400
    assert "already been reviewed by someone else; nothing was changed" in response.content.decode()
    assert list(Review.objects.values_list("reviewer__username", "decision")) == [("rosa", "correct")]
    page = client.get(reverse("labeling-review-answer", args=[candidate.uid])).content.decode()
    assert "This answer is not waiting for review" in page and 'id="review-form"' not in page


def test_a_reviewer_cannot_review_the_same_answer_twice(text_project, text_reviewer, flagged):
    text_project.reviews_per_answer = 2
    text_project.save()
    candidate = flagged()
    review_submit(reviewer=text_reviewer, candidate=candidate, decision="accept")
    with pytest.raises(ReviewError, match="already reviewed this answer"):
        review_submit(reviewer=text_reviewer, candidate=candidate, decision="reject")


def test_several_reviews_per_answer_need_distinct_reviewers(text_project, text_reviewer, other_reviewer, flagged):
    text_project.reviews_per_answer = 2
    text_project.max_judgements = 2  # no adaptive overlap: differing decisions finish the answer at two reviews too
    text_project.save()
    candidate = flagged()
    assert review_reserve_next(user=text_reviewer, project=text_project) == candidate
    assert review_reserve_next(user=other_reviewer, project=text_project) == candidate
    review_submit(reviewer=text_reviewer, candidate=candidate, decision="accept")
    candidate.refresh_from_db()
    assert candidate.review_state == Candidate.ReviewState.NEEDS_REVIEW
    assert review_reserve_next(user=text_reviewer, project=text_project) is None
    review_submit(reviewer=other_reviewer, candidate=candidate, decision="correct", corrected_text="Better.")
    candidate.refresh_from_db()
    assert candidate.review_state == Candidate.ReviewState.REVIEWED
    assert Review.objects.filter(candidate=candidate).count() == 2


def test_an_answer_held_by_another_reviewer_cannot_be_reviewed_past_the_queue(
    text_project, text_reviewer, other_reviewer, flagged
):
    candidate = flagged()
    review_reserve_next(user=other_reviewer, project=text_project)
    with pytest.raises(ReviewError, match="Another reviewer is working on this answer"):
        review_submit(reviewer=text_reviewer, candidate=candidate, decision="accept")


def test_an_answer_of_another_project_is_not_found(client, outsider, flagged):
    candidate = flagged()
    client.force_login(outsider)
    assert client.get(reverse("labeling-review-answer", args=[candidate.uid])).status_code == 404
    assert save(client, candidate, decision="accept").status_code == 404
    assert client.get(reverse("labeling-review-next", args=["answers"])).status_code == 404
    assert not Review.objects.exists()


def test_annotators_may_not_review(client, text_project, flagged):
    annotator = member(text_project, "andy", role=Membership.Role.ANNOTATOR)
    candidate = flagged()
    client.force_login(annotator)
    assert client.get(reverse("labeling-review-next", args=["answers"])).status_code == 403
    assert save(client, candidate, decision="accept").status_code == 403


def test_the_project_page_shows_the_review_panel_to_reviewers(client, text_reviewer, flagged, settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    flagged(), flagged()
    client.force_login(text_reviewer)
    page = client.get(reverse("labeling-project", args=["answers"])).content.decode()
    assert "2 answers wait for review." in page
    assert reverse("labeling-review-next", args=["answers"]) in page
    assert "LLM not configured" in page


def test_an_empty_queue_says_so(client, text_reviewer):
    client.force_login(text_reviewer)
    assert (
        "No answers wait for your review"
        in client.get(reverse("labeling-review-next", args=["answers"])).content.decode()
    )


def test_the_review_link_shows_to_reviewers_and_leads_to_their_next_answer(client, text_reviewer, flagged):
    candidate = flagged()
    client.force_login(text_reviewer)
    dashboard = client.get(reverse("labeling-dashboard")).content.decode()
    assert f'href="{reverse("labeling-review-any")}"' in dashboard
    response = client.get(reverse("labeling-review-any"))
    assert response.url == reverse("labeling-review-next", args=["answers"])
    assert client.get(response.url).url == reverse("labeling-review-answer", args=[candidate.uid])


def test_the_review_link_says_so_when_nothing_waits_and_annotators_do_not_see_it(client, text_reviewer, annotator):
    client.force_login(text_reviewer)
    response = client.get(reverse("labeling-review-any"), follow=True)
    assert "No answers are waiting for your review right now." in response.content.decode()
    client.force_login(annotator)
    assert reverse("labeling-review-any") not in client.get(reverse("labeling-dashboard")).content.decode()
