"""The counter's use cases: take a sale, abort it, ask the gateway, settle what is open, drain the queue.

Thin on purpose: the rules live in :class:`pos_app.terminal.Terminal` and its state machines; a use
case names the action, checks who may take it and returns a typed result. Sales and aborts are not
written to the audit log: the journal's own events record every step of them already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import PosError
from ..i18n import N_, _
from ..money import Money
from .registry import Grant, record, require, use_case

if TYPE_CHECKING:
    from ..outcome import Outcome


@use_case("sale", cli="sale", gui="ui.cashier:CashierWindow.handle_action")
def sale(grant: Grant, terminal, amount: Money, *, code: str | None = None, order_code: bool = False,
         entry_code: bool = False, description: str = "", alongside: bool = False):
    """Start a sale by payment code (``code``), order code, or the store's entry code (``entry_code``: nothing
    is sent; it waits for a matching payment); returns the :class:`~pos_app.payment_flow.Sale` as it is after
    its first step (the caller waits for it with ``terminal.wait`` or ``on_change``)."""
    if entry_code:
        if code is not None or order_code:
            raise PosError(_("a sale takes one tender: a payment code, the order code or the entry code"))
        return terminal.start_entry_code(amount, description=description, alongside=alongside)
    return terminal.start_sale(amount, code=code, order_code=order_code, description=description,
                               alongside=alongside)


@use_case("entry_payments", cli="entry-payments", gui="ui.manager:ManagerWindow.refresh_unmatched")
def entry_payments(grant: Grant, terminal) -> list[dict]:
    """The entry-code payments that came with no waiting amount, oldest first, each with the waiting sales it
    could be assigned to (read only)."""
    return terminal.entry_payments()


@use_case("assign_entry_payment", cli="entry-payments assign", gui="ui.manager:ManagerWindow.assign_unmatched")
def assign_entry_payment(grant: Grant, terminal, payment_ref: str, sale_ref: str | None):
    """Settle an unmatched entry-code payment: into the waiting entry-code sale ``sale_ref`` (anyone at the till:
    that sale is then paid), or, with no sale, acknowledged as a sale of its own (the manager's: the money
    stays counted on it, and a refund is the way back if it was nobody's). Audited either way; the money is
    counted once, on one row."""
    from ..roles import MANAGER
    if sale_ref is None:
        require(grant, frozenset({MANAGER}), _("marking an entry-code payment assigned without a sale"))
    result = terminal.assign_entry_payment(payment_ref, sale_ref,
                                           by={"askedBy": grant.asked_by, "approvedBy": grant.approved_by})
    record(terminal.journal, grant, "assign_entry_payment" if sale_ref else "acknowledge_entry_payment",
           txn=result.id, detail={"payment": payment_ref, "sale": sale_ref, "status": result.status})
    return result


@use_case("abort", cli="cancel", gui="ui.cashier:CashierWindow.handle_action")
def abort(grant: Grant, terminal, sale_id: str, reason: str = N_("cancelled by the cashier")):
    """Stop an open sale in any abortable phase; the sale says what follows (void, cancel, inquire)."""
    return terminal.abort(sale_id, reason)


@dataclass(frozen=True)
class Inquiry:
    gateway: str          # what the gateway said: success, failure or unknown (Outcome.status)
    txn: Any              # the transaction (Sale or Followup) as it is now, when it is ours; else None
    outcome: Outcome | None = field(default=None, repr=False, compare=False)  # the whole answer (code, body)

    @property
    def answer(self) -> Outcome:
        """The gateway's whole answer (result code, message, body)."""
        if self.outcome is None:
            raise ValueError("this inquiry was made without the gateway's answer")
        return self.outcome

    @property
    def unknown(self) -> bool:
        """The gateway's answer is not known (not reached, or no verified answer)."""
        from ..outcome import Status
        return self.gateway == Status.UNKNOWN.value

    def to_json(self) -> dict:
        return {"gateway": self.gateway, "status": self.txn.status if self.txn is not None else None}


@use_case("inquiry", cli="inquiry", gui="ui.manager:ManagerWindow.inquire_selected")
def inquiry(grant: Grant, terminal, ref: str) -> Inquiry:
    """Ask the gateway about a payment or refund now; an open one learns from the answer."""
    outcome, txn = terminal.inquiry(ref)
    return Inquiry(outcome.status.value, txn, outcome)


@use_case("reconcile", cli="reconcile", gui=None,
          why="the running terminal's reconciler settles open transactions by itself; asking for it is for a "
              "prompt, after a crash or from a script")
def reconcile(grant: Grant, terminal, timeout: float | None = None) -> dict:
    """Settle every open transaction with the gateway, waiting at most ``timeout`` seconds."""
    return terminal.settle(timeout)


@dataclass(frozen=True)
class Drained:
    advanced: int
    queue: dict

    def to_json(self) -> dict:
        return {**self.queue, "advanced": self.advanced}


@use_case("drain", cli="queue --drain", gui="ui.technician:TechnicianWindow.drain")
def drain(grant: Grant, terminal) -> Drained:
    """Send what waits in the outbox now instead of at its next scheduled try."""
    import time

    from ..rows import queue_status
    advanced = terminal.drain_now()
    return Drained(advanced, queue_status(terminal.journal, time.time()))


@use_case("queue", cli="queue", gui="ui.technician:TechnicianWindow.refresh_queue")
def queue(grant: Grant, journal) -> dict:
    """What waits in the outbox for the link (read-only)."""
    import time

    from ..rows import queue_status
    return queue_status(journal, time.time())
