"""Printing as a service, on real parts: a Runtime in sandbox mode (its simulator, its journal file) with a
network printer that is the printer stand-in on 127.0.0.1 (a real TCP server answering the ESC/POS status
queries), and ``pos-terminal`` processes. What was printed is read with the stand-in's own ESC/POS decoder;
every figure is checked against plain SQL over the journal file, never through the code under test."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flowkit import MANAGER_PIN, journal_query, set_manager_pin
from kit import ROOT, payment_code, usd
from printerkit import PrinterStandIn, decode
from processes import terminal_env, track

from offline_queue import spool
from pos_app import services
from pos_app.runtime import Runtime


# -- set-up ---------------------------------------------------------------------------------------------
def sandbox_with_printer(data_dir: Path, port: int, *, timeout: float = 2.0, receipts: str = "") -> Path:
    """A sandbox data directory whose terminal.toml (the one its simulator wrote) names a network printer
    on 127.0.0.1:``port``: started once without printing, so the simulator writes its file, then the
    printer section added as a person would."""
    with Runtime(None, data_dir, receiver=False, background=False):
        pass
    toml = data_dir / "sandbox-gateway" / "terminal.toml"
    toml.write_text(toml.read_text() + f'\n[printer]\nkind = "network"\nhost = "127.0.0.1"\nport = {port}\n'
                    f"timeout = {timeout}\n" + receipts)
    return data_dir


raw = journal_query   # plain SQL over the journal file: what the figures are checked against


def wait_rows(data_dir: Path, sql: str, params=(), *, timeout: float = 20.0) -> list[tuple]:
    """Poll the journal file until ``sql`` returns rows (the worker commits in its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = raw(data_dir, sql, params)
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


def major(data_dir: Path, txn: str) -> str:
    """The transaction's amount in major units, from its raw row (USD and the like: two decimals)."""
    [(amount, currency)] = raw(data_dir, "SELECT amount, currency FROM transactions WHERE id=?", (txn,))
    assert currency == "USD"
    return f"{amount // 100}.{amount % 100:02d}"


def job_rows(data_dir: Path, txn: str) -> list[tuple]:
    return raw(data_dir, "SELECT kind, copy, state, tries, last_error FROM print_jobs WHERE txn=? ORDER BY id", (txn,))


@pytest.fixture
def printer():
    with PrinterStandIn() as standin:
        yield standin


# -- the receipt of a paid sale ------------------------------------------------------------------------------
def test_a_paid_sale_prints_its_receipt_once_and_it_reads_as_the_journal_says(tmp_path, printer):
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    code = payment_code()
    with Runtime(None, data_dir) as rt:
        sale = services.sales.sale(services.counter(), rt.terminal, usd(1234), code=code)
        assert sale.status == "SUCCESS"
        printer.wait_for(lambda p: p.jobs, 20)
        rt.printing.changed(sale.id)    # the change reported again: still one receipt
        rt.printing.changed(sale.id)
    assert job_rows(data_dir, sale.id) == [("receipt", "customer", "printed", 1, None)]
    assert len(printer.jobs) == 1
    data = printer.jobs[0]
    receipt = decode(data)
    assert not receipt.unknown and not receipt.problems, (receipt.unknown, receipt.problems)
    [(payment_id, masked)] = raw(data_dir, "SELECT payment_id, code_masked FROM transactions WHERE id=?", (sale.id,))
    assert payment_id and masked
    assert any(major(data_dir, sale.id) in line for line in receipt.texts), receipt.text
    assert any(payment_id in line for line in receipt.texts), receipt.text
    assert sale.id in receipt.qr
    assert receipt.cuts, "the receipt is cut"
    assert code.encode() not in data and masked.encode() not in data, "never the payment code, not even masked"


def test_with_paper_out_the_sale_completes_the_job_fails_in_words_and_a_reprint_prints_it(tmp_path, printer):
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    printer.state = "paper_out"
    states = []
    with Runtime(None, data_dir) as rt:
        rt.printing.on_state.add(states.append)
        sale = services.sales.sale(services.counter(), rt.terminal, usd(500), code=payment_code())
        assert sale.status == "SUCCESS"   # the sale is paid whatever the printer says
        failed = wait_rows(data_dir, "SELECT id, last_error FROM print_jobs WHERE txn=? AND state='failed'",
                           (sale.id,))
        assert failed and "paper out" in failed[0][1], job_rows(data_dir, sale.id)
        assert printer.jobs == [], "nothing is sent to a printer without paper"
        assert any("paper out" in s.words for s in states), [s.words for s in states]
        assert any(s.failed == (failed[0][0],) for s in states), "the cashier's line counts the slip to reprint"
        printer.state = "ok"
        again = services.receipts.print_receipt(services.counter(), rt.printing, sale.id, wait=20)
        assert again.state == "printed", again
        assert rt.printing.state.failed == ()
    assert job_rows(data_dir, sale.id) == [("receipt", "customer", "failed", 1, failed[0][1]),
                                           ("receipt", "reprint", "printed", 1, None)]
    [reprinted] = printer.jobs
    receipt = decode(reprinted)
    assert any("REPRINT" in line for line in receipt.texts) and any(major(data_dir, sale.id) in line
                                                                     for line in receipt.texts), receipt.text


def test_the_sale_does_not_wait_for_a_printer_that_does_not_answer(tmp_path, printer):
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port, timeout=5.0)
    printer.state = "silent"   # takes the bytes, never answers a status query: offline after 5 s
    with Runtime(None, data_dir) as rt:
        sale = services.sales.sale(services.counter(), rt.terminal, usd(700), code=payment_code())
        assert sale.status == "SUCCESS"
        # Paid while the worker is still waiting for the printer (or has not reached it): not printed, not failed.
        assert [state for (state,) in raw(data_dir, "SELECT state FROM print_jobs WHERE txn=?", (sale.id,))] \
            in ([], ["waiting"], ["printing"])
        failed = wait_rows(data_dir, "SELECT last_error FROM print_jobs WHERE txn=? AND state='failed'", (sale.id,))
        assert failed and "offline" in failed[0][0]


