"""Typed readers for settings that come from the environment.

Each helper returns the default when the variable is unset or empty, and
raises ImproperlyConfigured with the variable's name when a value is malformed,
so a typo in a deployment fails at start-up rather than at the first request.
"""

import json
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name).lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if not value:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def env_llm_servers(name: str) -> dict[str, dict[str, str]]:
    """Named OpenAI-compatible servers from a JSON object: {"name": {"base_url": "...", "api_key": "..."}}.

    The key is optional (local servers take any); names are what an arena writes after ``@``.
    """
    value = env_str(name)
    if not value:
        return {}
    try:
        servers = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object, got invalid JSON ({exc})") from None
    if not isinstance(servers, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object of server name → settings")
    checked = {}
    for server, options in servers.items():
        if not server or any(char.isspace() or char == "@" for char in server):
            raise ImproperlyConfigured(f"{name}: server name {server!r} must be non-empty, without spaces or '@'")
        if not isinstance(options, dict) or not isinstance(options.get("base_url"), str) or not options["base_url"]:
            raise ImproperlyConfigured(f'{name}: server {server!r} needs a "base_url" string')
        if not isinstance(options.get("api_key", ""), str):
            raise ImproperlyConfigured(f'{name}: the "api_key" of server {server!r} must be a string')
        checked[server] = {"base_url": options["base_url"], "api_key": options.get("api_key", "")}
    return checked
