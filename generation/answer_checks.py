"""An LLM answer as a server sent it, made safe to store, with every reason a person must read it before it counts.

Whatever a server sends is stored or refused cleanly, never half-written: characters the database cannot hold
(``labeling.storable``: NUL, lone surrogates) are removed, and token probabilities that are not finite numbers are
dropped (JSON columns refuse NaN and infinity).
Each change is noted, and an answer that was changed, cut off, filtered, empty, or without usable token
probabilities goes to review with the reason, whatever its confidence.
"""

import math
from dataclasses import dataclass, field

from labeling.storable import storable_text

# The one finish reason that says the model ended its answer itself.
FINISHED = "stop"
FINISH_REASONS = {
    "length": "the server cut the answer off at its length limit (finish reason: length)",
    "content_filter": "the server's content filter withheld or cut the answer (finish reason: content_filter)",
}
EMPTY_ANSWER = "the model returned an empty answer"


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    token_logprobs: list[dict] | None
    concerns: list[str] = field(default_factory=list)  # why a person must read it, in the reviewer's words
    changes: list[str] = field(default_factory=list)  # what was changed so it could be stored


def _finish_concern(finish_reason: str | None) -> str | None:
    if finish_reason == FINISHED:
        return None
    unusual = f"the server ended the answer unusually (finish reason: {finish_reason})"
    return FINISH_REASONS.get(finish_reason or "", unusual)


def _storable_logprobs(token_logprobs: list[dict]) -> tuple[list[dict], int, int]:
    """Each token made storable and each logprob a finite number or None; how many characters were removed from
    tokens, and how many logprobs were unusable."""
    tokens, removed, unusable = [], 0, 0
    for item in token_logprobs:
        token, removed_here = storable_text(str(item.get("token") or ""))
        logprob = item.get("logprob")
        if isinstance(logprob, bool) or not isinstance(logprob, int | float) or not math.isfinite(logprob):
            logprob = None
            unusable += 1
        tokens.append({"token": token, "logprob": logprob})
        removed += removed_here
    return tokens, removed, unusable


def answer_check(*, text: str, token_logprobs: list[dict] | None, finish_reason: str | None) -> CheckedAnswer:
    """The answer in storable form, with what was changed and every reason it needs a person."""
    text, removed = storable_text(text)
    changes = []
    if removed:
        changes.append(f"{removed} character(s) that cannot be stored (NUL or broken Unicode) were removed")
    concerns = [concern] if (concern := _finish_concern(finish_reason)) else []
    if not text.strip():
        concerns.append(EMPTY_ANSWER)
    if token_logprobs:
        token_logprobs, removed_from_tokens, unusable = _storable_logprobs(token_logprobs)
        if unusable == len(token_logprobs):
            changes.append("none of the token probabilities was a number (NaN or infinite); they were dropped")
            token_logprobs = None
        elif unusable:
            changes.append(
                f"{unusable} of {len(token_logprobs)} token probabilities were not numbers (NaN or infinite); "
                "those tokens count as least sure"
            )
        if token_logprobs and "".join(item["token"] for item in token_logprobs) != text:
            concerns.append("the token probabilities do not match the answer's text")
        if removed_from_tokens and not removed:
            changes.append(f"{removed_from_tokens} character(s) that cannot be stored were removed from the tokens")
    concerns.extend(changes)
    return CheckedAnswer(text=text, token_logprobs=token_logprobs or None, concerns=concerns, changes=changes)
