"""Crash tests: ``pos-terminal sale`` killed with SIGKILL at many points, then ``pos-terminal reconcile``.

The promise under test (flowkit.check_invariant): once reconcile has run, the gateway's paid set equals
the journal's, no payment code is charged twice, nothing is left UNKNOWN or QUEUED, and the journal
keeps no full payment code. The gateway is a simulator inside the pytest process, so its ledger
outlives every killed terminal.

Kill points are reached four ways:
- a sweep of fixed delays after the process starts (before the journal exists, around the send, after);
- the sale's own progress lines on stderr ("checking the result…", "cancelling…"), to land in a phase;
- a man in the middle between terminal and simulator, for the two moments no timer hits reliably:
  the pay is in flight but the gateway has not seen it, and the gateway acted but its answer is lost
  (for pay, inquiry, cancel and refund);
- a hook that SIGKILLs the real CLI at one exact line, between two commits that belong together.

Independent kill cases run in two lanes at once (each lane: its own simulator, config and data
directory, so the invariant compares one journal with one ledger); cases within a lane run in turn and
pile up in one journal, so each check also re-checks every earlier crash of that lane.
"""

from __future__ import annotations

import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flowkit import (
    check_invariant,
    cli,
    cli_json,
    codes_charged_twice,
    deaf,
    journal_rows,
    journal_sales,
    ledger,
    set_manager_pin,
    sim_call,
    write_config,
)
from kit import payment_code, reserve_port
from middleman import Proxy, post_raw
from processes import TerminalProcess, terminal_env, track

SENDING = "Sending the payment"
INQUIRING = "Checking the result with the gateway"
CANCELLING = "Cancelling the payment"


# -- a sale process we can kill --------------------------------------------------------------------------
def SaleProcess(config: Path, data_dir: Path, amount: str, *extra: str) -> TerminalProcess:
    """``pos-terminal sale --amount AMOUNT --code <a fresh code>``."""
    code = payment_code()
    return TerminalProcess(config, data_dir, "sale", "--amount", amount, "--code", code, *extra, code=code)


# -- what the journal may keep -----------------------------------------------------------------------------
def table_traces(data_dir: Path, codes) -> list[str]:
    """Where a full payment code still appears in any text or blob column of the journal's tables."""
    found = []
    path = Path(data_dir) / "journal.sqlite"
    if path.exists():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                cursor = conn.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cursor.description]
                for row in cursor:
                    for name, value in zip(names, row, strict=True):
                        text = value.decode("latin-1") if isinstance(value, bytes) else value
                        if isinstance(text, str):
                            found += [f"{table}.{name} holds {c}" for c in codes if c in text]
        finally:
            conn.close()
    return found


def file_traces(data_dir: Path, codes) -> list[str]:
    """Where a full payment code still appears in the raw bytes of any file in the data directory (the
    database, its WAL, anything else): what someone copying the disk would find."""
    found = []
    for file in Path(data_dir).rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            found += [f"{file.name} holds {c}" for c in codes if c.encode() in data]
    return found


def code_traces(data_dir: Path, codes) -> list[str]:
    return table_traces(data_dir, codes) + file_traces(data_dir, codes)


def outbox_bodies(data_dir: Path) -> list[bytes]:
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return [bytes(r[0]) for r in conn.execute("SELECT body FROM outbox")]
    finally:
        conn.close()


# -- lanes: a simulator, a config and a data directory each ---------------------------------------------
@dataclass
class Lane:
    sim: object
    config: Path
    data_dir: Path
    codes: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def make_lane(make_sim, tmp_path: Path, name: str, **config) -> Lane:
    sim = make_sim()
    config.setdefault("read_timeout", 1.0)
    return Lane(sim, write_config(sim, f"{name}.toml", **config), tmp_path / name)


