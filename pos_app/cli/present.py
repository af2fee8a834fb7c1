"""A sale or follow-up as a person at a prompt reads it: the phase as it goes, the outcome when it ends, and
afterwards its history (``report --txn``); and the till a report names.

The words are the window's (:mod:`pos_app.vocabulary`, :mod:`pos_app.history`, translated), so a cashier
reads the same at the prompt as on the screen.
"""

from __future__ import annotations

import sys
import time

from .. import payment_flow as pf
from ..i18n import _
from ..money import format_minor
from ..vocabulary import (
    CANCELLED,
    DECLINE_CODES,
    ENTRY_CODE_WAITING,
    FAILED,
    FOLLOWUP_PHASE_WORDS,
    KIND_WORDS,
    NEEDS_REVIEW,
    NEXT_COMMAND,
    NEXT_STEP,
    NEXT_STEP_DECLINED,
    PATH_TROUBLE_WORDS,
    QUEUED,
    SALE_PHASE_WORDS,
    SUCCESS,
    UNKNOWN,
    split_path_trouble,
)
from .output import draw_qr, progress

#: An outcome's exit code: 0 paid / done; 1 declined, failed or cancelled; 3 not settled yet.
EXIT = {SUCCESS: 0, FAILED: 1, CANCELLED: 1, UNKNOWN: 3, QUEUED: 3, NEEDS_REVIEW: 3}


def next_step(status: str) -> str:
    """The window's next step, with the command that helps at a prompt."""
    text = _(NEXT_STEP[status])
    return f"{text} (`{NEXT_COMMAND[status]}`)" if status in NEXT_COMMAND else text


def describe(txn) -> str:
    """A plain sentence for the phase a sale or follow-up is in (for a stopped sale, what the stop waits on)."""
    if isinstance(txn, pf.Sale):
        from ..sale_view import stopping_words
        stopping = stopping_words(txn)
        if stopping is not None:
            return _(stopping)
        if txn.tender == pf.ENTRY_CODE and txn.phase is pf.Phase.WAITING:
            return _(ENTRY_CODE_WAITING)
        words = SALE_PHASE_WORDS.get(txn.phase)
        text = _(words[0]) if words else txn.status
        hop = split_path_trouble(txn.trouble) if txn.phase is pf.Phase.NEW else None
        if hop is not None:   # not the link: the proxy or TLS refuses it (as the cashier's screen says)
            text = _("Queued. {what}").format(what=_(PATH_TROUBLE_WORDS[hop[0]][0]))
        if txn.phase is pf.Phase.INQUIRING:
            return _("{words} (inquiry {n})").format(words=text, n=txn.inquiries + 1)
        return text
    phrase = FOLLOWUP_PHASE_WORDS.get(txn.phase)
    return _(phrase).format(kind=_(KIND_WORDS[txn.kind])) if phrase else txn.status



def till_of(opts):
    """The till a report names (store, terminal), from the config this command runs with; None when it
    cannot be read (the report is still printed, saying so)."""
    from ..printout import Till
    return Till.read(opts.config_file(), opts.data_path())


def history(journal, ref: str) -> dict:
    """One transaction (by its id, or a sale by the gateway's paymentId) and its history in words, for
    ``report --txn``: the same timeline as the manager's window (:func:`pos_app.history.of_transaction`)."""
    from ..errors import PosError
    from ..history import of_transaction
    from ..money import Money
    row = journal.find(ref)
    if row is None:
        raise PosError(_("no transaction {id!r} in this journal").format(id=ref),
                       hint=_("give a paymentRequestId, paymentId, refund or cancel id from `pos-terminal report`"))
    return {"id": row["id"], "kind": row["kind"], "status": row["status"], "parent": row["parent"],
            "amount": Money(row["amount"], row["currency"]).to_api(),
            "timeline": [e.to_json() for e in of_transaction(journal, row["id"])]}


def history_lines(data: dict) -> list[str]:
    from ..vocabulary import status_words
    a = data["amount"]
    head = (f"{_(KIND_WORDS.get(data['kind'], data['kind']))} {data['id']}  "
            f"{_(status_words(data['kind'], data['status']))}  {format_minor(int(a['value']), a['currency'])} "
            f"{a['currency']}")
    return [head, *(f"  {e['time']}  {e['words']}" for e in data["timeline"])]


def outcome_lines(data: dict) -> list[str]:
    """A transaction's summary (``Terminal.summary``) as the lines printed without --json."""
    a = data["amount"]
    amount = f"{format_minor(int(a['value']), a['currency'])} {a['currency']}"
    head = {SUCCESS: "PAID" if data.get("kind") == "sale" else "DONE", FAILED: "NOT PAID" if
            data.get("kind") == "sale" else "FAILED", CANCELLED: "CANCELLED", UNKNOWN: "NOT SURE YET",
            QUEUED: "QUEUED", NEEDS_REVIEW: "NEEDS REVIEW"}[data["status"]]
    declined = data.get("kind") == "sale" and data["status"] == FAILED and data.get("resultCode") in DECLINE_CODES
    if declined:   # the wallet said no: the window's words (sale_view), not a bare "not paid"
        head = "DECLINED"
    lines = [f"{head}: {data.get('kind', '')} {amount}"]
    if data.get("message") and data["status"] != SUCCESS:
        lines.append(f"  why:     {data['message']}" + (f" ({data['resultCode']})" if data.get("resultCode") else ""))
    lines.append(f"  payment: {data.get('paymentRequestId')} (gateway id {data.get('paymentId') or 'not known yet'})")
    if data.get("refundRequestId"):
        lines.append(f"  refund:  {data['refundRequestId']}")
    if data.get("kind") == "sale" or data["status"] != SUCCESS:
        lines.append(f"  next:    {_(NEXT_STEP_DECLINED) if declined else next_step(data['status'])}")
    return lines


def watch(opts, terminal) -> None:
    """Say each new phase of an open transaction on stderr as it happens."""
    last: dict[str, str] = {}

    def changed(txn_id: str) -> None:
        txn = terminal.load(txn_id)
        text = describe(txn)
        if not txn.final and last.get(txn_id) != text:
            last[txn_id] = text
            progress(opts, text)
    terminal.on_change.add(changed)


def show_code(opts, value: str, expires_at: float | None) -> None:
    """An order code for the customer to scan: its text and a QR (on stderr when stdout carries JSON)."""
    out = sys.stderr if opts.json else sys.stdout
    left = f" (expires in {max(0, int(expires_at - time.time()))} s)" if expires_at else ""
    print(f"order code: {value}{left}", file=out, flush=True)
    draw_qr(value, out)


def follow(terminal, txn, timeout: float | None) -> dict:
    """Wait for a refund or cancel (or a closing sale) to settle, or to be queued for the link."""
    from ..vocabulary import settled
    txn = terminal.wait(txn.id, lambda f: settled(f) or f.status == QUEUED, timeout)
    return terminal.summary(txn)


def cancel_exit(data: dict) -> int:
    """A cancel's exit code: a closed open sale is done (0) only if nothing stays charged; a reversal of
    a paid sale is its outcome's."""
    if data["kind"] == "sale":
        return {CANCELLED: 0, FAILED: 0, SUCCESS: 1}.get(data["status"], 3)
    return EXIT[data["status"]]
