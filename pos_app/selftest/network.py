"""The gateway from here: can we connect (``gateway``), and does a signed call come back verified
(``round-trip``)?

Connecting is checked on its own first, so a cable or firewall problem is named as one instead of as
a failed call. Whether the round trip's answer means the gateway works is not decided here: that is
:func:`pos_app.health.verdict`, the same verdict ``pos-terminal status`` gives; this module only says
which setting each verdict points at.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from ..config import Config
from ..errors import KeyFileError
from ..i18n import _
from .results import Check, failed, one_line, passed, skipped


def gateway_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def check_reachable(url: str, timeout: float = 5.0, *, where: str = "[gateway] url") -> Check:
    """A TCP connect to the gateway's host and port, timed."""
    host, port = gateway_address(url)
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        return failed("gateway", _("cannot resolve {host} ({reason})").format(host=host, reason=exc.strerror),
                      _("check the network's DNS (/etc/resolv.conf) and the host name in {where}").format(where=where))
    except TimeoutError:
        return failed("gateway", _("cannot reach {address}: no answer within {seconds} s").format(
                          address=shown, seconds=f"{timeout:g}"),
                      _("check the network cable or Wi-Fi and any firewall between here and the gateway"))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = (_("nothing listens there: is the gateway (or simulator) running? check {where}")
                if exc.errno == errno.ECONNREFUSED else
                _("check the network (cable, Wi-Fi, router) and {where}")).format(where=where)
        return failed("gateway", _("cannot reach {address} ({reason})").format(address=shown, reason=reason), hint)
    ms = (time.perf_counter() - started) * 1000
    return passed("gateway", _("{address} accepts connections ({ms} ms to connect)").format(
        address=shown, ms=f"{ms:.1f}"))


def judge_round_trip(outcome, elapsed_ms: float, config: Config) -> Check:
    """The probe's outcome in the self-test's words: the health verdict, with the setting to look at."""
    from ..health import Verdict, verdict

    gw = config.gateway
    code = outcome.result_code
    said = verdict(outcome)
    if said is Verdict.ANSWERED:
        return passed("round-trip", _("a signed inquiry was answered ({code}) and the answer verified in {ms} ms")
                      .format(code=code or "S", ms=f"{elapsed_ms:.0f}"))
    if said is Verdict.BAD_SIGNATURE:
        return failed("round-trip", _("the gateway rejects our signature"),
                      _("[gateway] merchant_private_key {path} does not match the public key registered for client "
                        "id {client_id}: register its public half, or use the right key").format(
                          path=gw.merchant_private_key, client_id=gw.client_id))
    if said is Verdict.UNKNOWN_CLIENT:
        return failed("round-trip", _("the gateway does not know client id {client_id}").format(client_id=gw.client_id),
                      _("check [gateway] client_id in {path} against the gateway portal").format(path=config.path))
    if said is Verdict.UNVERIFIED:
        return failed("round-trip", _("the gateway's answer did not verify: wrong gateway public key?"),
                      _("[gateway] gateway_public_key {path} must be the gateway's public key (from the gateway "
                        "portal), the one that signs its answers").format(path=gw.gateway_public_key))
    if said is Verdict.NOT_SENT:
        return failed("round-trip", one_line(outcome.message),
                      _("check the network and [gateway] url ({url}); an https gateway needs a valid certificate")
                      .format(url=gw.url))
    if said is Verdict.REFUSED:
        return failed("round-trip", _("the gateway refused the inquiry: {code} {reason}").format(
                          code=code, reason=one_line(outcome.message)).strip(),
                      _("an unknown paymentRequestId should answer ORDER_NOT_EXIST; ask the gateway's support "
                        "about this result code"))
    return failed("round-trip", _("no usable answer: {reason}").format(reason=one_line(outcome.message) or code),
                  _("the gateway may be down or overloaded; try again in a minute, then ask its support"))


def check_round_trip(config: Config, clock: Callable[[], float]) -> tuple[Check, tuple | None]:
    """The ``round-trip`` check, and for the ``clock-skew`` check the gateway's signed response-time with
    our ``clock`` just before and after the call (None unless the answer verified)."""
    from ..health import probe_gateway

    try:
        probe = probe_gateway(config, label="SELFTEST", clock=clock)
    except KeyFileError as exc:
        return skipped("round-trip", _("the keys do not load ({reason})").format(reason=one_line(exc.message)),
                       _("see the keys check")), None
    answer = None if probe.response_time is None else (probe.response_time, probe.sent, probe.received)
    return judge_round_trip(probe.outcome, probe.elapsed_ms, config), answer
