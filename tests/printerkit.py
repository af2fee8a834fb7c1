"""A network receipt printer on 127.0.0.1, and a reader of what it was sent.

:class:`PrinterStandIn` is a real TCP server (raw port 9100 protocol: bytes in, status bytes out) that keeps
every byte it receives, per connection and in total, with arrival times, and answers the ESC/POS real-time
status queries DLE EOT 1-4 the way the state it is set to says (paper low or out, cover open, an error,
silent, or refusing connections).

:func:`decode` reads ESC/POS bytes as a printer would and says what a customer would read: the text lines
(with alignment, bold and size), the cuts, the QR and barcode payloads, the raster images' sizes, and the
bytes it does not understand. It is written from the Epson ESC/POS command reference, not from
python-escpos, so the tests check the receipts against something the receipts code did not write.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DLE, EOT, ESC, FS, GS = 0x10, 0x04, 0x1B, 0x1C, 0x1D
LF, CR, HT = 0x0A, 0x0D, 0x09

# -- the stand-in ----------------------------------------------------------------------------------

#: The answers to DLE EOT 1 (printer), 2 (offline cause), 3 (error cause) and 4 (roll paper sensor) per
#: state, from the reference: every answer has bits 1 and 4 set (0x12); DLE EOT 1 bit 3 = offline;
#: DLE EOT 2 bit 2 = cover open, bit 5 = stopped by paper end, bit 6 = error; DLE EOT 3 bit 3 = autocutter
#: error; DLE EOT 4 bits 2-3 = near end, bits 5-6 = paper end.
ANSWERS: dict[str, dict[int, int]] = {
    "ok":         {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "hang_up":    {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "paper_low":  {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_out":  {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
    "error":      {1: 0x1A, 2: 0x52, 3: 0x1A, 4: 0x12},
}
ANSWERS["stall"] = ANSWERS["ok"]
#: hang_up: answers as ok, resets a job's connection; stall: answers as ok, then reads nothing more (the
#: job fills the TCP window); babble: sends junk (never a status answer) for as long as it is connected.
STATES = (*ANSWERS, "silent", "refuse", "babble")
JUNK = b"\xff" * 4096


@dataclass
class Connection:
    """One TCP connection to the stand-in: what came, when."""

    number: int
    opened_at: float
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    queries: list[tuple[float, int]] = field(default_factory=list)   # (time, n) of each DLE EOT n
    closed_at: float | None = None

    @property
    def data(self) -> bytes:
        return b"".join(chunk for _t, chunk in self.chunks)

    @property
    def is_job(self) -> bool:
        """It carried something besides status queries."""
        return len(self.data) > 3 * len(self.queries)

    @property
    def last_at(self) -> float | None:
        return self.chunks[-1][0] if self.chunks else None


class PrinterStandIn:
    """A network printer on 127.0.0.1 (``port`` 0: a free one; 9100 when a test asks for the real port).

    Times are ``time.monotonic()``. ``state`` may be changed at any time; ``refuse`` closes the listening
    socket (a connect is refused, as by a printer switched off) and any other state opens it again on the
    same port; ``hang_up`` answers as ``ok`` but resets a connection as soon as print data comes on it (a
    printer failing mid-job); ``stall`` answers the status queries as ``ok`` and then reads nothing more (a
    printer that hangs with the job unread); ``babble`` sends junk without end and answers nothing (the
    wrong device on the port, a line full of noise).
    """

    def __init__(self, port: int = 0, state: str = "ok", host: str = "127.0.0.1") -> None:
        self.host = host
        self._cond = threading.Condition()
        self._connections: list[Connection] = []
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._placeholder: socket.socket | None = None
        self._stopped = False
        self._state = "ok"
        self._listen(port)
        self.port = self._listener.getsockname()[1]
        self.state = state

    # -- control --
    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        if value not in STATES:
            raise ValueError(f"state {value!r}: one of {', '.join(STATES)}")
        with self._cond:
            before, self._state = self._state, value
        if value == "refuse" and before != "refuse":
            self._close_listener()
            self._placeholder = _bound(self.host, self.port)   # holds the port: nobody else gets it meanwhile
        elif value != "refuse" and before == "refuse":
            self._placeholder.close()
            self._placeholder = None
            self._listen(self.port)

    def _listen(self, port: int) -> None:
        listener = _bound(self.host, port)
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"printer-standin-{port}", daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)   # wakes the accept()
            except OSError:
                pass
            listener.close()

    def close(self) -> None:
        self._stopped = True
        self._close_listener()
        if self._placeholder is not None:
            self._placeholder.close()
        with self._cond:
            sockets = list(self._sockets)
        for conn in sockets:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> PrinterStandIn:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- serving --
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _peer = listener.accept()
            except OSError:
                return
            with self._cond:
                record = Connection(len(self._connections), time.monotonic())
                self._connections.append(record)
                self._sockets.add(conn)
                self._cond.notify_all()
            threading.Thread(target=self._serve, args=(conn, record), daemon=True).start()

    def _babble(self, conn: socket.socket) -> None:
        try:
            while self._state == "babble" and not self._stopped:
                conn.sendall(JUNK)
        except OSError:
            pass

    def _stalled(self, record: Connection) -> bool:
        """In ``stall``, once the last status query (DLE EOT 4) is answered: wait, reading nothing, until the
        state changes or the stand-in closes. True when it should hang up after."""
        if self._state != "stall" or not any(n == 4 for _t, n in record.queries):
            return False
        with self._cond:
            while self._state == "stall" and not self._stopped:
                self._cond.wait(0.1)
        return self._stopped

    def _serve(self, conn: socket.socket, record: Connection) -> None:
        pending = b""   # the start of a query split over two reads (DLE, or DLE EOT), not yet looked at
        if self._state == "babble":
            threading.Thread(target=self._babble, args=(conn,), daemon=True).start()
        try:
            while True:
                if self._stalled(record):
                    break
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                now = time.monotonic()
                if not chunk:
                    break
                data = pending + chunk
                answers = bytearray()
                with self._cond:
                    record.chunks.append((now, chunk))
                    at = data.find(bytes((DLE, EOT)))
                    while at != -1 and at + 2 < len(data):
                        n = data[at + 2]
                        record.queries.append((now, n))
                        answer = ANSWERS.get(self._state, {}).get(n)
                        if answer is not None:
                            answers.append(answer)
                        at = data.find(bytes((DLE, EOT)), at + 3)
                    pending = data[-2:] if data.endswith(bytes((DLE, EOT))) else \
                        (data[-1:] if data.endswith(bytes((DLE,))) else b"")
                    self._cond.notify_all()
                    hang_up = self._state == "hang_up" and record.is_job
                if hang_up:   # a printer that fails mid-job: the connection is reset (RST), not closed
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                if answers:
                    try:
                        conn.sendall(bytes(answers))
                    except OSError:
                        break
        finally:
            with self._cond:
                record.closed_at = time.monotonic()
                self._sockets.discard(conn)
                self._cond.notify_all()
            conn.close()

    # -- reading --
    @property
    def connections(self) -> list[Connection]:
        with self._cond:
            return list(self._connections)

    @property
    def received(self) -> bytes:
        """Every byte received, over all connections, in the order connections were opened."""
        with self._cond:
            return b"".join(c.data for c in self._connections)

    @property
    def jobs(self) -> list[bytes]:
        """What each finished connection that carried more than status queries sent (one per print job)."""
        with self._cond:
            return [c.data for c in self._connections if c.closed_at is not None and c.is_job]

    @property
    def queries(self) -> list[int]:
        with self._cond:
            return [n for c in self._connections for _t, n in c.queries]

    def clear(self) -> None:
        with self._cond:
            self._connections = [c for c in self._connections if c.closed_at is None]

    def wait_for(self, predicate: Callable[[PrinterStandIn], Any], timeout: float) -> Any:
        """Wait until ``predicate(self)`` is true; returns its value or raises TimeoutError saying what came."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0 or self._stopped:
                    raise TimeoutError(f"printer stand-in: not there after {timeout} s; "
                                       f"{len(self._connections)} connection(s), "
                                       f"{sum(len(c.data) for c in self._connections)} byte(s)")
                self._cond.wait(left)


