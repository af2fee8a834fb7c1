"""Serial scanners: RS-232, or USB-CDC / USB-serial adapters that show up as /dev/ttyACM*, /dev/ttyUSB*.

Serial is the robust path for QR payment codes: the bytes arrive as the scanner sent them, GS separators
and non-ASCII included, with no keyboard layout in between (spec practice §1–2). But vendors disagree on
everything (Unitech 9600 8N1, Honeywell's RS-232 preset 115200 8N1 with CR+LF, ACK/NAK or none), so baud,
framing, flow control, suffix and ACK are all configuration (``[[scanners.serial]]``) and nothing here
guesses them. A wrong baud rate shows up as garbage: such frames are rejected with that hint instead of
ever being passed on as a scan.

A USB-serial scanner vanishes when unplugged and comes back, often under the same by-id path: the
reader reports the disconnection (and a partial scan it had to drop), then reopens the configured path
until the device is back, so the till never needs a restart.

:class:`SerialFramer` cuts the byte stream into scans; it is pure (no I/O, no clock), so every rule about
suffixes, gaps, noise and runaway input is tested without a device. :class:`SerialScanner` is the
UnifiedPOS device around it (spec practice §4).
"""

from __future__ import annotations

import errno
import os
import queue
import select
import stat
import threading
import time
from dataclasses import dataclass, field

import serial

from pos_app.config import SERIAL_SUFFIXES, SerialScannerConfig
from pos_app.i18n import N_, _

from . import aim, model
from .model import ScanEvent, Scanner, ScannerError

CR, LF, NUL, GS = 0x0D, 0x0A, 0x00, 0x1D
MAX_FRAME = 4096              # bytes without an ending before a frame is dropped as runaway input
MISSING_SUFFIX_MIN = 1.0      # seconds: the shortest wait before a frame without its suffix is taken
BAUD_HINT = N_("usually the scanner's baud rate, parity or data bits differ from the port settings")
PERMISSION_HINT = N_("add the terminal's user to the 'dialout' group (then log in again), or install "
                     "packaging/udev/70-pos-terminal-scanners.rules and add the user to its pos-terminal group")


@dataclass(frozen=True)
class Frame:
    """One complete line: ``text`` without its ending; ``raw`` as received, NULs left out, ending included."""

    text: str = field(repr=False)     # may be a payment code
    raw: bytes = field(repr=False)
    ended_by: str = ""                # "cr", "lf", "crlf" or "gap"
    t: float = 0.0                    # the framer's clock when the last byte arrived


@dataclass(frozen=True)
class BadFrame:
    """Bytes that are not a scan. ``reason`` never holds the data, only lengths, offsets and byte values."""

    reason: str
    raw: bytes = field(repr=False)
    t: float = 0.0
    dropped: bool = False             # runaway input thrown away (a DROPPED event), not a rejected line
    garbled: bool = False             # bytes that are not text: the report adds the port's settings


