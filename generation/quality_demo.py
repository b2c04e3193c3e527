"""Demo judgements for the Quality page: drawn images (not generated), some of them gold, judged by three
careful demo annotators and one careless one who says 👍 to everything, quickly."""

import io
import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from labeling.models import Candidate, Membership, Preference, Project, Task, Vote

DEMO_PROMPTS = [
    "a red circle on a calm blue background",
    "a yellow square centred on green",
    "three white stripes on black",
    "an orange triangle at sunset",
    "a purple ring on grey",
    "a small blue dot in a white field",
    "two red bars crossing",
    "a green diamond on dark red",
    "a white moon over a black sea",
    "a pink square inside a teal square",
    "a brown circle beside a yellow one",
    "a black cross on pale yellow",
]
GOLD_EVERY = 4  # every fourth demo task is gold
CANDIDATES = 4
# (username, how they judge, seconds between judgements)
DEMO_ANNOTATORS = [
    ("demo-ana", "careful", 7),
    ("demo-ben", "careful", 9),
    ("demo-cleo", "careful", 6),
    ("demo-dash", "careless", 0.6),
]


def _drawing(rng: random.Random, good: bool) -> bytes:
    """A 64 px picture: a clean shape for a "good" candidate, scribbles for a "bad" one."""
    image = Image.new("RGB", (64, 64), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    colour = tuple(rng.randrange(256) for _ in range(3))
    if good:
        draw.ellipse((16, 16, 48, 48), fill=colour)
    else:
        for _ in range(12):
            draw.line([(rng.randrange(64), rng.randrange(64)) for _ in range(2)], fill=colour, width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _answer(style: str, good: bool, rng: random.Random) -> int:
    if style == "careless":
        return Vote.Value.UP
    right = Vote.Value.UP if good else Vote.Value.DOWN
    return right if rng.random() < 0.9 else -right


def seed_quality_demo(project: Project) -> None:
    rng = random.Random(14)
    truths: list[tuple[Task, list[Candidate], list[bool]]] = []
    for number, prompt in enumerate(DEMO_PROMPTS):
        good = [rng.random() < 0.5 for _ in range(CANDIDATES)]
        best = next((index for index, is_good in enumerate(good) if is_good), None)
        gold = None
        if number % GOLD_EVERY == 0:
            gold = {
                "ratings": {str(index): "good" if is_good else "bad" for index, is_good in enumerate(good)},
                "best": best if best is not None else "all_bad",
            }
        task = Task.objects.create(
            project=project,
            prompt=prompt,
            source=Task.Source.BATCH,
            status=Task.Status.READY,
            gold=gold,
            extra={"demo": "quality"},
        )
        candidates = []
        for index, is_good in enumerate(good):
            candidate = Candidate(task=task, index=index, model_name="demo drawing (not generated)", seed=index)
            candidate.image.save(f"demo-{task.pk}-{index}.png", ContentFile(_drawing(rng, is_good)), save=True)
            candidates.append(candidate)
        truths.append((task, candidates, good))

    User = get_user_model()
    start = timezone.now() - timedelta(hours=2)
    for username, style, seconds in DEMO_ANNOTATORS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": Membership.Role.ANNOTATOR})
        at = start
        for task, candidates, good in truths:
            for candidate, is_good in zip(candidates, good, strict=True):
                vote = Vote.objects.create(user=user, candidate=candidate, value=_answer(style, is_good, rng))
                at += timedelta(seconds=seconds * rng.uniform(0.7, 1.3))
                Vote.objects.filter(pk=vote.pk).update(created_at=at, updated_at=at)
            picked = next((c for c, is_good in zip(candidates, good, strict=True) if is_good), None)
            if style == "careless":
                choice, chosen = Preference.Choice.BEST, candidates[0]
            elif picked is None:
                choice, chosen = Preference.Choice.ALL_BAD, None
            else:
                choice, chosen = Preference.Choice.BEST, picked
            preference = Preference.objects.create(user=user, task=task, choice=choice, chosen=chosen)
            at += timedelta(seconds=seconds * rng.uniform(0.7, 1.3))
            Preference.objects.filter(pk=preference.pk).update(created_at=at, updated_at=at)
