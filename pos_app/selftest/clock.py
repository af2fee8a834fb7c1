"""This machine's wall clock: a sane year, never behind the journal, and agreeing with the gateway's.

A wrong clock signs requests the gateway refuses (its request-time window) and dates receipts and Z
reports wrongly, so it is checked twice: against what the journal already recorded (internal) and
against the gateway's signed ``response-time`` of the round trip's answer (external, ``clock-skew``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from .results import Check, failed, passed, skipped

CLOCK_YEARS = (2024, 2100)
CLOCK_BACK_TOLERANCE = 60.0      # the clock may sit this far behind the journal's newest record
SKEW_WARN, SKEW_FAIL = 5.0, 60.0
NTP_HINT = ("turn on time synchronisation: sudo timedatectl set-ntp true (then `timedatectl` shows "
            "'System clock synchronized: yes')")


def check_clock(now: float, newest_record: float | None) -> Check:
    """A sane year, and not before the journal's newest record (less a minute): a clock that went back."""
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    low, high = CLOCK_YEARS
    year = datetime.fromtimestamp(now, UTC).year
    if not low <= year <= high:
        return failed("clock", f"the clock says {when}, which cannot be right", NTP_HINT)
    if newest_record is not None and now < newest_record - CLOCK_BACK_TOLERANCE:
        newest = datetime.fromtimestamp(newest_record, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return failed("clock", f"the clock says {when}, {newest_record - now:,.0f} s before the journal's newest "
                               f"record ({newest}): it went backwards", NTP_HINT)
    return passed("clock", when + ("" if newest_record is None else ", after the journal's newest record"))


def parse_response_time(value: str | None) -> float | None:
    """The gateway's ``response-time``: epoch milliseconds (the simulator, the Java SDK) or ISO 8601 with
    an offset (the API docs); None when it is neither."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        number = int(text)
        return number / 1000 if number > 10**11 else float(number)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def check_skew(response_time: str | None, sent: float, received: float) -> Check:
    """Our clock (``sent`` and ``received`` read from it around the call) against the gateway's signed
    ``response-time``; the round trip's half width is counted in our favour."""
    gateway_time = parse_response_time(response_time)
    if response_time is None or gateway_time is None:
        return skipped("clock-skew", f"the gateway's response-time {response_time!r} is not a time this check reads",
                       "compare the clock with a reference by hand: timedatectl")
    ours = (sent + received) / 2
    skew = ours - gateway_time
    margin = max(0.0, (received - sent) / 2) + (0.0 if response_time.strip().isdigit() else 1.0)
    certain = max(0.0, abs(skew) - margin)
    words = f"our clock is {abs(skew):,.1f} s {'ahead of' if skew > 0 else 'behind'} the gateway's"
    if certain > SKEW_FAIL:
        return failed("clock-skew", words, NTP_HINT)
    if certain > SKEW_WARN:
        return passed("clock-skew", f"{words} (more than {SKEW_WARN:g} s: fix it before it grows)", NTP_HINT)
    return passed("clock-skew", f"our clock agrees with the gateway's to {abs(skew):.1f} s")