def _bound(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


# -- the decoder -----------------------------------------------------------------------------------

#: ESC t n: the character code tables a receipt may select (Epson's table numbers) and Python's codec.
CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866",
              18: "cp852", 19: "cp858"}
#: GS k m, function B (m = 65..78): the symbology; function A (m = 0..6, NUL-terminated) is m + 65.
SYMBOLOGIES = {65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
               72: "CODE93", 73: "CODE128", 74: "GS1-128", 75: "GS1 DataBar Omnidirectional",
               76: "GS1 DataBar Truncated", 77: "GS1 DataBar Limited", 78: "GS1 DataBar Expanded"}
QR_ERROR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}
QR_MODELS = {49: 1, 50: 2, 51: "micro"}
ALIGN = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}

# Commands that take a fixed number of parameter bytes and only set a mode this reader does not need.
ESC_FIXED = {ord(" "): 1, ord("-"): 1, ord("2"): 0, ord("3"): 1, ord("G"): 1, ord("M"): 1, ord("R"): 1,
             ord("V"): 1, ord("{"): 1, ord("$"): 2, ord("\\"): 2, ord("c"): 2, ord("U"): 1, ord("="): 1}
GS_FIXED = {ord("B"): 1, ord("b"): 1, ord("h"): 1, ord("w"): 1, ord("f"): 1, ord("H"): 1, ord("L"): 2,
            ord("W"): 2, ord("a"): 1, ord("P"): 2}
