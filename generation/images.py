"""The Stable Diffusion backend: loading pipelines and turning a prompt into images.

A pipeline is loaded once per worker process and model, then reused; the
heavy imports (torch, diffusers) happen on first use, so the web process that
imports this module for prompt checks does not pay for them.

Every image gets its own seed and its own ``torch.Generator`` (on the CPU, so
a seed gives the same starting noise on any device). The images of one call
are denoised as one batch, and kernels may round differently for another batch
shape: rendering the same seeds in the same order (a candidate's
``batch_seeds``) reproduces every pixel; one seed alone matches to within a
rounding step on a few pixels.
"""

import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

# CLIP's text encoder reads 77 tokens, two of which are the start and end markers.
CLIP_DEFAULT_TOKEN_LIMIT = 75


class ImageModelError(Exception):
    """The model cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class ImageParams:
    """Everything besides the prompt, the model and the seed that decides an image; stored per candidate."""

    steps: int
    guidance: float
    width: int
    height: int
    negative_prompt: str = ""
    scheduler: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


ProgressCallback = Callable[[int, int], None]

_pipelines: dict[str, object] = {}
_default_schedulers: dict[str, object] = {}
_run_locks: dict[str, threading.Lock] = {}
_load_lock = threading.Lock()


def configured_model(project_model: str = "") -> str:
    """The model a project generates with: its own, else SD_MODEL, else the local demo model."""
    return project_model or settings.SD_MODEL or str(settings.DEMO_MODEL_PATH)


def demo_model_path(variant: str = "") -> str:
    """Where the demo model is (``variant`` empty), or another random-weight demo model beside it (the demo
    arena's second model)."""
    path = settings.DEMO_MODEL_PATH
    return str(path.with_name(f"{path.name}-{variant}") if variant else path)


def is_demo_model(model: str) -> bool:
    return model == demo_model_path() or model.startswith(f"{demo_model_path()}-")


def device_and_dtype():
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.float16
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps", torch.float32
    return "cpu", torch.float32


def _load(model: str):
    from diffusers import StableDiffusionPipeline

    if is_demo_model(model) and not Path(model).exists():
        raise ImageModelError(
            f"The demo model is not built yet: run `python manage.py build_demo_model {model}`, "
            "or set SD_MODEL to a Stable Diffusion model."
        )
    device, dtype = device_and_dtype()
    try:
        pipe = StableDiffusionPipeline.from_pretrained(model, dtype=dtype)
    except Exception as exc:
        raise ImageModelError(f"Could not load the image model {model!r}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def pipeline_for(model: str):
    """The cached pipeline of ``model``, loading it on first use (one load even when threads race)."""
    pipe = _pipelines.get(model)
    if pipe is not None:
        return pipe
    with _load_lock:
        if model not in _pipelines:
            loaded = _load(model)
            _default_schedulers[model] = loaded.scheduler
            _run_locks[model] = threading.Lock()
            _pipelines[model] = loaded
        return _pipelines[model]


def _scheduler_for(pipe, model: str, name: str):
    default = _default_schedulers[model]
    if not name or name == type(default).__name__:
        return default
    compatible = {cls.__name__: cls for cls in default.compatibles}
    if name not in compatible:
        raise ImageModelError(
            f"Unknown scheduler {name!r} for this model; use one of: {', '.join(sorted(compatible))}, "
            "or leave it empty."
        )
    return compatible[name].from_config(default.config)


def render(
    *,
    model: str,
    prompt: str,
    seeds: list[int],
    params: ImageParams,
    on_progress: ProgressCallback | None = None,
) -> tuple[list, ImageParams]:
    """One PIL image per seed, and the parameters as actually used (the scheduler's class name filled in).

    ``on_progress(step, total)`` is called after every denoising step, the last call with step == total.
    """
    import torch

    pipe = pipeline_for(model)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]

    def step_end(pipeline, step: int, timestep, callback_kwargs: dict) -> dict:
        if on_progress is not None:
            on_progress(step + 1, pipeline.num_timesteps)
        return callback_kwargs

    # A pipeline holds per-call state (its scheduler's timesteps), so one call at a time per model.
    with _run_locks[model]:
        pipe.scheduler = _scheduler_for(pipe, model, params.scheduler)
        used = ImageParams(**{**params.as_dict(), "scheduler": type(pipe.scheduler).__name__})
        output = pipe(
            prompt,
            negative_prompt=params.negative_prompt or None,
            num_images_per_prompt=len(seeds),
            generator=generators,
            num_inference_steps=params.steps,
            guidance_scale=params.guidance,
            width=params.width,
            height=params.height,
            callback_on_step_end=step_end,
        )
    return output.images, used


_tokenizers: dict[str, object] = {}


def _local_tokenizer(model: str):
    """The model's tokenizer if its files are on this machine (never downloads); failures are not cached."""
    if model not in _tokenizers:
        from transformers import CLIPTokenizer

        try:
            _tokenizers[model] = CLIPTokenizer.from_pretrained(model, subfolder="tokenizer", local_files_only=True)
        except Exception:
            return None
    return _tokenizers[model]


_CLIP_WORDS = re.compile(r"[^\W\d_]+|\d|[^\s\w]+")


def prompt_token_count(*, model: str, prompt: str) -> tuple[int, int]:
    """(tokens in the prompt, tokens the model reads), with the model's own tokenizer when it is on disk.

    Without it, words and punctuation marks are counted: CLIP never makes fewer tokens than that.
    """
    tokenizer = _local_tokenizer(model)
    if tokenizer is None:
        return len(_CLIP_WORDS.findall(prompt.lower())), CLIP_DEFAULT_TOKEN_LIMIT
    count = len(tokenizer(prompt, add_special_tokens=False).input_ids)
    return count, tokenizer.model_max_length - 2
