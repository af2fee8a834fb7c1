"""Receipt printers (ESC/POS) on the network (raw TCP, port 9100), on USB or on a serial line.

A thin layer over python-escpos's ``Network``, ``Usb`` and ``Serial`` printers, which open the device and
write the bytes; what this module adds is what a till needs and python-escpos leaves out:

- the printer's state in words a cashier acts on (paper out, cover open, offline), read with the ESC/POS
  real-time status queries DLE EOT 1, 2 and 4 (Epson ESC/POS command reference) within the configured
  timeout. A printer that does not answer in time counts as offline: nothing else can be known about it;
- :meth:`Printer.send` asks first and refuses a printer that cannot print, so a receipt is never sent to a
  printer with no paper (where it would be lost) and the caller keeps it for a reprint;
- connection failures (refused, reset, unreachable, timed out) as :class:`PrinterError` in words;
- :func:`find_printers` for ``devices``: USB printer-class devices from sysfs, ``/dev/usb/lp*`` nodes and
  the configured network printer, each with the ``[printer]`` lines that select it.

A network printer is connected for each status query or job and let go after, as a CUPS socket backend
does: a 9100 port usually serves one connection at a time, and one held open would make the printer look
offline to everyone else (another till, ``devices``). A USB or serial printer is ours alone; it stays open
until :meth:`Printer.close`.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pos_app.config import PrinterConfig
from pos_app.errors import PosError
from pos_app.i18n import N_, _

SYS_USB_DIR = Path("/sys/bus/usb/devices")
USB_LP_DIR = Path("/dev/usb")
USB_CLASS_PRINTER = 0x07

# -- the real-time status queries (DLE EOT n) --------------------------------------------------------
# Each is answered at once with one byte, even while the printer is offline or busy. In every answer
# bits 0, 1, 4 and 7 are fixed at 0, 1, 1, 0: a byte without that pattern is not an answer.
PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR = 1, 2, 4
FIXED_MASK, FIXED_BITS = 0x93, 0x12
OFFLINE = 0x08         # n=1, bit 3: offline
COVER_OPEN = 0x04      # n=2, bit 2: the cover is open
PAPER_END_STOP = 0x20  # n=2, bit 5: printing stopped because the paper ran out
ERROR = 0x40           # n=2, bit 6: an error (cutter, head temperature, ...)
NEAR_END = 0x0C        # n=4, bits 2-3: the roll is near its end
PAPER_END = 0x60       # n=4, bits 5-6: no paper
DRAIN_LIMIT = 4096     # bytes a printer may have sent unasked before a query (late answers, ASB)
BABBLING = N_("it keeps sending bytes nobody asked for: is it a receipt printer?")


def query(n: int) -> bytes:
    """DLE EOT n."""
    return bytes((0x10, 0x04, n))


def is_answer(byte: int) -> bool:
    return byte & FIXED_MASK == FIXED_BITS


#: What a cashier reads for each state (shown through ``_``, so in the person's language when read).
STATE_WORDS = {
    "ready": N_("Printer: ready"),
    "paper_low": N_("Printer: paper low — have a new roll ready"),
    "paper_out": N_("Printer: paper out — load a new roll"),
    "cover_open": N_("Printer: cover open — close the cover"),
    "error": N_("Printer: error — switch it off and on again"),
    "offline": N_("Printer: offline — check its power and cable"),
    "no_permission": N_("Printer: no permission to use it — `pos-terminal devices` says what to change"),
}


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer answered. ``detail`` is for the technician: the bytes, or why nothing came."""

    online: bool
    paper: str = "ok"            # ok | low | out (ok also when an offline printer cannot tell)
    cover_open: bool = False
    error: bool = False
    detail: str = ""
    permission: bool = True      # False: the device is there but this user may not open it

    @property
    def state(self) -> str:
        """One word for the state, the most urgent first: what the words say."""
        if not self.permission:
            return "no_permission"
        if self.cover_open:
            return "cover_open"
        if self.paper == "out":
            return "paper_out"
        if self.error:
            return "error"
        if not self.online:
            return "offline"
        return "paper_low" if self.paper == "low" else "ready"

    @property
    def ready(self) -> bool:
        """It can print now (paper low still prints)."""
        return self.state in ("ready", "paper_low")

    @property
    def words(self) -> str:
        return _(STATE_WORDS[self.state])

    def to_json(self) -> dict:
        return {"state": self.state, "ready": self.ready, "online": self.online, "paper": self.paper,
                "cover_open": self.cover_open, "error": self.error, "words": self.words, "detail": self.detail}

    @classmethod
    def from_answers(cls, printer: int, cause: int, paper: int) -> PrinterStatus:
        """From the answers to DLE EOT 1, 2 and 4."""
        out = bool(paper & PAPER_END) or bool(cause & PAPER_END_STOP)
        return cls(online=not printer & OFFLINE, paper="out" if out else ("low" if paper & NEAR_END else "ok"),
                   cover_open=bool(cause & COVER_OPEN), error=bool(cause & ERROR),
                   detail=_("status bytes {a:02x} {b:02x} {c:02x} (DLE EOT 1, 2, 4)").format(a=printer, b=cause,
                                                                                          c=paper))


