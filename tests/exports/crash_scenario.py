"""Data for the crash tests, callable in the test process or in a manage.py subprocess (SQLite mode)."""

import json

from django.core.files.base import ContentFile

from accounts.models import User
from exports.due import export_due_count
from exports.models import ExportRun
from labeling.models import Candidate, Preference, Project, Review, Task, Vote
from tests.factories import png_bytes


def seed() -> None:
    """3 image tasks × 3 candidates: 18 votes (3 withdrawn before any export), a best pick and a tie per
    task (5 pairs each); one corrected and one accepted review on a text answer."""
    images = Project.objects.create(slug="birds", name="Birds")
    texts = Project.objects.create(slug="answers", name="Answers", kind=Project.Kind.TEXT)
    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    for t in range(3):
        task = Task.objects.create(project=images, prompt=f"bird {t}", source="typed", status="ready")
        for i in range(3):
            candidate = Candidate(task=task, index=i, model_name="tiny-sd", seed=i, params={"steps": 5})
            candidate.image.save(f"t{t}-{i}.png", ContentFile(png_bytes(t * 30 + i)), save=False)
            candidate.save()
            Vote.objects.create(user=ann, candidate=candidate, value=1 if i else -1)
            Vote.objects.create(user=bob, candidate=candidate, value=0 if i == 2 else 1)
        Preference.objects.create(user=ann, task=task, choice="best", chosen=task.candidates.get(index=1))
        Preference.objects.create(user=bob, task=task, choice="tie")
    answer = Task.objects.create(project=texts, prompt="2+2?", source="typed", status="ready")
    candidate = Candidate.objects.create(task=answer, index=0, text="5", confidence=0.3)
    Review.objects.create(reviewer=ann, candidate=candidate, decision="correct", original_text="5", corrected_text="4")
    Review.objects.create(reviewer=bob, candidate=candidate, decision="accept", original_text="5")


def inspect() -> dict:
    return {
        "votes": sorted(Vote.objects.exclude(value=0).values_list("pk", flat=True)),
        "preferences": sorted(Preference.objects.values_list("pk", flat=True)),
        "reviews": sorted(Review.objects.values_list("pk", flat=True)),
        "annotators": sorted(f"{slug}:{public_id}" for slug, public_id in _judges()),
        "committed": sorted(ExportRun.objects.exclude(commit_id="").values_list("batch", flat=True)),
        "running": ExportRun.objects.filter(status=ExportRun.Status.RUNNING).count(),
        "due": export_due_count(),
    }


def _judges() -> set[tuple[str, str]]:
    """(project slug, pseudonymous id) of everyone who judged something."""
    return {
        (slug, str(public_id))
        for rows in (
            Vote.objects.values_list("candidate__task__project__slug", "user__public_id"),
            Preference.objects.values_list("task__project__slug", "user__public_id"),
            Review.objects.values_list("candidate__task__project__slug", "reviewer__public_id"),
        )
        for slug, public_id in rows
    }


def print_inspect() -> None:
    print(json.dumps(inspect()))
