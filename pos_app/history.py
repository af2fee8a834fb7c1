"""A transaction's history as a timeline in words: what the manager reads instead of the journal's JSON.

The journal records each step of a sale, refund or cancel as an event (``created``, ``state``, ``answer``,
``notification``, ``abort`` …: :mod:`pos_app.terminal`, :mod:`pos_app.rows`), and the audit log records who
asked for what (:mod:`pos_app.services`). :func:`timeline` turns one transaction's events, its audit
entries and, for a sale, its refunds' and cancels' events into one list of lines in time order, each said
in the person's language with the words of :mod:`pos_app.vocabulary`. An event kind it does not know still
reads as a plain line (its name and its fields), never as JSON. Pure: rows and dicts in, lines out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .i18n import N_, _, stored
from .money import format_minor
from .printout import ROLE_WORDS
from .vocabulary import (
    ENTRY_CODE_WAITING,
    FOLLOWUP_PHASE_WORDS,
    KIND_WORDS,
    SALE,
    SALE_PHASE_WORDS,
    FollowupPhase,
    SalePhase,
    status_words,
)

_FOLLOWUP_FINAL = {FollowupPhase.DONE.value: "SUCCESS", FollowupPhase.FAILED.value: "FAILED"}
_SALE_FINAL = {SalePhase.PAID.value: "SUCCESS", SalePhase.FAILED.value: "FAILED",
               SalePhase.CANCELLED.value: "CANCELLED"}

#: What the gateway's answer to each request says, by the outcome's status (success, failure, unknown).
ANSWER_WORDS = {
    ("pay", "success"): N_("Gateway: paid"),
    ("pay", "failure"): N_("Gateway: declined"),
    ("pay", "unknown"): N_("Gateway: no final answer to the pay yet"),
    ("cancel", "success"): N_("Gateway: cancelled"),
    ("cancel", "failure"): N_("Gateway refused the cancel"),
    ("cancel", "unknown"): N_("Gateway: no clear answer to the cancel"),
    ("refund", "success"): N_("Gateway: refunded"),
    ("refund", "failure"): N_("Gateway refused the refund"),
    ("refund", "unknown"): N_("Gateway: no clear answer to the refund"),
    ("inquiryPayment", "failure"): N_("Inquiry answered"),
    ("inquiryPayment", "unknown"): N_("Inquiry: no clear answer"),
}
#: An inquiry's answer, by the payment status the gateway gave.
INQUIRY_WORDS = {"SUCCESS": N_("Inquiry: the gateway says paid"), "FAIL": N_("Inquiry: the gateway says not paid"),
                 "PROCESSING": N_("Inquiry: the gateway says it is still in progress"),
                 "CANCELLED": N_("Inquiry: the gateway says cancelled")}
#: What an inquiry a person asked for got back (the Outcome's status).
GATEWAY_SAID = {"success": N_("the gateway answered"), "failure": N_("the gateway refused it"),
                "unknown": N_("no clear answer")}
#: Events that need no field to be said.
PLAIN_WORDS = {
    "accepted_at_risk": N_("Accepted offline at the merchant's risk: it is sent when the link is back"),
    "recovered": N_("Taken up again after a restart"),
    "interrupted": N_("The command sending it was interrupted: the outcome is checked with the gateway"),
    "manual_drain": N_("Sent now on request (Drain now)"),
    "retry_after_error": N_("Tried again after an error"),
    "notification_ignored": N_("Gateway notification without a final result: nothing to apply"),
    "notification_unmatched": N_("Gateway notification that does not match this transaction: not applied"),
    "notification_unreadable": N_("A signed gateway notification that could not be read"),
    "notification_repeated": N_("Gateway notification already applied: nothing changed"),
    "entry_code_matched": N_("Entry-code payment matched to this waiting amount"),
    "entry_code_unmatched": N_("Entry-code payment with no waiting amount: kept for a person to assign"),
    "entry_payment_assigned": N_("Entry-code payment assigned by a person"),
    "entry_payment_acknowledged": N_("Entry-code payment acknowledged as a sale of its own"),
}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a transaction's history: when (``at``, and ``time`` as shown: the clock time, with the
    date when it is not the transaction's first day), the words, which transaction it is about (the sale,
    or one of its refunds or cancels) and the journal's own name for it (``kind``: an event's kind or an
    audit action), for a machine."""

    at: float
    time: str
    words: str
    txn: str
    kind: str

    def to_json(self) -> dict:
        return {"at": self.at, "time": self.time, "words": self.words, "txn": self.txn, "kind": self.kind}

    def __str__(self) -> str:
        return f"{self.time}  {self.words}"


