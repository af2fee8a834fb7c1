"""What a person is shown of a sale: the cashier's words and the customer's screen. Pure, no Qt.

The one rule that matters here: nothing says "paid" unless the gateway confirmed it (or the merchant
chose to accept the risk of an offline sale, and then it says so). Everything else says what is
happening, what it waits for and what to do next. The customer's view is sanitized by construction:
an amount, a QR payload, an expiry and a plain result, never a staff hint or an internal code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import payment_flow as pf
from .i18n import _, stored
from .money import Money
from .vocabulary import (
    ABORTABLE,
    CANCELLED,
    CONFIRMING_WORDS,
    DECLINE_CODES,
    ENTRY_CODE_WAITING,
    FAILED,
    HTTP_TROUBLE,
    NEEDS_REVIEW,
    NEXT_STEP,
    NEXT_STEP_DECLINED,
    NEXT_STEP_MONEY_BACK,
    NEXT_STEP_NOT_CHARGED,
    NEXT_STEP_OFFLINE,
    NEXT_STEP_PATH,
    NEXT_STEP_WAIT_OR_STOP,
    NO_ANSWER,
    OFFLINE,
    OPEN,
    PATH_TROUBLE_WORDS,
    RESULT_WORDS,
    SALE_PHASE_WORDS,
    STOPPING_WORDS,
    SUCCESS,
    TROUBLE_WORDS,
    UNKNOWN,
    split_path_trouble,
)

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
    void_at: float | None = None   # a queued pay is voided then (the terminal's clock) unless the link is back
    hop: bool = False              # a hop (the proxy, TLS) refuses it, not the link: the countdown says so


@dataclass(frozen=True)
class CustomerView:
    mode: str                        # "amount" | "qr" | "entry_code" | "result"
    amount: Money
    qr: str | None = None
    expires_at: float | None = None
    result: str | None = None        # "paid" | "not_paid" | "checking"
    message: str = ""


def cashier_view(sale: pf.Sale) -> CashierView:
    status = sale.status
    if sale.status in OPEN and not (sale.accepted_at_risk and sale.phase is pf.Phase.NEW):
        return _open_view(sale)
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
        return _cancelled_view(sale)
    hop = split_path_trouble(sale.trouble) if sale.result_code == "NOT_SENT" else None
    if hop is not None:  # voided while the proxy or TLS refused it: which hop, and who fixes it
        head, fix = PATH_TROUBLE_WORDS[hop[0]]
        detail = _("{what}, so the payment was never sent: nothing was charged.").format(what=_(head))
        return CashierView(DECLINED, _("NOT PAID"), _join(detail, _(fix).format(setting=hop[1])),
                           _(NEXT_STEP_PATH), "", False, True, False)
    declined = sale.result_code in DECLINE_CODES
    step = NEXT_STEP_DECLINED if declined else NEXT_STEP_OFFLINE if sale.result_code == "NOT_SENT" else \
        NEXT_STEP[FAILED]
    return CashierView(DECLINED, _("DECLINED") if declined else _("NOT PAID"), _reason(sale), _(step), "", False,
                       True, False)


def _open_view(sale: pf.Sale) -> CashierView:
    """A sale still moving: what it does, what it waits on, and, when the link or the gateway fails it, that."""
    words, on = SALE_PHASE_WORDS[sale.phase]
    hop = split_path_trouble(sale.trouble)   # the proxy or TLS refuses the calls: said as that hop, not the link
    offline = sale.trouble == OFFLINE or hop is not None
    unknown = _("Not paid yet: the outcome is not known.")
    link_down = _("The link to the gateway is down: it goes on when the link is back.") if hop is None else \
        _("{what}. {fix}").format(what=_(PATH_TROUBLE_WORDS[hop[0]][0]),
                                  fix=_(PATH_TROUBLE_WORDS[hop[0]][1]).format(setting=hop[1]))
    abortable = sale.phase in ABORTABLE and not sale.aborted
    stopping = stopping_words(sale)
    if stopping is not None:  # the cashier stopped it: say what the stop is waiting on, not "cancelled"
        detail = "" if sale.phase is pf.Phase.CANCELLING else unknown
        if offline:
            detail, on = _join(detail, link_down), "the network"
        return CashierView(UNSURE, _(stopping), detail, _(NEXT_STEP[UNKNOWN]), _(on), False, False, False)
    if sale.phase is pf.Phase.NEW and hop is not None:  # not the link: a hop that will not heal by waiting
        head, fix = PATH_TROUBLE_WORDS[hop[0]]
        return CashierView(QUEUED, _("Queued. {what}").format(what=_(head)),
                           _join(_("Not sent yet: nothing is charged."), _(fix).format(setting=hop[1])),
                           _(NEXT_STEP_WAIT_OR_STOP), _("the network"), abortable, False, False, void_at=sale.deadline,
                           hop=True)
    if hop is not None and sale.phase in (pf.Phase.WAITING, pf.Phase.INQUIRING):
        head, fix = PATH_TROUBLE_WORDS[hop[0]]
        return CashierView(UNSURE, _(head), _join(_("Not paid yet: the outcome is not known."),
                                                  _(fix).format(setting=hop[1])),
                           _(NEXT_STEP_WAIT_OR_STOP), _("the network"), abortable, False, False)
    if sale.phase is pf.Phase.NEW:
        return CashierView(QUEUED, _(words), _("Not sent yet: nothing is charged. It goes out as soon as the link is "
                                              "back."), _(NEXT_STEP_WAIT_OR_STOP), _(on), abortable, False, False,
                           void_at=sale.deadline)
    if sale.phase is pf.Phase.CANCELLING:
        headline = _(CONFIRMING_WORDS) if sale.cancel_done else _(words)
        if offline:
            return CashierView(UNSURE, headline, _join(unknown, link_down), _(NEXT_STEP[UNKNOWN]), _("the network"),
                               False, False, False)
        return CashierView(UNSURE, headline, unknown, _(NEXT_STEP[UNKNOWN]), _(on), False, False, False)
    if offline and sale.phase in (pf.Phase.WAITING, pf.Phase.INQUIRING):  # said at once, not "waiting for ..."
        detail = _("Not paid yet: the QR still works, and the outcome is known when the link is back.") \
            if sale.phase is pf.Phase.WAITING else _("Not paid yet: the outcome is checked when the link is back.")
        return CashierView(UNSURE, _(TROUBLE_WORDS[OFFLINE]), detail, _(NEXT_STEP_WAIT_OR_STOP), _("the network"),
                           abortable, False, False)
    # The gateway failing: its last answer (a 503, none in time), or, while the pay's outcome is checked, the
    # pay's own; unless the gateway has since said the customer is confirming.
    fault = sale.trouble if sale.phase in (pf.Phase.WAITING, pf.Phase.INQUIRING) else ""
    if not fault and sale.phase is pf.Phase.INQUIRING and not customer_confirming(sale):
        fault = sale.pay_trouble
    if fault:
        return CashierView(UNSURE, trouble_words(fault), unknown, _(NEXT_STEP_WAIT_OR_STOP), _(on), abortable,
                           False, False)
    if customer_confirming(sale):  # the wallet asked the customer for a password or a tap
        return CashierView(WORKING, _("Waiting for the customer to confirm in the wallet"),
                           _("The customer's wallet asks them to confirm the payment."),
                           _(NEXT_STEP[UNKNOWN]), _("the customer"), True, False, False)
    headline = _(words)
    if sale.phase is pf.Phase.WAITING and sale.tender == pf.ENTRY_CODE:
        headline = _(ENTRY_CODE_WAITING)
    if sale.phase is pf.Phase.INQUIRING and sale.inquiries:
        headline = _("Checking the result with the gateway (check {n})").format(n=sale.inquiries + 1)
    tone = UNSURE if sale.phase is pf.Phase.INQUIRING else WORKING
    detail = unknown if tone == UNSURE else (
        _("The store's entry code is on the customer display: the customer scans it and enters {amount}.").format(
            amount=Money(sale.amount, sale.currency)) if sale.phase is pf.Phase.WAITING and sale.tender == pf.ENTRY_CODE
        else _("The QR is on the customer display.") if sale.phase is pf.Phase.WAITING else "")
    return CashierView(tone, headline, detail, _(NEXT_STEP[UNKNOWN]), _(on), abortable, False, False)


def trouble_words(trouble: str) -> str:
    """The cashier's words for a call that brought no verified answer (``Sale.trouble``), translated."""
    if trouble.startswith("HTTP "):
        return _(TROUBLE_WORDS[HTTP_TROUBLE]).format(status=trouble.removeprefix("HTTP "))
    return _(TROUBLE_WORDS.get(trouble, TROUBLE_WORDS[NO_ANSWER]))


