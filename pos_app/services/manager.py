"""The manager's use cases: refund, cancel of a paid sale, and the review of what is open or unsure.

Each one checks the manager grant (the PIN, with its lockout), moves money only through
:class:`~pos_app.terminal.Terminal` (which journals first and refuses repeats), and writes the same
audit record whichever front end asked: action, transaction, who asked, who approved, and the detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PosError
from ..i18n import N_, _
from ..money import Money, format_minor
from ..roles import MANAGER
from .registry import ANYONE, Grant, record, require, use_case

MANAGERS = frozenset({MANAGER})


def check_reason(reason: str | None, action: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise PosError(_("a refund needs a reason") if action == "refund" else _("a cancel needs a reason"),
                       hint=_("say why (in the window's reason box, or --reason \"damaged item\")"))
    return text


@use_case("refund", roles=MANAGERS, cli="refund", gui="ui.manager:ManagerWindow.refund_selected")
def refund(grant: Grant, terminal, sale_ref: str, amount: Money | None, reason: str | None):
    """Refund ``amount`` of a paid sale, or all that is left when ``amount`` is None; audited."""
    reason = check_reason(reason, "refund")
    row = terminal.sale_row(sale_ref)
    if amount is None:
        left = terminal.refundable(row["id"])
        if left <= 0:
            raise PosError(_("nothing is left to refund on {id}").format(id=row["id"]))
        amount = Money(left, row["currency"])
    result = terminal.refund(row["id"], amount, reason)
    record(terminal.journal, grant, "refund", txn=row["id"],
           detail={"reason": reason, "amount": format_minor(amount.minor, amount.currency),
                   "currency": amount.currency, "refund": result.id, "status": result.status})
    return result


@dataclass(frozen=True)
class RefundPreview:
    """What a refund would do, for the person to confirm before any money moves: the sale, the amount, and
    what is left to refund before and after it (minor units). Read only; :func:`refund` has the last word."""

    sale_id: str
    sale_amount: int
    currency: str
    paid_at: float
    description: str
    amount: int
    refundable: int

    @property
    def left_after(self) -> int:
        return self.refundable - self.amount

    def to_json(self) -> dict:
        def money(minor: int) -> str:
            return format_minor(minor, self.currency)
        return {"sale": self.sale_id, "saleAmount": money(self.sale_amount), "currency": self.currency,
                "amount": money(self.amount), "refundable": money(self.refundable), "leftAfter": money(self.left_after)}


def refund_preview(terminal, sale_ref: str, amount: Money | None) -> RefundPreview:
    """The refund :func:`refund` would make of ``sale_ref`` (``amount`` None: all that is left), or why
    none can be made, in words, before anything is asked or sent."""
    from ..vocabulary import SALE, SUCCESS
    row = terminal.sale_row(sale_ref)
    if row["kind"] != SALE or row["status"] != SUCCESS:
        raise PosError(_("sale {id} is not paid: there is nothing to refund").format(id=row["id"]))
    left = terminal.refundable(row["id"])
    if left <= 0:
        raise PosError(_("nothing is left to refund on {id}").format(id=row["id"]))
    minor = left if amount is None else amount.minor
    if minor > left:
        raise PosError(_("{amount} is more than is left to refund: {left}").format(
            amount=f"{format_minor(minor, row['currency'])} {row['currency']}",
            left=f"{format_minor(left, row['currency'])} {row['currency']}"),
            hint=_("refunds of one sale add up to at most what was paid"))
    return RefundPreview(row["id"], row["amount"], row["currency"], row["created_at"], row["description"] or "",
                         minor, left)


def reverses(row) -> bool:
    """A cancel of this sale moves money back (it was paid): the manager's, with a reason. Any other
    cancel closes an open sale (the cashier's abort)."""
    from ..vocabulary import SUCCESS
    return row["status"] == SUCCESS


@use_case("cancel", roles=ANYONE, cli="cancel", gui="ui.manager:ManagerWindow.cancel_selected")
def cancel(grant: Grant, terminal, sale_ref: str, reason: str | None):
    """Cancel a sale in full: a paid one is reversed (manager, with a reason); an open one is closed.
    Audited either way."""
    row = terminal.sale_row(sale_ref)
    if reverses(row):
        require(grant, MANAGERS, _("reversing a paid sale"))
        reason = check_reason(reason, "cancel")
    else:
        reason = (reason or "").strip() or N_("cancelled on request")   # kept in English (i18n.stored)
    result = terminal.cancel(row["id"])
    record(terminal.journal, grant, "cancel", txn=row["id"],
           detail={"reason": reason, "amount": format_minor(row["amount"], row["currency"]),
                   "currency": row["currency"], "cancel": result.id, "status": result.status})
    return result


# -- review --------------------------------------------------------------------------------------------
@use_case("review", cli="review", gui="ui.manager:ManagerWindow.refresh_review")
def review(grant: Grant, journal) -> list[dict]:
    """What is still open or needs a manager, and signed notifications that could not be applied."""
    from ..review import review_items
    return review_items(journal)


def _known(journal, item_id: str) -> None:
    from ..review import is_reviewable
    if not is_reviewable(journal, item_id):
        raise PosError(_("no transaction {id!r} in this journal").format(id=item_id),
                       hint=_("`pos-terminal review` lists what is open or needs review"))


@use_case("review_retry", cli="review retry", gui="ui.manager:ManagerWindow.retry_inquiry")
def review_retry(grant: Grant, terminal, item_id: str):
    """Ask the gateway about a review item now; audited."""
    from .sales import Inquiry
    if terminal.journal.find(item_id) is None:
        _known(terminal.journal, item_id)
    outcome, txn = terminal.inquiry(item_id)
    result = Inquiry(outcome.status.value, txn)
    record(terminal.journal, grant, "retry_inquiry", txn=item_id, detail=result.to_json())
    return result


@use_case("review_cancel", cli="review cancel", gui="ui.manager:ManagerWindow.retry_cancel")
def review_cancel(grant: Grant, terminal, item_id: str):
    """Send the cancel of an unsure sale again (the same paymentRequestId); audited. On a paid sale the
    cancel reverses the payment: the manager's, as for :func:`cancel`."""
    _known(terminal.journal, item_id)
    row = terminal.journal.get(item_id)
    if row is not None and reverses(row):
        require(grant, MANAGERS, _("reversing a paid sale"))
    txn = terminal.cancel(item_id)
    record(terminal.journal, grant, "retry_cancel", txn=item_id, detail={"status": txn.status})
    return txn


@dataclass(frozen=True)
class Resolved:
    id: str
    note: str

    def to_json(self) -> dict:
        return {"id": self.id, "resolved": True, "note": self.note}


@use_case("review_resolve", roles=MANAGERS, cli="review resolve", gui="ui.manager:ManagerWindow.resolve")
def review_resolve(grant: Grant, journal, item_id: str, note: str) -> Resolved:
    """Mark a review item resolved with what the manager found; audited (the item leaves the list)."""
    note = (note or "").strip()
    if not note:
        raise PosError(_("marking resolved needs a note"), hint=_("say what was found, e.g. checked on the portal"))
    from ..review import RESOLVED
    _known(journal, item_id)
    record(journal, grant, RESOLVED, txn=item_id, detail={"note": note})
    return Resolved(item_id, note)


# -- what the manager's window reads (no use case: nothing is moved or audited) -----------------------------
def on_behalf(grant: Grant, asked_by: str) -> Grant:
    """The same approval for a request someone else made (the window's "asked by" box): the role and the
    approver stay those the PIN proved; only who asked is named."""
    import dataclasses
    return dataclasses.replace(grant, asked_by=(asked_by or "").strip() or grant.asked_by)


def today() -> str:
    """The business day now (the journal's ``day`` column)."""
    import time

    from offline_queue.journal import business_day
    return business_day(time.time())


@dataclass(frozen=True)
class SaleActions:
    """What can be done to a transaction now, for the buttons: the terminal refuses the rest in words."""

    refundable: int             # minor units left to refund (Terminal.refundable), 0 when not a paid sale
    currency: str
    can_refund: bool
    can_cancel: bool
    cancel_needs_reason: bool   # the cancel reverses a paid sale (manager, reason); else it closes an open one

    def to_json(self) -> dict:
        return {"refundable": format_minor(self.refundable, self.currency), "currency": self.currency,
                "canRefund": self.can_refund, "canCancel": self.can_cancel,
                "cancelNeedsReason": self.cancel_needs_reason}


def sale_actions(terminal, row) -> SaleActions:
    from ..vocabulary import OPEN, SALE
    if row["kind"] != SALE:
        return SaleActions(0, row["currency"], False, False, False)
    paid = reverses(row)
    left = terminal.refundable(row["id"]) if paid else 0
    # A refund (settled or on its way) rules a cancel out: the gateway refuses a cancel after a refund.
    untouched = left == row["amount"]
    return SaleActions(left, row["currency"], paid and left > 0, (paid and untouched) or row["status"] in OPEN, paid)


def detail(terminal, txn_id: str) -> dict:
    """A transaction as the window's side panel shows it: its row, events, audit entries and actions, and
    its history in words (``timeline``: lines in the person's language, the audit's included)."""
    from ..roles import audit_log
    row = terminal.journal.get(txn_id)
    events = terminal.journal.events(txn_id)
    audit = audit_log(terminal.journal, txn=txn_id)
    return {"row": dict(row) if row is not None else None, "events": events, "audit": audit,
            "timeline": timeline_words(terminal.journal, txn_id, events),
            "actions": sale_actions(terminal, row) if row is not None else None}


def timeline_words(journal, txn_id: str, events: list[dict]) -> list[str]:
    """The transaction's history in words, a line each ("12:03:05  Gateway: paid"): a sale's with its refunds
    and cancels, a refund's with who asked (:func:`pos_app.history.of_transaction`; ``events`` are read again
    there, with the follow-ups')."""
    from ..history import of_transaction
    return [str(entry) for entry in of_transaction(journal, txn_id)]


def till(terminal):
    """The till the reports name (store, terminal), from the running terminal's config."""
    from ..printout import Till
    return Till.of(terminal.config)


def refund_money(preview: RefundPreview) -> Money:
    """The amount a confirmed preview refunds, as :func:`refund` takes it."""
    return Money(preview.amount, preview.currency)


AMOUNT_FILTER_LIMIT = 10 ** 14   # in major units: the filter's ten-thousandths stay well inside SQLite's integers


def _ten_thousandths(text: str) -> int | None:
    from decimal import Decimal, InvalidOperation
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise PosError(_("{text!r} is not an amount").format(text=text),
                       hint=_("type digits with at most one '.', e.g. 12.50")) from None
    if not value.is_finite() or abs(value) >= AMOUNT_FILTER_LIMIT:   # 1e400 would not fit SQLite's integers
        raise PosError(_("{text!r} is not an amount").format(text=text),
                       hint=_("type digits with at most one '.', e.g. 12.50"))
    return int(value * 10000)


def day_filter(day: str, *, status: str | None = None, tender: str | None = None, min_amount: str = "",
               max_amount: str = "", text: str = ""):
    """The day table's filter from what the manager typed; a bad amount is refused in words."""
    from offline_queue.daybook import DayFilter
    return DayFilter(day, status or None, tender or None, _ten_thousandths(min_amount),
                     _ten_thousandths(max_amount), (text or "").strip())


def day_count(journal, day_filter, *, log: list | None = None) -> int:
    from offline_queue import daybook
    return daybook.count(journal, day_filter, log=log)


def day_page(journal, day_filter, *, order: str, descending: bool, offset: int, limit: int,
             log: list | None = None) -> list[tuple]:
    from offline_queue import daybook
    return daybook.page(journal, day_filter, order=order, descending=descending, offset=offset, limit=limit,
                        log=log)


def paid_per_hour(journal, day: str) -> dict[str, list[int]]:
    """The value of the day's paid sales per local hour, per currency (the window's chart)."""
    from offline_queue import daybook

    from ..vocabulary import SALE, SUCCESS
    return daybook.hourly(journal, day, kind=SALE, status=SUCCESS)
