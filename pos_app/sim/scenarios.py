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
