"""The terminal's configuration: one TOML file and one data directory.

The file is found by ``--config``, then ``POS_TERMINAL_CONFIG``, then
``$XDG_CONFIG_HOME/pos-terminal/terminal.toml``; with none of them the terminal runs in sandbox mode
against the embedded simulator. The data directory is ``--data-dir``, then ``POS_TERMINAL_DATA_DIR``,
then ``$XDG_DATA_HOME/pos-terminal``. Every error names the file, the key and what was expected, so a
technician can fix it without reading code.
"""

from __future__ import annotations

import ipaddress
import os
import re
import reprlib
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, overload
from urllib.parse import SplitResult, unquote, urlsplit

from .errors import ConfigError
from .i18n import N_, _
from .money import EXPONENTS, parse_money

ENV_CONFIG = "POS_TERMINAL_CONFIG"
ENV_DATA_DIR = "POS_TERMINAL_DATA_DIR"
MAX_CONFIG_BYTES = 1024 * 1024
# A key file holds one RSA key: a 4096-bit private key PEM is about 3.3 KB. 64 KiB leaves room for
# comments and still refuses, unread, anything that cannot be a key (a log, an image, a sparse file).
MAX_KEY_BYTES = 64 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    url: str
    client_id: str
    merchant_private_key: Path
    gateway_public_key: Path
    connect_timeout: float = 5.0
    read_timeout: float = 5.0
    ca_bundle: Path | None = None          # PEM CAs to trust instead of certifi's (a private or TLS-inspecting CA)
    proxy: str | None = None               # "http://host:port", "direct", or None: the environment decides
    proxy_credentials: Path | None = None  # a file (mode 600) holding user:password for the proxy's login

    @property
    def sandbox(self) -> bool:
        """The SDKs' rule: a ``SANDBOX_`` client id talks to the sandbox paths."""
        return self.client_id.startswith("SANDBOX_")


@dataclass(frozen=True)
class MerchantConfig:
    reference_merchant_id: str
    name: str
    mcc: str
    store_id: str
    store_name: str
    store_mcc: str
    terminal_id: str
    currency: str
    settlement_currency: str
    store_address: str = ""      # printed under the store's name on receipts; may hold several lines ("\n")


@dataclass(frozen=True)
class NotificationsConfig:
    listen_host: str
    listen_port: int
    public_url: str


@dataclass(frozen=True)
class PaymentsConfig:
    """Retry timing (seconds). Defaults are the official in-store SDK's (spec §6)."""

    inquiry_intervals: tuple[float, ...] = (2, 3, 3, 5, 5, 5, 5, 5, 5)
    cancel_intervals: tuple[float, ...] = (2, 3, 3, 5, 5)
    code_validity: float = 60.0
    order_code_poll: float = 3.0
    order_code_expiry: float = 300.0
    review_interval: float = 60.0


@dataclass(frozen=True)
class OfflineConfig:
    """Accepting a sale before the gateway answered is the merchant's risk: off unless configured."""

    merchant_risk: bool = False
    max_per_payment: dict[str, int] = field(default_factory=dict)  # currency -> minor units
    max_total: dict[str, int] = field(default_factory=dict)
    probe_interval: float = 1.0


LAYOUT_NAMES = ("us", "de", "fr")
ROLES = ("scanner", "shared", "keyboard", "ignore")
SERIAL_SUFFIXES = ("auto", "cr", "lf", "crlf", "none")


@dataclass(frozen=True)
class HidDeviceConfig:
    """One USB HID device named by path: its role overrides the heuristics, its settings the defaults."""

    path: str                    # /dev/input/by-id/..., by-path or eventN: every node of that device
    role: str = "scanner"        # scanner (grabbed), shared (read, not grabbed: the burst rule tells scans from
    #                              typing), keyboard (never read), ignore
    layout: str | None = None    # the keyboard layout the scanner is programmed to emulate
    gap_ms: float | None = None
    min_length: int | None = None


@dataclass(frozen=True)
class SerialScannerConfig:
    """A serial (RS-232 or USB-CDC) scanner; vendor defaults differ, so every setting is here."""

    port: str
    baud: int = 9600
    bytesize: int = 8
    parity: str = "N"            # N, E, O, M, S
    stopbits: float = 1
    xonxoff: bool = False
    rtscts: bool = False
    suffix: str = "auto"         # auto (CR, LF or CR+LF), cr, lf, crlf, none (a gap ends the scan)
    gap_ms: float = 50.0
    ack: bool = False            # answer ACK (0x06) for a good scan and NAK (0x15) for a bad one
    min_length: int = 3


@dataclass(frozen=True)
class ScannersConfig:
    """How scans are read: discovery, decoding defaults, the shared-keyboard rule, configured devices."""

    autodetect: bool = True      # also use input devices whose name or vendor says scanner
    layout: str = "us"
    gap_ms: float = 100.0        # an inter-key gap this long ends a scan that has no Enter/Tab suffix
    min_length: int = 3
    shared_avg_ms: float = 30.0  # a non-grabbed device's burst is a scan only if keys average this fast,
    shared_max_gap_ms: float = 100.0  # no gap is longer than this,
    shared_min_length: int = 6   # and it is at least this long
    hid: tuple[HidDeviceConfig, ...] = ()
    serial: tuple[SerialScannerConfig, ...] = ()


PRINTER_KINDS = ("none", "network", "usb", "serial")
RECEIPT_MODES = ("auto", "key", "off")


@dataclass(frozen=True)
class PrinterConfig:
    """The receipt printer (ESC/POS). ``none``: receipts still exist, as PDF or PNG on request."""

    kind: str = "none"           # none | network | usb | serial
    host: str = ""               # network: the printer's address; raw TCP, port 9100 by default
    port: int = 9100
    usb_vendor: int = 0          # usb: the vendor and product ids (TOML takes 0x04b8)
    usb_product: int = 0
    device: str = ""             # serial: /dev/ttyUSB0, /dev/ttyS0, ...
    baud: int = 9600
    columns: int = 42            # characters per line in the normal font: 42 or 48 on 80 mm paper, 32 on 58 mm
    timeout: float = 5.0         # seconds a printer may take to answer before it counts as offline


@dataclass(frozen=True)
class ReceiptsConfig:
    """What is printed, and when."""

    customer: str = "auto"       # auto: after each paid sale; key: when the cashier presses the print key; off
    merchant_copy: bool = False  # a second copy for the merchant after each paid sale
    refund_slip: bool = True     # a slip for each refund (and each cancel of a paid sale)
    language: str | None = None  # the receipt's language; None: the terminal's


