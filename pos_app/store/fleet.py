"""What a terminal tells the store about its health (the heartbeat), and how far behind its replication is.

One home for these facts: the heartbeat the replicator upserts, ``status``, the self-test and the
technician's window all read them from here, so they cannot disagree about one terminal.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from offline_queue import ledger, outbound

from .. import __version__
from ..vocabulary import NEEDS_REVIEW

#: Where the self-test leaves its last verdict (``{"result": "pass"|"fail", "at": epoch, "level": ...}``).
SELFTEST_FILE = "selftest-last.json"


def replication(journal, now: float | None = None) -> dict[str, Any]:
    """The backlog (changes the store does not have), the lag (age of the oldest of them; 0 with none),
    the cursor and the last error, as :func:`offline_queue.outbound.backlog` keeps them."""
    now = time.time() if now is None else now
    b = outbound.backlog(journal)
    lag = 0.0 if b["oldest_at"] is None else max(0.0, now - b["oldest_at"])
    return {"backlog": b["count"], "lagSeconds": round(lag, 3), "shipped": b["shipped"], "last": b["last"],
            "shippedAt": b["shipped_at"], "triedAt": b["tried_at"], "error": b["error"]}


def last_selftest(data_dir: Path) -> dict[str, Any] | None:
    """The last self-test's verdict as it left it, or None (never run, or unreadable)."""
    try:
        data = json.loads((Path(data_dir) / SELFTEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    at, result = data.get("at"), data.get("result")   # a hand-edited file must not break every heartbeat
    return {"result": result if result in ("pass", "fail") else None,
            "at": at if isinstance(at, (int, float)) and not isinstance(at, bool) and math.isfinite(at) else None}


def facts(journal, data_dir: Path, now: float | None = None) -> dict[str, Any]:
    """The heartbeat: version, queue depth and oldest age, needs-review and open counts, the last
    self-test, and the replication backlog and lag. (Last seen and the clock offset are the store's
    clock's business: the replicator has it stamp them.)"""
    now = time.time() if now is None else now
    queued = journal.outbox()
    oldest = min((r["created_at"] for r in queued), default=None)
    unsettled = ledger.unsettled(journal)
    rep = replication(journal, now)
    test = last_selftest(data_dir) or {}
    return {"version": __version__, "queue_depth": len(queued),
            "oldest_age_s": None if oldest is None else round(now - oldest, 3),
            "needs_review": sum(1 for r in unsettled if r["status"] == NEEDS_REVIEW),
            "open_count": len(unsettled), "selftest": test.get("result"), "selftest_at": test.get("at"),
            "lag_s": rep["lagSeconds"], "shipped": rep["shipped"], "backlog": rep["backlog"],
            "detail": {"replicationError": rep["error"]} if rep["error"] else {}}