FS_FIXED = {ord("!"): 1, ord("-"): 1, ord("W"): 1, ord("C"): 1, ord("S"): 2}


@dataclass(frozen=True)
class Line:
    """One printed line; the style is the one in force at its first character."""

    text: str
    align: str = "left"
    bold: bool = False
    width: int = 1
    height: int = 1
    underline: bool = False


@dataclass
class Decoded:
    lines: list[Line] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)                     # "full" | "partial"
    qr: list[str] = field(default_factory=list)                       # printed QR payloads
    qr_settings: list[dict] = field(default_factory=list)             # model, size, error level of each
    barcodes: list[tuple[str, str]] = field(default_factory=list)     # (symbology, payload)
    barcode_settings: list[dict] = field(default_factory=list)        # height, width, HRI position, font
    images: list[tuple[int, int]] = field(default_factory=list)       # (width, height) in dots
    queries: list[int] = field(default_factory=list)                  # DLE EOT n
    events: list[tuple[str, Any]] = field(default_factory=list)       # everything above, in order
    inits: int = 0                                                    # ESC @
    feeds: int = 0                                                    # lines fed without text (ESC d n)
    drawer_kicks: int = 0                                             # ESC p
    pending: str = ""                                                 # text never ended by LF: not printed
    problems: list[str] = field(default_factory=list)                 # commands understood but wrong
    unknown: list[bytes] = field(default_factory=list)                # bytes this reader does not know

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def texts(self) -> list[str]:
        """The lines that carry text, stripped."""
        return [line.text.strip() for line in self.lines if line.text.strip()]

    def line(self, containing: str) -> Line:
        found = [line for line in self.lines if containing in line.text]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} lines contain {containing!r}:\n{self.text}")
        return found[0]