@dataclass(frozen=True)
class BrandConfig:
    """Artwork the merchant or acquirer supplies (PNG files); we ship none. Without them, neutral text."""

    acceptance_mark: Path | None = None   # the acceptance mark for the payment zone, order-code page and receipt
    qr_icon: Path | None = None           # the icon in the centre of an order code


@dataclass(frozen=True)
class EntryCodeConfig:
    """The store's static entry code (the acquirer issues it; the customer scans it and types the amount)."""

    code: str | None = None      # the code's value (a URL); None: no entry-code tender on this terminal
    match_window: float = 300.0  # seconds a waiting amount may wait for its payment


@dataclass(frozen=True)
class SftpUrl:
    """An ``sftp://user@host[:port]/absolute/folder`` URL, split (the port defaults to 22)."""

    user: str
    host: str
    port: int
    path: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sftp://{self.user}@{host}:{self.port}{self.path}"


@dataclass(frozen=True)
class SettlementConfig:
    """Where the gateway's settlement report files come from (issue 18), and whose they must be.

    ``sftp`` is the folder holding the ``<yyyyMMdd>`` folders; the server's host key is checked against
    ``known_hosts`` (never trusted on first use); the login is a password read from ``password_file`` or a
    private key (``key_file``), each mode 600. ``customer_id``: a file whose customerId differs is another
    merchant's and is refused (default: [gateway] client_id)."""

    customer_id: str
    sftp: str | None = None
    password_file: Path | None = None
    key_file: Path | None = None
    known_hosts: Path | None = None

    @property
    def url(self) -> SftpUrl | None:
        return split_sftp(self.sftp) if self.sftp else None


STORE_ROLES = ("till", "office")


@dataclass(frozen=True)
class StoreConfig:
    """Where this terminal replicates its journal (issue 17): the store's PostgreSQL, reached the libpq way.

    ``params`` are the libpq keywords as checked (files made absolute), so the connecting code hands them to
    libpq unchanged; ``database`` is the text as written (it never holds a password: that is refused)."""

    database: str
    params: dict[str, str]
    store_id: str
    role: str = "till"               # till: a counter that sells; office: a back-office machine that only reads
    heartbeat_interval: float = 30.0
    batch_size: int = 500

    reader: str | None = None        # [store] reader as written: the login the store's reports read with
    reader_params: dict[str, str] | None = None

    def conninfo(self, params: dict[str, str] | None = None) -> str:
        """The params (``database``'s unless given) as one libpq ``key=value`` string (values quoted the libpq way)."""
        def quote(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return " ".join(f"{key}={quote(value)}" for key, value in (self.params if params is None else params).items())

    def reader_conninfo(self) -> str:
        """Where the store's reports read: ``reader`` if set, else ``database`` (an office machine's login)."""
        return self.conninfo(self.reader_params if self.reader_params is not None else self.params)

    @property
    def where(self) -> str:
        """user@host:port/dbname in words, for status lines (what is absent is libpq's default)."""
        p = self.params
        host = p.get("host") or _("the default socket")
        user = f"{p['user']}@" if p.get("user") else ""
        port = f":{p['port']}" if p.get("port") else ""
        return f"{user}{host}{port}/{p.get('dbname', '')}"


@dataclass(frozen=True)
class Config:
    path: Path | None
    gateway: GatewayConfig
    merchant: MerchantConfig
    notifications: NotificationsConfig
    payments: PaymentsConfig = PaymentsConfig()
    offline: OfflineConfig = OfflineConfig()
    scanners: ScannersConfig = ScannersConfig()
    printer: PrinterConfig = PrinterConfig()
    receipts: ReceiptsConfig = ReceiptsConfig()
    brand: BrandConfig = BrandConfig()
    entry_code: EntryCodeConfig = EntryCodeConfig()
    store: StoreConfig | None = None   # None: no [store], the terminal is an island (the embedded default)
    settlement: SettlementConfig | None = None   # None: no [settlement]; files are given by hand


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# What a wrong value looks like in an error: short, and depth-limited (a value nested thousands deep
# would make repr() raise RecursionError instead of an error message).
_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlist, _SHOW.maxdict = 3, 300, 80, 6, 6


class _Section:
    """Typed reads from one TOML table, with errors that say file, key and expectation."""

    def __init__(self, file: Path, name: str, table: object, keys: set[str]) -> None:
        self.file, self.name = file, name
        if not isinstance(table, dict):
            self.fail(None, _("a [{name}] table").format(name=name), table)
        unknown = sorted(set(table) - keys)
        if unknown:
            raise ConfigError(
                _("{file}: [{name}] has unknown key {key!r}").format(file=file, name=name, key=unknown[0]),
                hint=_("the keys of [{name}] are: {keys}").format(name=name, keys=", ".join(sorted(keys))),
            )
        self.table = table

    def fail(self, key: str | None, expected: str, got: object = None, hint: str | None = None) -> NoReturn:
        where = f"[{self.name}] {key}" if key else f"[{self.name}]"
        shown = _("nothing") if got is None else _SHOW.repr(got)
        raise ConfigError(_("{file}: {where}: expected {expected}, got {shown}").format(
            file=self.file, where=where, expected=_(expected), shown=shown), hint=hint and _(hint))

    def text(self, key: str, expected: str = N_("a non-empty string"), pattern: str | None = None,
             max_len: int = 256, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str) or not value.strip() or len(value) > max_len \
                or (pattern and not re.fullmatch(pattern, value)):
            self.fail(key, expected, value)
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            self.fail(key, _(expected) + _(" (no control characters)"), value)
        return value.strip()

    def lines(self, key: str, expected: str, *, max_lines: int, max_len: int) -> str:
        """Optional text of a few printable lines (an address): "" when absent."""
        value = self.table.get(key, "")
        if not isinstance(value, str):
            self.fail(key, expected, value)
        rows = [row.strip() for row in value.strip().splitlines()]
        if len(rows) > max_lines or any(len(row) > max_len for row in rows) \
                or any(ord(c) < 0x20 or ord(c) == 0x7F for row in rows for c in row):
            self.fail(key, expected, value)
        return "\n".join(rows)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value <= high:
            self.fail(key, _("a number of seconds above {low:g} and at most {high:g}").format(low=low, high=high),
                      value)
        return float(value)

    def url(self, key: str) -> str:
        value = self.text(key, N_("an https:// URL"))
        # The path is signed as written; a space or a non-ASCII letter would go out re-encoded (or not at
        # all), so the gateway would check another path than we signed. Only what a URL may hold as is.
        if not value.isascii() or re.search(r'[\s"<>\\^`{|}]|%(?![0-9A-Fa-f]{2})', value):
            self.fail(key, N_("a URL of plain ASCII characters without spaces (write a space in the path as %20, "
                              "an international host name in its xn-- form)"), value)
        try:
            parts = urlsplit(value)  # ValueError: an unbalanced or invalid [IPv6] host
        except ValueError:
            self.fail(key, N_("an https:// URL"), value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
                or parts.username or parts.password:
            self.fail(key, N_("an https:// URL with a host, and no user, query or fragment"), value)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            self.fail(key, N_("https:// (plain http:// is allowed for 127.0.0.1, ::1 and localhost only)"), value)
        try:
            port_ok = parts.port != 0
        except ValueError:
            port_ok = False
        if not port_ok:
            self.fail(key, N_("a URL with a port from 1 to 65535"), value)
        return value.rstrip("/")

    def path(self, key: str) -> Path:
        text = self.text(key, N_("a file path"))
        try:
            value = expand_path(text)
        except ValueError:
            self.fail(key, N_("a file path (no NUL bytes, ~ only for an existing user)"), text)
        return value if value.is_absolute() else (self.file.parent / value)

    def currency(self, key: str, default: str | None = None) -> str:
        value = self.text(key, N_("an ISO 4217 currency code such as USD"), default=default)
        if value.upper() not in EXPONENTS:
            self.fail(key, N_("an ISO 4217 currency code such as USD, EUR, CNY, HKD, SGD, JPY"), value)
        return value.upper()

    def intervals(self, key: str, default: tuple[float, ...]) -> tuple[float, ...]:
        value = self.table.get(key, list(default))
        if not isinstance(value, list) or not 0 < len(value) <= 100 or any(
                isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 3600 for v in value):
            self.fail(key, N_("a list of 1 to 100 waits in seconds, e.g. [2, 3, 3, 5]"), value)
        return tuple(float(v) for v in value)

    def integer(self, key: str, default: int, low: int, high: int, expected: str | None = None) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, expected or _("a whole number from {low} to {high}").format(low=low, high=high), value)
        return value

    def choice(self, key: str, choices: tuple, default=None):
        value = self.table.get(key, default)
        if value not in choices or type(value) not in {type(c) for c in choices}:  # 9600.0 is not 9600
            self.fail(key, _("one of {choices}").format(choices=", ".join(repr(c) for c in choices)), value)
        return value

    @overload
    def millis(self, key: str, default: float) -> float: ...
    @overload
    def millis(self, key: str, default: None) -> float | None: ...

    def millis(self, key: str, default: float | None, low: float = 0, high: float = 10000) -> float | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value <= high:
            self.fail(key, _("milliseconds above {low:g} and at most {high:g}").format(low=low, high=high), value)
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, N_("true or false"), value)
        return value

    def limits(self, key: str) -> dict[str, int]:
        value = self.table.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, N_('a table of amounts per currency, e.g. { USD = "200.00" }'), value)
        limits = {}
        for currency, amount in value.items():
            if currency.upper() not in EXPONENTS or not isinstance(amount, str):
                self.fail(key, N_('amounts as strings per ISO 4217 currency, e.g. { USD = "200.00" }'), value)
            try:
                limits[currency.upper()] = parse_money(amount, currency.upper()).minor
            except ValueError as exc:
                self.fail(key, _("valid amounts ({reason})").format(reason=exc), value)
        return limits

    def listen(self, key: str) -> tuple[str, int]:
        value = self.text(key, N_("host:port, e.g. 127.0.0.1:8081"))
        host, sep, port = value.rpartition(":")
        if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            self.fail(key, N_("host:port with a port from 1 to 65535, e.g. 0.0.0.0:8081"), value)
        return host.strip("[]"), int(port)