class SerialFramer:
    """Cuts a serial byte stream into :class:`Frame` and :class:`BadFrame` items; pure, with no I/O or clock.

    ``feed(data, now)`` takes bytes as they arrived and ``tick(now)`` runs the gap timer; both return what
    was completed. ``now`` is any clock in seconds that never goes back (the scanner uses ``monotonic``).

    Rules:

    * Every CR and LF is a line ending and ends the current frame; an ending with nothing before it (the
      second half of CR+LF or LF+CR, even when it arrives in a later read) is dropped silently, so a pair
      always counts as one ending and never makes an empty scan.
    * ``suffix="auto"``: CR, LF, CR+LF and LF+CR are all good; ``ended_by`` names the byte that ended
      the frame ("cr" for CR+LF), so the result does not depend on how reads split the pair.
    * ``"cr"`` / ``"lf"``: that byte ends a good frame; the other one, after data, ends it as a BadFrame
      ("wrong suffix"), so a mismatched setting is seen at the first scan and lines are never merged.
    * ``"crlf"``: only CR immediately followed by LF is good ("crlf"). A CR followed by anything else, or
      an LF without a CR, ends the frame as a BadFrame; the byte after a lone CR starts the next frame.
    * ``"none"``: ``gap_ms`` of silence ends a frame ("gap"); CR and LF are then control bytes in the data.
    * A suffix is configured but a partial frame gets none for ``max(10 × gap_ms, 1 s)``: it is taken
      as a frame ``ended_by="gap"`` (a scanner that lost its suffix setting still works, slowly, and the
      statistics show it); a lone CR waiting for its LF in crlf mode is rejected then instead.
    * NUL bytes are line noise (a break, a floating line): dropped everywhere and counted in ``nul_bytes``.
    * GS (0x1D), the GS1 field separator, is data and kept. Every other control character (C0 — CR and
      LF only where they are data — DEL and C1, which covers RS/EOT envelopes too) and invalid UTF-8
      make the frame a BadFrame "garbled: ...", since such bytes mostly mean a baud or parity mismatch.
    * Text is UTF-8 (QR payloads may be non-ASCII); fewer than ``min_length`` characters: "too short".
    * More than ``max_length`` bytes without an ending: one BadFrame with ``dropped=True``, the buffer is
      emptied, and input is discarded until the next ending or silence, so memory stays bounded and the
      tail of a runaway stream is never taken for a scan.
    """

    def __init__(self, suffix: str = "auto", gap_ms: float = 50.0, min_length: int = 3,
                 max_length: int = MAX_FRAME) -> None:
        if suffix not in SERIAL_SUFFIXES:
            raise ValueError(_("suffix {suffix}: expected one of {choices}").format(
                suffix=repr(suffix), choices=", ".join(SERIAL_SUFFIXES)))
        self.suffix = suffix
        self.gap = gap_ms / 1000.0
        self.min_length = min_length
        self.max_length = max_length
        # How long a partial frame may wait: the gap itself in "none" mode, else the missing-suffix wait.
        self.timeout = self.gap if suffix == "none" else max(10 * self.gap, MISSING_SUFFIX_MIN)
        self.nul_bytes = 0
        self._buf = bytearray()
        self._last: float | None = None   # when the last byte of the partial frame arrived
        self._cr_pending = False          # crlf mode: a CR that waits for its LF
        self._discarding = False          # after runaway input, until an ending or silence

    # -- state ------------------------------------------------------------------------------------
    @property
    def pending(self) -> bool:
        """A partial frame is waiting (data, a CR waiting for its LF, or runaway input being skipped)."""
        return bool(self._buf) or self._cr_pending or self._discarding

    @property
    def buffered(self) -> int:
        """Bytes held for the partial frame: never more than ``max_length``."""
        return len(self._buf)

    def deadline(self) -> float | None:
        """When ``tick`` will next have something to do, or None while nothing is waiting."""
        return self._last + self.timeout if self.pending and self._last is not None else None

    def drop(self) -> int:
        """Forget the partial frame (the device went away); the number of data bytes thrown away."""
        dropped = len(self._buf)
        self._buf.clear()
        self._last, self._cr_pending, self._discarding = None, False, False
        return dropped

    # -- input ------------------------------------------------------------------------------------
    def tick(self, now: float) -> list[Frame | BadFrame]:
        """The gap timer: whatever waited ``timeout`` seconds since its last byte is completed now."""
        if not self.pending or self._last is None or now - self._last < self.timeout:
            return []
        t = self._last
        if self._discarding:
            self.drop()
            return []
        if self._cr_pending:
            self._cr_pending = False
            return self._end(b"\r", "", t, self._wrong(_("a CR without an LF after it")))
        return self._end(b"", "gap", t)

    def feed(self, data: bytes, now: float) -> list[Frame | BadFrame]:
        out = self.tick(now)   # a gap that passed before these bytes ends the frame before them
        for byte in data:
            if byte == NUL:
                self.nul_bytes += 1
                continue
            if self._cr_pending:
                self._cr_pending = False
                if byte == LF:
                    out += self._end(b"\r\n", "crlf", now)
                    continue
                out += self._end(b"\r", "", now, self._wrong(_("a CR without an LF after it")))
            self._last = now
            if byte in (CR, LF) and self.suffix != "none":
                out += self._ending(byte, now)
            elif self._discarding:
                continue
            elif len(self._buf) >= self.max_length:
                self._buf.append(byte)
                raw = bytes(self._buf)
                self._buf.clear()
                self._discarding = True
                out.append(BadFrame(_("too long: more than {n} bytes without a suffix; dropped up to the next "
                                      "suffix or pause (is the suffix setting right?)").format(n=self.max_length),
                                    raw, now, dropped=True))
            else:
                self._buf.append(byte)
        return out

    # -- internals --------------------------------------------------------------------------------
    def _ending(self, byte: int, now: float) -> list[Frame | BadFrame]:
        name = "CR" if byte == CR else "LF"
        if self._discarding:          # the end of runaway input: already reported
            self._discarding = False
            self._buf.clear()
            return []
        if self.suffix == "auto" or self.suffix == name.lower():
            return self._end(bytes([byte]), name.lower(), now)
        if self.suffix == "crlf":
            if byte == CR:
                self._cr_pending = True
                return []
            return self._end(b"\n", "", now, self._wrong(_("an LF without a CR before it")))
        return self._end(bytes([byte]), "", now, self._wrong(name))

    def _wrong(self, got: str) -> str:
        want = {"cr": "CR", "lf": "LF", "crlf": "CR+LF"}[self.suffix]
        return _('wrong suffix: the line ended with {got} but the suffix is set to {want}; set suffix = "auto", or '
                 'program the scanner to send {want}').format(got=got, want=want)

    def _end(self, ending: bytes, ended_by: str, t: float, bad: str | None = None) -> list[Frame | BadFrame]:
        data = bytes(self._buf)
        self._buf.clear()
        self._last = None
        if not data:
            return []
        raw = data + ending
        if bad:
            return [BadFrame(bad, raw, t)]
        return [self._check(data, raw, ended_by, t)]

    def _check(self, data: bytes, raw: bytes, ended_by: str, t: float) -> Frame | BadFrame:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return BadFrame(_("garbled: {n} bytes that are not UTF-8 text (byte 0x{byte} at offset {offset}); "
                              "{hint}").format(n=len(data), byte=f"{data[exc.start]:02x}", offset=exc.start,
                                               hint=_(BAUD_HINT)), raw, t, garbled=True)
        for offset, char in enumerate(text):
            code = ord(char)
            if (code < 0x20 and code != GS) or 0x7F <= code <= 0x9F:
                # CR or LF arrive here only in "none" mode: the scanner sends a suffix after all
                why = _('the scanner sends a suffix; set suffix = "auto"') if code in (CR, LF) else _(BAUD_HINT)
                return BadFrame(_("garbled: control character 0x{byte} at offset {offset} of {n} characters; "
                                  "{hint}").format(byte=f"{code:02x}", offset=offset, n=len(text), hint=why),
                                raw, t, garbled=True)
        if len(text) < self.min_length:
            return BadFrame(_("too short: {n} characters, at least {least} expected").format(
                n=len(text), least=self.min_length), raw, t)
        return Frame(text, raw, ended_by, t)