def timeline(txn: Mapping[str, Any], events: Iterable[Mapping[str, Any]], *,
             audit: Iterable[Mapping[str, Any]] = (),
             followups: Sequence[tuple[Mapping[str, Any], Iterable[Mapping[str, Any]]]] = ()) -> list[TimelineEntry]:
    """``txn``'s history in words, oldest first. ``txn`` is its journal row (``id``, ``kind``, ``currency``,
    ``amount``, ``tender``, ``created_at``), ``events`` its journal events (``at``, ``kind``, ``detail``),
    ``audit`` the audit entries about it (:func:`pos_app.roles.audit_log`'s shape) and ``followups`` a
    sale's refunds and cancels, each as (row, events). A refund or cancel asked through a use case is one
    line: who asked, the amount and the reason, from its audit entry."""
    txn, audit = dict(txn), list(audit)          # a sqlite3.Row reads like a dict, but has no .get
    followups = [(dict(row), evs) for row, evs in followups]
    asked = {(a["detail"] or {}).get(a["action"]): a for a in audit if a["action"] in ("refund", "cancel")}
    # In time order; at one instant, events in the journal's order (its seq: a cancel's answer is written
    # before the reversal of its sale, in one commit), then the audit entries written after them.
    raw: list[tuple[float, int, int, str, str, str]] = []
    for row, evs in [(txn, events), *followups]:
        for n, e in enumerate(evs):
            entry = asked.pop(row["id"], None) if e["kind"] == "created" and row["kind"] != SALE else None
            raw.append((e["at"], 0, e.get("seq", n), row["id"], e["kind"], _event_words(row, e, entry)))
    for n, a in enumerate(audit):
        if a["action"] in ("refund", "cancel") and (a["detail"] or {}).get(a["action"]) not in asked:
            continue   # said with its refund's or cancel's creation
        raw.append((a["at"], 1, a.get("seq", n), a.get("txn") or txn["id"], a["action"], _audit_words(a)))
    raw.sort(key=lambda r: r[:3])
    first_day = _day(txn.get("created_at") or (raw[0][0] if raw else 0))
    out: list[TimelineEntry] = []
    previous, repeats = None, 1
    for at, _rank, _seq, about, kind, words in raw:
        if (about, kind, words) == previous:   # the same answer again (an inquiry schedule): one line, counted
            repeats += 1
            last = out[-1]
            out[-1] = TimelineEntry(last.at, last.time, _("{words} ({n} times)").format(words=words, n=repeats),
                                    about, kind)
            continue
        previous, repeats = (about, kind, words), 1
        stamp = time.strftime("%H:%M:%S" if _day(at) == first_day else "%Y-%m-%d %H:%M:%S", time.localtime(at))
        out.append(TimelineEntry(at, stamp, words, about, kind))
    return out


def of_transaction(journal, txn_id: str) -> list[TimelineEntry]:
    """:func:`timeline` over what ``journal`` holds for ``txn_id`` (empty when it holds no such transaction):
    its events and audit entries; a sale's refunds and cancels with theirs; a refund's or cancel's request
    from its sale's audit entries."""
    from .roles import audit_log
    row = journal.get(txn_id)
    if row is None:
        return []
    audit = audit_log(journal, txn=txn_id)
    if row["parent"]:
        audit += [a for a in audit_log(journal, txn=row["parent"]) if (a["detail"] or {}).get(a["action"]) == txn_id]
    followups = [(c, journal.events(c["id"])) for c in journal.children(txn_id)]
    return timeline(row, journal.events(txn_id), audit=audit, followups=followups)


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(at))


def _amount(row: Mapping[str, Any]) -> str:
    return f"{format_minor(row['amount'], row['currency'])} {row['currency']}"


