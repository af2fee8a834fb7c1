"""The journal's side of settlement reconciliation (issue 18): imported report files, their rows, the findings
kept per key and the runs. SQL only; what a row means is :mod:`pos_app.settlement.match`'s business.

Why the journal keeps the rows and not only the result: a T+2 transactions file completes the T+1 one, and a
refund is settled on a later day than its payment, so a later run must see earlier files' rows again without
the files. A file is keyed by its SHA-256, so importing the same bytes twice changes nothing. Each write is one
durable commit (``journal.transaction()``), with its audit entry in the same commit when one is given.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from pos_app.settlement.rows import Finding, LedgerRow, ReportRow

from . import audit as audit_store
from .ledger import read

_ROW_COLUMNS = ("file", "line", "kind", "report_date", "batch", "customer_id", "request_id", "type",
                "transaction_id", "original_id", "currency", "amount", "settle_currency", "settle_amount",
                "fee_currency", "fee", "store_id", "at")
#: Kept beside a row's own cells: the file's ``status`` (when the parsed row carries it) and whether the row is
#: money that moved (the parser's ``rows``, not its ``other_rows``): only those are read back for a match.
_KEPT_COLUMNS = (*_ROW_COLUMNS, "status", "moved")
_TABLE_COLUMNS = frozenset(_KEPT_COLUMNS)
_REPORT_FIELDS = tuple(f.name for f in dataclasses.fields(ReportRow))
_ROW_VALUES = operator.attrgetter(*_ROW_COLUMNS[1:])   # one C call a row: a day's file is 20,000 rows


#: The page cache (KiB) while a day is imported and matched: its 20,000 rows dirty some 10 MB of index pages,
#: and with SQLite's default 2 MB the import spills them into the WAL before its commit (twice the writing).
BULK_CACHE_KIB = 32768


@contextmanager
def bulk(journal) -> Iterator[None]:
    """A day's import and match on this connection with a page cache of :data:`BULK_CACHE_KIB`, the connection's
    own size given back after (its pages freed): one run's worth of memory, for as long as the run."""
    with _reading(journal) as c:   # under the journal's lock: another thread may be writing a sale
        before = int(c.execute("PRAGMA cache_size").fetchone()[0])
        restore: int | None = None
        if before <= 0 and -before < BULK_CACHE_KIB:   # (set in pages, or already as big: left alone)
            c.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            restore = before
    try:
        yield
    finally:
        if restore is not None:
            with _reading(journal) as c:
                c.execute(f"PRAGMA cache_size = {restore}")


@contextmanager
def _reading(journal) -> Iterator[sqlite3.Connection]:
    """Several reads in one state of the journal (or on the connection of an open transaction)."""
    if isinstance(journal, sqlite3.Connection):
        yield journal
    else:
        with journal.reading() as c:
            yield c


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _audit(c: sqlite3.Connection, entry: dict | None, at: float, detail: dict) -> None:
    """``entry``: action, asked_by, approved_by (the use case's grant); ``detail`` is added to its own."""
    if entry:
        audit_store.append(c, at=at, action=entry["action"], txn=entry.get("txn"), asked_by=entry["asked_by"],
                           approved_by=entry.get("approved_by"), detail={**(entry.get("detail") or {}), **detail})


# -- files -----------------------------------------------------------------------------------------------
def imported(journal, sha256: str) -> tuple[str, float] | None:
    """(name, imported_at) of the file with these bytes, if it was imported before."""
    rows = read(journal, "SELECT name, imported_at FROM settlement_files WHERE sha256 = ?", (sha256,))
    return (rows[0]["name"], rows[0]["imported_at"]) if rows else None


