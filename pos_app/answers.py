"""What the gateway said, in the terms the state machines decide on.

Decoding lives apart from :mod:`pos_app.terminal` so the orchestration reads as "load, step, commit,
send" and the shape of Antom's answers and notifications (spec §3, §5) is read in one place: an order
code's form, a payment status inside an inquiry, a refund id, a notification's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import payment_flow as pf
from .outcome import Delivery, Outcome, Status
from .vocabulary import HTTP_TROUBLE, NO_ANSWER, OFFLINE, split_path_trouble


def answer_of(outcome: Outcome) -> pf.Answer:
    """What the machines decide on, from what the client returned."""
    body = outcome.body or {}
    code_value = expires_at = None
    form = body.get("orderCodeForm")
    if isinstance(form, dict):
        details = form.get("codeDetails")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            value = details[0].get("codeValue")
            code_value = value if isinstance(value, str) and value else None
        try:
            expires_at = datetime.fromisoformat(form["expireTime"]).timestamp()
        except (KeyError, TypeError, ValueError):
            expires_at = None
    result_code, message = outcome.result_code, outcome.message
    if "paymentStatus" in body and body.get("paymentResultCode"):
        result_code = str(body["paymentResultCode"])
        message = str(body.get("paymentResultMessage") or message)
    payment_id = body.get("paymentId") if isinstance(body.get("paymentId"), str) else None
    status = body.get("paymentStatus") if isinstance(body.get("paymentStatus"), str) else None
    refund_id = body.get("refundId") if isinstance(body.get("refundId"), str) else None
    return pf.Answer(status=outcome.status, delivery=outcome.delivery, result_code=result_code, message=message,
                     payment_id=payment_id, payment_status=status, code_value=code_value,
                     code_expires_at=expires_at, refund_id=refund_id, trouble=trouble_of(outcome))


def trouble_of(outcome: Outcome) -> str:
    """Why a call brought no answer that can be believed, as the sale keeps it for the screen: the link is
    down (nothing left), the gateway answered with an HTTP error, or no verified answer came back (a
    timeout, a cut connection, an unverifiable body). "" when the gateway answered, a U result included."""
    if outcome.status is not Status.UNKNOWN or outcome.delivery in (Delivery.DELIVERED, None):
        return ""   # answered; or a local failure (no request body to resend), not the gateway's
    if outcome.delivery is Delivery.NOT_SENT:  # the link, or a hop (proxy, TLS) the client named: see gateway
        hop = (outcome.body or {}).get("trouble")
        return hop if isinstance(hop, str) and split_path_trouble(hop) else OFFLINE
    if outcome.http_status is not None and outcome.http_status != 200:
        return HTTP_TROUBLE.format(status=outcome.http_status)
    return NO_ANSWER


def customer_info(body: Mapping[str, Any]) -> dict:
    """The wallet and the customer as the gateway shows them (``pspCustomerInfo``: ``pspName`` and the
    masked ``displayCustomerId``), for the receipt; {} when not given. ``pspCustomerId`` (unmasked) is
    left out: the journal keeps nothing a receipt must not print."""
    info = body.get("pspCustomerInfo")
    if not isinstance(info, dict):
        return {}
    return {k: info[k] for k in ("pspName", "displayCustomerId") if isinstance(info.get(k), str) and info[k]}


def outcome_detail(api: str, outcome: Outcome) -> dict:
    body = outcome.body or {}
    return {"api": api, "status": outcome.status.value, "resultCode": outcome.result_code,
            "message": outcome.message, "delivery": outcome.delivery.value if outcome.delivery else None,
            "httpStatus": outcome.http_status, "paymentId": body.get("paymentId"),
            "paymentStatus": body.get("paymentStatus"), "refundId": body.get("refundId"), **customer_info(body)}


def notification_detail(body: dict) -> dict:
    keep = ("notifyType", "paymentRequestId", "paymentId", "refundRequestId", "refundId", "refundStatus",
            "paymentAmount", "refundAmount", "paymentTime", "refundTime")
    detail = {k: body.get(k) for k in keep if k in body}
    if isinstance(body.get("result"), dict):
        detail["result"] = {k: body["result"].get(k) for k in ("resultCode", "resultStatus", "resultMessage")}
    return {**detail, **customer_info(body)}


@dataclass(frozen=True)
class PaymentNotice:
    """A verified notifyPayment: which sale (by our id, else the gateway's), and its event; ``event`` is
    None when the result is neither S nor F (nothing to apply, only to journal)."""

    ref: str | None
    payment_id: str | None
    event: pf.Notified | None


@dataclass(frozen=True)
class RefundNotice:
    """A verified notifyRefund; ``success`` is None when its status is not SUCCESS or FAIL."""

    ref: str | None
    success: bool | None
    refund_id: object
    result_code: str
    message: str


def decode_notification(body: dict) -> PaymentNotice | RefundNotice | None:
    """The notice a verified body carries, or None for a type the terminal does not act on."""
    kind = body.get("notifyType")
    raw = body.get("result")
    result: dict = raw if isinstance(raw, dict) else {}
    if kind == "PAYMENT_RESULT":
        ref = body.get("paymentRequestId")
        payment_id = body.get("paymentId") if isinstance(body.get("paymentId"), str) else None
        event = None
        if result.get("resultStatus") in ("S", "F"):
            event = pf.Notified(success=result.get("resultStatus") == "S",
                                result_code=str(result.get("resultCode", "")),
                                message=str(result.get("resultMessage", "")), payment_id=payment_id)
        return PaymentNotice(ref if isinstance(ref, str) else None, payment_id, event)
    if kind == "REFUND_RESULT":
        ref = body.get("refundRequestId")
        status = body.get("refundStatus")
        return RefundNotice(ref if isinstance(ref, str) else None,
                            {"SUCCESS": True, "FAIL": False}.get(status) if isinstance(status, str) else None,
                            body.get("refundId"), str(result.get("resultCode", "")),
                            str(result.get("resultMessage", "")))
    return None