class PrinterError(PosError):
    """The printer cannot be used, in words; ``status`` is what it answered (None: it was never asked)."""

    def __init__(self, message: str, *, hint: str | None = None, status: PrinterStatus | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class _Unreachable(Exception):
    """The device cannot be opened or stopped answering: the status is offline, for ``reason``."""

    def __init__(self, reason: str, permission: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permission = permission


def _reason(exc: BaseException | None, timeout: float) -> tuple[str, bool]:
    """(the reason in words, whether permission was not the problem) for a failure to reach a printer."""
    if isinstance(exc, socket.gaierror):
        return _("unknown host name"), True
    if isinstance(exc, TimeoutError):
        return _("no answer within {seconds} s").format(seconds=f"{timeout:g}"), True
    code = getattr(exc, "errno", None)
    words = {errno.ECONNREFUSED: N_("connection refused"), errno.ECONNRESET: N_("connection reset"),
             errno.EPIPE: N_("connection closed by the printer"), errno.EHOSTUNREACH: N_("host unreachable"),
             errno.ENETUNREACH: N_("network unreachable"), errno.ENOENT: N_("not found (unplugged?)"),
             errno.ENODEV: N_("the device is gone (unplugged?)"), errno.EIO: N_("input/output error"),
             errno.EBUSY: N_("another program has it"), errno.ETIMEDOUT: N_("timed out")}
    if code in (errno.EACCES, errno.EPERM):
        return _("permission denied"), False
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    # pyserial says a plain file or a pipe is no terminal only in its text ("(25, 'Inappropriate ioctl ...')")
    if code == errno.ENOTTY or "Inappropriate ioctl" in text:
        return _("not a serial port (a plain file or a pipe?): set [printer] device to the printer's port"), True
    if code == errno.EISDIR or "Is a directory" in text:
        return _("a folder, not a device: set [printer] device to the printer's port"), True
    if code in words:
        return _(words[code]), True
    if "ermission" in text or "Access denied" in text:   # pyusb's USBError carries libusb's words
        return _("permission denied"), False
    return text.splitlines()[0], True


# -- one printer ------------------------------------------------------------------------------------
class Printer:
    """One configured printer. Thread-safe: the print worker and a screen's status poll may share it."""

    def __init__(self, config: PrinterConfig, device) -> None:
        self.config = config
        self.kind = config.kind
        self._device = device          # the python-escpos printer
        self._open = False
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        c = self.config
        if c.kind == "network":
            return f"{c.host}:{c.port}"
        if c.kind == "usb":
            return f"USB {c.usb_vendor:04x}:{c.usb_product:04x}"
        return c.device

    def __repr__(self) -> str:
        return f"<Printer {self.kind} {self.where}>"

    # -- the public calls --
    def status(self) -> PrinterStatus:
        """Ask the printer now; never raises for a printer that cannot be reached (that is offline)."""
        with self._lock:
            try:
                self._connect()
                return self._ask()
            except _Unreachable as exc:
                self._drop()
                return self._offline(exc)
            finally:
                if self.kind == "network":
                    self._drop()

    def send(self, data: bytes) -> PrinterStatus:
        """Print ``data`` (ESC/POS bytes) if the printer is ready; returns the status it had.

        Raises :class:`PrinterError` without sending anything when it is not ready (offline, paper out,
        cover open, an error), and when the connection fails while sending (then part may have printed).
        On a network printer it returns once the printer has read every byte (it saw the end of the job).
        """
        with self._lock:
            try:
                try:
                    self._connect()
                    status = self._ask()
                except _Unreachable as exc:
                    self._drop()
                    status = self._offline(exc)
                if not status.ready:
                    raise PrinterError(status.words, status=status,
                                       hint=_("nothing was sent to the printer ({detail})").format(
                                           detail=status.detail))
                try:
                    self._write(data)
                    if self.kind == "network":
                        self._finish()
                except _Unreachable as exc:
                    self._drop()
                    raise PrinterError(_("Printer: the connection failed while printing ({reason}) — check its "
                                         "power and cable").format(reason=exc.reason),
                                       hint=_("part of it may have printed"), status=self._offline(exc)) from None
                return status
            finally:
                if self.kind == "network":
                    self._drop()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the device --
    def _offline(self, exc: _Unreachable) -> PrinterStatus:
        return PrinterStatus(online=False, detail=f"{self.where}: {exc.reason}", permission=exc.permission)

    def _connect(self) -> None:
        if self._open:
            return
        from escpos.exceptions import DeviceNotFoundError  # type: ignore[import-untyped]  # ships no types

        try:
            self._device.open()
        except DeviceNotFoundError as exc:   # python-escpos wraps the OSError or USBError it met
            reason, permission = _reason(exc.__context__ or exc, self.config.timeout)
            raise _Unreachable(reason, permission) from None
        except Exception as exc:  # noqa: BLE001 -- OSError, SerialException, USBError, pyusb's NoBackendError
            if type(exc).__name__ == "NoBackendError":
                raise _Unreachable(_("no USB library: install libusb (apt install libusb-1.0-0)")) from None
            raise _Unreachable(*_reason(exc, self.config.timeout)) from None
        if self._device.device is None:      # python-escpos logged the failure instead of raising
            raise _Unreachable(_("not found"))
        self._open = True
        if self.kind == "usb":
            self._usb_endpoints()
        elif self.kind == "serial":   # with hardware flow control, a printer switched off would block a write
            self._device.device.write_timeout = self.config.timeout

    def _drop(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if self.kind == "network":
                self._device.device.close()     # already shut down or finished: no RST over unread bytes
                self._device._device = False
            else:
                self._device.close()
        except Exception:  # noqa: BLE001 -- a device that vanished is closed enough
            self._device._device = False

    def _write(self, data: bytes) -> None:
        try:
            self._device._raw(data)
        except Exception as exc:  # noqa: BLE001 -- OSError, SerialException, USBError: all mean unreachable
            raise _Unreachable(*_reason(exc, self.config.timeout)) from None

    def _read(self, timeout: float) -> bytes:
        """What the printer has sent, waiting up to ``timeout``; b"" when nothing came. Raises _Unreachable
        when the connection is gone."""
        dev = self._device.device
        try:
            if self.kind == "network":
                dev.settimeout(timeout)
                try:
                    data = dev.recv(16)
                except TimeoutError:
                    return b""
                if not data:
                    raise _Unreachable(_("connection closed by the printer"))
                return data
            if self.kind == "usb":
                import usb.core  # type: ignore[import-untyped]  # ships no types
                try:
                    return bytes(dev.read(self._device.in_ep, 16, max(1, int(timeout * 1000))))
                except usb.core.USBTimeoutError:
                    return b""
            dev.timeout = timeout
            return bytes(dev.read(1))
        except _Unreachable:
            raise
        except Exception as exc:  # noqa: BLE001 -- a failing read means the printer is unreachable
            raise _Unreachable(*_reason(exc, self.config.timeout)) from None

    def _drain(self) -> None:
        """Drop bytes nobody asked for (an answer that came late, automatic status) before a query. A printer
        that keeps sending (a babbling line, the wrong device) is unreachable once the timeout has passed or
        more came than any printer sends unasked: the status question must end within its time."""
        deadline, dropped = time.monotonic() + self.config.timeout, 0
        while chunk := self._read(0.001 if self.kind != "network" else 0.0001):
            dropped += len(chunk)
            if dropped > DRAIN_LIMIT or time.monotonic() > deadline:
                raise _Unreachable(_(BABBLING))

    def _answer(self, n: int) -> int:
        self._write(query(n))
        deadline, junk = time.monotonic() + self.config.timeout, 0
        while (left := deadline - time.monotonic()) > 0:
            for byte in self._read(left):
                if is_answer(byte):
                    return byte
                junk += 1
            if junk > DRAIN_LIMIT:   # the same words whether the junk came before the question or after
                raise _Unreachable(_(BABBLING))
        raise _Unreachable(_("no answer to DLE EOT {n} within {seconds} s").format(
            n=n, seconds=f"{self.config.timeout:g}"))

    def _ask(self) -> PrinterStatus:
        self._drain()
        return PrinterStatus.from_answers(self._answer(PRINTER_STATUS), self._answer(OFFLINE_CAUSE),
                                          self._answer(PAPER_SENSOR))

    def _finish(self) -> None:
        """End a network job: say so (FIN), then wait for the printer to close its side, which it does once
        it has read everything (the end of a job, as CUPS's socket backend waits for it). A printer that has
        not closed within the timeout has not surely read the slip (on 127.0.0.1 or a LAN the whole slip
        fits in the socket buffers, so the write alone proves nothing): the job is not printed, in words."""
        dev = self._device.device
        try:
            dev.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise _Unreachable(*_reason(exc, self.config.timeout)) from None
        deadline = time.monotonic() + self.config.timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                dev.settimeout(left)
                if not dev.recv(4096):
                    return
            except TimeoutError:
                break
            except OSError as exc:
                raise _Unreachable(*_reason(exc, self.config.timeout)) from None
        raise _Unreachable(_("it did not take the whole slip within {seconds} s").format(
            seconds=f"{self.config.timeout:g}"))

    def _usb_endpoints(self) -> None:
        """Use the printer interface's own bulk endpoints (python-escpos assumes 0x82 and 0x01)."""
        import usb.util  # type: ignore[import-untyped]  # ships no types

        try:
            for interface in self._device.device.get_active_configuration():
                if interface.bInterfaceClass != USB_CLASS_PRINTER:
                    continue
                for endpoint in interface:
                    address = endpoint.bEndpointAddress
                    if usb.util.endpoint_direction(address) == usb.util.ENDPOINT_IN:
                        self._device.in_ep = address
                    else:
                        self._device.out_ep = address
                return
        except Exception:  # noqa: BLE001 -- python-escpos's defaults fit most printers
            return


def open_printer(config: PrinterConfig) -> Printer:
    """The configured printer, not yet connected (an unplugged printer is offline, not an error here)."""
    from escpos import printer as escpos  # type: ignore[import-untyped]  # python-escpos ships no types

    if config.kind == "network":
        return Printer(config, escpos.Network(config.host, config.port, timeout=config.timeout))
    if config.kind == "usb":
        return Printer(config, escpos.Usb(config.usb_vendor, config.usb_product, timeout=int(config.timeout * 1000)))
    if config.kind == "serial":
        return Printer(config, escpos.Serial(config.device, baudrate=config.baud, timeout=config.timeout))
    raise PrinterError(_("no printer is configured"),
                       hint=_('set kind = "network", "usb" or "serial" in [printer] (`pos-terminal devices` lists '
                              "the printers it finds); receipts can still be saved as PDF or PNG"))


# -- finding printers -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FoundPrinter:
    """A printer ``devices`` lists, with the ``[printer]`` lines that select it."""

    kind: str                          # usb | network | serial
    name: str
    where: str
    config_lines: tuple[str, ...]
    vendor: int | None = None
    product: int | None = None
    node: str | None = None            # /dev/usb/lpN while the kernel's usblp driver has it
    configured: bool = False
    status: PrinterStatus | None = None
    note: str = ""

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "where": self.where,
                "vendor": None if self.vendor is None else f"{self.vendor:04x}",
                "product": None if self.product is None else f"{self.product:04x}",
                "node": self.node, "configured": self.configured,
                "status": None if self.status is None else self.status.to_json(),
                "config": list(self.config_lines), "note": self.note}


def config_lines(kind: str, **values) -> tuple[str, ...]:
    """The ``[printer]`` lines for a printer, as TOML."""
    if kind == "usb":
        return ('kind = "usb"', f"usb_vendor = 0x{values['vendor']:04x}", f"usb_product = 0x{values['product']:04x}")
    if kind == "network":
        return ('kind = "network"', f'host = "{values["host"]}"', f"port = {values['port']}")
    return ('kind = "serial"', f'device = "{values["device"]}"', f"baud = {values['baud']}")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return ""


def _lp_nodes(interface: Path, lp_dir: Path) -> list[str]:
    """The usblp nodes the kernel made for a printer interface (``usbmisc/lpN``, older kernels ``usb/lpN``)."""
    names = []
    for sub in ("usbmisc", "usb"):
        try:
            names += [n for n in os.listdir(interface / sub) if re.fullmatch(r"lp\d+", n)]
        except OSError:
            continue
    return [str(lp_dir / n) for n in sorted(names)]


def usb_printers(config: PrinterConfig | None = None, sys_dir: Path = SYS_USB_DIR,
                 lp_dir: Path = USB_LP_DIR) -> list[FoundPrinter]:
    """USB devices with a printer-class interface (bInterfaceClass 07), read from sysfs (nothing opened)."""
    sys_dir, lp_dir = Path(sys_dir), Path(lp_dir)
    try:
        entries = sorted(os.listdir(sys_dir))
    except OSError:
        return []
    found: dict[str, FoundPrinter] = {}
    for entry in entries:
        device_name, colon, _interface = entry.partition(":")
        if not colon or device_name in found or _read(sys_dir / entry / "bInterfaceClass").lower() != "07":
            continue
        device = sys_dir / device_name
        try:
            vendor, product = int(_read(device / "idVendor"), 16), int(_read(device / "idProduct"), 16)
        except ValueError:
            continue
        name = " ".join(t for t in (_read(device / "manufacturer"), _read(device / "product")) if t) \
            or _("USB printer")
        nodes = _lp_nodes(sys_dir / entry, lp_dir)
        configured = config is not None and config.kind == "usb" and (config.usb_vendor, config.usb_product) == (
            vendor, product)
        found[device_name] = FoundPrinter(
            kind="usb", name=name, where=_("USB {vendor:04x}:{product:04x} (port {port})").format(
                vendor=vendor, product=product, port=device_name),
            config_lines=config_lines("usb", vendor=vendor, product=product), vendor=vendor, product=product,
            node=nodes[0] if nodes else None, configured=configured)
    return list(found.values())


def find_printers(config: PrinterConfig | None = None, *, sys_dir: Path = SYS_USB_DIR, lp_dir: Path = USB_LP_DIR,
                  timeout: float = 2.0) -> list[FoundPrinter]:
    """USB printers (sysfs), ``/dev/usb/lp*`` nodes no USB entry explains, and the configured printer: a
    network one is asked for its status (``timeout`` at most per answer), reachable or not; a configured
    USB or serial one that is not there is listed as missing."""
    printers = usb_printers(config, sys_dir, lp_dir)
    known = {p.node for p in printers}
    try:
        lps = sorted(n for n in os.listdir(lp_dir) if re.fullmatch(r"lp\d+", n))
    except OSError:
        lps = []
    for name in lps:
        node = str(Path(lp_dir) / name)
        if node not in known:
            printers.append(FoundPrinter(
                kind="usb", name=_("USB printer"), where=node, config_lines=('kind = "usb"',), node=node,
                note=_("its USB ids are not in sysfs here: `lsusb` shows them, for usb_vendor and usb_product")))
    if config is None or config.kind == "none":
        return printers
    if config.kind == "network":
        quick = dataclasses.replace(config, timeout=min(config.timeout, timeout))
        with open_printer(quick) as printer:
            status = printer.status()
        printers.append(FoundPrinter(
            kind="network", name=_("network printer"), where=f"{config.host}:{config.port}",
            config_lines=config_lines("network", host=config.host, port=config.port), configured=True,
            status=status))
    elif config.kind == "usb" and not any(p.configured for p in printers):
        printers.append(FoundPrinter(
            kind="usb", name=_("configured USB printer"), where=f"USB {config.usb_vendor:04x}:{config.usb_product:04x}",
            config_lines=config_lines("usb", vendor=config.usb_vendor, product=config.usb_product),
            vendor=config.usb_vendor, product=config.usb_product, configured=True,
            note=_("not found on USB: plugged in and switched on?")))
    elif config.kind == "serial":
        there = os.path.exists(config.device)
        printers.append(FoundPrinter(
            kind="serial", name=_("serial printer"), where=config.device,
            config_lines=config_lines("serial", device=config.device, baud=config.baud), configured=True,
            note="" if there else _("{device}: no such device (unplugged?)").format(device=config.device)))
    return printers
