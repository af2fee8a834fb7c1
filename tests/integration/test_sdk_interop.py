"""Independent check: the official Python SDK, unchanged but for its connection (pointed at loopback
as spec §9 says), must pass the simulator's verification, and every simulator answer must pass the SDK's.
Its request classes are used as they come (no settlementStrategy): patching them would hide a simulator
that refuses what real merchants send."""

from __future__ import annotations

import pytest
import requests
from sdk.official_sdk import ensure_sdk, run_driver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sdk_python():
    python, why = ensure_sdk()
    if python is None:
        pytest.skip(why)
    return python


def test_official_sdk_interoperates_with_the_simulator(sdk_python, sim, receiver):
    report = run_driver(sdk_python, sim, receiver.url, "interop")
    calls = {c["api"]: c for c in report["calls"]}
    assert list(calls) == ["pay_payment_code", "pay_order_code", "inquiry_payment", "refund", "cancel"]
    for api in ("pay_payment_code", "pay_order_code"):  # the SDK's request classes as shipped: nothing added
        assert "settlementStrategy" not in calls[api]["request"], calls[api]["request"]
    for api, call in calls.items():
        assert call["ok"], f"the SDK rejected the simulator's {api} answer: {call['error']}"
        result = call["response"]["result"]
        assert result["resultStatus"] == "S", f"the simulator refused the SDK's {api}: {result}"
    assert calls["pay_order_code"]["response"]["orderCodeForm"]["codeDetails"][0]["codeValue"]
    assert calls["inquiry_payment"]["response"]["paymentStatus"] == "SUCCESS"
    assert calls["refund"]["response"]["refundAmount"] == {"currency": "USD", "value": "100"}
    ledger = {p["paymentRequestId"]: p for p in requests.get(sim.url + "/sim/ledger", timeout=5).json()["payments"]}
    paid = ledger[calls["pay_payment_code"]["response"]["paymentRequestId"]]
    assert paid["status"] == "SUCCESS" and [r["amount"]["value"] for r in paid["refunds"]] == ["100"]
    assert ledger[calls["pay_order_code"]["response"]["paymentRequestId"]]["cancelled"] is True
    # The SDK's notify URL got the simulator's signed notifications too.
    receiver.wait_for(lambda got: {g["body"]["notifyType"] for g in got} >= {"PAYMENT_RESULT", "REFUND_RESULT"})
