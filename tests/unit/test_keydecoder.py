"""The key decoder, fed traces with realistic timing (see scantraces) and random event sequences."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scantraces import EV_KEY, KEY_ENTER, KEY_LEFTSHIFT, person, scanner

from drivers.aim import split_prefix
from drivers.keydecoder import BurstRule, DecodedScan, KeyDecoder, Rejected
from drivers.trace import replay

CODE = "283412345678901234"  # an 18-digit Alipay+ code
ASCII = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=3, max_size=40)


def decode(events, **kw):
    return replay(events, KeyDecoder(**kw))


def scans(outputs):
    return [o for o in outputs if isinstance(o, DecodedScan)]


def only_scan(events, **kw):
    out = decode(events, **kw)
    found = scans(out)
    assert len(found) == 1, out
    return found[0]


def test_fast_scanner_burst_gives_one_scan_ended_by_enter():
    events, _ = scanner(CODE)
    scan = only_scan(events)
    assert scan.text == CODE and scan.ended_by == "enter"
    assert scan.duration < 0.05  # 19 keys, 2 reports each, at 1 ms


def test_slow_scanner_with_inter_character_delay_still_one_scan():
    events, _ = scanner(CODE, report=0.008, char_delay=0.05)
    assert only_scan(events).text == CODE


def test_shifted_characters_and_punctuation():
    text = "AbC-123!@#$%^&*()_+{}|:\"<>?~ zZ"
    events, _ = scanner(text)
    assert only_scan(events).text == text


@pytest.mark.parametrize("layout", ["us", "de", "fr"])
def test_every_printable_ascii_character_on_every_layout(layout):
    text = "".join(chr(c) for c in range(0x21, 0x7F))
    events, _ = scanner(text, layout=layout)
    assert only_scan(events, layout=layout, max_length=4096).text == text


def test_azerty_scanner_decoded_with_its_layout():
    """A scanner programmed for French sends Shift+& for 1: decoded as FR, the digits come back."""
    events, _ = scanner("0013748911", layout="fr")
    assert only_scan(events, layout="fr").text == "0013748911"


def test_us_scanner_on_a_french_desk_is_not_garbled():
    """Odoo PR #214407: a US-programmed badge reader read on AZERTY gave àà&"è'!ç&&. We decode the
    keycodes with the scanner's layout (US by default), whatever the desktop uses."""
    events, _ = scanner("0013748911", layout="us")
    assert only_scan(events).text == "0013748911"
    # what the wrong table makes of it (the PR's reader had 8 = "!", as Belgian AZERTY does; xkb fr has "_")
    assert only_scan(events, layout="fr").text == "àà&\"è'_ç&&"


def test_qwertz_scanner():
    events, _ = scanner("Zy-/@?", layout="de")
    assert only_scan(events, layout="de").text == "Zy-/@?"


def test_aim_prefix_is_parsed_and_stripped():
    events, _ = scanner("]Q1" + CODE)
    scan = only_scan(events)
    assert scan.text == CODE and scan.typed == "]Q1" + CODE
    assert (scan.symbology.name, scan.symbology.aim, scan.symbology.scan_data_type) == ("QR Code", "]Q1", 204)


def test_ean13_symbology_inferred_without_prefix():
    events, _ = scanner("4006381333931")
    assert only_scan(events).symbology.name == "EAN-13"


def test_missing_suffix_ends_on_the_gap():
    first, t = scanner(CODE, suffix=None)
    second, _ = scanner("4006381333931", suffix=None, t0=t + 0.5)
    out = scans(decode(first + second, gap_ms=100))
    assert [s.text for s in out] == [CODE, "4006381333931"]
    assert {s.ended_by for s in out} == {"gap"}
    assert out[0].t == pytest.approx(first[-1][0])  # the scan's time is its last key, not the timer


def test_tab_suffix():
    events, _ = scanner(CODE, suffix="tab")
    assert only_scan(events).ended_by == "tab"


def test_too_short_is_reported_not_delivered():
    events, _ = scanner("12")
    out = decode(events)
    assert not scans(out) and [o.kind for o in out] == ["rejected"]


