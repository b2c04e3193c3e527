"""How sure an LLM answer looks, and whether a person should read it.

Pure functions over the answer text and its per-token log-probabilities
(``[{"token": str, "logprob": float}, ...]``, in answer order):

- ``assess`` measures: mean token probability, the weakest span (the window
  of a few consecutive tokens with the lowest mean probability, with its text
  and character offsets), the hedge words found, and a confidence in [0, 1].
- ``route`` decides: below the threshold, hedged, of unknown confidence, or with
  a concern about how the server sent it (cut off, filtered, empty…) → needs
  review with the reason; otherwise accepted, except a random audit share.
"""

import math
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

DEFAULT_SPAN_TOKENS = 4
REASON_MAX_CHARS = 300

ACCEPTED = "accepted"
NEEDS_REVIEW = "needs_review"
RANDOM_AUDIT = "random audit"
NO_CONFIDENCE = "confidence unknown (no token probabilities), so a person checks it"


def token_probabilities(token_logprobs: list[dict]) -> list[float]:
    """exp(logprob) per token, clamped to [0, 1]; a missing or malformed logprob counts as 0 (least sure)."""
    probabilities = []
    for item in token_logprobs:
        logprob = item.get("logprob")
        if not isinstance(logprob, int | float) or math.isnan(logprob):
            probabilities.append(0.0)
            continue
        probabilities.append(min(1.0, max(0.0, math.exp(min(logprob, 0.0)))))
    return probabilities


def mean_token_probability(token_logprobs: list[dict]) -> float | None:
    probabilities = token_probabilities(token_logprobs)
    return sum(probabilities) / len(probabilities) if probabilities else None


def weakest_span(token_logprobs: list[dict], *, window: int = DEFAULT_SPAN_TOKENS) -> dict | None:
    """The run of ``window`` consecutive tokens with the lowest mean probability (the first such run on ties).

    Offsets are character positions in the concatenated tokens, which is the answer text for a streamed answer.
    """
    probabilities = token_probabilities(token_logprobs)
    if not probabilities:
        return None
    window = max(1, min(window, len(probabilities)))
    best_start, best_sum = 0, sum(probabilities[:window])
    running = best_sum
    for start in range(1, len(probabilities) - window + 1):
        running += probabilities[start + window - 1] - probabilities[start - 1]
        if running < best_sum - 1e-12:
            best_start, best_sum = start, running
    tokens = [str(item.get("token", "")) for item in token_logprobs]
    char_start = sum(len(token) for token in tokens[:best_start])
    text = "".join(tokens[best_start : best_start + window])
    return {
        "text": text,
        "start": char_start,
        "end": char_start + len(text),
        "token_start": best_start,
        "token_end": best_start + window,
        "mean_probability": best_sum / window,
    }


def _hedge_pattern(phrase: str) -> re.Pattern:
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def hedges_found(text: str, hedge_words: list[str]) -> list[str]:
    """The hedge words and phrases that occur in ``text`` as whole words, case-insensitively, in list order."""
    found = []
    for phrase in hedge_words:
        phrase = phrase.strip()
        if phrase and phrase not in found and _hedge_pattern(phrase).search(text):
            found.append(phrase)
    return found


def confidence_from(mean_probability: float, weakest_mean: float) -> float:
    """Half the overall mean, half the weakest span: one shaky fact in a fluent answer still lowers the score."""
    return min(1.0, max(0.0, (mean_probability + weakest_mean) / 2))


@dataclass(frozen=True)
class Assessment:
    confidence: float | None
    mean_probability: float | None = None
    weakest_span: dict | None = None
    hedges: list[str] = field(default_factory=list)
    token_count: int = 0
    source: str = "logprobs"

    def as_json(self) -> dict:
        return asdict(self)


def assess(
    *,
    text: str,
    token_logprobs: list[dict] | None,
    hedge_words: list[str],
    given_confidence: float | None = None,
    window: int = DEFAULT_SPAN_TOKENS,
) -> Assessment:
    """Measure an answer; a ``given_confidence`` (e.g. from an import) wins over token probabilities."""
    hedges = hedges_found(text, hedge_words)
    if given_confidence is not None:
        return Assessment(confidence=min(1.0, max(0.0, given_confidence)), hedges=hedges, source="given")
    if not token_logprobs:
        return Assessment(confidence=None, hedges=hedges, source="none")
    mean = mean_token_probability(token_logprobs)
    span = weakest_span(token_logprobs, window=window)
    return Assessment(
        confidence=confidence_from(mean, span["mean_probability"]),
        mean_probability=mean,
        weakest_span=span,
        hedges=hedges,
        token_count=len(token_logprobs),
    )


@dataclass(frozen=True)
class Routing:
    state: str
    reason: str


def route(
    assessment: Assessment, *, threshold: float, audit_share: float, rng: random.Random, concerns: Sequence[str] = ()
) -> Routing:
    """Needs review when unsure or when there are ``concerns`` about the answer (every reason listed, concerns
    first); accepted otherwise, but for a random ``audit_share``."""
    reasons = list(concerns)
    if assessment.confidence is None:
        reasons.append(NO_CONFIDENCE)
    elif assessment.confidence < threshold:
        reasons.append(f"confidence {assessment.confidence:.2f} below threshold {threshold:.2f}")
    if assessment.hedges:
        reasons.append("hedge words: " + ", ".join(assessment.hedges))
    if reasons:
        return Routing(NEEDS_REVIEW, "; ".join(reasons)[:REASON_MAX_CHARS])
    if rng.random() < audit_share:
        return Routing(NEEDS_REVIEW, RANDOM_AUDIT)
    return Routing(ACCEPTED, "")
