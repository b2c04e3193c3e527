"""Arenas: which model makes each candidate of a task, and whether an arena's models can be used.

A task of an arena gets candidates from at least two models, split as evenly as its candidate count allows, in
a random on-screen order. The order is stored as the candidates' indexes (a candidate's index is its position
on the page), and the model only on the candidate row, which no annotator's page shows.
"""

import random
from dataclasses import dataclass
from pathlib import Path

from generation import llm
from labeling.models import Project

_rng = random.SystemRandom()


@dataclass(frozen=True)
class TextModel:
    """An arena's LLM: a model name on the default server, or ``name@server`` on a server of OPENAI_SERVERS."""

    name: str
    server: str = ""

    @classmethod
    def parse(cls, spec: str) -> "TextModel":
        name, at, server = spec.rpartition("@")
        return cls(name=name, server=server) if at and name else cls(name=spec)

    @property
    def where(self) -> str:
        return f"The LLM server {self.server!r}" if self.server else "The LLM server (OPENAI_BASE_URL)"


def llm_refusal(project: Project) -> str | None:
    """Why the project's answers cannot be asked for: a server it uses is not configured; None when all are."""
    models = [TextModel.parse(spec) for spec in project.arena_model_list] or [TextModel(name="")]
    for server in dict.fromkeys(model.server for model in models):
        if not llm.llm_configured(server):
            return llm.not_configured_message(server)
    return None


def arena_plan(*, models: list[str], candidates: int, rng: random.Random | None = None) -> list[str]:
    """The model of each on-screen position: every model as often as the others (give or take one) when there
    are enough candidates, else a random choice of distinct models; then shuffled."""
    rng = rng or _rng
    if len(models) <= candidates:
        share, extra = divmod(candidates, len(models))
        plan = [model for model in models for _ in range(share)] + rng.sample(models, extra)
    else:
        plan = rng.sample(models, candidates)
    rng.shuffle(plan)
    return plan


def models_per_task(project: Project) -> int:
    """How many distinct models make one task's candidates (1 outside arenas)."""
    return min(len(project.arena_model_list), project.candidates_per_task) if project.is_arena else 1


def image_model_problem(model: str) -> str | None:
    """Why an image model cannot be used, when that can be told without loading it; None otherwise.

    A local folder must hold a diffusers pipeline; a hub id is checked when the worker loads it.
    """
    path = Path(model).expanduser()
    looks_local = model.startswith(("/", ".", "~")) or path.exists()
    if looks_local and not (path / "model_index.json").is_file():
        return (
            f"{model!r} is not a folder holding a diffusers pipeline (no model_index.json there); "
            f"for a demo model, run `python manage.py build_demo_model {model}`."
        )
    return None


def models_not_offered(models: list[TextModel]) -> list[str]:
    """One sentence per model its server does not offer (``models.list()``); LLMError when a server cannot be
    asked (transient when it may answer later)."""
    problems = []
    for server in dict.fromkeys(model.server for model in models):
        offered = llm.offered_models(server)
        for model in models:
            if model.server == server and model.name not in offered:
                listed = ", ".join(sorted(offered)[:20]) or "none"
                problems.append(f"{model.where} does not offer {model.name!r} (it offers: {listed}).")
    return problems


def text_model_problems(models: list[TextModel]) -> list[str]:
    try:
        return models_not_offered(models)
    except llm.LLMError as error:
        return [f"Cannot check the arena's models: {error.message}"]


def arena_model_problems(project: Project) -> list[str]:
    """What is wrong with an arena's models, one sentence each; empty when every model can be used."""
    if not project.is_arena:
        return []
    if project.kind == Project.Kind.IMAGE:
        return [problem for model in project.arena_model_list if (problem := image_model_problem(model))]
    return text_model_problems([TextModel.parse(spec) for spec in project.arena_model_list])
