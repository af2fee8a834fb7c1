"""Issue 13's money defects, each reproduced as the hostile tester did: real ``pos-terminal`` processes,
real journal files, the real simulator, strace's fault injection and a real (tiny) filesystem.

- a sale that is not final blocks the next one (a queued sale was not, and both codes were charged);
- a refund killed mid-way and asked again moves the money once;
- a journal write that fails after the pay left reports UNKNOWN with the id, never "nothing happened";
- Ctrl-C with the pay in flight settles it before exiting;
- refund and a paid sale's cancel take the manager PIN, honour its lockout and are audited;
- arguments that are not UTF-8 are a person's error, not an internal one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from disks import fill
from flowkit import (
    MANAGER_PIN,
    check_invariant,
    cli_json,
    deaf,
    gateway_down,
    journal_rows,
    journal_sales,
    ledger,
    paid_sale,
    set_manager_pin,
    write_config,
)
from kit import payment_code
from middleman import Proxy
from processes import TerminalProcess

SLOW_CODE = {"code_validity": 120}   # a queued pay stays sendable for the whole test


def refunds_at_gateway(sim, payment_request_id: str) -> list[dict]:
    return ledger(sim)[payment_request_id]["refunds"]


# -- 1. one customer at a time ------------------------------------------------------------------------
def test_a_queued_sale_blocks_a_new_sale_until_it_is_settled(make_sim, tmp_path):
    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments=SLOW_CODE)
    d = tmp_path / "t"
    code_a, code_b = payment_code(), payment_code()
    rc, first = cli_json("sale", "--amount", "7.00", "--code", code_a, "--timeout", "3", config=config, data_dir=d)
    assert rc == 3 and first["status"] == "QUEUED", first
    sim = back()                                     # the link comes back
    rc, second = cli_json("sale", "--amount", "7.00", "--code", code_b, config=config, data_dir=d)
    assert rc == 2, second
    # Named by its id; by now the queued pay may already be on its way (the link is back), so the
    # words say "queued" or "being sent" as it stands.
    assert f"sale {first['paymentRequestId']} (7.00 USD)" in second["error"], second
    assert "charge the customer twice" in second["hint"] and "cancel" in second["hint"], second
    # Only the first sale exists anywhere: the refused one was never journaled nor sent.
    assert set(journal_sales(d)) == {first["paymentRequestId"]}
    rc, settled = cli_json("reconcile", config=config, data_dir=d)
    assert rc == 0 and settled["still_open"] == 0, settled
    assert set(ledger(sim)) <= {first["paymentRequestId"]}
    check_invariant(sim, d)
    # Settled: the counter takes the next customer.
    rc, third = cli_json("sale", "--amount", "7.00", "--code", code_b, config=config, data_dir=d)
    assert rc == 0 and third["status"] == "SUCCESS", third


# -- 2. a refund asked twice ----------------------------------------------------------------------------
def killed_at_fdatasync(config: Path, data_dir: Path, when: int, *args: str) -> subprocess.CompletedProcess:
    """``pos-terminal ARGS`` SIGKILLed by strace at its ``when``-th fdatasync (the hostile run's tool)."""
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=fdatasync,fsync",
           "-e", f"inject=fdatasync:signal=KILL:when={when}",
           sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(data_dir), *args, "--json"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, input=f"{MANAGER_PIN}\n", check=False)


