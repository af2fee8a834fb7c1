"""A transaction's history as a timeline in words (issue 15 §3.4), pure: journal events and audit entries in,
lines a manager reads out. Every event kind the terminal journals is found by reading its source (so a new
kind without words fails here), and none of them, nor an unknown one, reads as JSON or as a bare code."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from kit import ROOT

from pos_app.history import plain, timeline
from pos_app.i18n import set_language

T0 = time.mktime((2026, 12, 6, 12, 3, 4, 0, 0, -1))   # 12:03:04 local time
SALE = {"id": "PR1", "kind": "sale", "tender": "payment_code", "currency": "USD", "amount": 1000, "created_at": T0,
        "parent": None}
REFUND = {"id": "RF1", "kind": "refund", "tender": None, "currency": "USD", "amount": 200, "created_at": T0 + 416,
          "parent": "PR1"}


@pytest.fixture(autouse=True)
def english():
    set_language("en")


def ev(at: float, kind: str, **detail) -> dict:
    return {"at": at, "kind": kind, "detail": detail}


def state(at: float, to: str, frm: str | None = None, status: str = "UNKNOWN", **more) -> dict:
    return ev(at, "state", **{"from": frm, "to": to, "status": status, "resultCode": "", "message": "", **more})


def answer(at: float, api: str, status: str, code: str = "SUCCESS", message: str = "success", **more) -> dict:
    return ev(at, "answer", api=api, status=status, resultCode=code, message=message, delivery=None, httpStatus=200,
              paymentId="2026X", paymentStatus=more.pop("paymentStatus", None), refundId=None, **more)


def words(entries) -> list[str]:
    return [str(e) for e in entries]


def journaled_kinds() -> set[str]:
    """The event kinds the terminal writes, read from its source: each ``(kind, detail)`` pair it journals
    with a state change, each ``log_event(txn, kind, ...)``, and each ``source=`` a follow-up's result is
    journaled under."""
    kinds = set()
    for name in ("pos_app/terminal.py", "pos_app/rows.py"):
        for node in ast.walk(ast.parse((ROOT / name).read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[0], ast.Constant)
                    and isinstance(node.elts[0].value, str)
                    and isinstance(node.elts[1], (ast.Dict, ast.Call, ast.Name))):
                kinds.add(node.elts[0].value)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "log_event":
                kinds.add(ast.literal_eval(node.args[1]))
            elif isinstance(node, ast.keyword) and node.arg == "source":
                kinds.add(ast.literal_eval(node.value))
    return kinds


#: One realistic detail for each kind, as the terminal journals it (outcome_detail, notification_detail …).
SAMPLES = {
    "created": {"tender": "payment_code", "amount": {"currency": "USD", "value": "1000"}, "code": "28**********4587"},
    "state": {"from": "SENDING", "to": "PAID", "status": "SUCCESS", "resultCode": "SUCCESS", "message": "success"},
    "answer": {"api": "pay", "status": "success", "resultCode": "SUCCESS", "message": "success", "delivery": None,
               "httpStatus": 200, "paymentId": "2026X", "paymentStatus": None, "refundId": None},
    "notification": {"notifyType": "PAYMENT_RESULT", "paymentRequestId": "PR1", "paymentId": "2026X",
                     "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}},
    "abort": {"reason": "customer left"},
    "interrupted": {"phase": "SENDING"},
    "accepted_at_risk": {"why": "within the limits"},
    "recovered": {"phase": "SENDING"},
    "cancelled_by_manager": {"cancel": "CX1"},
    "manual_drain": {},
    "retry_after_error": {},
    "inquiry": {"success": True},
    "notification_ignored": {"notifyType": "PAYMENT_RESULT", "result": {"resultStatus": "U"}},
    "notification_unmatched": {"notifyType": "PAYMENT_RESULT", "paymentRequestId": "PR9"},
    "notification_unreadable": {"notifyType": "UNREADABLE", "why": "not JSON"},
    "notification_unknown_type": {"notifyType": "SOMETHING_NEW"},
    "notification_repeated": {"notifyType": "PAYMENT_RESULT", "paymentId": "2026X", "scenario": "EntryCode"},
    "entry_code_matched": {"paymentId": "2026X", "paidAt": 1.0},
    "entry_code_unmatched": {"paymentId": "2026X", "paidAt": 1.0},
    "entry_payment_assigned": {"askedBy": "till", "approvedBy": None, "paymentId": "2026X", "to": "PR1"},
    "entry_payment_acknowledged": {"askedBy": "boss", "approvedBy": "manager"},
}


def test_the_samples_cover_every_kind_the_terminal_journals():
    found = journaled_kinds()
    assert len(found) >= 15, found   # the source scan still sees the journal's calls
    assert found <= set(SAMPLES), f"event kinds with no sample (and maybe no words): {sorted(found - set(SAMPLES))}"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_journaled_kind_has_words_of_its_own(kind):
    row = REFUND if kind == "inquiry" else SALE
    [entry] = timeline(row, [{"at": T0, "kind": kind, "detail": SAMPLES[kind]}])
    assert entry.words != plain(kind, SAMPLES[kind]), f"{kind} falls back to the plain line"
    assert not any(ch in entry.words for ch in '{}"[]'), entry.words
    assert "_" not in kind or kind not in entry.words, entry.words   # a code such as notification_ignored
    assert entry.time == "12:03:04" and entry.kind == kind and entry.txn == row["id"]


def test_a_paid_sale_and_its_refund_read_as_a_story():
    events = [ev(T0, "created", tender="payment_code", amount={"currency": "USD", "value": "1000"},
                 code="28**********4587"),
              state(T0, "SENDING"), answer(T0 + 1, "pay", "success"),
              state(T0 + 1, "PAID", "SENDING", "SUCCESS", resultCode="SUCCESS")]
    refund = [ev(T0 + 416, "created", sale="PR1", amount={"currency": "USD", "value": "200"}, reason="damaged"),
              state(T0 + 416, "SENDING"), answer(T0 + 417, "refund", "success"),
              state(T0 + 417, "DONE", "SENDING", "SUCCESS")]
    audit = [{"seq": 1, "at": T0 + 417.5, "action": "refund", "txn": "PR1", "askedBy": "ann", "approvedBy": "manager",
              "detail": {"reason": "damaged", "amount": "2.00", "currency": "USD", "refund": "RF1",
                         "status": "SUCCESS"}}]
    assert words(timeline(SALE, events, audit=audit, followups=[(REFUND, refund)])) == [
        "12:03:04  Sale of 10.00 USD started with the customer's payment code 28**********4587",
        "12:03:04  Pay sent to the gateway",
        "12:03:05  Gateway: paid",
        "12:03:05  Result: Paid",
        "12:10:00  Refund of 2.00 USD requested by ann (manager) — damaged",
        "12:10:00  Refund sent to the gateway",
        "12:10:01  Gateway: refunded",
        "12:10:01  Result of the refund: Done"]


def test_a_decline_says_why_and_an_order_code_says_what_the_customer_does():
    declined = [state(T0, "SENDING"),
                answer(T0, "pay", "failure", "USER_BALANCE_NOT_ENOUGH", "the customer's balance is not enough"),
                state(T0, "FAILED", "SENDING", "FAILED")]
    assert words(timeline(SALE, declined))[1:] == [
        "12:03:04  Gateway: declined — the customer's balance is not enough (USER_BALANCE_NOT_ENOUGH)",
        "12:03:04  Result: Not paid"]
    order = {**SALE, "tender": "order_code"}
    shown = [ev(T0, "created", tender="order_code", amount={"currency": "USD", "value": "1000"}, code=None),
             answer(T0, "pay", "success"), state(T0, "WAITING", "SENDING")]
    assert words(timeline(order, shown)) == [
        "12:03:04  Sale of 10.00 USD started: an order code for the customer to scan",
        "12:03:04  Gateway: order code made",
        "12:03:04  Order code shown: waiting for the customer to scan it and pay"]


def test_an_entry_code_sale_says_the_customer_pays_by_the_stores_code_not_an_order_code():
    entry = {**SALE, "tender": "entry_code"}
    waiting = [ev(T0, "created", tender="entry_code", amount={"currency": "USD", "value": "1000"}, code=None),
               state(T0, "WAITING", None)]
    assert words(timeline(entry, waiting)) == [
        "12:03:04  Sale of 10.00 USD started: the customer pays by the store's entry code",
        "12:03:04  Waiting for the customer to pay by the store's entry code"]


def test_a_gateway_that_cannot_be_reached_or_fails_is_said_plainly():
    refused = answer(T0, "pay", "unknown", "", "could not connect to the gateway: HTTPConnection(host='127.0.0.1', "
                     "port=1): Failed to establish a new connection: [Errno 111] Connection refused")
    failing = answer(T0 + 1, "pay", "unknown", "", "the gateway answered HTTP 503")
    none = answer(T0 + 2, "inquiryPayment", "failure", "ORDER_NOT_EXIST", "no payment has this id")
    assert [e.words for e in timeline(SALE, [{**refused, "detail": {**refused["detail"],
                                                                    "delivery": "certainly not sent"}},
                                             failing, none])] == [
        "Not sent: the gateway could not be reached",
        "Gateway: no final answer to the pay yet — the gateway answered HTTP 503",
        "Inquiry answered — no payment has this id (ORDER_NOT_EXIST)"]


def test_the_same_answer_again_is_one_line_counted():
    events = [state(T0, "INQUIRING", "SENDING")] + \
        [answer(T0 + i, "inquiryPayment", "success", paymentStatus="PROCESSING") for i in range(1, 7)] + \
        [state(T0 + 7, "CANCELLING", "INQUIRING")]
    assert words(timeline(SALE, events)) == [
        "12:03:04  Checking the result with the gateway",
        "12:03:05  Inquiry: the gateway says it is still in progress (6 times)",
        "12:03:11  Cancelling the payment"]


def test_an_unknown_event_still_reads_as_a_line_not_json():
    [entry] = timeline(SALE, [ev(T0, "printer_jam", tray=2, detail={"code": "E7", "extra": None}, empty="")])
    assert entry.words == "Printer jam: tray 2, detail.code E7"
    [entry] = timeline(SALE, [ev(T0, "state", to="TELEPORTED")])
    assert entry.words == "State: to TELEPORTED"


def test_a_later_day_shows_its_date_and_audit_actions_have_words():
    audit = [{"seq": 5, "at": T0 + 86400, "action": "resolved", "txn": "PR1", "askedBy": "bob", "approvedBy": "manager",
              "detail": {"note": "checked on the portal"}},
             {"seq": 6, "at": T0 + 86401, "action": "retry_inquiry", "txn": "PR1", "askedBy": "cashier",
              "approvedBy": None, "detail": {"gateway": "unknown", "status": "UNKNOWN"}}]
    assert words(timeline(SALE, [], audit=audit)) == [
        "2026-12-07 12:03:04  Marked resolved by bob (manager) — checked on the portal",
        "2026-12-07 12:03:05  Inquiry asked by cashier — no clear answer"]


def test_a_manager_cancel_reads_in_the_order_it_was_journaled():
    """The cancel's answer and the reversal of its sale are one commit at one instant: the journal's seq
    orders them, not the list they came in."""
    cancel = {**REFUND, "id": "CX1", "kind": "cancel", "amount": 1000}
    sale_events = [{"seq": 10, **state(T0, "PAID", "SENDING", "SUCCESS")},
                   {"seq": 32, **ev(T0 + 5, "cancelled_by_manager", cancel="CX1")},
                   {"seq": 33, **state(T0 + 5, "CANCELLED", "PAID", "CANCELLED")}]
    cancel_events = [{"seq": 20, **ev(T0 + 4, "created", sale="PR1")}, {"seq": 21, **state(T0 + 4, "SENDING")},
                     {"seq": 30, **answer(T0 + 5, "cancel", "success")},
                     {"seq": 31, **state(T0 + 5, "DONE", "SENDING", "SUCCESS")}]
    audit = [{"seq": 2, "at": T0 + 6, "action": "cancel", "txn": "PR1", "askedBy": "ann", "approvedBy": "manager",
              "detail": {"reason": "wrong goods", "amount": "10.00", "currency": "USD", "cancel": "CX1"}}]
    assert [e.words for e in timeline(SALE, sale_events, audit=audit, followups=[(cancel, cancel_events)])] == [
        "Result: Paid",
        "Cancel of the sale (10.00 USD) requested by ann (manager) — wrong goods",
        "Cancel sent to the gateway",
        "Gateway: cancelled",
        "Result of the cancel: Done",
        "Reversed by the manager's cancel CX1: the money went back",
        "Result: Cancelled"]


def test_entries_are_json_for_the_cli():
    [entry] = timeline(SALE, [state(T0, "SENDING")])
    assert entry.to_json() == {"at": T0, "time": "12:03:04", "words": "Pay sent to the gateway", "txn": "PR1",
                               "kind": "state"}


def test_the_words_come_from_the_catalogue(monkeypatch):
    """Every line is looked up through _() at the time it is made (the zh_CN catalogue does the rest)."""
    import pos_app.history as history
    seen = []
    monkeypatch.setattr(history, "_", lambda text: seen.append(text) or text.upper())
    [entry] = timeline(SALE, [state(T0, "SENDING")])
    assert entry.words == "PAY SENT TO THE GATEWAY" and "Pay sent to the gateway" in seen
    assert Path(history.__file__).read_text(encoding="utf-8").count('N_("') >= 20


def test_the_terminals_own_stored_phrases_read_in_the_persons_language_a_gateways_as_given():
    """The journal keeps reasons and messages in English; the timeline shows the terminal's own (a stop at the
    counter, a cancel's outcome) in the person's language, and a gateway's message as the gateway gave it."""
    from pos_app import payment_flow as pf
    from pos_app.i18n import set_language, stored

    try:
        set_language("zh_CN")
        for phrase in ("cancelled by the cashier", "cancelled on request", pf.CANCELLED_UNPROVEN,
                       pf.CANCELLED_PAID, pf.CANCELLED_NOTHING_CHARGED):
            assert stored(phrase) != phrase and not any(c.isascii() and c.isalpha() for c in stored(phrase)), phrase
        assert stored("Business success.") == "Business success."   # a gateway's words, not the terminal's
        assert stored("") == ""
    finally:
        set_language("en")
