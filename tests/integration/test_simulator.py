"""The simulator's own promises: first start, rules, notifications, faults, and bad input."""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import sqlite3
import stat
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flowkit import config_for
from kit import payment_code, usd
from rawsim import Raw, pay_body

from pos_app import signing
from pos_app.config import load_config
from pos_app.gateway import GatewayClient, Status
from pos_app.sim import Simulator
from pos_app.sim.notifier import SCHEDULE


@pytest.fixture
def raw(sim):
    return Raw(sim)


@pytest.fixture(scope="module")
def shared_raw(tmp_path_factory):
    """Raw requests to one simulator kept for the module, for the tests that only look at answers to
    requests with fresh ids (refusals change nothing; a paid request id is never used again): a start and
    stop costs about 0.4 s (new RSA keys, the server's shutdown poll), and the bad-field cases alone are 33."""
    sim = Simulator(tmp_path_factory.mktemp("sim"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield Raw(sim)
    sim.stop()


# -- first start --------------------------------------------------------------------------------------

def test_first_start_creates_keys_and_config_and_later_starts_reuse_them(make_sim, tmp_path):
    sim = make_sim(tmp_path / "gw")
    keys = tmp_path / "gw" / "keys"
    names = ["gateway_private.pem", "gateway_public.pem", "merchant_private.pem", "merchant_public.pem"]
    assert sorted(p.name for p in keys.iterdir()) == names
    for name in ("gateway_private.pem", "merchant_private.pem"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
        assert (keys / name).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert (keys / "gateway_public.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(sim.provisioned.created) == 5
    config = load_config(tmp_path / "gw" / "terminal.toml")
    assert config.gateway.url == sim.url and config.gateway.sandbox
    before = {n: (keys / n).read_bytes() for n in names}
    sim.stop()
    again = make_sim(tmp_path / "gw")
    assert again.provisioned.created == []
    assert {n: (keys / n).read_bytes() for n in names} == before


def test_ledger_survives_a_restart(make_sim, tmp_path):
    sim = make_sim(tmp_path / "gw")
    with GatewayClient.from_config(config_for(sim)) as client:
        config = config_for(sim)
        outcome = client.pay_payment_code(config.merchant, "restart-1", usd(100), payment_code(),
                                          description="x", notify_url="http://127.0.0.1:9/n")
        assert outcome.ok
    sim.stop()
    sim = make_sim(tmp_path / "gw")
    with GatewayClient.from_config(config_for(sim)) as client:
        assert client.inquiry_payment("restart-1").body["paymentStatus"] == "SUCCESS"
    ledger = requests.get(sim.url + "/sim/ledger", timeout=5).json()
    assert [p["paymentRequestId"] for p in ledger["payments"]] == ["restart-1"]


def test_port_in_use_is_a_clear_error(make_sim, tmp_path):
    from pos_app.errors import PosError
    first = make_sim(tmp_path / "a")
    with pytest.raises(PosError, match="already in use"):
        make_sim(tmp_path / "b", port=first.port)


# -- protocol -----------------------------------------------------------------------------------------

def test_every_answer_is_signed_with_lower_case_headers(shared_raw):
    for api, body in [("pay", pay_body()), ("inquiryPayment", {"paymentRequestId": "nope"}),
                      ("pay", {"productCode": "IN_STORE_PAYMENT"})]:
        status, answer, headers = shared_raw.post(api, body)
        assert status == 200 and "result" in answer
        assert {"signature", "client-id", "response-time"} <= set(headers)
        assert shared_raw.verified(headers)


def test_unsigned_or_badly_signed_requests_are_refused(shared_raw):
    body = pay_body()
    assert shared_raw.post("pay", body, sign=False)[1]["result"]["resultCode"] == "INVALID_SIGNATURE"
    _, answer, headers = shared_raw.post("pay", body,
                                  headers={"signature": "algorithm=RSA256,keyVersion=1,signature=AAAA"})
    assert answer["result"]["resultCode"] == "INVALID_SIGNATURE" and shared_raw.verified(headers)
    # signed for another path
    _, answer, _ = shared_raw.post("pay", body, headers={"signature": signing.sign(
        shared_raw.key, "/ams/api/v1/payments/refund", shared_raw.sim.client_id, "2026-11-22T00:51:03+00:00",
        json.dumps(body).encode())})
    assert answer["result"]["resultCode"] == "INVALID_SIGNATURE"
    other = shared_raw.post("pay", body, headers={"client-id": "SOMEONE_ELSE"})[1]
    assert other["result"]["resultCode"] == "INVALID_CLIENT"


def test_header_names_are_case_insensitive_and_spaces_after_commas_accepted(shared_raw):
    body = json.dumps(pay_body(), indent=3).encode()  # the Python SDK's indented bytes
    path = "/ams/api/v1/payments/pay"
    sig = signing.sign(shared_raw.key, path, shared_raw.sim.client_id, "1763772663000", body).replace(",", ", ")
    _, answer, _ = shared_raw.post("pay", body, sign=False, headers={
        "client-id": None, "CLIENT-ID": shared_raw.sim.client_id, "request-time": None, "Request-Time": "1763772663000",
        "Signature": sig})
    assert answer["result"]["resultStatus"] == "S"


def test_absolute_form_target_and_sandbox_path(shared_raw):
    sandbox = "/ams/sandbox/api/v1/payments/pay"
    _, answer, headers = shared_raw.post("pay", pay_body(), path=sandbox,
                                  target="https://open-sea-global.alipay.com" + sandbox)
    assert answer["result"]["resultStatus"] == "S" and shared_raw.verified(headers)


# What the API reference and the SDKs' in-store validators require (and only that): each one missing
# is refused by name. paymentNotifyUrl and settlementStrategy are optional (see the upcp.json tests).
PAYMENT_CODE_REQUIRED = [
    "productCode", "paymentRequestId", "paymentAmount.currency", "paymentAmount.value",
    "paymentMethod.paymentMethodType", "paymentMethod.paymentMethodId", "paymentFactor.inStorePaymentScenario",
    "order", "order.orderAmount", "order.orderAmount.value", "order.orderDescription", "order.merchant",
    "order.merchant.referenceMerchantId", "order.merchant.merchantMCC", "order.merchant.merchantName",
    "order.merchant.store", "order.merchant.store.referenceStoreId", "order.merchant.store.storeName",
    "order.merchant.store.storeMCC", "order.env", "order.env.storeTerminalId", "order.env.storeTerminalRequestTime"]
ORDER_CODE_REQUIRED = [
    "productCode", "paymentRequestId", "paymentAmount.value", "paymentMethod.paymentMethodType",
    "paymentFactor.inStorePaymentScenario", "order.orderAmount.currency", "order.orderDescription",
    "order.merchant.merchantName", "order.merchant.store.storeName"]


@pytest.mark.parametrize("scenario, field", [("PaymentCode", f) for f in PAYMENT_CODE_REQUIRED]
                         + [("OrderCode", f) for f in ORDER_CODE_REQUIRED])
def test_missing_required_field_is_named(shared_raw, scenario, field):
    body = pay_body(scenario=scenario)
    *parents, leaf = field.split(".")
    node = body
    for p in parents:
        node = node[p]
    del node[leaf]
    answer = shared_raw.post("pay", body)[1]
    assert answer["result"]["resultCode"] == "PARAM_ILLEGAL" and field in answer["result"]["resultMessage"]


# Alipay's own in-store SDK examples, byte for byte (alipay/ams-java-sdk at 7713d0a,
# src/test/resources/api_mocks/requests/upcp.json and order_code.json): no settlementStrategy, no
# paymentNotifyUrl. A gateway answers them S; the simulator must too, and, with no notify URL, notify nobody.
UPCP_JSON = (b'{"productCode":"IN_STORE_PAYMENT","paymentRequestId":"PR20190000000001_","paymentMethod":'
             b'{"paymentMethodId":"288888888888888888","paymentMethodType":"CONNECT_WALLET"},"paymentFactor":'
             b'{"inStorePaymentScenario":"PaymentCode"},"paymentAmount":{"currency":"JPY","value":"1000"},"order":'
             b'{"referenceOrderId":"0000000001","orderDescription":"New White Lace Sleeveless","orderAmount":'
             b'{"currency":"JPY","value":"1000"},"merchant":{"referenceMerchantId":"seller231117459","merchantName":'
             b'"Some_Mer","merchantMCC":"7011","store":{"referenceStoreId":"store231117459","storeName":"Some_store",'
             b'"storeMCC":"7011"}},"env":{"storeTerminalId":"some_setStoreTerminalId","storeTerminalRequestTime":'
             b'"2020-06-11T13:35:02+08:00"}}}')
ORDER_CODE_JSON = (b'{"productCode":"IN_STORE_PAYMENT","paymentRequestId":"PR20190000000001_","paymentMethod":'
                   b'{"paymentMethodType":"CONNECT_WALLET"},"paymentFactor":{"inStorePaymentScenario":"OrderCode"},'
                   b'"paymentAmount":{"currency":"JPY","value":"1000"},"order":{"referenceOrderId":"0000000001",'
                   b'"orderDescription":"New White Lace Sleeveless","orderAmount":{"currency":"JPY","value":"1000"},'
                   b'"merchant":{"referenceMerchantId":"seller231117459","merchantName":"Some_Mer","merchantMCC":'
                   b'"7011","store":{"referenceStoreId":"store231117459","storeName":"Some_store","storeMCC":"7011"}}}}')


def notifications_in_ledger(sim) -> list[tuple[str, str]]:
    """Every notification the simulator ever queued (kind, ref), read from its ledger file. Queuing
    happens inside the call's own transaction, so once the answer is here, the row would be too."""
    db = sqlite3.connect(f"file:{sim.data_dir / 'sim-ledger.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT kind, ref FROM notifications").fetchall()
    finally:
        db.close()


def test_alipay_upcp_example_is_paid_and_nobody_is_notified(sim, raw):
    status, answer, headers = raw.post("pay", UPCP_JSON)
    assert status == 200 and answer["result"]["resultStatus"] == "S", answer
    assert answer["paymentAmount"] == {"currency": "JPY", "value": "1000"} and raw.verified(headers)
    refund = {"refundRequestId": "upcp-r1", "paymentId": answer["paymentId"],
              "refundAmount": {"currency": "JPY", "value": "100"}}
    assert raw.post("refund", refund)[1]["result"]["resultStatus"] == "S"
    assert raw.post("inquiryPayment", {"paymentRequestId": "PR20190000000001_"})[1]["paymentStatus"] == "SUCCESS"
    assert notifications_in_ledger(sim) == [], "no paymentNotifyUrl and no refundNotifyUrl: nothing to notify"


def test_alipay_order_code_example_issues_a_code_and_nobody_is_notified(sim, raw):
    status, answer, _ = raw.post("pay", ORDER_CODE_JSON)
    assert status == 200 and answer["result"]["resultStatus"] == "S", answer
    code_value = answer["orderCodeForm"]["codeDetails"][0]["codeValue"]
    paid = requests.post(sim.url + "/sim/wallet/pay-order", json={"codeValue": code_value}, timeout=10)
    assert paid.status_code == 200 and paid.json()["paymentStatus"] == "SUCCESS"
    assert notifications_in_ledger(sim) == []


def test_idempotency_same_body_same_result_different_body_inconsistent(raw):
    body = pay_body(request_id="idem-1")
    first, second = raw.post("pay", body)[1], raw.post("pay", body)[1]
    assert first["paymentId"] == second["paymentId"] and second["result"]["resultStatus"] == "S"
    changed = dict(body, paymentAmount={"currency": "USD", "value": "101"})
    assert raw.post("pay", changed)[1]["result"]["resultCode"] == "REPEAT_REQ_INCONSISTENT"


def test_payment_code_is_single_use(raw):
    code = payment_code()
    assert raw.post("pay", pay_body(code=code))[1]["result"]["resultStatus"] == "S"
    again = raw.post("pay", pay_body(code=code))[1]["result"]
    assert again["resultStatus"] == "F" and again["resultCode"] == "INVALID_CODE"
    assert raw.post("pay", pay_body(code="4006381333931"))[1]["result"]["resultCode"] == "INVALID_CODE"


def test_unknown_currency_and_bad_amounts(shared_raw):
    body = pay_body()
    body["paymentAmount"] = {"currency": "XXX", "value": "100"}
    assert shared_raw.post("pay", body)[1]["result"]["resultCode"] == "CURRENCY_NOT_SUPPORT"
    for value in ("-1", "0", "1.5", 100, "9" * 20):
        body = pay_body()
        body["paymentAmount"] = {"currency": "USD", "value": value}
        assert shared_raw.post("pay", body)[1]["result"]["resultCode"] == "PARAM_ILLEGAL", value


def paid_then_waited(make_sim, request_id, wait, **options):
    """Start a simulator with ``options``, pay, wait, and hand back a client for the late call."""
    sim = make_sim(**options)
    config = config_for(sim)
    client = GatewayClient.from_config(config)
    paid = client.pay_payment_code(config.merchant, request_id, usd(100), payment_code(), description="x",
                                   notify_url="http://127.0.0.1:9/n")
    assert paid.ok
    time.sleep(wait)
    return client, paid


def test_cancel_window_is_configurable(make_sim):
    client, _ = paid_then_waited(make_sim, "cw-1", 1.2, cancel_window=1.0)
    with client:
        late = client.cancel("cw-1")
    assert late.status is Status.FAILURE and late.result_code == "CANCEL_WINDOW_EXCEED"


def test_refund_window_is_configurable(make_sim):
    client, paid = paid_then_waited(make_sim, "rw-1", 0.7, refund_window=0.5)
    with client:
        late = client.refund("rw-r1", paid.body["paymentId"], usd(10), notify_url="http://127.0.0.1:9/n")
    assert late.result_code == "REFUND_WINDOW_EXCEED"


def test_refund_idempotency(client, config):
    paid = client.pay_payment_code(config.merchant, "ri-1", usd(100), payment_code(), description="x",
                                   notify_url=config.notifications.public_url)
    first = client.refund("ri-r1", paid.body["paymentId"], usd(60), notify_url=config.notifications.public_url)
    again = client.refund("ri-r1", paid.body["paymentId"], usd(60), notify_url=config.notifications.public_url)
    assert first.ok and again.ok and first.body["refundId"] == again.body["refundId"]
    other = client.refund("ri-r1", paid.body["paymentId"], usd(10), notify_url=config.notifications.public_url)
    assert other.result_code == "REPEAT_REQ_INCONSISTENT"
    assert client.refund("ri-r2", paid.body["paymentId"], usd(40), notify_url=config.notifications.public_url).ok


def test_order_code_expires_at_its_expire_time(client, config, sim):
    expiry = datetime.now(UTC) + timedelta(seconds=1.5)
    outcome = client.pay_order_code(config.merchant, "oc-exp", usd(300), description="x",
                                    notify_url=config.notifications.public_url, expiry=expiry)
    assert outcome.ok
    code = outcome.body["orderCodeForm"]["codeDetails"][0]["codeValue"]
    time.sleep(2.2)
    late = requests.post(sim.url + "/sim/wallet/pay-order", json={"codeValue": code}, timeout=5)
    assert late.status_code == 409 and late.json()["result"]["resultCode"] == "EXPIRED_CODE"
    inquiry = client.inquiry_payment("oc-exp")
    assert inquiry.body["paymentStatus"] == "FAIL"
    assert client.cancel("oc-exp").ok, "an expired order can still be closed by cancel"


def test_wallet_bad_input(sim):
    assert requests.post(sim.url + "/sim/wallet/pay-order", json={"codeValue": "nope"}, timeout=5).status_code == 404
    assert requests.post(sim.url + "/sim/wallet/pay-order", json={}, timeout=5).status_code == 400
    assert requests.post(sim.url + "/sim/wallet/pay-order", data=b"{", timeout=5).status_code == 400


def test_ledger_lists_payments_refunds_and_cancels(client, config, sim):
    a = client.pay_payment_code(config.merchant, "lg-a", usd(500), payment_code(), description="x",
                                notify_url=config.notifications.public_url)
    client.refund("lg-a-r", a.body["paymentId"], usd(200), notify_url=config.notifications.public_url)
    client.pay_payment_code(config.merchant, "lg-b", usd(300), payment_code(), description="x",
                            notify_url=config.notifications.public_url)
    client.cancel("lg-b")
    ledger = {p["paymentRequestId"]: p for p in requests.get(sim.url + "/sim/ledger", timeout=5).json()["payments"]}
    assert ledger["lg-a"]["status"] == "SUCCESS" and ledger["lg-a"]["amount"] == {"currency": "USD", "value": "500"}
    assert [r["amount"]["value"] for r in ledger["lg-a"]["refunds"]] == ["200"]
    assert ledger["lg-b"]["cancelled"] is True and ledger["lg-a"]["cancelled"] is False


# -- notifications --------------------------------------------------------------------------------------

def test_success_and_refund_notifications_are_signed_and_verifiable(client, config, sim, receiver):
    paid = client.pay_payment_code(config.merchant, "nt-1", usd(700), payment_code(), description="x",
                                   notify_url=receiver.url)
    client.refund("nt-1-r", paid.body["paymentId"], usd(100), notify_url=receiver.url)
    got = receiver.wait_for(lambda r: len(r) >= 2)
    gateway_key = signing.load_public_key(config.gateway.gateway_public_key)
    kinds = {}
    for entry in got:
        h = entry["headers"]
        assert signing.verify(gateway_key, entry["path"], h["client-id"], h["request-time"], entry["raw"],
                              h["signature"])
        kinds[entry["body"]["notifyType"]] = entry["body"]
    assert kinds["PAYMENT_RESULT"]["paymentRequestId"] == "nt-1"
    assert kinds["PAYMENT_RESULT"]["result"]["resultStatus"] == "S"
    assert kinds["REFUND_RESULT"]["refundRequestId"] == "nt-1-r"
    assert kinds["REFUND_RESULT"]["refundStatus"] == "SUCCESS"


def test_failed_payment_and_expired_order_code_are_notified(client, config, receiver):
    client.pay_payment_code(config.merchant, "nt-f", usd(9905), payment_code(), description="x",
                            notify_url=receiver.url)
    client.pay_order_code(config.merchant, "nt-oc", usd(100), description="x", notify_url=receiver.url,
                          expiry=datetime.now(UTC) + timedelta(seconds=1))
    got = receiver.wait_for(lambda r: {e["body"]["paymentRequestId"] for e in r} >= {"nt-f", "nt-oc"})
    results = {e["body"]["paymentRequestId"]: e["body"]["result"] for e in got}
    assert results["nt-f"]["resultCode"] == "USER_BALANCE_NOT_ENOUGH" and results["nt-f"]["resultStatus"] == "F"
    assert results["nt-oc"]["resultStatus"] == "F"


def test_unacknowledged_notifications_are_resent_on_the_scaled_schedule(make_sim, receiver):
    sim = make_sim(notify_time_scale=0.0005)  # 2 min → 60 ms; the whole day → about 45 s
    receiver.answer_ok = False
    config = config_for(sim)
    with GatewayClient.from_config(config) as client:
        client.pay_payment_code(config.merchant, "nt-r", usd(100), payment_code(), description="x",
                                notify_url=receiver.url)
        receiver.wait_for(lambda r: len(r) >= 4)
        receiver.answer_ok = True
        count = len(receiver.wait_for(lambda r: len(r) >= 5, timeout=15))
    time.sleep(0.6)
    assert len(receiver.received) == count, "an acknowledged notification is not sent again"
    stamps = [int(e["headers"]["request-time"]) / 1000 for e in receiver.received]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    expected = [s * 0.0005 for s in SCHEDULE[1:len(gaps) + 1]]
    assert all(gap >= want * 0.9 for gap, want in zip(gaps, expected, strict=True)), (gaps, expected)


def test_notifications_pending_at_shutdown_resume_after_restart(make_sim, tmp_path, receiver):
    sim = make_sim(tmp_path / "gw", notify_time_scale=0.01)  # second try 1.2 s after the first
    receiver.answer_ok = False
    config = config_for(sim)
    with GatewayClient.from_config(config) as client:
        client.pay_payment_code(config.merchant, "nt-s", usd(100), payment_code(), description="x",
                                notify_url=receiver.url)
    receiver.wait_for(lambda r: len(r) >= 1)
    sim.stop()
    receiver.answer_ok = True
    make_sim(tmp_path / "gw", notify_time_scale=0.01)
    receiver.wait_for(lambda r: len(r) >= 2, timeout=10)


# -- faults and bad input ----------------------------------------------------------------------------

def test_faults_can_be_set_read_and_cleared(sim, raw):
    assert requests.post(sim.url + "/sim/faults", json={"http_503": 1.0}, timeout=5).ok
    assert raw.post("pay", pay_body())[0] == 503
    assert requests.get(sim.url + "/sim/faults", timeout=5).json()["http_503"] == 1.0
    requests.delete(sim.url + "/sim/faults", timeout=5)
    assert raw.post("pay", pay_body())[0] == 200
    bad = requests.post(sim.url + "/sim/faults", json={"drop_before": 2}, timeout=5)
    assert bad.status_code == 400 and "drop_before" in bad.json()["result"]["resultMessage"]
    assert requests.post(sim.url + "/sim/faults", json={"nonsense": 1}, timeout=5).status_code == 400


def test_drop_after_processing_fault_still_processes(sim, raw):
    requests.post(sim.url + "/sim/faults", json={"drop_after": 1.0}, timeout=5)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        raw.post("pay", pay_body(request_id="fault-after"))
    requests.delete(sim.url + "/sim/faults", timeout=5)
    assert raw.post("inquiryPayment", {"paymentRequestId": "fault-after"})[1]["paymentStatus"] == "SUCCESS"


def test_delay_fault(sim, raw):
    requests.post(sim.url + "/sim/faults", json={"delay_ms": 300}, timeout=5)
    started = time.monotonic()
    raw.post("inquiryPayment", {"paymentRequestId": "x"})
    assert time.monotonic() - started >= 0.3


def test_oversized_body_is_refused_without_reading_it(sim, raw):
    status, answer, _ = raw.post("pay", b"{" + b" " * (64 * 1024) + b"}")
    assert status == 413 and answer["result"]["resultCode"] == "PARAM_ILLEGAL"


def test_malformed_json_wrong_content_type_and_unknown_paths(sim, raw):
    assert raw.post("pay", b"{not json")[1]["result"]["resultCode"] == "PARAM_ILLEGAL"
    assert raw.post("pay", b"[1,2]")[1]["result"]["resultMessage"] == "the body must be a JSON object"
    answer = raw.post("pay", pay_body(), headers={"Content-Type": "text/plain"})[1]
    assert "Content-Type" in answer["result"]["resultMessage"]
    missing = requests.post(sim.url + "/ams/api/v1/payments/nothing", data=b"{}", timeout=5)
    assert missing.status_code == 404 and missing.json()["result"]["resultCode"] == "NOT_FOUND"
    assert requests.get(sim.url + "/nowhere", timeout=5).status_code == 404
    assert requests.put(sim.url + "/ams/api/v1/payments/pay", data=b"{}", timeout=5).status_code == 405


def test_garbage_on_the_socket_gets_an_answer_and_the_server_lives(sim):
    for junk in (b"\x00\x01\x02\r\n\r\n", b"POST /ams/api/v1/payments/pay HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                 b"GET " + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
                 b"POST /ams/api/v1/payments/pay HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
            s.sendall(junk)
            assert s.recv(4096).startswith(b"HTTP/1."), junk[:40]
    assert requests.get(sim.url + "/sim/health", timeout=5).ok


def test_a_client_that_sends_less_than_it_announced_does_not_hang_the_server(sim):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as s:
        s.sendall(b"POST /ams/api/v1/payments/pay HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
        s.shutdown(socket.SHUT_WR)
        s.recv(100)
    assert requests.get(sim.url + "/sim/health", timeout=5).ok


def test_keep_alive_serves_many_calls_on_one_connection(sim, raw):
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    for _ in range(5):
        conn.request("GET", "/sim/health")
        assert conn.getresponse().read()
    conn.close()


def test_the_config_it_wrote_follows_it_to_a_new_port(make_sim, tmp_path):
    first = make_sim(tmp_path / "gw")
    first.stop()
    second = make_sim(tmp_path / "gw")
    assert load_config(tmp_path / "gw" / "terminal.toml").gateway.url == second.url


def test_a_config_a_person_edited_is_left_alone(make_sim, tmp_path):
    make_sim(tmp_path / "gw").stop()
    config = tmp_path / "gw" / "terminal.toml"
    config.write_text("# mine\n" + config.read_text())
    make_sim(tmp_path / "gw")
    assert config.read_text().startswith("# mine\n")
