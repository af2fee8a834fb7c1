"""This machine's wall clock: a sane year, never behind the journal, and agreeing with the gateway's.

A wrong clock signs requests the gateway refuses (its request-time window) and dates receipts and Z
reports wrongly, so it is checked twice: against what the journal already recorded (internal) and
against the gateway's signed ``response-time`` of the round trip's answer (external, ``clock-skew``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..i18n import N_, _
from .results import Check, failed, passed, skipped

CLOCK_YEARS = (2024, 2100)
CLOCK_BACK_TOLERANCE = 60.0      # the clock may sit this far behind the journal's newest record
SKEW_WARN, SKEW_FAIL = 5.0, 60.0
NTP_HINT = N_("turn on time synchronisation: sudo timedatectl set-ntp true (then `timedatectl` shows "
              "'System clock synchronized: yes')")   # shown through _()


def check_clock(now: float, newest_record: float | None) -> Check:
    """A sane year, and not before the journal's newest record (less a minute): a clock that went back."""
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    low, high = CLOCK_YEARS
    year = datetime.fromtimestamp(now, UTC).year
    if not low <= year <= high:
        return failed("clock", _("the clock says {when}, which cannot be right").format(when=when), _(NTP_HINT))
    if newest_record is not None and now < newest_record - CLOCK_BACK_TOLERANCE:
        newest = datetime.fromtimestamp(newest_record, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return failed("clock", _("the clock says {when}, {seconds} s before the journal's newest record ({newest}): "
                                 "it went backwards").format(when=when, seconds=f"{newest_record - now:,.0f}",
                                                             newest=newest), _(NTP_HINT))
    if newest_record is None:
        return passed("clock", when)
    return passed("clock", _("{when}, after the journal's newest record").format(when=when))


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
        return skipped("clock-skew", _("the gateway's response-time {value} is not a time this check reads").format(
                           value=repr(response_time)), _("compare the clock with a reference by hand: timedatectl"))
    ours = (sent + received) / 2
    skew = ours - gateway_time
    margin = max(0.0, (received - sent) / 2) + (0.0 if response_time.strip().isdigit() else 1.0)
    certain = max(0.0, abs(skew) - margin)
    words = (_("our clock is {seconds} s ahead of the gateway's") if skew > 0 else
             _("our clock is {seconds} s behind the gateway's")).format(seconds=f"{abs(skew):,.1f}")
    if certain > SKEW_FAIL:
        return failed("clock-skew", words, _(NTP_HINT))
    if certain > SKEW_WARN:
        return passed("clock-skew", _("{words} (more than {limit} s: fix it before it grows)").format(
            words=words, limit=f"{SKEW_WARN:g}"), _(NTP_HINT))
    return passed("clock-skew", _("our clock agrees with the gateway's to {seconds} s").format(
        seconds=f"{abs(skew):.1f}"))