def expand_path(text: str) -> Path:
    """``~`` expanded; ValueError for a path no file can have (NUL, or ``~user`` with no such user)."""
    if "\0" in text:
        raise ValueError(_("{text} holds a NUL byte").format(text=repr(text)))
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise ValueError(_("{text} names a user this machine does not have").format(text=repr(text))) from None


class RefusedFile(ValueError):
    """A path that names a device, a pipe, a directory or an oversized file: refused before it is read."""


def _file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, words in ((stat.S_ISDIR, N_("a directory")), (stat.S_ISFIFO, N_("a named pipe (FIFO)")),
                        (stat.S_ISCHR, N_("a character device")), (stat.S_ISBLK, N_("a block device")),
                        (stat.S_ISSOCK, N_("a socket"))):
        if test(mode):
            return words
    return N_("an unusual file")


def read_regular_file(path: Path | str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else :class:`RefusedFile` (OSError passes).

    Reading /dev/zero or a huge file eats the memory and opening a FIFO blocks for ever, so: stat before
    opening (opening some devices has effects), open non-blocking, fstat what was opened, read ≤ limit+1.
    """
    kind = _file_kind(os.stat(path).st_mode)
    if kind == "a directory":
        raise IsADirectoryError(path)
    if kind:
        raise RefusedFile(_("is {kind}, not a regular file").format(kind=_(kind)))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        kind = _file_kind(info.st_mode)
        if kind:
            raise RefusedFile(_("is {kind}, not a regular file").format(kind=_(kind)))
        if info.st_size > limit:
            raise RefusedFile(_("is {size} bytes, far too big (at most {limit} bytes)").format(size=info.st_size,
                                                                                               limit=limit))
        chunks, total = [], 0
        while total <= limit:  # the file may have grown since fstat
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise RefusedFile(_("is more than {limit} bytes, far too big").format(limit=limit))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_toml(file: Path) -> dict:
    try:
        raw = read_regular_file(file, MAX_CONFIG_BYTES)
    except RefusedFile as exc:
        raise ConfigError(f"{file}: {exc}", hint=_("point --config (or {env}) at the terminal.toml file").format(
            env=ENV_CONFIG)) from None
    except FileNotFoundError:
        raise ConfigError(_("{file}: config file not found").format(file=file),
                          hint=_("give the right path with --config or {env}, "
                                 "or unset both to run in sandbox mode").format(env=ENV_CONFIG)) from None
    except IsADirectoryError:
        raise ConfigError(_("{file}: is a directory; --config wants the terminal.toml file in it").format(
            file=file)) from None
    except PermissionError:
        raise ConfigError(_("{file}: this user may not read it").format(file=file),
                          hint=_("fix its owner or mode, e.g. chmod 640 {file}").format(file=file)) from None
    except OSError as exc:
        raise ConfigError(_("{file}: cannot read it: {reason}").format(file=file, reason=exc.strerror)) from None
    except ValueError:  # a path no file can have (a NUL byte)
        raise ConfigError(_("{path!r} is not a usable file path").format(path=str(file))) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(_("{file}: not UTF-8 text (bad byte at offset {offset})").format(file=file, offset=exc.start),
                          hint=_("save it as UTF-8 in a text editor")) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{file}: not valid TOML: {reason}").format(file=file, reason=exc),
                          hint=_("compare it with the example in the README")) from None
    except RecursionError:  # tomllib recurses once per nesting level: ``a = [[[[...`` is a broken file
        raise ConfigError(_("{file}: not valid TOML: arrays or tables nest far too deep").format(file=file),
                          hint=_("compare it with the example in the README")) from None


def load_config(file: Path | str) -> Config:
    """Read and check a terminal.toml; raise :class:`ConfigError` naming file, key and expectation."""
    file = Path(file).expanduser().absolute()
    doc = _read_toml(file)
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise ConfigError(_("{file}: unknown section [{name}]").format(file=file, name=unknown[0]),
                          hint=_("the sections are {sections}").format(
                              sections=", ".join(f"[{name}]" for name in SECTIONS)))
    g = _Section(file, "gateway", doc.get("gateway"), {
        "url", "client_id", "merchant_private_key", "gateway_public_key", "connect_timeout", "read_timeout",
        "ca_bundle", "proxy", "proxy_credentials"})
    proxy, proxy_credentials = _gateway_proxy(file, g)
    gateway = GatewayConfig(
        url=g.url("url"),
        client_id=g.text("client_id", N_("the client id the gateway gave you (at most 64 characters)"),
                         pattern=r"[\x21-\x7e]{1,64}"),
        merchant_private_key=g.path("merchant_private_key"),
        gateway_public_key=g.path("gateway_public_key"),
        connect_timeout=g.number("connect_timeout", 5.0, 0, 120),
        read_timeout=g.number("read_timeout", 5.0, 0, 120),
        ca_bundle=_ca_bundle(file, g),
        proxy=proxy,
        proxy_credentials=proxy_credentials,
    )
    m = _Section(file, "merchant", doc.get("merchant"), {
        "reference_merchant_id", "name", "mcc", "store_id", "store_name", "store_mcc", "terminal_id",
        "currency", "settlement_currency", "store_address"})
    mcc = N_("a 4-digit merchant category code, e.g. 5411")
    currency = m.currency("currency")
    merchant = MerchantConfig(
        reference_merchant_id=m.text("reference_merchant_id", N_("the merchant id (at most 64 characters)"),
                                     max_len=64),
        name=m.text("name", N_("the merchant's name"), max_len=256),
        mcc=m.text("mcc", mcc, pattern=r"[0-9]{4}"),
        store_id=m.text("store_id", N_("the store id (at most 64 characters)"), max_len=64),
        store_name=m.text("store_name", N_("the store's name"), max_len=256),
        store_mcc=m.text("store_mcc", mcc, pattern=r"[0-9]{4}"),
        terminal_id=m.text("terminal_id", N_("this terminal's id (at most 64 characters)"), max_len=64),
        currency=currency,
        settlement_currency=m.currency("settlement_currency", default=currency),
        store_address=m.lines("store_address", N_("the store's address (at most 4 lines of 64 characters)"),
                              max_lines=4, max_len=64),
    )
    n = _Section(file, "notifications", doc.get("notifications"), {"listen", "public_url"})
    host, port = n.listen("listen")
    notifications = NotificationsConfig(listen_host=host, listen_port=port, public_url=n.url("public_url"))
    d = PaymentsConfig()
    p = _Section(file, "payments", doc.get("payments", {}), set(d.__dataclass_fields__))
    payments = PaymentsConfig(
        inquiry_intervals=p.intervals("inquiry_intervals", d.inquiry_intervals),
        cancel_intervals=p.intervals("cancel_intervals", d.cancel_intervals),
        code_validity=p.number("code_validity", d.code_validity, 0, 600),
        order_code_poll=p.number("order_code_poll", d.order_code_poll, 0, 60),
        order_code_expiry=p.number("order_code_expiry", d.order_code_expiry, 0, 3600),
        review_interval=p.number("review_interval", d.review_interval, 0, 86400),
    )
    o = _Section(file, "offline", doc.get("offline", {}), set(OfflineConfig.__dataclass_fields__))
    offline = OfflineConfig(merchant_risk=o.flag("merchant_risk", False), max_per_payment=o.limits("max_per_payment"),
                            max_total=o.limits("max_total"),
                            probe_interval=o.number("probe_interval", 1.0, 0, 60))
    if offline.merchant_risk and not (offline.max_per_payment and offline.max_total):
        o.fail("max_per_payment", N_("limits per payment and in total when merchant_risk = true"),
               hint=N_('e.g. max_per_payment = { USD = "200.00" } and max_total = { USD = "500.00" }'))
    return Config(path=file, gateway=gateway, merchant=merchant, notifications=notifications,
                  payments=payments, offline=offline, scanners=parse_scanners(file, doc.get("scanners", {})),
                  printer=parse_printer(file, doc.get("printer", {})),
                  receipts=parse_receipts(file, doc.get("receipts", {})),
                  brand=parse_brand(file, doc.get("brand", {})),
                  entry_code=parse_entry_code(file, doc.get("entry_code", {})),
                  store=parse_store(file, doc["store"], merchant.store_id) if "store" in doc else None,
                  settlement=parse_settlement(file, doc["settlement"], gateway.client_id)
                  if "settlement" in doc else None)


SECTIONS = ("gateway", "merchant", "notifications", "payments", "offline", "scanners", "printer", "receipts",
            "brand", "entry_code", "store", "settlement")


def parse_printer(file: Path, table: object) -> PrinterConfig:
    s = _Section(file, "printer", table, set(PrinterConfig.__dataclass_fields__))
    d = PrinterConfig()
    kind = s.choice("kind", PRINTER_KINDS, d.kind)
    need = {"network": "host", "usb": "usb_vendor", "serial": "device"}.get(kind)
    if need and need not in s.table:
        s.fail(need, {"host": N_("the printer's host name or IP address (kind = \"network\")"),
                      "usb_vendor": N_("the printer's USB vendor id, e.g. 0x04b8 (kind = \"usb\")"),
                      "device": N_("the printer's serial device, e.g. /dev/ttyUSB0 (kind = \"serial\")")}[need],
               hint=N_("`pos-terminal devices` lists the printers it finds"))
    return PrinterConfig(
        kind=kind,
        host=s.text("host", N_("the printer's host name or IP address"), pattern=r"[A-Za-z0-9.:\-\[\]]{1,253}",
                    default=d.host) if "host" in s.table else d.host,
        port=s.integer("port", d.port, 1, 65535),
        usb_vendor=s.integer("usb_vendor", d.usb_vendor, 0, 0xFFFF),
        usb_product=s.integer("usb_product", d.usb_product, 0, 0xFFFF),
        device=s.text("device", N_("a serial device such as /dev/ttyUSB0")) if "device" in s.table else d.device,
        baud=s.choice("baud", (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200), d.baud),
        columns=s.integer("columns", d.columns, 24, 80),
        timeout=s.number("timeout", d.timeout, 0, 60),
    )


def parse_receipts(file: Path, table: object) -> ReceiptsConfig:
    s = _Section(file, "receipts", table, set(ReceiptsConfig.__dataclass_fields__))
    d = ReceiptsConfig()
    return ReceiptsConfig(
        customer=s.choice("customer", RECEIPT_MODES, d.customer),
        merchant_copy=s.flag("merchant_copy", d.merchant_copy),
        refund_slip=s.flag("refund_slip", d.refund_slip),
        language=s.text("language", N_("a language such as en or zh_CN"), pattern=r"[a-z]{2}(_[A-Z]{2})?")
        if "language" in s.table else d.language,
    )


def parse_brand(file: Path, table: object) -> BrandConfig:
    s = _Section(file, "brand", table, set(BrandConfig.__dataclass_fields__))
    return BrandConfig(acceptance_mark=s.path("acceptance_mark") if "acceptance_mark" in s.table else None,
                       qr_icon=s.path("qr_icon") if "qr_icon" in s.table else None)


def parse_entry_code(file: Path, table: object) -> EntryCodeConfig:
    s = _Section(file, "entry_code", table, set(EntryCodeConfig.__dataclass_fields__))
    d = EntryCodeConfig()
    code = None
    if "code" in s.table:
        code = s.text("code", N_("the entry code's value as the acquirer issued it (a URL, at most 512 characters)"),
                      max_len=512)
    return EntryCodeConfig(code=code, match_window=s.number("match_window", d.match_window, 0, 86400))


# libpq keywords [store] database may carry besides where it is (host, port, user, dbname): TLS, the passfile,
# a timeout, a name in pg_stat_activity. Anything else (a password above all) stays out of the TOML.
STORE_PARAMS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "passfile", "connect_timeout", "application_name")
_STORE_FILES = ("sslrootcert", "sslcert", "sslkey", "passfile")
_STORE_SECRET_FILES = ("sslkey", "passfile")     # libpq itself ignores or refuses these when others can read them
_LOCAL_SSLMODES = ("disable", "prefer", "require", "verify-full")
_CONNINFO_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']+)")


def _conninfo_pairs(text: str) -> list[tuple[str, str]] | None:
    """libpq's ``key=value key='quoted \\' value'`` form as pairs; None when it is not that form."""
    pairs, at = [], 0
    while text[at:].strip():
        found = _CONNINFO_PAIR.match(text, at)
        if not found:
            return None
        key, value = found.groups()
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        pairs.append((key, value))
        at = found.end()
        if at < len(text) and not text[at].isspace():
            return None
    return pairs


def _url_pairs(refuse, text: str) -> tuple[list[tuple[str, str]], int]:
    """libpq's ``postgresql://user@host:port/dbname?key=value`` as pairs (one host; a socket path as the
    host, %2F-encoded). A password in the user part is refused before anything is shown."""
    rest = text.split("://", 1)[1]
    cut = min((at for at in (rest.find("/"), rest.find("?")) if at >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    path, _q, query = tail.removeprefix("/").partition("?")
    if "@" in netloc:
        userinfo, _at, netloc = netloc.rpartition("@")
        if ":" in userinfo:
            refuse(N_("never a password inside the TOML: the URL carries one after the user name (user:…@)"))
    else:
        userinfo = ""
    if not text.isascii() or re.search(r'[\s"<>\\^`{|}#]|%(?![0-9A-Fa-f]{2})', text):
        refuse(N_("a URL of plain ASCII characters without spaces or #; percent-encode the rest (a socket path "
                  "as the host: %2Fvar%2Frun%2Fpostgresql)"))
    pairs = []
    if userinfo:
        pairs.append(("user", unquote(userinfo)))
    host, port = netloc, ""
    if netloc.startswith("["):
        host, _b, after = netloc[1:].partition("]")
        if after and not after.startswith(":"):
            refuse(N_("host:port after the user (an IPv6 address in brackets: [::1]:5432)"))
        port = after[1:]
    elif ":" in netloc:
        host, _c, port = netloc.partition(":")
    if "," in netloc:
        refuse(N_("one host (several hosts are not supported here)"))
    if host:
        pairs.append(("host", unquote(host)))
    if port:
        pairs.append(("port", port))
    if path:
        pairs.append(("dbname", unquote(path)))
    parts = len(pairs)
    for item in query.split("&") if query else ():
        key, eq, value = item.partition("=")
        if not eq:
            refuse(_("key=value parameters after ?, got {item!r}").format(item=unquote(key)))
        pairs.append((unquote(key), unquote(value)))
    return pairs, parts


def parse_store(file: Path, table: object, merchant_store_id: str) -> StoreConfig:
    """The ``[store]`` table: the store's PostgreSQL as a libpq URL or conninfo, never with a password (a
    config file is copied, backed up and shown; libpq reads a passfile or a client certificate instead);
    TLS with the server's name verified unless the database is on this machine. ``reader`` (optional, the
    same form) is the login the store's reports read with: a store manager's or head office's, since a
    till's own login reads only its own rows."""
    s = _Section(file, "store", table, {"database", "reader", "store_id", "role", "heartbeat_interval",
                                        "batch_size"})
    text, params = _libpq(file, s, "database")
    reader, reader_params = _libpq(file, s, "reader") if "reader" in s.table else (None, None)
    return StoreConfig(
        database=text, params=params, reader=reader, reader_params=reader_params,
        store_id=s.text("store_id", N_("the store id (at most 64 characters)"), max_len=64,
                        default=merchant_store_id),
        role=s.choice("role", STORE_ROLES, "till"),
        heartbeat_interval=_seconds(s, "heartbeat_interval", 30, 5, 3600),
        batch_size=s.integer("batch_size", 500, 1, 10000),
    )


