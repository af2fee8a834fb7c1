"""Our client against the simulator over loopback HTTP: every API, every scenario, every way a call
can end up unknown."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import requests
from kit import payment_code, reserve_port, usd

from pos_app import messages
from pos_app.gateway import Delivery, GatewayClient, Status
from pos_app.sim import Simulator
from pos_app.sim import scenarios as sc


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """One simulator for the whole module (conftest's is one per test): every test here pays with its own
    request id and code, none reads the ledger as a whole, and the one fault set is cleared by its own test.
    A start and stop costs about 0.4 s (new RSA keys, the server's shutdown poll), 27 times over."""
    started = Simulator(tmp_path_factory.mktemp("sim"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield started
    started.stop()


def rid(prefix="pay") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def pay(client, config, minor, code=None, request_id=None):
    return client.pay_payment_code(config.merchant, request_id or rid(), usd(minor), code or payment_code(),
                                   description="test sale", notify_url=config.notifications.public_url)


def test_payment_code_pay_succeeds_and_inquiry_agrees(client, config):
    request_id = rid()
    outcome = pay(client, config, 1234, request_id=request_id)
    assert outcome.status is Status.SUCCESS and outcome.result_code == "SUCCESS"
    assert outcome.body["paymentRequestId"] == request_id
    assert outcome.body["paymentAmount"] == {"currency": "USD", "value": "1234"}
    inquiry = client.inquiry_payment(payment_request_id=request_id)
    assert inquiry.ok and inquiry.body["paymentStatus"] == "SUCCESS"
    by_id = client.inquiry_payment(payment_id=outcome.body["paymentId"])
    assert by_id.body["paymentRequestId"] == request_id


def test_order_code_pay_issues_a_code_then_the_wallet_pays(client, config, sim):
    request_id = rid()
    outcome = client.pay_order_code(config.merchant, request_id, usd(500), description="order code",
                                    notify_url=config.notifications.public_url)
    assert outcome.ok
    detail = outcome.body["orderCodeForm"]["codeDetails"][0]
    assert detail["codeValueType"] == "QRCODE" and detail["displayType"] == "TEXT"
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "PROCESSING"
    paid = requests.post(sim.url + "/sim/wallet/pay-order", json={"codeValue": detail["codeValue"]}, timeout=5)
    assert paid.status_code == 200 and paid.json()["paymentStatus"] == "SUCCESS"
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "SUCCESS"
    again = requests.post(sim.url + "/sim/wallet/pay-order", json={"codeValue": detail["codeValue"]}, timeout=5)
    assert again.status_code == 409, "an order code can be paid once"


def test_refund_partial_several_then_exceed_and_inquiry_refund(client, config):
    paid = pay(client, config, 1000)
    payment_id = paid.body["paymentId"]
    notify = config.notifications.public_url
    first = client.refund(rid("rf"), payment_id, usd(300), notify_url=notify)
    second_id = rid("rf")
    second = client.refund(second_id, payment_id, usd(700), notify_url=notify)
    assert first.ok and second.ok
    over = client.refund(rid("rf"), payment_id, usd(1), notify_url=notify)
    assert over.status is Status.FAILURE and over.result_code == "REFUND_AMOUNT_EXCEED"
    inquiry = client.inquiry_refund(refund_request_id=second_id)
    assert inquiry.ok and inquiry.body["refundStatus"] == "SUCCESS"
    assert client.inquiry_refund(refund_id=second.body["refundId"]).body["refundRequestId"] == second_id
    missing = client.inquiry_refund(refund_request_id=rid("rf"))
    assert missing.status is Status.FAILURE and missing.result_code == "ORDER_NOT_EXIST"


def test_cancel_paid_payment_then_refund_is_refused(client, config):
    paid = pay(client, config, 800)
    cancel = client.cancel(payment_request_id=paid.body["paymentRequestId"])
    assert cancel.ok
    assert client.cancel(payment_id=paid.body["paymentId"]).ok, "cancel is idempotent"
    assert client.inquiry_payment(payment_id=paid.body["paymentId"]).body["paymentStatus"] == "CANCELLED"
    refund = client.refund(rid("rf"), paid.body["paymentId"], usd(100), notify_url=config.notifications.public_url)
    assert refund.status is Status.FAILURE


def test_cancel_after_refund_fails_with_process_fail(client, config):
    paid = pay(client, config, 800)
    assert client.refund(rid("rf"), paid.body["paymentId"], usd(100), notify_url=config.notifications.public_url).ok
    cancel = client.cancel(payment_id=paid.body["paymentId"])
    assert cancel.status is Status.FAILURE and cancel.result_code == "PROCESS_FAIL"


def test_unknown_payment_is_order_not_exist(client):
    outcome = client.inquiry_payment(payment_request_id=rid())
    assert outcome.status is Status.FAILURE and outcome.result_code == "ORDER_NOT_EXIST"
    assert client.cancel(payment_id="20260101115400000000").result_code == "ORDER_NOT_EXIST"


def test_cancel_closes_a_request_id_before_its_pay_arrives(client, config):
    """So a pay delayed in the network cannot succeed after the terminal gave up on it."""
    request_id = rid()
    assert client.cancel(payment_request_id=request_id).ok
    late = pay(client, config, 900, request_id=request_id)
    assert late.status is Status.FAILURE and late.result_code == "ORDER_IS_CLOSED"


# -- scenarios ------------------------------------------------------------------------------------------

def test_9901_unknown_exception_but_paid(client, config):
    request_id = rid()
    outcome = pay(client, config, sc.UNKNOWN_BUT_PAID, request_id=request_id)
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "UNKNOWN_EXCEPTION"
    assert outcome.delivery is Delivery.DELIVERED
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "SUCCESS"


def test_9902_connection_drops_after_payment(client, config):
    request_id = rid()
    outcome = pay(client, config, sc.DROP_AFTER_PAID, request_id=request_id)
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "SUCCESS"


@pytest.mark.slow
def test_9903_customer_confirms_after_4_seconds(client, config):
    request_id = rid()
    outcome = pay(client, config, sc.CONFIRM_AFTER_4S, request_id=request_id)
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "PAYMENT_IN_PROCESS"
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "PROCESSING"
    time.sleep(4.2)
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "SUCCESS"


@pytest.mark.slow
def test_9904_customer_declines_after_2_seconds(client, config):
    request_id = rid()
    assert pay(client, config, sc.DECLINE_AFTER_2S, request_id=request_id).status is Status.UNKNOWN
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "PROCESSING"
    time.sleep(2.2)
    inquiry = client.inquiry_payment(request_id)
    assert inquiry.body["paymentStatus"] == "FAIL"
    assert inquiry.body["paymentResultCode"] == "USER_PAYMENT_VERIFICATION_FAILED"


def test_9905_balance_not_enough(client, config):
    outcome = pay(client, config, sc.BALANCE_NOT_ENOUGH)
    assert outcome.status is Status.FAILURE and outcome.result_code == "USER_BALANCE_NOT_ENOUGH"


def test_9906_stays_processing_until_cancelled(client, config):
    request_id = rid()
    assert pay(client, config, sc.STUCK, request_id=request_id).result_code == "PAYMENT_IN_PROCESS"
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "PROCESSING"
    assert client.cancel(request_id).ok
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "CANCELLED"


@pytest.mark.slow
def test_9907_answer_comes_after_the_client_timeout(sim, config):
    from dataclasses import replace
    short = replace(config.gateway, read_timeout=1.0)
    with GatewayClient.from_config(short) as client:
        request_id = rid()
        outcome = pay(client, config, sc.SLOW_ANSWER, request_id=request_id)
        assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED
        assert client.inquiry_payment(request_id).body["paymentStatus"] == "SUCCESS"


def test_9908_broken_signature_is_unknown_never_paid(client, config):
    request_id = rid()
    outcome = pay(client, config, sc.BROKEN_SIGNATURE, request_id=request_id)
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "UNVERIFIED"
    assert outcome.delivery is Delivery.MAYBE_DELIVERED and not outcome.body
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "SUCCESS"


def test_9909_inquiry_unknown_three_times_then_success(client, config):
    request_id = rid()
    assert pay(client, config, sc.FLAKY_INQUIRY, request_id=request_id).status is Status.UNKNOWN
    answers = [client.inquiry_payment(request_id) for _ in range(4)]
    assert [a.status for a in answers[:3]] == [Status.UNKNOWN] * 3
    assert answers[3].ok and answers[3].body["paymentStatus"] == "SUCCESS"


def test_9910_cancel_unknown_twice_then_success(client, config):
    request_id = rid()
    assert pay(client, config, sc.STUCK_FLAKY_CANCEL, request_id=request_id).result_code == "PAYMENT_IN_PROCESS"
    answers = [client.cancel(request_id) for _ in range(3)]
    assert [a.status for a in answers] == [Status.UNKNOWN, Status.UNKNOWN, Status.SUCCESS]
    assert client.inquiry_payment(request_id).body["paymentStatus"] == "CANCELLED"


def test_9911_http_503_processes_nothing(client, config, sim):
    request_id = rid()
    outcome = pay(client, config, sc.UNAVAILABLE, request_id=request_id)
    assert outcome.status is Status.UNKNOWN and outcome.http_status == 503
    assert outcome.delivery is Delivery.MAYBE_DELIVERED
    assert client.inquiry_payment(request_id).result_code == "ORDER_NOT_EXIST"


def test_every_scenario_is_tested_here():
    """A new scenario in the table must get its test in this file."""
    import inspect
    source = inspect.getsource(inspect.getmodule(test_every_scenario_is_tested_here))
    for value in sc.TABLE:
        assert f"test_{value}_" in source


# -- transport classification ---------------------------------------------------------------------------

def test_connection_refused_is_certainly_not_sent(config):
    from dataclasses import replace
    gone = replace(config.gateway, url=f"http://127.0.0.1:{reserve_port()}")
    with GatewayClient.from_config(gone) as client:
        outcome = pay(client, config, 100)
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT


def test_silent_server_is_maybe_delivered(config):
    """A server that accepts and reads but never answers: the request left, the outcome is unknown."""
    import threading
    from dataclasses import replace
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    slow = replace(config.gateway, url=f"http://127.0.0.1:{listener.getsockname()[1]}", read_timeout=0.5)
    try:
        with GatewayClient.from_config(slow) as client:
            outcome = pay(client, config, 100)
    finally:
        listener.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED


def test_wrong_gateway_key_makes_every_answer_unknown(sim, config, tmp_path):
    """A response we cannot verify is never a success, even a genuine one."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    client = GatewayClient(config.gateway.url, config.gateway.client_id,
                           __import__("pos_app.signing", fromlist=["x"]).load_private_key(
                               config.gateway.merchant_private_key),
                           rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    with client:
        outcome = pay(client, config, 100)
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "UNVERIFIED"


def test_wrong_merchant_key_is_invalid_signature(config):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from pos_app import signing
    client = GatewayClient(config.gateway.url, config.gateway.client_id,
                           rsa.generate_private_key(public_exponent=65537, key_size=2048),
                           signing.load_public_key(config.gateway.gateway_public_key))
    with client:
        outcome = pay(client, config, 100)
    assert outcome.status is Status.FAILURE and outcome.result_code == "INVALID_SIGNATURE"


def test_same_request_resent_gets_the_same_payment(client, config):
    request = messages.pay_payment_code(config.merchant, rid(), usd(250), payment_code(), description="resend",
                                        notify_url=config.notifications.public_url)
    first, second = client.send(request), client.send(request)
    assert first.ok and second.ok
    assert first.body["paymentId"] == second.body["paymentId"]


def test_answer_for_another_request_is_not_believed(client, config, sim):
    """A genuine, signed answer replayed for a different request id must not settle this one."""
    paid = pay(client, config, 100)
    other = messages.Request(messages.Api.INQUIRY_PAYMENT,
                             messages.encode({"paymentId": paid.body["paymentId"]}),
                             payment_request_id="someone-else", payment_id=paid.body["paymentId"])
    outcome = client.send(other)
    assert outcome.status is Status.UNKNOWN and outcome.result_code == "MISMATCHED"


def test_client_never_retries_by_itself(sim, client, config):
    """With every connection dropped before processing, one call is one attempt."""
    requests.post(sim.url + "/sim/faults", json={"drop_before": 1.0}, timeout=5)
    try:
        outcome = pay(client, config, 100)
    finally:
        requests.delete(sim.url + "/sim/faults", timeout=5)
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED


@pytest.mark.parametrize("part", ["status line", "headers"])
def test_a_gateway_dripping_its_answer_is_cut_off_at_one_deadline(config, part):
    """One byte well inside the read timeout, for ever: each byte restarts a per-read timeout, so only a
    deadline over the whole call ends it. The request went out: unknown, maybe delivered."""
    import threading
    from dataclasses import replace
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    accepted = []

    def drip():
        conn, _ = listener.accept()
        accepted.append(conn)
        with conn:
            reader = conn.makefile("rb")
            while reader.readline() not in (b"\r\n", b""):
                pass  # the request's headers; its body is never read
            conn.sendall(b"HTTP/1.1 200 OK\r\n" if part == "headers" else b"HTTP/1.1 200 ")
            try:
                while not stop.wait(0.1):
                    conn.sendall(b"X" if part == "headers" else b"K")
            except OSError:
                return  # the client hung up: what this test waits for
    threading.Thread(target=drip, daemon=True).start()
    slow = replace(config.gateway, url=f"http://127.0.0.1:{listener.getsockname()[1]}", connect_timeout=0.5,
                   read_timeout=1.0)
    try:
        with GatewayClient.from_config(slow) as client:
            outcome = pay(client, config, 100)
    finally:
        stop.set()
        listener.close()
    assert outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.MAYBE_DELIVERED
    assert "did not finish answering within 1.5 s" in outcome.message
    assert len(accepted) == 1, "sent once, never retried"
