"""The one way a command prints: its result as JSON (``--json``, the contract scripts rely on) or as lines.

Results go to stdout, one JSON document (or, for a stream of scans, one JSON object a line); what is
happening meanwhile goes to stderr, so ``--json`` output stays parseable whatever else is said.
"""

from __future__ import annotations

import json
import sys


def emit(opts, data, lines: list[str] | str, *, stream: bool = False) -> None:
    """Print a result: ``data`` (a dict, or anything with ``to_json()``) as JSON with ``--json``, else
    ``lines``. ``stream``: one compact JSON object a line, flushed, for commands that print as they go."""
    if hasattr(data, "to_json"):
        data = data.to_json()
    if opts.json:
        print(json.dumps(data, indent=None if stream else 2, ensure_ascii=False), flush=stream)
    else:
        print(lines if isinstance(lines, str) else "\n".join(lines), flush=stream)


def progress(opts, text: str) -> None:
    """What is happening now, for a person watching: stderr, and only without --json."""
    if not opts.json:
        print(f"… {text}", file=sys.stderr, flush=True)


def draw_qr(value: str, out) -> None:
    """A QR code drawn with text blocks (an order code to pay, the self-test's code to scan)."""
    try:
        import segno
        segno.make(value, error="m").terminal(out=out, compact=True)
    except Exception as exc:  # noqa: BLE001 -- the value printed beside it is still there to use
        print(f"(cannot draw the QR here: {exc})", file=out)
    out.flush()
