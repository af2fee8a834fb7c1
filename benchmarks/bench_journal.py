"""What the write-ahead journal costs, and what it buys, side by side with a peer in one run:

    .venv/bin/python benchmarks/bench_journal.py [--quick]

1. Sale overhead: payment-code sales through ``Terminal.start_sale`` (the CLI's path: a Runtime with its
   background reconciler) against bare signed pays with ``GatewayClient.pay_payment_code``, in
   alternating rounds against the same simulator (its own process). The overhead is the difference of
   the percentiles; it is also measured directly: the time in the journal's commits
   (``Journal.record_many``) per sale, and the sale's time outside its own ``client.send``.
2. Durable queue: enqueue + read + ack per second, both at ``journal_mode=WAL, synchronous=FULL``: our
   outbox (``Journal.record`` with ``outbox_put``, ``outbox_body``, ``Journal.record`` with
   ``outbox_drop``, as the terminal writes them, events included) against persist-queue's
   ``SQLiteAckQueue`` (put, get, ack).
3. Backlog drain: refunds queued while the simulator is down, then drained through
   ``Terminal.advance_due`` once it is back, against the same number of bare ``GatewayClient.refund``
   calls (split around each outage): the simulator's capacity for one caller. Measured directly too: the
   time per refund in the journal's commits and outside its send.
4. Day report: ``day_report()`` on a journal of 1,000,000 transactions (~2,700 a day; built once into
   ``benchmarks/.cache/``) against a full-table scan for the same day (``WHERE +day=?``, no index).

``--quick`` shrinks every part (a 100,000-row journal) for a CI smoke test. Progress goes to stderr, the
table to stdout. Ratios compare; the goals column only says where each number stands.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout, not an installed copy

import table  # benchmarks/table.py
from simproc import SimProcess

from offline_queue import schema
from offline_queue.journal import FILE_NAME, TRANSACTION_COLUMNS, Journal
from pos_app.gateway import GatewayClient
from pos_app.money import Money
from pos_app.report import day_report
from pos_app.runtime import Runtime
from pos_app.sim.provision import terminal_toml
from pos_app.terminal import new_request_id, queue_status

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
NOTIFY_URL = "http://127.0.0.1:9/notify"  # nothing listens: the simulator's notifications fail fast
SALE_AMOUNT = Money(1000, "USD")          # any amount but the scenario ones (99xx) succeeds at once
REFUND_AMOUNT = Money(100, "USD")         # up to ten partial refunds per sale

FULL = {"sale_rounds": 20, "sales_per_round": 50, "refunds": 1000, "drain_rounds": 2, "queue_rounds": 10,
        "queue_ops": 500, "report_rows": 1_000_000, "report_runs": 9}
QUICK = {"sale_rounds": 6, "sales_per_round": 25, "refunds": 150, "drain_rounds": 1, "queue_rounds": 3,
         "queue_ops": 200, "report_rows": 100_000, "report_runs": 3}
PER_DAY = 2_740  # 1,000,000 transactions over 365 days


def say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))]


def timed(fn, sink: list[float], only_thread: int | None = None):
    """``fn``, appending the seconds each call took to ``sink`` (only calls from ``only_thread``, if given)."""
    def wrapper(*args, **kw):
        started = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            if only_thread is None or threading.get_ident() == only_thread:
                sink.append(time.perf_counter() - started)
    return wrapper


def payment_code() -> str:
    return "28" + f"{secrets.randbelow(10**16):016d}"


def write_config(sim: SimProcess) -> Path:
    """A terminal.toml next to the simulator's keys (paths in it are relative to the file)."""
    path = sim.data_dir / "bench-terminal.toml"
    path.write_text(terminal_toml(sim.url, sim.client_id, "127.0.0.1:9", NOTIFY_URL))
    return path


