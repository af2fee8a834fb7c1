"""Hypothesis throws arbitrary bodies and headers at a live simulator: every request gets a JSON
answer, nothing crashes, nothing hangs, and the server keeps serving."""

from __future__ import annotations

import http.client
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rawsim import pay_body

from pos_app import signing

APIS = ["pay", "inquiryPayment", "cancel", "refund", "inquiryRefund"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=20)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=200)


@pytest.fixture(scope="module")
def fuzz_sim(tmp_path_factory):
    from pos_app.sim import Simulator
    sim = Simulator(tmp_path_factory.mktemp("fuzz"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield sim, signing.load_private_key(sim.provisioned.keys_dir / "merchant_private.pem")
    sim.stop()


def _post(sim, path, body: bytes, headers: dict) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=15)
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def _signed_headers(sim, key, path, body):
    return {"Content-Type": "application/json", "client-id": sim.client_id, "request-time": "1",
            "signature": signing.sign(key, path, sim.client_id, "1", body)}


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(api=st.sampled_from(APIS), body=json_values)
def test_signed_arbitrary_json_gets_a_result(fuzz_sim, api, body):
    sim, key = fuzz_sim
    path = f"/ams/api/v1/payments/{api}"
    raw = json.dumps(body).encode()
    status, answer = _post(sim, path, raw, _signed_headers(sim, key, path, raw))
    assert status in (200, 503) and answer["result"]["resultStatus"] in ("S", "F", "U")


@FUZZ
@given(data=st.data())
def test_signed_pay_bodies_with_mutated_fields_get_a_result(fuzz_sim, data):
    """Start from a valid pay and replace one leaf with anything: F with a reason, or a real answer."""
    sim, key = fuzz_sim
    body = pay_body(minor=data.draw(st.integers(1, 10**6)))
    node = body
    while True:
        k = data.draw(st.sampled_from(sorted(node)))
        if isinstance(node[k], dict) and data.draw(st.booleans()):
            node = node[k]
            continue
        node[k] = data.draw(json_values)
        break
    path = "/ams/api/v1/payments/pay"
    raw = json.dumps(body).encode()
    status, answer = _post(sim, path, raw, _signed_headers(sim, key, path, raw))
    assert status in (200, 503)
    if answer["result"]["resultStatus"] == "F":
        assert answer["result"]["resultMessage"]


@FUZZ
@given(headers=st.dictionaries(st.sampled_from(["client-id", "request-time", "signature", "Content-Type",
                                                "Content-Length", "X-Other"]), header_text, max_size=5),
       body=st.binary(max_size=300))
def test_arbitrary_headers_and_bytes_get_an_answer(fuzz_sim, headers, body):
    sim, _ = fuzz_sim
    headers.pop("Content-Length", None)  # http.client sets the true length; lies are tested by hand elsewhere
    status, answer = _post(sim, "/ams/api/v1/payments/pay", body, headers)
    assert status in (200, 400, 411, 413) and answer["result"]["resultStatus"] in ("F", "U")


def test_server_still_healthy_after_fuzzing(fuzz_sim):
    sim, _ = fuzz_sim
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("GET", "/sim/health")
    assert conn.getresponse().status == 200
    conn.close()
