import math
import random

import pytest

from generation.uncertainty import (
    ACCEPTED,
    NEEDS_REVIEW,
    RANDOM_AUDIT,
    Assessment,
    assess,
    hedges_found,
    mean_token_probability,
    route,
    weakest_span,
)

HEDGES = ["maybe", "possibly", "not sure", "I think"]


def tokens(*pairs):
    return [{"token": token, "logprob": math.log(probability)} for token, probability in pairs]


def test_mean_token_probability_averages_probabilities_not_logprobs():
    assert mean_token_probability(tokens(("a", 0.9), ("b", 0.5))) == pytest.approx(0.7)
    assert mean_token_probability([]) is None


def test_a_malformed_logprob_counts_as_least_sure():
    assert mean_token_probability([{"token": "a", "logprob": None}, {"token": "b", "logprob": 0.0}]) == 0.5


def test_the_weakest_span_is_the_window_with_the_lowest_mean_and_knows_its_text_and_offsets():
    answer = tokens(("The", 0.99), (" capital", 0.98), (" is", 0.97), (" Syd", 0.2), ("ney", 0.3), (".", 0.95))
    span = weakest_span(answer, window=2)
    assert span["text"] == " Sydney"
    assert (span["start"], span["end"]) == (14, 21)
    assert "The capital is Sydney."[span["start"] : span["end"]] == " Sydney"
    assert (span["token_start"], span["token_end"]) == (3, 5)
    assert span["mean_probability"] == pytest.approx(0.25)


def test_a_window_longer_than_the_answer_covers_the_whole_answer():
    span = weakest_span(tokens(("Hi", 0.5), ("!", 0.7)), window=8)
    assert span["text"] == "Hi!" and span["mean_probability"] == pytest.approx(0.6)


def test_hedges_are_found_case_insensitively_as_whole_words_and_phrases():
    text = "Maybe it is Paris, but I'm NOT   sure. Mayberry is a town."
    assert hedges_found(text, HEDGES) == ["maybe", "not sure"]
    assert hedges_found("Mayberry possiblyx", HEDGES) == []
    assert hedges_found("i think so", HEDGES) == ["I think"]


def test_a_fluent_answer_with_one_shaky_span_scores_lower_than_its_mean():
    answer = tokens(*[(" word", 0.99)] * 20, (" Syd", 0.1), ("ney", 0.1), *[(" word", 0.99)] * 20)
    assessment = assess(text="".join(t["token"] for t in answer), token_logprobs=answer, hedge_words=HEDGES, window=2)
    assert assessment.mean_probability > 0.9
    assert assessment.confidence < assessment.mean_probability
    assert assessment.weakest_span["text"] == " Sydney"


def test_a_given_confidence_wins_over_token_probabilities():
    assessment = assess(text="Paris.", token_logprobs=tokens(("Paris.", 0.1)), hedge_words=HEDGES, given_confidence=0.9)
    assert assessment.confidence == 0.9 and assessment.source == "given"


def test_low_confidence_goes_to_review_with_the_numbers_in_the_reason():
    routing = route(Assessment(confidence=0.42), threshold=0.7, audit_share=0.0, rng=random.Random(1))
    assert routing.state == NEEDS_REVIEW
    assert routing.reason == "confidence 0.42 below threshold 0.70"


def test_a_hedged_confident_answer_goes_to_review():
    routing = route(Assessment(confidence=0.99, hedges=["maybe"]), threshold=0.7, audit_share=0.0, rng=random.Random(1))
    assert routing.state == NEEDS_REVIEW and routing.reason == "hedge words: maybe"


def test_unknown_confidence_goes_to_review_and_says_why():
    routing = route(Assessment(confidence=None), threshold=0.7, audit_share=0.0, rng=random.Random(1))
    assert routing.state == NEEDS_REVIEW and "confidence unknown" in routing.reason


def test_a_confident_answer_is_accepted_when_no_audit_is_drawn():
    routing = route(Assessment(confidence=0.95), threshold=0.7, audit_share=0.0, rng=random.Random(1))
    assert routing.state == ACCEPTED and routing.reason == ""


def test_the_audit_share_of_confident_answers_goes_to_review():
    rng = random.Random(20240601)
    draws = 4000
    audited = sum(
        route(Assessment(confidence=0.95), threshold=0.7, audit_share=0.1, rng=rng).reason == RANDOM_AUDIT
        for _ in range(draws)
    )
    # Binomial(4000, 0.1): sd ≈ 19; 5 sd either side.
    assert 400 - 95 <= audited <= 400 + 95


def test_an_audit_share_of_one_sends_everything_to_review_and_zero_nothing():
    rng = random.Random(3)
    assert route(Assessment(confidence=0.99), threshold=0.7, audit_share=1.0, rng=rng).reason == RANDOM_AUDIT
    assert all(
        route(Assessment(confidence=0.99), threshold=0.7, audit_share=0.0, rng=rng).state == ACCEPTED
        for _ in range(200)
    )
