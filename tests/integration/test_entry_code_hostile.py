"""The entry code as a hostile party or a rush hour would use it, on real parts: the simulator over HTTP, the
terminal's receiver, a real journal file read with plain SQL, the simulator's /sim/ledger."""

from __future__ import annotations

import json
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

PIN = "246810"



@pytest.fixture
def runtime(sim, tmp_path):
    with Runtime(entry_config(sim), tmp_path / "terminal") as rt:
        assert sim_call(sim, "/sim/entry-codes", {"codeValue": sim.entry_code,
                                                  "notifyUrl": rt.terminal.notify_url})[0] == 200
        yield rt



def rows(rt, sql: str, params=()) -> list[tuple]:
    return journal_query(rt.data_dir, sql, params)



def unmatched_row(rt, payment_id: str) -> str:
    [(row_id,)] = wait_until(lambda: rows(rt, "SELECT id FROM transactions WHERE payment_id=? AND unmatched=1",
                                        (payment_id,)))
    return row_id


def manager(t):
    services.technician.pin_set(services.counter("setup"), t.journal, MANAGER, PIN)
    return services.unlock(t.journal, MANAGER, PIN, asked_by="boss")


def post_signed(sim, url: str, body: dict) -> dict:
    """A notification signed with the gateway's own key, as the gateway would send it."""
    raw = json.dumps(body).encode()
    key = signing.load_private_key(Path(sim.data_dir) / "keys" / "gateway_private.pem", "gateway key")
    now = str(int(time.time() * 1000))
    request = urllib.request.Request(url, data=raw, method="POST", headers={
        "Content-Type": "application/json; charset=UTF-8", "client-id": sim.client_id, "request-time": now,
        "signature": signing.sign(key, "/notify", sim.client_id, now, raw)})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def entry_notice(payment_id, amount) -> dict:
    body = {"notifyType": "PAYMENT_RESULT", "result": {"resultCode": "SUCCESS", "resultStatus": "S",
                                                         "resultMessage": "success"},
            "paymentRequestId": "GQR" + str(time.time_ns()), "paymentAmount": amount,
            "paymentTime": "2026-12-06T14:00:00+08:00", "paymentFactor": {"inStorePaymentScenario": "EntryCode"}}
    if payment_id is not None:
        body["paymentId"] = payment_id
    return body


@pytest.mark.parametrize("amount, payment_id", [
    ({"currency": "USD", "value": "12,50"}, "2026120611111111111111111A0000001"),
    ({"currency": "USD", "value": "-100"}, "2026120611111111111111111A0000002"),
    ({"currency": "USD", "value": 1250}, "2026120611111111111111111A0000003"),
    ({"currency": "USD", "value": 12.5}, "2026120611111111111111111A0000004"),
    ({"currency": "USD", "value": "9" * 20}, "2026120611111111111111111A0000005"),
    ({"currency": "XXQ", "value": "100"}, "2026120611111111111111111A0000006"),
    ({"currency": "USD", "value": "100"}, None),
])
def test_a_signed_paid_notice_the_terminal_cannot_read_goes_to_review_and_settles_nothing(runtime, sim, amount,
                                                                                          payment_id, caplog):
    t = runtime.terminal
    waiting = t.start_entry_code(usd(100))
    before = rows(runtime, "SELECT * FROM transactions")
    assert post_signed(sim, t.notify_url, entry_notice(payment_id, amount))["result"]["resultStatus"] == "S"
    assert rows(runtime, "SELECT * FROM transactions") == before, "nothing settled on an unreadable amount"
    assert t.load(waiting.id).phase is pf.Phase.WAITING
    [(detail,)] = rows(runtime, "SELECT detail FROM events WHERE kind='notification_unreadable'")
    assert "entry-code" in json.loads(detail)["why"]
    [item] = [i for i in services.manager.review(manager(t), t.journal) if i["kind"] == "notification"]
    assert "entry-code" in item["message"]
    assert any("entry-code payment" in r.getMessage() for r in caplog.records)


def test_a_payment_a_z_counted_is_not_assigned_to_a_later_sale(runtime, sim):
    """Once a Z counted an unmatched payment as a sale of its own, moving it onto a later sale would count it
    again in the next Z: refused in words (a refund and a new sale is the way, if it was that customer's)."""
    t = runtime.terminal
    loose = pay(sim, "777")
    payment_row = unmatched_row(runtime, loose["paymentId"])
    z = closing.take_z(t.journal, by="boss", approved_by=MANAGER, role=MANAGER)
    assert z["summary"]["USD"]["gross"]["value"] == 777
    sale = t.start_entry_code(usd(777))
    assert [i["waiting"] for i in services.sales.entry_payments(services.counter(), t)] == [[]], "not offered"
    with pytest.raises(PosError, match="Z"):
        services.sales.assign_entry_payment(services.counter("till"), t, loose["paymentId"], sale.id)
    assert rows(runtime, "SELECT status, unmatched FROM transactions WHERE id=?", (payment_row,)) == [("SUCCESS", 1)]
    assert t.load(sale.id).phase is pf.Phase.WAITING
    services.sales.assign_entry_payment(manager(t), t, loose["paymentId"], None)   # acknowledged: stays counted
    [(counted,)] = rows(runtime, "SELECT COALESCE(SUM(amount), 0) FROM transactions WHERE kind='sale' "
                                 "AND status='SUCCESS'")
    assert counted == 777


@pytest.mark.parametrize("how", ["cancel", "refund"])
def test_a_payment_sent_back_is_no_longer_unmatched_nor_assignable(runtime, sim, how):
    t = runtime.terminal
    loose = pay(sim, "880")
    payment_row = unmatched_row(runtime, loose["paymentId"])
    boss = manager(t)
    if how == "cancel":
        back = services.manager.cancel(boss, t, loose["paymentId"], "nobody's payment")
    else:
        back = services.manager.refund(boss, t, loose["paymentId"], usd(880), "nobody's payment")
    assert t.wait(back.id, lambda f: f.final, 10).status == "SUCCESS"
    assert services.sales.entry_payments(services.counter(), t) == []
    sale = t.start_entry_code(usd(880))
    with pytest.raises(PosError):
        services.sales.assign_entry_payment(services.counter("till"), t, loose["paymentId"], sale.id)
    assert t.load(sale.id).phase is pf.Phase.WAITING, "no goods against money that went back"
    gateway = {p["paymentId"]: p for p in ledger(sim).values()}[loose["paymentId"]]
    assert gateway["cancelled"] or [r["status"] for r in gateway["refunds"]] == ["SUCCESS"]
    assert rows(runtime, "SELECT status FROM transactions WHERE id=?", (payment_row,)) == \
        [("CANCELLED" if how == "cancel" else "SUCCESS",)]
