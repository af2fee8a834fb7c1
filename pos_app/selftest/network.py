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
        return failed("gateway", f"cannot resolve {host} ({exc.strerror})",
                      f"check the network's DNS (/etc/resolv.conf) and the host name in {where}")
    except TimeoutError:
        return failed("gateway", f"cannot reach {shown}: no answer within {timeout:g} s",
                      "check the network cable or Wi-Fi and any firewall between here and the gateway")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = (f"nothing listens there: is the gateway (or simulator) running? check {where}"
                if exc.errno == errno.ECONNREFUSED else
                f"check the network (cable, Wi-Fi, router) and {where}")
        return failed("gateway", f"cannot reach {shown} ({reason})", hint)
    ms = (time.perf_counter() - started) * 1000
    return passed("gateway", f"{shown} accepts connections ({ms:.1f} ms to connect)")


def judge_round_trip(outcome, elapsed_ms: float, config: Config) -> Check:
    """The probe's outcome in the self-test's words: the health verdict, with the setting to look at."""
    from ..health import Verdict, verdict

    gw = config.gateway
    code = outcome.result_code
    said = verdict(outcome)
    if said is Verdict.ANSWERED:
        return passed("round-trip", f"a signed inquiry was answered ({code or 'S'}) and the answer verified in "
                                    f"{elapsed_ms:.0f} ms")
    if said is Verdict.BAD_SIGNATURE:
        return failed("round-trip", "the gateway rejects our signature",
                      f"[gateway] merchant_private_key {gw.merchant_private_key} does not match the public key "
                      f"registered for client id {gw.client_id}: register its public half, or use the right key")
    if said is Verdict.UNKNOWN_CLIENT:
        return failed("round-trip", f"the gateway does not know client id {gw.client_id}",
                      f"check [gateway] client_id in {config.path} against the gateway portal")
    if said is Verdict.UNVERIFIED:
        return failed("round-trip", "the gateway's answer did not verify: wrong gateway public key?",
                      f"[gateway] gateway_public_key {gw.gateway_public_key} must be the gateway's public key "
                      "(from the gateway portal), the one that signs its answers")
    if said is Verdict.NOT_SENT:
        return failed("round-trip", one_line(outcome.message),
                      f"check the network and [gateway] url ({gw.url}); an https gateway needs a valid certificate")
    if said is Verdict.REFUSED:
        return failed("round-trip", f"the gateway refused the inquiry: {code} {one_line(outcome.message)}".strip(),
                      "an unknown paymentRequestId should answer ORDER_NOT_EXIST; ask the gateway's support "
                      "about this result code")
    return failed("round-trip", f"no usable answer: {one_line(outcome.message) or code}",
                  "the gateway may be down or overloaded; try again in a minute, then ask its support")


def check_round_trip(config: Config, clock: Callable[[], float]) -> tuple[Check, tuple | None]:
    """The ``round-trip`` check, and for the ``clock-skew`` check the gateway's signed response-time with
    our ``clock`` just before and after the call (None unless the answer verified)."""
    from ..health import probe_gateway

    try:
        probe = probe_gateway(config, label="SELFTEST", clock=clock)
    except KeyFileError as exc:
        return skipped("round-trip", f"the keys do not load ({one_line(exc.message)})", "see the keys check"), None
    answer = None if probe.response_time is None else (probe.response_time, probe.sent, probe.received)
    return judge_round_trip(probe.outcome, probe.elapsed_ms, config), answer
