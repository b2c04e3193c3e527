import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

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
            defaults={"name": "Demo LLM answers", "kind": Project.Kind.TEXT, "candidates_per_task": 1},
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
            for project in (image_project, text_project, quality_project):
                Membership.objects.create(user=user, project=project, role=role or Membership.Role.MANAGER)
            self.stdout.write(self.style.SUCCESS(f"Created user {username!r} with password {password!r} (shown once)."))
        self.stdout.write("Demo data is in place.")