def _libpq(file: Path, s: _Section, field: str) -> tuple[str, dict[str, str]]:
    """One libpq URL or conninfo of [store] (``database``, ``reader``): its text and its checked params."""
    expected = N_("a libpq URL postgresql://user@host:port/dbname?sslmode=verify-full or key=value conninfo")
    text = s.text(field, expected, max_len=4096)

    def refuse(words: str, hint: str | None = None) -> NoReturn:
        raise ConfigError(_("{file}: [store] {field}: {words}").format(file=file, field=field, words=_(words)),
                          hint=_(hint) if hint else _("the form is {form}").format(form=_(expected)))

    no_password = N_("let libpq find it: passfile=/path/to/pgpass (mode 600), or a client certificate "
                     "(sslcert= and sslkey=, the key mode 600)")
    if re.match(r"postgres(ql)?://", text):
        pairs, url_parts = _url_pairs(lambda words: refuse(words, no_password if "password" in words else None),
                                      text)
        where = "URL"
    else:
        found = _conninfo_pairs(text)
        if found is None:
            s.fail(field, expected, text if "password" not in text.lower() else None)
        pairs, where, url_parts = found, "conninfo", 0
    params: dict[str, str] = {}
    if any(key.lower() == "password" for key, _value in pairs):
        refuse(N_("never a password inside the TOML: it carries password="), no_password)
    # the URL's own parts come first and are always user, host, port, dbname; after ? only STORE_PARAMS
    allowed = (*STORE_PARAMS, "host", "port", "user", "dbname") if where == "conninfo" else STORE_PARAMS
    for index, (key, value) in enumerate(pairs):
        if (where == "conninfo" or index >= url_parts) and key not in allowed:
            refuse(_("parameter {key!r} is not taken here (only {allowed})").format(
                key=key, allowed=", ".join(allowed)))
        if key in params:
            refuse(_("parameter {key!r} given twice").format(key=key))
        if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            refuse(_("parameter {key!r}: a value without control characters").format(key=key))
        params[key] = value
    host = params.get("host", "")
    if host and not host.startswith("/") and not re.fullmatch(r"[A-Za-z0-9.\-:]{1,253}", host):
        refuse(_("a host name, an IP address or a socket directory, got {host!r}").format(host=host))
    if "port" in params and not (params["port"].isascii() and params["port"].isdigit()
                                 and 0 < int(params["port"]) < 65536):
        refuse(_("a port from 1 to 65535, got {port!r}").format(port=params["port"]))
    if "connect_timeout" in params and not (params["connect_timeout"].isascii()
                                            and params["connect_timeout"].isdigit()
                                            and 0 < int(params["connect_timeout"]) <= 120):
        refuse(_("connect_timeout in whole seconds from 1 to 120, got {value!r}").format(
            value=params["connect_timeout"]))
    local = not host or host.startswith("/") or is_loopback_host(host)
    sslmode = params.get("sslmode")
    if local and sslmode not in (None, *_LOCAL_SSLMODES):
        refuse(_("sslmode one of {modes} (on this machine), got {mode!r}").format(
            modes=", ".join(_LOCAL_SSLMODES), mode=sslmode))
    if not local and sslmode != "verify-full":
        refuse(_("sslmode=verify-full for a database on another machine ({host}), got {mode}").format(
                   host=host, mode=repr(sslmode) if sslmode else _("none (libpq's prefer)")),
               N_("verify-full checks the server's certificate and name, so nobody between the till and the "
                  "database can read or change what is sent; name the CA with sslrootcert="))
    for key in _STORE_FILES:
        if key not in params or (key == "sslrootcert" and params[key] == "system"):
            continue
        path = _store_file(file, key, params[key], field)
        params[key] = str(path)
    return text, params