#: A till as a process: it takes one sale (its receipt goes to the printer) and keeps running until killed.
TILL = """
import sys, time
from pos_app import services
from pos_app.money import Money
from pos_app.runtime import Runtime
with Runtime(None, sys.argv[1]) as rt:
    sale = services.sales.sale(services.counter(), rt.terminal, Money(800, "USD"), code=sys.argv[2])
    print(sale.id, sale.status, flush=True)
    time.sleep(600)
"""


def test_a_till_killed_mid_print_leaves_the_job_failed_after_restart_never_resent(tmp_path, printer):
    # The printer's own 2 s timeout: the kill lands while the job is 'printing', seen by a 20 ms poll; a
    # longer one only made the till wait longer before it claimed the job.
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port, timeout=2.0)
    printer.state = "silent"   # the worker hangs in the printer's status question: the job stays "printing"
    proc = track(subprocess.Popen([sys.executable, "-c", TILL, str(data_dir), payment_code()], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, cwd=ROOT, env=terminal_env()))
    try:   # (the idle status question at start hangs first; the job is claimed once it gave up, 2 s later)
        rows = wait_rows(data_dir, "SELECT id, txn FROM print_jobs WHERE state='printing'", timeout=60)
        assert rows, proc.poll()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    [(job, sale_id)] = rows
    assert raw(data_dir, "SELECT status FROM transactions WHERE id=?", (sale_id,)) == [("SUCCESS",)]
    printer.state = "ok"
    before = len(printer.jobs)
    with Runtime(None, data_dir) as rt:
        assert job in rt.printing.recovered
        assert rt.printing.state.failed == (job,)
    assert raw(data_dir, "SELECT state, tries, last_error FROM print_jobs WHERE id=?", (job,)) == [
        ("failed", 1, spool.INTERRUPTED)]
    assert raw(data_dir, "SELECT COUNT(*) FROM print_jobs WHERE txn=?", (sale_id,)) == [(1,)], "not resent"
    assert len(printer.jobs) == before


