"""Manager mode over a big journal (issue 6), each measure beside a naive peer in the same run:

    .venv/bin/python benchmarks/bench_manager.py [--quick] [--rows N --day-rows N --runs N]

Goal: "The day view over a journal of 1,000,000 transactions opens in <= 300 ms and scrolls without loading
all rows. A Z report over a day of 20,000 transactions takes <= 500 ms."

The journal is ``bench_journal.py``'s cached one (``benchmarks/.cache/journal-<rows>-schema<N>``, built
there once, reused here; built by its ``report_journal`` if no version of it is cached yet). The cached file
is never opened writable: it is copied to a temporary directory, and the copy is opened with
``Journal.open`` (which migrates it to the current schema) and gets ``Z_DAYS`` extra business days of
20,000 transactions each (sales ~95 % paid, some failed, voided, unknown or under review, some settled by
inquiry or cancel; refunds, some failed or queued; cancels; USD, EUR and JPY), after the journal's last day.

1. Day view, on one of those 20,000-row days. ``ui.manager.DayModel`` when it exists and imports
   (QT_QPA_PLATFORM=offscreen); otherwise the same paging in plain SQL (COUNT(*) on the (day, created_at)
   index, pages of 200 rows looked up through that covering index), and the output says which. "Opens" =
   construction + rowCount() + data() for every column of the first 40 rows. "Scroll" = data() for 40 rows
   at 10 %, 50 % and 90 % of the day (a fetchMore-style model is fetched until it has them, as a view
   would). A counting pass (sqlite3 connections made with a cursor that counts the rows it hands out)
   says how many rows came out of SQLite in all, against the day's row count. Peer: the naive view,
   ``SELECT * FROM transactions WHERE day=? ORDER BY created_at`` into a list, then the same 40 rows; and,
   once, for scale, the whole table into a list.
2. X and Z reports, a Z closing a session: the history (the cached journal and the view's day) is closed by
   one first Z, timed on its own; then each further day's 20,000 transactions are journaled and closed by a
   Z, with an X (``closing.x_report``: the session, nothing stored) just before it. Peer: the same totals
   (by kind and status) and differences computed in Python from the day's rows and everything still open
   (``SELECT *``, one loop). The check: the peer's totals and differences equal ours, and each net equals
   one computed independently, in plain SQL over the raw rows of the day (a paid sale, or one a manager's
   cancel reversed, adds its amount; a successful refund or cancel takes its amount off).

Medians over alternating runs. ``--quick``: the 100,000-row journal and fewer runs (the days are still
20,000 rows); ``--rows``/``--day-rows``/``--runs`` pick any size (a small one checks that it runs).
Progress on stderr, the table on stdout. Ratios compare; the goal column says where we stand.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout, not an installed copy

import bench_journal
import table  # benchmarks/table.py

from offline_queue import schema
from offline_queue.journal import FILE_NAME, TRANSACTION_COLUMNS, Journal
from pos_app import closing

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # before the day view's first Qt import (in a function)
FULL = {"rows": 1_000_000, "runs": 5}
QUICK = {"rows": 100_000, "runs": 3}
DAY_ROWS = 20_000
VISIBLE = 40           # rows a day view shows at once
PAGE = 200             # the SQL fallback's page
SCROLL_AT = (0.10, 0.50, 0.90)
OPEN_GOAL, Z_GOAL = 0.300, 0.500

say = bench_journal.say


# -- the journal ----------------------------------------------------------------------------------------
def cached_journal(rows: int) -> tuple[Path, str]:
    """The newest cached journal of ``rows`` transactions (any schema up to ours: the copy migrates), or a
    fresh one from bench_journal's builder."""
    for version in range(schema.VERSION, 0, -1):
        path = bench_journal.CACHE / f"journal-{rows}-schema{version}"
        if (path / FILE_NAME).exists():
            return path, f"cached {path.name}"
    started = time.perf_counter()
    say(f"no cached {rows:,}-row journal: building it with bench_journal.report_journal (once)")
    bench_journal.CACHE.mkdir(parents=True, exist_ok=True)
    path, _ = bench_journal.report_journal(rows)
    return path, f"built {path.name} in {time.perf_counter() - started:.0f} s"