def _cancelled_view(sale: pf.Sale) -> CashierView:
    """A cancelled sale says what the gateway proved about the money, and nothing it did not: "not charged"
    only when it proved nothing was ever charged (``Sale.charged`` False); "the money goes back" when it had
    said paid; otherwise that it is closed, and what happens if the wallet shows a charge."""
    why = ""
    if sale.aborted:
        why = _("Stopped at the till.")
    elif sale.pay_trouble:
        fault = sale.pay_trouble if sale.pay_trouble.startswith("HTTP ") else _("no clear answer")
        why = _("The gateway failed ({fault}), so the payment was cancelled.").format(fault=fault)
    elif sale.cancel_since is not None and not sale.charged:
        why = _("The QR was not paid in time, so the payment was cancelled.") if sale.tender == pf.ORDER_CODE \
            else _("The customer did not confirm in time, so the payment was cancelled.")
    if sale.charged is False:
        return CashierView(DECLINED, _("NOT CHARGED"),
                           _join(why, _("The gateway confirms that nothing was charged.")),
                           _(NEXT_STEP_NOT_CHARGED), "", False, True, False)
    if sale.charged:
        return CashierView(DECLINED, _("CANCELLED"),
                           _join(why, _("It was paid, then cancelled: the money goes back to the customer in full.")),
                           _(NEXT_STEP_MONEY_BACK), "", False, True, False)
    return CashierView(DECLINED, _("CANCELLED"),
                       _join(why, _("The gateway closed the payment. If the customer's wallet shows a charge, it "
                                    "goes back in full.")), _(NEXT_STEP[CANCELLED]), "", False, True, False)