def killed_until_unfinished(config: Path, tmp_path: Path, kind: str, *args: str) -> tuple[Path, dict, dict]:
    """A paid sale, then ``pos-terminal KIND PAYMENT ARGS`` killed at its 1st, 2nd, … fdatasync (a fresh
    sale each time) until a kill leaves the follow-up journaled but not finished (the hostile run's
    "third fdatasync"): (data dir, the sale, the unfinished follow-up's row)."""
    for when in range(1, 16):
        d = tmp_path / f"k{when}"
        paid = paid_sale(config, d)
        set_manager_pin(d)
        killed = killed_at_fdatasync(config, d, when, kind, paid.id, *args)
        assert killed.returncode in (-signal.SIGKILL, 128 + signal.SIGKILL, 0), killed.stderr
        unfinished = [r for r in journal_rows(d, kind).values() if not r["final"]]
        if unfinished:
            assert killed.returncode != 0, "the kill point was reached"
            return d, paid, unfinished[0]
    pytest.fail(f"no fdatasync left a {kind} journaled and unfinished")


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian package strace)")
def test_a_cancel_killed_mid_way_and_asked_again_is_named_and_completed_once(sim, tmp_path):
    config = write_config(sim)
    d, paid, open_cancel = killed_until_unfinished(config, tmp_path, "cancel", "--reason", "wrong item")
    rc, again = cli_json("cancel", paid.id, "--reason", "wrong item", config=config, data_dir=d,
                         input=f"{MANAGER_PIN}\n")
    assert rc == 2, again
    assert f"cancel {open_cancel['id']}" in again["error"] and "complete" in again["error"], again
    rc, settled = cli_json("reconcile", config=config, data_dir=d)
    assert rc == 0 and settled["still_open"] == 0, settled
    assert ledger(sim)[paid.id]["status"] == "CANCELLED"
    assert {r["id"]: r["status"] for r in journal_rows(d, "cancel").values()} == {open_cancel["id"]: "SUCCESS"}
    assert journal_sales(d)[paid.id]["status"] == "CANCELLED"


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (Debian package strace)")
def test_a_refund_killed_mid_way_and_asked_again_moves_the_money_once(sim, tmp_path):
    """Kill the refund at each fdatasync in turn until one leaves it journaled but not finished (the
    hostile run's "third fdatasync"); the same command again must be refused, and the gateway must end
    with exactly one refund of 0.50."""
    config = write_config(sim)
    d, paid, open_refund = killed_until_unfinished(config, tmp_path, "refund", "--amount", "0.50", "--reason",
                                                   "broken seal")
    rc, again = cli_json("refund", paid.id, "--amount", "0.50", "--reason", "broken seal",
                         config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 2, again
    # Named, and said to be completed (by now the resumed refund may already be done).
    assert f"refund {open_refund['id']} of 0.50 USD" in again["error"], again
    assert "being completed" in again["error"] or "has now been completed" in again["error"], again
    rc, settled = cli_json("reconcile", config=config, data_dir=d)
    assert rc == 0 and settled["still_open"] == 0, settled
    at_gateway = refunds_at_gateway(sim, paid.id)
    assert [(r["refundRequestId"], r["amount"]["value"]) for r in at_gateway
            if r["status"] == "SUCCESS"] == [(open_refund["id"], "50")]
    assert {r["id"]: r["status"] for r in journal_rows(d, "refund").values()} == {open_refund["id"]: "SUCCESS"}


# -- 3. the answer cannot be journaled -----------------------------------------------------------------------
def test_a_full_disk_after_the_pay_left_reports_unknown_with_the_id(make_sim, tmp_path, small_disk):
    disk = small_disk("2m")
    sim = make_sim()
    d = disk / "t"
    filled: list[Path] = []

    def rule(api, n):
        if api == "pay":
            filled.append(fill(disk))     # the disk fills while the pay is at the gateway
        return "pass"
    proxy = Proxy(sim.port, rule)
    try:
        config = write_config(sim, url=proxy.url)
        rc, data = cli_json("sale", "--amount", "99.07", "--code", payment_code(), config=config, data_dir=d)
    finally:
        proxy.close()
    assert filled, ("the pay reached the gateway", rc, data)
    assert rc == 3, data
    assert data["status"] == "UNKNOWN" and data["paymentRequestId"], data
    assert "settled" in data["message"] and "nothing was half written" not in json.dumps(data), data
    assert ledger(sim)[data["paymentRequestId"]]["status"] == "SUCCESS"   # the customer was charged
    filled[0].unlink()                                                    # space again
    config = write_config(sim)
    rc, settled = cli_json("reconcile", config=config, data_dir=d)
    assert rc == 0 and settled["still_open"] == 0, settled
    assert journal_sales(d)[data["paymentRequestId"]]["status"] == "SUCCESS"
    check_invariant(sim, d)


def test_a_sale_is_refused_before_sending_when_the_journal_cannot_take_the_answer(make_sim, tmp_path, small_disk):
    disk = small_disk("2m")
    sim = make_sim()
    config = write_config(sim)
    d = disk / "t"
    set_manager_pin(d)                          # the journal exists, then the disk fills
    fill(disk)
    rc, data = cli_json("sale", "--amount", "99.08", "--code", payment_code(), config=config, data_dir=d)
    assert rc == 2, data
    assert "disk" in (data["error"] + data.get("hint", "")).lower(), data
    assert ledger(sim) == {}, "nothing was sent"


# -- 4. Ctrl-C with the pay in flight ----------------------------------------------------------------------
def test_ctrl_c_with_the_pay_in_flight_settles_the_sale_before_exiting(make_sim, tmp_path):
    sim = make_sim()
    proxy = Proxy(sim.port, lambda api, n: "swallow" if api == "pay" else "pass")
    try:
        # Deaf: a success notification could otherwise tell the terminal "paid" before it cancels, and a
        # payment known to be paid is never cancelled (that outcome is the next test's).
        config = deaf(write_config(sim, url=proxy.url, read_timeout=60))
        d = tmp_path / "t"
        sale = TerminalProcess(config, d, "sale", "--amount", "12.00", "--code", payment_code())
        assert proxy.hit.wait(30), "the pay reached the gateway"
        sale.proc.send_signal(signal.SIGINT)
        out = sale.finish(90)
    finally:
        proxy.close()
    sale_id = next(iter(journal_sales(d)))
    events = [e["kind"] for e in journal_events(d, sale_id)]
    assert ledger(sim)[sale_id]["status"] == "CANCELLED", ("the charge was reversed", out, sale.lines, events)
    assert sale.proc.returncode == 1, (sale.proc.returncode, out, sale.lines)
    assert out.startswith("CANCELLED") and "why:" in out, out
    assert any("interrupted: cancelling sale" in line for line in sale.lines), sale.lines
    assert journal_sales(d)[sale_id]["status"] == "CANCELLED"


def journal_events(data_dir: Path, txn: str) -> list[dict]:
    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [{"kind": r["kind"], "detail": json.loads(r["detail"] or "null")}
                for r in conn.execute("SELECT * FROM events WHERE txn=? ORDER BY seq", (txn,))]
    finally:
        conn.close()


def test_ctrl_c_after_the_gateway_reported_it_paid_says_so(make_sim, tmp_path):
    """The other honest ending: the wallet confirmed (by notification) before the interrupt could cancel
    it. A payment known to be paid is never cancelled; the words say it was paid and what to do."""
    sim = make_sim()
    proxy = Proxy(sim.port, lambda api, n: "swallow" if api == "pay" else "pass")
    try:
        config = write_config(sim, url=proxy.url, read_timeout=60)
        d = tmp_path / "t"
        sale = TerminalProcess(config, d, "sale", "--amount", "12.00", "--code", payment_code())
        assert proxy.hit.wait(30), "the pay reached the gateway"
        sale_id = None
        deadline = time.monotonic() + 30
        while sale_id is None or journal_sales(d)[sale_id]["status"] != "SUCCESS":   # the notification landed
            assert time.monotonic() < deadline, "the notification never arrived"
            time.sleep(0.05)
            sale_id = next(iter(journal_sales(d)), None)
        sale.proc.send_signal(signal.SIGINT)
        out = sale.finish(90)
    finally:
        proxy.close()
    assert sale.proc.returncode == 0, (out, sale.lines)
    assert out.startswith("PAID") and ledger(sim)[sale_id]["status"] == "SUCCESS", out
    assert any("went through before the interrupt" in line for line in sale.lines), sale.lines


# -- 9. the manager PIN on the command line -------------------------------------------------------------------
def audit_rows(data_dir: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY seq")]
    finally:
        conn.close()


def test_cli_refund_and_cancel_take_the_manager_pin_and_its_lockout(sim, tmp_path):
    config = write_config(sim)
    d = tmp_path / "t"
    paid = paid_sale(config, d)
    ref = paid.id

    rc, data = cli_json("refund", ref, "--amount", "1.00", "--reason", "r", config=config, data_dir=d, input="\n")
    assert rc == 2 and "no manager PIN is set" in data["error"], data
    set_manager_pin(d)
    rc, data = cli_json("refund", ref, "--amount", "1.00", config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 2 and "needs a reason" in data["error"], data
    for _ in range(5):
        rc, data = cli_json("refund", ref, "--amount", "1.00", "--reason", "r", config=config, data_dir=d,
                            input="000000\n")
        assert rc == 2, data
    for args in (("refund", ref, "--amount", "1.00", "--reason", "r"), ("cancel", ref, "--reason", "r")):
        rc, data = cli_json(*args, config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
        assert rc == 2 and "locked" in data["error"], (args, data)
    assert refunds_at_gateway(sim, ref) == [] and ledger(sim)[ref]["status"] == "SUCCESS"
    assert not journal_rows(d, "refund") and not journal_rows(d, "cancel")


def test_cli_refund_and_cancel_are_audited_as_the_window_audits_them(sim, tmp_path):
    config = write_config(sim)
    d = tmp_path / "t"
    first, second = paid_sale(config, d, "10.00"), paid_sale(config, d, "4.00")
    set_manager_pin(d)
    rc, refund = cli_json("refund", first.id, "--amount", "2.50", "--reason", "damaged",
                          "--by", "alice", config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and refund["status"] == "SUCCESS", refund
    rc, cancel = cli_json("cancel", second.id, "--reason", "wrong amount", "--by", "bob",
                          config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and cancel["status"] == "SUCCESS", cancel
    rows = [r for r in audit_rows(d) if r["action"] in ("refund", "cancel")]
    assert [(r["action"], r["txn"], r["asked_by"], r["approved_by"]) for r in rows] == [
        ("refund", first.id, "alice", "manager"),
        ("cancel", second.id, "bob", "manager")]
    assert json.loads(rows[0]["detail"]) == {"reason": "damaged", "amount": "2.50", "currency": "USD",
                                             "refund": refund["refundRequestId"], "status": "SUCCESS"}
    assert json.loads(rows[1]["detail"]) == {"reason": "wrong amount", "amount": "4.00", "currency": "USD",
                                             "cancel": cancel["cancelId"], "status": "SUCCESS"}


# -- 12. arguments that are not text ------------------------------------------------------------------------
@pytest.mark.parametrize("args, which", [
    ([b"sale", b"--amount", b"1.00", b"--code", b"281234567890123456", b"--description", b"caf\xe9"],
     "--description"),
    ([b"inquiry", b"PR\xff\xfe"], "the PAYMENT argument"),
    ([b"refund", b"PR\xff", b"--amount", b"1.00", b"--reason", b"x"], "the PAYMENT argument"),
])
def test_arguments_that_are_not_utf8_are_a_persons_error(sim, tmp_path, args, which):
    config = write_config(sim)
    cmd = [sys.executable.encode(), b"-m", b"pos_app", b"--config", str(config).encode(), b"--data-dir",
           str(tmp_path / "t").encode(), *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    done = subprocess.run(cmd, capture_output=True, timeout=60, env=env, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert which in err and "not valid UTF-8" in err and "internal error" not in err, err
    assert ledger(sim) == {}
