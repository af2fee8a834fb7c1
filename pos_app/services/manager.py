"""The manager's use cases: refund, cancel of a paid sale, and the review of what is open or unsure.

Each one checks the manager grant (the PIN, with its lockout), moves money only through
:class:`~pos_app.terminal.Terminal` (which journals first and refuses repeats), and writes the same
audit record whichever front end asked: action, transaction, who asked, who approved, and the detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PosError
from ..i18n import _
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


@use_case("cancel", roles=ANYONE, cli="cancel", gui="ui.manager:ManagerWindow.cancel_selected")
def cancel(grant: Grant, terminal, sale_ref: str, reason: str | None):
    """Cancel a sale in full: a paid one is reversed (manager, with a reason); an open one is closed.
    Audited either way."""
    row = terminal.sale_row(sale_ref)
    from ..vocabulary import SUCCESS
    if row["status"] == SUCCESS:
        require(grant, MANAGERS, _("reversing a paid sale"))
        reason = check_reason(reason, "cancel")
    else:
        reason = (reason or "").strip() or _("cancelled on request")
    result = terminal.cancel(row["id"])
    record(terminal.journal, grant, "cancel", txn=row["id"],
           detail={"reason": reason, "amount": format_minor(row["amount"], row["currency"]),
                   "currency": row["currency"], "cancel": result.id, "status": result.status})
    return result


# -- review --------------------------------------------------------------------------------------------
@use_case("review", cli="review", gui="ui.manager:ManagerWindow.refresh_review")
def review(grant: Grant, journal) -> list[dict]:
    """What is still open or needs a manager, and signed notifications that could not be applied."""
    from ..manager_commands import review_items
    return review_items(journal)


def _known(journal, item_id: str) -> None:
    from ..manager_commands import review_items
    if journal.get(item_id) is None and not any(i["id"] == item_id for i in review_items(journal)):
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
    """Send the cancel of an unsure sale again (the same paymentRequestId); audited."""
    _known(terminal.journal, item_id)
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
    _known(journal, item_id)
    record(journal, grant, "resolved", txn=item_id, detail={"note": note})
    return Resolved(item_id, note)