def reconcile(lane: Lane, label: str) -> dict:
    """``pos-terminal reconcile --json``; a NEEDS_REVIEW left behind is reconciled again (each run gives it
    one more try, as a manager would do), at most three times."""
    data = {}
    for attempt in range(4):
        rc, data = cli_json("reconcile", config=lane.config, data_dir=lane.data_dir, timeout=60)
        statuses = [i["status"] for i in data["items"]]
        assert rc in (0, 3), f"{label}: reconcile exit {rc}: {data}"
        assert "UNKNOWN" not in statuses and "QUEUED" not in statuses, f"{label}: reconcile left {data}"
        if rc == 0:
            if attempt:
                lane.log.append(f"{label}: needed {attempt + 1} reconciles")
            return data
        check_invariant(lane.sim, lane.data_dir)  # NEEDS_REVIEW is allowed in between, nothing else
    raise AssertionError(f"{label}: still open after 4 reconciles: {data}")


def check_lane(lane: Lane, label: str) -> None:
    try:
        check_invariant(lane.sim, lane.data_dir)
    except AssertionError as exc:
        raise AssertionError(f"{label}: {exc}") from None
    assert codes_charged_twice(lane.sim) == [], label
    sales = journal_sales(lane.data_dir)
    open_ = {k: s["status"] for k, s in sales.items() if not s["final"]}
    assert not open_, f"{label}: open after reconcile: {open_}"
    traces = code_traces(lane.data_dir, lane.codes)
    assert not traces, f"{label}: a full payment code outlived its sale: {traces}"


def new_sale_row(lane: Lane, before: set[str]) -> dict | None:
    rows = {k: v for k, v in journal_sales(lane.data_dir).items() if k not in before}
    assert len(rows) <= 1, rows
    return next(iter(rows.values()), None)


def known_ids(lane: Lane) -> set[str]:
    return set(journal_sales(lane.data_dir)) if (lane.data_dir / "journal.sqlite").exists() else set()


@dataclass
class Case:
    label: str
    amount: str
    delay: float = 0.0              # seconds after ``after`` was seen (or after the start)
    after: str | None = None        # a progress line to wait for first
    expect: tuple[str, ...] = ()    # allowed final journal statuses of this sale, if it was journaled
    must_kill: bool = True          # the kill must land while the sale still ran


def run_case(lane: Lane, case: Case) -> None:
    before = known_ids(lane)
    sale = SaleProcess(lane.config, lane.data_dir, case.amount)
    lane.codes.append(sale.code)
    if case.after is not None:
        seen = sale.wait_for(case.after) is not None
        assert seen or not case.must_kill, f"{case.label}: never printed {case.after!r}: {sale.lines}"
    if case.delay:
        time.sleep(case.delay)
    killed = sale.kill()
    if case.must_kill:
        assert killed, f"{case.label}: the sale had already finished: {sale.lines}"
    reconcile(lane, case.label)
    check_lane(lane, case.label)
    row = new_sale_row(lane, before)
    if row is not None and case.expect:
        assert row["status"] in case.expect, f"{case.label}: {row['status']} {row['message']} (lines {sale.lines})"
    if row is not None:
        gw = ledger(lane.sim).get(row["id"])
        if row["status"] == "SUCCESS":
            assert gw is not None and gw["status"] == "SUCCESS", (case.label, gw)
            assert gw["paymentId"] == row["payment_id"], (case.label, gw)
        elif gw is not None:
            assert gw["status"] != "SUCCESS", (case.label, gw)
    lane.log.append(f"{case.label}: killed={killed} "
                    f"journal={row['status'] if row else 'none'} lines={len(sale.lines)}")


def run_lanes(lanes: list[Lane], cases: list[Case]) -> None:
    """Deal the cases round-robin to the lanes and run the lanes side by side; a lane stops at its first
    failure, and every lane's failure is reported, not just the first."""
    def work(lane: Lane, mine: list[Case]) -> None:
        for case in mine:
            run_case(lane, case)
    pool = ThreadPoolExecutor(len(lanes))
    runs = [pool.submit(work, lane, cases[i::len(lanes)]) for i, lane in enumerate(lanes)]
    _, hung = wait(runs, timeout=110)
    pool.shutdown(wait=False)
    assert not hung, "a lane hung"
    print("\n".join(line for lane in lanes for line in lane.log))
    errors = [exc for run in runs if (exc := run.exception()) is not None]
    if errors:
        raise AssertionError("; ".join(str(e) for e in errors)) from errors[0]


