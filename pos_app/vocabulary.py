"""The terminal's words, in one place: statuses, phases, which are open or settled, what to do next.

Every front end (the windows, the CLI, the reports) and every rule (the one-customer check, review,
the X and Z) reads these tables instead of spelling the words out, so a new status or phase is added
once and nobody disagrees about whether, say, a queued sale is "open". Pure data: no I/O, no Qt.
"""

from __future__ import annotations

import enum

from .i18n import N_

# -- status words: what ``--json``, the journal's ``status`` column and the reports say ---------------------
SUCCESS, FAILED, CANCELLED = "SUCCESS", "FAILED", "CANCELLED"
UNKNOWN, QUEUED, NEEDS_REVIEW = "UNKNOWN", "QUEUED", "NEEDS_REVIEW"
STATUSES = (SUCCESS, FAILED, CANCELLED, UNKNOWN, QUEUED, NEEDS_REVIEW)

#: Still moving: the terminal works on these by itself (sends, inquires, cancels).
OPEN = frozenset({UNKNOWN, QUEUED})
#: Not settled: open, or parked for a manager.
UNSETTLED = OPEN | {NEEDS_REVIEW}
#: Settled for good: the gateway's last word.
SETTLED = frozenset({SUCCESS, FAILED, CANCELLED})

# -- kinds of transaction ------------------------------------------------------------------------------------
SALE, REFUND, CANCEL = "sale", "refund", "cancel"
KINDS = (SALE, REFUND, CANCEL)


class SalePhase(enum.StrEnum):
    """Where a sale is in its state machine (:mod:`pos_app.payment_flow`)."""

    NEW = "NEW"                    # journaled; the pay has not (certainly) left: it waits for the link
    SENDING = "SENDING"            # a pay is, or may be, in flight
    WAITING = "WAITING"            # order code shown: waiting for the customer to pay it
    INQUIRING = "INQUIRING"        # outcome unknown: following the inquiry schedule
    CANCELLING = "CANCELLING"      # closing it: cancel sent, retried with the same paymentRequestId
    NEEDS_REVIEW = "NEEDS_REVIEW"  # even cancel stayed unknown or was refused; still retried in background
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    VOIDED = "VOIDED"              # never reached the gateway; closed locally

    @property
    def final(self) -> bool:
        return self in SALE_FINAL


class FollowupPhase(enum.StrEnum):
    """Where a refund or a manager's cancel is (:mod:`pos_app.followup_flow`)."""

    NEW = "NEW"                    # journaled; waiting for the link
    SENDING = "SENDING"            # in flight, or may be
    RETRYING = "RETRYING"          # unknown: the same request is resent on a schedule
    NEEDS_REVIEW = "NEEDS_REVIEW"  # still unknown after the schedule: resent in the background
    DONE = "DONE"
    FAILED = "FAILED"

    @property
    def final(self) -> bool:
        return self in FOLLOWUP_FINAL


SALE_FINAL = frozenset({SalePhase.PAID, SalePhase.FAILED, SalePhase.CANCELLED, SalePhase.VOIDED})
FOLLOWUP_FINAL = frozenset({FollowupPhase.DONE, FollowupPhase.FAILED})

#: The public word for each phase.
SALE_STATUS = {SalePhase.NEW: QUEUED, SalePhase.SENDING: UNKNOWN, SalePhase.WAITING: UNKNOWN,
               SalePhase.INQUIRING: UNKNOWN, SalePhase.CANCELLING: UNKNOWN, SalePhase.NEEDS_REVIEW: NEEDS_REVIEW,
               SalePhase.PAID: SUCCESS, SalePhase.FAILED: FAILED, SalePhase.CANCELLED: CANCELLED,
               SalePhase.VOIDED: FAILED}
FOLLOWUP_STATUS = {FollowupPhase.NEW: QUEUED, FollowupPhase.SENDING: UNKNOWN, FollowupPhase.RETRYING: UNKNOWN,
                   FollowupPhase.NEEDS_REVIEW: NEEDS_REVIEW, FollowupPhase.DONE: SUCCESS,
                   FollowupPhase.FAILED: FAILED}

