#!/usr/bin/env python3
"""Drive the official Antom Python SDK (PyPI ``global-open-sdk-python``) against our simulator.

Run ONLY with the SDK's own venv (``/tmp/sdkvenv/bin/python``); pytest must never import this file.

    sdk_driver.py --base-url http://127.0.0.1:PORT --client-id ID \\
        --merchant-private-key FILE --gateway-public-key FILE --notify-url URL COMMAND

COMMAND is ``interop`` or ``bench --seconds S``; each prints one JSON object on stdout.

The SDK hard-codes an HTTPS connection to port 443. The only thing changed here is its
connection factory (plain HTTP to the host:port of --base-url; for https:// its own HTTPS connection and
default context on that port, trusting what SSL_CERT_FILE names); its request building, signing,
header parsing and response verification run exactly as shipped.
"""
import argparse
import base64
import http.client
import json
import secrets
import ssl
import sys
import time
import uuid
from urllib.parse import urlsplit

from com.alipay.ams.api.default_alipay_client import DefaultAlipayClient
from com.alipay.ams.api.exception.exception import AlipayApiException
from com.alipay.ams.api.model.amount import Amount
from com.alipay.ams.api.model.env import Env
from com.alipay.ams.api.model.merchant import Merchant
from com.alipay.ams.api.model.order import Order
from com.alipay.ams.api.model.store import Store
from com.alipay.ams.api.net import default_http_rpc
from com.alipay.ams.api.request.pay.alipay_pay_cancel_request import AlipayPayCancelRequest
from com.alipay.ams.api.request.pay.alipay_pay_query_request import AlipayPayQueryRequest
from com.alipay.ams.api.request.pay.alipay_refund_request import AlipayRefundRequest
from com.alipay.ams.api.request.pay.order_code_payment_request import OrderCodePaymentRequest
from com.alipay.ams.api.request.pay.user_presented_code_payment_request import (
    UserPresentedCodePaymentRequest,
)

CURRENCY = "USD"
#: How the SDK refuses a request or an answer: its own exception (a ValueError: signing, transport, a status
#: or signature it rejects), its request validators' asserts, and the JSON and field errors of reading an
#: answer. Anything else is a bug in this driver and ends it with its traceback.
SDK_REFUSALS = (AlipayApiException, AssertionError, ValueError, TypeError, KeyError)
_last_body = {"raw": None}  # last response body read by the SDK, kept so a rejected one can be shown
_used_codes = set()


class _TeeResponse(http.client.HTTPResponse):
    """Remember the body the SDK reads, so a response it rejects still appears in the report."""

    def read(self, amt=None):
        data = super().read(amt)
        _last_body["raw"] = data
        return data


class _PlainConnection(http.client.HTTPConnection):
    response_class = _TeeResponse


class _TlsConnection(http.client.HTTPSConnection):
    response_class = _TeeResponse


def redirect_sdk_to_plain_http():
    """Swap the SDK's connection factory for a plain-HTTP one.

    ``default_http_rpc.do_post`` calls the module-level ``__get_http_connection(url)`` (no name
    mangling at module level), which returns ``HTTPSConnection(host, 443)``. ``do_post`` looks the
    name up at call time, so replacing the module attribute redirects every call. The SDK still
    sends the absolute URL as the request target (``POST http://host:port/ams/api/... HTTP/1.1``).
    """

    def factory(url, timeout=default_http_rpc.DEFAULT_TIMEOUT):
        parts = urlsplit(url)
        if parts.scheme == "https":   # the SDK's own connection and context, only its port changed; the
            # simulator's CA comes the OpenSSL way, SSL_CERT_FILE, as a merchant would give the SDK one
            return _TlsConnection(parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
        return _PlainConnection(parts.hostname, parts.port or 80, timeout=timeout)

    setattr(default_http_rpc, "__get_http_connection", factory)


def pem_to_bare_base64(path, kind):
    """Strip PEM armor: the SDK re-wraps bare base64 in its own markers.

    Private: it wraps in ``BEGIN RSA PRIVATE KEY`` and so rejects a PKCS#8 PEM, but the bare base64
    of the PKCS#8 DER (or PKCS#1 DER) loads. Public: it wraps in ``BEGIN PUBLIC KEY`` (SPKI only).
    """
    with open(path) as f:
        lines = f.read().strip().splitlines()
    wanted = ("-----BEGIN PUBLIC KEY-----",) if kind == "public" else (
        "-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----")
    if not lines or lines[0].strip() not in wanted:
        raise ValueError(f"{path}: expected a PEM starting with {' or '.join(wanted)}")
    bare = "".join(line.strip() for line in lines if not line.startswith("-----"))
    try:
        base64.b64decode(bare, validate=True)
    except ValueError:
        raise ValueError(f"{path}: the key body is not valid base64") from None
    return bare


def new_payment_code():
    """An 18-digit Alipay+ payment code (28 + 16 digits), unique within this run."""
    while True:
        code = f"28{secrets.randbelow(10 ** 16):016d}"
        if code not in _used_codes:
            _used_codes.add(code)
            return code


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex}"


