"""Labeling fixtures: ready tasks, and the reviewers and flagged answers of the review pages."""

import itertools
import math

import pytest

from labeling.models import Candidate, Membership, Task
from tests.factories import make_ready_task, member

_prompts = itertools.count(1)


@pytest.fixture
def ready_task(project) -> Task:
    return make_ready_task(project)


@pytest.fixture
def text_reviewer(text_project):
    return member(text_project, "ravi", role=Membership.Role.REVIEWER)


@pytest.fixture
def other_reviewer(text_project):
    return member(text_project, "rosa", role=Membership.Role.REVIEWER)


@pytest.fixture
def flagged(text_project):
    """``flagged(text)`` → a saved answer of the text project waiting for review."""

    def _flagged(
        text: str = "Maybe the capital is Sydney.", tokens: list[tuple[str, float]] | None = None
    ) -> Candidate:
        task = Task.objects.create(
            project=text_project, prompt=f"Question {next(_prompts)}?", source="batch", status="ready"
        )
        logprobs = [{"token": token, "logprob": math.log(p)} for token, p in tokens] if tokens else None
        return Candidate.objects.create(
            task=task,
            index=0,
            text=text,
            token_logprobs=logprobs,
            confidence=0.4,
            uncertainty={"weakest_span": {"text": " Sydney", "token_start": 4, "token_end": 5, "mean_probability": 0.2}}
            if tokens
            else {},
            review_state=Candidate.ReviewState.NEEDS_REVIEW,
            review_reason="hedge words: maybe",
        )

    return _flagged