def test_a_slip_the_full_disk_refuses_is_said_kept_and_printed_once_there_is_room(small_disk, printer):
    """The disk fills between a sale's commit and its slip's: the sale stays paid, the printer's line says
    the slip is not saved and why, and once there is room again the slip is journaled and printed, once,
    by itself (it used to be dropped with a line in the log until the next start)."""
    from disks import fill, unlink_fillers

    from pos_app.printing import Printing
    disk = small_disk("24m")
    data_dir = sandbox_with_printer(disk / "t", printer.port)
    with Runtime(None, data_dir, printing=False) as rt:
        sale = services.sales.sale(services.counter(), rt.terminal, usd(725), code=payment_code())
        assert sale.status == "SUCCESS"
        fill(disk)
        states: list = []
        printing = Printing(rt.terminal, rt.terminal.config)
        printing.on_state.add(states.append)
        with printing:
            deadline = time.monotonic() + 20   # a bound for a hang: the worker journals at once
            while not printing.state.unsaved and time.monotonic() < deadline:
                time.sleep(0.02)
            state = printing.state
            assert state.unsaved == (sale.id,), state
            assert "1 slip(s) not saved (" in state.words and "disk" in state.words, state.words
            assert state.to_json()["unsavedSlips"] == [sale.id]
            assert raw(data_dir, "SELECT status FROM transactions WHERE id=?", (sale.id,)) == [("SUCCESS",)]
            assert job_rows(data_dir, sale.id) == [] and printer.jobs == []
            unlink_fillers(disk)
            printer.wait_for(lambda p: p.jobs, 30)
            wait_rows(data_dir, "SELECT 1 FROM print_jobs WHERE txn=? AND state='printed'", (sale.id,))
        assert printing.state.unsaved == () and any(s.unsaved for s in states)
    assert job_rows(data_dir, sale.id) == [("receipt", "customer", "printed", 1, None)]
    assert len(printer.jobs) == 1 and sale.id in decode(printer.jobs[0]).qr