def build_order(value, terminal_env):
    """Order with merchant and store; env (terminal id + time) only for payment code."""
    store = Store()
    store.reference_store_id, store.store_name, store.store_mcc = "S001", "Sandbox Store 1", "5411"
    merchant = Merchant()
    merchant.reference_merchant_id = "SIM-MERCHANT-001"
    merchant.merchant_mcc, merchant.merchant_name, merchant.store = "5411", "Sandbox Store", store
    order = Order()
    order.reference_order_id = new_id("ORD")
    order.order_description = "interop test"
    order.order_amount = Amount(CURRENCY, value)
    order.merchant = merchant
    if terminal_env:
        env = Env()
        env.store_terminal_id = "T001"
        env.store_terminal_request_time = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        order.env = env
    return order


def pay_request(value, notify_url, payment_code=True):
    """The SDK's in-store request classes, as they come: they fill productCode, paymentMethod and
    paymentFactor, and send no settlementStrategy. Nothing is added, so the simulator meets what the
    SDK really sends."""
    if payment_code:
        return UserPresentedCodePaymentRequest(
            new_id("PRQ"), build_order(value, True), CURRENCY, value, new_payment_code(), notify_url)
    return OrderCodePaymentRequest(new_id("PRQ"), build_order(value, False), CURRENCY, value, notify_url)


def inquiry_request(payment_request_id):
    req = AlipayPayQueryRequest()
    req.payment_request_id = payment_request_id
    return req


def refund_request(payment_id, value, notify_url):
    req = AlipayRefundRequest()
    req.refund_request_id = new_id("RRQ")
    req.payment_id = payment_id
    req.refund_amount = Amount(CURRENCY, value)
    req.refund_reason = "interop test"
    req.refund_notify_url = notify_url
    return req


def cancel_request(payment_request_id):
    req = AlipayPayCancelRequest()
    req.payment_request_id = payment_request_id
    return req


def call(client, api, request):
    """One SDK call; ok means the SDK accepted the response (verified, no exception).

    request is the body the SDK built, so a test can see the SDK sent it unpatched. On failure,
    response is still the body the SDK read (if any), to show what it rejected.
    """
    _last_body["raw"], ok, error = None, True, None
    try:
        sent = json.loads(request.to_ams_json())  # the body as the SDK builds it (its validator runs here too)
    except SDK_REFUSALS as exc:
        sent = {"_unbuildable": f"{type(exc).__name__}: {exc}"}
    try:
        client.execute(request)
    except SDK_REFUSALS as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"
    raw = _last_body["raw"]
    try:
        response = json.loads(raw) if raw else None
    except ValueError:
        response = {"_unparsed": raw.decode("utf-8", "replace")}
    return {"api": api, "ok": ok, "request": sent, "response": response, "error": error}


def run_interop(client, notify_url):
    """pay (payment code) -> pay (order code) -> inquiry(a) -> refund(a) -> cancel(b)."""
    a = pay_request("1234", notify_url)
    b = pay_request("500", notify_url, payment_code=False)
    calls = [call(client, "pay_payment_code", a), call(client, "pay_order_code", b),
             call(client, "inquiry_payment", inquiry_request(a.payment_request_id))]
    payment_id = (calls[0]["response"] or {}).get("paymentId") if calls[0]["ok"] else None
    if payment_id:
        calls.append(call(client, "refund", refund_request(payment_id, "100", notify_url)))
    else:
        calls.append({"api": "refund", "ok": False, "response": None,
                      "error": "skipped: no paymentId in an accepted pay_payment_code response"})
    calls.append(call(client, "cancel", cancel_request(b.payment_request_id)))
    return {"calls": calls}


def run_bench(client, notify_url, seconds):
    """pay + inquiry pairs for `seconds`; round_trips counts SDK calls (one HTTP exchange each)."""
    round_trips = errors = pairs = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pay = pay_request("100", notify_url)
        for request in (pay, inquiry_request(pay.payment_request_id)):
            round_trips += 1
            try:
                client.execute(request)
            except SDK_REFUSALS:
                errors += 1
        pairs += 1
    elapsed = time.perf_counter() - start
    return {"round_trips": round_trips, "seconds": round(elapsed, 3), "errors": errors, "pairs": pairs}


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints a multi-line usage block; the brief wants one clear line on stderr."""

    def error(self, message):
        sys.stderr.write(f"sdk_driver: usage error: {message}\n")
        sys.exit(2)


def parse_args(argv):
    parser = _OneLineParser(prog="sdk_driver.py")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--merchant-private-key", required=True)
    parser.add_argument("--gateway-public-key", required=True)
    parser.add_argument("--notify-url", required=True)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)
    sub.add_parser("interop")
    sub.add_parser("bench").add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    url = urlsplit(args.base_url)
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme not in ("http", "https") or not url.hostname or not port or url.path not in ("", "/"):
        parser.error(f"--base-url must look like http(s)://127.0.0.1:PORT, got {args.base_url!r}")
    if args.command == "bench" and args.seconds <= 0:
        parser.error("--seconds must be positive")
    try:
        args.private_key = pem_to_bare_base64(args.merchant_private_key, "private")
        args.public_key = pem_to_bare_base64(args.gateway_public_key, "public")
    except (OSError, ValueError) as exc:
        parser.error(f"bad key file: {exc}")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    redirect_sdk_to_plain_http()
    client = DefaultAlipayClient(args.base_url.rstrip("/"), args.client_id, args.private_key, args.public_key)
    if args.command == "interop":
        result = run_interop(client, args.notify_url)
    else:
        result = run_bench(client, args.notify_url, args.seconds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
