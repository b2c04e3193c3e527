"""The demo's showcase (seed_demo): an image arena of two demo models, imported LLM answers for the review queue,
a text comparison task, and simulated annotators' judgements, so every page has something to show on a fresh
machine. Everything here is demo data, and the pages say so.
"""

import random
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from generation.demo_model import save_demo_model
from generation.image_jobs import image_job_run
from generation.images import demo_model_path
from generation.models import GenerationJob
from generation.text_jobs import answer_candidate_build
from labeling.models import Candidate, Membership, Preference, Project, Review, Task, Vote
from labeling.review_services import review_submit
from labeling.votes import preference_record, vote_cast

DEMO_ARENA_SLUG = "demo-arena"
DEMO_ARENA_PROMPTS = [
    "a paper boat on a puddle after rain",
    "a snowy mountain cabin at night, warm windows",
    "a tabby cat asleep on a stack of books",
    "a futuristic tram crossing a bridge at dawn",
    "a bowl of cherries on a marble table",
    "an astronaut tending a vegetable garden",
]
# The second demo model: the same tiny architecture with other random weights.
DEMO_SECOND_MODEL_SEED = 1
SIMULATED_ANNOTATORS = ["demo-annotator-1", "demo-annotator-2", "demo-annotator-3", "demo-annotator-4"]
SIMULATED_REVIEWER = "demo-reviewer"
# How often the simulated annotators prefer the first demo model: the leaderboard should find it ahead.
FIRST_MODEL_PREFERENCE = 0.7
DEMO_DAYS = 14

# Imported answers (prompt, answer, confidence the importing tool gave): confident ones pass, hedged or
# unsure ones wait for review.
DEMO_ANSWERS = [
    (
        "Explain in two sentences why the sky is blue.",
        "Sunlight is scattered by the molecules of the air, and blue light, with its shorter wavelength, is "
        "scattered much more than red. So blue light reaches our eyes from every direction of the sky.",
        0.93,
    ),
    ("What is the capital of Australia?", "I think it is probably Sydney, but I am not sure.", 0.41),
    (
        "Summarise the rules of chess castling.",
        "The king moves two squares towards a rook and that rook jumps over it. Neither piece may have moved, "
        "the squares between them must be empty, and the king may not be in, pass through or land in check.",
        0.88,
    ),
    ("How many bones does an adult human have?", "An adult human skeleton has 206 bones.", 0.97),
    ("Who wrote 'The Master and Margarita'?", "Maybe Anton Chekhov? It might be Bulgakov.", 0.35),
    (
        "What is the boiling point of water at the top of Mount Everest?",
        "Roughly 70 °C, possibly a little more, because the air pressure there is about a third of sea level.",
        0.58,
    ),
    ("Convert 5 miles to kilometres.", "5 miles is about 8.05 kilometres.", 0.95),
    ("When did the Berlin Wall fall?", "The Berlin Wall fell in 1991, I think, after the Soviet Union ended.", 0.46),
    ("What does HTTP status 404 mean?", "404 Not Found: the server has nothing at the requested address.", 0.91),
    ("Name the largest moon of Saturn.", "Saturn's largest moon is possibly Rhea, or maybe Titan.", 0.39),
]
DEMO_CORRECTIONS = {
    "What is the capital of Australia?": "The capital of Australia is Canberra.",
    "When did the Berlin Wall fall?": "The Berlin Wall fell on 9 November 1989.",
}
DEMO_COMPARISON = (
    "Give one tip for writing a clear commit message.",
    [
        ("Start with a short summary line in the imperative mood, e.g. 'Fix login redirect'.", "demo-writer-concise"),
        (
            "A good commit message, which is something many developers overlook, should ideally try to explain in "
            "some detail everything that was changed and perhaps also why, if possible.",
            "demo-writer-wordy",
        ),
    ],
)


def demo_arena_models() -> list[str]:
    return [demo_model_path(), demo_model_path("b")]


def demo_arena_project() -> tuple[Project, bool]:
    return Project.objects.get_or_create(
        slug=DEMO_ARENA_SLUG,
        defaults={
            "name": "Demo image arena",
            "kind": Project.Kind.IMAGE,
            "description": (
                "Demo data: an arena of two demo models (random weights, they draw noise). Each task shows two "
                "images of each model in a shuffled order, without saying which made which; the leaderboard ranks "
                "the models. Set SD_MODEL or list real models in the admin (project → Arena) for real images."
            ),
            "arena_models": "\n".join(demo_arena_models()),
            "candidates_per_task": 4,
            "votes_per_candidate": 3,
            "image_width": 64,
            "image_height": 64,
            "image_steps": 10,
            "forbid_self_voting": False,
            "allow_free_prompts": True,
        },
    )


