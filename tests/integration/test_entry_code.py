"""The entry code end to end on real parts: the simulator as a real HTTP server (the customer pays through
/sim/wallet/pay-entry-code), its signed notifyPayment into the terminal's real receiver, a real journal file.
Everything is checked with plain SQL on the journal and against the simulator's /sim/ledger."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from pathlib import Path

import pytest
from flowkit import entry_config, journal_query, ledger, sim_call, wait_until
from flowkit import pay_entry_code as pay
from kit import usd

from pos_app import closing, services, signing
from pos_app import payment_flow as pf
from pos_app.errors import PosError
from pos_app.roles import MANAGER
from pos_app.runtime import Runtime


@pytest.fixture
def runtime(sim, tmp_path):
    with Runtime(entry_config(sim), tmp_path / "terminal") as rt:
        status, _ = sim_call(sim, "/sim/entry-codes",
                             {"codeValue": sim.entry_code, "notifyUrl": rt.terminal.notify_url})
        assert status == 200
        yield rt



def rows(rt, sql: str, params=()) -> list[tuple]:
    return journal_query(rt.data_dir, sql, params)



def unmatched_row(rt, payment_id: str):
    return wait_until(lambda: rows(rt, "SELECT id, status, unmatched, tender, amount FROM transactions "
                                     "WHERE payment_id=?", (payment_id,)))


def test_the_simulator_issues_the_stores_entry_code_and_answers_bad_input_clearly(sim):
    assert sim.entry_code.startswith("https://")
    assert f'code = "{sim.entry_code}"' in sim.provisioned.config_file.read_text()
    status, answer = sim_call(sim, "/sim/wallet/pay-entry-code",
                              {"codeValue": "https://nope", "amount": usd(100).to_api()})
    assert (status, answer["result"]["resultCode"]) == (404, "INVALID_CODE")
    for amount in (None, {"currency": "USD", "value": "0"}, {"currency": "XXX", "value": "1"}, "12"):
        status, answer = sim_call(sim, "/sim/wallet/pay-entry-code", {"codeValue": sim.entry_code, "amount": amount})
        assert status == 400 and answer["result"]["resultStatus"] == "F", amount
    answer = pay(sim, "1234")   # nobody listens: paid all the same, the notification waits for a receiver
    assert answer["redirectActionForm"]["method"] == "SCAN"
    assert answer["redirectActionForm"]["redirectUrl"].startswith("alipays://platformapi/startApp?")
    entry = ledger(sim)[answer["paymentRequestId"]]
    assert (entry["mode"], entry["status"], entry["entryCode"]) == ("EntryCode", "SUCCESS", sim.entry_code)


def test_a_payment_settles_the_waiting_amount_through_the_notification(runtime, sim):
    t = runtime.terminal
    sale = t.start_entry_code(usd(1500))
    assert (sale.phase, sale.code_value) == (pf.Phase.WAITING, sim.entry_code)
    assert t.summary(sale)["entryCode"]["value"] == sim.entry_code
    assert rows(runtime, "SELECT COUNT(*) FROM outbox") == [(0,)], "nothing goes to the gateway from the terminal"
    answer = pay(sim, "1500")
    sale = t.wait(sale.id, lambda s: s.final, 10)
    assert sale.phase is pf.Phase.PAID
    assert rows(runtime, "SELECT status, payment_id, tender, unmatched FROM transactions WHERE id=?", (sale.id,)) == \
        [("SUCCESS", answer["paymentId"], "entry_code", None)]
    [(detail,)] = rows(runtime, "SELECT detail FROM events WHERE txn=? AND kind='notification'", (sale.id,))
    detail = json.loads(detail)
    assert detail["paymentRequestId"] == answer["paymentRequestId"] != sale.id
    assert detail["pspCustomerInfo"]["pspName"] and detail["scenario"] == "EntryCode"
    assert sale.id not in ledger(sim), "the gateway never saw our request id"


def test_a_payment_with_nothing_waiting_is_journaled_unmatched_and_listed(runtime, sim):
    t = runtime.terminal
    answer = pay(sim, "700")
    [(row_id, status, unmatched, tender, amount)] = unmatched_row(runtime, answer["paymentId"])
    assert (status, unmatched, tender, amount) == ("SUCCESS", 1, "entry_code", 700)
    listed = services.sales.entry_payments(services.counter(), t)
    assert [(i["id"], i["paymentId"]) for i in listed] == [(row_id, answer["paymentId"])]


def test_two_waiting_amounts_the_oldest_is_paid_first(runtime, sim):
    t = runtime.terminal
    first = t.start_entry_code(usd(500))
    second = t.start_entry_code(usd(500), alongside=True)
    other = t.start_entry_code(usd(800), alongside=True)
    a = pay(sim, "500")
    assert t.wait(first.id, lambda s: s.final, 10).payment_id == a["paymentId"]
    assert t.load(second.id).phase is pf.Phase.WAITING and t.load(other.id).phase is pf.Phase.WAITING
    b = pay(sim, "500")
    assert t.wait(second.id, lambda s: s.final, 10).payment_id == b["paymentId"]
    assert rows(runtime, "SELECT id, payment_id FROM transactions WHERE tender='entry_code' AND status='SUCCESS' "
                         "ORDER BY created_at") == [(first.id, a["paymentId"]), (second.id, b["paymentId"])]
    assert t.load(other.id).phase is pf.Phase.WAITING


def test_past_the_window_it_is_not_paid_without_a_cancel_and_the_late_payment_is_unmatched(sim, tmp_path):
    with Runtime(entry_config(sim, window=1.0), tmp_path / "terminal") as rt:
        t = rt.terminal
        sim_call(sim, "/sim/entry-codes", {"codeValue": sim.entry_code, "notifyUrl": t.notify_url})
        sale = t.start_entry_code(usd(900))
        sale = t.wait(sale.id, lambda s: s.final, 10)
        assert (sale.phase, sale.status, sale.result_code) == (pf.Phase.VOIDED, "FAILED", pf.NOT_PAID_IN_TIME)
        late = pay(sim, "900")
        [(_id, status, unmatched, _tender, _amount)] = unmatched_row(rt, late["paymentId"])
        assert (status, unmatched) == ("SUCCESS", 1)
        assert rows(rt, "SELECT status, payment_id FROM transactions WHERE id=?", (sale.id,)) == [("FAILED", None)]
    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM cancels").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM closed_requests").fetchone() == (0,)
    finally:
        conn.close()


def _resend(sim, url: str, payment_id: str, *, forge: bool = False) -> dict:
    """The gateway's notification of ``payment_id`` posted again, signed as the gateway signs it (or not)."""
    conn = sqlite3.connect(f"file:{Path(sim.data_dir) / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        [(body,)] = conn.execute("SELECT body FROM notifications WHERE kind='notifyPayment' AND ref=?", (payment_id,))
    finally:
        conn.close()
    key = signing.load_private_key(Path(sim.data_dir) / "keys" / "gateway_private.pem", "gateway key")
    now = str(int(time.time() * 1000))
    signature = signing.sign(key, "/notify", sim.client_id, now, bytes(body) + (b" " if forge else b""))
    request = urllib.request.Request(url, data=bytes(body), method="POST", headers={
        "Content-Type": "application/json; charset=UTF-8", "client-id": sim.client_id, "request-time": now,
        "signature": signature})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_a_resent_or_forged_notification_changes_nothing(runtime, sim):
    t = runtime.terminal
    sale = t.start_entry_code(usd(1200))
    matched = pay(sim, "1200")
    t.wait(sale.id, lambda s: s.final, 10)
    loose = pay(sim, "1300")
    unmatched_row(runtime, loose["paymentId"])
    before = rows(runtime, "SELECT id, status, phase, payment_id, unmatched, state FROM transactions ORDER BY id")
    waiting = t.start_entry_code(usd(1300), alongside=True)   # would take a resent 13.00 if it were new
    for payment_id in (matched["paymentId"], loose["paymentId"]):
        assert _resend(sim, t.notify_url, payment_id)["result"]["resultStatus"] == "S"
        assert _resend(sim, t.notify_url, payment_id, forge=True)["result"]["resultStatus"] == "U"
    after = rows(runtime, "SELECT id, status, phase, payment_id, unmatched, state FROM transactions "
                          "WHERE id != ? ORDER BY id", (waiting.id,))
    assert after == before
    assert t.load(waiting.id).phase is pf.Phase.WAITING
    assert rows(runtime, "SELECT COUNT(*) FROM transactions WHERE payment_id=?", (loose["paymentId"],)) == [(1,)]


def test_assigning_an_unmatched_payment_pays_the_waiting_sale_and_counts_the_money_once(runtime, sim):
    t = runtime.terminal
    loose = pay(sim, "650")
    [(payment_row, *_rest)] = unmatched_row(runtime, loose["paymentId"])
    sale = t.start_entry_code(usd(650))
    assert services.sales.entry_payments(services.counter(), t)[0]["waiting"] == [sale.id]
    with pytest.raises(PosError, match="PIN"):   # acknowledging without a sale is the manager's
        services.sales.assign_entry_payment(services.counter("till"), t, loose["paymentId"], None)
    other = t.start_entry_code(usd(651), alongside=True)
    with pytest.raises(PosError, match="not the same amount"):
        services.sales.assign_entry_payment(services.counter("till"), t, loose["paymentId"], other.id)
    paid = services.sales.assign_entry_payment(services.counter("till"), t, loose["paymentId"], sale.id)
    assert (paid.id, paid.phase, paid.payment_id) == (sale.id, pf.Phase.PAID, loose["paymentId"])
    assert rows(runtime, "SELECT id, status, result_code, payment_id, unmatched FROM transactions "
                         "WHERE id IN (?, ?) ORDER BY id=?", (payment_row, sale.id, sale.id)) == \
        [(payment_row, "FAILED", pf.ASSIGNED, None, None), (sale.id, "SUCCESS", "SUCCESS", loose["paymentId"], None)]
    assert rows(runtime, "SELECT SUM(amount) FROM transactions WHERE kind='sale' AND status='SUCCESS'") == [(650,)]
    assert rows(runtime, "SELECT action, txn, asked_by FROM audit") == [("assign_entry_payment", sale.id, "till")]
    assert services.sales.entry_payments(services.counter(), t) == []
    with pytest.raises(PosError, match="not an unmatched"):
        services.sales.assign_entry_payment(services.counter("till"), t, loose["paymentId"], other.id)


def test_acknowledged_refunded_and_in_the_day_x_and_z_once(runtime, sim):
    t = runtime.terminal
    sale = t.start_entry_code(usd(2000))
    a = pay(sim, "2000")
    t.wait(sale.id, lambda s: s.final, 10)
    b = pay(sim, "300")
    [(loose_row, *_rest)] = unmatched_row(runtime, b["paymentId"])
    services.technician.pin_set(services.counter("setup"), t.journal, MANAGER, "246810")
    manager = services.unlock(t.journal, MANAGER, "246810", asked_by="boss")
    services.sales.assign_entry_payment(manager, t, b["paymentId"], None)
    assert rows(runtime, "SELECT status, unmatched FROM transactions WHERE id=?", (loose_row,)) == [("SUCCESS", None)]
    refund = services.manager.refund(manager, t, a["paymentId"], usd(500), "wrong amount typed")
    refund = t.wait(refund.id, lambda f: f.final, 10)
    assert refund.status == "SUCCESS"
    gateway = {p["paymentId"]: p for p in ledger(sim).values()}
    assert [r["amount"]["value"] for r in gateway[a["paymentId"]]["refunds"]] == ["500"]
    paid_at_gateway = sum(int(p["amount"]["value"]) for p in gateway.values() if p["status"] == "SUCCESS")
    refunded_at_gateway = sum(int(r["amount"]["value"]) for p in gateway.values() for r in p["refunds"]
                              if r["status"] == "SUCCESS")
    [(gross, count)] = rows(runtime, "SELECT SUM(amount), COUNT(*) FROM transactions WHERE kind='sale' "
                                     "AND status='SUCCESS'")
    [(refunds,)] = rows(runtime, "SELECT SUM(amount) FROM transactions WHERE kind='refund' AND status='SUCCESS'")
    assert (gross, count, refunds) == (paid_at_gateway, 2, refunded_at_gateway) == (2300, 2, 500)
    day = t.journal.get(sale.id)["day"]
    report = services.closing.day_report(manager, t.journal, day)
    data = report.data
    assert data["totals"]["USD"]["sale"]["SUCCESS"] == {"count": 2, "value": "2300"}
    assert {x["tender"] for x in data["transactions"] if x["kind"] == "sale"} == {"entry_code"}
    x = closing.x_report(t.journal)
    assert x["summary"]["USD"]["gross"]["value"] == gross and x["summary"]["USD"]["net"]["value"] == gross - refunds
    z = closing.take_z(t.journal, by="boss", approved_by=MANAGER, role=MANAGER)
    assert z["summary"]["USD"]["net"]["value"] == 1800
    assert rows(runtime, "SELECT COUNT(*) FROM transactions WHERE z_number IS NULL") == [(0,)]


def test_a_managers_cancel_of_a_paid_entry_code_sale_goes_by_payment_id(runtime, sim):
    t = runtime.terminal
    sale = t.start_entry_code(usd(1100))
    answer = pay(sim, "1100")
    t.wait(sale.id, lambda s: s.final, 10)
    services.technician.pin_set(services.counter("setup"), t.journal, MANAGER, "246810")
    manager = services.unlock(t.journal, MANAGER, "246810", asked_by="boss")
    cancel = services.manager.cancel(manager, t, sale.id, "customer changed their mind")
    assert t.wait(cancel.id, lambda f: f.final, 10).status == "SUCCESS"
    assert t.load(sale.id).phase is pf.Phase.CANCELLED
    assert {p["paymentId"]: p for p in ledger(sim).values()}[answer["paymentId"]]["cancelled"]
    [(body,)] = rows(runtime, "SELECT detail FROM events WHERE txn=? AND kind='answer'", (cancel.id,))
    assert json.loads(body)["status"] == "success"


def test_a_waiting_sale_keeps_the_window_it_started_with_across_a_restart_with_a_shorter_one(sim, tmp_path):
    """The match window is the one the sale was started with (journaled), not today's setting: a till
    restarted with a shorter [entry_code] match_window during a wait still matches the customer's payment
    to the sale it is still showing as waiting."""
    data = tmp_path / "terminal"
    with Runtime(entry_config(sim, window=60.0), data) as rt:
        sale = rt.terminal.start_entry_code(usd(931))
    with Runtime(entry_config(sim, window=1.0), data) as rt:
        sim_call(sim, "/sim/entry-codes", {"codeValue": sim.entry_code, "notifyUrl": rt.terminal.notify_url})
        time.sleep(2.5)   # past today's window (paymentTime is in whole seconds), well inside the sale's own
        paid = pay(sim, "931")
        wait_until(lambda: rows(rt, "SELECT status FROM transactions WHERE id=?", (sale.id,)) == [("SUCCESS",)])
        assert rows(rt, "SELECT COUNT(*) FROM transactions WHERE unmatched=1") == [(0,)]
        assert rows(rt, "SELECT payment_id FROM transactions WHERE id=?", (sale.id,)) == [(paid["paymentId"],)]
