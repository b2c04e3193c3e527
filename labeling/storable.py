"""What text no database column can hold: NUL, which PostgreSQL refuses in text and JSON, and lone UTF-16
surrogates, which cannot be encoded as UTF-8 at all (JSON's "\\ud800" escape makes one). SQLite keeps both, so a
fresh clone would not notice; the rule is stated here once, for imports (which refuse such rows) and for answers
from an LLM server (which are cleaned, with the change noted)."""

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> tuple[str, int]:
    """The text without the characters no database column can store, and how many were removed."""
    return _UNSTORABLE.subn("", text)


def holds_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None