def copy_journal(source: Path, target: Path) -> None:
    """The database file (and a non-empty WAL, should there be one) into ``target``; the cache is only read."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / FILE_NAME, target / FILE_NAME)
    wal = source / (FILE_NAME + "-wal")
    if wal.exists() and wal.stat().st_size:
        shutil.copyfile(wal, target / (FILE_NAME + "-wal"))


def _sale_state(txn: str, tender: str, currency: str, amount: int, created: float, phase: str, payment_id,
                code: str, message: str, *, next_at=None, inquiries: int = 0, cancels: int = 0,
                unknown_since=None) -> str:
    """What Terminal._state_json writes for a pf.Sale."""
    return json.dumps({"id": txn, "tender": tender, "currency": currency, "amount": amount, "created_at": created,
                       "phase": phase, "next_at": next_at, "payment_id": payment_id, "result_code": code,
                       "message": message, "pay_attempts": 1, "resends": 0, "maybe_sent": bool(unknown_since),
                       "unknown_since": unknown_since, "inquiries": inquiries,
                       "cancel_since": unknown_since if cancels else None, "cancels": cancels,
                       "cancel_refused": False, "code_value": None, "code_expires_at": None,
                       "gateway_status": "SUCCESS" if inquiries and phase == "PAID" else None,
                       "accepted_at_risk": False}, separators=(",", ":"))


def _followup_state(txn: str, kind: str, sale: str, currency: str, amount: int, created: float, phase: str,
                    next_at, attempts: int, code: str, message: str, gateway_id) -> str:
    """What Terminal._state_json writes for an ff.Followup."""
    return json.dumps({"id": txn, "kind": kind, "sale_id": sale, "currency": currency, "amount": amount,
                       "created_at": created, "phase": phase, "next_at": next_at, "attempts": attempts,
                       "unknown_since": None, "result_code": code, "message": message, "gateway_id": gateway_id},
                      separators=(",", ":"))


def busy_day(rng: random.Random, day: date, n: int) -> list[list]:
    """``n`` transactions of one business day, 08:00-22:00, as rows in TRANSACTION_COLUMNS order."""
    midnight = time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))
    stamp, iso = day.strftime("%Y%m%d"), day.isoformat()
    rows: list[list] = []
    paid: list[list] = []  # today's paid sales, which refunds and cancels are about

    def amount_in(currency: str) -> int:
        return 100 + rng.randrange(20000) if currency != "JPY" else 100 + rng.randrange(30000)

    for i in range(n):
        created = midnight + 8 * 3600 + i * (14 * 3600 / n) + rng.random()
        updated = created + 0.004 + rng.random() * 0.5
        hms = time.strftime("%H%M%S", time.localtime(created))
        suffix = f"{rng.getrandbits(64):016x}"
        roll = rng.random()
        if roll < 0.035 and paid:  # refund
            sale = rng.choice(paid)
            currency, amount = sale[5], max(1, sale[6] // rng.choice((1, 2, 4)))
            txn = f"RF{stamp}{hms}{suffix}"
            out = rng.random()
            if out < 0.95:
                phase, status, code, message, next_at, final = "DONE", "SUCCESS", "SUCCESS", "refunded", None, 1
            elif out < 0.98:
                phase, status, code, message, next_at, final = ("FAILED", "FAILED", "REFUND_AMOUNT_EXCEED",
                                                                "refunds would total more than paid", None, 1)
            else:
                phase, status, code, message, next_at, final = "NEW", "QUEUED", "", "", updated + 30, 0
            state = _followup_state(txn, "REFUND", sale[0], currency, amount, created, phase, next_at, int(final),
                                    code, message, suffix if status == "SUCCESS" else None)
            rows.append([txn, "refund", None, sale[0], None, currency, amount, status, phase, code, message, "",
                         None, state, next_at, final, created, updated, iso])
        elif roll < 0.045 and paid:  # cancel: the sale is reversed in the same commit
            sale = paid.pop(rng.randrange(len(paid)))
            txn = f"CX{stamp}{hms}{suffix}"
            state = _followup_state(txn, "CANCEL", sale[0], sale[5], sale[6], created, "DONE", None, 1, "SUCCESS",
                                    "cancelled: the money went back", None)
            rows.append([txn, "cancel", None, sale[0], None, sale[5], sale[6], "SUCCESS", "DONE", "SUCCESS",
                         "cancelled: the money went back", None, None, state, None, 1, created, updated, iso])
            sale[7], sale[8] = "CANCELLED", "CANCELLED"
            sale[13] = sale[13].replace('"phase":"PAID"', '"phase":"CANCELLED"', 1)
        else:  # sale
            txn = f"PR{stamp}{hms}{suffix}"
            c = rng.random()
            currency = "USD" if c < 0.80 else "EUR" if c < 0.95 else "JPY"
            amount = amount_in(currency)
            tender = "payment_code" if rng.random() < 0.7 else "order_code"
            payment_id = f"{stamp}1154{suffix}"
            out = rng.random()
            kw: dict = {}
            if out < 0.945:
                phase, status, code, message = "PAID", "SUCCESS", "SUCCESS", "success"
            elif out < 0.955:  # paid, but only an inquiry found out
                phase, status, code, message = "PAID", "SUCCESS", "SUCCESS", "success"
                kw = {"inquiries": 1 + rng.randrange(3), "unknown_since": created + 5}
            elif out < 0.957:  # unknown, cancelled by the reconciler
                phase, status, code, message = "CANCELLED", "CANCELLED", "SUCCESS", "cancelled after timeout"
                kw = {"inquiries": 9, "cancels": 1, "unknown_since": created + 5}
            elif out < 0.987:
                phase, status, code, message = "FAILED", "FAILED", "USER_BALANCE_NOT_ENOUGH", \
                    "the user's balance is not enough"
                payment_id = None
            elif out < 0.993:  # a queued pay that never left
                phase, status, code, message = "VOIDED", "FAILED", "", "voided: the link did not come back in time"
                payment_id = None
            elif out < 0.998:
                phase, status, code, message = "INQUIRING", "UNKNOWN", "", ""
                kw = {"inquiries": 2, "unknown_since": created + 5, "next_at": updated + 5}
            else:
                phase, status, code, message = "NEEDS_REVIEW", "NEEDS_REVIEW", "", ""
                kw = {"inquiries": 9, "unknown_since": created + 5, "next_at": updated + 60}
            final = int(phase in ("PAID", "FAILED", "CANCELLED", "VOIDED"))
            state = _sale_state(txn, tender, currency, amount, created, phase, payment_id, code, message, **kw)
            row = [txn, "sale", tender, None, payment_id, currency, amount, status, phase, code, message,
                   "Sandbox Store 1 sale", f"28************{rng.randrange(10000):04d}" if tender == "payment_code"
                   else None, state, kw.get("next_at"), final, created, updated, iso]
            rows.append(row)
            if phase == "PAID":
                paid.append(row)
    return rows


_INSERT = (f"INSERT INTO transactions ({','.join(TRANSACTION_COLUMNS)}) "
           f"VALUES ({','.join('?' * len(TRANSACTION_COLUMNS))})")


def prepare(source: Path, tmp: Path, days_count: int, day_rows: int) -> tuple[Path, list[str], dict, dict]:
    """The copy, migrated, with the first of ``days_count`` busy days appended after its last day (the day
    view's); the others' rows, made now, are journaled one day at a time by :func:`bench_closing`."""
    data = tmp / "journal"
    started = time.perf_counter()
    copy_journal(source, data)
    info = {"copy_s": time.perf_counter() - started, "file_mb": (data / FILE_NAME).stat().st_size / 1e6}
    started = time.perf_counter()
    with Journal.open(data) as journal:  # migrates the copy to the current schema
        info["migrate_s"] = time.perf_counter() - started
        info["rows_before"] = journal.query("SELECT COUNT(*) FROM transactions")[0][0]
        last = date.fromisoformat(journal.query("SELECT MAX(day) FROM transactions")[0][0])
        days = [last + timedelta(days=7 + d) for d in range(days_count)]
        rng = random.Random(6)
        rows = {d.isoformat(): busy_day(rng, d, day_rows) for d in days}
        started = time.perf_counter()
        with journal.transaction() as c:
            c.executemany(_INSERT, rows.pop(days[0].isoformat()))
        info["insert_s"] = time.perf_counter() - started
        info["rows"] = journal.query("SELECT COUNT(*) FROM transactions")[0][0]
        journal.checkpoint()
    return data, [d.isoformat() for d in days], info, rows


# -- counting the rows that come out of SQLite ------------------------------------------------------------
class CountingCursor(sqlite3.Cursor):
    fetched = 0

    def fetchone(self):
        row = super().fetchone()
        CountingCursor.fetched += row is not None
        return row

    def fetchmany(self, *args, **kw):
        rows = super().fetchmany(*args, **kw)
        CountingCursor.fetched += len(rows)
        return rows

    def fetchall(self):
        rows = super().fetchall()
        CountingCursor.fetched += len(rows)
        return rows

    def __next__(self):
        row = super().__next__()
        CountingCursor.fetched += 1
        return row


class CountingConnection(sqlite3.Connection):
    def cursor(self, factory=CountingCursor):
        return super().cursor(factory)

    def execute(self, sql, parameters=()):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, parameters):
        return self.cursor().executemany(sql, parameters)


@contextmanager
def counting_rows():
    """Every sqlite3 connection made inside hands out counting cursors (Journal's, and a model's own)."""
    real = sqlite3.connect

    def connect(*args, **kw):
        kw.setdefault("factory", CountingConnection)
        return real(*args, **kw)
    sqlite3.connect = connect
    CountingCursor.fetched = 0
    try:
        yield CountingCursor
    finally:
        sqlite3.connect = real


# -- the day view -----------------------------------------------------------------------------------------
def load_day_model():
    """``ui.manager.DayModel`` and a note, or None and why not."""
    try:
        from ui.manager import DayModel
    except ImportError as exc:   # no PySide6, or a Qt library missing on this machine: fall back, and say so
        return None, f"{type(exc).__name__}: {exc}"
    return DayModel, "ui.manager.DayModel"


class ModelView:
    """What a view asks of ``DayModel``: rowCount, data(DisplayRole) per cell, fetchMore when it runs out."""

    def __init__(self, model_class, journal: Journal, data_dir: Path, day: str) -> None:
        from PySide6.QtCore import QModelIndex, Qt
        self._root, self._role = QModelIndex(), Qt.ItemDataRole.DisplayRole
        self.model = make_model(model_class, journal, data_dir, day)

    def rows(self) -> int:
        return self.model.rowCount(self._root)

    def columns(self) -> int:
        return self.model.columnCount(self._root)

    def cells(self, first: int, count: int) -> int:
        """data() for every column of rows first..first+count; fetches more first if the model is lazy."""
        while self.rows() < first + count and self.model.canFetchMore(self._root):
            self.model.fetchMore(self._root)
        m, role, cols, seen = self.model, self._role, self.columns(), 0
        for r in range(first, min(first + count, self.rows())):
            for c in range(cols):
                seen += m.data(m.index(r, c), role) is not None
        return seen

    def close(self) -> None:
        close = getattr(self.model, "close", None)
        if callable(close):
            close()


def make_model(model_class, journal: Journal, data_dir: Path, day: str):
    """DayModel's constructor as written: the journal (or its directory) and the day, by name if it can."""
    params = inspect.signature(model_class).parameters
    kw = {}
    for name in params:
        if name in ("journal", "source", "db"):
            kw[name] = journal
        elif name in ("data_dir", "path", "directory"):
            kw[name] = data_dir
        elif name in ("day", "date", "business_day"):
            kw[name] = day
    if kw:
        return model_class(**kw)
    return model_class(journal, day)


class SqlPager:
    """The fallback: what a paging model does, in plain SQL. COUNT(*) on the (day, created_at) index; pages
    of PAGE rows, each found through that covering index (no table row is read to skip) and then read."""

    COLUMNS = ("id, kind, tender, parent, payment_id, currency, amount, status, result_code, message, description, "
               "code_masked, created_at, updated_at")

    def __init__(self, journal: Journal, day: str) -> None:
        self.journal, self.day = journal, day
        self._count = journal.query("SELECT COUNT(*) FROM transactions WHERE day=?", (day,))[0][0]
        self._pages: dict[int, list] = {}

    def rows(self) -> int:
        return self._count

    def columns(self) -> int:
        return self.COLUMNS.count(",") + 1

    def _page(self, number: int) -> list:
        page = self._pages.get(number)
        if page is None:
            page = self._pages[number] = self.journal.query(
                f"SELECT {self.COLUMNS} FROM transactions WHERE id IN (SELECT id FROM transactions WHERE day=? "
                "ORDER BY created_at LIMIT ? OFFSET ?) ORDER BY created_at", (self.day, PAGE, number * PAGE))
        return page

    def cells(self, first: int, count: int) -> int:
        seen = 0
        for r in range(first, min(first + count, self._count)):
            row = self._page(r // PAGE)[r % PAGE]
            seen += sum(v is not None for v in row)
        return seen

    def close(self) -> None:
        pass


def naive_open(journal: Journal, day: str) -> tuple[list, int]:
    rows = journal.query("SELECT * FROM transactions WHERE day=? ORDER BY created_at", (day,))
    return rows, sum(v is not None for row in rows[:VISIBLE] for v in row)


def bench_day_view(data_dir: Path, day: str, runs: int) -> dict:
    model_class, note = load_day_model()
    app = None
    if model_class is not None:
        from PySide6.QtWidgets import QApplication
        app = QApplication.instance() or QApplication([])
    res = {"model": note, "used_model": model_class is not None, "open": [], "naive": [], "cached": [],
           "scroll": {at: [] for at in SCROLL_AT}, "naive_scroll": {at: [] for at in SCROLL_AT}}

    def view(journal: Journal):
        if model_class is not None:
            return ModelView(model_class, journal, data_dir, day)
        return SqlPager(journal, day)

    with Journal.open(data_dir, readonly=True) as journal:
        day_rows = res["day_rows"] = journal.query("SELECT COUNT(*) FROM transactions WHERE day=?", (day,))[0][0]
        naive_open(journal, day)  # warm-up, both
        view(journal).close()
        for _ in range(runs):
            t0 = time.perf_counter()
            v = view(journal)
            count = v.rows()
            first = v.cells(0, VISIBLE)
            t1 = time.perf_counter()
            v.cells(0, VISIBLE)  # again, its page cached: what data() itself costs
            res["cached"].append(time.perf_counter() - t1)
            for at in SCROLL_AT:
                s = time.perf_counter()
                v.cells(int(day_rows * at), VISIBLE)
                res["scroll"][at].append(time.perf_counter() - s)
            v.close()
            t2 = time.perf_counter()
            rows, naive_first = naive_open(journal, day)
            t3 = time.perf_counter()
            for at in SCROLL_AT:
                s = time.perf_counter()
                start = int(len(rows) * at)
                sum(v is not None for row in rows[start:start + VISIBLE] for v in row)
                res["naive_scroll"][at].append(time.perf_counter() - s)
            res["open"].append(t1 - t0)
            res["naive"].append(t3 - t2)
            if first == 0 or naive_first == 0:
                raise SystemExit("the day view showed no cells")
            res["view_rows"] = count
        del rows
    if res["view_rows"] > day_rows or (model_class is None and res["view_rows"] != day_rows):
        raise SystemExit(f"the view says {res['view_rows']} rows, the day has {day_rows}")

    # the counting pass: a fresh connection whose cursors count the rows SQLite hands out
    with counting_rows() as counter, Journal.open(data_dir, readonly=True) as journal:
        baseline = counter.fetched  # Journal.open's own checks
        v = view(journal)
        v.rows()
        v.cells(0, VISIBLE)
        res["fetched_open"] = counter.fetched - baseline
        for at in SCROLL_AT:
            v.cells(int(day_rows * at), VISIBLE)
        res["fetched"] = counter.fetched - baseline
        res["final_rows"] = v.rows()
        v.close()
        before = counter.fetched
        naive_open(journal, day)
        res["naive_fetched"] = counter.fetched - before
    if app is not None:
        app.processEvents()
    return res


def bench_whole_table(data_dir: Path, day: str) -> dict:
    """For scale, once: the naivest view, the whole table into a list, the day picked out in Python."""
    with Journal.open(data_dir, readonly=True) as journal:
        started = time.perf_counter()
        rows = journal.query("SELECT * FROM transactions")
        mine = sorted((r for r in rows if r["day"] == day), key=lambda r: r["created_at"])
        took = time.perf_counter() - started
        res = {"seconds": took, "rows": len(rows), "day_rows": len(mine)}
        del rows, mine
    return res


# -- X and Z --------------------------------------------------------------------------------------------
def python_report(journal: Journal, day: str) -> tuple[dict, dict]:
    """The peer: the day's rows and everything still open, then the totals by kind and status of the day's
    settled rows and the differences, in one Python loop (the net is checked by :func:`sql_net`)."""
    totals: dict[str, dict] = {}
    open_, review, settled = [], [], []
    for r in journal.query("SELECT * FROM transactions WHERE day=? OR final=0 ORDER BY created_at", (day,)):
        status = r["status"]
        item = {"id": r["id"], "kind": r["kind"], "currency": r["currency"], "amount": r["amount"], "status": status}
        if not r["final"]:
            (review if status == "NEEDS_REVIEW" else open_).append(item)
            continue
        cur = totals.setdefault(r["currency"], {"sale": {}, "refund": {}, "cancel": {}})
        entry = cur[r["kind"]].setdefault(status, {"count": 0, "value": 0})
        entry["count"] += 1
        entry["value"] += r["amount"]
        if r["kind"] == "sale":
            state = json.loads(r["state"])
            if state.get("inquiries") or state.get("cancels"):
                settled.append(item)
    return totals, {"stillOpen": open_, "needsReview": review, "settledByReconciliation": settled}


def sql_net(journal: Journal, day: str) -> dict[str, int]:
    """The day's net per currency, in plain SQL over the raw rows: a paid sale, or one a manager's cancel
    reversed (a successful cancel row of it), adds its amount; a successful refund or cancel takes its
    amount off; nothing else moved money. The bench's cancels are of the same day's sales."""
    return {r[0]: r[1] for r in journal.query(
        """SELECT t.currency, SUM(CASE
             WHEN t.kind = 'sale' AND t.status = 'SUCCESS' THEN t.amount
             WHEN t.kind = 'sale' AND t.status = 'CANCELLED' AND EXISTS (SELECT 1 FROM transactions c
                  WHERE c.parent = t.id AND c.kind = 'cancel' AND c.status = 'SUCCESS') THEN t.amount
             WHEN t.kind IN ('refund', 'cancel') AND t.status = 'SUCCESS' THEN -t.amount
             ELSE 0 END)
           FROM transactions t WHERE t.day = ? GROUP BY t.currency ORDER BY t.currency""", (day,))}


def same_report(report: dict, peer: tuple[dict, dict], net: dict[str, int]) -> None:
    totals, diff = peer
    ours = {cur: {k: v for k, v in t.items() if k != "net"} for cur, t in report["totals"].items()}
    if ours != totals:
        raise SystemExit(f"the peer's totals differ from closing's:\n{ours}\n{totals}")
    if {cur: t["net"] for cur, t in report["totals"].items()} != net:
        raise SystemExit(f"the nets differ from plain SQL's: {report['totals']} vs {net}")
    for key, items in diff.items():
        if sorted(x["id"] for x in report["differences"][key]) != sorted(x["id"] for x in items):
            raise SystemExit(f"the peer's {key} differs from closing's")


def bench_closing(data_dir: Path, days: list[str], pending: dict[str, list]) -> dict:
    """The first Z closes the history; then, per day: journal it, X (and the peer), Z (and the peer)."""
    from offline_queue import ledger

    res = {"x": [], "z": [], "peer_x": [], "peer_z": [], "read_part": []}
    with Journal.open(data_dir) as journal:
        t0 = time.perf_counter()
        first = closing.take_z(journal, by="bench")
        res["first_z"], res["first_z_rows"] = time.perf_counter() - t0, first["session"]["count"]
        for day in days[1:]:
            with journal.transaction() as c:
                c.executemany(_INSERT, pending.pop(day))
            journal.checkpoint()
            t0 = time.perf_counter()
            x = closing.x_report(journal)
            t1 = time.perf_counter()
            peer = python_report(journal, day)
            t2 = time.perf_counter()
            ledger.uncovered_groups(journal)   # where an X's time goes: the two reads, the rest is Python
            ledger.uncovered_differences(journal)
            t3 = time.perf_counter()
            net = sql_net(journal, day)
            same_report(x, peer, net)
            res["x"].append(t1 - t0)
            res["peer_x"].append(t2 - t1)
            res["read_part"].append(t3 - t2)
            t0 = time.perf_counter()
            z = closing.take_z(journal, by="bench")
            t1 = time.perf_counter()
            python_report(journal, day)
            t2 = time.perf_counter()
            same_report(z, peer, net)
            if z["totals"] != x["totals"]:
                raise SystemExit("the Z's totals differ from the X taken just before it")
            res["z"].append(t1 - t0)
            res["peer_z"].append(t2 - t1)
            res["day_rows"] = z["session"]["count"]
            res["summary"] = {cur: {k: sum(e["count"] for e in t[k].values()) for k in ("sale", "refund", "cancel")}
                              for cur, t in z["totals"].items()}
            res["diff"] = {k: len(v) for k, v in z["differences"].items()}
            res["carried"] = len(z["differences"]["stillOpen"]) + len(z["differences"]["needsReview"])
        res["z_numbers"] = [r["number"] for r in closing.z_reports(journal)]
        if closing.verify_chain(journal):
            raise SystemExit("the Z chain does not verify")
    return res


# -- the table ------------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds >= 0.001 else f"{seconds * 1e6:.0f} µs"


def ratio(ours: float, peer: float) -> str:
    return f"{peer / ours:.1f}x faster" if peer >= ours else f"{ours / peer:.1f}x slower"


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    table.print_table(rows, header, (False, True, True, True, False, False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 100,000-row journal and fewer runs (CI)")
    parser.add_argument("--rows", type=int, help="the cached journal's size (default 1,000,000; --quick 100,000)")
    parser.add_argument("--day-rows", type=int, default=DAY_ROWS, help=f"transactions per busy day ({DAY_ROWS:,})")
    parser.add_argument("--runs", type=int, help="runs of each measure, and days closed by a Z (5; --quick 3)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    runs, day_size = args.runs or sizes["runs"], args.day_rows
    wall = time.perf_counter()
    load = os.getloadavg()
    source, origin = cached_journal(args.rows or sizes["rows"])
    with tempfile.TemporaryDirectory(prefix="bench-manager-") as tmp:
        say(f"copying {source / FILE_NAME} ({origin}) and making {runs + 1} days of {day_size:,} transactions")
        data_dir, days, info, pending = prepare(source, Path(tmp), runs + 1, day_size)
        view_day = days[0]
        say(f"1. day view on {view_day} ({day_size:,} rows of {info['rows']:,}), {runs} runs")
        view = bench_day_view(data_dir, view_day, runs)
        say(f"2. a first Z closes the history; then X and Z on each of {', '.join(days[1:])}")
        close = bench_closing(data_dir, days, pending)
        say("3. the whole table into a list, once")
        whole = bench_whole_table(data_dir, view_day)

    med = statistics.median
    opened, naive = med(view["open"]), med(view["naive"])
    scroll = {at: med(v) for at, v in view["scroll"].items()}
    naive_scroll = {at: med(v) for at, v in view["naive_scroll"].items()}
    worst = max(scroll, key=scroll.get)
    x, px, z, pz = (med(close[k]) for k in ("x", "peer_x", "z", "peer_z"))
    fetched, day_rows = view["fetched"], view["day_rows"]

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    name = "DayModel" if view["used_model"] else "SQL paging (no DayModel)"
    at_text = "/".join(f"{int(a * 100)}%" for a in SCROLL_AT)
    ours_total, naive_total = opened + sum(scroll.values()), naive + sum(naive_scroll.values())
    rows = [
        (f"day view opens: {name}, count + {VISIBLE} rows", ms(opened), ms(naive), ratio(opened, naive),
         f"<= {OPEN_GOAL * 1000:.0f} ms", met(opened <= OPEN_GOAL)),
        *[(f"day view scroll to {int(at * 100)}%: {VISIBLE} rows", ms(scroll[at]), ms(naive_scroll[at]),
           ratio(scroll[at], naive_scroll[at]), "", "") for at in SCROLL_AT],
        (f"day view open + scroll to {at_text}", ms(ours_total), ms(naive_total), ratio(ours_total, naive_total),
         "", ""),
        (f"rows from SQLite: open + scroll to {at_text}", f"{fetched:,}", f"{view['naive_fetched']:,}",
         f"{fetched / day_rows:.1%} of the day", f"< {day_rows:,} (not all)", met(fetched < day_rows)),
        ("naive, whole table into a list (once)", "", ms(whole["seconds"]), f"{whole['seconds'] / opened:.0f}x ours",
         "", ""),
        (f"X report, a session of {close['day_rows']:,}", ms(x), ms(px), ratio(x, px), f"<= {Z_GOAL * 1000:.0f} ms",
         met(x <= Z_GOAL)),
        (f"Z report (take_z), a session of {close['day_rows']:,}", ms(z), ms(pz), ratio(z, pz),
         f"<= {Z_GOAL * 1000:.0f} ms", met(z <= Z_GOAL)),
        (f"first Z after the upgrade: {close['first_z_rows']:,} rows", ms(close["first_z"]), "", "", "", ""),
    ]
    print(f"Manager benchmarks{' (--quick: the 100,000-row journal)' if args.quick else ''}: pos-terminal beside "
          f"a naive peer in the same run; {os.cpu_count()} cores, load average {load[0]:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end\n")
    print_table(rows, ("measure", "ours", "peer", "ratio", "goal", "met"))
    print()
    print(f"Journal: {info['rows_before']:,} transactions ({origin}, {info['file_mb']:.0f} MB, copied in "
          f"{info['copy_s']:.1f} s, opened/migrated to schema v{schema.VERSION} in {info['migrate_s']:.2f} s) "
          f"+ the view's day of {day_size:,} ({info['insert_s']:.1f} s) = {info['rows']:,}, then {len(days) - 1} "
          f"more days of {day_size:,}, each closed by a Z.")
    if view["used_model"]:
        print(f"Day view: {view['model']}, offscreen Qt; rowCount {view['view_rows']:,} at open, "
              f"{view['final_rows']:,} after the scroll.")
    else:
        print(f"Day view: ui.manager.DayModel not available ({view['model']}); measured the same paging in "
              f"plain SQL instead: COUNT(*) on the (day, created_at) index, pages of {PAGE} via that covering index.")
    print(f"  Day {view_day}, {day_rows:,} rows; median of {runs} fresh opens, alternating with the peer "
          f"(SELECT * ... WHERE day=? ORDER BY created_at into a list, then the same {VISIBLE} rows). Scroll = "
          f"data() for {VISIBLE} rows at {at_text} after the open; worst {int(worst * 100)}% at {ms(scroll[worst])}. "
          f"Rows fetched at open alone: {view['fetched_open']:,}; data() for the {VISIBLE} rows again, their page "
          f"cached: {ms(med(view['cached']))}. Whole table: {whole['rows']:,} rows "
          f"({whole['day_rows']:,} of the day) in {whole['seconds']:.1f} s.")
    s = close["summary"]
    print(f"Reports: a first Z closed the history ({close['first_z_rows']:,} settled rows, "
          f"{ms(close['first_z'])}); then on each of {len(days) - 1} days an X, then a Z (numbers "
          f"{close['z_numbers']}, chain verified), medians; the peer after each, its totals and differences "
          f"checked equal to closing's, every net equal to plain SQL's over the day's raw rows. Last day's mix: "
          + "; ".join(f"{cur} {c['sale']} sales, {c['refund']} refunds, {c['cancel']} cancels" for cur, c in s.items())
          + f"; differences {close['diff']} (with the rows still open from every earlier session: "
          f"{close['carried']:,} carried to the next Z). X split: SQLite's two reads (the session summed "
          f"by kind, currency and status; the rows listed one by one) {ms(med(close['read_part']))}, the rest "
          f"in Python.")
    print(f"\nwall time {time.perf_counter() - wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
