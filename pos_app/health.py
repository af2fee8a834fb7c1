"""Does the gateway answer us? The one verdict behind ``pos-terminal status`` and the self-test's round trip.

Both ask the same question the same way (a signed inquiry for a paymentRequestId that cannot exist) and
used to judge the answer each on its own, so they could disagree about one gateway. Here it is decided
once: :func:`verdict` names what the answer means, :func:`probe_gateway` sends the probe and times it.
Each front end only words the verdict (the status line, the self-test's detail and hint).

No Qt, and nothing heavy at import: the HTTP client is imported when a probe is sent.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .outcome import Delivery, Outcome, Status

if TYPE_CHECKING:
    from .config import Config
    from .netpath import Proxy, TlsInfo

#: What the gateway answers for a paymentRequestId it has never seen: the probe's expected answer.
NOT_FOUND = "ORDER_NOT_EXIST"


class Verdict(enum.StrEnum):
    """What one probe's outcome says about the link to the gateway (first match wins, in this order)."""

    ANSWERED = "answered"              # a verified answer: SUCCESS, or FAILURE ORDER_NOT_EXIST
    BAD_SIGNATURE = "bad-signature"    # INVALID_SIGNATURE: it does not take our merchant key
    UNKNOWN_CLIENT = "unknown-client"  # INVALID_CLIENT: it does not know our client id
    UNVERIFIED = "unverified"          # its answer does not verify with our gateway key
    NOT_SENT = "not-sent"              # no connection: the request never left
    REFUSED = "refused"                # another FAILURE: it answered, but not as a gateway should
    NO_ANSWER = "no-answer"            # anything else unknown (HTTP error, timeout, a U answer)


def verdict(outcome: Outcome) -> Verdict:
    code = outcome.result_code
    if outcome.status is Status.SUCCESS or (outcome.status is Status.FAILURE and code == NOT_FOUND):
        return Verdict.ANSWERED
    if code == "INVALID_SIGNATURE":
        return Verdict.BAD_SIGNATURE
    if code == "INVALID_CLIENT":
        return Verdict.UNKNOWN_CLIENT
    if code == "UNVERIFIED":
        return Verdict.UNVERIFIED
    if outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT:
        return Verdict.NOT_SENT
    if outcome.status is Status.FAILURE:
        return Verdict.REFUSED
    return Verdict.NO_ANSWER


@dataclass(frozen=True)
class Probe:
    outcome: Outcome
    verdict: Verdict
    elapsed_ms: float
    sent: float                  # the caller's wall clock just before the call ...
    received: float              # ... and just after it
    response_time: str | None    # the gateway's signed response-time header, if its answer verified
    verified: bool = False       # the answer's signature verified: whatever it says, the path to the gateway works
    proxy: Proxy | None = None   # the way the call took (status shows it and who set it)
    tls: TlsInfo | None = None   # its TLS handshake's facts (None over http://, or when none finished)

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.ANSWERED


def probe_gateway(config: Config, *, label: str, clock: Callable[[], float] = time.time) -> Probe:
    """Send the probe (an inquiry for ``<label>-<random>``) to the configured gateway and judge it.

    Raises :class:`~pos_app.errors.KeyFileError` when the keys do not load; every answer, or none, is a
    :class:`Probe`. ``clock`` is the wall clock ``sent`` and ``received`` are read from.
    """
    from .gateway import GatewayClient

    signed: list[str | None] = []
    with GatewayClient.from_config(config, on_verified=lambda headers: signed.append(
            headers.get("response-time"))) as client:
        sent = clock()
        started = time.perf_counter()
        outcome = client.inquiry_payment(payment_request_id=f"{label}-{uuid.uuid4().hex[:16]}")
        elapsed_ms = (time.perf_counter() - started) * 1000
        received = clock()
        proxy, tls = client.proxy, client.last_tls
    return Probe(outcome, verdict(outcome), elapsed_ms, sent, received, signed[-1] if signed else None,
                 verified=bool(signed), proxy=proxy, tls=tls)