def waiting_line(view: CashierView, seconds: int, now: float) -> str:
    """The line under an open sale's words: what it waits on and for how long and, for a queued pay, the time
    left before it is voided (``now`` on the terminal's clock, as ``void_at``)."""
    line = _("Waiting for {what} · {seconds} s").format(what=view.waiting_for, seconds=seconds)
    if view.void_at is None:
        return line
    left = max(0, math.ceil(view.void_at - now))
    if view.hop:
        return line + " · " + _("voided in {seconds} s unless the way to the gateway opens").format(seconds=left)
    return line + " · " + _("voided in {seconds} s unless the link is back").format(seconds=left)


FULL_STOPS = ("\u3002", "\uff1a", "\uff01", "\uff1f")  # Chinese stops: no space after


def _join(*parts: str) -> str:
    """Sentences one after the other: a space after a Latin full stop, none after a Chinese one ("。 请" reads
    as a stray gap)."""
    joined = ""
    for part in (p for p in parts if p):
        joined += part if not joined or joined.endswith(FULL_STOPS) else " " + part
    return joined


def stopping_words(sale: pf.Sale) -> str | None:
    """What a stopped sale is doing while the stop waits on the pay's outcome (untranslated), or None when
    its phase's own words are true: not stopped, final, or plainly being cancelled or reviewed."""
    if not sale.aborted or sale.final:
        return None
    if sale.phase is pf.Phase.CANCELLING and (sale.gateway_status != "SUCCESS" or sale.cancel_done):
        return None
    return STOPPING_WORDS.get(sale.phase)


def customer_confirming(sale: pf.Sale) -> bool:
    """The wallet asks the customer to confirm (not after a stop: nobody should confirm it now)."""
    return sale.phase is pf.Phase.INQUIRING and not sale.aborted and (
        sale.gateway_status == "PROCESSING" or sale.result_code in ("PAYMENT_IN_PROCESS", "USER_PAYING"))


def _reason(sale: pf.Sale) -> str:
    """The gateway's reason in words a cashier can act on, with its code for a support call."""
    words = RESULT_WORDS.get(sale.result_code)
    text = _(words) if words else (stored(sale.message) or _("No reason given."))
    return f"{text} ({sale.result_code})" if sale.result_code else text