# -- 1. sale overhead -----------------------------------------------------------------------------------
def bench_sales(config_file: Path, data_dir: Path, sizes: dict) -> dict:
    main = threading.get_ident()
    with Runtime(config_file, data_dir, receiver=False, background=True) as rt:
        t = rt.terminal
        record_spent: list[float] = []
        send_spent: list[float] = []
        t.journal.record_many = timed(t.journal.record_many, record_spent, only_thread=main)  # not the reconciler's
        t.client.send = timed(t.client.send, send_spent)
        res = {"sale": [], "pay": [], "journal": [], "commits": [], "outside_send": [], "send": [], "errors": 0,
               "sale_ids": [], "payment_ids": []}

        def one_sale(keep: bool) -> None:
            record_spent.clear()
            send_spent.clear()
            started = time.perf_counter()
            sale = t.start_sale(SALE_AMOUNT, code=payment_code())
            took = time.perf_counter() - started
            if sale.status != "SUCCESS":
                res["errors"] += 1
                return
            if keep:
                res["sale"].append(took)
                res["journal"].append(sum(record_spent))
                res["commits"].append(len(record_spent))
                res["outside_send"].append(took - sum(send_spent))
                res["send"].append(sum(send_spent))
                res["sale_ids"].append(sale.id)

        with GatewayClient.from_config(t.config) as client:
            description = f"{t.config.merchant.store_name} sale"

            def one_pay(keep: bool) -> None:
                request_id = new_request_id("PR")
                started = time.perf_counter()
                outcome = client.pay_payment_code(t.config.merchant, request_id, SALE_AMOUNT, payment_code(),
                                                  description=description, notify_url=NOTIFY_URL)
                took = time.perf_counter() - started
                if not outcome.ok:
                    res["errors"] += 1
                    return
                if keep:
                    res["pay"].append(took)
                    res["payment_ids"].append(outcome.body["paymentId"])

            for _ in range(10):  # warm-up: connections, first-call imports
                one_sale(False)
                one_pay(False)
            for _ in range(sizes["sale_rounds"]):
                for _ in range(sizes["sales_per_round"]):
                    one_sale(True)
                for _ in range(sizes["sales_per_round"]):
                    one_pay(True)
    return res


# -- 3. backlog drain -----------------------------------------------------------------------------------
def raw_refunds(client: GatewayClient, payment_ids: list[str], count: int, offset: int,
                workers: int) -> tuple[int, float, int]:
    """The peer: the same refunds sent straight from a client, as many in flight as the terminal drains with."""
    def one(i: int) -> bool:
        payment_id = payment_ids[(offset + i) % len(payment_ids)]
        return client.refund(new_request_id("RF"), payment_id, REFUND_AMOUNT, notify_url=NOTIFY_URL).ok
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        errors = sum(not ok for ok in pool.map(one, range(count)))
    return count, time.perf_counter() - started, errors