#: The phases in which a cashier's abort (Esc, Ctrl-C, "Cancel sale") is taken. Every phase that is not
#: final and not already closing: in SENDING the abort is recorded and acted on when the pay's outcome
#: is known (paid → cancel; unknown → inquire, then cancel; failed → done).
ABORTABLE = frozenset({SalePhase.NEW, SalePhase.SENDING, SalePhase.WAITING, SalePhase.INQUIRING})


def settled(txn) -> bool:
    """Nothing more will happen without a person: final, or parked for a manager's review."""
    return txn.final or txn.status == NEEDS_REVIEW


# -- words for people ------------------------------------------------------------------------------------------
#: What a sale is doing, and what it waits for.
SALE_PHASE_WORDS = {
    SalePhase.NEW: (N_("Queued: waiting for the link to the gateway"), N_("the network")),
    SalePhase.SENDING: (N_("Sending the payment"), N_("the gateway")),
    SalePhase.WAITING: (N_("Waiting for the customer to scan the QR and pay"), N_("the customer")),
    SalePhase.INQUIRING: (N_("Checking the result with the gateway"), N_("the gateway")),
    SalePhase.CANCELLING: (N_("Cancelling the payment"), N_("the gateway")),
    SalePhase.NEEDS_REVIEW: (N_("Needs review: the gateway did not confirm the cancel"), N_("a manager")),
}
#: An entry-code sale's WAITING: nothing is shown for the customer to scan but the store's own code.
ENTRY_CODE_WAITING = N_("Waiting for the customer to pay by the store's entry code")
#: What a stopped sale is doing while its stop is carried out (``sale_view.stopping_words`` picks one): its
#: pay still in flight; its outcome unknown; the gateway said paid (CANCELLING after a stop). A stopped sale
#: being cancelled otherwise, or parked for review, says its phase's words.
STOPPING_WORDS = {
    SalePhase.SENDING: N_("Stopping: waiting for the gateway's answer, then the payment is cancelled"),
    SalePhase.INQUIRING: N_("Checking the result, then cancelling"),
    SalePhase.CANCELLING: N_("Paid before the stop arrived: cancelling it, the money goes back"),
}
#: A cancelled sale's one inquiry, asking whether it had been paid before the cancel closed it.
CONFIRMING_WORDS = N_("Cancelled: checking whether anything was charged")

# -- why a call brought no answer (``Sale.trouble``): the link, or the gateway ---------------------------------
OFFLINE = "OFFLINE"        # certainly not sent: the link to the gateway is down
NO_ANSWER = "NO_ANSWER"    # sent, but no answer that can be believed came back (timeout, cut off, unverifiable)
HTTP_TROUBLE = "HTTP {status}"   # the gateway answered with an HTTP error status
#: The cashier's words while a sale waits on such a call ("HTTP 503" is said with its status).
TROUBLE_WORDS = {
    OFFLINE: N_("The link to the gateway is down"),
    NO_ANSWER: N_("No clear answer from the gateway; still checking…"),
    HTTP_TROUBLE: N_("The gateway is failing (HTTP {status}); still checking…"),
}

