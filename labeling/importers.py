"""Parsing and validation of prompt batch files (CSV or JSONL).

Validation is all-or-nothing: ``parse_prompt_file`` either returns every row
or raises ``PromptFileError`` listing each bad line with its reason.

Gold (control) tasks come in the same files: a row's expected judgement as a ``gold`` object (a JSON object in
JSONL, the same JSON text in a CSV cell), or as the flat fields ``gold_good`` and ``gold_bad`` (candidate
indexes, e.g. "0 2"), ``gold_best`` (an index, "tie" or "all_bad"), ``gold_decision`` and ``gold_text`` (the
expected review of the row's answer). A row with a ``task`` (an existing task's id) and no prompt sets that
task's gold instead of adding a prompt. Each definition is checked by labeling/gold.py.
"""

import csv
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from labeling.gold import GoldError, GoldTarget, gold_clean, gold_for_task
from labeling.models import Project, Task
from labeling.storable import holds_unstorable

SUPPORTED_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class PromptRow:
    line: int
    prompt: str
    extra: dict = field(default_factory=dict)
    response: str = ""  # an answer that came with the prompt (text projects)
    confidence: float | None = None
    gold: dict | None = None
    task_id: int | None = None  # the existing task whose gold the row sets (then it adds no prompt)


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
    if "prompt" not in columns and "task" not in columns:
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
        if "prompt" not in record and "task" not in record:
            rows.append((number, {"__error__": "missing field 'prompt'"}))
            continue
        if not isinstance(record.get("prompt", ""), str):
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