def bench_drain(sim: SimProcess, config_file: Path, data_dir: Path, sale_ids: list[str], payment_ids: list[str],
                count: int, rounds: int) -> tuple[dict, SimProcess]:
    """``rounds`` outages of count/rounds refunds each; the bare refunds are split around every outage."""
    per_sale = SALE_AMOUNT.minor // REFUND_AMOUNT.minor
    if min(len(sale_ids), len(payment_ids)) * per_sale < count:
        raise SystemExit("too few paid sales for that many partial refunds")
    res = {"count": count, "queued": 0, "queue_seconds": 0.0, "backlog": 0, "drain_seconds": 0.0, "passes": 0,
           "drain_errors": 0, "raw_count": 0, "raw_seconds": 0.0, "raw_errors": 0, "journal": [], "outside_send": [],
           "send": []}

    def raw(client: GatewayClient, n: int) -> None:
        done, seconds, errors = raw_refunds(client, payment_ids, n, res["raw_count"], workers)
        res["raw_count"] += done
        res["raw_seconds"] += seconds
        res["raw_errors"] += errors

    with Runtime(config_file, data_dir, receiver=False, background=False) as rt:
        t = rt.terminal
        workers = res["workers"] = t.drain_workers
        record_spent: list[float] = []
        send_spent: list[float] = []

        def timed_advance(txn_id):  # what advance_due calls per row, measured per refund
            record_spent.clear()
            send_spent.clear()
            started = time.perf_counter()
            try:
                return real_advance(txn_id)
            finally:
                took = time.perf_counter() - started
                res["journal"].append(sum(record_spent))
                res["outside_send"].append(took - sum(send_spent))
                res["send"].append(sum(send_spent))

        real_advance = t.advance
        t.journal.record_many = timed(t.journal.record_many, record_spent)
        t.client.send = timed(t.client.send, send_spent)
        with GatewayClient.from_config(t.config) as client:
            made = 0
            for r in range(rounds):
                n = count // rounds + (r < count % rounds)
                say(f"   round {r + 1}/{rounds}: {n // 2} bare GatewayClient.refund calls")
                raw(client, n // 2)

                sim.stop()
                say(f"   gateway down: queueing {n} refunds in the terminal")
                started = time.perf_counter()
                queued = [t.refund(sale_ids[(made + i) % len(sale_ids)], REFUND_AMOUNT) for i in range(n)]
                res["queue_seconds"] += time.perf_counter() - started
                made += n
                res["queued"] += sum(1 for f in queued if f.status == "QUEUED")
                backlog = queue_status(t.journal, time.time())["count"]
                due_at = max((f.next_at for f in queued if f.next_at is not None), default=time.time())
                time.sleep(max(0.0, due_at - time.time()) + 0.05)  # all due by the time the link returns

                sim = SimProcess(sim.data_dir, sim.port)
                say(f"   gateway back: draining {backlog} refunds with Terminal.advance_due")
                t.advance = timed_advance
                started = time.perf_counter()
                while queue_status(t.journal, time.time())["count"]:
                    res["passes"] += 1
                    if not t.advance_due():
                        time.sleep(0.01)
                    if time.perf_counter() - started > 600:
                        raise SystemExit("the backlog did not drain in 10 minutes")
                res["drain_seconds"] += time.perf_counter() - started
                t.advance = real_advance
                res["backlog"] += backlog
                res["drain_errors"] += sum(1 for f in queued if t.journal.get(f.id)["status"] != "SUCCESS")

                client.inquiry_payment(payment_id=payment_ids[0])  # its pooled connection died with the old sim
                say(f"   {n - n // 2} bare GatewayClient.refund calls")
                raw(client, n - n // 2)
    return res, sim


# -- 2. durable queue -----------------------------------------------------------------------------------
def _refund_body(i: int) -> bytes:
    return json.dumps({"refundRequestId": f"RF20260101000000{i:016x}", "paymentId": f"202601011154{i:016x}",
                       "refundAmount": {"currency": "USD", "value": "100"}, "refundNotifyUrl": NOTIFY_URL},
                      separators=(",", ":")).encode()


def _followup_state(txn: str, sale: str, now: float, phase: str, next_at, attempts: int, code: str, message: str,
                    gateway_id) -> str:
    return json.dumps({"id": txn, "kind": "refund", "sale_id": sale, "currency": "USD", "amount": 100,
                       "created_at": now, "phase": phase, "next_at": next_at, "attempts": attempts,
                       "unknown_since": None, "result_code": code, "message": message, "gateway_id": gateway_id},
                      separators=(",", ":"))


def outbox_round(path: Path, ops: int) -> tuple[float, dict]:
    """Enqueue (row + outbox + events, one commit), read the body to send, ack (row + drop + events, one commit)."""
    journal = Journal.open(path)
    try:
        pragmas = {p: journal.conn.execute(f"PRAGMA {p}").fetchone()[0]
                   for p in ("journal_mode", "synchronous", "secure_delete")}
        started = time.perf_counter()
        for i in range(ops):
            now = time.time()
            txn, sale = f"RF{i:030d}", f"PR{i:030d}"
            journal.record({"id": txn, "kind": "refund", "parent": sale, "currency": "USD", "amount": 100,
                            "status": "UNKNOWN", "phase": "SENDING", "result_code": "", "message": "",
                            "description": "", "state": _followup_state(txn, sale, now, "SENDING", None, 1, "", "",
                                                                        None),
                            "next_at": None, "final": 0, "created_at": now, "updated_at": now, "day": "2026-01-01"},
                           insert=True, outbox_put=("refund", _refund_body(i)),
                           events=[("created", {"sale": sale, "amount": {"currency": "USD", "value": "100"},
                                                "reason": None}),
                                   ("state", {"from": None, "to": "SENDING", "status": "UNKNOWN", "resultCode": "",
                                              "message": ""})])
            body = journal.outbox_body(txn, "refund")
            assert body is not None
            now = time.time()
            journal.record({"id": txn, "status": "SUCCESS", "phase": "DONE", "result_code": "SUCCESS",
                            "message": "refunded",
                            "state": _followup_state(txn, sale, now, "DONE", None, 1, "SUCCESS", "refunded", "x"),
                            "next_at": None, "final": 1, "updated_at": now},
                           outbox_drop="refund",
                           events=[("answer", {"api": "refund", "status": "success", "resultCode": "SUCCESS"}),
                                   ("state", {"from": "SENDING", "to": "DONE", "status": "SUCCESS"})])
        elapsed = time.perf_counter() - started
        assert journal.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
        return elapsed, pragmas
    finally:
        journal.close()


def persist_queue_round(path: Path, ops: int) -> tuple[float, dict]:
    import persistqueue
    q = persistqueue.SQLiteAckQueue(str(path), auto_commit=True, multithreading=False)
    try:
        # persist-queue sets only journal_mode=WAL; make synchronous=FULL explicit (one connection here:
        # _getter and _putter are the same without multithreading).
        for conn in {id(q._getter): q._getter, id(q._putter): q._putter}.values():
            conn.execute("PRAGMA synchronous = FULL")
        pragmas = {p: q._getter.execute(f"PRAGMA {p}").fetchone()[0]
                   for p in ("journal_mode", "synchronous", "secure_delete")}
        started = time.perf_counter()
        for i in range(ops):
            q.put(_refund_body(i))
            item = q.get(block=False, raw=True)
            q.ack(item)
        elapsed = time.perf_counter() - started
        assert q.acked_count() == ops and q.qsize() == 0
        return elapsed, pragmas
    finally:
        q.close()


def bench_queue(work: Path, sizes: dict) -> dict:
    res = {"ours": 0.0, "theirs": 0.0, "ops": 0}
    for r in range(sizes["queue_rounds"]):  # alternating, each on a fresh store on the same disk
        elapsed, res["ours_pragmas"] = outbox_round(work / f"outbox-{r}", sizes["queue_ops"])
        res["ours"] += elapsed
        elapsed, res["theirs_pragmas"] = persist_queue_round(work / f"pq-{r}", sizes["queue_ops"])
        res["theirs"] += elapsed
        res["ops"] += sizes["queue_ops"]
    return res


# -- 4. day report --------------------------------------------------------------------------------------
def _sale_state(txn: str, amount: int, created: float, phase: str, payment_id, code: str, message: str) -> str:
    return json.dumps({"id": txn, "tender": "payment_code", "currency": "USD", "amount": amount, "created_at": created,
                       "phase": phase, "next_at": None, "payment_id": payment_id, "result_code": code,
                       "message": message, "pay_attempts": 1, "resends": 0, "maybe_sent": False,
                       "unknown_since": None, "inquiries": 0, "cancel_since": None, "cancels": 0,
                       "cancel_refused": False, "code_value": None, "code_expires_at": None,
                       "gateway_status": None, "accepted_at_risk": False}, separators=(",", ":"))


def _rows(total: int, first_day: date):
    """Transactions in time order, ~PER_DAY a day from 08:00 to 22:00: ~96% sales (97% paid), 3% refunds
    (a third of them of an earlier day's sale), 1% cancels."""
    rng = random.Random(20260101)
    days = -(-total // PER_DAY)
    made = 0
    earlier: list[str] = []
    for d in range(days):
        day = first_day + timedelta(days=d)
        midnight = time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))
        stamp = day.strftime("%Y%m%d")
        n = min(PER_DAY, total - made)
        today: list[str] = []
        for i in range(n):
            created = midnight + 8 * 3600 + i * (14 * 3600 / n) + rng.random()
            updated = created + 0.004
            hms = time.strftime("%H%M%S", time.localtime(created))
            roll = rng.random()
            if roll < 0.03 and (today or earlier):
                parent = rng.choice(earlier) if (rng.random() < 1 / 3 and earlier) or not today else rng.choice(today)
                txn = f"RF{stamp}{hms}{rng.getrandbits(64):016x}"
                ok = rng.random() < 0.98
                state = _followup_state(txn, parent, created, "DONE" if ok else "FAILED", None, 1,
                                        "SUCCESS" if ok else "REFUND_AMOUNT_EXCEED",
                                        "refunded" if ok else "refunds would total more than paid", "x")
                yield (txn, "refund", None, parent, None, "USD", 100 + rng.randrange(900),
                       "SUCCESS" if ok else "FAILED", "DONE" if ok else "FAILED",
                       "SUCCESS" if ok else "REFUND_AMOUNT_EXCEED",
                       "refunded" if ok else "refunds would total more than paid", "", None, state, None, 1,
                       created, updated, day.isoformat())
            elif roll < 0.04 and today:
                parent = rng.choice(today)
                txn = f"CX{stamp}{hms}{rng.getrandbits(64):016x}"
                state = _followup_state(txn, parent, created, "DONE", None, 1, "SUCCESS",
                                        "cancelled: the money went back", None).replace('"refund"', '"cancel"', 1)
                yield (txn, "cancel", None, parent, None, "USD", 1000, "SUCCESS", "DONE", "SUCCESS",
                       "cancelled: the money went back", None, None, state, None, 1, created, updated,
                       day.isoformat())
            else:
                txn = f"PR{stamp}{hms}{rng.getrandbits(64):016x}"
                paid = rng.random() < 0.97
                payment_id = f"{stamp}1154{rng.getrandbits(64):016x}" if paid else None
                code, message = ("SUCCESS", "success") if paid else ("USER_BALANCE_NOT_ENOUGH",
                                                                     "the user's balance is not enough")
                amount = 100 + rng.randrange(20000)
                state = _sale_state(txn, amount, created, "PAID" if paid else "FAILED", payment_id, code, message)
                yield (txn, "sale", "payment_code", None, payment_id, "USD", amount,
                       "SUCCESS" if paid else "FAILED", "PAID" if paid else "FAILED", code, message,
                       "Sandbox Store 1 sale", f"28************{rng.randrange(10000):04d}", state, None, 1, created,
                       updated, day.isoformat())
                if paid:
                    today.append(txn)
            made += 1
        earlier = (earlier + today)[-20000:]


def report_journal(rows: int) -> tuple[Path, bool]:
    """``benchmarks/.cache/journal-<rows>-schema<N>/journal.sqlite``, built once (schema by Journal.open) and
    reused; a new schema version builds a new one. Delete the directory to rebuild it."""
    target = CACHE / f"journal-{rows}-schema{schema.VERSION}"
    if (target / FILE_NAME).exists():
        return target, False
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    Journal.open(building).close()  # the product's schema and indexes, exactly
    conn = sqlite3.connect(building / FILE_NAME, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    columns = list(TRANSACTION_COLUMNS)
    sql = f"INSERT INTO transactions ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})"
    conn.execute("BEGIN")
    conn.executemany(sql, _rows(rows, date(2025, 1, 1)))
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")  # as the terminal leaves it
    conn.close()
    (building / "pos-terminal.lock").unlink(missing_ok=True)
    os.replace(building, target)
    return target, True


def bench_report(rows: int, runs: int) -> dict:
    started = time.perf_counter()
    path, built = report_journal(rows)
    res = {"built": built, "build_seconds": time.perf_counter() - started,
           "file_mb": (path / FILE_NAME).stat().st_size / 1e6}
    columns = ("id, kind, tender, parent, payment_id, currency, amount, status, result_code, message, description, "
               "code_masked, created_at, updated_at")
    # "+day" keeps the planner off every index (NOT INDEXED alone still lets it use a covering one on a
    # WITHOUT ROWID table): the peer really reads the whole table.
    scan_sql = f"SELECT {columns} FROM transactions WHERE +day=? ORDER BY created_at"
    with Journal.open(path, readonly=True) as journal:
        res["rows"] = journal.conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
        days = [r[0] for r in journal.conn.execute("SELECT DISTINCT day FROM transactions ORDER BY day")]
        day = days[len(days) // 2]
        res["day"] = day
        report = day_report(journal, day)  # warm-up, for the page cache
        scanned = journal.conn.execute(scan_sql, (day,)).fetchall()
        if report["count"] != len(scanned):
            raise SystemExit(f"the report has {report['count']} rows, the scan {len(scanned)}")
        res["day_rows"] = report["count"]
        res["report"], res["query"], res["scan"] = [], [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            day_report(journal, day)
            t1 = time.perf_counter()
            journal.day(day)
            t2 = time.perf_counter()
            journal.conn.execute(scan_sql, (day,)).fetchall()
            t3 = time.perf_counter()
            res["report"].append(t1 - t0)
            res["query"].append(t2 - t1)
            res["scan"].append(t3 - t2)
    return res


# -- the table ------------------------------------------------------------------------------------------
def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    table.print_table(rows, header, (False, False, True, False, True, True, False))  # numbers to the right


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations and a 100,000-row journal (CI)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    wall = time.perf_counter()
    load = os.getloadavg()
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp:
        tmp = Path(tmp)
        sim = SimProcess(tmp / "sim")
        try:
            config_file = write_config(sim)
            n = sizes["sale_rounds"] * sizes["sales_per_round"]
            say(f"1. sales: {n} Terminal.start_sale vs {n} bare pays, {sizes['sale_rounds']} alternating rounds")
            sales = bench_sales(config_file, tmp / "terminal", sizes)
            say(f"3. drain: {sizes['refunds']} refunds")
            drain, sim = bench_drain(sim, config_file, tmp / "terminal", sales["sale_ids"], sales["payment_ids"],
                                     sizes["refunds"], sizes["drain_rounds"])
        finally:
            for started in SimProcess.started:
                started.stop()
        say(f"2. durable queue: {sizes['queue_rounds']} alternating rounds of {sizes['queue_ops']} enqueue+ack")
        queue = bench_queue(tmp, sizes)
    say(f"4. report: journal of {sizes['report_rows']:,} transactions (built once into {CACHE})")
    report = bench_report(sizes["report_rows"], sizes["report_runs"])

    s, p = sales["sale"], sales["pay"]
    ours_rate, theirs_rate = queue["ops"] / queue["ours"], queue["ops"] / queue["theirs"]
    drain_rate = drain["backlog"] / drain["drain_seconds"]
    raw_rate = drain["raw_count"] / drain["raw_seconds"]
    rep, scan, query = (statistics.median(report[k]) for k in ("report", "scan", "query"))
    over50, over99 = pct(s, 50) - pct(p, 50), pct(s, 99) - pct(p, 99)

    def yes(ok: bool) -> str:
        return "met" if ok else "NOT met"

    def p50_99(values: list[float]) -> str:
        return f"{ms(pct(values, 50))} / {ms(pct(values, 99))}"

    rows = [
        ("1", "sale p50", ms(pct(s, 50)), "bare signed pay", ms(pct(p, 50)), f"{pct(s, 50) / pct(p, 50):.2f}x", ""),
        ("1", "sale p99", ms(pct(s, 99)), "bare signed pay", ms(pct(p, 99)), f"{pct(s, 99) / pct(p, 99):.2f}x", ""),
        ("1", "overhead = sale - pay, p50", ms(over50), "", "", "", ""),
        ("1", "overhead = sale - pay, p99", ms(over99), "", "", "", f"<= 5 ms: {yes(over99 <= 0.005)}"),
        ("1", "direct: sale minus its send, p50 / p99", p50_99(sales["outside_send"]), "", "", "", ""),
        ("1", f"direct: journal commits x{statistics.mode(sales['commits'])} per sale, p50 / p99",
         p50_99(sales["journal"]), "", "", "", ""),
        ("2", "enqueue+read+ack, WAL + synchronous=FULL", f"{ours_rate:,.0f}/s", "persist-queue SQLiteAckQueue",
         f"{theirs_rate:,.0f}/s", f"{ours_rate / theirs_rate:.2f}x", f">= 1x, aim 2x: {yes(ours_rate >= theirs_rate)}"),
        ("3", f"drain {drain['backlog']} queued refunds", f"{drain_rate:,.0f} req/s",
         f"bare GatewayClient.refund x{drain['workers']}", f"{raw_rate:,.0f} req/s", f"{drain_rate / raw_rate:.2f}x",
         "peer = simulator bound"),
        ("3", "direct: advance minus its send, p50 / p99", p50_99(drain["outside_send"]), "", "", "", ""),
        ("3", "direct: journal commits per refund, p50 / p99", p50_99(drain["journal"]), "", "", "", ""),
        ("4", f"day_report(), {report['day_rows']:,} of {report['rows']:,} rows", ms(rep), "full scan (no index)",
         ms(scan), f"{scan / rep:.1f}x faster", f"<= 200 ms: {yes(rep <= 0.2)}"),
        ("4", "its indexed query alone (Journal.day)", ms(query), "full scan (no index)", ms(scan),
         f"{scan / query:.1f}x faster", ""),
    ]
    print(f"Journal benchmarks{' (--quick)' if args.quick else ''}: pos-terminal beside its peer in the same run; "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end\n")
    print_table(rows, ("#", "measure", "pos-terminal", "peer", "peer value", "ratio", "goal"))
    qo, qt = queue["ours_pragmas"], queue["theirs_pragmas"]
    print()
    mean = statistics.fmean
    print(f"1. {len(s)} sales and {len(p)} pays in {sizes['sale_rounds']} alternating rounds (after 10 warm-up "
          f"each), {sales['errors']} errors. Sale = Runtime(reconciler on, no receiver).terminal.start_sale; "
          f"simulator in its own process. Means: sale {ms(mean(s))} = its send {ms(mean(sales['send']))} + the rest "
          f"{ms(mean(sales['outside_send']))} (journal commits {ms(mean(sales['journal']))}); bare pay {ms(mean(p))}.")
    print(f"2. {queue['ops']} ops each in {sizes['queue_rounds']} alternating rounds, a fresh store each. "
          f"Journal: journal_mode={qo['journal_mode']} synchronous={qo['synchronous']} "
          f"secure_delete={qo['secure_delete']}, 2 commits/op (row+outbox+events; row+drop+events). "
          f"persist-queue: journal_mode={qt['journal_mode']} synchronous={qt['synchronous']} "
          f"secure_delete={qt['secure_delete']}, 3 commits/op (put; get marks unack; ack). synchronous 2 = FULL.")
    print(f"3. {drain['queued']}/{drain['count']} refunds QUEUED offline in {drain['queue_seconds']:.2f} s "
          f"({drain['queue_seconds'] / drain['count'] * 1000:.2f} ms each), over {sizes['drain_rounds']} outage(s); "
          f"drained in {drain['drain_seconds']:.2f} s ({drain['passes']} advance_due passes), "
          f"{drain['drain_errors']} not SUCCESS. Peer: {drain['raw_count']} refunds in {drain['raw_seconds']:.2f} s, "
          f"split around each outage, {drain['raw_errors']} errors. Means per refund: advance "
          f"{ms(mean(drain['send']) + mean(drain['outside_send']))} = its send {ms(mean(drain['send']))} + the rest "
          f"{ms(mean(drain['outside_send']))} (journal commits {ms(mean(drain['journal']))}); "
          f"bare refund {ms(drain['raw_seconds'] / drain['raw_count'])}.")
    built = f"built in {report['build_seconds']:.0f} s" if report["built"] else "reused from the cache"
    print(f"4. journal {report['file_mb']:.0f} MB ({built}), day {report['day']}, median of "
          f"{sizes['report_runs']} warm runs, alternating.")
    print(f"\nwall time {time.perf_counter() - wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