_PROXY_FORM = N_('http://host:port of the store proxy (it must accept CONNECT), or "direct"')


def _gateway_proxy(file: Path, g: _Section) -> tuple[str | None, Path | None]:
    """[gateway] proxy and proxy_credentials: an http:// CONNECT proxy or "direct"; its login only from a file."""
    proxy = None
    if "proxy" in g.table:
        text = g.text("proxy", _PROXY_FORM, max_len=1024)
        if text.lower() == "direct":
            proxy = "direct"
        else:
            try:
                proxy = split_proxy(text)
            except ValueError as exc:
                raise ConfigError(_("{file}: [gateway] proxy {text}: {problem}").format(
                    file=file, text=_shown_url(text), problem=exc), hint=_("the form is {form}").format(
                    form=_(_PROXY_FORM))) from None
    if "proxy_credentials" not in g.table:
        return proxy, None
    if proxy is None or proxy == "direct":
        g.fail("proxy_credentials", N_('no proxy_credentials without proxy = "http://host:port"'),
               g.table["proxy_credentials"], hint=N_("name the proxy in [gateway] proxy, or remove proxy_credentials"))
    where = _("{file}: [gateway] proxy_credentials").format(file=file)
    path = _named_file(file, where, g.text("proxy_credentials", N_("a file path"), max_len=4096), secret=True)
    try:
        read_proxy_credentials(path)
    except ValueError as exc:
        raise ConfigError(f"{where}: {path}: {exc}", hint=_("write one line: user:password")) from None
    return proxy, path