def test_bare_enter_is_nothing():
    events, _ = scanner("", suffix="enter")
    assert decode(events) == []


def test_runaway_input_is_dropped_and_bounded():
    events, _ = scanner("7" * 300)
    out = decode(events, max_length=100)
    assert not scans(out) and out[0].kind == "dropped"


def test_shared_keyboard_tells_a_scanner_from_a_person():
    rule = BurstRule(avg_ms=30, max_gap_ms=100, min_length=6)
    typed, t = person("4006381333931")
    burst, _ = scanner(CODE, t0=t + 1)
    out = decode(typed + burst, shared=rule)
    assert [s.text for s in scans(out)] == [CODE]
    assert any(isinstance(o, Rejected) and o.kind == "typed" for o in out)


def test_a_fast_typist_with_a_short_word_is_not_a_scan():
    rule = BurstRule(avg_ms=30, max_gap_ms=100, min_length=6)
    events, _ = scanner("ok", report=0.02)
    assert not scans(decode(events, shared=rule))


def _key(t, code, value):
    return (t, EV_KEY, code, value)


def test_caps_lock_inverts_letters_only():
    # CapsLock, then a scanner typing "ab1" without shift: letters come out upper case, digits stay.
    events = [_key(0, 58, 1), _key(0.001, 58, 0)]
    events += scanner("ab1", t0=0.01)[0]
    assert only_scan(events).text == "AB1"


def test_keypad_digits_follow_num_lock():
    kp = [(0.001 * i, EV_KEY, code, v) for i, (code, v) in enumerate(
        [(79, 1), (79, 0), (80, 1), (80, 0), (81, 1), (81, 0), (83, 1), (83, 0), (96, 1), (96, 0)])]
    assert only_scan(kp).text == "123."
    assert only_scan(kp, layout="de").text == "123,"
    assert scans(decode(kp, numlock=False)) == []


def test_alt_codes_type_the_same_on_any_layout():
    events, t = [], 0.0
    for digits in ("065", "066", "067"):  # Alt + keypad 0 6 5 = "A"
        events.append(_key(t, 56, 1))
        for d in digits:
            code = {"0": 82, "5": 76, "6": 77, "7": 71}[d]
            events += [_key(t + 0.001, code, 1), _key(t + 0.002, code, 0)]
            t += 0.002
        events.append(_key(t + 0.001, 56, 0))
        t += 0.003
    events += [_key(t, KEY_ENTER, 1), _key(t + 0.001, KEY_ENTER, 0)]
    for layout in ("us", "fr"):
        assert only_scan(events, layout=layout).text == "ABC"


def test_ctrl_m_is_the_enter_of_control_character_emulation():
    events, t = scanner(CODE, suffix=None)
    events += [_key(t, 29, 1), _key(t + 0.001, 50, 1), _key(t + 0.002, 50, 0), _key(t + 0.003, 29, 0)]
    assert only_scan(events, gap_ms=1000).ended_by == "enter"


def test_dead_key_then_space_gives_the_accent():
    events, _ = scanner("a^b`c", layout="de")
    assert only_scan(events, layout="de").text == "a^b`c"


def test_drop_reports_a_partial_scan_without_its_content():
    decoder = KeyDecoder()
    for event in scanner(CODE, suffix=None)[0][:30]:
        decoder.feed(*event)
    out = decoder.drop("scanner unplugged mid-scan", 5.0)
    assert [o.kind for o in out] == ["dropped"]
    assert "unplugged" in out[0].reason and CODE[:4] not in out[0].reason


def test_autorepeat_of_a_held_key_types_again():
    events = [_key(0, 2, 1), _key(0.25, 2, 2), _key(0.28, 2, 2), _key(0.3, 2, 0), _key(0.31, KEY_ENTER, 1)]
    assert only_scan(events, gap_ms=1000).text == "111"


def test_shift_released_mid_scan():
    events = [_key(0, KEY_LEFTSHIFT, 1), _key(0.001, 30, 1), _key(0.002, 30, 0), _key(0.003, KEY_LEFTSHIFT, 0),
              _key(0.004, 30, 1), _key(0.005, 30, 0), _key(0.006, 30, 1), _key(0.007, 30, 0),
              _key(0.008, KEY_ENTER, 1)]
    assert only_scan(events).text == "Aaa"