def customer_view(sale: pf.Sale) -> CustomerView:
    """What the customer sees: never a staff hint or a code. "Not charged" only when it is proven: a failed
    or never-sent payment, or a cancelled one the gateway confirmed was never charged."""
    amount = Money(sale.amount, sale.currency)
    if sale.status == SUCCESS or (sale.accepted_at_risk and sale.phase is pf.Phase.NEW):
        return CustomerView("result", amount, result="paid", message=_("Thank you! Payment received."))
    if sale.status == NEEDS_REVIEW:
        return CustomerView("result", amount, result="not_paid",
                            message=_("The payment is not confirmed: the staff will check it with you."))
    if sale.status == CANCELLED:
        message = _("The payment was cancelled. If your wallet shows a charge, it goes back in full.") \
            if sale.charged is None else _("The payment was cancelled: the money goes back to your wallet.") \
            if sale.charged else _("The payment was cancelled. You have not been charged.")
        return CustomerView("result", amount, result="not_paid", message=message)
    if sale.final:
        return CustomerView("result", amount, result="not_paid",
                            message=_("The payment did not go through.") if sale.charged else
                            _("The payment did not go through. You have not been charged."))
    if sale.aborted:  # stopped: the outcome is being settled, and the customer is not asked for anything
        return CustomerView("result", amount, result="checking", message=_("Checking your payment, please wait"))
    if sale.phase is pf.Phase.WAITING and sale.code_value and sale.tender == pf.ENTRY_CODE:
        # The store's static code: the customer types the amount in the wallet, so the screen says which.
        return CustomerView("entry_code", amount, qr=sale.code_value,
                            message=_("Scan with your wallet app and enter {amount}").format(amount=amount))
    if sale.phase is pf.Phase.WAITING and sale.code_value:
        return CustomerView("qr", amount, qr=sale.code_value, expires_at=sale.code_expires_at,
                            message=_("Scan with your wallet app to pay"))
    if customer_confirming(sale):
        return CustomerView("result", amount, result="checking", message=_("Please confirm the payment in your wallet"))
    if sale.phase in (pf.Phase.INQUIRING, pf.Phase.CANCELLING):
        return CustomerView("result", amount, result="checking", message=_("Checking your payment, please wait"))
    return CustomerView("amount", amount, message=_("Amount due"))


# -- entry-code payments nobody waited for (the cashier's notice) ----------------------------------------
def wallet_of(events: list[dict]) -> str | None:
    """The wallet that paid (``pspCustomerInfo.pspName`` of the newest event that names one), for words."""
    for event in reversed(events):
        detail = event.get("detail")
        if not isinstance(detail, dict):
            continue
        info = detail.get("pspCustomerInfo")
        name = info.get("pspName") if isinstance(info, dict) else detail.get("pspName")
        if isinstance(name, str) and name:
            return name
    return None


def unmatched_words(amount: str, wallet: str | None, at: str, *, assignable: bool, others: int = 0,
                    offerable: bool = True) -> tuple[str, str]:
    """(what came, what to do) for an entry-code payment that arrived with no waiting amount. ``assignable``:
    the sale on the cashier's screen waits for that very money, so the key makes it that sale's payment;
    otherwise only the manager settles it (nobody at the till guesses whose money it was). ``offerable``: it is
    still within the match window, so a new sale of that amount (F3) would be offered it; once older, F3 and
    F5 cannot take it and only the manager can."""
    what = _("An entry-code payment of {amount} from {wallet} arrived at {time} with no sale waiting for it.").format(
        amount=amount, wallet=wallet or _("a wallet"), time=at)
    if others:
        what += " " + _("({n} more waiting for the manager.)").format(n=others)
    todo = _("If it is this customer's, press F5 to make it this sale's payment.") if assignable else \
        _("Ask the customer who paid it; if they are here, press F3 with that amount and then F5. Otherwise "
          "tell the manager: Manager (F9) → Entry code settles it.") if offerable else \
        _("It came too long ago to be given to a new sale at the till (F5): tell the manager, Manager (F9) → "
          "Entry code settles it.")
    return what, todo
