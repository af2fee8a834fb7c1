"""The counter's flow around a sale: enter an amount, pick a tender, take a scan, see the outcome.

Pure, like the payment flow, so the rules a cashier relies on are tested without a screen:
- a payment code is taken only while a payment waits for one (never "just in case": a stray scan must
  not start a charge);
- a product barcode is ignored, with a hint;
- Esc leaves the wait for a code, or aborts a running sale where that is safe; a finished sale stays on
  screen until the cashier starts the next one;
- every outcome empties the amount: a second charge needs an amount typed again (two keys on the PAID
  screen must not charge the same customer twice);
- a payment code is never kept in the description (it would go to the gateway, the journal and the
  reports in clear): keys go to the amount, the description only when the cashier tapped it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .errors import PosError
from .i18n import N_, _
from .money import Money, parse_money
from .scan import PAYMENT_CODE, PRODUCT, Scan, classify
from .vocabulary import CANCEL, FAILED, REFUND, SUCCESS, status_words

ENTRY, AWAITING_CODE, RUNNING, OUTCOME = "entry", "awaiting_code", "running", "outcome"
MAX_WHOLE_DIGITS = 9   # the amount's digits before the point: more than any sale at a counter


@dataclass(frozen=True)
class Counter:
    stage: str = ENTRY
    amount: Money | None = None   # the payment's amount: awaited, running, or its outcome on screen
    sale_id: str | None = None
    hint: str = ""
    entry: str = ""               # the amount typed for the next payment, as typed ("12.5"); "" at an outcome


# Actions for the shell to carry out.
@dataclass(frozen=True)
class StartSale:
    amount: Money
    code: str | None = None       # None: the order-code tender (or the entry code's)
    description: str = ""
    entry_code: bool = False      # the store's static entry code: nothing is sent, a matching payment is awaited


@dataclass(frozen=True)
class AbortSale:
    sale_id: str


# -- the amount ---------------------------------------------------------------------------------------
def edit(text: str, key: str, exponent: int) -> str:
    """The amount's text after one key: a digit, "." (or ","), "⌫" (backspace) or "C" (clear). A key
    that would make it no amount of this currency (a second point, a digit past the minor unit, a
    point in a currency without one) leaves it as it was."""
    if key == "C":
        return ""
    if key == "⌫":
        return text[:-1]
    if key in ".,":
        return (text or "0") + "." if "." not in text and exponent > 0 else text
    if len(key) == 1 and key.isascii() and key.isdigit():
        whole, dot, frac = text.partition(".")
        if dot and len(frac) >= exponent:
            return text
        if not dot and len(whole) >= MAX_WHOLE_DIGITS:
            return text
        return ("" if text == "0" else text) + key
    return text


def type_key(counter: Counter, key: str, exponent: int) -> Counter:
    """A key for the amount. Ignored while a payment runs; on an outcome's screen it starts the next sale;
    while a code is awaited, changing the amount stops the wait (the customer was asked for another)."""
    if counter.stage == RUNNING:
        return counter
    if counter.stage == OUTCOME:
        counter = next_sale(counter)
    text = edit(counter.entry, key, exponent)
    if text == counter.entry:
        return counter
    if counter.stage == AWAITING_CODE:
        return Counter(ENTRY, hint=_("Amount changed: press Scan customer's code again."), entry=text)
    return replace(counter, entry=text)


def entry_amount(counter: Counter, currency: str) -> Money | None:
    """The typed amount in ``currency``, or None while there is none (nothing typed, or not an amount)."""
    if not counter.entry:
        return None
    try:
        return parse_money(counter.entry, currency)
    except (ValueError, PosError):   # parse_money says why; here it is simply no amount yet
        return None


# -- tenders and scans ------------------------------------------------------------------------------
def _needs_amount(counter: Counter, amount: Money | None) -> str | None:
    """Why no tender can start now (the hint), or None when one can."""
    if counter.stage == RUNNING:
        return _("Finish the current payment first.")
    if counter.stage == OUTCOME:   # its amount was for that customer: the next sale's is typed again
        return _("Enter the amount of the next sale first.")
    if amount is None or amount.minor <= 0:
        return _("Enter the amount first.")
    return None


def scan_tender(counter: Counter, amount: Money | None) -> tuple[Counter, object]:
    """F1: wait for the customer's payment code. Pressed again while waiting, it says what it waits for."""
    if counter.stage == AWAITING_CODE:
        return replace(counter, hint=_("Already waiting for the customer's code: scan it, or type it and "
                                       "press Enter. Esc: stop waiting.")), None
    why = _needs_amount(counter, amount)
    if why is not None or amount is None:
        return replace(counter, hint=why or ""), None
    return Counter(AWAITING_CODE, amount, entry=counter.entry), None  # the panel says "Scan the customer's…"