def import_file(journal, report_file, by: str, *, name: str | None = None, audit: dict | None = None,
                now: float | None = None) -> bool:
    """Keep a parsed file (its rows, its summary rows, its warnings) in one commit; False when a file with the
    same SHA-256 is there already (nothing changes, no audit entry). The parser's ``other_rows`` (failed
    attempts, fees, disputes) are kept with ``moved = 0``: listed and counted, never matched as money."""
    at = time.time() if now is None else now
    name = name or getattr(report_file, "name", None) or report_file.sha256[:12]
    moved = list(report_file.rows)
    rows = moved + list(getattr(report_file, "other_rows", None) or ())   # fees, disputes: listed
    summary: list[dict] = [dataclasses.asdict(s) if dataclasses.is_dataclass(s) and not isinstance(s, type) else s
                           for s in (getattr(report_file, "summary", None) or ())]
    batches = sorted({str(r.batch) for r in rows if r.batch} | {str(s["batch"]) for s in summary if s.get("batch")})
    customers = sorted(getattr(report_file, "customer_ids", None) or {r.customer_id for r in rows})
    with journal.transaction() as c:
        if c.execute("SELECT 1 FROM settlement_files WHERE sha256 = ?", (report_file.sha256,)).fetchone():
            return False
        seq = c.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM settlement_files").fetchone()[0]
        c.execute("INSERT INTO settlement_files (sha256, seq, name, kind, report_date, batch, customer_id, rows, "
                  "summary, warnings, imported_at, imported_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (report_file.sha256, seq, name, report_file.kind, report_file.report_date,
                   ",".join(batches) or None, ",".join(customers) or None, len(rows) + len(summary),
                   _json(summary) if summary else None, _json(list(report_file.warnings or ())) or None, at, by))
        c.executemany(f"INSERT INTO settlement_rows ({', '.join(_KEPT_COLUMNS)}) VALUES "
                      f"({', '.join('?' * len(_KEPT_COLUMNS))})",
                      [(report_file.sha256, *_ROW_VALUES(r), getattr(r, "status", None), int(i < len(moved)))
                       for i, r in enumerate(rows)])
        _audit(c, audit, at, {"file": name, "sha256": report_file.sha256, "kind": report_file.kind,
                              "rows": len(rows)})
    return True


def files(journal, shas: Iterable[str] | None = None) -> list[sqlite3.Row]:
    """Imported files in import order: all, or those named by their SHA-256."""
    if shas is None:
        return read(journal, "SELECT * FROM settlement_files ORDER BY seq")
    return read(journal, "SELECT * FROM settlement_files WHERE sha256 IN (SELECT value FROM json_each(?)) "
                         "ORDER BY seq", (_json(list(shas)),))


def report_dates(journal, shas: Iterable[str]) -> list[str]:
    """The days the transactions files among ``shas`` cover."""
    return [r[0] for r in read(journal, "SELECT DISTINCT report_date FROM settlement_files WHERE kind = 'transactions' "
                                        "AND report_date IS NOT NULL AND sha256 IN (SELECT value FROM json_each(?)) "
                                        "ORDER BY 1", (_json(list(shas)),))]


# -- what a day's match reads ------------------------------------------------------------------------------
#: A row's columns in ReportRow's field order, so a row is built positionally (20,000 rows a day add up); a
#: field the table does not keep reads as NULL.
_SELECT = ", ".join(f"r.{name}" if name in _TABLE_COLUMNS else "NULL" for name in _REPORT_FIELDS)


def _report_row(r: sqlite3.Row) -> ReportRow:
    return ReportRow(*r)


def named_ids(journal, day: str, known: Iterable[ReportRow] = ()) -> set[str]:
    """The request ids and transaction ids (the gateway's paymentIds) the transactions files of ``day`` list.
    ``known``: every row of files the caller holds (just imported), taken as they are instead of read again."""
    known = list(known)
    rows = read(journal, "SELECT request_id, transaction_id FROM settlement_rows WHERE report_date = ? "
                         "AND moved = 1 AND file NOT IN (SELECT value FROM json_each(?))",
                (day, _json(sorted({r.file for r in known}))))
    mine = [r for r in known if r.report_date == day]
    return {r[0] for r in rows} | {r[1] for r in rows if r[1]} | {r.request_id for r in mine} | \
        {r.transaction_id for r in mine if r.transaction_id}


