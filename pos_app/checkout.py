"""The counter's flow around a sale: enter an amount, pick a tender, take a scan, see the outcome.

Pure, like the payment flow, so the rules a cashier relies on are tested without a screen:
- a payment code is taken only while a payment waits for one (never "just in case": a stray scan must
  not start a charge);
- a product barcode is ignored, with a hint;
- Esc leaves the wait for a code, or aborts a running sale where that is safe; a finished sale stays on
  screen until the cashier starts the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .i18n import _
from .money import Money
from .scan import PAYMENT_CODE, PRODUCT, Scan

ENTRY, AWAITING_CODE, RUNNING, OUTCOME = "entry", "awaiting_code", "running", "outcome"


@dataclass(frozen=True)
class Counter:
    stage: str = ENTRY
    amount: Money | None = None
    sale_id: str | None = None
    hint: str = ""


# Actions for the shell to carry out.
@dataclass(frozen=True)
class StartSale:
    amount: Money
    code: str | None = None       # None: the order-code tender
    description: str = ""


@dataclass(frozen=True)
class AbortSale:
    sale_id: str


def scan_tender(counter: Counter, amount: Money | None) -> tuple[Counter, object]:
    """F1: wait for the customer's payment code."""
    if counter.stage not in (ENTRY, OUTCOME):
        return replace(counter, hint=_("Finish the current payment first.")), None
    if amount is None or amount.minor <= 0:
        return replace(counter, hint=_("Enter the amount first.")), None
    return Counter(AWAITING_CODE, amount), None  # the status panel says "Scan the customer's payment code"


def qr_tender(counter: Counter, amount: Money | None, description: str = "") -> tuple[Counter, object]:
    """F2: show an order code for the customer to scan."""
    if counter.stage not in (ENTRY, OUTCOME, AWAITING_CODE):
        return replace(counter, hint=_("Finish the current payment first.")), None
    if amount is None or amount.minor <= 0:
        return replace(counter, hint=_("Enter the amount first.")), None
    return Counter(RUNNING, amount, hint=_("Creating the QR code…")), StartSale(amount, None, description)


def on_scan(counter: Counter, scan: Scan, description: str = "") -> tuple[Counter, object]:
    if scan.kind == PRODUCT:
        return replace(counter, hint=_("That is a product barcode ({symbology}): this terminal takes payments "
                                       "only. Scan the code in the customer's wallet app.").format(
            symbology=scan.symbology)), None
    if scan.kind != PAYMENT_CODE:
        return replace(counter, hint=_("Not a payment code ({reason}). Ask the customer to show the payment "
                                       "code in their wallet app.").format(reason=scan.reason)), None
    if counter.stage == AWAITING_CODE and counter.amount is not None:  # scan_tender sets both together
        return (Counter(RUNNING, counter.amount, hint=_("Sending the payment…")),
                StartSale(counter.amount, scan.value, description))
    if counter.stage == RUNNING:
        return replace(counter, hint=_("A payment is in progress; that scan was ignored.")), None
    return replace(counter, hint=_("A payment code was scanned, but no payment is waiting for one: enter the "
                                   "amount and press Scan customer's code, then scan again.")), None


def started(counter: Counter, sale_id: str) -> Counter:
    return replace(counter, sale_id=sale_id, hint="")


def failed_to_start(counter: Counter, message: str) -> Counter:
    """The sale was refused before anything was sent (e.g. another sale is still being settled)."""
    return Counter(ENTRY, counter.amount, hint=message)


def finished(counter: Counter, sale_id: str) -> Counter:
    if counter.sale_id != sale_id:
        return counter
    return replace(counter, stage=OUTCOME, hint="")


def escape(counter: Counter, can_abort: bool) -> tuple[Counter, object]:
    if counter.stage == AWAITING_CODE:
        return Counter(ENTRY, counter.amount, hint=_("No longer waiting for a code.")), None
    if counter.stage == RUNNING and counter.sale_id and can_abort:
        return replace(counter, hint=_("Cancelling…")), AbortSale(counter.sale_id)
    if counter.stage == RUNNING:
        return replace(counter, hint=_("This payment cannot be stopped now; wait for its outcome.")), None
    return counter, None


def next_sale(counter: Counter) -> Counter:
    if counter.stage == RUNNING:
        return counter
    return Counter()