def _simulated_people(projects: list[Project]) -> tuple[list, object]:
    """Demo annotators and a demo reviewer who cannot log in: they only stand for judgements already made."""
    User = get_user_model()
    people = []
    for username in [*SIMULATED_ANNOTATORS, SIMULATED_REVIEWER]:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username)
            user.set_unusable_password()
            user.save()
        role = Membership.Role.REVIEWER if username == SIMULATED_REVIEWER else Membership.Role.ANNOTATOR
        for project in projects:
            Membership.objects.get_or_create(user=user, project=project, defaults={"role": role})
        people.append(user)
    return people[:-1], people[-1]


def demo_arena_fill(*, project: Project, rng: random.Random) -> None:
    """Generate the arena's tasks now (two demo models, built if missing) and have the simulated annotators
    judge them, preferring the first model most of the time."""
    first, second = demo_arena_models()
    for path, seed in ((first, 0), (second, DEMO_SECOND_MODEL_SEED)):
        if not (Path(path) / "model_index.json").is_file():
            save_demo_model(Path(path), seed=seed)
    tasks = Task.objects.bulk_create(
        Task(project=project, prompt=prompt, source=Task.Source.BATCH) for prompt in DEMO_ARENA_PROMPTS
    )
    for task in tasks:
        job = GenerationJob.objects.create(
            task=task, kind=GenerationJob.Kind.IMAGE, progress_total=project.image_steps * 2
        )
        image_job_run(job_id=job.pk, worker="seed_demo")
    annotators, _ = _simulated_people([project])
    for task in Task.objects.filter(project=project, status=Task.Status.READY).order_by("pk"):
        candidates = list(task.candidates.order_by("index"))
        for user in annotators:
            _simulated_judgement(user=user, task=task, candidates=candidates, favourite=first, rng=rng)
    _spread_over_days(Vote.objects.filter(candidate__task__project=project), rng)
    _spread_over_days(Preference.objects.filter(task__project=project), rng)


def _simulated_judgement(*, user, task: Task, candidates: list[Candidate], favourite: str, rng: random.Random) -> None:
    for candidate in candidates:
        liked = FIRST_MODEL_PREFERENCE if candidate.model_name == favourite else 1 - FIRST_MODEL_PREFERENCE
        vote_cast(user=user, candidate_uid=candidate.uid, value="up" if rng.random() < liked else "down")
    if rng.random() < 0.1:
        preference_record(user=user, task=task, choice=Preference.Choice.TIE)
        return
    first_model_wins = rng.random() < FIRST_MODEL_PREFERENCE
    side = [c for c in candidates if (c.model_name == favourite) == first_model_wins]
    chosen = rng.choice(side or candidates)
    preference_record(user=user, task=task, choice=Preference.Choice.BEST, chosen=chosen)


def _spread_over_days(queryset, rng: random.Random) -> None:
    """Date the simulated judgements over the last days, so the dashboard's daily figures have a shape."""
    now = timezone.now()
    for pk in queryset.values_list("pk", flat=True):
        when = now - timedelta(days=rng.randrange(DEMO_DAYS), minutes=rng.randrange(600))
        queryset.model.objects.filter(pk=pk).update(created_at=when, updated_at=when)


def demo_answers_fill(*, project: Project, rng: random.Random) -> None:
    """Imported answers with their confidences (the hedged and unsure ones wait for review), a comparison task,
    and a few reviews by the simulated reviewer, leaving most flagged answers for the demo's reviewer."""
    if Candidate.objects.filter(task__project=project).exists():
        return
    existing = {task.prompt: task for task in project.tasks.all()}
    for prompt, answer, confidence in DEMO_ANSWERS:
        task = existing.get(prompt) or Task.objects.create(project=project, prompt=prompt, source=Task.Source.BATCH)
        answer_candidate_build(
            task=task, index=0, text=answer, given_confidence=confidence, params={"source": "import"}, rng=rng
        ).save()
        Task.objects.filter(pk=task.pk).update(status=Task.Status.READY)
    prompt, answers = DEMO_COMPARISON
    task = Task.objects.create(project=project, prompt=prompt, source=Task.Source.BATCH, status=Task.Status.READY)
    for index, (answer, model) in enumerate(answers):
        candidate = answer_candidate_build(
            task=task, index=index, text=answer, model_name=model, given_confidence=0.9, params={"source": "import"}
        )
        candidate.review_state, candidate.review_reason = Candidate.ReviewState.ACCEPTED, "comparison task"
        candidate.save()
    annotators, reviewer = _simulated_people([project])
    for user in annotators[:2]:
        preference_record(user=user, task=task, choice=Preference.Choice.BEST, chosen=task.candidates.get(index=0))
    for prompt, corrected in DEMO_CORRECTIONS.items():
        answer = Candidate.objects.get(task__project=project, task__prompt=prompt, index=0)
        review_submit(reviewer=reviewer, candidate=answer, decision=Review.Decision.CORRECT, corrected_text=corrected)
    _spread_over_days(Review.objects.filter(candidate__task__project=project), rng)