def _tender_amount(counter: Counter, amount: Money | None) -> tuple[Money | None, str | None]:
    """The amount a tender key takes, or why none: while a code is awaited, the amount the customer was just
    asked for (F2 or F3 instead of the scan); otherwise the one typed, if it can be taken."""
    if counter.stage == AWAITING_CODE:
        return counter.amount, None
    return amount, _needs_amount(counter, amount)


def qr_tender(counter: Counter, amount: Money | None, description: str = "") -> tuple[Counter, object]:
    """F2: show an order code for the customer to scan (also instead of a code that is awaited)."""
    amount, why = _tender_amount(counter, amount)
    if why is not None or amount is None:
        return replace(counter, hint=why or ""), None
    return (Counter(RUNNING, amount, hint=_("Creating the QR code…"), entry=counter.entry),
            StartSale(amount, None, without_payment_codes(description)))


def entry_tender(counter: Counter, amount: Money | None, description: str = "", *,
                 configured: bool) -> tuple[Counter, object]:
    """F3: wait for the customer to pay ``amount`` through the store's static entry code (also instead of a
    code that is awaited). Without an entry code in the config it says so and starts nothing."""
    if not configured:
        return replace(counter, hint=_(NO_ENTRY_CODE)), None
    amount, why = _tender_amount(counter, amount)
    if why is not None or amount is None:
        return replace(counter, hint=why or ""), None
    return (Counter(RUNNING, amount, hint=_("Showing the store's entry code…"), entry=counter.entry),
            StartSale(amount, None, without_payment_codes(description), entry_code=True))


NO_ENTRY_CODE = N_("No entry code is set up on this terminal: the acquirer issues the store's code, and it goes in "
                   "[entry_code] code in the config.")


def on_scan(counter: Counter, scan: Scan, description: str = "") -> tuple[Counter, object]:
    if scan.kind == PRODUCT:
        return replace(counter, hint=_("That is a product barcode ({symbology}): this terminal takes payments "
                                       "only. Scan the code in the customer's wallet app.").format(
            symbology=scan.symbology)), None
    if scan.kind != PAYMENT_CODE:
        return replace(counter, hint=_("Not a payment code ({reason}). Ask the customer to show the payment "
                                       "code in their wallet app.").format(reason=scan.reason)), None
    if counter.stage == AWAITING_CODE and counter.amount is not None:  # scan_tender sets both together
        return (Counter(RUNNING, counter.amount, hint=_("Sending the payment…"), entry=counter.entry),
                StartSale(counter.amount, scan.value, without_payment_codes(description)))
    if counter.stage == RUNNING:
        return replace(counter, hint=_("A payment is in progress; that scan was ignored.")), None
    return replace(counter, hint=_("A payment code was scanned, but no payment is waiting for one: enter the "
                                   "amount and press Scan customer's code, then scan again.")), None


def started(counter: Counter, sale_id: str) -> Counter:
    """The sale asked for has its id (journaled). Only a counter still running a sale without an id takes it:
    the use case's answer can arrive after the sale's outcome was shown and the cashier moved on (a loaded
    till), and must not pull that outcome back over the next sale's amount."""
    if counter.stage != RUNNING or counter.sale_id not in (None, sale_id):
        return counter
    return replace(counter, sale_id=sale_id, hint="")


def failed_to_start(counter: Counter, message: str) -> Counter:
    """The sale was refused before anything was sent (e.g. another sale is still being settled): nothing
    was charged, so the amount stays for another try."""
    return Counter(ENTRY, counter.amount, hint=message, entry=counter.entry)


def finished(counter: Counter, sale_id: str) -> Counter:
    """The sale's outcome is on screen; the amount is emptied so that no key charges it again."""
    if counter.sale_id != sale_id:
        return counter
    return replace(counter, stage=OUTCOME, hint="", entry="")


def escape(counter: Counter, can_abort: bool) -> tuple[Counter, object]:
    if counter.stage == AWAITING_CODE:
        return Counter(ENTRY, counter.amount, hint=_("No longer waiting for a code."), entry=counter.entry), None
    if counter.stage == RUNNING and counter.sale_id and can_abort:
        return replace(counter, hint=_("Cancelling…")), AbortSale(counter.sale_id)
    if counter.stage == RUNNING:
        return replace(counter, hint=_("This payment cannot be stopped now; wait for its outcome.")), None
    return counter, None