def rows_for(journal, day: str, request_ids: Iterable[str] = (), known: Iterable[ReportRow] = ()) -> list[ReportRow]:
    """The report rows a day's match needs: every row of a transactions file covering ``day``, and every row (any
    file, any date) of a request id among ``request_ids`` or among those rows, so a refund reported on a later
    day and the settlement rows of a batch are seen. Files in import order (the latest last), lines in order.
    Only rows whose money moved (``moved``): a failed attempt the gateway lists is no money to match.

    ``known``: every row of files the caller holds already (the files a run just imported and parsed): those
    files are not read again, their rows are picked from ``known`` by the same two rules.

    Two index reads, not a scan: the day's rows by date, then the other files' rows by request id, through the
    request id index alone (it holds the row's key, the file): the day's 20,000 ids cost a probe each, and
    only another file's row is read whole."""
    known = list(known)
    known_files = _json(sorted({r.file for r in known}))
    with _reading(journal) as c:
        rows = [ReportRow(*r) for r in c.execute(
            f"SELECT {_SELECT} FROM settlement_rows r WHERE r.report_date = ? AND r.moved = 1 "
            f"AND r.file NOT IN (SELECT value FROM json_each(?))", (day, known_files)).fetchall()]
        rows += [r for r in known if r.report_date == day]
        ids = set(request_ids) | {r.request_id for r in rows}
        if ids:
            rows += [ReportRow(*r) for r in c.execute(
                f"SELECT {_SELECT} FROM json_each(:ids) j JOIN settlement_rows r ON r.request_id = j.value "
                f"WHERE r.moved = 1 AND r.file NOT IN (SELECT value FROM json_each(:files)) "
                f"AND r.file NOT IN (SELECT value FROM json_each(:known))",
                {"ids": _json(sorted(ids)), "files": _json(sorted({r.file for r in rows})),
                 "known": known_files}).fetchall()]
            rows += [r for r in known if r.report_date != day and r.request_id in ids]
        seq = dict(c.execute("SELECT sha256, seq FROM settlement_files").fetchall())
    rows.sort(key=lambda r: (seq.get(r.file, 0), r.line))
    return rows


def batch_rows(journal, batches: Iterable[str]) -> list[ReportRow]:
    """Every settlement row of these batches (what a batch's summary is checked against), in import order."""
    return [_report_row(r) for r in read(
        journal, f"SELECT {_SELECT} FROM settlement_rows r JOIN settlement_files f ON f.sha256 = r.file "
                 "WHERE r.kind = 'settlement' AND r.batch IN (SELECT value FROM json_each(?)) ORDER BY f.seq, r.line",
        (_json(sorted(set(batches))),))]


def ledger_rows(journal, day: str, extra_ids: Iterable[str] = (), *, terminal: str | None = None) -> list[LedgerRow]:
    """The journal's transactions of ``day``, and those (any day) whose id, or paymentId, is among
    ``extra_ids`` (rows the gateway reported that the day's journal may have made on another day), and the
    sale (parent) of each of those rows made on another day: the match reads a parent's report rows, so it must
    see the parent too, or a late refund's run would turn its sale's ``matched`` into ``missing_in_journal``.

    The day first, by its index; then only the ids the day does not hold (usually none: the reports name the
    day's own transactions), rather than a union over every id the reports name."""
    columns = "id, kind, status, currency, amount, day, payment_id, parent"   # LedgerRow's order
    with _reading(journal) as c:
        rows = c.execute(f"SELECT {columns} FROM transactions WHERE day = ?", (day,)).fetchall()
        have = {r[0] for r in rows} | {r[6] for r in rows if r[6]}
        extra = set(extra_ids) - have
        if extra:   # rows of other days only: a row of the day has its id and paymentId in ``have``
            rows += c.execute(f"SELECT {columns} FROM transactions WHERE id IN (SELECT value FROM json_each(:ids)) "
                              f"UNION SELECT {columns} FROM transactions "
                              f"WHERE payment_id IN (SELECT value FROM json_each(:ids))",
                              {"ids": _json(sorted(extra))}).fetchall()
        parents = {r[7] for r in rows if r[7]} - {r[0] for r in rows}
        if parents:
            rows += c.execute(f"SELECT {columns} FROM transactions WHERE id IN (SELECT value FROM json_each(?))",
                              (_json(sorted(parents)),)).fetchall()
    rows.sort(key=lambda r: (r[5], r[0]))
    return [LedgerRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], terminal) for r in rows]


