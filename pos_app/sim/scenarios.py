"""The simulator's scripted behaviours, chosen by a payment amount's exact minor-unit value.

They are the failures a terminal must survive, on demand: keep the values stable, since tests, the
README and people at the counter rely on them. Any other amount succeeds at once.
"""

from __future__ import annotations

UNKNOWN_BUT_PAID = 9901       # pay answers U UNKNOWN_EXCEPTION; the payment in fact succeeds
DROP_AFTER_PAID = 9902        # the payment succeeds, the connection drops before the answer
CONFIRM_AFTER_4S = 9903       # U PAYMENT_IN_PROCESS, PROCESSING, SUCCESS once the customer confirms (4 s)
DECLINE_AFTER_2S = 9904       # U, then FAIL USER_PAYMENT_VERIFICATION_FAILED after 2 s
BALANCE_NOT_ENOUGH = 9905     # F USER_BALANCE_NOT_ENOUGH
STUCK = 9906                  # PROCESSING until cancelled
SLOW_ANSWER = 9907            # the answer comes after 8 s; the payment succeeds
BROKEN_SIGNATURE = 9908       # the payment succeeds; the answer's signature is broken
FLAKY_INQUIRY = 9909          # inquiry answers U three times, then tells the truth (SUCCESS)
STUCK_FLAKY_CANCEL = 9910     # like 9906, and cancel answers U twice before S
UNAVAILABLE = 9911            # HTTP 503; nothing is processed

SLOW_ANSWER_SECONDS = 8.0
SETTLE_AFTER = {CONFIRM_AFTER_4S: (4.0, "SUCCESS", "SUCCESS", "success"),
                DECLINE_AFTER_2S: (2.0, "FAIL", "USER_PAYMENT_VERIFICATION_FAILED",
                                   "the customer declined the payment in the wallet")}
FLAKY_INQUIRIES = 3
FLAKY_CANCELS = 2

TABLE = {
    UNKNOWN_BUT_PAID: "pay answers U UNKNOWN_EXCEPTION; the payment in fact succeeds",
    DROP_AFTER_PAID: "the payment succeeds, but the connection drops before the response",
    CONFIRM_AFTER_4S: "the customer confirms in the wallet after 4 s: pay U PAYMENT_IN_PROCESS, "
                      "inquiry PROCESSING, then SUCCESS",
    DECLINE_AFTER_2S: "the customer declines after 2 s: U, then inquiry FAIL USER_PAYMENT_VERIFICATION_FAILED",
    BALANCE_NOT_ENOUGH: "F USER_BALANCE_NOT_ENOUGH",
    STUCK: "stays PROCESSING until cancelled",
    SLOW_ANSWER: "the response comes after 8 s (past the client timeout); the payment succeeds",
    BROKEN_SIGNATURE: "the payment succeeds, but the response signature is broken",
    FLAKY_INQUIRY: "inquiry answers U three times before telling the truth (SUCCESS)",
    STUCK_FLAKY_CANCEL: "like 9906, and cancel answers U twice before S",
    UNAVAILABLE: "HTTP 503; nothing is processed",
}

# -- the gateway's report files (pos_app/sim/reports.py) ------------------------------------------------
# These payments succeed at once; what differs is how the gateway's reconciliation reports list them, so a
# sandbox day holds one of each difference a reconciliation must find. Kept apart from TABLE, which names what
# the *API* does with an amount (and which tests walk as "every answer a terminal must survive").
REPORT_OMITS = 9921           # the reports leave out its PAYMENT row: missing at the gateway
REPORT_PHANTOM = 9922         # the reports add a PAYMENT row of the same amount for a payment never made
REPORT_WRONG_AMOUNT = 9923    # its PAYMENT row says one major unit more than was paid
REPORT_OTHER_CURRENCY = 9924  # its PAYMENT row says another currency (USD, or EUR for a USD payment)
REFUND_SETTLES_LATER = 9925   # its refunds are reported on the day after they were made
FX_PENDING = 9926             # settles in another currency, post-quoted: no settlement amount nor fee until T+2
REPORT_DUPLICATE = 9927       # its PAYMENT row is written twice (transaction and settlement details)

REPORT_TABLE = {
    REPORT_OMITS: "the payment succeeds; the gateway's reports leave out its PAYMENT row",
    REPORT_PHANTOM: "the payment succeeds; the reports also list a PAYMENT of the same amount never made",
    REPORT_WRONG_AMOUNT: "the payment succeeds; its report row says one major unit more",
    REPORT_OTHER_CURRENCY: "the payment succeeds; its report row says another currency",
    REFUND_SETTLES_LATER: "the payment succeeds; its refunds are reported a day late",
    FX_PENDING: "the payment succeeds; it settles in another currency, and its settlement amount and fee "
                "are known only from T+2 (post-quoting)",
    REPORT_DUPLICATE: "the payment succeeds; its report row appears twice",
}