# -- which hop of the way to the gateway refused a call that certainly did not leave ----------------------------
#: ``Sale.trouble`` is then "KIND setting" (:func:`path_trouble`): the kind says the hop, the setting what the
#: technician changes ("[gateway] proxy", "HTTPS_PROXY", "[gateway] ca_bundle"...). Unlike OFFLINE this does not
#: heal by waiting: the cashier is told to call the technician.
PROXY_DOWN = "PROXY_DOWN"          # the store's proxy cannot be reached, or its setting cannot be used
PROXY_REFUSED = "PROXY_REFUSED"    # the proxy would not open the way (CONNECT refused or not answered as HTTP)
PROXY_LOGIN = "PROXY_LOGIN"        # the proxy wants a login it did not get, or refused the one given
BEYOND_PROXY = "BEYOND_PROXY"      # the proxy is up, the gateway beyond it cannot be reached
TLS_REFUSED = "TLS_REFUSED"        # the terminal refused the certificate, an old TLS, or no TLS at all
#: (headline, what the technician must look at: takes {setting}) for each hop.
PATH_TROUBLE_WORDS = {
    PROXY_DOWN: (N_("The store's proxy does not answer"),
                 N_("Call the technician: the proxy set by {setting} is down or cannot be used.")),
    PROXY_REFUSED: (N_("The store's proxy refuses the way to the gateway"),
                    N_("Call the technician: the proxy set by {setting} must let the terminal through to the "
                       "gateway.")),
    PROXY_LOGIN: (N_("The store's proxy refuses the terminal's login"),
                  N_("Call the technician: the proxy's login ({setting}) is missing or wrong.")),
    BEYOND_PROXY: (N_("The store's proxy cannot reach the gateway"),
                   N_("The gateway, or the way to it beyond the store's proxy, is down. If it lasts, call the "
                      "technician ({setting}).")),
    TLS_REFUSED: (N_("This terminal cannot open a secure connection to the gateway"),
                  N_("Call the technician: this terminal does not accept the gateway's certificate, or the TLS "
                     "version it offers (check {setting}).")),
}
#: A queued pay voided while a hop refused it (its message; the sale keeps the trouble for the setting).
PATH_VOIDED = {
    PROXY_DOWN: N_("the store's proxy did not answer until the payment code's validity ended: nothing was charged"),
    PROXY_REFUSED: N_("the store's proxy refused the way to the gateway until the payment code's validity ended: "
                      "nothing was charged"),
    PROXY_LOGIN: N_("the store's proxy refused the terminal's login until the payment code's validity ended: "
                    "nothing was charged"),
    BEYOND_PROXY: N_("the store's proxy could not reach the gateway until the payment code's validity ended: "
                     "nothing was charged"),
    TLS_REFUSED: N_("this terminal could not open a secure connection to the gateway until the payment code's "
                    "validity ended: nothing was charged"),
}
NEXT_STEP_PATH = N_("Do not hand over the goods. Ask for another way to pay, and call the technician.")


def path_trouble(kind: str, setting: str) -> str:
    """``Sale.trouble`` for a hop that refused a call: its kind and the setting that fixes it."""
    return f"{kind} {setting}"


def split_path_trouble(trouble: str) -> tuple[str, str] | None:
    """(kind, setting) of a path trouble, None for any other trouble (OFFLINE, NO_ANSWER, "HTTP 503", "")."""
    kind, _sep, setting = trouble.partition(" ")
    return (kind, setting) if kind in PATH_TROUBLE_WORDS else None


#: Result codes by which the customer's wallet, or its risk control, refused the payment: a decline, however
#: it was learnt (the pay's answer, an inquiry, a notification). Spec §5 lists them (F).
DECLINE_CODES = frozenset({"USER_PAYMENT_VERIFICATION_FAILED", "USER_BALANCE_NOT_ENOUGH", "RISK_REJECT",
                           "USER_STATUS_ABNORMAL", "USER_NOT_EXIST", "PAYMENT_AMOUNT_EXCEED_LIMIT",
                           "PAYMENT_COUNT_EXCEED_LIMIT"})
#: A failed or voided sale's reason in words a cashier can act on, by result code (the code is shown beside).
RESULT_WORDS = {
    "USER_PAYMENT_VERIFICATION_FAILED": N_("Declined in the customer's wallet: the payment was not approved."),
    "USER_BALANCE_NOT_ENOUGH": N_("Declined: the customer's balance is not enough."),
    "RISK_REJECT": N_("Declined: the wallet refused this payment."),
    "USER_STATUS_ABNORMAL": N_("Declined: the customer's wallet account is restricted."),
    "USER_NOT_EXIST": N_("Declined: the wallet does not know this customer."),
    "PAYMENT_AMOUNT_EXCEED_LIMIT": N_("Declined: the amount is over the customer's wallet limit."),
    "PAYMENT_COUNT_EXCEED_LIMIT": N_("Declined: the customer's wallet has reached its number of payments."),
    "PAYMENT_CODE_EXPIRED": N_("The customer's code has expired: ask them to refresh it."),
    "EXPIRED_CODE": N_("The customer's code has expired: ask them to refresh it."),
    "INVALID_CODE": N_("The code is not valid: ask the customer to show their payment code again."),
    "ORDER_IS_CLOSED": N_("The payment was closed before it was paid."),
    "NOT_SENT": N_("The link to the gateway stayed down, so the payment was never sent: nothing was charged."),
    "ABORTED": N_("Stopped before the payment reached the gateway: nothing was charged."),
}

