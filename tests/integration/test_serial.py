"""Serial scanners (spec practice §2–4), over real pseudo-terminals and with no mocks.

The scanner side of each test is the master end of a pty pair; the terminal opens the slave through a
symlink, as it would a /dev/serial/by-id/ path. Unplugging is closing the master (and removing the
link); plugging back in is a new pty pair with the link re-pointed, and scans must resume without a
restart. The framer is pure: its rules, and hypothesis on arbitrary byte streams, are
unit/test_serial_framer.py's.
"""

from __future__ import annotations

import os
import select
import time
import tty

import pytest

from drivers.model import (
    CONNECTED,
    DISCONNECTED,
    DROPPED,
    ERROR,
    REJECTED,
    ScanEvent,
    ScannerError,
    State,
    StatusEvent,
)
from drivers.serial_scanner import (
    SerialScanner,
    open_error,
)
from pos_app.config import SerialScannerConfig

EAN13 = "4006381333931"   # a valid EAN-13: recognised without an AIM prefix


class FakeScannerPort:
    """The scanner's end of a real pty: the terminal opens the slave through ``link``."""

    def __init__(self, link) -> None:
        self.link = link
        self.master = self.slave = -1
        self.plug()

    def plug(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)              # no CR→LF translation before the scanner configures it
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1
        if self.link.is_symlink():
            self.link.unlink()

    def write(self, data: bytes, pause: float = 0.0) -> None:
        if pause:
            for i in range(len(data)):
                os.write(self.master, data[i:i + 1])
                time.sleep(pause)
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def read_back(self, timeout: float = 1.0) -> bytes:
        """What the terminal wrote to the scanner (ACK/NAK), or b"" after ``timeout``."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        return os.read(self.master, 64) if ready else b""


@pytest.fixture
def port(tmp_path):
    fake = FakeScannerPort(tmp_path / "ttyScanner")
    yield fake
    fake.unplug()


@pytest.fixture
def start(port):
    """Start a SerialScanner on the fake port with any settings; each is closed at the end."""
    started = []

    def start(**options) -> SerialScanner:
        scanner = SerialScanner(SerialScannerConfig(port=str(port.link), **options), reopen_interval=0.05)
        started.append(scanner)
        scanner.start()
        assert expect(scanner, StatusEvent).kind == CONNECTED
        return scanner

    yield start
    for scanner in started:
        scanner.close()


def expect(scanner, kind=ScanEvent, timeout: float = 2.0):
    """The next event, which must be a ``kind`` (ScanEvent, StatusEvent)."""
    event = scanner.read(timeout=timeout)
    assert isinstance(event, kind), f"expected a {kind.__name__}, got {event!r}"
    return event


def quiet(scanner, wait: float = 0.15) -> None:
    event = scanner.read(timeout=wait)
    assert event is None, f"unexpected {event!r}"


# --- scans over a real port --------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "ending", "ended_by"), [
    ("cr", b"\r", "cr"), ("lf", b"\n", "lf"), ("crlf", b"\r\n", "crlf"),
    ("auto", b"\r", "cr"), ("auto", b"\n", "lf"), ("auto", b"\r\n", "cr"), ("auto", b"\n\r", "lf"),
])
def test_one_scan_per_suffix(start, port, suffix, ending, ended_by):
    scanner = start(suffix=suffix)
    port.write(EAN13.encode() + ending)
    scan = expect(scanner)
    assert (scan.data, scan.symbology, scan.ended_by, scan.aim) == (EAN13, "EAN-13", ended_by, None)
    assert scan.raw.startswith(EAN13.encode()) and scan.source == str(port.link)
    assert abs(scan.timestamp - time.time()) < 5
    quiet(scanner)   # the second half of a CR+LF pair is no empty scan
    assert scanner.stats.good_scans == 1 and scanner.stats.errors == 0


def test_a_scan_written_one_byte_at_a_time(start, port):
    scanner = start()
    port.write(b"]Q1https://qr.alipay.com/bax03431\r\n", pause=0.002)
    scan = expect(scanner)
    assert (scan.data, scan.symbology, scan.aim) == ("https://qr.alipay.com/bax03431", "QR Code", "]Q1")
    quiet(scanner)


@pytest.mark.parametrize(("suffix", "ended_by"), [("auto", "cr"), ("crlf", "crlf")])
def test_cr_and_lf_split_across_two_reads_make_one_scan(start, port, suffix, ended_by):
    scanner = start(suffix=suffix)
    port.write(b"281234567890123456\r")
    time.sleep(0.05)
    port.write(b"\n")
    scan = expect(scanner)
    assert scan.data == "281234567890123456" and scan.ended_by == ended_by
    assert "2812345" not in repr(scan)      # a payment code never shows in a repr
    quiet(scanner)


def test_aim_prefix_is_stripped_and_utf8_and_gs_are_kept(start, port):
    scanner = start()
    payload = "付款码\x1d0123"
    port.write(b"]Q1" + payload.encode() + b"\r")
    scan = expect(scanner)
    assert (scan.data, scan.symbology, scan.scan_data_type, scan.aim) == (payload, "QR Code", 204, "]Q1")


def test_garbage_is_rejected_with_a_baud_hint_and_scans_go_on(start, port):
    scanner = start(baud=115200)
    port.write(b"\xff\xfe\xfd\xfc\x80\r")
    event = expect(scanner, StatusEvent)
    assert event.kind == REJECTED and "garbled" in event.message and "baud" in event.message
    assert "115200 8N1" in event.message
    port.write(b"\x01\x02\x03\x1b[A\r")
    event = expect(scanner, StatusEvent)
    assert event.kind == REJECTED and "control character 0x01" in event.message
    port.write(EAN13.encode() + b"\r")
    assert expect(scanner).data == EAN13
    assert scanner.stats.errors == 2


def test_nul_bytes_are_line_noise(start, port):
    scanner = start()
    port.write(b"\x00\x0012\x003456\x00\r\x00")
    scan = expect(scanner)
    assert scan.data == "123456" and b"\x00" not in scan.raw
    quiet(scanner)
    assert "5 NUL bytes" in scanner.check_health("internal")


def test_suffix_none_ends_a_scan_after_the_gap(start, port):
    scanner = start(suffix="none", gap_ms=50)
    port.write(b"281234567890123456")
    scan = expect(scanner)
    assert scan.data == "281234567890123456" and scan.ended_by == "gap"
    port.write(b"1234567")
    time.sleep(0.3)
    port.write(b"7654321")
    assert [expect(scanner).data, expect(scanner).data] == ["1234567", "7654321"]
    assert scanner.stats.ended_by_gap == 3
    port.write(b"12345\r\n")
    event = expect(scanner, StatusEvent)
    assert event.kind == REJECTED and 'suffix = "auto"' in event.message


def test_ack_and_nak_are_written_back(start, port):
    scanner = start(ack=True)
    port.write(EAN13.encode() + b"\r\n")
    expect(scanner)
    assert port.read_back() == b"\x06"
    port.write(b"ab\r")
    assert expect(scanner, StatusEvent).kind == REJECTED
    assert port.read_back() == b"\x15"
    port.write(b"\xff\xff\xff\r")
    assert expect(scanner, StatusEvent).kind == REJECTED
    assert port.read_back() == b"\x15"


def test_no_ack_unless_configured(start, port):
    scanner = start()
    port.write(EAN13.encode() + b"\r")
    expect(scanner)
    assert port.read_back(timeout=0.1) == b""


def test_too_short_also_after_the_aim_prefix(start, port):
    scanner = start()
    port.write(b"ab\r")
    event = expect(scanner, StatusEvent)
    assert event.kind == REJECTED and "too short" in event.message
    port.write(b"]Q1a\r")
    event = expect(scanner, StatusEvent)
    assert event.kind == REJECTED and "too short" in event.message
    assert scanner.stats.good_scans == 0


def test_runaway_input_is_dropped_bounded_and_its_tail_is_no_scan(start, port):
    scanner = start()
    port.write(b"7" * 5000)
    event = expect(scanner, StatusEvent)
    assert event.kind == DROPPED and "too long" in event.message and "7777" not in event.message
    assert scanner.framer.buffered <= 4096
    port.write(b"\r\n")                    # the end of the runaway line: its tail is not a scan
    quiet(scanner)
    port.write(EAN13.encode() + b"\r\n")
    assert expect(scanner).data == EAN13
    assert scanner.stats.dropped == 1


def test_wrong_suffix_setting_is_rejected_never_merged(start, port):
    scanner = start(suffix="crlf")
    port.write(b"1111111\r2222222\r\n")    # a CR-only scanner, then a good line
    event = expect(scanner, StatusEvent)
    assert event.kind == REJECTED and "wrong suffix" in event.message and "1111" not in event.message
    assert expect(scanner).data == "2222222"


def test_unplug_mid_scan_then_replug_resumes_without_restart(start, port):
    scanner = start()
    port.write(b"]Q12812345678")              # half a payment code
    time.sleep(0.1)
    port.unplug()
    dropped, gone = expect(scanner, StatusEvent), expect(scanner, StatusEvent)
    assert (dropped.kind, gone.kind) == (DROPPED, DISCONNECTED)
    assert "unplugged mid-scan" in dropped.message and "2812345678" not in dropped.message
    assert "reopening" in gone.message
    quiet(scanner, 0.2)                       # reported once, however many reopen attempts fail
    assert "not open" in scanner.check_health("external")
    port.plug()
    back = expect(scanner, StatusEvent)
    assert back.kind == CONNECTED and scanner.stats.reconnects == 1
    port.write(b"]Q1281234567890123456\r")
    scan = expect(scanner)
    assert scan.data == "281234567890123456" and scan.symbology == "QR Code"
    assert scanner.state is State.ENABLED


def test_unplug_between_scans_is_no_drop(start, port):
    scanner = start()
    port.unplug()
    assert expect(scanner, StatusEvent).kind == DISCONNECTED
    port.plug()
    assert expect(scanner, StatusEvent).kind == CONNECTED
    port.write(EAN13.encode() + b"\n")
    assert expect(scanner).data == EAN13
    assert scanner.stats.dropped == 0


def test_a_replugged_port_that_cannot_be_opened_is_reported_once(start, port, tmp_path):
    scanner = start()
    scanner.reopen_complaint = 0.1           # udev's grace period, shortened for the test
    port.unplug()
    assert expect(scanner, StatusEvent).kind == DISCONNECTED
    impostor = tmp_path / "impostor"
    impostor.write_text("")
    port.link.symlink_to(impostor)
    event = expect(scanner, StatusEvent)
    assert event.kind == ERROR and "cannot be opened" in event.message and "not a serial port" in event.message
    quiet(scanner, 0.3)
    port.plug()
    assert expect(scanner, StatusEvent).kind == CONNECTED
    port.write(EAN13.encode() + b"\r")
    assert expect(scanner).data == EAN13


def test_disable_while_unplugged_is_prompt(start, port):
    scanner = start()
    port.unplug()
    assert expect(scanner, StatusEvent).kind == DISCONNECTED
    began = time.monotonic()
    scanner.close()
    assert time.monotonic() - began < 0.5 and scanner.state is State.CLOSED


# --- life cycle, open errors, health ------------------------------------------------------------------

def test_life_cycle_order_is_enforced_and_disable_is_prompt(port):
    scanner = SerialScanner(SerialScannerConfig(port=str(port.link)), reopen_interval=0.05)
    with pytest.raises(ScannerError, match="cannot enable while closed"):
        scanner.enable()
    scanner.open()
    with pytest.raises(ScannerError, match="cannot enable while open"):
        scanner.enable()
    scanner.claim()
    scanner.enable()
    began = time.monotonic()
    scanner.disable()
    assert time.monotonic() - began < 0.5
    scanner.close()
    assert scanner.state is State.CLOSED
    scanner.start()                           # and it can be brought up again
    assert expect(scanner, StatusEvent).kind == CONNECTED
    scanner.close()


def test_a_missing_port_names_the_path(tmp_path):
    missing = tmp_path / "ttyNothing"
    scanner = SerialScanner(SerialScannerConfig(port=str(missing)))
    with pytest.raises(ScannerError, match="no such port") as caught:
        scanner.start()
    assert str(missing) in str(caught.value) and "by-id" in caught.value.hint
    assert scanner.state is State.CLOSED and scanner.stats.errors == 1


def test_a_file_is_not_a_serial_port(tmp_path):
    file = tmp_path / "notes.txt"
    file.write_text("hi")
    with pytest.raises(ScannerError, match="not a serial port") as caught:
        SerialScanner(SerialScannerConfig(port=str(file))).start()
    assert str(file) in str(caught.value)


def test_a_port_held_by_another_scanner_is_busy(start, port):
    start()
    second = SerialScanner(SerialScannerConfig(port=str(port.link)))
    with pytest.raises(ScannerError, match="busy"):
        second.start()
    assert second.state is State.CLOSED


def test_permission_denied_hints_at_dialout_and_udev(port):
    error = open_error("/dev/ttyACM0", PermissionError(13, "Permission denied"))
    assert "/dev/ttyACM0" in error.message and "permission denied" in error.message
    assert "dialout" in error.hint and "udev" in error.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root may open any port")
def test_permission_denied_on_a_real_port(port):
    os.chmod(os.ttyname(port.slave), 0)
    with pytest.raises(ScannerError, match="permission denied") as caught:
        SerialScanner(SerialScannerConfig(port=str(port.link))).start()
    assert "dialout" in caught.value.hint


def test_an_unknown_suffix_is_refused(port):
    with pytest.raises(ScannerError, match="suffix"):
        SerialScanner(SerialScannerConfig(port=str(port.link), suffix="tab"))


def test_health_levels(start, port):
    scanner = start(baud=115200, suffix="crlf", ack=True)
    internal = scanner.check_health("internal")
    assert "115200 8N1, suffix crlf, ACK on" in internal and "port open" in internal
    assert "port readable" in scanner.check_health("external")
    assert "no interactive check" in scanner.check_health("interactive")
    with pytest.raises(ScannerError):
        scanner.check_health(7)