def test_an_unmatched_entry_code_payment_prints_one_receipt_once_assigned_not_two(tmp_path, printer):
    """A customer pays the store's entry code with nothing waiting: no receipt by itself (it used to print
    one, and then the waiting sale it was assigned to printed another for the same payment). Once
    assigned, the sale's receipt prints, once, with the payment's id; the payment prints on request."""
    import json
    import urllib.request
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    with Runtime(None, data_dir) as rt:
        t = rt.terminal
        body = json.dumps({"codeValue": t.config.entry_code.code, "amount": {"currency": "USD", "value": "700"}})
        request = urllib.request.Request(rt.sim.url + "/sim/wallet/pay-entry-code", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            payment_id = json.loads(answer.read())["paymentId"]
        [(unmatched,)] = wait_rows(data_dir, "SELECT id FROM transactions WHERE payment_id=? AND unmatched=1",
                                   (payment_id,))
        # The worker takes changes in order: once the next sale's receipt is printed, the payment's was seen.
        rt.printing.changed(unmatched)
        other = services.sales.sale(services.counter(), t, usd(300), code=payment_code())
        wait_rows(data_dir, "SELECT 1 FROM print_jobs WHERE txn=? AND state='printed'", (other.id,))
        waiting = t.start_entry_code(usd(700))
        sale = services.sales.assign_entry_payment(services.counter(), t, payment_id, waiting.id)
        assert sale.id == waiting.id and sale.payment_id == payment_id
        wait_rows(data_dir, "SELECT 1 FROM print_jobs WHERE txn=? AND state='printed'", (sale.id,))
    assert raw(data_dir, "SELECT kind, txn, copy, state FROM print_jobs ORDER BY id") == [
        ("receipt", other.id, "customer", "printed"), ("receipt", sale.id, "customer", "printed")]
    assert len(printer.jobs) == 2
    receipt = decode(printer.jobs[1])
    assert receipt.qr == [sale.id] and any(payment_id in line for line in receipt.texts), receipt.text


def test_a_z_report_is_printed_and_its_figures_are_the_journals(tmp_path, printer):
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    with Runtime(None, data_dir) as rt:
        for minor in (1000, 250):
            assert services.sales.sale(services.counter(), rt.terminal, usd(minor), code=payment_code()).status \
                == "SUCCESS"
        printer.wait_for(lambda p: len(p.jobs) == 2, 20)
    set_manager_pin(data_dir)
    done = subprocess.run([sys.executable, "-m", "pos_app", "--data-dir", str(data_dir), "report", "--z", "--print"],
                          capture_output=True, text=True, cwd=ROOT, env={**terminal_env(),
                                                                          "POS_TERMINAL_MANAGER_PIN": MANAGER_PIN},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    [(number,)] = raw(data_dir, "SELECT MAX(number) FROM z_reports")
    assert raw(data_dir, "SELECT kind, copy, state FROM print_jobs WHERE txn=?", (f"Z{number}",)) == [
        ("z", None, "printed")]
    [(net,)] = raw(data_dir, "SELECT SUM(amount) FROM transactions WHERE kind='sale' AND status='SUCCESS' "
                             "AND z_number=?", (number,))
    assert net == 1250
    report = decode(printer.jobs[-1])
    assert any(f"#{number}" in line for line in report.texts), report.text
    assert any("12.50" in line for line in report.texts), report.text
    assert report.cuts


def test_a_refund_and_a_cancel_of_a_paid_sale_print_their_slips_with_the_journals_amounts(tmp_path, printer):
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    set_manager_pin(data_dir)
    with Runtime(None, data_dir) as rt:
        t = rt.terminal
        manager = services.unlock(t.journal, "manager", MANAGER_PIN, asked_by="test")
        refunded = services.sales.sale(services.counter(), t, usd(2000), code=payment_code())
        reversed_ = services.sales.sale(services.counter(), t, usd(900), code=payment_code(), alongside=True)
        refund = services.manager.refund(manager, t, refunded.id, usd(750), "damaged")
        cancel = services.manager.cancel(manager, t, reversed_.id, "wrong amount")
        for txn in (refund.id, cancel.id):
            assert t.wait(txn, lambda f: f.final, 20).status == "SUCCESS"
        printer.wait_for(lambda p: len(p.jobs) == 4, 20)
    assert job_rows(data_dir, refund.id) == [("refund", "customer", "printed", 1, None)]
    assert job_rows(data_dir, cancel.id) == [("cancel", "customer", "printed", 1, None)]
    assert job_rows(data_dir, reversed_.id) == [("receipt", "customer", "printed", 1, None)], \
        "a sale reversed before its receipt was journaled was still paid: its receipt prints"
    slips = {}
    for data in printer.jobs:
        decoded = decode(data)
        for txn in (refund.id, cancel.id):
            if any(txn in line for line in decoded.texts):
                slips[txn] = decoded
    assert any(major(data_dir, refund.id) in line for line in slips[refund.id].texts), slips[refund.id].text
    assert major(data_dir, refund.id) == "7.50"
    assert any(major(data_dir, cancel.id) in line for line in slips[cancel.id].texts), slips[cancel.id].text
    assert any(refunded.id in line for line in slips[refund.id].texts), "the slip names its sale"


# -- the self-test -------------------------------------------------------------------------------------------
def test_the_self_test_says_the_printers_state_and_prints_a_test_page(tmp_path, printer):
    from pos_app import selftest
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    report = selftest.run("internal", None, data_dir)
    check = {c.name: c for c in report.checks}["printer"]
    assert check.status == "pass" and "ready" in check.detail and f"127.0.0.1:{printer.port}" in check.detail
    assert printer.jobs == [], "the internal level prints nothing"
    printer.state = "cover_open"
    check = {c.name: c for c in selftest.run("internal", None, data_dir).checks}["printer"]
    assert check.status == "fail" and "cover open" in check.detail and check.hint
    printer.state = "ok"
    report = selftest.run("external", None, data_dir)
    check = {c.name: c for c in report.checks}["test-page"]
    assert check.status == "pass", report.lines()
    [page] = printer.jobs
    decoded = decode(page)
    assert any("TEST PAGE" in line for line in decoded.texts) and decoded.qr and decoded.barcodes and decoded.cuts


def test_the_self_test_without_a_printer_says_none_configured_and_does_not_fail(tmp_path):
    from pos_app import selftest
    with Runtime(None, tmp_path / "t", receiver=False, background=False):
        pass
    report = selftest.run("internal", None, tmp_path / "t")
    check = {c.name: c for c in report.checks}["printer"]
    assert check.status == "skip" and "none configured" in check.detail
    assert report.ok


def test_a_merchant_copy_when_configured_and_the_key_prints_the_first_customer_receipt(tmp_path, printer):
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port,
                                    receipts='\n[receipts]\ncustomer = "key"\nmerchant_copy = true\n')
    with Runtime(None, data_dir) as rt:
        sale = services.sales.sale(services.counter(), rt.terminal, usd(4200), code=payment_code())
        assert wait_rows(data_dir, "SELECT id FROM print_jobs WHERE txn=? AND state='printed'", (sale.id,))
        assert job_rows(data_dir, sale.id) == [("receipt", "merchant", "printed", 1, None)], "no customer receipt"
        key = services.receipts.print_receipt(services.counter(), rt.printing, sale.id, wait=20)   # the print key
        again = services.receipts.print_receipt(services.counter(), rt.printing, sale.id, wait=20)
    assert (key.copy, key.state, again.copy, again.state) == ("customer", "printed", "reprint", "printed")
    assert job_rows(data_dir, sale.id) == [("receipt", "merchant", "printed", 1, None),
                                           ("receipt", "customer", "printed", 1, None),
                                           ("receipt", "reprint", "printed", 1, None)]
    merchant, customer, reprint = (decode(data) for data in printer.jobs)
    assert any("MERCHANT COPY" in line for line in merchant.texts)
    assert not any("MERCHANT COPY" in line or "REPRINT" in line for line in customer.texts)
    assert any("REPRINT" in line for line in reprint.texts)
    for slip in (merchant, customer, reprint):
        assert any(major(data_dir, sale.id) in line for line in slip.texts)


def test_a_sale_settled_without_its_slip_journaled_gets_it_at_the_next_start_unless_long_ago(tmp_path, printer):
    """The slip is journaled just after the payment's commit, off its path: a crash in between (here: a run
    that did not print) leaves a paid sale with no job. The next start journals and prints it; one paid
    long ago (its customer left) is not printed unasked."""
    data_dir = sandbox_with_printer(tmp_path / "t", printer.port)
    with Runtime(None, data_dir, printing=False) as rt:
        recent = services.sales.sale(services.counter(), rt.terminal, usd(333), code=payment_code())
        old = services.sales.sale(services.counter(), rt.terminal, usd(444), code=payment_code())
    assert raw(data_dir, "SELECT COUNT(*) FROM print_jobs") == [(0,)]
    conn = sqlite3.connect(data_dir / "journal.sqlite")
    with conn:   # the other sale was made an hour ago
        conn.execute("UPDATE transactions SET created_at = created_at - 3600 WHERE id=?", (old.id,))
    conn.close()
    with Runtime(None, data_dir):
        printer.wait_for(lambda p: p.jobs, 20)
    assert job_rows(data_dir, recent.id) == [("receipt", "customer", "printed", 1, None)]
    assert job_rows(data_dir, old.id) == []
    [receipt] = printer.jobs
    assert recent.id in decode(receipt).qr