# -- results ------------------------------------------------------------------------------------------------
def save_run(journal, day: str, source: str, files: Iterable[str], findings: Iterable[Finding], by: str, *,
             audit: dict | None = None, now: float | None = None) -> int:
    """Keep a run's findings, each replacing the one its key (request id, type) had, and the run itself, in one
    commit; the run's id. ``files``: the SHA-256 of the files the run read.

    A run for ``day`` recomputes every key of that day (its journal rows and its files' rows), so a finding
    kept for ``day`` that this run no longer produces (a phantom row a later file dropped) is removed in the
    same commit: what is kept for a day is always one run's whole answer, never a stale key beside it."""
    at = time.time() if now is None else now
    findings = list(findings)
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.cls] = counts.get(f.cls, 0) + 1
    with journal.transaction() as c:
        run = c.execute("INSERT INTO settlement_runs (at, by, day, source, files, counts) VALUES (?, ?, ?, ?, ?, ?)",
                        (at, by, day, source, _json(list(files)), _json(counts))).lastrowid
        c.executemany(
            "INSERT OR REPLACE INTO settlement_findings (request_id, type, day, cls, ledger_id, terminal, currency, "
            "amount, their_currency, their_amount, theirs, detail, run, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f.request_id, f.type, f.day or day, f.cls,
              f.ours.id if f.ours else None, f.ours.terminal if f.ours else None,
              f.ours.currency if f.ours else None, f.ours.amount if f.ours else None,
              f.theirs[0].currency if f.theirs else None, f.theirs[0].amount if f.theirs else None,
              _refs(f.theirs), f.detail, run, at) for f in findings])
        c.execute("DELETE FROM settlement_findings WHERE day = ? AND run != ?", (day, run))
        _audit(c, audit, at, {"day": day, "source": source, "run": run, "counts": counts})
    return run


def _refs(theirs) -> str:
    """``[[sha256, line], ...]`` as JSON: a file's name is its SHA-256 in hex, so it is written as it is (a
    json.dumps a finding added up over a day's 20,000)."""
    if all(t.file.isalnum() and t.file.isascii() for t in theirs):
        return "[" + ",".join(f'["{t.file}",{int(t.line)}]' for t in theirs) + "]"
    return _json([[t.file, t.line] for t in theirs])


#: A kept finding's columns, in this order (the service reads them by position; a Row keeps their names).
FINDING_COLUMNS = ("request_id", "type", "day", "cls", "ledger_id", "terminal", "currency", "amount", "their_currency",
                   "their_amount", "theirs", "detail", "run", "updated_at")


def findings_of(journal, day: str) -> list[sqlite3.Row]:
    """The findings kept for ``day`` (each key's latest), differences first then by request id."""
    return read(journal, f"SELECT {', '.join(FINDING_COLUMNS)} FROM settlement_findings WHERE day = ? "
                         "ORDER BY cls IN ('matched', 'pending'), cls, request_id, type", (day,))


def counts_of(journal, day: str) -> dict[str, int]:
    """How many findings of each class are kept for ``day`` (what the window lists, counted)."""
    return {r[0]: r[1] for r in read(journal, "SELECT cls, count(*) FROM settlement_findings WHERE day = ? "
                                              "GROUP BY cls", (day,))}


def runs_of(journal, day: str, limit: int = 10, *, source: str | None = None) -> list[sqlite3.Row]:
    """The day's runs (against ``source`` only, when given), the newest first."""
    return read(journal, "SELECT * FROM settlement_runs WHERE day = ? AND (? IS NULL OR source = ?) "
                         "ORDER BY id DESC LIMIT ?", (day, source, source, limit))


def result(journal, day: str) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """What is kept for ``day``: its findings and its last runs, read in one state of the journal."""
    if isinstance(journal, sqlite3.Connection):
        return findings_of(journal, day), runs_of(journal, day)
    with journal.reading() as c:
        return findings_of(c, day), runs_of(c, day)


def theirs(journal, refs: list[list]) -> list[ReportRow]:
    """The report rows a kept finding names ([sha256, line] pairs)."""
    if not refs:
        return []
    return [_report_row(r) for r in read(
        journal, f"SELECT {_SELECT} FROM settlement_rows r JOIN json_each(:refs) j "
                 "ON r.file = json_extract(j.value, '$[0]') AND r.line = json_extract(j.value, '$[1]') "
                 "ORDER BY j.key", {"refs": _json(refs)})]