# -- properties ---------------------------------------------------------------------------------------
EVENT = st.tuples(st.floats(0, 10, allow_nan=False), st.integers(0, 5), st.integers(0, 260), st.integers(-1, 3))


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=200), st.sampled_from(["us", "de", "fr"]), st.booleans())
def test_no_event_sequence_crashes_or_yields_a_control_character(events, layout, shared):
    decoder = KeyDecoder(layout, min_length=1, shared=BurstRule() if shared else None)
    outputs = []
    for event in sorted(events):
        outputs += decoder.tick(event[0])
        outputs += decoder.feed(*event)
    outputs += decoder.tick(100.0) + decoder.drop("end", 101.0)
    for out in outputs:
        assert isinstance(out, (DecodedScan, Rejected))
        if isinstance(out, DecodedScan):
            assert out.text and not any(unicodedata.category(c) in ("Cc", "Cs") for c in out.typed)
    assert decoder.pending == 0


@settings(max_examples=100, deadline=None)
@given(ASCII, st.sampled_from(["us", "de", "fr"]), st.sampled_from(["enter", "tab", None]))
def test_what_a_scanner_types_comes_back(text, layout, suffix):
    assume(split_prefix(text)[0] is None)  # an AIM prefix is stripped: tested above
    events, _ = scanner(text, layout=layout, suffix=suffix)
    scan = only_scan(events, layout=layout)
    assert scan.typed == text


def test_kernel_overflow_drops_the_partial_scan_instead_of_delivering_a_wrong_code():
    events, _ = scanner(CODE)
    cut = len(events) // 2
    syn_dropped = (events[cut][0], 0, 3, 0)  # SYN_DROPPED: the kernel lost events here
    out = decode([*events[:cut], syn_dropped, *events[cut + 9:]])
    assert not any(s.text == CODE[:-1] or len(s.text) >= 16 for s in scans(out))
    assert out[0].kind == "dropped" and "kernel dropped" in out[0].reason


def test_alt_codes_from_a_slow_scanner_are_not_split_by_the_gap():
    events, t = [], 0.0
    for ch in "1234":
        digits = f"0{ord(ch)}"
        events.append(_key(t, 56, 1))
        for d in digits:
            code = {"0": 82, "4": 75, "9": 73, "5": 76, "1": 79, "2": 80, "3": 81}[d]
            t += 0.025
            events += [_key(t, code, 1), _key(t + 0.001, code, 0)]
        t += 0.025
        events.append(_key(t, 56, 0))
    events += [_key(t + 0.025, KEY_ENTER, 1)]
    assert only_scan(events, gap_ms=40).text == "1234"


def test_ctrl_m_suffix_on_azerty_is_where_m_is():
    first, t = scanner("12345", layout="fr", suffix=None)
    m = 39  # the M key of AZERTY (KEY_SEMICOLON's place)
    first += [_key(t, 29, 1), _key(t + 0.001, m, 1), _key(t + 0.002, m, 0), _key(t + 0.003, 29, 0)]
    second, _ = scanner("67890", layout="fr", t0=t + 0.004, suffix=None)
    out = scans(decode(first + second, layout="fr", gap_ms=100))
    assert [s.text for s in out] == ["12345", "67890"] and out[0].ended_by == "enter"


def test_an_unplug_forgets_the_lock_state():
    decoder = KeyDecoder()
    decoder.feed(0, EV_KEY, 58, 1)  # Caps Lock on, then the scanner goes away
    decoder.drop("unplugged", 1)
    out = [o for event in scanner("ab1", t0=2)[0] for o in decoder.feed(*event)]
    assert out[0].text == "ab1"


def test_a_huge_alt_code_is_bounded():
    events = [_key(0, 56, 1)] + [_key(0.001 * i, 79, 1) for i in range(1, 5000)] + [_key(5, 56, 0)]
    decode(events)  # no ValueError from int() of thousands of digits