# -- the tests ----------------------------------------------------------------------------------------------
def test_kill_at_fixed_delays_around_the_send(make_sim, tmp_path):
    """A sweep of kill times over a sale that is answered at once: before Python is up, while the journal
    is being created, around the send, after the answer; plus a few random ones (seed printed)."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"random delays from seed {seed}")
    delays = [0.05, 0.2, 0.35, 0.45, 0.5, 0.55, 0.65, 0.9] + [round(rng.uniform(0.3, 0.8), 3) for _ in range(3)]
    lanes = [make_lane(make_sim, tmp_path, f"lane{i}") for i in range(2)]
    run_lanes(lanes, [Case(f"12.34 killed at {d:.3f}s", "12.34", delay=d, must_kill=False,
                           expect=("SUCCESS", "CANCELLED")) for d in delays])


def test_kill_at_fixed_delays_through_inquiry_and_cancel(make_sim, tmp_path):
    """The same sweep over sales that stay open (99.06 stuck, 99.10 stuck with a flaky cancel): the kill
    lands in sending, inquiry or cancel depending on the delay."""
    lanes = [make_lane(make_sim, tmp_path, f"lane{i}") for i in range(2)]
    run_lanes(lanes, [Case(f"{amount} killed at {d:.2f}s", amount, delay=d, must_kill=False, expect=("CANCELLED",))
                      for amount, d in (("99.06", 0.6), ("99.10", 0.75), ("99.06", 1.0), ("99.10", 1.25),
                                        ("99.06", 1.5), ("99.10", 1.75), ("99.10", 2.0))])


def test_kill_after_the_pay_answered_unknown(make_sim, tmp_path):
    """Killed once the pay came back U (the sale moved to inquiry), and at later inquiries.

    The inquiry schedule is a time budget from the first U (as the SDK's): on a loaded CI machine the fast
    one (6 inquiries in 1.15 s) can run out after two slow round trips, so the kill at inquiry 5 would
    never come. Eight inquiries 0.3 s apart (2.4 s, still short of 99.03's 4 s) leave room for it."""
    lanes = [make_lane(make_sim, tmp_path, f"lane{i}", payments={"inquiry_intervals": [0.3] * 8})
             for i in range(2)]
    expect = {"99.03": ("CANCELLED", "SUCCESS"),  # confirms after 4 s: the fast schedule gives up first
              "99.06": ("CANCELLED",),            # stuck until cancelled
              "99.10": ("CANCELLED",),            # stuck; cancel answers U twice
              "99.01": ("SUCCESS",)}              # U, but paid: inquiry must find it
    cases = [Case(f"{a} killed at inquiry {n}", a, after=f"(inquiry {n})", expect=expect[a])
             for a, n in (("99.06", 1), ("99.03", 2), ("99.10", 1), ("99.03", 5), ("99.10", 4), ("99.06", 6))]
    # 99.01's notification may settle it before the kill lands: then it is not a crash, but still checked.
    cases.append(Case("99.01 killed at inquiry 1", "99.01", after=INQUIRING, expect=expect["99.01"],
                      must_kill=False))
    run_lanes(lanes, cases)


def test_kill_while_a_slow_answer_is_awaited(make_sim, tmp_path):
    """99.07: the gateway has taken the money and its answer is late; the terminal dies while waiting."""
    lanes = [make_lane(make_sim, tmp_path, f"lane{i}") for i in range(2)]
    run_lanes(lanes, [Case(f"99.07 killed {d}s after sending", "99.07", after=SENDING, delay=d, expect=("SUCCESS",))
                      for d in (0.05, 0.5)])
    assert [p["status"] for lane in lanes for p in ledger(lane.sim).values()] == ["SUCCESS", "SUCCESS"]


def test_kill_during_inquiry_of_a_payment_the_customer_confirms(make_sim, tmp_path):
    """99.03 with a schedule longer than the customer's 4 s: reconcile keeps asking and finds it paid."""
    lane = make_lane(make_sim, tmp_path, "lane", payments={"inquiry_intervals": [0.5, 1, 1, 1, 1, 1.5]})
    run_case(lane, Case("99.03 killed at inquiry 2", "99.03", after="(inquiry 2)", expect=("SUCCESS",)))
    [payment] = ledger(lane.sim).values()
    assert payment["status"] == "SUCCESS"


def test_kill_during_cancel(make_sim, tmp_path):
    """Killed once the inquiry schedule ran out and the cancel began. 99.10's cancel answers U twice (tries
    at +0, +0.1, +0.25 s), so the later kills land between its tries. (A cancel the gateway carried out
    but whose answer was lost is test_kill_after_the_gateway_acted_but_before_the_answer[cancel].)"""
    lanes = [make_lane(make_sim, tmp_path, f"lane{i}") for i in range(2)]
    cases = [Case(f"99.10 killed {d}s into cancelling", "99.10", after=CANCELLING, delay=d, expect=("CANCELLED",))
             for d in (0.0, 0.05, 0.12)]
    run_lanes(lanes, cases)
    assert all(p["status"] == "CANCELLED" for lane in lanes for p in ledger(lane.sim).values())


def test_kill_while_the_pay_is_in_flight_and_never_arrived(make_sim, tmp_path):
    """The pay is journaled and on the wire, the gateway has not seen it, the terminal dies. Reconcile must
    close it so that the same request, arriving late, can no longer charge the customer."""
    sim = make_sim()
    proxy = Proxy(sim.port, lambda api, n: "hold" if api == "pay" else "pass")
    try:
        via_proxy = write_config(sim, "proxy.toml", url=proxy.url)
        lane = Lane(sim, write_config(sim, "direct.toml", read_timeout=1.0), tmp_path / "t")
        sale = SaleProcess(via_proxy, lane.data_dir, "12.34")
        lane.codes.append(sale.code)
        assert proxy.hit.wait(20), sale.lines
        assert sale.kill()
        [(_, _, raw)] = proxy.captured
        assert ledger(sim) == {}, "the gateway never saw the pay"
        # A positive control for code_traces: while the pay may still be resent, its body (with the full
        # code) is in the outbox.
        assert any(sale.code.encode() in body for body in outbox_bodies(lane.data_dir))
        assert code_traces(lane.data_dir, [sale.code])
        data = reconcile(lane, "pay held")
        [item] = data["items"]
        assert item["status"] == "CANCELLED"
        check_lane(lane, "pay held")
        # The pay the dead terminal sent now arrives, byte for byte: it must not charge anyone.
        answer = post_raw(sim.port, raw)
        assert answer["result"]["resultStatus"] == "F", answer
        assert answer["result"]["resultCode"] == "ORDER_IS_CLOSED", answer
        check_lane(lane, "pay held, then delivered late")
        assert all(p["status"] != "SUCCESS" for p in ledger(sim).values())
    finally:
        proxy.close()


@pytest.mark.parametrize("api,amount,expect", [
    ("pay", "12.34", "SUCCESS"),            # the gateway charged it, the answer was lost with the terminal
    ("inquiryPayment", "99.01", "SUCCESS"),  # the inquiry that would have said "paid" was lost
    ("cancel", "99.06", "CANCELLED"),        # the gateway cancelled it, the terminal never learned
])
def test_kill_after_the_gateway_acted_but_before_the_answer(make_sim, tmp_path, api, amount, expect):
    """The terminal hears nothing back (no answer, no notification) before it dies."""
    sim = make_sim()
    proxy = Proxy(sim.port, lambda seen, n: "swallow" if seen == api and n == 1 else "pass")
    try:
        via_proxy = deaf(write_config(sim, "proxy.toml", url=proxy.url, read_timeout=5.0))
        lane = Lane(sim, write_config(sim, "direct.toml", read_timeout=1.0), tmp_path / "t")
        sale = SaleProcess(via_proxy, lane.data_dir, amount)
        lane.codes.append(sale.code)
        assert proxy.hit.wait(20), sale.lines
        assert sale.kill()
        [sale_id] = journal_sales(lane.data_dir)
        data = reconcile(lane, f"{api} swallowed")
        check_lane(lane, f"{api} swallowed")
        assert journal_sales(lane.data_dir)[sale_id]["status"] == expect, data
        assert ledger(sim)[sale_id]["status"] == expect
    finally:
        proxy.close()


def test_kill_after_the_gateway_refunded_but_before_the_answer(make_sim, tmp_path):
    """``pos-terminal refund`` dies after the gateway took the refund: reconcile resends the same
    refundRequestId and learns the one refund, never a second."""
    sim = make_sim()
    proxy = Proxy(sim.port, lambda api, n: "swallow" if api == "refund" else "pass")
    try:
        lane = Lane(sim, write_config(sim, "direct.toml", read_timeout=1.0), tmp_path / "t")
        via_proxy = deaf(write_config(sim, "proxy.toml", url=proxy.url, read_timeout=5.0))
        code = payment_code()
        lane.codes.append(code)
        rc, paid = cli_json("sale", "--amount", "20.00", "--code", code, config=lane.config, data_dir=lane.data_dir)
        assert rc == 0 and paid["status"] == "SUCCESS", paid
        set_manager_pin(lane.data_dir)
        refund = TerminalProcess(via_proxy, lane.data_dir, "refund", paid["paymentRequestId"], "--amount", "5.00",
                                 "--reason", "damaged")
        assert proxy.hit.wait(20), refund.lines
        assert refund.kill()
        [(refund_id, row)] = journal_rows(lane.data_dir, "refund").items()
        assert row["status"] == "UNKNOWN"
        reconcile(lane, "refund swallowed")
        check_lane(lane, "refund swallowed")
        assert journal_rows(lane.data_dir, "refund")[refund_id]["status"] == "SUCCESS"
        [gw_refund] = ledger(sim)[paid["paymentRequestId"]]["refunds"]
        assert gw_refund["refundRequestId"] == refund_id and gw_refund["status"] == "SUCCESS"
        assert gw_refund["amount"] == {"currency": "USD", "value": "500"}
        assert journal_rows(lane.data_dir, "refund")[refund_id]["parent"] == paid["paymentRequestId"]
    finally:
        proxy.close()


@pytest.mark.parametrize("customer_pays", ["before reconcile", "after reconcile"])
def test_kill_while_an_order_code_is_shown(make_sim, tmp_path, customer_pays):
    """The QR is on the customer display when the terminal dies. If the customer paid it, reconcile must
    find the money; if not, it must close the code so that a late scan cannot pay it."""
    lane = make_lane(make_sim, tmp_path, "lane")
    sale = TerminalProcess(lane.config, lane.data_dir, "sale", "--amount", "23.45", "--order-code", "--json")
    line = sale.wait_for("order code: ")
    assert line, sale.lines
    value = re.search(r"order code: (\S+)", line).group(1)
    assert sale.kill()
    [sale_id] = journal_sales(lane.data_dir)
    if customer_pays == "before reconcile":
        status, answer = sim_call(lane.sim, "/sim/wallet/pay-order", {"codeValue": value})
        assert status == 200, answer
    reconcile(lane, f"order code, customer pays {customer_pays}")
    if customer_pays == "after reconcile":
        status, answer = sim_call(lane.sim, "/sim/wallet/pay-order", {"codeValue": value})
        assert status == 409, answer
    check_lane(lane, f"order code, customer pays {customer_pays}")
    expect = "SUCCESS" if customer_pays == "before reconcile" else "CANCELLED"
    assert journal_sales(lane.data_dir)[sale_id]["status"] == expect
    assert ledger(lane.sim)[sale_id]["status"] == expect


@pytest.mark.parametrize("reconciled", ["inside the code's validity", "after it"])
def test_kill_while_queued_offline(make_sim, tmp_path, reconciled):
    """The gateway is unreachable, the sale is queued (its pay, with the full code, waits in the outbox),
    and the terminal dies. Reconcile with the gateway back sends it if the code is still valid, and voids
    it, unsent, if not."""
    validity = 3.0 if reconciled == "inside the code's validity" else 1.5
    lane = make_lane(make_sim, tmp_path, "lane", payments={"code_validity": validity})
    offline = write_config(lane.sim, "offline.toml", url=f"http://127.0.0.1:{reserve_port()}", read_timeout=1.0,
                           payments={"code_validity": validity})
    sale = SaleProcess(offline, lane.data_dir, "12.34")
    lane.codes.append(sale.code)
    assert sale.wait_for("Queued: waiting for the link"), sale.lines
    assert sale.kill()
    [(sale_id, row)] = journal_sales(lane.data_dir).items()
    assert row["status"] == "QUEUED"
    assert any(sale.code.encode() in body for body in outbox_bodies(lane.data_dir))
    if reconciled == "after it":
        time.sleep(max(0.0, row["created_at"] + validity + 0.2 - time.time()))
    reconcile(lane, f"queued, reconciled {reconciled}")
    check_lane(lane, f"queued, reconciled {reconciled}")
    row = journal_sales(lane.data_dir)[sale_id]
    if reconciled == "after it":
        assert (row["status"], row["phase"], row["result_code"]) == ("FAILED", "VOIDED", "NOT_SENT")
        assert ledger(lane.sim) == {}, "a pay past its code's validity reached the gateway"
    else:
        assert row["status"] == "SUCCESS" and ledger(lane.sim)[sale_id]["status"] == "SUCCESS"


def run_killed_at(target: str, config: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The real CLI, with ``target`` ("module.Class.method") replaced by a SIGKILL of the process: a crash
    at one exact line."""
    module, cls, method = target.rsplit(".", 2)
    hook = ("import importlib, os, signal, sys\n"
            f"setattr(getattr(importlib.import_module({module!r}), {cls!r}), {method!r},\n"
            "        lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))\n"
            "from pos_app.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", hook, "--config", str(config), "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=60, env=terminal_env(), check=False)


def kill_right_after_a_paid_sale(lane: Lane) -> str:
    """A sale paid at once, the process killed as it is about to report it (the sale is final by then)."""
    code = payment_code()
    lane.codes.append(code)
    done = run_killed_at("pos_app.terminal.Terminal.summary", lane.config, lane.data_dir,
                         "sale", "--amount", "4.56", "--code", code)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr)
    [row] = journal_sales(lane.data_dir).values()
    assert row["status"] == "SUCCESS" and row["final"], row
    return code


def test_a_final_sales_code_is_in_no_journal_table_even_before_reconcile(make_sim, tmp_path):
    lane = make_lane(make_sim, tmp_path, "lane")
    code = kill_right_after_a_paid_sale(lane)
    assert outbox_bodies(lane.data_dir) == []
    assert table_traces(lane.data_dir, [code]) == []
    reconcile(lane, "killed after a paid sale")
    check_lane(lane, "killed after a paid sale")


def test_a_final_sales_code_leaves_the_disk_soon_even_across_a_crash(make_sim, tmp_path):
    """Deleting the pay's row does not erase the code from disk while the WAL still holds the old page; a
    terminal that died right after a paid sale left it there. The next run must scrub it soon, as a run
    does for its own sales, not keep it until some later sale or a clean exit."""
    from pos_app.runtime import Runtime
    lane = make_lane(make_sim, tmp_path, "lane")
    code = kill_right_after_a_paid_sale(lane)
    with Runtime(lane.config, lane.data_dir, receiver=False):  # no resent notification to trigger a scrub
        deadline = time.monotonic() + 3.0
        while file_traces(lane.data_dir, [code]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert file_traces(lane.data_dir, [code]) == []


KILL_AT_CANCEL_COMMIT = """
import os, signal, sys
from offline_queue.journal import Journal
real = Journal.record_many
def record_many(self, changes):
    if any(row.get("status") == "SUCCESS" and row["id"].startswith("CX") for row, _ in changes):
        if os.environ.get("KILL_WHEN") == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, changes)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, changes)
Journal.record_many = record_many
from pos_app.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_kill_around_the_commit_of_a_managers_cancel(make_sim, tmp_path, when):
    """``pos-terminal cancel`` of a paid sale, SIGKILLed just before or just after the commit holding the
    cancel's success. The cancel's answer and the sale's reversal are one commit, so the sale is never
    left "paid" while the gateway returned the money: before, reconcile resends the same cancel; after,
    both are already there."""
    lane = make_lane(make_sim, tmp_path, "lane")
    code = payment_code()
    lane.codes.append(code)
    rc, paid = cli_json("sale", "--amount", "30.00", "--code", code, config=lane.config, data_dir=lane.data_dir)
    assert rc == 0, paid
    set_manager_pin(lane.data_dir)
    done = subprocess.run([sys.executable, "-c", KILL_AT_CANCEL_COMMIT, "--config", str(lane.config),
                           "--data-dir", str(lane.data_dir), "cancel", paid["paymentRequestId"], "--reason", "test"],
                          capture_output=True, text=True, timeout=60, env={**terminal_env(), "KILL_WHEN": when},
                          check=False)
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr)
    assert ledger(lane.sim)[paid["paymentRequestId"]]["status"] == "CANCELLED"
    expected = {"before": "SUCCESS", "after": "CANCELLED"}[when]
    assert journal_sales(lane.data_dir)[paid["paymentRequestId"]]["status"] == expected
    reconcile(lane, f"killed {when} the cancel's commit")
    check_lane(lane, f"killed {when} the cancel's commit")
    assert journal_sales(lane.data_dir)[paid["paymentRequestId"]]["status"] == "CANCELLED"


