"""The counter's use cases: take a sale, abort it, ask the gateway, settle what is open, drain the queue.

Thin on purpose: the rules live in :class:`pos_app.terminal.Terminal` and its state machines; a use
case names the action, checks who may take it and returns a typed result. Sales and aborts are not
written to the audit log: the journal's own events record every step of them already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..i18n import N_
from ..money import Money
from .registry import Grant, use_case

if TYPE_CHECKING:
    from ..outcome import Outcome


@use_case("sale", cli="sale", gui="ui.cashier:CashierWindow.handle_action")
def sale(grant: Grant, terminal, amount: Money, *, code: str | None = None, order_code: bool = False,
         description: str = "", alongside: bool = False):
    """Start a sale by payment code (``code``) or order code; returns the :class:`~pos_app.payment_flow.Sale`
    as it is after its first step (the caller waits for it with ``terminal.wait`` or ``on_change``)."""
    return terminal.start_sale(amount, code=code, order_code=order_code, description=description,
                               alongside=alongside)


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
