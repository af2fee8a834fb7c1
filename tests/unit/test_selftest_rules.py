"""The self-test's rules on their own: the clock and clock-skew verdicts, the advice a test scan gets (layout,
suffix, speed), and the prompt's words and QR (the checks against the real simulator, journal and devices
are integration/test_selftest.py's)."""

from __future__ import annotations

import time

from drivers.model import ScanEvent
from pos_app.cli.technician import prompt_for
from pos_app.selftest import (
    FAIL,
    PASS,
    SKIP,
    TEST_CODE,
    check_clock,
    check_skew,
    parse_response_time,
    scan_check,
)


def test_clock_and_skew_rules():
    now = time.time()
    assert check_clock(now, None).status == PASS
    assert check_clock(now, now + 30).status == PASS            # within the minute's tolerance
    assert check_clock(946684800.0, None).status == FAIL         # the year 2000: a dead RTC battery
    ms = str(int(now * 1000))
    assert check_skew(ms, now - 0.01, now + 0.01).hint == ""
    warned = check_skew(str(int((now - 10) * 1000)), now, now)
    assert warned.status == PASS and "10.0 s ahead" in warned.detail and "timedatectl" in warned.hint
    assert check_skew(str(int((now + 120) * 1000)), now, now).status == FAIL
    assert check_skew("yesterday", now, now).status == SKIP
    assert parse_response_time("2019-04-04T12:08:56+08:00") == 1554350936.0
    assert parse_response_time("2019-04-04T04:08:56Z") == 1554350936.0
    assert parse_response_time("2019-04-04T12:08:56") is None      # no offset: no way to compare


def test_scan_check_advice():
    def event(data, **kw):
        return ScanEvent(data, "QR Code", 204, kw.pop("aim", "]Q1"), "test", time.time(), data.encode(),
                         kw.pop("ended_by", "enter"))

    assert scan_check(TEST_CODE, event(TEST_CODE)).status == PASS
    assert scan_check(TEST_CODE, f"]Q1{TEST_CODE}\r").status == PASS          # raw text, as typed
    german = scan_check(TEST_CODE, event("POSßTESTßqwayzß0123456789"), layout="de")
    assert german.status == FAIL and 'layout = "us"' in german.hint
    french = scan_check(TEST_CODE, event("POS6TEST6azqwy6)!@#$%^&*("), layout="us")  # an AZERTY scanner
    assert 'layout = "fr"' in french.hint
    gap = scan_check(TEST_CODE, event(TEST_CODE, ended_by="gap"))
    assert gap.status == FAIL and "Enter (CR)" in gap.hint
    slow = scan_check(TEST_CODE, event(TEST_CODE), duration=len(TEST_CODE) * 0.05)
    assert slow.status == FAIL and "50 ms a character" in slow.detail and "inter-character delay to 0" in slow.hint
    assert scan_check(TEST_CODE, event(TEST_CODE), duration=0.05).status == PASS
    no_aim = scan_check(TEST_CODE, event(TEST_CODE, aim=None), expect_aim=True)
    assert no_aim.status == FAIL and "AIM" in no_aim.hint
    assert scan_check(TEST_CODE, event(TEST_CODE, aim=None)).status == PASS   # optional unless asked for
    assert "wrong case" in scan_check(TEST_CODE, event(TEST_CODE.swapcase())).detail
    extra = scan_check(TEST_CODE, event("\x02" + TEST_CODE))
    assert "before '\\x02'" in extra.detail and "prefix/suffix" in extra.hint
    cut = scan_check(TEST_CODE, event(TEST_CODE[:10], ended_by="gap"))
    assert "only 10 of" in cut.detail and "inter-character delay" in cut.hint
    other = scan_check(TEST_CODE, event("4006381333931", aim="]E0"))
    assert other.status == FAIL and "not another barcode" in other.hint
    customer = scan_check(TEST_CODE, event("283412345678901234"))  # a payment code scanned by mistake
    assert "283412345678901234" not in customer.detail and "1234" in customer.detail
    two = scan_check(TEST_CODE, event("POSßTESTßqwayzß0123456789", ended_by="gap"), layout="de")
    assert two.detail.count(";") == 1 and two.hint.count(";") >= 1  # every problem, still one line each
    assert "\n" not in two.detail + two.hint


def test_prompt_prints_the_code_and_a_terminal_qr(capsys):
    prompt_for(False)(TEST_CODE)
    out = capsys.readouterr().out
    assert out.startswith(f"scan the test barcode now: {TEST_CODE}\n")
    assert len(out.splitlines()) > 10  # the QR's rows
