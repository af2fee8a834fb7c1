"""The notification receiver over real HTTP: forged, replayed, out of order and oversized notifications."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import time
from typing import NamedTuple

import pytest
from flowkit import journal_sales, write_config
from kit import payment_code, reserve_port, usd

from pos_app import signing
from pos_app.review import review_items
from pos_app.runtime import Runtime
from pos_app.sim import Simulator
from pos_app.sim import scenarios as sc


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """One simulator for the module (conftest's is one per test): each test's terminal has its own port and
    data directory, its sales their own ids, and no test reads the gateway's ledger; a start and stop costs
    about 0.4 s (new RSA keys, the server's shutdown poll)."""
    started = Simulator(tmp_path_factory.mktemp("sim"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield started
    started.stop()

ACK = {"result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}}


class Receiving(NamedTuple):
    """A terminal whose receiver listens on ``port``, and the gateway's key to sign notifications to it."""
    rt: Runtime
    port: int
    key: object


@pytest.fixture
def setup(sim, tmp_path):
    port = reserve_port()
    config = write_config(sim, port=port, payments={"inquiry_intervals": [5] * 10})
    key = signing.load_private_key(sim.provisioned.keys_dir / "gateway_private.pem")
    with Runtime(config, tmp_path / "t", background=False) as rt:
        yield Receiving(rt, port, key)


def post(port: int, body: bytes, key=None, *, client_id: str = "SANDBOX_POSTERMINAL0001", path: str = "/notify",
         headers: dict | None = None) -> tuple[int, dict]:
    when = str(int(time.time() * 1000))
    h = {"Content-Type": "application/json", "client-id": client_id, "request-time": when}
    if key is not None:
        h["signature"] = signing.sign(key, path, client_id, when, body)
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=h)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def notify_payment(sale_id: str, status: str = "S", payment_id: str = "P-1") -> bytes:
    code = "SUCCESS" if status == "S" else "USER_PAYMENT_VERIFICATION_FAILED"
    return json.dumps({"notifyType": "PAYMENT_RESULT", "paymentRequestId": sale_id, "paymentId": payment_id,
                       "result": {"resultCode": code, "resultStatus": status, "resultMessage": code.lower()},
                       "paymentAmount": {"currency": "USD", "value": str(sc.STUCK)}}).encode()


def stuck_sale(rt):
    sale = rt.terminal.start_sale(usd(sc.STUCK), code=payment_code())
    assert sale.status == "UNKNOWN"
    return sale


def test_a_verified_notification_settles_the_sale_and_gets_the_exact_ack(setup):
    rt, port, key = setup
    sale = stuck_sale(rt)
    status, body = post(port, notify_payment(sale.id), key)
    assert (status, body) == (200, ACK)
    assert rt.terminal.load(sale.id).status == "SUCCESS"


def test_forged_notifications_are_answered_U_and_never_applied(setup, tmp_path):
    rt, port, key = setup
    sale = stuck_sale(rt)
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = [
        post(port, notify_payment(sale.id)),                                    # unsigned
        post(port, notify_payment(sale.id), other),                             # someone else's key
        post(port, notify_payment(sale.id), key, client_id="SANDBOX_OTHER"),    # signed for another client
        post(port, notify_payment(sale.id), key, headers={"request-time": "1"}),  # time not what was signed
    ]
    body = notify_payment(sale.id)
    when = str(int(time.time() * 1000))
    sig = signing.sign(key, "/notify", "SANDBOX_POSTERMINAL0001", when, body)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/notify", body=body.replace(b'"S"', b'"F"'),  # tampered after signing
                 headers={"client-id": "SANDBOX_POSTERMINAL0001", "request-time": when, "signature": sig})
    answer = conn.getresponse()
    forged.append((answer.status, json.loads(answer.read())))
    conn.close()
    for _, answer in forged:
        assert answer["result"]["resultStatus"] == "U"
    assert rt.terminal.load(sale.id).status == "UNKNOWN"


def test_replayed_notifications_are_idempotent(setup):
    rt, port, key = setup
    sale = stuck_sale(rt)
    for _ in range(5):
        assert post(port, notify_payment(sale.id), key) == (200, ACK)
    after = rt.terminal.load(sale.id)
    assert after.status == "SUCCESS"
    states = [e for e in rt.terminal.journal.events(sale.id) if e["kind"] == "state" and e["detail"]["to"] == "PAID"]
    assert len(states) == 1, "applied once, journaled every time it came"
    assert sum(e["kind"] == "notification" for e in rt.terminal.journal.events(sale.id)) == 5


def test_out_of_order_a_success_after_a_cancel_does_not_revive(setup):
    rt, port, key = setup
    sale = stuck_sale(rt)
    rt.terminal.abort(sale.id)
    rt.terminal.settle(20)
    assert rt.terminal.load(sale.id).status == "CANCELLED"
    assert post(port, notify_payment(sale.id, "S"), key) == (200, ACK)
    assert rt.terminal.load(sale.id).status == "CANCELLED"


def test_out_of_order_a_late_failure_does_not_unpay(setup):
    rt, port, key = setup
    sale = stuck_sale(rt)
    assert post(port, notify_payment(sale.id, "S"), key) == (200, ACK)
    assert post(port, notify_payment(sale.id, "F"), key) == (200, ACK)
    assert rt.terminal.load(sale.id).status == "SUCCESS"


def test_oversized_and_malformed_bodies_are_refused(setup):
    port, key = setup.port, setup.key
    big = b'{"notifyType":"PAYMENT_RESULT","pad":"' + b"x" * (70 * 1024) + b'"}'
    status, body = post(port, big, key)
    assert status == 413 and body["result"]["resultStatus"] == "U"
    status, body = post(port, b"not json")     # unsigned junk: never journaled, never acknowledged
    assert body["result"]["resultStatus"] == "U"
    status, body = post(port, b"[1,2]")
    assert body["result"]["resultStatus"] == "U"


def test_a_notification_for_a_payment_we_do_not_know_is_acknowledged_and_logged(setup):
    rt, port, key = setup
    assert post(port, notify_payment("PR-not-ours"), key) == (200, ACK)
    rows = rt.terminal.journal.conn.execute(
        "SELECT kind FROM events WHERE txn='' AND kind='notification_unmatched'").fetchall()
    assert len(rows) == 1


def test_refund_notifications_settle_refunds(setup):
    rt, port, key = setup
    t = rt.terminal
    sale = t.start_sale(usd(800), code=payment_code())
    refund = t.refund(sale.id, usd(100))
    assert refund.status == "SUCCESS"
    body = json.dumps({"notifyType": "REFUND_RESULT", "refundRequestId": refund.id, "refundId": "R-1",
                       "refundStatus": "FAIL", "result": {"resultCode": "FAIL", "resultStatus": "F",
                                                          "resultMessage": "late"}}).encode()
    assert post(port, body, key) == (200, ACK)
    assert t.load(refund.id).status == "SUCCESS", "a final refund is not changed by a late notification"


def test_the_simulators_own_notifications_arrive_and_verify(sim, tmp_path):
    """End to end: the gateway's signed notifyPayment reaches the receiver and settles a waiting sale."""
    port = reserve_port()
    config = write_config(sim, port=port, payments={"inquiry_intervals": [30], "order_code_poll": 30})
    with Runtime(config, tmp_path / "t", background=False) as rt:
        shown = []
        rt.terminal.on_code.add(lambda sale_id, value, expires_at: shown.append(value))
        sale = rt.terminal.start_sale(usd(4200), order_code=True)
        from flowkit import sim_call
        assert sim_call(sim, "/sim/wallet/pay-order", {"codeValue": shown[0]})[0] == 200
        sale = rt.terminal.wait(sale.id, lambda s: s.final, 10)
        assert sale.status == "SUCCESS"
        assert any(e["kind"] == "notification" for e in rt.terminal.journal.events(sale.id))


# -- hostile peers (issue 13): an answer or a clean close, one log line, never a traceback ---------------

def receiver_lines(caplog) -> list:
    return [r for r in caplog.records if r.name == "pos_app.receiver" and r.levelno >= logging.INFO]


def one_line_no_traceback(caplog, capfd, receiver) -> str:
    """Wait for the receiver's line about the exchange (or a traceback), then for its handler to end;
    the exchange must have left exactly that one line and no traceback, on stderr or in the log."""
    err = ""
    while not receiver_lines(caplog) and "Traceback" not in err:
        err += capfd.readouterr().err
        time.sleep(0.01)
    assert "Traceback" not in err, err
    receiver.wait_idle()
    err += capfd.readouterr().err
    assert "Traceback" not in err, err
    assert not [r for r in caplog.records if r.exc_info], "a traceback went to the log"
    lines = [r.getMessage() for r in receiver_lines(caplog)]
    assert len(lines) == 1, lines
    return lines[0]


def test_a_content_length_of_5000_digits_is_refused_in_one_line(setup, caplog, capfd):
    rt, port = setup.rt, setup.port
    caplog.set_level(logging.INFO, logger="pos_app.receiver")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", "/notify")
        conn.putheader("Content-Length", "9" * 5000)
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status == 413 and json.loads(answer.read())["result"]["resultStatus"] == "U"
    finally:
        conn.close()
    assert "5000 digits" in one_line_no_traceback(caplog, capfd, rt.receiver)


def test_a_peer_that_resets_mid_body_is_closed_in_one_line(setup, caplog, capfd):
    rt, port = setup.rt, setup.port
    sale = stuck_sale(rt)
    caplog.set_level(logging.INFO, logger="pos_app.receiver")
    body = notify_payment(sale.id)
    peer = socket.create_connection(("127.0.0.1", port), timeout=10)
    peer.sendall(b"POST /notify HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    assert peer.recv(100).startswith(b"HTTP/1.1 100"), "the receiver read the headers and waits for the body"
    peer.sendall(body[:10])
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()  # linger 0: a reset, not a close
    assert "did not arrive" in one_line_no_traceback(caplog, capfd, rt.receiver)
    assert rt.terminal.load(sale.id).status == "UNKNOWN"


def test_a_signed_notification_with_a_lone_surrogate_is_journaled_unreadable_and_acknowledged(setup, caplog, capfd):
    """Valid JSON the journal cannot store: answering U would make the gateway resend it for ever."""
    rt, port, key = setup
    sale = stuck_sale(rt)
    caplog.set_level(logging.INFO, logger="pos_app.receiver")
    body = json.dumps({"notifyType": "PAYMENT_RESULT", "paymentRequestId": sale.id, "paymentId": "P-1",
                       "result": {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "\ud800"}}).encode()
    assert b'"\\ud800"' in body
    assert post(port, body, key) == (200, ACK)  # signed as the simulator's notifier signs
    assert "journaled as unreadable" in one_line_no_traceback(caplog, capfd, rt.receiver)
    [detail] = unreadable_events(rt)
    assert detail["why"] == "its text cannot be stored (a lone UTF-16 surrogate)"
    assert detail["originalType"] == "PAYMENT_RESULT" and detail["paymentRequestId"] == sale.id
    assert "\\ud800" in detail["excerpt"]
    assert rt.terminal.load(sale.id).status == "UNKNOWN", "not applied: an inquiry settles the sale"
    assert [i["kind"] for i in review_items(rt.terminal.journal)] == ["sale", "notification"], "a manager sees it"


def unreadable_events(rt) -> list[dict]:
    rows = rt.terminal.journal.conn.execute(
        "SELECT detail FROM events WHERE txn='' AND kind='notification_unreadable' ORDER BY seq").fetchall()
    return [json.loads(r[0]) for r in rows]


@pytest.mark.parametrize("raw, why", [(b"not json", "the body is not JSON"),
                                      (b"[1,2]", "the body is not a JSON object")])
def test_a_signed_body_that_is_no_notification_is_journaled_unreadable_and_acknowledged(setup, raw, why):
    """Signed by the gateway, so no resend can ever be better: answering U would loop for ever."""
    rt, port, key = setup
    assert post(port, raw, key) == (200, ACK)
    [detail] = unreadable_events(rt)
    assert detail["why"] == why and detail["excerpt"] == raw.decode()
    assert any(i["kind"] == "notification" and i["status"] == "UNREADABLE" for i in review_items(rt.terminal.journal))


def test_a_notification_arriving_as_the_terminal_stops_is_refused_U_in_one_line(sim, tmp_path, caplog, capfd):
    """A kept-alive connection outlives the listener: what comes on it after stop() must not reach a
    journal that is closing, and must be answered so that the gateway resends it."""
    from pos_app.config import load_config
    from pos_app.receiver import NotificationReceiver
    from pos_app.terminal import Terminal
    port = reserve_port()
    config = load_config(write_config(sim, port=port, payments={"inquiry_intervals": [5] * 10}))
    client_id = config.gateway.client_id
    key = signing.load_private_key(sim.provisioned.keys_dir / "gateway_private.pem")
    terminal = Terminal(config, tmp_path / "t")
    # Wired as the runtime wires it, with a read timeout no slow machine reaches while the terminal stops.
    receiver = NotificationReceiver("127.0.0.1", port, client_id, signing.load_public_key(
        config.gateway.gateway_public_key), terminal.apply_notification, timeout=600).start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def send(body: bytes) -> dict:
        when = str(int(time.time() * 1000))
        conn.request("POST", "/notify", body=body, headers={
            "client-id": client_id, "request-time": when,
            "signature": signing.sign(key, "/notify", client_id, when, body)})
        answer = conn.getresponse()
        assert answer.status == 200
        return json.loads(answer.read())
    try:
        sale = terminal.start_sale(usd(sc.STUCK), code=payment_code())
        assert send(notify_payment("PR-not-ours")) == ACK  # the connection is now kept alive
        caplog.set_level(logging.INFO, logger="pos_app.receiver")
    finally:
        receiver.stop()
        terminal.close()  # Runtime.stop's order
    try:
        answer = send(notify_payment(sale.id))
    finally:
        conn.close()
    assert answer["result"]["resultStatus"] == "U" and "stopping" in answer["result"]["resultMessage"]
    assert "stopped" in one_line_no_traceback(caplog, capfd, receiver)
    assert journal_sales(tmp_path / "t")[sale.id]["status"] == "UNKNOWN"