def open_error(port: str, exc: BaseException) -> ScannerError:
    """A ScannerError naming the port and the reason, with the next step for the usual causes."""
    code = getattr(exc, "errno", None)
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return ScannerError(_("serial scanner {port}: no such port").format(port=port),
                            hint=_("check the cable and the port setting; ls /dev/serial/by-id/ lists the serial "
                                   "devices plugged in (a by-id path survives a replug)"))
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return ScannerError(_("serial scanner {port}: permission denied").format(port=port), hint=_(PERMISSION_HINT))
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        return ScannerError(_("serial scanner {port}: port busy ({reason})").format(port=port, reason=reason),
                            hint=_("another program has it open: a second terminal, a serial console, or "
                                   "ModemManager probing it (a udev rule with ENV{{ID_MM_DEVICE_IGNORE}}=\"1\" "
                                   "keeps it off the scanner)").format())
    return ScannerError(_("serial scanner {port}: cannot open the port: {reason}").format(port=port, reason=reason))


class SerialScanner(Scanner):
    """A serial scanner as a UnifiedPOS device: claim opens the port exclusively, enable starts the reader.

    The reader waits on the port with ``select`` (and a pipe that wakes it on disable), feeds the framer,
    delivers scans with the AIM prefix stripped, answers ACK/NAK when configured, and survives the device
    vanishing: DISCONNECTED once, then the configured path is reopened every ``reopen_interval`` seconds.
    """

    kind = N_("serial scanner")
    reopen_complaint = 2.0   # seconds a replugged port may refuse to open (udev still at it) before an ERROR

    def __init__(self, settings: SerialScannerConfig, events: queue.Queue | None = None, *,
                 reopen_interval: float = 0.5) -> None:
        super().__init__(settings.port, events)
        self.settings = settings
        self.reopen_interval = reopen_interval
        try:
            self.framer = SerialFramer(settings.suffix, settings.gap_ms, settings.min_length)
        except ValueError as exc:
            raise ScannerError(_("serial scanner {port}: {reason}").format(port=settings.port, reason=exc)) from None
        self._port: serial.Serial | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r = self._wake_w = -1
        self._last_problem: str | None = None
        self._failing_since: float | None = None

    # -- life cycle -------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._check_path()
        except ScannerError:
            self.stats.errors += 1
            raise

    def _check_path(self) -> None:
        """The configured path is a character device this user may read and write, or a ScannerError."""
        port = self.source
        try:
            info = os.stat(port)
        except OSError as exc:
            raise open_error(port, exc) from None
        if not stat.S_ISCHR(info.st_mode):
            raise ScannerError(_("serial scanner {port}: not a serial port (not a character device)").format(port=port),
                               hint=_("the port setting wants a device such as /dev/ttyACM0, /dev/ttyUSB0 "
                                      "or /dev/serial/by-id/..."))
        if not os.access(port, os.R_OK | os.W_OK):
            raise open_error(port, PermissionError(errno.EACCES, "permission denied"))

    def _claim(self) -> None:
        try:
            self._port = self._connect()
        except ScannerError:
            self.stats.errors += 1
            raise
        self.framer.drop()

    def _enable(self) -> None:
        self._stop.clear()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._thread = threading.Thread(target=self._run, name=f"serial scanner {self.source}", daemon=True)
        self._thread.start()
        self._report(model.CONNECTED, _("{name} ready ({how})").format(name=self.source, how=self.summary()))

    def _disable(self) -> None:
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def _release(self) -> None:
        self._disconnect()
        self.framer.drop()

    def _close(self) -> None:
        self._disconnect()

    # -- the port ---------------------------------------------------------------------------------
    def _connect(self) -> serial.Serial:
        s = self.settings
        stopbits = int(s.stopbits) if float(s.stopbits).is_integer() else s.stopbits
        try:
            return serial.Serial(s.port, baudrate=s.baud, bytesize=s.bytesize, parity=s.parity,
                                 stopbits=stopbits, xonxoff=s.xonxoff, rtscts=s.rtscts, timeout=0,
                                 write_timeout=0.5, exclusive=True)
        except (OSError, ValueError, serial.SerialException) as exc:
            raise open_error(s.port, exc) from None

    def _disconnect(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (OSError, serial.SerialException):
                pass

    def summary(self) -> str:
        """The settings in the words of a scanner manual, e.g. "9600 8N1, suffix auto, ACK off"."""
        s = self.settings
        text = f"{s.baud} {s.bytesize}{s.parity}{float(s.stopbits):g}"
        if s.xonxoff:
            text += " XON/XOFF"
        if s.rtscts:
            text += " RTS/CTS"
        text += _(", suffix {suffix}").format(suffix=s.suffix)
        if s.suffix == "none":
            text += _(" (ends after a {ms} ms gap)").format(ms=f"{s.gap_ms:g}")
        return text + (_(", ACK on") if s.ack else _(", ACK off"))

    # -- the reader -------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self._port is None:
                    if self._stop.wait(self.reopen_interval):
                        break
                    self._reopen()
                else:
                    self._read_once(self._port)
            except Exception as exc:  # noqa: BLE001 -- the reader must never die: report it and carry on
                self.framer.drop()
                self._report(model.ERROR, _("{source}: reader error {error}: {reason}").format(
                    source=self.source, error=type(exc).__name__, reason=exc))
                self._stop.wait(self.reopen_interval)

    def _read_once(self, port: serial.Serial) -> None:
        deadline = self.framer.deadline()
        wait = 5.0 if deadline is None else min(5.0, max(0.0, deadline - time.monotonic()))
        data = b""
        try:
            fd = port.fileno()
            poller = select.poll()   # not select(): a busy GUI process may have fds above 1024
            poller.register(fd, select.POLLIN)
            poller.register(self._wake_r, select.POLLIN)
            ready = {ready_fd for ready_fd, _events in poller.poll(wait * 1000)}
            if self._wake_r in ready:
                try:
                    os.read(self._wake_r, 64)
                except BlockingIOError:
                    pass
            if fd in ready:            # data, or POLLHUP/POLLERR: the read says which
                data = os.read(fd, 4096)
                if not data:
                    raise OSError(errno.ENODEV, _("end of file: the device is gone"))
        except BlockingIOError:
            data = b""
        except (OSError, ValueError, serial.SerialException) as exc:
            self._lost(exc)
            return
        now = time.monotonic()
        items = self.framer.feed(data, now) if data else self.framer.tick(now)
        for item in items:
            self._handle(item)

    def _handle(self, item: Frame | BadFrame) -> None:
        if isinstance(item, BadFrame):
            reason = item.reason
            if item.garbled:
                reason += _(" (this port: {settings})").format(settings=self.summary())
            self._report(model.DROPPED if item.dropped else model.REJECTED, f"{self.source}: {reason}")
            self._answer(b"\x15")
            return
        data, symbology = aim.identify(item.text)
        if len(data) < self.settings.min_length:
            self._report(model.REJECTED, _("{source}: too short: {n} characters after the AIM prefix {aim}, at "
                                           "least {least} expected").format(source=self.source, n=len(data),
                                                                            aim=symbology.aim,
                                                                            least=self.settings.min_length))
            self._answer(b"\x15")
            return
        wall = time.time() - max(0.0, time.monotonic() - item.t)
        self._deliver_scan(ScanEvent(data, symbology.name, symbology.scan_data_type, symbology.aim, self.source,
                                     wall, item.raw, item.ended_by))
        self._answer(b"\x06")

    def _answer(self, byte: bytes) -> None:
        port = self._port
        if not self.settings.ack or port is None:
            return
        try:
            port.write(byte)
        except (OSError, serial.SerialException):
            pass   # a vanished device: the next read notices and reports it

    def _lost(self, exc: BaseException) -> None:
        for item in self.framer.tick(time.monotonic()):   # what was already complete is still a scan
            self._handle(item)
        if self.framer.drop():
            self._report(model.DROPPED, _("{source}: partial scan dropped: device unplugged mid-scan").format(
                source=self.source))
        self._disconnect()
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        self.stats.errors += 1
        self._last_problem = _("lost at {time}: {reason}").format(time=time.strftime("%H:%M:%S"), reason=reason)
        self._report(model.DISCONNECTED, _("{source}: device gone ({reason}); reopening it every {seconds:g} "
                                           "s").format(source=self.source, reason=reason,
                                                       seconds=self.reopen_interval))

    def _reopen(self) -> None:
        if not os.path.exists(self.source):
            self._failing_since = None
            return
        try:
            self._check_path()
            port = self._connect()
        except ScannerError as exc:
            # Back but not openable: udev may still be setting its mode, so say so only if it lasts.
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if self._last_problem != exc.message and now - self._failing_since >= self.reopen_complaint:
                self._report(model.ERROR, _("{source} is back but cannot be opened: {reason}").format(
                    source=self.source, reason=exc))
                self._last_problem = exc.message
            return
        self.framer.drop()
        self._port = port
        self._last_problem = self._failing_since = None
        self.stats.reconnects += 1
        self._report(model.CONNECTED, _("{name} plugged back in ({how})").format(name=self.source,
                                                                                 how=self.summary()))

    # -- health -----------------------------------------------------------------------------------
    def _health(self, level: int) -> str:
        if level not in (model.HEALTH_INTERNAL, model.HEALTH_EXTERNAL):
            return super()._health(level)   # interactive: the base says there is none and adds internal
        s = self.stats
        port = self._port
        text = _("{source}: {state}, port {port}, {how}; {good} good scans, {errors} errors, {dropped} dropped, "
                 "{reconnects} reconnects").format(
            source=self.source, state=_(self.state.value), port=_("open") if port is not None else _("not open"),
            how=self.summary(), good=s.good_scans, errors=s.errors, dropped=s.dropped, reconnects=s.reconnects)
        if s.ended_by_gap and self.settings.suffix != "none":
            text += _("; {n} scans came without their suffix: program the scanner to send {suffix}").format(
                n=s.ended_by_gap, suffix=self.settings.suffix.upper() if self.settings.suffix != "auto" else "CR")
        if self.framer.nul_bytes:
            text += _("; {n} NUL bytes ignored (line noise: check the cable)").format(n=self.framer.nul_bytes)
        if self._last_problem:
            text += f"; {self._last_problem}"
        if level == model.HEALTH_EXTERNAL:
            text += "; " + self._probe(port)
        return text

    def _probe(self, port: serial.Serial | None) -> str:
        """The external check: is the port still there and readable?"""
        if port is not None:
            try:
                waiting = port.in_waiting
            except (OSError, serial.SerialException) as exc:
                return _("port check failed: {reason}").format(reason=getattr(exc, "strerror", None) or exc)
            return _("port readable ({n} bytes waiting)").format(n=waiting)
        if not os.path.exists(self.source):
            return _("port check failed: no such port (unplugged?)")
        if not os.access(self.source, os.R_OK | os.W_OK):
            return _("port check failed: permission denied; {hint}").format(hint=_(PERMISSION_HINT))
        return _("port present and accessible (not claimed)")
