"""The serial framer on its own, with a clock of its own and no port: suffixes, gaps, runaway input and
drops, and properties over arbitrary input (the scanner over a real pty is integration/test_serial.py)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial_scanner import (
    BadFrame,
    Frame,
    SerialFramer,
)
from pos_app.config import SERIAL_SUFFIXES


def frames(framer: SerialFramer, *chunks: bytes, now: float = 0.0) -> list:
    out = []
    for chunk in chunks:
        out += framer.feed(chunk, now)
    return out


def test_missing_suffix_is_taken_after_the_longer_wait_and_marked():
    framer = SerialFramer("auto", gap_ms=50)
    assert framer.feed(b"12345", 10.0) == [] and framer.deadline() == 11.0
    assert framer.tick(10.99) == []
    [frame] = framer.tick(11.0)
    assert (frame.text, frame.ended_by, frame.t) == ("12345", "gap", 10.0)
    slow = SerialFramer("cr", gap_ms=200)    # 10 × gap when that is longer than 1 s
    slow.feed(b"12345", 0.0)
    assert slow.tick(1.9) == [] and slow.tick(2.0)[0].ended_by == "gap"


def test_suffix_none_gap_between_reads_ends_the_frame_before_them():
    framer = SerialFramer("none", gap_ms=50)
    assert framer.feed(b"123", 0.0) == [] and framer.feed(b"456", 0.04) == []
    [first] = framer.feed(b"789", 0.2)       # no tick in between: the gap is still seen
    assert first.text == "123456" and first.t == 0.04
    assert framer.tick(0.26)[0].text == "789"


def test_crlf_mode_lone_cr_and_lone_lf():
    framer = SerialFramer("crlf")
    out = frames(framer, b"abc\rdef\r\n", b"ghi\n")
    assert [type(x) for x in out] == [BadFrame, Frame, BadFrame]
    assert "a CR without an LF" in out[0].reason and out[1].text == "def" and "LF without a CR" in out[2].reason
    framer.feed(b"jkl\r", 0.0)                # a CR whose LF never comes
    [late] = framer.tick(5.0)
    assert isinstance(late, BadFrame) and late.raw == b"jkl\r"


def test_cr_mode_takes_cr_lf_and_refuses_a_lone_lf():
    out = frames(SerialFramer("cr"), b"abcd\r\n", b"efgh\n")
    assert [type(x) for x in out] == [Frame, BadFrame]
    assert out[0].text == "abcd" and "wrong suffix" in out[1].reason
    out = frames(SerialFramer("lf"), b"abcd\r\n")
    assert [type(x) for x in out] == [BadFrame]


def test_runaway_is_bounded_in_any_mode():
    for suffix in SERIAL_SUFFIXES:
        framer = SerialFramer(suffix)
        out = frames(framer, *[b"x" * 1000] * 1000)   # a megabyte with no ending
        assert len(out) == 1 and out[0].dropped and framer.buffered <= 4096
        assert framer.tick(100.0) == [] and not framer.pending   # the tail is discarded, not delivered


def test_drop_reports_what_was_pending():
    framer = SerialFramer()
    framer.feed(b"]Q128123", 0.0)
    assert framer.pending and framer.drop() == 8 and not framer.pending and framer.deadline() is None


PIECES = [b"\r", b"\n", b"\r\n", b"\x00", b"\x1d", b"\xff", b"\x80", b"\xe4\xbb\x98", b"\x07", b"]Q1",
          b"1", b"28123456789012", b"a", b"\x1b"]


streams = st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=8)), max_size=40).map(b"".join)


def summary(items) -> list:
    return [(type(x).__name__, getattr(x, "text", None), getattr(x, "reason", None), x.raw,
             getattr(x, "ended_by", None)) for x in items]


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.tuples(st.binary(max_size=40) | streams, st.floats(0, 0.3)), max_size=20),
       suffix=st.sampled_from(SERIAL_SUFFIXES), ticks=st.booleans())
def test_framer_never_raises_and_frames_hold_no_control_characters(chunks, suffix, ticks):
    framer = SerialFramer(suffix, gap_ms=50, min_length=3, max_length=32)
    now, out = 0.0, []
    for data, step in chunks:
        now += step
        out += framer.feed(data, now)
        if ticks:
            out += framer.tick(now + step)
    out += framer.tick(now + 100)
    assert not framer.pending
    for item in out:
        assert len(item.raw) <= 34
        if isinstance(item, Frame):
            assert len(item.text) >= 3 and item.ended_by in ("cr", "lf", "crlf", "gap")
            assert all(c == "\x1d" or unicodedata.category(c) != "Cc" for c in item.text)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), stream=streams, suffix=st.sampled_from(SERIAL_SUFFIXES))
def test_framer_is_split_invariant(data, stream, suffix):
    whole = SerialFramer(suffix, max_length=24)
    expected = summary(whole.feed(stream, 0.0) + whole.tick(100.0))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    split = SerialFramer(suffix, max_length=24)
    got = []
    for piece in pieces:
        got += split.feed(piece, 0.0)
    assert summary(got + split.tick(100.0)) == expected
