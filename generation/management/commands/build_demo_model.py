from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.demo_model import DEMO_SEED, save_demo_model


class Command(BaseCommand):
    help = (
        "Build the tiny random-weight Stable Diffusion pipeline used when no SD_MODEL is set (its images are "
        "noise). Offline; takes a few seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, default=None, help="default: DEMO_MODEL_PATH")
        parser.add_argument(
            "--seed", type=int, default=DEMO_SEED, help="seed of the random weights: another seed, another model"
        )
        parser.add_argument("--if-missing", action="store_true", help="do nothing when the model is already there")

    def handle(self, *args, path: Path | None, seed: int, if_missing: bool, **options):
        target = path or settings.DEMO_MODEL_PATH
        if target.exists() and not target.is_dir():
            raise CommandError(f"{target} exists and is not a folder; choose another path.")
        if if_missing and (target / "model_index.json").is_file():
            self.stdout.write(f"The demo model is already at {target}.")
            return
        try:
            save_demo_model(target, seed=seed)
        except OSError as exc:
            raise CommandError(f"Cannot write the demo model to {target}: {exc.strerror or exc}.") from None
        self.stdout.write(self.style.SUCCESS(f"Built the demo model at {target} (random weights: it draws noise)."))
