"""``ui/`` holds no SQL (issue 14, defect 4): the windows reach the journal only through the use cases. The
import contracts in ``.importlinter`` keep ``offline_queue`` out of ``ui``'s imports; this keeps SQL text and
raw queries out of its source."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from kit import ROOT

UI = ROOT / "ui"
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b")
RAW_CALLS = re.compile(r"\.(execute|executemany|executescript|query)\(")


def sql_in(path: Path) -> list[str]:
    """String literals that read as SQL, and raw query calls, in one source file."""
    found = []
    source = path.read_text(encoding="utf-8")
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING and SQL_WORDS.search(tok.string):
            found.append(f"{path.name}:{tok.start[0]}: {tok.string[:70]}")
    for n, line in enumerate(source.splitlines(), 1):
        code = line.split("#", 1)[0]
        if RAW_CALLS.search(code):
            found.append(f"{path.name}:{n}: {line.strip()[:70]}")
    return found


def test_the_windows_hold_no_sql():
    files = sorted(UI.glob("*.py"))
    assert files
    assert [hit for path in files for hit in sql_in(path)] == []