def test_a_second_terminal_on_the_same_data_dir_is_refused_while_a_sale_runs(make_sim, tmp_path):
    lane = make_lane(make_sim, tmp_path, "lane", payments={"inquiry_intervals": [1, 1, 1, 1, 1]})
    sale = SaleProcess(lane.config, lane.data_dir, "99.06")
    lane.codes.append(sale.code)
    try:
        assert sale.wait_for(INQUIRING), sale.lines
        expected = f"another pos-terminal (pid {sale.proc.pid}) uses {lane.data_dir}"
        for args in (("sale", "--amount", "1.00", "--code", payment_code()), ("refund", "PRX", "--amount", "1.00")):
            done = cli(*args, config=lane.config, data_dir=lane.data_dir, timeout=30)
            assert done.returncode == 2, (args, done.returncode, done.stdout, done.stderr)
            assert expected in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr
        rc, data = cli_json("reconcile", config=lane.config, data_dir=lane.data_dir, timeout=30)
        assert rc == 2 and expected in data["error"], data
        # Readers take no lock: the queue and the day's report still work while the sale runs.
        rc, queue = cli_json("queue", data_dir=lane.data_dir)
        assert rc == 0 and queue["count"] == 0, queue  # in inquiry: the pay (and its code) left the outbox
        assert len(ledger(lane.sim)) == 1, "the refused commands sent nothing"
    finally:
        killed = sale.kill()
    assert killed, "the sale was still in inquiry when it was killed"
    # The kernel dropped the dead process's lock: reconcile runs at once.
    reconcile(lane, "after the refusals")
    check_lane(lane, "after the refusals")