def who(entry: Mapping[str, Any]) -> str:
    """Who asked, and with which PIN when that is not the asker's own name: ``ann (manager)``."""
    asked, approved = entry.get("askedBy") or "", entry.get("approvedBy")
    if approved and approved != asked:
        return f"{asked} ({_(ROLE_WORDS.get(approved, approved))})"
    return asked


def _why(detail: Mapping[str, Any]) -> str:
    """The gateway's reason: its message and result code, as much as it gave."""
    message, code = stored(detail.get("message") or ""), detail.get("resultCode") or ""
    if message and code and code not in ("SUCCESS",):
        return f"{message} ({code})"
    return message or code


def _with(words: str, why: str) -> str:
    return f"{words} — {why}" if why else words


def _phase(phases, value):
    try:
        return phases(value)
    except ValueError:
        return None


def _event_words(row: Mapping[str, Any], e: Mapping[str, Any], asked: Mapping[str, Any] | None) -> str:
    kind, detail = e["kind"], e.get("detail")
    detail = detail if isinstance(detail, dict) else {}
    is_sale = row["kind"] == SALE
    what = _(KIND_WORDS.get(row["kind"], row["kind"]))
    if kind == "created":
        return _created_words(row, detail, asked)
    if kind == "state":
        return _state_words(row, detail)
    if kind == "answer":
        return _answer_words(row, detail)
    if kind == "notification":
        return _notification_words(detail, is_sale)
    if kind == "inquiry" and "success" in detail:   # a refund's inquiry that settled it
        return _("Inquiry: the gateway says the {kind} is done").format(kind=what) if detail["success"] else \
            _("Inquiry: the gateway says the {kind} failed").format(kind=what)
    if kind == "abort":
        return _with(_("Stop asked at the counter"), stored(str(detail.get("reason") or "")))
    if kind == "cancelled_by_manager":
        return _("Reversed by the manager's cancel {id}: the money went back").format(id=detail.get("cancel", ""))
    if kind == "notification_unknown_type":
        return _("A gateway notification of a type this terminal does not know ({type})").format(
            type=detail.get("notifyType") or "?")
    if kind in PLAIN_WORDS:
        return _(PLAIN_WORDS[kind])
    return plain(kind, detail)


def plain(kind: str, detail: Mapping[str, Any]) -> str:
    """An event this module has no words for, still readable: its name and its fields, never JSON."""
    fields = []
    for key, value in detail.items():
        if isinstance(value, dict):
            fields += [f"{key}.{k} {v}" for k, v in value.items() if v not in (None, "")]
        elif value not in (None, "", [], {}):
            fields.append(f"{key} {value}")
    name = kind.replace("_", " ").strip().capitalize() or "?"
    return f"{name}: {', '.join(fields)}" if fields else name


def _created_words(row: Mapping[str, Any], detail: Mapping[str, Any], asked: Mapping[str, Any] | None) -> str:
    amount = _amount(row)
    if row["kind"] == SALE:
        code = detail.get("code")
        if row.get("tender") == "order_code" or detail.get("tender") == "order_code":
            return _("Sale of {amount} started: an order code for the customer to scan").format(amount=amount)
        if row.get("tender") == "entry_code" or detail.get("tender") == "entry_code":
            return _("Sale of {amount} started: the customer pays by the store's entry code").format(amount=amount)
        if code:
            return _("Sale of {amount} started with the customer's payment code {code}").format(amount=amount,
                                                                                                code=code)
        return _("Sale of {amount} started").format(amount=amount)
    reason = (asked or {}).get("detail", {}).get("reason") or detail.get("reason") or ""
    if row["kind"] == "refund":
        words = (_("Refund of {amount} requested by {who}").format(amount=amount, who=who(asked)) if asked else
                 _("Refund of {amount} requested").format(amount=amount))
    else:
        words = (_("Cancel of the sale ({amount}) requested by {who}").format(amount=amount, who=who(asked)) if asked
                 else _("Cancel of the sale ({amount}) requested").format(amount=amount))
    return _with(words, stored(reason))


