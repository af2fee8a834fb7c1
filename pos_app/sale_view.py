"""What a person is shown of a sale: the cashier's words and the customer's screen. Pure, no Qt.

The one rule that matters here: nothing says "paid" unless the gateway confirmed it (or the merchant
chose to accept the risk of an offline sale, and then it says so). Everything else says what is
happening, what it waits for and what to do next. The customer's view is sanitized by construction:
an amount, a QR payload, an expiry and a plain result, never a staff hint or an internal code.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import payment_flow as pf
from .i18n import N_, _
from .money import Money
from .vocabulary import (
    ABORTABLE,
    CANCELLED,
    FAILED,
    NEEDS_REVIEW,
    NEXT_STEP,
    OPEN,
    SALE_PHASE_WORDS,
    STOPPING_WORDS,
    SUCCESS,
    UNKNOWN,
)
from .vocabulary import QUEUED as QUEUED_STATUS

# Tones: how the cashier's outcome panel is coloured.
WORKING, PAID, DECLINED, UNSURE, QUEUED = "working", "paid", "declined", "unsure", "queued"

@dataclass(frozen=True)
class CashierView:
    tone: str
    headline: str
    detail: str
    next_step: str
    waiting_for: str     # what the wait is on: the gateway, the customer, the network ("" when final)
    can_abort: bool
    final: bool
    hand_over: bool      # the one thing that allows handing over the goods


@dataclass(frozen=True)
class CustomerView:
    mode: str                        # "amount" | "qr" | "result"
    amount: Money
    qr: str | None = None
    expires_at: float | None = None
    result: str | None = None        # "paid" | "not_paid" | "checking"
    message: str = ""


def cashier_view(sale: pf.Sale) -> CashierView:
    status = sale.status
    if sale.status in OPEN and not (sale.accepted_at_risk and sale.phase is pf.Phase.NEW):
        words, on = SALE_PHASE_WORDS[sale.phase]
        headline = _(words)
        stopping = stopping_words(sale)
        if stopping is not None:  # the cashier stopped it: say what the stop is waiting on, not "cancelled"
            detail = "" if sale.phase is pf.Phase.CANCELLING else _("Not paid yet: the outcome is not known.")
            return CashierView(UNSURE, _(stopping), detail, _(NEXT_STEP[UNKNOWN]), _(on), False, False, False)
        if customer_confirming(sale):  # the wallet asked the customer for a password or a tap
            return CashierView(WORKING, _("Waiting for the customer to confirm in the wallet"),
                               _("The customer's wallet asks them to confirm the payment."),
                               _(NEXT_STEP[UNKNOWN]), _("the customer"), True, False, False)
        if sale.phase is pf.Phase.INQUIRING and sale.inquiries:
            headline = _("Checking the result with the gateway (check {n})").format(n=sale.inquiries + 1)
        tone = QUEUED if sale.phase is pf.Phase.NEW else (UNSURE if sale.phase in (
            pf.Phase.INQUIRING, pf.Phase.CANCELLING) else WORKING)
        detail = _("Not paid yet: the outcome is not known.") if tone == UNSURE else (
            _("The QR is on the customer display.") if sale.phase is pf.Phase.WAITING else "")
        return CashierView(tone, headline, detail, _(NEXT_STEP[QUEUED_STATUS if tone == QUEUED else UNKNOWN]),
                           _(on), sale.phase in ABORTABLE and not sale.aborted, False, False)
    if sale.accepted_at_risk and sale.phase is pf.Phase.NEW:
        return CashierView(QUEUED, _("Accepted offline, at the merchant's risk"),
                           _("The gateway has not seen it yet; it is sent when the link is back."),
                           _("You may hand over the goods (store policy for offline sales)."),
                           _("the network"), False, False, True)
    if status == SUCCESS:
        return CashierView(PAID, _("PAID"), "", _(NEXT_STEP[SUCCESS]), "", False, True, True)
    if status == NEEDS_REVIEW:
        return CashierView(UNSURE, _("NOT SURE: needs a manager"), _reason(sale), _(NEXT_STEP[NEEDS_REVIEW]),
                           "", False, True, False)
    if status == CANCELLED:
        return CashierView(DECLINED, _("CANCELLED"), _reason(sale), _(NEXT_STEP[CANCELLED]), "", False, True,
                           False)
    return CashierView(DECLINED, _("NOT PAID"), _reason(sale), _(NEXT_STEP[FAILED]), "", False, True, False)


def stopping_words(sale: pf.Sale) -> str | None:
    """What a stopped sale is doing while the stop waits on the pay's outcome (untranslated), or None when
    its phase's own words are true: not stopped, final, or plainly being cancelled or reviewed."""
    if not sale.aborted or sale.final:
        return None
    if sale.phase is pf.Phase.CANCELLING and sale.gateway_status != "SUCCESS":
        return None
    return STOPPING_WORDS.get(sale.phase)


def customer_confirming(sale: pf.Sale) -> bool:
    """The wallet asks the customer to confirm (not after a stop: nobody should confirm it now)."""
    return sale.phase is pf.Phase.INQUIRING and not sale.aborted and (
        sale.gateway_status == "PROCESSING" or sale.result_code in ("PAYMENT_IN_PROCESS", "USER_PAYING"))


def _reason(sale: pf.Sale) -> str:
    """The gateway's reason in words a cashier can act on, with its code for a support call."""
    words = {
        "USER_BALANCE_NOT_ENOUGH": N_("The customer's balance is not enough."),
        "PAYMENT_CODE_EXPIRED": N_("The customer's code has expired: ask them to refresh it."),
        "INVALID_CODE": N_("The code is not valid: ask the customer to show their payment code again."),
        "USER_PAYMENT_VERIFICATION_FAILED": N_("The customer did not confirm the payment in time."),
        "ORDER_IS_CLOSED": N_("The payment was closed before it was paid."),
        "RISK_REJECT": N_("The wallet refused this payment."),
        "USER_NOT_EXIST": N_("The wallet does not know this customer."),
        "NOT_SENT": N_("The payment never reached the gateway; nothing was charged."),
    }.get(sale.result_code)
    text = _(words) if words else (sale.message or _("No reason given."))
    return f"{text} ({sale.result_code})" if sale.result_code else text


def customer_view(sale: pf.Sale) -> CustomerView:
    amount = Money(sale.amount, sale.currency)
    if sale.status == SUCCESS or (sale.accepted_at_risk and sale.phase is pf.Phase.NEW):
        return CustomerView("result", amount, result="paid", message=_("Thank you! Payment received."))
    if sale.final or sale.status == NEEDS_REVIEW:
        return CustomerView("result", amount, result="not_paid", message=_("The payment did not go through."))
    if sale.aborted:  # stopped: the outcome is being settled, and the customer is not asked for anything
        return CustomerView("result", amount, result="checking", message=_("Checking your payment, please wait"))
    if sale.phase is pf.Phase.WAITING and sale.code_value:
        return CustomerView("qr", amount, qr=sale.code_value, expires_at=sale.code_expires_at,
                            message=_("Scan with your wallet app to pay"))
    if customer_confirming(sale):
        return CustomerView("result", amount, result="checking", message=_("Please confirm the payment in your wallet"))
    if sale.phase in (pf.Phase.INQUIRING, pf.Phase.CANCELLING):
        return CustomerView("result", amount, result="checking", message=_("Checking your payment, please wait"))
    return CustomerView("amount", amount, message=_("Amount due"))