def test_kill_during_reconcile_then_reconcile_again(make_sim, tmp_path):
    """A crash of the crash recovery: several sales left open by killed terminals, reconcile itself
    killed while it cancels them, then run again."""
    lane = make_lane(make_sim, tmp_path, "lane")
    for amount in ("99.10", "99.06", "99.01"):
        before = known_ids(lane)
        # --alongside: take it although the last killed terminal's sale is still unsettled
        sale = SaleProcess(lane.config, lane.data_dir, amount, "--alongside")
        lane.codes.append(sale.code)
        # The progress lines also speak of the open sales this process recovered: watch the journal instead.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                row = new_sale_row(lane, before)
            except sqlite3.Error:  # not created yet
                row = None
            if row is not None and row["phase"] not in ("NEW", "SENDING"):
                break
            time.sleep(0.01)
        sale.kill()
        assert row is not None and row["phase"] != "SENDING", row
    cmd = [sys.executable, "-m", "pos_app", "--config", str(lane.config), "--data-dir", str(lane.data_dir),
           "reconcile"]
    rec = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=terminal_env())
    track(rec)
    lines = []
    for line in rec.stderr:
        lines.append(line)
        if CANCELLING in line:
            break
    rec.kill()
    rec.wait(timeout=10)
    rec.stdout.close()
    rec.stderr.close()
    assert any(CANCELLING in line for line in lines), lines
    assert rec.returncode == -signal.SIGKILL
    reconcile(lane, "after a killed reconcile")
    check_lane(lane, "after a killed reconcile")
    statuses = sorted((s["amount"], s["status"]) for s in journal_sales(lane.data_dir).values())
    assert statuses == [(9901, "SUCCESS"), (9906, "CANCELLED"), (9910, "CANCELLED")], statuses
