"""The gateway's rules, as the simulator plays them: idempotency, single-use codes, refunds within the
paid amount, cancel windows, order-code expiry, and the scripted scenarios.

The engine knows nothing of HTTP: it takes a parsed body and returns a :class:`Reply` (a body plus what
the transport must do to it: answer normally, late, unsigned-looking, or not at all). One lock makes
every call atomic, as the real gateway's idempotency is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from .. import scan
from ..money import EXPONENTS
from . import scenarios as sc


class Row(Protocol):
    """A stored payment or refund: a ``sqlite3.Row`` read back, or the dict of a row just written."""

    def __getitem__(self, key: str, /) -> Any: ...


@dataclass
class Reply:
    """An answer and how the transport must deliver it."""

    body: dict[str, Any] | None
    http_status: int = 200
    delay: float = 0.0
    drop: bool = False            # close the connection instead of answering
    break_signature: bool = False


def result(code: str, status: str, message: str) -> dict[str, str]:
    return {"resultCode": code, "resultStatus": status, "resultMessage": message}


def fail(code: str, message: str, **extra) -> Reply:
    return Reply({"result": result(code, "F", message), **extra})


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def body_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _get(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


# What a pay must hold: the API reference's required fields and what the official SDKs' in-store request
# classes assert (``_validate_`` in global-open-sdk-python, ``extValidate`` in ams-java-sdk), nothing more.
# paymentNotifyUrl and settlementStrategy are optional: those classes never send settlementStrategy,
# Alipay's upcp.json example sends neither, and without a notify URL there is simply no notification.
_PAY_REQUIRED = [
    "productCode", "paymentRequestId", "paymentAmount.currency", "paymentAmount.value",
    "paymentMethod.paymentMethodType", "paymentFactor.inStorePaymentScenario",
    "order.orderAmount.currency", "order.orderAmount.value", "order.orderDescription",
    "order.merchant.referenceMerchantId", "order.merchant.merchantMCC", "order.merchant.merchantName",
    "order.merchant.store.referenceStoreId", "order.merchant.store.storeName", "order.merchant.store.storeMCC",
]
_PAYMENT_CODE_REQUIRED = ["paymentMethod.paymentMethodId", "order.env.storeTerminalId",
                          "order.env.storeTerminalRequestTime"]
# An entry-code pay is made by the merchant's page in the wallet's browser: ams-java-sdk's
# EntryCodePaymentRequest.extValidate asserts order.env.userAgent (and its api_mocks entry_code.json sends it).
_ENTRY_CODE_REQUIRED = ["order.env.userAgent"]

# -- entry codes (spec §10): the one place their shapes live ------------------------------------------------
#: A store's static entry code: an HTTPS URL to the merchant's page (Alipay+ docs; the exact form is
#: unconfirmed). The customer's wallet opens it, the customer types the amount, the page pays it.
ENTRY_CODE_URL = "https://entry.sandbox.invalid/s/{token}"
#: What an entry-code pay answers in redirectActionForm.redirectUrl: the wallet's own scheme carrying a gqr
#: URL, as ams-java-sdk's api_mocks/responses/entry_code_s.json shows (method SCAN).
ENTRY_REDIRECT_URL = "alipays://platformapi/startApp?appId=10000007&actionType=route&qrcode={qr}"
#: The wallet's browser, as the merchant's page reports it in order.env.userAgent (entry_code.json's form).
WALLET_USER_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                     "Gecko) Mobile/15G77 AlipayClient/10.1.32.600 Language/en AlipayConnect pos-terminal-sim")
_LIMITS = {"paymentRequestId": 64, "refundRequestId": 64, "order.referenceOrderId": 64,
           "order.orderDescription": 256, "paymentId": 64, "refundId": 64, "refundReason": 256,
           "paymentNotifyUrl": 2048, "refundNotifyUrl": 2048}


def _missing(body: dict, fields: list[str]) -> Reply | None:
    for name in fields:
        value = _get(body, name)
        if value is None or value == "":
            return fail("PARAM_ILLEGAL", f"{name} is missing")
        if not isinstance(value, str):
            return fail("PARAM_ILLEGAL", f"{name} must be a string")
    for name, limit in _LIMITS.items():
        value = _get(body, name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return fail("PARAM_ILLEGAL", f"{name} must be a string of at most {limit} characters")
    return None


def _amount(body: dict, name: str) -> tuple[str, int] | Reply:
    currency, value = _get(body, f"{name}.currency"), _get(body, f"{name}.value")
    if currency not in EXPONENTS:
        return fail("CURRENCY_NOT_SUPPORT", f"{name}.currency {currency!r} is not supported")
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15 and int(value) > 0):
        return fail("PARAM_ILLEGAL", f"{name}.value must be a positive whole number of minor units as a string")
    return currency, int(value)


_NEW_PAYMENT_DEFAULTS = {"code_hash": None, "code_value": None, "expire_at": None, "settle_at": None,
                         "paid_at": None, "closed_at": None, "inquiries": 0, "cancels": 0, "entry_code": None,
                         "merchant_id": None, "store_id": None}


class Engine:
    def __init__(self, db: sqlite3.Connection, *, cancel_window: float = 86400.0,
                 refund_window: float = 365 * 86400.0, order_code_ttl: float = 600.0,
                 code_base_url: str = "https://gqr.sandbox.invalid/", clock: Callable[[], float] = time.time,
                 on_notification: Callable[[dict], None] = lambda row: None) -> None:
        self.db = db
        self.cancel_window = cancel_window
        self.refund_window = refund_window
        self.order_code_ttl = order_code_ttl
        self.code_base_url = code_base_url
        self.clock = clock
        self.on_notification = on_notification
        self.lock = threading.RLock()

    # -- entry points ---------------------------------------------------------------------------------
    def handle(self, api: str, body: dict) -> Reply:
        handler = {"pay": self._pay, "inquiryPayment": self._inquiry_payment, "cancel": self._cancel,
                   "refund": self._refund, "inquiryRefund": self._inquiry_refund}[api]
        with self.atomic():
            return handler(body)

    @contextlib.contextmanager
    def atomic(self):
        """One call, one transaction, one at a time: what makes idempotency and single use hold."""
        with self.lock:
            self.db.execute("BEGIN")  # the lock already serialises us; a read-only call takes no write lock
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def tick(self) -> None:
        """Apply what time has decided: customers confirming or declining, order codes expiring."""
        now = self.clock()
        with self.lock:
            rows = self.db.execute(
                "SELECT * FROM payments WHERE status='PROCESSING' AND "
                "((settle_at IS NOT NULL AND settle_at<=?) OR (expire_at IS NOT NULL AND expire_at<=?))",
                (now, now)).fetchall()
            if rows:
                with self.atomic():
                    for row in rows:
                        self._load(row["payment_id"])

    def wallet_pay_order(self, code_value: Any) -> tuple[int, dict]:
        """A customer's wallet pays an issued order code."""
        if not isinstance(code_value, str) or not code_value:
            return 400, {"result": result("PARAM_ILLEGAL", "F", "codeValue is missing")}
        with self.atomic():
            return self._wallet_pay(code_value)

    # -- entry codes ----------------------------------------------------------------------------------
    def issue_entry_code(self, merchant: dict, notify_url: str | None = None) -> str:
        """The store's static entry code (issued once per merchant and store; the same value afterwards);
        ``merchant`` is the order.merchant object its payments carry; ``notify_url``, when given, becomes
        where its payments are notified."""
        merchant_id, store_id = _get(merchant, "referenceMerchantId"), _get(merchant, "store.referenceStoreId")
        if not (isinstance(merchant_id, str) and merchant_id and isinstance(store_id, str) and store_id):
            raise ValueError("merchant.referenceMerchantId and merchant.store.referenceStoreId are required")
        with self.atomic():
            row = self.db.execute("SELECT code_value FROM entry_codes WHERE merchant_id=? AND store_id=?",
                                  (merchant_id, store_id)).fetchone()
            if row is None:
                code = ENTRY_CODE_URL.format(token=secrets.token_urlsafe(12))
                self.db.execute("INSERT INTO entry_codes VALUES (?,?,?,?,?,?)",
                                (code, merchant_id, store_id, json.dumps(merchant), notify_url, self.clock()))
                return code
            if notify_url is not None:
                self.db.execute("UPDATE entry_codes SET notify_url=? WHERE code_value=?", (notify_url, row[0]))
            return row[0]

    def set_entry_code_notify(self, code_value: str, notify_url: str) -> bool:
        """Where an entry code's payments are notified from now on; False if no such code."""
        with self.atomic():
            return self.db.execute("UPDATE entry_codes SET notify_url=? WHERE code_value=?",
                                   (notify_url, code_value)).rowcount == 1

    def wallet_pay_entry_code(self, code_value: Any, amount: Any) -> tuple[int, dict]:
        """A customer scans the store's entry code and types ``amount``: the merchant's page makes the
        EntryCode pay (as entry_code.json), the wallet pays it, and the merchant learns it by notification."""
        if not isinstance(code_value, str) or not code_value:
            return 400, {"result": result("PARAM_ILLEGAL", "F", "codeValue is missing")}
        if not isinstance(amount, dict):
            return 400, {"result": result("PARAM_ILLEGAL", "F", "amount is missing: {\"currency\", \"value\"}")}
        checked = _amount({"amount": amount}, "amount")
        if isinstance(checked, Reply):
            assert checked.body is not None
            return 400, checked.body
        currency, value = checked
        with self.atomic():
            code = self.db.execute("SELECT * FROM entry_codes WHERE code_value=?", (code_value,)).fetchone()
            if code is None:
                return 404, {"result": result("INVALID_CODE", "F", "no entry code has this value")}
            request_id = "EC" + time.strftime("%Y%m%d%H%M%S", time.gmtime(self.clock())) + secrets.token_hex(8)
            money = {"currency": currency, "value": str(value)}
            body = {"productCode": "IN_STORE_PAYMENT", "paymentRequestId": request_id,
                    "paymentMethod": {"paymentMethodType": "CONNECT_WALLET"},
                    "paymentFactor": {"inStorePaymentScenario": "EntryCode"}, "paymentAmount": money,
                    "order": {"referenceOrderId": request_id, "orderDescription": "Entry code payment",
                              "orderAmount": money, "merchant": json.loads(code["merchant"]),
                              "env": {"userAgent": WALLET_USER_AGENT}}}
            if code["notify_url"]:
                body["paymentNotifyUrl"] = code["notify_url"]
            reply = self._pay(body)
            answer = reply.body or {}
            if reply.http_status != 200 or answer.get("result", {}).get("resultStatus") != "S":
                http = 503 if reply.http_status != 200 else 409
                return http, answer or {"result": result("SYSTEM_BUSY", "U", "the gateway is unavailable")}
            self.db.execute("UPDATE payments SET entry_code=? WHERE payment_id=?", (code_value, answer["paymentId"]))
            p = self._load(answer["paymentId"])
            assert p is not None
            status, rcode, message = self._wallet_outcome(p)
            if status != "PROCESSING":
                p = self._finish(p, status, rcode, message, at=self.clock())
            return 200, {"result": result(rcode, {"SUCCESS": "S", "FAIL": "F"}.get(status, "U"), message),
                         "paymentId": p["payment_id"], "paymentRequestId": request_id, "paymentStatus": status,
                         "paymentAmount": money, "redirectActionForm": answer["redirectActionForm"]}

    def ledger(self) -> dict:
        with self.lock:
            self.tick()
            payments = []
            for p in self.db.execute("SELECT * FROM payments ORDER BY created_at, payment_id"):
                refunds = [{"refundRequestId": r["refund_request_id"], "refundId": r["refund_id"],
                            "amount": {"currency": r["currency"], "value": str(r["amount"])}, "status": r["status"]}
                           for r in self.db.execute("SELECT * FROM refunds WHERE payment_id=? ORDER BY created_at",
                                                    (p["payment_id"],))]
                payments.append({"paymentRequestId": p["payment_request_id"], "paymentId": p["payment_id"],
                                 "mode": p["mode"], "status": p["status"], "resultCode": p["result_code"],
                                 "amount": {"currency": p["currency"], "value": str(p["amount"])},
                                 "refunds": refunds, "cancelled": p["status"] == "CANCELLED",
                                 **({"entryCode": p["entry_code"]} if p["entry_code"] else {})})
        return {"payments": payments}

    # -- state ----------------------------------------------------------------------------------------
    def _load(self, payment_id: str, column: str = "payment_id") -> Row | None:
        row = self.db.execute(f"SELECT * FROM payments WHERE {column}=?", (payment_id,)).fetchone()
        return None if row is None else self._current(row)

    def _current(self, row: Row) -> Row:
        """A payment (as read) as of now: scripted settlements and expiries happen lazily, on first look."""
        if row["status"] != "PROCESSING":
            return row
        now = self.clock()
        if row["settle_at"] is not None and row["settle_at"] <= now:
            _, status, code, message = sc.SETTLE_AFTER[row["scenario"]]
            return self._finish(row, status, code, message, at=row["settle_at"])
        if row["expire_at"] is not None and row["expire_at"] <= now:
            return self._finish(row, "FAIL", "ORDER_IS_CLOSED", "the order code expired before it was paid",
                                at=row["expire_at"])
        return row

    def _finish(self, row: Row, status: str, code: str, message: str, at: float) -> Row:
        self.db.execute(
            "UPDATE payments SET status=?, result_code=?, result_message=?, paid_at=?, closed_at=? WHERE payment_id=?",
            (status, code, message, at if status == "SUCCESS" else None, None if status == "SUCCESS" else at,
             row["payment_id"]))
        row = self.db.execute("SELECT * FROM payments WHERE payment_id=?", (row["payment_id"],)).fetchone()
        self._notify_payment(row)
        return row

    def _find_payment(self, body: dict) -> Row | None:
        if body.get("paymentId"):  # paymentId wins (spec §4)
            return self._load(body["paymentId"])
        return self._load(body["paymentRequestId"], "payment_request_id")

    def _payment_fields(self, p: Row) -> dict:
        fields = {"paymentRequestId": p["payment_request_id"], "paymentId": p["payment_id"],
                  "paymentAmount": {"currency": p["currency"], "value": str(p["amount"])},
                  "paymentCreateTime": iso(p["created_at"])}
        if p["status"] == "SUCCESS" or p["paid_at"] is not None:
            fields.update({"paymentTime": iso(p["paid_at"]), "actualPaymentAmount": fields["paymentAmount"],
                           "pspCustomerInfo": {"pspName": "ALIPAY_SANDBOX",
                                               "displayCustomerId": "****" + p["payment_id"][-4:]}})
        return fields

    def _order_code_form(self, p: Row) -> dict:
        return {"expireTime": iso(p["expire_at"]),
                "codeDetails": [{"codeValue": p["code_value"], "codeValueType": "QRCODE", "displayType": "TEXT"}]}

    def _state_result(self, p: Row) -> dict:
        """What a pay answers for this payment as it is now."""
        if p["status"] == "SUCCESS":
            return result("SUCCESS", "S", "success")
        if p["status"] == "FAIL":
            return result(p["result_code"], "F", p["result_message"])
        if p["status"] == "CANCELLED":
            return result("ORDER_IS_CLOSED", "F", "the payment was cancelled")
        return result("PAYMENT_IN_PROCESS", "U", "payment in process: ask inquiryPayment")

    def _earlier(self, table: str, column: str, request_id: str, digest: str) -> Row | Reply | None:
        """Idempotency: the row this request id made before, or REPEAT_REQ_INCONSISTENT if its body differed."""
        row = self.db.execute(f"SELECT * FROM {table} WHERE {column}=?", (request_id,)).fetchone()
        if row is not None and row["body_hash"] != digest:
            wire = {"payment_request_id": "paymentRequestId", "refund_request_id": "refundRequestId"}[column]
            return fail("REPEAT_REQ_INCONSISTENT", f"this {wire} was already used with a different request")
        return row

    # -- pay ------------------------------------------------------------------------------------------
    def _pay(self, body: dict) -> Reply:
        problem = _missing(body, _PAY_REQUIRED)
        if problem:
            return problem
        if body["productCode"] != "IN_STORE_PAYMENT":
            return fail("PARAM_ILLEGAL", "productCode must be IN_STORE_PAYMENT")
        if body["paymentMethod"]["paymentMethodType"] != "CONNECT_WALLET":
            return fail("PARAM_ILLEGAL", "paymentMethod.paymentMethodType must be CONNECT_WALLET")
        mode = body["paymentFactor"]["inStorePaymentScenario"]
        if mode not in ("PaymentCode", "OrderCode", "EntryCode"):
            return fail("PARAM_ILLEGAL",
                        "paymentFactor.inStorePaymentScenario must be PaymentCode, OrderCode or EntryCode")
        if mode in ("PaymentCode", "EntryCode"):
            problem = _missing(body, _PAYMENT_CODE_REQUIRED if mode == "PaymentCode" else _ENTRY_CODE_REQUIRED)
            if problem:
                return problem
        amount = _amount(body, "paymentAmount")
        if isinstance(amount, Reply):
            return amount
        order_amount = _amount(body, "order.orderAmount")
        if isinstance(order_amount, Reply):
            return order_amount
        currency, value = amount
        if order_amount[0] != currency:
            return fail("PARAM_ILLEGAL", "order.orderAmount.currency must be paymentAmount's currency")
        digest = body_hash(body)
        if self.db.execute("SELECT 1 FROM closed_requests WHERE payment_request_id=?",
                           (body["paymentRequestId"],)).fetchone():
            return fail("ORDER_IS_CLOSED", "this payment was cancelled before it arrived")
        existing = self._earlier("payments", "payment_request_id", body["paymentRequestId"], digest)
        if isinstance(existing, Reply):
            return existing
        if existing:  # its payments row, read just now
            return self._pay_again(self._current(existing))
        if value == sc.UNAVAILABLE:
            return Reply(None, http_status=503)
        if mode == "PaymentCode":
            return self._pay_payment_code(body, currency, value, digest)
        if mode == "EntryCode":
            return self._start_entry_payment(body, currency, value, digest)
        return self._issue_order_code(body, currency, value, digest)

    def _pay_again(self, p: Row) -> Reply:
        """Idempotency: the same request gets the same payment, as it stands now."""
        fields = self._payment_fields(p)
        if p["mode"] == "EntryCode" and p["status"] in ("PROCESSING", "SUCCESS"):
            return Reply({"result": result("SUCCESS", "S", "success"), **fields,
                          "redirectActionForm": self._redirect_form(p)})
        if p["mode"] == "OrderCode":
            if p["status"] in ("CANCELLED", "FAIL"):
                return Reply({"result": result("ORDER_IS_CLOSED", "F", "the order code is closed"), **fields})
            return Reply({"result": result("SUCCESS", "S", "success"), **fields,
                          "orderCodeForm": self._order_code_form(p)})
        return Reply({"result": self._state_result(p), **fields},
                     break_signature=p["scenario"] == sc.BROKEN_SIGNATURE)

    def _new_payment(self, body: dict, mode: str, currency: str, value: int, digest: str, status: str,
                     code: str, message: str, **extra) -> Row:
        now = self.clock()
        payment_id = time.strftime("%Y%m%d", time.gmtime(now)) + "1154" + secrets.token_hex(8)
        columns = {"payment_id": payment_id, "payment_request_id": body["paymentRequestId"], "body_hash": digest,
                   "mode": mode, "scenario": value if value in sc.TABLE else None, "currency": currency,
                   "amount": value, "status": status, "result_code": code, "result_message": message,
                   "notify_url": body.get("paymentNotifyUrl") or None, "created_at": now,
                   "paid_at": now if status == "SUCCESS" else None,
                   "closed_at": now if status == "FAIL" else None,
                   # kept for the reconciliation reports' referenceMerchantId/referenceStoreId (pos_app.sim.reports)
                   "merchant_id": _get(body, "order.merchant.referenceMerchantId"),
                   "store_id": _get(body, "order.merchant.store.referenceStoreId"), **extra}
        self.db.execute(f"INSERT INTO payments ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
                        tuple(columns.values()))
        row = {**_NEW_PAYMENT_DEFAULTS, **columns}  # the row as stored, without reading it back
        if status in ("SUCCESS", "FAIL"):
            self._notify_payment(row)
        return row

    def _pay_payment_code(self, body: dict, currency: str, value: int, digest: str) -> Reply:
        code = body["paymentMethod"]["paymentMethodId"]
        problem = None
        code_hash = hashlib.sha256(code.encode()).hexdigest()
        if not (code.isascii() and code.isdigit()) or scan.classify(code).kind != scan.PAYMENT_CODE:
            problem = "paymentMethod.paymentMethodId is not a valid payment code"
        elif self.db.execute("SELECT 1 FROM used_codes WHERE code_hash=?", (code_hash,)).fetchone():
            problem = "this payment code was already used: ask the customer to refresh it"
        if problem:  # a decided F: the request id now answers this, whatever is resent under it
            p = self._new_payment(body, "PaymentCode", currency, value, digest, "FAIL", "INVALID_CODE", problem)
            return Reply({"result": self._state_result(p), **self._payment_fields(p)})
        status, rcode, message, settle_at = "SUCCESS", "SUCCESS", "success", None
        if value in sc.SETTLE_AFTER:
            status, rcode, message = "PROCESSING", "PAYMENT_IN_PROCESS", "waiting for the customer"
            settle_at = self.clock() + sc.SETTLE_AFTER[value][0]
        elif value in (sc.STUCK, sc.STUCK_FLAKY_CANCEL):
            status, rcode, message = "PROCESSING", "PAYMENT_IN_PROCESS", "waiting for the customer"
        elif value == sc.BALANCE_NOT_ENOUGH:
            status, rcode, message = "FAIL", "USER_BALANCE_NOT_ENOUGH", "the customer's balance is not enough"
        p = self._new_payment(body, "PaymentCode", currency, value, digest, status, rcode, message,
                              code_hash=code_hash, settle_at=settle_at)
        self.db.execute("INSERT INTO used_codes VALUES (?,?,?)", (code_hash, p["payment_id"], self.clock()))
        return self._new_pay_reply({"result": self._state_result(p), **self._payment_fields(p)}, value)

    def _issue_order_code(self, body: dict, currency: str, value: int, digest: str) -> Reply:
        expire_at: float | None = self.clock() + self.order_code_ttl
        expiry = body.get("paymentExpiryTime")
        if expiry is not None:
            try:
                when = datetime.fromisoformat(expiry)
                expire_at = when.timestamp() if when.tzinfo else None
            except (TypeError, ValueError, OverflowError):
                expire_at = None
            if expire_at is None:
                return fail("PARAM_ILLEGAL", "paymentExpiryTime must be an ISO 8601 time with an offset")
            if expire_at <= self.clock():
                return fail("PARAM_ILLEGAL", "paymentExpiryTime is already past")
            if expire_at > self.clock() + 366 * 86400:
                return fail("PARAM_ILLEGAL", "paymentExpiryTime is more than a year ahead")
        code_value = self.code_base_url + secrets.token_urlsafe(18)
        p = self._new_payment(body, "OrderCode", currency, value, digest, "PROCESSING", "PAYMENT_IN_PROCESS",
                              "order code issued", code_value=code_value, expire_at=expire_at)
        return self._new_pay_reply({"result": result("SUCCESS", "S", "success"), **self._payment_fields(p),
                                    "orderCodeForm": self._order_code_form(p)}, value)

    def _start_entry_payment(self, body: dict, currency: str, value: int, digest: str) -> Reply:
        """An EntryCode pay: S means "the wallet may pay now" (entry_code_s.json: redirectActionForm, method
        SCAN), not "paid"; the outcome comes by notification (or inquiry)."""
        p = self._new_payment(body, "EntryCode", currency, value, digest, "PROCESSING", "PAYMENT_IN_PROCESS",
                              "waiting for the customer to pay in the wallet", code_value=None)
        return Reply({"result": result("SUCCESS", "S", "success"), **self._payment_fields(p),
                      "redirectActionForm": self._redirect_form(p)})

    def _redirect_form(self, p: Row) -> dict:
        qr = self.code_base_url + p["payment_id"]
        return {"method": "SCAN", "redirectUrl": ENTRY_REDIRECT_URL.format(qr=qr)}

    @staticmethod
    def _new_pay_reply(body: dict[str, Any], value: int) -> Reply:
        """A new payment's answer, as the amount's transport scenario delivers it."""
        reply = Reply(body)
        if value in (sc.UNKNOWN_BUT_PAID, sc.FLAKY_INQUIRY):
            body["result"] = result("UNKNOWN_EXCEPTION", "U", "unknown exception: ask inquiryPayment")
        elif value == sc.DROP_AFTER_PAID:
            reply.drop = True
        elif value == sc.SLOW_ANSWER:
            reply.delay = sc.SLOW_ANSWER_SECONDS
        elif value == sc.BROKEN_SIGNATURE:
            reply.break_signature = True
        return reply

    def _wallet_pay(self, code_value: str) -> tuple[int, dict]:
        hit = self.db.execute("SELECT * FROM payments WHERE code_value=?", (code_value,)).fetchone()
        if hit is None:
            return 404, {"result": result("INVALID_CODE", "F", "no order code has this value")}
        p = self._current(hit)
        if p["status"] == "FAIL" and p["result_code"] == "ORDER_IS_CLOSED":
            return 409, {"result": result("EXPIRED_CODE", "F", "the order code has expired")}
        if p["status"] != "PROCESSING":
            return 409, {"result": result("ORDER_IS_CLOSED", "F", f"the order is already {p['status'].lower()}"),
                         "paymentId": p["payment_id"]}
        status, code, message = self._wallet_outcome(p)
        if status == "PROCESSING":
            return 202, {"result": result("PAYMENT_IN_PROCESS", "U", "waiting"), "paymentId": p["payment_id"]}
        p = self._finish(p, status, code, message, at=self.clock())
        return 200, {"result": result(code, "S" if status == "SUCCESS" else "F", message),
                     "paymentId": p["payment_id"], "paymentStatus": status}

    @staticmethod
    def _wallet_outcome(p: Row) -> tuple[str, str, str]:
        """What the customer's wallet does with a payment it is asked to pay, by the amount's scenario."""
        if p["scenario"] in (sc.STUCK, sc.STUCK_FLAKY_CANCEL):
            return "PROCESSING", "PAYMENT_IN_PROCESS", "waiting"
        outcome = {sc.BALANCE_NOT_ENOUGH: ("FAIL", "USER_BALANCE_NOT_ENOUGH", "the customer's balance is not enough"),
                   sc.DECLINE_AFTER_2S: ("FAIL", "USER_PAYMENT_VERIFICATION_FAILED", "the customer declined")}
        return outcome.get(p["scenario"], ("SUCCESS", "SUCCESS", "success"))

    # -- inquiry, cancel ------------------------------------------------------------------------------
    def _target(self, body: dict) -> Row | Reply:
        """The payment an inquiry or cancel names, or the answer saying why there is none."""
        if not body.get("paymentId") and not body.get("paymentRequestId"):
            return fail("PARAM_ILLEGAL", "paymentRequestId or paymentId is missing")
        p = _missing(body, []) or self._find_payment(body)
        return fail("ORDER_NOT_EXIST", "no payment has this id") if p is None else p

    def _inquiry_payment(self, body: dict) -> Reply:
        p = self._target(body)
        if isinstance(p, Reply):
            return p
        if p["scenario"] == sc.FLAKY_INQUIRY and p["inquiries"] < sc.FLAKY_INQUIRIES:
            self.db.execute("UPDATE payments SET inquiries=inquiries+1 WHERE payment_id=?", (p["payment_id"],))
            return Reply({"result": result("UNKNOWN_EXCEPTION", "U", "unknown exception: ask again")})
        answer = {"result": result("SUCCESS", "S", "success"), "paymentStatus": p["status"],
                  **self._payment_fields(p)}
        if p["status"] in ("FAIL", "SUCCESS", "PROCESSING"):
            answer.update(paymentResultCode=p["result_code"], paymentResultMessage=p["result_message"])
        if p["mode"] == "OrderCode" and p["status"] == "PROCESSING":
            answer["orderCodeForm"] = self._order_code_form(p)
        return Reply(answer)

    def _cancel(self, body: dict) -> Reply:
        p = self._target(body)
        if isinstance(p, Reply) and p.body is not None and p.body["result"]["resultCode"] == "ORDER_NOT_EXIST" \
                and not body.get("paymentId") and isinstance(body.get("paymentRequestId"), str):
            # Unconfirmed, chosen: cancel closes a request id the gateway has not seen yet, so a pay
            # delayed in the network cannot succeed after the terminal gave up on it.
            self.db.execute("INSERT OR IGNORE INTO closed_requests VALUES (?,?)",
                            (body["paymentRequestId"], self.clock()))
            return Reply({"result": result("SUCCESS", "S", "success"),
                          "paymentRequestId": body["paymentRequestId"], "cancelTime": iso(self.clock())})
        if isinstance(p, Reply):
            return p
        ids = {"paymentId": p["payment_id"], "paymentRequestId": p["payment_request_id"]}
        if p["status"] in ("CANCELLED", "FAIL"):  # already closed: nothing to undo, and its answer stays
            return Reply({"result": result("SUCCESS", "S", "success"), **ids, "cancelTime": iso(p["closed_at"])})
        if p["scenario"] == sc.STUCK_FLAKY_CANCEL and p["cancels"] < sc.FLAKY_CANCELS:
            self.db.execute("UPDATE payments SET cancels=cancels+1 WHERE payment_id=?", (p["payment_id"],))
            self._record_cancel(p, "UNKNOWN_EXCEPTION")
            return Reply({"result": result("UNKNOWN_EXCEPTION", "U", "unknown exception: cancel again")})
        now = self.clock()
        if now - p["created_at"] > self.cancel_window:
            self._record_cancel(p, "CANCEL_WINDOW_EXCEED")
            return fail("CANCEL_WINDOW_EXCEED", "the cancel window has passed: refund instead", **ids)
        if self.db.execute("SELECT 1 FROM refunds WHERE payment_id=?", (p["payment_id"],)).fetchone():
            self._record_cancel(p, "PROCESS_FAIL")
            return fail("PROCESS_FAIL", "the payment has a refund and can no longer be cancelled", **ids)
        self.db.execute("UPDATE payments SET status='CANCELLED', closed_at=? WHERE payment_id=?",
                        (now, p["payment_id"]))
        self._record_cancel(p, "SUCCESS")
        return Reply({"result": result("SUCCESS", "S", "success"), **ids, "cancelTime": iso(now)})

    def _record_cancel(self, p: Row, code: str) -> None:
        self.db.execute("INSERT INTO cancels (payment_id, at, result_code) VALUES (?,?,?)",
                        (p["payment_id"], self.clock(), code))

    # -- refunds --------------------------------------------------------------------------------------
    def _refund_fields(self, r: Row) -> dict:
        return {"refundRequestId": r["refund_request_id"], "refundId": r["refund_id"], "paymentId": r["payment_id"],
                "refundAmount": {"currency": r["currency"], "value": str(r["amount"])},
                "refundTime": iso(r["created_at"])}

    def _refund(self, body: dict) -> Reply:
        problem = _missing(body, ["refundRequestId", "paymentId", "refundAmount.currency", "refundAmount.value"])
        if problem:
            return problem
        amount = _amount(body, "refundAmount")
        if isinstance(amount, Reply):
            return amount
        currency, value = amount
        digest = body_hash(body)
        existing = self._earlier("refunds", "refund_request_id", body["refundRequestId"], digest)
        if isinstance(existing, Reply):
            return existing
        if existing:
            return self._refund_reply(existing)
        p = self._load(body["paymentId"])
        if p is None:
            return fail("ORDER_NOT_EXIST", "no payment has this paymentId")
        refunded = self.db.execute("SELECT COALESCE(SUM(amount),0) FROM refunds WHERE payment_id=? "
                                   "AND status='SUCCESS'", (p["payment_id"],)).fetchone()[0]
        code, message = "SUCCESS", "success"
        if p["status"] != "SUCCESS":
            code, message = "PROCESS_FAIL", f"the payment is {p['status'].lower()}, not paid: nothing to refund"
        elif currency != p["currency"]:
            code, message = "CURRENCY_NOT_SUPPORT", f"refundAmount.currency must be the payment's, {p['currency']}"
        elif self.clock() - p["paid_at"] > self.refund_window:
            code, message = "REFUND_WINDOW_EXCEED", "the refund window of this payment has passed"
        elif refunded + value > p["amount"]:
            code, message = ("REFUND_AMOUNT_EXCEED",
                             f"refunds would total {refunded + value}, more than the {p['amount']} paid")
        refund_id = time.strftime("%Y%m%d", time.gmtime()) + "1154R" + secrets.token_hex(8)
        self.db.execute("INSERT INTO refunds VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (refund_id, body["refundRequestId"], p["payment_id"], digest, currency, value,
                         "SUCCESS" if code == "SUCCESS" else "FAIL", code, message, self.clock()))
        r = self.db.execute("SELECT * FROM refunds WHERE refund_id=?", (refund_id,)).fetchone()
        if code == "SUCCESS":
            self._enqueue("notifyRefund", refund_id, body.get("refundNotifyUrl") or p["notify_url"], {
                "notifyType": "REFUND_RESULT", "result": result("SUCCESS", "S", "success"), "refundStatus": "SUCCESS",
                **self._refund_fields(r)})
        return self._refund_reply(r)

    def _refund_reply(self, r: Row) -> Reply:
        """A refund's answer, the first time and every time its request is resent."""
        if r["status"] == "SUCCESS":
            return Reply({"result": result("SUCCESS", "S", "success"), **self._refund_fields(r)})
        return fail(r["result_code"], r["result_message"], refundRequestId=r["refund_request_id"],
                    paymentId=r["payment_id"])

    def _inquiry_refund(self, body: dict) -> Reply:
        if not body.get("refundRequestId") and not body.get("refundId"):
            return fail("PARAM_ILLEGAL", "refundRequestId or refundId is missing")
        problem = _missing(body, [])
        if problem:
            return problem
        if body.get("refundId"):
            r = self.db.execute("SELECT * FROM refunds WHERE refund_id=?", (body["refundId"],)).fetchone()
        else:
            r = self.db.execute("SELECT * FROM refunds WHERE refund_request_id=?",
                                (body["refundRequestId"],)).fetchone()
        if r is None:
            return fail("ORDER_NOT_EXIST", "no refund has this id")
        return Reply({"result": result("SUCCESS", "S", "success"), "refundStatus": r["status"],
                      **self._refund_fields(r)})

    # -- notifications --------------------------------------------------------------------------------
    def _notify_payment(self, p: Row) -> None:
        status = "S" if p["status"] == "SUCCESS" else "F"
        body = {"notifyType": "PAYMENT_RESULT", "result": result(p["result_code"], status, p["result_message"]),
                **self._payment_fields(p)}
        if p["mode"] == "EntryCode":   # unconfirmed: the scenario named in the notification (see README)
            body["paymentFactor"] = {"inStorePaymentScenario": "EntryCode"}
        self._enqueue("notifyPayment", p["payment_id"], p["notify_url"], body)

    def _enqueue(self, kind: str, ref: str, url: str | None, body: dict) -> None:
        if not url:
            return
        now = self.clock()
        data = json.dumps(body, separators=(",", ":")).encode()
        cursor = self.db.execute("INSERT INTO notifications (kind, ref, url, body, next_at, created_at) "
                                 "VALUES (?,?,?,?,?,?)", (kind, ref, url, data, now, now))
        self.on_notification({"id": cursor.lastrowid, "kind": kind, "ref": ref, "url": url, "body": data,
                              "attempts": 0})
