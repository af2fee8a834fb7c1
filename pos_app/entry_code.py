"""Which waiting amount an entry-code payment belongs to: the one matching rule, pure (no I/O, no clock).

With a static entry code the customer types the amount in the wallet, and the gateway tells the merchant
only by notification, under a paymentRequestId the merchant's page made, not ours. So a payment is tied to a
sale by what both know: the amount, the currency and the time.

The rule (:func:`match`): a payment matches the OLDEST waiting entry-code sale of the same amount and currency
whose window covers the payment's time (``started - SKEW <= paid_at <= started + window``). Oldest first is
the queue at the counter: two customers owing the same amount are served in order, and either way each sale
takes exactly one payment and each payment settles at most one sale.

Chosen: a waiting amount started AFTER a payment arrived unmatched does not take that payment by itself: it
is offered to the person (:func:`claimable`, the earlier payment within one window before the start), who
assigns it or not. Taking it silently would hand over goods against an earlier customer's payment of the
same amount whenever one went unmatched (the cashier had not typed it yet, or someone else paid by mistake).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .money import Money, MoneyError

#: Seconds a payment's time may fall before its sale's start and still match: the gateway's clock and the
#: terminal's differ a little, and a customer may pay a moment before the cashier confirms the amount.
SKEW = 30.0


@dataclass(frozen=True)
class Waiting:
    """A waiting entry-code sale: its id, its money, when it started and how long it waits."""

    ref: str
    currency: str
    amount: int
    started_at: float
    window: float

    def covers(self, paid_at: float) -> bool:
        return self.started_at - SKEW <= paid_at <= self.started_at + self.window


@dataclass(frozen=True)
class Paid:
    """An entry-code payment the gateway notified: its paymentId, money and payment time."""

    ref: str
    currency: str
    amount: int
    paid_at: float


def match(payment: Paid, waiting: Iterable[Waiting]) -> Waiting | None:
    """The oldest waiting sale this payment settles, or None (the payment is then unmatched)."""
    fits = [w for w in waiting if (w.currency, w.amount) == (payment.currency, payment.amount)
            and w.covers(payment.paid_at)]
    return min(fits, key=lambda w: (w.started_at, w.ref), default=None)


def claimable(sale: Waiting, unmatched: Iterable[Paid]) -> list[Paid]:
    """Unmatched payments a person may assign to ``sale``, oldest first: same money, paid within one window
    before the sale started (or during it)."""
    fits = [p for p in unmatched if (p.currency, p.amount) == (sale.currency, sale.amount)
            and sale.started_at - sale.window <= p.paid_at <= sale.started_at + sale.window]
    return sorted(fits, key=lambda p: (p.paid_at, p.ref))


# -- what an entry-code notification says (spec §10; the scenario field is the simulator's reading) ----------
SCENARIO = "EntryCode"
#: The description of an unmatched payment's own row (kept in English in the journal, like the flows' messages).
UNMATCHED_DESCRIPTION = "entry-code payment (unmatched)"


def scenario_of(body: dict) -> str | None:
    """The in-store scenario a notifyPayment names (``paymentFactor.inStorePaymentScenario``), if any."""
    factor = body.get("paymentFactor")
    scenario = factor.get("inStorePaymentScenario") if isinstance(factor, dict) else None
    return scenario if isinstance(scenario, str) else None


def unreadable(body: dict) -> str | None:
    """Why a notification's payment cannot be taken as one (no usable paymentId, or an amount that is not a
    positive whole number of minor units of a known currency), or None when it can."""
    payment_id = body.get("paymentId")
    if not isinstance(payment_id, str) or not 0 < len(payment_id) <= 64:
        return "it has no usable paymentId"
    try:
        Money.from_api(body.get("paymentAmount"))
    except MoneyError:
        return f"its paymentAmount {str(body.get('paymentAmount'))[:80]} is not an amount the terminal takes"
    return None


def paid_of(body: dict, now: float) -> Paid | None:
    """The payment a notification reports, or None if it lacks a paymentId or a valid amount
    (:func:`unreadable` says why); its time is the gateway's paymentTime (a resent notification keeps it),
    else ``now``."""
    if unreadable(body) is not None:
        return None
    payment_id = body["paymentId"]
    money = Money.from_api(body["paymentAmount"])
    try:
        paid_at = datetime.fromisoformat(body["paymentTime"]).timestamp()
    except (KeyError, TypeError, ValueError, OverflowError):
        paid_at = now
    return Paid(payment_id, money.currency, money.minor, paid_at)


def notice_detail(body: dict) -> dict:
    """What the journal keeps of an entry-code notification beyond the usual: the gateway's paymentRequestId
    (its page's, not ours), the wallet and masked customer, and the scenario."""
    keep = {"paymentRequestId": body.get("paymentRequestId"), "scenario": scenario_of(body)}
    info = body.get("pspCustomerInfo")
    if isinstance(info, dict):
        keep["pspCustomerInfo"] = {k: info.get(k) for k in ("pspName", "displayCustomerId") if k in info}
    return keep