def next_sale(counter: Counter) -> Counter:
    if counter.stage == RUNNING:
        return counter
    return Counter()


def with_hint(counter: Counter, hint: str) -> Counter:
    return replace(counter, hint=hint)


def clock_restarts(before: Counter, after: Counter) -> bool:
    """The "waiting … s" clock counts one payment's whole wait: it starts when the payment starts, and
    nothing while it runs (a new phase, a new answer from the gateway) starts it again."""
    return after.stage == RUNNING and before.stage != RUNNING


# -- where a key goes -------------------------------------------------------------------------------
CODE, DESCRIPTION, AMOUNT, NOWHERE = "code", "description", "amount", "nowhere"


def route(stage: str, description_focused: bool, char: str) -> str:
    """Where a typed character goes. While a code is awaited, to the code (a scanner's or the cashier's);
    into the description only when the cashier tapped it (the window holds the characters back until it
    knows they are not a scanner's burst); otherwise the amount owns the keyboard: digits and the point
    edit it, anything else goes nowhere (a scanner's burst is still recognised and taken back)."""
    if stage == AWAITING_CODE:
        return CODE
    if description_focused and stage == ENTRY:
        return DESCRIPTION
    if stage != RUNNING and len(char) == 1 and char.isascii() and (char.isdigit() or char in ".,"):
        return AMOUNT
    return NOWHERE


# -- the description --------------------------------------------------------------------------------
_DIGIT_RUN = re.compile(r"\d(?:[\d \-]*\d)?")


def _is_payment_code(digits: str) -> bool:
    return classify(digits).kind == PAYMENT_CODE


def without_payment_codes(text: str) -> str:
    """The description without anything the classifier calls a payment code: every run of digits (spaces
    and hyphens between them included) that is one, whole or without its separators, is cut out."""
    def cut(match: re.Match) -> str:
        run = match.group(0)
        parts = [run.replace(" ", "").replace("-", ""), *re.findall(r"\d+", run)]
        return "" if any(_is_payment_code(p) for p in parts) else run
    return _DIGIT_RUN.sub(cut, text)


def carries_payment_code(text: str) -> bool:
    return without_payment_codes(text) != text


# -- the recent list --------------------------------------------------------------------------------
_FOLLOWUP_WORDS = {(REFUND, SUCCESS): N_("Refunded"), (REFUND, FAILED): N_("Refund failed"),
                   (CANCEL, SUCCESS): N_("Cancelled"), (CANCEL, FAILED): N_("Cancel failed")}


def result_words(kind: str, status: str, result_code: str | None = None) -> str:
    """The Result column of the cashier's recent list (untranslated): a refund or a cancel says what it did,
    never "Paid"; a sale the wallet declined says "Declined", as its outcome screen did."""
    return _FOLLOWUP_WORDS.get((kind, status)) or status_words(kind, status, result_code)


# -- the print key (F4) ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrintReceipt:
    txn: str           # the sale (or refund, cancel) whose slip is printed
    again: bool        # a slip that failed, printed again


def print_key(*, printer: bool, last_paid: str | None, failed: str | None) -> tuple[PrintReceipt | None, str]:
    """F4: what it prints, and the hint that says so. A slip that failed comes first (it is owed to a
    customer); then the last paid sale's receipt (the first print of it in "key" mode, a reprint marked so
    once one was printed, as in "auto" mode)."""
    if not printer:
        return None, _("No receipt printer is set up: nothing to print on.")
    if failed is not None:
        return PrintReceipt(failed, True), _("Printing the receipt that did not print…")
    if last_paid is not None:
        return PrintReceipt(last_paid, False), _("Printing the receipt…")
    return None, _("No paid sale to print a receipt for yet.")


def print_key_label(*, printer: bool, mode: str, failed: bool) -> str:
    """The F4 button's words: what the key does now (``mode`` is ``[receipts] customer``)."""
    if not printer:
        return _("F4  Receipt: no printer")
    if failed:
        return _("F4  Print the receipt again")
    return _("F4  Print receipt") if mode == "key" else _("F4  Reprint receipt")


def assignable(items: list[dict], sale_id: str | None) -> dict | None:
    """The unmatched entry-code payment F5 would make the sale ``sale_id``'s payment: the oldest one the
    terminal offers to that sale (same money, paid within its window), or None."""
    if sale_id is None:
        return None
    return next((item for item in items if sale_id in item.get("waiting", ())), None)
