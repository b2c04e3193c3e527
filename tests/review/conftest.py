import itertools
import math

import pytest

from labeling.models import Candidate, Membership, Task
from tests.conftest import make_user

_prompts = itertools.count(1)


def member(project, username: str, role=Membership.Role.REVIEWER):
    user = make_user(username)
    Membership.objects.create(user=user, project=project, role=role)
    return user


@pytest.fixture
def text_reviewer(text_project):
    return member(text_project, "ravi")


@pytest.fixture
def other_reviewer(text_project):
    return member(text_project, "rosa")


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