def _url_parts(text: object) -> tuple[SplitResult, int | None]:
    """A URL's parts and port, or ValueError in words: the first checks [gateway] proxy and [settlement] sftp share.
    Each ValueError is a whole sentence about the URL (the caller shows the URL, a password never in it)."""
    if not isinstance(text, str) or not text.isascii() or re.search(r"[\s\x00-\x1f\x7f]", text):
        raise ValueError(_("it must be written in plain ASCII characters, without spaces"))
    try:
        parts = urlsplit(text)
        return parts, parts.port
    except ValueError:
        raise ValueError(_("its host or its port cannot be read (a port is a number from 1 to 65535)")) from None


def split_proxy(text: str) -> str:
    """A proxy URL checked and normalised to ``http://host:port``; ValueError in words (a whole sentence, the URL
    itself not repeated) otherwise."""
    parts, port = _url_parts(text)
    if parts.username is not None or parts.password is not None:
        raise ValueError(_("a login may not be written inside the URL: put user:password in a file (mode 600) "
                           "and name that file in [gateway] proxy_credentials"))
    if parts.scheme != "http":
        why = _("a store proxy is reached in plain HTTP and opens CONNECT tunnels")
        raise ValueError(_("it must start with http://, not {scheme}:// ({why})").format(scheme=parts.scheme, why=why)
                         if parts.scheme else _("it must start with http:// ({why})").format(why=why))
    if not parts.hostname:
        raise ValueError(_("it names no host name or IP address"))
    if not port:
        raise ValueError(_("it names no port: write the proxy's port too, e.g. http://10.0.0.1:3128"))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(_("there must be nothing after host:port"))
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"http://{host}:{port}"


def read_proxy_credentials(path: Path) -> tuple[str, str]:
    """(user, password) from a proxy_credentials file: one line ``user:password``. ValueError in words (never
    showing the password) when it is not that; OSError passes."""
    text = read_regular_file(path, MAX_KEY_BYTES).decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.strip()]
    user, sep, password = (lines[0].strip() if len(lines) == 1 else "").partition(":")
    if not sep or not user or not password:
        raise ValueError(_("expected one line user:password"))
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in user + password):
        raise ValueError(_("expected one line user:password, without control characters"))
    return user, password


