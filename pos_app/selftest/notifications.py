"""The notification endpoint: does the gateway's payment-result notification reach a receiver that verifies it?

Its own module because it is the one check that serves as well as calls: with no terminal running it
stands up the production receiver on the configured port for the test. ``http.client`` is imported only
when the check runs: importing the self-test (the GUI does, at start-up) must not pay for it.
"""

from __future__ import annotations

import errno
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from ..config import Config
from ..errors import KeyFileError, PosError
from ..i18n import N_, _
from .config_keys import beside, same_key
from .results import PASS, Check, failed, one_line, passed, skipped
from .storage import terminal_running


def connect_host(host: str) -> str:
    """Where to connect to reach a listener bound to ``host`` (a wildcard is reached on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def gateway_signer(config: Config):
    """The gateway's private key, when this machine has it (the simulator's keys lie beside the gateway
    public key): only then can we sign a notification the terminal must accept."""
    from .. import signing

    public_path = Path(config.gateway.gateway_public_key)
    private_path = beside(public_path, "private", "gateway_private.pem")
    if private_path is None:
        return None
    try:
        private = signing.load_private_key(private_path, N_("gateway private key"))
        public = signing.load_public_key(public_path, "[gateway] gateway_public_key")
    except KeyFileError:
        return None
    return private if same_key(private.public_key(), public) else None


def _post(host: str, port: int, path: str, client_id: str, signer) -> tuple[int, bytes]:
    """Send the test notification (signed with ``signer`` if there is one); the status and body answered."""
    import http.client

    from .. import signing

    body = json.dumps({"notifyType": "PAYMENT_RESULT", "paymentRequestId": f"SELFTEST-{uuid.uuid4().hex[:16]}",
                       "result": {"resultCode": "SELFTEST", "resultStatus": "U",
                                  "resultMessage": "pos-terminal selftest: ignore"}},
                      separators=(",", ":")).encode()
    request_time = str(int(time.time() * 1000))
    headers = {"Content-Type": "application/json; charset=UTF-8", "client-id": client_id,
               "request-time": request_time}
    if signer is not None:
        headers["signature"] = signing.sign(signer, path, client_id, request_time, body)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read(64 * 1024)
    finally:
        conn.close()


def _judge(status: int, raw: bytes, signed: bool, who: str, where: str) -> Check:
    """The answer to a test notification as a check; ``who`` answered (N_-marked words, translated here)."""
    from ..receiver import ACK

    try:
        result = json.loads(raw).get("result", {})
    except (ValueError, AttributeError):
        result = None
    if not isinstance(result, dict):
        return failed("notifications", _("something other than a notification receiver answers on {where} "
                                         "(HTTP {status})").format(where=where, status=status),
                      _("another program uses the port: stop it, or change [notifications] listen"))
    message = str(result.get("resultMessage", ""))
    who = _(who)
    if signed:
        if status == 200 and raw == ACK:
            return passed("notifications", _("{who} on {where} verified and acknowledged a signed test "
                                             "notification").format(who=who, where=where))
        if "signature" in message:
            return failed("notifications", _("{who} on {where} refused a correctly signed test notification").format(
                              who=who, where=where),
                          _("the terminal verifies with another gateway key: restart it after fixing "
                            "[gateway] gateway_public_key"))
        return failed("notifications", _("{who} on {where} did not acknowledge a signed test notification: "
                                         "{reason}").format(who=who, where=where,
                                                            reason=one_line(message) or f"HTTP {status}"),
                      _("see the terminal's log (run with -v) for why it could not record it"))
    if status == 200 and raw == ACK:
        return failed("notifications", _("{who} on {where} acknowledged an UNSIGNED notification").format(
                          who=who, where=where),
                      _("something else answers there, or a receiver that does not verify: stop it"))
    if result.get("resultStatus") == "U" and "signature" in message:
        return passed("notifications", _("{who} on {where} refuses unsigned notifications (only the gateway can "
                                         "sign a full test)").format(who=who, where=where),
                      _("for the path from the gateway, send a test notification from the gateway portal"))
    return failed("notifications", _("{who} on {where} answered an unsigned test with HTTP {status}: "
                                     "{reason}").format(who=who, where=where, status=status, reason=one_line(message)),
                  _("check the terminal's log (run with -v)"))


def check_notifications(config: Config, data_dir: Path, *, sandbox: bool = False) -> Check:
    """The notification endpoint, as far as it can be tested from here.

    - What is sent: a ``notifyPayment`` for a paymentRequestId that cannot exist (``SELFTEST-…``); a terminal
      acknowledges and journals it as an unmatched notification, and changes nothing else.
    - Signed when this machine has the gateway's private key (the simulator's keys, beside the configured
      gateway public key); then the exact ack is the pass. Otherwise (a live gateway) only the gateway can
      sign, so it is sent unsigned and the receiver's refusal (U, "does not verify") is the pass: it is up
      and it verifies. The full path from the gateway is then the gateway portal's test notification.
    - Where: ``[notifications] listen`` (a wildcard address is reached on loopback). If nothing listens
      there and a terminal holds this data directory, that is a failure. If no terminal runs, a stand-in
      receiver (the production :class:`~pos_app.receiver.NotificationReceiver`, recording instead of
      journaling) listens there for the test: that proves the port can be taken and the configured key
      verifies. In sandbox mode the terminal's port is a free one chosen at start, so the stand-in always
      listens on a free loopback port.
    """
    import http.client

    from .. import signing
    from ..receiver import NotificationReceiver

    n = config.notifications
    client_id = config.gateway.client_id
    path = urlsplit(n.public_url).path or "/"
    signer = gateway_signer(config)
    host, port = ("127.0.0.1", 0) if sandbox else (connect_host(n.listen_host), n.listen_port)
    if port:
        where = f"{host}:{port}"
        try:
            status, raw = _post(host, port, path, client_id, signer)
            return _judge(status, raw, signer is not None, N_("the terminal"), where)
        except ConnectionRefusedError:
            pass
        except (OSError, http.client.HTTPException) as exc:
            return failed("notifications", _("{where} did not answer a test notification properly ({error}: "
                                             "{reason})").format(where=where, error=type(exc).__name__,
                                                                 reason=one_line(exc)),
                          _("another program may hold the port: stop it, or change [notifications] listen"))
        if terminal_running(data_dir):
            return failed("notifications", _("the terminal is running but nothing listens on {where}").format(
                              where=where),
                          _("see the terminal's start-up warnings: another program may have the port, or change "
                            "[notifications] listen"))
    try:
        gateway_key = signing.load_public_key(config.gateway.gateway_public_key, "[gateway] gateway_public_key")
    except PosError as exc:
        return skipped("notifications", _("the gateway key does not load ({reason})").format(
                           reason=one_line(exc.message)), _("see the keys check"))
    received: list[dict] = []
    bind_host = "127.0.0.1" if sandbox else n.listen_host
    try:
        stand_in = NotificationReceiver(bind_host, port, client_id, gateway_key, received.append).start()
    except OSError as exc:
        hint = (_("ports below 1024 need root: pick a port above 1024") if exc.errno == errno.EACCES else
                _("this machine has no such address: use 0.0.0.0 or one of its addresses")
                if exc.errno == errno.EADDRNOTAVAIL else _("change [notifications] listen"))
        return failed("notifications", _("cannot listen on {address} for notifications ({reason})").format(
                          address=f"{bind_host}:{port}", reason=exc.strerror), hint)
    try:
        where = f"{connect_host(bind_host)}:{stand_in.port}"
        status, raw = _post(connect_host(bind_host), stand_in.port, path, client_id, signer)
    except (OSError, http.client.HTTPException) as exc:
        return failed("notifications", _("the stand-in receiver did not answer ({reason})").format(
                          reason=one_line(exc)),
                      _("a firewall on this machine may block loopback connections"))
    finally:
        stand_in.stop()
    who = N_("a stand-in receiver (no terminal running)") if not sandbox else N_("a sandbox stand-in receiver")
    check = _judge(status, raw, signer is not None, who, where)
    if signer is not None and check.status == PASS and not received:
        return failed("notifications", _("the stand-in acknowledged without recording the notification"),
                      _("a bug: report it"))
    return check
