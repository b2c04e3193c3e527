"""The soak's data: two projects (images, answers), the people with sessions, and work for the whole run."""

from dataclasses import dataclass
from pathlib import Path

from bench.sessions import logged_in_session_key
from bench.soak_config import (
    ANNOTATORS,
    CANDIDATES_PER_TASK,
    IMAGE_PROJECT,
    REVIEWERS,
    SECONDS,
    TEXT_PROJECT,
    THINK_SECONDS,
)

OVERLAP = 3
DISTINCT_IMAGES = 997  # candidates share these files, so seeding stays quick and no inode collects too many links


@dataclass
class Person:
    session_key: str
    csrf_token: str


def seed(media_root: Path) -> tuple[list[Person], list[Person]]:
    """Two projects (images, answers), the people with sessions, and enough work for the whole run."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connections
    from django.utils.crypto import get_random_string
    from PIL import Image

    from accounts.models import User
    from labeling.models import Candidate, Membership, Project, Task

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    images = Project.objects.create(
        slug=IMAGE_PROJECT, name="Soak images", votes_per_candidate=OVERLAP, candidates_per_task=CANDIDATES_PER_TASK
    )
    answers = Project.objects.create(
        slug=TEXT_PROJECT, name="Soak answers", kind=Project.Kind.TEXT, candidates_per_task=1, reviews_per_answer=1
    )
    folder = media_root / "candidates"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(DISTINCT_IMAGES):
        Image.new("RGB", (8, 8), (number % 256, number // 256, 90)).save(folder / f"soak-{number}.png")

    # A person with no think time does about 12 requests per task; seed twice what the fastest could use.
    per_task_seconds = max(THINK_SECONDS, 0.05) * 7
    task_count = int(2 * SECONDS * ANNOTATORS / per_task_seconds / OVERLAP) + 100
    tasks = Task.objects.bulk_create(
        (
            Task(project=images, prompt=f"soak prompt {n}", source=Task.Source.BATCH, status=Task.Status.READY)
            for n in range(task_count)
        ),
        batch_size=2000,
    )
    Candidate.objects.bulk_create(
        (
            Candidate(
                task=task,
                index=index,
                image=f"candidates/soak-{(task.pk * CANDIDATES_PER_TASK + index) % DISTINCT_IMAGES}.png",
                model_name="soak-model",
                seed=task.pk * CANDIDATES_PER_TASK + index,
                params={"steps": 10, "guidance": 7.5},
            )
            for task in tasks
            for index in range(CANDIDATES_PER_TASK)
        ),
        batch_size=5000,
    )
    answer_count = int(2 * SECONDS * REVIEWERS / (max(THINK_SECONDS, 0.05) * 2)) + 100
    answer_tasks = Task.objects.bulk_create(
        (
            Task(project=answers, prompt=f"soak question {n}?", source=Task.Source.BATCH, status=Task.Status.READY)
            for n in range(answer_count)
        ),
        batch_size=2000,
    )
    Candidate.objects.bulk_create(
        (
            Candidate(
                task=task,
                index=0,
                text=f"Maybe the answer to question {task.pk} is {task.pk % 7}.",
                model_name="soak-llm",
                confidence=0.4,
                review_state=Candidate.ReviewState.NEEDS_REVIEW,
                review_reason="hedge words: maybe",
            )
            for task in answer_tasks
        ),
        batch_size=5000,
    )

    def people(prefix: str, count: int, project: Project, role: str) -> list[Person]:
        users = User.objects.bulk_create(
            User(username=f"{prefix}{n}", password=make_password(None)) for n in range(count)
        )
        Membership.objects.bulk_create(Membership(user=user, project=project, role=role) for user in users)
        return [Person(session_key=logged_in_session_key(user), csrf_token=get_random_string(32)) for user in users]

    annotators = people("soak-annotator", ANNOTATORS, images, Membership.Role.ANNOTATOR)
    reviewers = people("soak-reviewer", REVIEWERS, answers, Membership.Role.REVIEWER)
    print(f"seeded {task_count} image tasks, {answer_count} answers to review", flush=True)
    connections.close_all()
    return annotators, reviewers
