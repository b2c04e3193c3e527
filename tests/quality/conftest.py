"""Quality fixtures: an arena project, and judgements made straight in the database."""

import pytest

from labeling.models import Membership, Preference, Project
from tests.factories import make_arena_task, member

ARENA_MODELS = ["alpha", "beta", "gamma"]


@pytest.fixture
def arena(db) -> Project:
    return Project.objects.create(
        slug="arena", name="Arena", kind=Project.Kind.IMAGE, candidates_per_task=2, arena_models="\n".join(ARENA_MODELS)
    )


@pytest.fixture
def arena_manager(arena):
    return member(arena, "mona", role=Membership.Role.MANAGER)


@pytest.fixture
def judge(arena):
    """``judge(user, models, choice, chosen_index)`` → a task of the arena with one judgement of it."""

    def _judge(user, models: list[str], choice: str = "best", chosen: int | None = 0) -> Preference:
        task = make_arena_task(arena, models)
        picked = task.candidates.get(index=chosen) if choice == "best" else None
        return Preference.objects.create(user=user, task=task, choice=choice, chosen=picked)

    return _judge
