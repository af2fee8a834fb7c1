"""The print spool: every SQL statement on ``print_jobs`` (schema v6).

A slip is journaled *before* the printer is tried, with the document itself (``body``: the slip's JSON),
so whatever happens at the printer (offline, paper out, a crash mid-print) the slip waits for a reprint
and is never lost. A job moves ``waiting`` → ``printing`` → ``printed`` or ``failed``; a failed job stays
failed, with its reason, until a person asks for a reprint, which is a *new* job (copy ``reprint``), so
the history of what reached the paper is kept.

A job found ``printing`` at start was cut off by a crash: the printer may have printed part of it, or all
of it. It is marked failed (:func:`recover`), never sent again by itself: only a person at the printer
can tell, and a second receipt of a paid sale printed unasked is worse than none.

Each write is its own short transaction (``journal.transaction()``), so a print never holds the
journal's lock across printer I/O. What a slip says, and when one is made, is :mod:`pos_app.printing`'s
business.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from pos_app.vocabulary import CANCEL, REFUND, SALE, SUCCESS

from .journal import business_day
from .ledger import read

WAITING, PRINTING, PRINTED, FAILED = "waiting", "printing", "printed", "failed"
STATES = (WAITING, PRINTING, PRINTED, FAILED)
CUSTOMER, MERCHANT, REPRINT = "customer", "merchant", "reprint"

#: The reason recorded for a job a crash cut off (English in the journal, shown through i18n.stored).
INTERRUPTED = "the terminal stopped while this was printing: it may be printed in part; reprint it if needed"
#: ... and for a job that waited when the terminal stopped and is too old to print unasked at the next start.
NOT_PRINTED = "not printed before the terminal stopped; reprint it if it is still wanted"

#: The partial index's condition, written as the index has it (a bound parameter would not let SQLite use it).
_UNPRINTED = f"state != '{PRINTED}'"
_COLUMNS = "id, kind, txn, copy, body, state, tries, last_error, created_at, updated_at, printed_at"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str               # receipt | refund | cancel | x | z | test (the slip's kind)
    txn: str | None         # the transaction it is about (a Z: "Z<number>"); None for an X or a test page
    copy: str | None        # customer | merchant | reprint (None for reports and test pages)
    body: str               # the slip, JSON
    state: str
    tries: int
    last_error: str | None
    created_at: float
    updated_at: float
    printed_at: float | None

    @classmethod
    def of(cls, row: sqlite3.Row) -> Job:
        return cls(*(row[k] for k in _COLUMNS.split(", ")))

    @property
    def document(self) -> dict:
        return json.loads(self.body)

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "txn": self.txn, "copy": self.copy, "state": self.state,
                "tries": self.tries, "lastError": self.last_error, "createdAt": self.created_at,
                "updatedAt": self.updated_at, "printedAt": self.printed_at}


def _text(body: str | dict) -> str:
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _insert(c: sqlite3.Connection, kind: str, txn: str | None, copy: str | None, body: str, now: float) -> int:
    cur = c.execute("INSERT INTO print_jobs (kind, txn, copy, body, state, tries, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 0, ?, ?)", (kind, txn, copy, body, WAITING, now, now))
    assert cur.lastrowid is not None   # an INSERT into a rowid table always has one
    return cur.lastrowid


def enqueue(journal, kind: str, txn: str | None, copy: str | None, body: str | dict, *,
            now: float | None = None) -> int:
    """Journal a slip to print (state waiting); its job id."""
    with journal.transaction() as c:
        return _insert(c, kind, txn, copy, _text(body), time.time() if now is None else now)


def enqueue_auto(journal, kind: str, txn: str, copy: str, body: str | dict, *, now: float | None = None) -> int | None:
    """Journal an automatic slip (a sale's receipt or merchant copy, a refund's or cancel's slip) unless
    one of this ``kind`` and ``copy`` is already journaled for ``txn``: checked and inserted in one
    transaction, so a change reported twice, or again after a restart, prints it once. None when it was."""
    with journal.transaction() as c:
        if _auto_exists(c, kind, txn, copy):
            return None
        return _insert(c, kind, txn, copy, _text(body), time.time() if now is None else now)


def _auto_exists(db, kind: str, txn: str, copy: str) -> bool:
    return bool(read(db, "SELECT 1 FROM print_jobs WHERE txn = ? AND txn IS NOT NULL AND kind = ? AND copy = ? "
                         "LIMIT 1", (txn, kind, copy)))


def auto_job_exists(journal, txn: str, copy: str, kind: str | None = None) -> bool:
    """Whether an automatic slip of ``copy`` (of ``kind``, or any) was already journaled for ``txn``."""
    if kind is not None:
        return _auto_exists(journal, kind, txn, copy)
    return bool(read(journal, "SELECT 1 FROM print_jobs WHERE txn = ? AND txn IS NOT NULL AND copy = ? LIMIT 1",
                     (txn, copy)))


def get(journal, job_id: int) -> Job | None:
    rows = read(journal, f"SELECT {_COLUMNS} FROM print_jobs WHERE id = ?", (job_id,))
    return Job.of(rows[0]) if rows else None


def pending(journal) -> list[Job]:
    """The jobs waiting to be printed, oldest first (the partial index holds only unprinted jobs)."""
    return [Job.of(r) for r in read(journal, f"SELECT {_COLUMNS} FROM print_jobs WHERE {_UNPRINTED} AND state = ? "
                                             "ORDER BY created_at, id", (WAITING,))]


def claim(journal, job_id: int, *, now: float | None = None) -> bool:
    """Mark a waiting job as being printed (one more try), committed before a byte goes to the printer;
    False when it is not waiting (already claimed, or done)."""
    now = time.time() if now is None else now
    with journal.transaction() as c:
        return c.execute("UPDATE print_jobs SET state = ?, tries = tries + 1, updated_at = ? "
                         "WHERE id = ? AND state = ?", (PRINTING, now, job_id, WAITING)).rowcount == 1


def done(journal, job_id: int, *, now: float | None = None) -> None:
    """The printer took the whole slip."""
    now = time.time() if now is None else now
    with journal.transaction() as c:
        c.execute("UPDATE print_jobs SET state = ?, last_error = NULL, updated_at = ?, printed_at = ? WHERE id = ?",
                  (PRINTED, now, now, job_id))


def failed(journal, job_id: int, error: str, *, now: float | None = None) -> None:
    """The slip did not print (or not surely in whole): it stays failed, with why, until a reprint."""
    now = time.time() if now is None else now
    with journal.transaction() as c:
        c.execute("UPDATE print_jobs SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
                  (FAILED, error, now, job_id))


def reprint(journal, job_id: int, body: str | dict | None = None, *, now: float | None = None) -> int:
    """A new waiting job (copy ``reprint``) for what job ``job_id`` printed, or failed to print: its body,
    or ``body`` when the caller rebuilt the slip (marked as a reprint). The old job stays as it was."""
    with journal.transaction() as c:
        rows = c.execute("SELECT kind, txn, body FROM print_jobs WHERE id = ?", (job_id,)).fetchall()
        if not rows:
            raise KeyError(job_id)
        kind, txn, old = rows[0]
        return _insert(c, kind, txn, REPRINT, old if body is None else _text(body), time.time() if now is None else now)


def for_txn(journal, txn: str) -> list[Job]:
    """Every job about one transaction, oldest first (the ``txn`` index)."""
    return [Job.of(r) for r in read(journal, f"SELECT {_COLUMNS} FROM print_jobs WHERE txn = ? AND txn IS NOT NULL "
                                             "ORDER BY id", (txn,))]


def unresolved_failures(journal) -> list[Job]:
    """Failed jobs nobody has reprinted yet: no later job of the same kind about the same transaction (for
    an X or a test page, which are about none: no later one of the kind). Oldest first."""
    return [Job.of(r) for r in read(
        journal, f"SELECT {_COLUMNS} FROM print_jobs j WHERE {_UNPRINTED} AND state = ? AND NOT EXISTS ("
                 "SELECT 1 FROM print_jobs k WHERE k.id > j.id AND k.kind = j.kind AND k.txn IS j.txn) "
                 "ORDER BY created_at, id", (FAILED,))]


def settled_without_slip(journal, since: float) -> list[str]:
    """Sales, refunds and cancels that succeeded and were created since ``since`` but have no print job:
    a crash between their commit and their slip's (the slip is journaled just after, off the payment's
    path), or a run that did not print. Through the ``(day, created_at)`` index: the days ``since`` spans."""
    days = sorted({business_day(since), business_day(time.time())})   # ``since`` is minutes ago: one or two
    marks = ",".join("?" * len(days))
    sql = (f"SELECT t.id FROM transactions t WHERE t.day IN ({marks}) AND t.created_at >= ? AND t.status = ? "
           "AND t.kind IN (?, ?, ?) AND NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.txn = t.id) "
           "ORDER BY t.created_at")
    return [r[0] for r in read(journal, sql, (*days, since, SUCCESS, SALE, REFUND, CANCEL))]


def recover(journal, *, stale_after: float, now: float | None = None) -> list[int]:
    """At start: a job left ``printing`` by a crash becomes failed (it may have printed in part: a person
    decides to reprint); a job still waiting from longer than ``stale_after`` seconds ago too (a receipt
    printed unasked long after its customer left helps nobody). The ids it failed; younger waiting jobs
    stay waiting and print now."""
    now = time.time() if now is None else now
    with journal.transaction() as c:
        cut = [r[0] for r in c.execute(f"SELECT id FROM print_jobs WHERE {_UNPRINTED} AND state = ?", (PRINTING,))]
        old = [r[0] for r in c.execute(f"SELECT id FROM print_jobs WHERE {_UNPRINTED} AND state = ? AND created_at < ?",
                                       (WAITING, now - stale_after))]
        c.executemany("UPDATE print_jobs SET state = ?, last_error = ?, updated_at = ? WHERE id = ?",
                      [(FAILED, INTERRUPTED, now, i) for i in cut] + [(FAILED, NOT_PRINTED, now, i) for i in old])
    return cut + old