def _ca_bundle(file: Path, g: _Section) -> Path | None:
    """[gateway] ca_bundle: a PEM file holding at least one certificate that parses (checked now, not at the
    first sale)."""
    if "ca_bundle" not in g.table:
        return None
    where = _("{file}: [gateway] ca_bundle").format(file=file)
    path = _named_file(file, where, g.text("ca_bundle", N_("a file path"), max_len=4096), secret=False)
    from cryptography import x509  # only configs that name a bundle pay for it

    try:
        certificates = x509.load_pem_x509_certificates(read_regular_file(path, MAX_CONFIG_BYTES))
    except (ValueError, OSError) as exc:
        certificates = []
        reason = str(exc) or type(exc).__name__
    else:
        reason = ""
    if not certificates:
        raise ConfigError(_("{where}: {path} holds no PEM certificate that can be read{reason}").format(
            where=where, path=path, reason=f" ({reason})" if reason else ""),
            hint=_("name a file of -----BEGIN CERTIFICATE----- blocks: the CA that signs the gateway's (or the "
                   "TLS-inspecting proxy's) certificate")) from None
    return path


def _seconds(s: _Section, key: str, default: float, low: float, high: float) -> float:
    value = s.table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        s.fail(key, _("a number of seconds from {low:g} to {high:g}").format(low=low, high=high), value)
    return float(value)


def _store_file(file: Path, key: str, text: str, field: str = "database") -> Path:
    """A file [store] database names: a regular file this user reads (relative to the config file); a key or
    passfile others can read is refused, as libpq and the merchant key are."""
    return _named_file(file, _("{file}: [store] {field} {key}").format(file=file, field=field, key=key), text,
                       secret=key in _STORE_SECRET_FILES)


