"""Parsing and validation of prompt batch files (CSV or JSONL).

Validation is all-or-nothing: ``parse_prompt_file`` either returns every row
or raises ``PromptFileError`` listing each bad line with its reason.
"""

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import PurePath

from labeling.storable import holds_unstorable

SUPPORTED_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class PromptRow:
    line: int
    prompt: str
    extra: dict = field(default_factory=dict)
    response: str = ""  # an answer that came with the prompt (text projects)
    confidence: float | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


class PromptFileError(ValueError):
    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


def _file_format(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise PromptFileError(
            [RowError(0, f"unsupported file type {suffix or '(none)'!r}: upload a .csv or .jsonl file")]
        )
    return SUPPORTED_SUFFIXES[suffix]


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    errors = []
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        try:
            raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(RowError(number, f"not valid UTF-8 (byte {exc.start + 1}); save the file as UTF-8"))
    raise PromptFileError(errors)


def _csv_rows(text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _csv_records(reader)
    except csv.Error as exc:
        # A field longer than the csv module reads (131,072 characters), for one: nothing can be read after it.
        raise PromptFileError([RowError(reader.line_num, f"unreadable CSV ({exc})")]) from None


def _csv_records(reader: csv.DictReader) -> list[tuple[int, dict]]:
    columns = [(name or "").strip() for name in (reader.fieldnames or [])]
    if "prompt" not in columns:
        found = ", ".join(repr(name) for name in columns) or "none"
        hint = " (is the delimiter a comma?)" if len(columns) == 1 else ""
        raise PromptFileError([RowError(1, f"missing column 'prompt'; found columns: {found}{hint}")])
    reader.fieldnames = columns
    rows = []
    for record in reader:
        if None in record:
            rows.append((reader.line_num, {"__error__": "more values than columns in the header"}))
            continue
        rows.append((reader.line_num, {key: value or "" for key, value in record.items()}))
    return rows


class _NotFinite(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _refuse_constant(name: str):
    raise _NotFinite(name)


def _jsonl_rows(text: str) -> list[tuple[int, dict]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            # NaN, Infinity and numbers too large for a float are not JSON a database column can hold.
            record = json.loads(line, parse_float=_finite, parse_constant=_refuse_constant)
        except _NotFinite as exc:
            rows.append((number, {"__error__": f"the number {exc} is not finite; write a number or a string"}))
            continue
        except json.JSONDecodeError as exc:
            rows.append((number, {"__error__": f"not valid JSON ({exc.msg})"}))
            continue
        if not isinstance(record, dict):
            rows.append((number, {"__error__": "each line must be a JSON object with a 'prompt' field"}))
            continue
        if "prompt" not in record:
            rows.append((number, {"__error__": "missing field 'prompt'"}))
            continue
        if not isinstance(record["prompt"], str):
            rows.append((number, {"__error__": "'prompt' must be a string"}))
            continue
        rows.append((number, record))
    return rows


def _holds_unstorable(value) -> bool:
    """Whether a character no database can store (NUL, a lone surrogate) is anywhere in a row."""
    if isinstance(value, str):
        return holds_unstorable(value)
    if isinstance(value, dict):
        return any(_holds_unstorable(key) or _holds_unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_unstorable(item) for item in value)
    return False


def _answer_fields(record: dict) -> tuple[str, float | None, str]:
    """The optional ``response`` and ``confidence`` of a row, or the reason they are unusable."""
    response = record.pop("response", None)
    confidence = record.pop("confidence", None)
    if response is None:
        response = ""
    if not isinstance(response, str):
        return "", None, "'response' must be a string"
    response = response.strip()
    if confidence is None or (isinstance(confidence, str) and not confidence.strip()):
        return response, None, ""
    if not response:
        return "", None, "'confidence' is given but 'response' is empty"
    try:
        value = float(confidence) if not isinstance(confidence, bool) else float("nan")
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        return "", None, f"confidence must be a number from 0 to 1, got {confidence!r}"
    return response, value, ""


def parse_prompt_file(
    *,
    filename: str,
    data: bytes,
    max_chars: int,
    max_bytes: int,
    existing_prompts: set[str] = frozenset(),
    with_answers: bool = False,
) -> list[PromptRow]:
    """Every row of the file, or PromptFileError naming each bad line.

    ``with_answers`` (text projects) reads optional ``response`` and ``confidence`` columns as a given answer.
    """
    if len(data) > max_bytes:
        raise PromptFileError([RowError(0, f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")])
    file_format = _file_format(filename)
    text = _decode(data)
    records = _csv_rows(text) if file_format == "csv" else _jsonl_rows(text)

    rows: list[PromptRow] = []
    errors: list[RowError] = []
    first_line_of: dict[str, int] = {}
    for line, record in records:
        if "__error__" in record:
            errors.append(RowError(line, record["__error__"]))
            continue
        if _holds_unstorable(record):
            errors.append(
                RowError(line, "contains a NUL character or a broken Unicode escape (a lone surrogate); remove it")
            )
            continue
        prompt = record["prompt"].strip()
        response, confidence, answer_error = _answer_fields(record) if with_answers else ("", None, "")
        extra = {key: value for key, value in record.items() if key != "prompt"}
        if answer_error:
            errors.append(RowError(line, answer_error))
        elif not prompt:
            errors.append(RowError(line, "empty prompt"))
        elif len(prompt) > max_chars:
            errors.append(RowError(line, f"prompt is {len(prompt):,} characters; the limit is {max_chars:,}"))
        elif prompt in first_line_of:
            errors.append(RowError(line, f"duplicate of the prompt on line {first_line_of[prompt]}"))
        elif prompt in existing_prompts:
            errors.append(RowError(line, "duplicate of a prompt already in this project"))
        else:
            first_line_of[prompt] = line
            rows.append(PromptRow(line=line, prompt=prompt, extra=extra, response=response, confidence=confidence))
    if errors:
        raise PromptFileError(errors)
    if not rows:
        raise PromptFileError([RowError(0, "the file holds no prompts")])
    return rows
