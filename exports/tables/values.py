"""Database values as the dataset writes them, each distinct value converted once."""

import functools
import json
import uuid


def steps_of(params: dict) -> int | None:
    value = params.get("steps", params.get("num_inference_steps"))
    return int(value) if value is not None else None


def guidance_of(params: dict) -> float | None:
    value = params.get("guidance", params.get("guidance_scale"))
    return float(value) if value is not None else None


@functools.lru_cache(maxsize=4096)
def generation_settings(raw_params: str | None) -> tuple[int | None, float | None]:
    """(steps, guidance) from a candidate's params as the database returns them (JSON text on both backends);
    most candidates share a few settings, so each distinct text is parsed once."""
    params = (json.loads(raw_params) if raw_params is not None else None) or {}
    return steps_of(params), guidance_of(params)


@functools.lru_cache(maxsize=4096)
def uuid_text(raw: str | uuid.UUID) -> str:
    """A UUID as the dataset writes it: PostgreSQL's driver returns UUIDs, SQLite the hex digits Django stores.
    The few annotators recur on every row, so each is formatted once."""
    return str(raw if isinstance(raw, uuid.UUID) else uuid.UUID(raw))