def _named_file(file: Path, where: str, text: str, *, secret: bool) -> Path:
    """A file a section names (``where`` says file, section and key): a regular file this user reads, relative to
    the config file; a ``secret`` one (a key, a password) others can read is refused."""
    try:
        path = expand_path(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    path = path if path.is_absolute() else file.parent / path
    limit = MAX_KEY_BYTES if secret else MAX_CONFIG_BYTES
    try:
        read_regular_file(path, limit)
        mode = os.stat(path).st_mode
    except RefusedFile as exc:
        raise ConfigError(f"{where}: {path} {exc}", hint=_("name the file itself")) from None
    except FileNotFoundError:
        raise ConfigError(_("{where}: {path} does not exist").format(where=where, path=path),
                          hint=_("relative paths are relative to {folder}").format(folder=file.parent)) from None
    except IsADirectoryError:
        raise ConfigError(_("{where}: {path} is a directory, not a file").format(where=where, path=path)) from None
    except PermissionError:
        raise ConfigError(_("{where}: {path}: this user may not read it").format(where=where, path=path),
                          hint=_("let this user read it, e.g. chown $(id -un) {path}").format(path=path)) from None
    except OSError as exc:
        raise ConfigError(_("{where}: {path}: cannot read it: {reason}").format(
            where=where, path=path, reason=exc.strerror)) from None
    if secret and mode & 0o077 and os.name == "posix":
        raise ConfigError(_("{where}: {path} can be read by other users (mode {mode:04o})").format(
            where=where, path=path, mode=stat.S_IMODE(mode)), hint=_("run: chmod 600 {path}").format(path=path))
    return path


_SFTP_FORM = N_("sftp://user@host:port/absolute/folder, e.g. sftp://merchant@sftp.example.com:22/v1/settlements/"
                "<customerId>")


def split_sftp(text: str) -> SftpUrl:
    """An SFTP folder URL checked and split; ValueError in words (what is wrong with it) otherwise. Shared by
    [settlement] sftp and ``--sftp``."""
    parts, port = _url_parts(text)
    if parts.scheme != "sftp":
        raise ValueError(_("it must start with sftp://, not {scheme}://").format(scheme=parts.scheme)
                         if parts.scheme else _("it must start with sftp://"))
    if parts.password is not None:
        raise ValueError(_("a password may not be written inside the URL: name a password_file (mode 600) or a "
                           "key instead"))
    if not parts.username:
        raise ValueError(_("it names no user to log in as: write the user before an @, as in sftp://user@host/"))
    if not parts.hostname:
        raise ValueError(_("it names no host name or IP address"))
    if port == 0:
        raise ValueError(_("its port must be a number from 1 to 65535"))
    if parts.query or parts.fragment:
        raise ValueError(_("it may not have a ?query or a #fragment"))
    if not parts.path.startswith("/") or "/../" in f"{parts.path}/" or "%" in parts.path:
        raise ValueError(_("it needs an absolute folder path after the host, e.g. /v1/settlements/<customerId>"))
    return SftpUrl(unquote(parts.username), parts.hostname, port or 22, parts.path.rstrip("/") or "/")


def _shown_url(text: str) -> str:
    """A URL as an error may echo it: never a password written into it (user:password@)."""
    rest = text.split("//", 1)[-1]   # a password may hold "/" or "@": all before the last "@" may be the login
    return _("(not shown: it holds a password)") if "@" in rest and ":" in rest.rsplit("@", 1)[0] else repr(text)


def parse_settlement(file: Path, table: object, client_id: str) -> SettlementConfig:
    """The ``[settlement]`` table: where the gateway's report files are fetched (SFTP, optional) and whose they
    are. With ``sftp``, ``known_hosts`` and a login (``password_file`` or ``key``) are required; each file is a
    regular file, the password and the key mode 600 (as [store]'s passfile)."""
    s = _Section(file, "settlement", table, {"sftp", "password_file", "key", "known_hosts", "customer_id"})
    sftp = None
    if "sftp" in s.table:
        text = s.text("sftp", _SFTP_FORM, max_len=1024)
        try:
            sftp = str(split_sftp(text))
        except ValueError as exc:
            raise ConfigError(_("{file}: [settlement] sftp {text}: {problem}").format(
                file=file, text=_shown_url(text), problem=exc), hint=_("the form is {form}").format(
                form=_(_SFTP_FORM))) from None

    def named(key: str, secret: bool) -> Path | None:
        if key not in s.table:
            return None
        text = s.text(key, N_("a file path"), max_len=4096)
        try:
            path = expand_path(text)
        except ValueError as exc:
            raise ConfigError(f"{file}: [settlement] {key}: {exc}") from None
        return _named_file(file, _("{file}: [settlement] {key}").format(file=file, key=key), str(path),
                           secret=secret)

    password_file, key_file, known_hosts = named("password_file", True), named("key", True), \
        named("known_hosts", False)
    if sftp is not None:
        if known_hosts is None:
            s.fail("known_hosts", N_("the file holding the SFTP server's host key (known_hosts form), with sftp"),
                   hint=N_("the host key is checked on every connection, never trusted on first use: e.g. "
                           "ssh-keyscan -p PORT HOST > /etc/pos-terminal/sftp_known_hosts, checked with the "
                           "gateway's published fingerprint"))
        if password_file is None and key_file is None:
            s.fail("password_file", N_("a login for sftp: password_file (a file holding the password, mode 600) or "
                                       "key (a private key file, mode 600)"))
    customer_id = s.text("customer_id", N_("the customerId the gateway's reports carry (at most 64 characters)"),
                         pattern=r"[\x21-\x7e]{1,64}", default=client_id)
    return SettlementConfig(customer_id=customer_id, sftp=sftp, password_file=password_file, key_file=key_file,
                            known_hosts=known_hosts)


def parse_scanners(file: Path, table: object) -> ScannersConfig:
    """The ``[scanners]`` table, with ``[[scanners.hid]]`` and ``[[scanners.serial]]`` entries."""
    d = ScannersConfig()
    s = _Section(file, "scanners", table, set(d.__dataclass_fields__))
    hid, serial = s.table.get("hid", []), s.table.get("serial", [])
    for key, value in (("hid", hid), ("serial", serial)):
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            s.fail(key, _("[[scanners.{key}]] tables").format(key=key), value)
    layout = s.choice("layout", LAYOUT_NAMES, d.layout)
    serial_entries = tuple(_serial_entry(file, i, entry) for i, entry in enumerate(serial))
    seen: dict[str, int] = {}
    for i, entry in enumerate(serial_entries):
        real = os.path.realpath(entry.port)
        if real in seen:
            raise ConfigError(_("{file}: [[scanners.serial]] #{n} port {port!r} is the same port as #{first}").format(
                file=file, n=i + 1, port=entry.port, first=seen[real] + 1),
                hint=_("one entry per port; remove the duplicate"))
        seen[real] = i
    avg, max_gap = s.millis("shared_avg_ms", d.shared_avg_ms), s.millis("shared_max_gap_ms", d.shared_max_gap_ms)
    if avg > max_gap:
        s.fail("shared_avg_ms", _("at most shared_max_gap_ms ({gap:g}): an average cannot exceed the largest "
                                  "gap").format(gap=max_gap), avg)
    return ScannersConfig(
        autodetect=s.flag("autodetect", d.autodetect),
        layout=layout,
        gap_ms=s.millis("gap_ms", d.gap_ms),
        min_length=s.integer("min_length", d.min_length, 1, 512),
        shared_avg_ms=avg,
        shared_max_gap_ms=max_gap,
        shared_min_length=s.integer("shared_min_length", d.shared_min_length, 1, 512),
        hid=tuple(_hid_entry(file, i, entry) for i, entry in enumerate(hid)),
        serial=serial_entries,
    )


def _hid_entry(file: Path, index: int, table: dict) -> HidDeviceConfig:
    s = _Section(file, f"scanners.hid #{index + 1}", table, set(HidDeviceConfig.__dataclass_fields__))
    path = s.text("path", N_("a device path such as /dev/input/by-id/usb-...-event-kbd"), max_len=4096)
    if not path.startswith("/"):
        s.fail("path", N_("an absolute path under /dev/input (best a /dev/input/by-id/ one, which survives a replug)"),
               path)
    min_length = table.get("min_length")
    return HidDeviceConfig(
        path=path, role=s.choice("role", ROLES, "scanner"),
        layout=s.choice("layout", (*LAYOUT_NAMES, None), None),
        gap_ms=s.millis("gap_ms", None),
        min_length=None if min_length is None else s.integer("min_length", 3, 1, 512))


def _serial_entry(file: Path, index: int, table: dict) -> SerialScannerConfig:
    d = SerialScannerConfig(port="")
    s = _Section(file, f"scanners.serial #{index + 1}", table, set(d.__dataclass_fields__))
    stopbits = s.table.get("stopbits", d.stopbits)
    if stopbits not in (1, 1.5, 2) or isinstance(stopbits, bool):
        s.fail("stopbits", N_("1, 1.5 or 2"), stopbits)
    parity = s.table.get("parity", d.parity)
    if not isinstance(parity, str) or parity.upper()[:1] not in ("N", "E", "O", "M", "S") or len(parity) > 5:
        s.fail("parity", N_('"N" (none), "E" (even), "O" (odd), "M" (mark) or "S" (space)'), parity)
    port = s.text("port", N_("a serial port such as /dev/ttyACM0 or /dev/serial/by-id/..."), max_len=4096)
    if not port.startswith("/"):
        s.fail("port", N_("an absolute path such as /dev/ttyACM0 or /dev/serial/by-id/..."), port)
    return SerialScannerConfig(
        port=port,
        baud=s.choice("baud", (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400), d.baud),
        bytesize=s.choice("bytesize", (5, 6, 7, 8), d.bytesize),
        parity=parity.upper()[:1], stopbits=float(stopbits),
        xonxoff=s.flag("xonxoff", d.xonxoff), rtscts=s.flag("rtscts", d.rtscts),
        suffix=s.choice("suffix", SERIAL_SUFFIXES, d.suffix),
        gap_ms=s.millis("gap_ms", d.gap_ms),
        ack=s.flag("ack", d.ack),
        min_length=s.integer("min_length", d.min_length, 1, 512))


def _user_path(text: str, where: str) -> Path:
    try:
        return expand_path(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _xdg(name: str, default: Path) -> Path:
    """An XDG base directory; the spec says a relative one is invalid and must be ignored."""
    value = os.environ.get(name, "")
    return Path(value) if os.path.isabs(value) else default


def find_config_file(cli_value: str | None = None) -> Path | None:
    """The config file to use, or None for sandbox mode."""
    if cli_value:
        return _user_path(cli_value, "--config")
    if os.environ.get(ENV_CONFIG):
        return _user_path(os.environ[ENV_CONFIG], ENV_CONFIG)
    base = _xdg("XDG_CONFIG_HOME", Path.home() / ".config")
    candidate = Path(base) / "pos-terminal" / "terminal.toml"
    return candidate if candidate.is_file() else None


def find_data_dir(cli_value: str | None = None) -> Path:
    """The data directory: --data-dir, then POS_TERMINAL_DATA_DIR, then the XDG data home."""
    if cli_value:
        return _user_path(cli_value, "--data-dir").absolute()
    if os.environ.get(ENV_DATA_DIR):
        return _user_path(os.environ[ENV_DATA_DIR], ENV_DATA_DIR).absolute()
    base = _xdg("XDG_DATA_HOME", Path.home() / ".local" / "share")
    return Path(base) / "pos-terminal"