FOLLOWUP_PHASE_WORDS = {
    FollowupPhase.NEW: N_("Queued: waiting for the link to the gateway"),
    FollowupPhase.SENDING: N_("Sending the {kind}"),
    FollowupPhase.RETRYING: N_("Resending the {kind} (no clear answer yet)"),
    FollowupPhase.NEEDS_REVIEW: N_("Needs review: the gateway has not confirmed the {kind}"),
}

#: A status in one or two words (lists, the day's table).
STATUS_WORDS = {SUCCESS: N_("Paid"), FAILED: N_("Not paid"), CANCELLED: N_("Cancelled"),
                UNKNOWN: N_("Checking"), QUEUED: N_("Queued"), NEEDS_REVIEW: N_("Needs review")}
KIND_WORDS = {SALE: N_("sale"), REFUND: N_("refund"), CANCEL: N_("cancel")}
#: A request to the gateway by its API name (the outbox's ``api`` column: pay, refund, cancel; an inquiry).
REQUEST_WORDS = {"pay": N_("payment"), "refund": N_("refund"), "cancel": N_("cancel"),
                 "inquiryPayment": N_("inquiry")}
#: A refund's or a cancel's status: "Paid" would say money came in when it went back.
FOLLOWUP_STATUS_WORDS = {**STATUS_WORDS, SUCCESS: N_("Done"), FAILED: N_("Failed")}
#: How the customer paid (the journal's ``tender`` column).
TENDER_WORDS = {"payment_code": N_("payment code"), "order_code": N_("order code"), "entry_code": N_("entry code")}


#: An unmatched entry-code payment a person assigned to a waiting sale closes with this result code: its money
#: counts on that sale, so its own row is not "Not paid" to the person reading the day.
ASSIGNED = "ASSIGNED"


def status_words(kind: str, status: str, result_code: str | None = None) -> str:
    """The words (untranslated: pass them to ``_``) for a transaction's status, by its kind; a sale the wallet
    declined (its result code one of DECLINE_CODES) is "Declined", as the cashier's outcome screen says; an
    entry-code payment assigned to a waiting sale says so (its money is counted on that sale)."""
    if kind == SALE and status == FAILED and result_code in DECLINE_CODES:
        return N_("Declined")
    if kind == SALE and status == FAILED and result_code == ASSIGNED:
        return N_("Assigned to a waiting sale")
    return (STATUS_WORDS if kind == SALE else FOLLOWUP_STATUS_WORDS).get(status, status)

#: What the person does next, for each status of a sale.
NEXT_STEP = {
    SUCCESS: N_("Hand over the goods."),
    FAILED: N_("Do not hand over the goods. Ask for another payment: a fresh code, or another way to pay."),
    CANCELLED: N_("Do not hand over the goods. The payment is cancelled: nothing stays charged."),
    UNKNOWN: N_("Do not hand over the goods yet. The terminal keeps checking; wait for the result."),
    QUEUED: N_("Do not hand over the goods: it is sent when the link is back."),
    NEEDS_REVIEW: N_("Do not hand over the goods. A manager must check this payment."),
}
#: Next steps that depend on more than the status (``sale_view`` picks them): a decline; a sale the link kept
#: from the gateway; a sale that may wait long (the link is down, the gateway is failing); a cancelled one that
#: the gateway proved was never charged; one that was paid, then cancelled.
NEXT_STEP_DECLINED = N_("Do not hand over the goods. Ask for another way to pay, or a fresh code if the customer "
                        "wants to try again.")
NEXT_STEP_OFFLINE = N_("Do not hand over the goods. The link to the gateway is down: ask for another way to pay.")
NEXT_STEP_WAIT_OR_STOP = N_("Do not hand over the goods yet. If the customer cannot wait, stop it (Esc) and ask "
                            "for another way to pay.")
NEXT_STEP_NOT_CHARGED = N_("Do not hand over the goods. Take the payment again, or ask for another way to pay.")
NEXT_STEP_MONEY_BACK = N_("Do not hand over the goods. The money goes back to the customer's wallet.")
#: The command that helps, for a person at the CLI (appended to :data:`NEXT_STEP`).
NEXT_COMMAND = {UNKNOWN: "pos-terminal reconcile", NEEDS_REVIEW: "pos-terminal review"}
