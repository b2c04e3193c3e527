"""Word-level differences between an answer and its correction, and the answer's per-token shading."""

import difflib
import math
import re
from dataclasses import dataclass

_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class DiffPart:
    kind: str  # same | insert | delete
    text: str


def word_diff(original: str, corrected: str) -> list[DiffPart]:
    """The correction as kept, deleted and inserted runs of words (whitespace kept with its words)."""
    before, after = _WORDS.findall(original), _WORDS.findall(corrected)
    parts: list[DiffPart] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for operation, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if operation == "equal":
            parts.append(DiffPart("same", "".join(before[a_start:a_end])))
            continue
        if a_end > a_start:
            parts.append(DiffPart("delete", "".join(before[a_start:a_end])))
        if b_end > b_start:
            parts.append(DiffPart("insert", "".join(after[b_start:b_end])))
    return parts


@dataclass(frozen=True)
class ShadedToken:
    text: str
    probability: float
    shade: float  # 0 (sure) … 0.6 (unsure): the background's opacity
    weakest: bool


def shaded_tokens(*, text: str, token_logprobs: list[dict] | None, weakest_span: dict | None) -> list[ShadedToken]:
    """Tokens with their probabilities, or an empty list when the tokens do not spell the stored text."""
    if not token_logprobs or "".join(str(item.get("token", "")) for item in token_logprobs) != text:
        return []
    start, end = (weakest_span["token_start"], weakest_span["token_end"]) if weakest_span else (-1, -1)
    tokens = []
    for position, item in enumerate(token_logprobs):
        logprob = item.get("logprob")
        probability = math.exp(min(logprob, 0.0)) if isinstance(logprob, int | float) else 0.0
        tokens.append(
            ShadedToken(
                text=str(item["token"]),
                probability=probability,
                shade=round((1 - probability) * 0.6, 3),
                weakest=start <= position < end,
            )
        )
    return tokens
