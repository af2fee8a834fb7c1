"""Hand-made signed requests to the simulator, to say what our own client never would (the simulator's
tests, the hardening tests and the fuzzer share them)."""

from __future__ import annotations

import http.client
import json
import uuid

from kit import payment_code, usd

from pos_app import messages, signing
from pos_app.config import MerchantConfig


class Raw:
    """Hand-made signed requests, to say what our own client never would."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.key = signing.load_private_key(sim.provisioned.keys_dir / "merchant_private.pem")
        self.gateway_key = signing.load_public_key(sim.provisioned.keys_dir / "gateway_public.pem")

    def post(self, api: str, body, *, sign=True, headers=None, path=None, raw: bytes | None = None,
             target=None) -> tuple[int, dict, dict]:
        path = path or f"/ams/api/v1/payments/{api}"
        data = raw if raw is not None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        sent = {"Content-Type": "application/json; charset=UTF-8", "client-id": self.sim.client_id,
                "request-time": "2026-11-22T00:51:03+00:00"}
        if sign:
            sent["signature"] = signing.sign(self.key, path, self.sim.client_id, sent["request-time"], data)
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        try:
            conn.request("POST", target or path, body=data, headers={k: v for k, v in sent.items() if v is not None})
            answer = conn.getresponse()
            payload = answer.read()
            got = {k.lower(): v for k, v in answer.getheaders()}
        finally:
            conn.close()
        return answer.status, json.loads(payload) if payload else {}, {**got, "_raw": payload, "_path": path}

    def verified(self, headers) -> bool:
        return signing.verify(self.gateway_key, headers["_path"], headers.get("client-id"),
                              headers.get("response-time"), headers["_raw"], headers.get("signature"))


def pay_body(minor=100, code=None, request_id=None, notify="http://127.0.0.1:9/notify", scenario="PaymentCode"):
    merchant = MerchantConfig("M1", "Shop", "5411", "S1", "Shop 1", "5411", "T1", "USD", "USD")
    if scenario == "PaymentCode":
        request = messages.pay_payment_code(merchant, request_id or uuid.uuid4().hex, usd(minor),
                                            code or payment_code(), description="x", notify_url=notify)
    else:
        request = messages.pay_order_code(merchant, request_id or uuid.uuid4().hex, usd(minor), description="x",
                                          notify_url=notify)
    return json.loads(request.body)