def _state_words(row: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    to = detail.get("to")
    what = _(KIND_WORDS.get(row["kind"], row["kind"]))
    if row["kind"] == SALE:
        if to == SalePhase.SENDING.value:
            return _("Pay sent to the gateway")
        if to == SalePhase.WAITING.value and row.get("tender") == "entry_code":
            return _(ENTRY_CODE_WAITING)
        if to == SalePhase.WAITING.value:
            return _("Order code shown: waiting for the customer to scan it and pay")
        if to == SalePhase.VOIDED.value:
            return _("Voided: it never reached the gateway, nothing was charged")
        if to in _SALE_FINAL:
            return _("Result: {status}").format(status=_(status_words(SALE, _SALE_FINAL[to])))
        words = SALE_PHASE_WORDS.get(_phase(SalePhase, to))
        return _(words[0]) if words else plain("state", detail)
    if to == FollowupPhase.SENDING.value:
        return _("{kind} sent to the gateway").format(kind=what.capitalize())
    if to in _FOLLOWUP_FINAL:
        return _("Result of the {kind}: {status}").format(kind=what, status=_(status_words(row["kind"],
                                                                                           _FOLLOWUP_FINAL[to])))
    phrase = FOLLOWUP_PHASE_WORDS.get(_phase(FollowupPhase, to))
    return _(phrase).format(kind=what) if phrase else plain("state", detail)


def _answer_words(row: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    api, status = detail.get("api") or "", detail.get("status") or ""
    if api == "inquiryPayment" and status == "success":
        said = str(detail.get("paymentStatus") or "")
        words = INQUIRY_WORDS.get(said)
        return _(words) if words else _("Inquiry: the gateway says {status}").format(status=said or "?")
    if api == "pay" and status == "success" and row.get("tender") == "order_code":
        return _("Gateway: order code made")
    if status == "unknown" and detail.get("delivery") == "certainly not sent":   # the client's own words are technical
        return _("Not sent: the gateway could not be reached")
    words = ANSWER_WORDS.get((api, status))
    if words is None:
        return _with(_("Gateway answered {request}: {status}").format(request=api or "?", status=status or "?"),
                     _why(detail))
    return _(words) if status == "success" else _with(_(words), _why(detail))


def _notification_words(detail: Mapping[str, Any], is_sale: bool) -> str:
    result: Mapping[str, Any] = detail["result"] if isinstance(detail.get("result"), dict) else {}
    why = _why({"message": result.get("resultMessage"), "resultCode": result.get("resultCode")})
    if detail.get("notifyType") == "REFUND_RESULT" or "refundStatus" in detail:
        if detail.get("refundStatus") == "SUCCESS":
            return _("Gateway notification: refunded")
        return _with(_("Gateway notification: the refund failed"), why)
    if "success" in detail and "notifyType" not in detail:
        return _("Gateway notification: done") if detail["success"] else _("Gateway notification: failed")
    status = result.get("resultStatus")
    if status == "S":
        return _("Gateway notification: paid") if is_sale else _("Gateway notification: done")
    if status == "F":
        return _with(_("Gateway notification: not paid") if is_sale else _("Gateway notification: failed"), why)
    return _with(_("Gateway notification without a final result"), why)


def _audit_words(a: Mapping[str, Any]) -> str:
    detail = a.get("detail") or {}
    action, by = a["action"], who(a)
    if action == "refund":
        amount = f"{detail.get('amount', '')} {detail.get('currency', '')}".strip()
        return _with(_("Refund of {amount} requested by {who}").format(amount=amount, who=by), detail.get("reason", ""))
    if action == "cancel":
        return _with(_("Cancel requested by {who}").format(who=by), detail.get("reason", ""))
    if action == "retry_inquiry":
        said = GATEWAY_SAID.get(str(detail.get("gateway")))
        return _with(_("Inquiry asked by {who}").format(who=by), _(said) if said else str(detail.get("gateway") or ""))
    if action == "retry_cancel":
        return _("Cancel sent again by {who}").format(who=by)
    if action == "resolved":
        return _with(_("Marked resolved by {who}").format(who=by), detail.get("note", ""))
    return f"{plain(action, detail)} ({by})" if by else plain(action, detail)
