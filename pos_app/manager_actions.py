"""The manager's money moves, one home for both front ends: refund and cancel of a paid sale.

The cashier window's manager mode and ``pos-terminal refund|cancel`` call these, so the rule (a reason
is required; "the rest" means what is left after the refunds not failed) and the audit record (action,
who asked, who approved, reason, amount, the follow-up's id and status) are the same whichever is used.
The caller proves the approval first: the window by its PIN dialog, the CLI by :func:`approve`.
"""

from __future__ import annotations

from . import followup_flow as ff
from .errors import PosError
from .i18n import _
from .money import Money, format_minor
from .roles import MANAGER, PinBook, audit


def approve(journal, pin: str) -> str:
    """Check the manager PIN (wrong tries count, a locked mode stays locked); the approver's name."""
    PinBook(journal).verify(MANAGER, pin)
    return MANAGER


def check_reason(reason: str | None, action: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise PosError(_("a refund needs a reason") if action == "refund" else _("a cancel needs a reason"),
                       hint="say why (in the window's reason box, or --reason \"damaged item\")")
    return text


def refund(terminal, sale_ref: str, amount: Money | None, reason: str | None, *, asked_by: str,
           approved_by: str) -> ff.Followup:
    """Refund ``amount`` of a paid sale, or all that is left when ``amount`` is None; audited."""
    reason = check_reason(reason, "refund")
    row = terminal.sale_row(sale_ref)
    if amount is None:
        left = terminal.refundable(row["id"])
        if left <= 0:
            raise PosError(_("nothing is left to refund on {id}").format(id=row["id"]))
        amount = Money(left, row["currency"])
    result = terminal.refund(row["id"], amount, reason)
    audit(terminal.journal, "refund", txn=row["id"], asked_by=asked_by, approved_by=approved_by,
          detail={"reason": reason, "amount": format_minor(amount.minor, amount.currency),
                  "currency": amount.currency, "refund": result.id, "status": result.status})
    return result


def cancel(terminal, sale_ref: str, reason: str | None, *, asked_by: str, approved_by: str):
    """Cancel a sale in full (a paid one is reversed, an open one closed); audited."""
    reason = check_reason(reason, "cancel")
    row = terminal.sale_row(sale_ref)
    result = terminal.cancel(row["id"])
    audit(terminal.journal, "cancel", txn=row["id"], asked_by=asked_by, approved_by=approved_by,
          detail={"reason": reason, "amount": format_minor(row["amount"], row["currency"]),
                  "currency": row["currency"], "cancel": result.id, "status": result.status})
    return result
