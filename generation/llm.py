"""Chat completions from any OpenAI-compatible server, streamed, with token log-probabilities where offered.

The SDK's own retries are off (``max_retries=0``): the Celery task retries
with its own backoff, so every attempt shows on the job. Errors come out as
``LLMError`` with ``transient`` saying whether a later attempt may succeed.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

import httpx2
import openai
from django.conf import settings

NOT_CONFIGURED = "LLM not configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)."
TRANSIENT_STATUSES = {408, 409, 429}
UNREADABLE_REPLY = "the LLM server sent a reply that could not be read (not valid JSON, or not UTF-8 text)"
NOT_A_STREAM = (
    "the LLM server's reply held no answer: it was not a stream of chat completion chunks "
    "(check that OPENAI_BASE_URL points at an OpenAI-compatible API)"
)


class LLMError(Exception):
    def __init__(self, message: str, *, transient: bool, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.status = status


@dataclass(frozen=True)
class ChatResult:
    text: str
    token_logprobs: list[dict] | None
    model: str
    finish_reason: str | None
    logprobs_requested: bool


def llm_configured(server: str = "") -> bool:
    """Whether the default server (``server`` empty) or the named one is set up."""
    if server:
        return server in settings.OPENAI_SERVERS
    return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def not_configured_message(server: str = "") -> str:
    if not server:
        return NOT_CONFIGURED
    named = ", ".join(sorted(settings.OPENAI_SERVERS)) or "none"
    return f"No LLM server is named {server!r} in OPENAI_SERVERS (named there: {named})."


def _client(server: str = "") -> openai.OpenAI:
    if not llm_configured(server):
        raise LLMError(not_configured_message(server), transient=False)
    options = settings.OPENAI_SERVERS[server] if server else {}
    return openai.OpenAI(
        # Local servers (vLLM, Ollama, llama.cpp) take any key; the SDK insists on one.
        api_key=(options.get("api_key") if server else settings.OPENAI_API_KEY) or "no-key",
        base_url=(options["base_url"] if server else settings.OPENAI_BASE_URL) or None,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        max_retries=0,
    )


def offered_models(server: str = "") -> set[str]:
    """The model names the server offers (its ``models.list()``); LLMError when it cannot be asked."""
    client = _client(server)
    try:
        return {model.id for model in client.models.list()}
    except (openai.APIError, httpx2.TransportError) as exc:
        raise classify(exc) from exc


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return exc.message


def classify(exc: Exception) -> LLMError:
    """Transient: rate limits, server errors, timeouts, lost connections. Permanent: what the caller must fix."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"the LLM server did not answer within {settings.OPENAI_TIMEOUT_SECONDS:g} s", transient=True)
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return LLMError(f"could not reach the LLM server ({exc})", transient=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = _server_message(exc)
        code = exc.body.get("error", {}).get("code") if isinstance(exc.body, dict) else None
        # An exhausted quota answers 429 too, but waiting will not refill it.
        transient = (status in TRANSIENT_STATUSES or status >= 500) and code != "insufficient_quota"
        return LLMError(f"{status}: {message}", transient=transient, status=status)
    if isinstance(exc, openai.APIError):
        return LLMError(f"the LLM stream broke off: {exc}", transient=True)
    raise exc


def _mentions_logprobs(exc: openai.BadRequestError) -> bool:
    return "logprob" in f"{exc.message} {exc.body}".lower()


def _stream(
    client: openai.OpenAI, *, request: dict, with_logprobs: bool, on_delta: Callable[[str], None]
) -> ChatResult:
    extra = {"logprobs": True, "top_logprobs": 0} if with_logprobs else {}
    stream = client.chat.completions.create(**request, **extra, stream=True)
    parts: list[str] = []
    token_logprobs: list[dict] = []
    model = request["model"]
    finish_reason = None
    chunks = 0
    with stream:
        for chunk in stream:
            chunks += 1
            # The SDK builds chunks without validating them: every field is checked for the type it should have.
            chunk_model, choices = getattr(chunk, "model", None), getattr(chunk, "choices", None)
            model = chunk_model if isinstance(chunk_model, str) and chunk_model else model
            if not isinstance(choices, list) or not choices:
                continue
            choice = choices[0]
            chunk_finish = getattr(choice, "finish_reason", None)
            finish_reason = str(chunk_finish) if chunk_finish else finish_reason
            content = getattr(getattr(choice, "delta", None), "content", None)
            if isinstance(content, str) and content:
                parts.append(content)
                on_delta(content)
            logprobs = getattr(getattr(choice, "logprobs", None), "content", None)
            if isinstance(logprobs, list):
                token_logprobs.extend(
                    {"token": getattr(item, "token", ""), "logprob": getattr(item, "logprob", None)}
                    for item in logprobs
                )
    if finish_reason is None and not chunks:
        raise LLMError(NOT_A_STREAM, transient=True)
    if finish_reason is None:
        # The connection ended without the final chunk: what arrived is the start of an answer, not an answer.
        raise LLMError("the LLM stream broke off before the answer was complete", transient=True)
    return ChatResult(
        text="".join(parts),
        token_logprobs=token_logprobs or None,
        model=model,
        finish_reason=finish_reason,
        logprobs_requested=with_logprobs,
    )


def chat_stream(
    *,
    model: str,
    messages: list[dict],
    temperature: float,
    max_tokens: int,
    on_delta: Callable[[str], None],
    server: str = "",
) -> ChatResult:
    """Stream one answer, calling ``on_delta`` with each piece of text in order.

    Asks for log-probabilities; a server that rejects them (400 naming logprobs)
    is asked again without, and one that ignores them yields ``token_logprobs=None``.
    """
    client = _client(server)
    request = {"model": model, "messages": messages, "temperature": temperature, "max_tokens": max_tokens}
    try:
        try:
            return _stream(client, request=request, with_logprobs=True, on_delta=on_delta)
        except openai.BadRequestError as exc:
            if not _mentions_logprobs(exc):
                raise
            return _stream(client, request=request, with_logprobs=False, on_delta=on_delta)
    except (openai.APIError, httpx2.TransportError) as exc:
        raise classify(exc) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        # A reply the SDK cannot parse: an event that is not JSON, or bytes that are not UTF-8 text.
        raise LLMError(UNREADABLE_REPLY, transient=True) from exc