class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.out = Decoded()
        self.reset()
        self.segments: list[tuple[bytes, str]] = []    # the line so far: raw bytes and their encoding
        self.line_style: tuple | None = None

    def reset(self) -> None:
        self.align, self.bold, self.width, self.height, self.underline = "left", False, 1, 1, False
        self.encoding = "cp437"
        self.chinese = False
        self.qr_model, self.qr_size, self.qr_error = 2, 3, "L"   # the printer's defaults
        self.qr_stored: bytes | None = None
        self.hri, self.bar_height, self.bar_width = 0, 162, 3

    # -- bytes --
    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise _Truncated
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def word(self) -> int:
        low, high = self.take(2)
        return low | high << 8

    # -- text --
    def text(self, raw: bytes) -> None:
        if self.line_style is None:
            self.line_style = (self.align, self.bold, self.width, self.height, self.underline)
        encoding = "gb18030" if self.chinese else self.encoding
        if self.segments and self.segments[-1][1] == encoding:
            self.segments[-1] = (self.segments[-1][0] + raw, encoding)
        else:
            self.segments.append((raw, encoding))

    def buffered(self) -> str:
        return "".join(raw.decode(enc, errors="replace") for raw, enc in self.segments)

    def print_line(self, *, empty_counts: bool = True) -> None:
        """Print the buffer (LF, ESC d, ESC J). An empty buffer prints a blank line only for LF."""
        if not self.segments and not empty_counts:
            return
        style = self.line_style or (self.align, self.bold, self.width, self.height, self.underline)
        line = Line(self.buffered().rstrip(), *style)
        self.out.lines.append(line)
        self.out.events.append(("line", line))
        self.segments, self.line_style = [], None

    def unknown(self, start: int) -> None:
        self.out.unknown.append(self.data[start:self.at])
        self.out.events.append(("unknown", self.data[start:self.at]))

    # -- the walk --
    def run(self) -> Decoded:
        while self.at < len(self.data):
            start = self.at
            b = self.data[self.at]
            try:
                if b == LF:
                    self.at += 1
                    self.print_line()
                elif b == CR:
                    self.at += 1              # ignored with automatic line feed off (the default)
                elif b == HT:
                    self.at += 1
                    column = len(self.buffered())
                    self.text(b" " * (8 - column % 8))
                elif b == ESC:
                    self.at += 1
                    self.esc(start)
                elif b == GS:
                    self.at += 1
                    self.gs(start)
                elif b == FS:
                    self.at += 1
                    self.fs(start)
                elif b == DLE:
                    self.at += 1
                    self.dle(start)
                elif b < 0x20 or b == 0x7F:
                    self.at += 1
                    self.unknown(start)
                else:
                    end = self.at
                    while end < len(self.data) and self.data[end] >= 0x20 and self.data[end] != 0x7F:
                        end += 1
                    self.text(self.data[self.at:end])
                    self.at = end
            except _Truncated:
                self.at = len(self.data)
                self.out.problems.append(f"truncated command at byte {start}: {self.data[start:start + 8]!r}")
                self.unknown(start)
        self.out.pending = self.buffered()
        return self.out

    def esc(self, start: int) -> None:
        c = self.byte()
        if c == ord("@"):
            self.reset()
            self.segments, self.line_style = [], None   # the print buffer is cleared
            self.out.inits += 1
        elif c == ord("a"):
            n = self.byte()
            if n not in ALIGN:
                self.unknown(start)
            self.align = ALIGN.get(n, self.align)
        elif c == ord("E"):
            self.bold = bool(self.byte() & 1)
        elif c == ord("!"):
            n = self.byte()
            self.bold, self.height, self.width = bool(n & 0x08), 2 if n & 0x10 else 1, 2 if n & 0x20 else 1
            self.underline = bool(n & 0x80)
        elif c == ord("-"):
            self.underline = self.byte() in (1, 2, 49, 50)
        elif c == ord("t"):
            n = self.byte()
            if n not in CODE_PAGES:
                self.out.problems.append(f"ESC t {n}: a code page this reader does not know")
            self.encoding = CODE_PAGES.get(n, "cp437")
        elif c == ord("d"):
            n = self.byte()
            if self.segments:
                self.print_line()
            self.out.feeds += n
            self.out.events.append(("feed", n))
        elif c == ord("J"):
            self.byte()
            self.print_line(empty_counts=False)
        elif c == ord("p"):
            self.take(3)
            self.out.drawer_kicks += 1
            self.out.events.append(("drawer", None))
        elif c == ord("*"):
            m = self.byte()
            n = self.word()
            rows = 8 if m in (0, 1) else 24
            self.take(n * rows // 8)
            self.image(n, rows)
        elif c == ord("D"):
            while self.byte() != 0:   # tab positions, NUL-terminated
                pass
        elif c in ESC_FIXED:
            self.take(ESC_FIXED[c])
        else:
            self.unknown(start)

    def gs(self, start: int) -> None:
        c = self.byte()
        if c == ord("!"):
            n = self.byte()
            self.width, self.height = (n >> 4 & 7) + 1, (n & 7) + 1
        elif c == ord("V"):
            m = self.byte()
            if m in (0, 48, 1, 49):
                kind = "full" if m in (0, 48) else "partial"
            elif m in (65, 66, 97, 98, 103, 104):
                self.byte()      # feed n dots first
                kind = "full" if m % 2 else "partial"
            else:
                self.unknown(start)
                return
            if self.segments:
                self.out.problems.append(f"cut with text not ended by LF: {self.buffered()!r}")
            self.out.cuts.append(kind)
            self.out.events.append(("cut", kind))
        elif c == ord("k"):
            self.barcode(start)
        elif c == ord("(") and self.data[self.at:self.at + 1] == b"k":
            self.at += 1
            self.symbol(start, self.take(self.word()))
        elif c == ord("(") and self.data[self.at:self.at + 1] == b"L":
            self.at += 1
            self.graphics(start, self.take(self.word()))
        elif c == ord("8") and self.data[self.at:self.at + 1] == b"L":
            self.at += 1
            p = self.take(4)
            self.graphics(start, self.take(int.from_bytes(p, "little")))
        elif c == ord("v"):
            if self.byte() != ord("0"):
                self.unknown(start)
                return
            self.byte()   # m: the scale
            width_bytes, height = self.word(), self.word()
            self.take(width_bytes * height)
            self.image(width_bytes * 8, height)
        elif c == ord("h"):
            self.bar_height = self.byte()
        elif c == ord("w"):
            self.bar_width = self.byte()
        elif c == ord("H"):
            self.hri = self.byte()
        elif c in GS_FIXED:
            self.take(GS_FIXED[c])
        else:
            self.unknown(start)

    def fs(self, start: int) -> None:
        c = self.byte()
        if c == ord("&"):
            self.chinese = True
        elif c == ord("."):
            self.chinese = False
        elif c in FS_FIXED:
            self.take(FS_FIXED[c])
        else:
            self.unknown(start)

    def dle(self, start: int) -> None:
        c = self.byte()
        if c == EOT:
            n = self.byte()
            if n in (7, 8):
                self.byte()
            elif n not in (1, 2, 3, 4):
                self.unknown(start)
                return
            self.out.queries.append(n)
            self.out.events.append(("query", n))
        else:
            self.unknown(start)

    def image(self, width: int, height: int) -> None:
        self.out.images.append((width, height))
        self.out.events.append(("image", (width, height)))

    def graphics(self, start: int, body: bytes) -> None:
        """GS ( L / GS 8 L: fn 112 stores a raster graphic (printed by fn 50); fn 50 prints it."""
        if len(body) >= 2 and body[1] == 112 and len(body) >= 10:
            self.image(body[6] | body[7] << 8, body[8] | body[9] << 8)
        elif len(body) >= 2 and body[1] in (50, 2):
            pass
        else:
            self.unknown(start)

    def symbol(self, start: int, body: bytes) -> None:
        """GS ( k: cn 49 is QR Code; fn 65 model, 67 module size, 69 error level, 80 store, 81 print."""
        if len(body) < 2 or body[0] != 49:
            self.unknown(start)
            return
        fn, rest = body[1], body[2:]
        if fn == 65 and rest:
            self.qr_model = QR_MODELS.get(rest[0], rest[0])
        elif fn == 67 and rest:
            self.qr_size = rest[0]
        elif fn == 69 and rest:
            self.qr_error = QR_ERROR_LEVELS.get(rest[0], str(rest[0]))
        elif fn == 80 and rest[:1] == b"0":
            self.qr_stored = rest[1:]
        elif fn == 81:
            if self.qr_stored is None:
                self.out.problems.append("QR printed with no data stored")
                return
            payload = self.qr_stored.decode("utf-8", errors="replace")
            self.out.qr.append(payload)
            self.out.qr_settings.append({"model": self.qr_model, "size": self.qr_size, "error": self.qr_error})
            self.out.events.append(("qr", payload))
        else:
            self.unknown(start)

    def barcode(self, start: int) -> None:
        m = self.byte()
        if m <= 6:
            end = self.data.find(b"\x00", self.at)
            if end == -1:
                raise _Truncated
            data = self.take(end - self.at)
            self.at += 1
            symbology = SYMBOLOGIES[m + 65]
        elif m in SYMBOLOGIES:
            data = self.take(self.byte())
            symbology = SYMBOLOGIES[m]
        else:
            self.unknown(start)
            return
        if symbology in ("CODE128", "GS1-128"):
            payload = code128(data, self.out.problems)
        else:
            payload = data.decode("ascii", errors="replace")
        self.out.barcodes.append((symbology, payload))
        self.out.barcode_settings.append({"height": self.bar_height, "width": self.bar_width, "hri": self.hri})
        self.out.events.append(("barcode", (symbology, payload)))


def code128(data: bytes, problems: list[str]) -> str:
    """The text a CODE128 symbol carries: the data starts with a code set ({A, {B or {C); in sets A and B a
    byte is a character, in set C each byte is two digits (0-99); {1-{4 are FNC1-4, {S shifts one
    character between sets A and B, and {{ is a brace."""
    if data[:1] != b"{" or data[1:2] not in (b"A", b"B", b"C"):
        problems.append(f"CODE128 data must start with {{A, {{B or {{C: {data[:4]!r}")
        return data.decode("ascii", errors="replace")
    out, i, code_set = [], 0, ""
    while i < len(data):
        b = data[i]
        if b == ord("{") and i + 1 < len(data):
            c = chr(data[i + 1])
            i += 2
            if c in "ABC":
                code_set = c
            elif c == "{":
                out.append("{")
            elif c == "S" and i < len(data):
                out.append(chr(data[i]))
                i += 1
            elif c not in "1234":
                problems.append(f"CODE128: unknown escape {{{c}")
            continue
        if code_set == "C":
            if b > 99:
                problems.append(f"CODE128 set C byte {b} is not 0-99")
            out.append(f"{b:02d}")
        else:
            out.append(chr(b))
        i += 1
    return "".join(out)


def decode(data: bytes) -> Decoded:
    """What a printer makes of ``data``: see :class:`Decoded`."""
    return _Reader(bytes(data)).run()
