import random
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from generation.demo_showcase import demo_answers_fill, demo_arena_fill, demo_arena_project
from generation.quality_demo import seed_quality_demo
from generation.services import image_generation_start
from labeling.models import Membership, Project, Task

DEMO_IMAGE_PROMPTS = [
    "a lighthouse on a cliff at sunset, oil painting",
    "a red fox in fresh snow, wildlife photograph",
    "an isometric pixel-art coffee shop",
    "a bowl of ramen, studio lighting, top view",
]
DEMO_TEXT_PROMPTS = [
    "Explain in two sentences why the sky is blue.",
    "What is the capital of Australia?",
    "Summarise the rules of chess castling.",
]
DEMO_USERS = [
    ("admin", {"is_staff": True, "is_superuser": True}, None),
    ("annotator", {}, Membership.Role.ANNOTATOR),
    ("reviewer", {}, Membership.Role.REVIEWER),
]


class Command(BaseCommand):
    help = (
        "Create demo users and projects once. New users' random passwords are printed once; re-running changes nothing."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        image_project, created_images = Project.objects.get_or_create(
            slug="demo-images",
            defaults={
                "name": "Demo images",
                "kind": Project.Kind.IMAGE,
                "description": "Stable Diffusion candidates to judge. Without SD_MODEL the demo model draws noise.",
                # Small and quick on a CPU; a real model wants 512 px and 30 steps.
                "image_width": 64,
                "image_height": 64,
                "image_steps": 10,
                # A playground: people judge the images of prompts they typed themselves.
                "forbid_self_voting": False,
            },
        )
        text_project, created_text = Project.objects.get_or_create(
            slug="demo-text",
            defaults={
                "name": "Demo LLM answers",
                "kind": Project.Kind.TEXT,
                "candidates_per_task": 1,
                "description": (
                    "Demo data: answers imported with the confidence their tool gave (hedged and unsure ones wait "
                    "in the review queue) and one comparison task. For live answers set OPENAI_BASE_URL (OpenAI, "
                    "vLLM, Ollama, llama.cpp) and OPENAI_API_KEY where the server needs one."
                ),
                # Confident answers are audited more often than usual, so the calibration plot has points above
                # the threshold too.
                "audit_share": 0.3,
            },
        )
        if created_images:
            tasks = Task.objects.bulk_create(
                Task(project=image_project, prompt=prompt, source=Task.Source.BATCH) for prompt in DEMO_IMAGE_PROMPTS
            )
            # Queued now, generated once a worker runs (the embedded one picks pending jobs up at start).
            for task in tasks:
                image_generation_start(task=task)
        if created_text:
            Task.objects.bulk_create(
                Task(project=text_project, prompt=prompt, source=Task.Source.BATCH) for prompt in DEMO_TEXT_PROMPTS
            )
        arena_project, created_arena = demo_arena_project()

        quality_project, created_quality = Project.objects.get_or_create(
            slug="demo-quality",
            defaults={
                "name": "Demo quality",
                "kind": Project.Kind.IMAGE,
                "description": "Drawn images (some of them gold) already judged by four demo annotators, one careless: "
                "open its Quality page.",
                "votes_per_candidate": 3,
            },
        )
        if created_quality:
            seed_quality_demo(quality_project)
            self.stdout.write("Demo quality: drawn tasks (some gold) judged by four demo annotators, one careless.")
        for username, flags, role in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=username, password=password, **flags)
            for project in (image_project, text_project, quality_project, arena_project):
                Membership.objects.create(user=user, project=project, role=role or Membership.Role.MANAGER)
            self.stdout.write(self.style.SUCCESS(f"Created user {username!r} with password {password!r} (shown once)."))
        self._showcase(text_project=text_project, arena_project=arena_project, created_arena=created_arena)
        self.stdout.write("Demo data is in place.")

    def _showcase(self, *, text_project: Project, arena_project: Project, created_arena: bool) -> None:
        """The arena, the imported answers and the simulated judgements (generation/demo_showcase.py)."""
        rng = random.Random(15)
        demo_answers_fill(project=text_project, rng=rng)
        if created_arena:
            # Demo users from an earlier seed join the arena too.
            for username, _flags, role in DEMO_USERS:
                user = get_user_model().objects.filter(username=username).first()
                if user is not None:
                    Membership.objects.get_or_create(
                        user=user, project=arena_project, defaults={"role": role or Membership.Role.MANAGER}
                    )
            self.stdout.write("Generating the demo arena's images with two demo models…")
            demo_arena_fill(project=arena_project, rng=rng)
