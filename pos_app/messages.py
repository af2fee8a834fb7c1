"""The gateway's request bodies, built as exact bytes (spec §3, §4).

A request is built once and kept: every retry resends the identical bytes under the same request id,
so that the gateway's idempotency sees one payment, never two. Building is pure; sending is
:mod:`pos_app.gateway`'s job.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import MerchantConfig
from .money import Money

#: The notifyType the receiver hands the terminal for a verified notification it cannot apply (not JSON,
#: not an object, or text with no UTF-8 form): journaled for a manager to see, then acknowledged, since
#: the gateway's resends would carry the same bytes for ever.
UNREADABLE_NOTIFICATION = "UNREADABLE"


class Api(enum.StrEnum):
    """The five in-store APIs, by their path segment."""

    PAY = "pay"
    INQUIRY_PAYMENT = "inquiryPayment"
    CANCEL = "cancel"
    REFUND = "refund"
    INQUIRY_REFUND = "inquiryRefund"

    def path(self, sandbox: bool) -> str:
        return f"/ams/{'sandbox/' if sandbox else ''}api/v1/payments/{self.value}"


@dataclass(frozen=True)
class Request:
    """One API call: which API, the exact body, and the ids the response must echo."""

    api: Api
    body: bytes
    payment_request_id: str | None = None
    payment_id: str | None = None
    refund_request_id: str | None = None
    refund_id: str | None = None


MAX_ID = 64


def encode(body: dict) -> bytes:
    """Compact, stable JSON: what is signed is what is sent."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def iso_time(at: datetime | None = None) -> str:
    """ISO 8601 with offset, as the gateway writes times."""
    return (at or datetime.now(UTC)).isoformat(timespec="seconds")


def _check_id(name: str, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= MAX_ID):
        raise ValueError(f"{name} must be 1 to {MAX_ID} characters")


def _order(merchant: MerchantConfig, amount: Money, description: str, reference_order_id: str | None) -> dict:
    order = {
        "orderAmount": amount.to_api(),
        "orderDescription": description[:256],
        "merchant": {
            "referenceMerchantId": merchant.reference_merchant_id,
            "merchantMCC": merchant.mcc,
            "merchantName": merchant.name,
            "store": {
                "referenceStoreId": merchant.store_id,
                "storeName": merchant.store_name,
                "storeMCC": merchant.store_mcc,
            },
        },
    }
    if reference_order_id:
        _check_id("referenceOrderId", reference_order_id)
        order["referenceOrderId"] = reference_order_id
    return order


def _pay(merchant: MerchantConfig, request_id: str, amount: Money, description: str, notify_url: str,
         scenario: str, method: dict, reference_order_id: str | None, expiry: datetime | None,
         env: dict | None) -> Request:
    _check_id("paymentRequestId", request_id)
    order = _order(merchant, amount, description, reference_order_id)
    if env:
        order["env"] = env
    body = {
        "productCode": "IN_STORE_PAYMENT",
        "paymentRequestId": request_id,
        "order": order,
        "paymentAmount": amount.to_api(),
        "paymentMethod": method,
        "paymentFactor": {"inStorePaymentScenario": scenario},
        "paymentNotifyUrl": notify_url,
        "settlementStrategy": {"settlementCurrency": merchant.settlement_currency},
    }
    if expiry is not None:
        body["paymentExpiryTime"] = iso_time(expiry)
    return Request(Api.PAY, encode(body), payment_request_id=request_id)


def pay_payment_code(merchant: MerchantConfig, request_id: str, amount: Money, payment_code: str, *,
                     description: str, notify_url: str, reference_order_id: str | None = None,
                     expiry: datetime | None = None, terminal_time: datetime | None = None) -> Request:
    """User-presented mode: the cashier scanned the customer's code."""
    return _pay(merchant, request_id, amount, description, notify_url, "PaymentCode",
                {"paymentMethodType": "CONNECT_WALLET", "paymentMethodId": payment_code},
                reference_order_id, expiry,
                {"storeTerminalId": merchant.terminal_id, "storeTerminalRequestTime": iso_time(terminal_time)})


def pay_order_code(merchant: MerchantConfig, request_id: str, amount: Money, *, description: str,
                   notify_url: str, reference_order_id: str | None = None,
                   expiry: datetime | None = None) -> Request:
    """Merchant-presented mode: ask for a code to show; the outcome comes later."""
    return _pay(merchant, request_id, amount, description, notify_url, "OrderCode",
                {"paymentMethodType": "CONNECT_WALLET"}, reference_order_id, expiry, None)


def _by_ids(api: Api, id_name: str, id_value: str | None, other_name: str, other_value: str | None,
            **extra) -> Request:
    if not id_value and not other_value:
        raise ValueError(f"{api.value} needs {id_name} or {other_name}")
    _check_id(id_name, id_value)
    _check_id(other_name, other_value)
    body = {k: v for k, v in ((id_name, id_value), (other_name, other_value)) if v}
    return Request(api, encode(body), **extra)


def inquiry_payment(payment_request_id: str | None = None, payment_id: str | None = None) -> Request:
    return _by_ids(Api.INQUIRY_PAYMENT, "paymentRequestId", payment_request_id, "paymentId", payment_id,
                   payment_request_id=payment_request_id, payment_id=payment_id)


def cancel(payment_request_id: str | None = None, payment_id: str | None = None) -> Request:
    return _by_ids(Api.CANCEL, "paymentRequestId", payment_request_id, "paymentId", payment_id,
                   payment_request_id=payment_request_id, payment_id=payment_id)


def inquiry_refund(refund_request_id: str | None = None, refund_id: str | None = None) -> Request:
    return _by_ids(Api.INQUIRY_REFUND, "refundRequestId", refund_request_id, "refundId", refund_id,
                   refund_request_id=refund_request_id, refund_id=refund_id)


def refund(refund_request_id: str, payment_id: str, amount: Money, *, notify_url: str,
           reason: str | None = None) -> Request:
    _check_id("refundRequestId", refund_request_id)
    _check_id("paymentId", payment_id)
    body = {
        "refundRequestId": refund_request_id,
        "paymentId": payment_id,
        "refundAmount": amount.to_api(),
        "refundNotifyUrl": notify_url,
    }
    if reason:
        body["refundReason"] = reason[:256]
    return Request(Api.REFUND, encode(body), payment_id=payment_id, refund_request_id=refund_request_id)