GOLD_FLAT_FIELDS = ("gold_good", "gold_bad", "gold_best", "gold_decision", "gold_text")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _indexes(value) -> list:
    """Candidate indexes as a list: a JSON list, one number, or text such as "0 2" or "0,2"."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [int(part) if part.isdigit() else part for part in value.replace(",", " ").split()]
    return [value]


def _flat_gold(fields: dict) -> dict:
    gold: dict = {}
    ratings = {}
    for name, rating in (("gold_good", "good"), ("gold_bad", "bad")):
        for index in _indexes(fields.get(name)) if name in fields else []:
            if str(index) in ratings:
                raise GoldError(f"candidate {index} is in both gold_good and gold_bad")
            ratings[str(index)] = rating
    if ratings:
        gold["ratings"] = ratings
    if "gold_best" in fields:
        best = fields["gold_best"]
        gold["best"] = int(best) if isinstance(best, str) and best.strip().isdigit() else best
    if "gold_text" in fields and "gold_decision" not in fields:
        raise GoldError("gold_text is the accepted text of a correction: give gold_decision 'correct' with it")
    if "gold_decision" in fields:
        expected = {"decision": fields["gold_decision"]}
        if "gold_text" in fields:
            expected["text"] = fields["gold_text"]
        gold["decisions"] = {"0": expected}
    return gold


def _gold_fields(record: dict) -> tuple[dict | None, int | None]:
    """Take the row's gold and ``task`` fields out of it: the gold definition as written (checked later against
    the task) and the existing task it names, if any. GoldError when they cannot be read."""
    task_ref = record.pop("task", None)
    gold = record.pop("gold", None)
    flat = {name: record.pop(name) for name in GOLD_FLAT_FIELDS if name in record}
    flat = {name: value for name, value in flat.items() if not _blank(value)}
    if isinstance(gold, str):
        if not gold.strip():
            gold = None
        else:
            try:
                gold = json.loads(gold)
            except json.JSONDecodeError as exc:
                example = '{"ratings": {"0": "good"}}'
                raise GoldError(f"'gold' is not valid JSON ({exc.msg}); write an object such as {example}") from None
    if gold is not None and flat:
        raise GoldError(f"give gold as a 'gold' object or as {', '.join(sorted(flat))}, not both")
    if flat:
        gold = _flat_gold(flat)
    task_id = None
    if not _blank(task_ref):
        text = str(task_ref).strip()
        if isinstance(task_ref, bool) or not text.isdigit():
            raise GoldError(f"'task' must be the id of a task of this project, got {task_ref!r}")
        task_id = int(text)
    return gold, task_id


def _existing_task_gold(row: PromptRow, *, tasks: dict[int, Task], project: Project, extra: dict) -> dict:
    """The gold of a row naming an existing task, checked against that task."""
    task = tasks.get(row.task_id)
    if task is None:
        raise GoldError(f"there is no task {row.task_id}")
    if row.gold is None:
        raise GoldError(f"a row naming an existing task (task {row.task_id}) must give its gold")
    if extra or row.response:
        names = ", ".join(repr(name) for name in sorted(extra or {"response": ""}))
        raise GoldError(f"a row naming an existing task only sets its gold; remove {names}")
    if row.prompt and row.prompt != task.prompt.strip():
        raise GoldError(f"the prompt is not task {task.pk}'s prompt; leave it empty or copy it exactly")
    return gold_for_task(row.gold, task=task, project=project)


def _new_task_gold(row: PromptRow, *, project: Project) -> dict | None:
    if row.gold is None:
        return None
    if project.kind == Project.Kind.TEXT and not row.response:
        raise GoldError("gold decisions judge an answer: give the answer in 'response'")
    return gold_clean(row.gold, target=GoldTarget.for_candidates(project, {0: row.response} if row.response else {}))


def _gold_checked(rows: list[PromptRow], extras: dict[int, dict], *, project: Project) -> list[RowError]:
    """Check each row's gold against its task (the existing one it names, or the one it will make); the rows
    keep their gold in its stored form."""
    tasks = Task.objects.select_related("project").in_bulk([row.task_id for row in rows if row.task_id])
    errors = []
    for position, row in enumerate(rows):
        try:
            if row.task_id is not None:
                gold = _existing_task_gold(row, tasks=tasks, project=project, extra=extras[row.line])
            else:
                gold = _new_task_gold(row, project=project)
        except GoldError as exc:
            errors.append(RowError(row.line, str(exc)))
            continue
        rows[position] = replace(row, gold=gold)
    return errors


def parse_prompt_file(
    *,
    filename: str,
    data: bytes,
    max_chars: int,
    max_bytes: int,
    existing_prompts: set[str] = frozenset(),
    with_answers: bool = False,
    project: Project | None = None,
) -> list[PromptRow]:
    """Every row of the file, or PromptFileError naming each bad line.

    ``with_answers`` (text projects) reads optional ``response`` and ``confidence`` columns as a given answer;
    ``project`` (the import's) reads gold fields and checks them against it; without it, gold fields stay extra.
    """
    if len(data) > max_bytes:
        raise PromptFileError([RowError(0, f"the file is {len(data):,} bytes; the limit is {max_bytes:,} bytes")])
    file_format = _file_format(filename)
    text = _decode(data)
    records = _csv_rows(text) if file_format == "csv" else _jsonl_rows(text)

    rows: list[PromptRow] = []
    extras: dict[int, dict] = {}
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
        prompt = record.get("prompt", "").strip()
        response, confidence, answer_error = _answer_fields(record) if with_answers else ("", None, "")
        gold, task_id = None, None
        if project is not None and not answer_error:
            try:
                gold, task_id = _gold_fields(record)
            except GoldError as exc:
                answer_error = str(exc)
        extra = {key: value for key, value in record.items() if key != "prompt"}
        if answer_error:
            errors.append(RowError(line, answer_error))
        elif task_id is not None:
            extras[line] = {key: value for key, value in extra.items() if not _blank(value)}
            rows.append(PromptRow(line=line, prompt=prompt, response=response, gold=gold, task_id=task_id))
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
            rows.append(
                PromptRow(line=line, prompt=prompt, extra=extra, response=response, confidence=confidence, gold=gold)
            )
    if project is not None:
        errors.extend(_gold_checked(rows, extras, project=project))
    if errors:
        raise PromptFileError(sorted(errors, key=lambda error: error.line))
    if not rows:
        raise PromptFileError([RowError(0, "the file holds no prompts")])
    return rows
