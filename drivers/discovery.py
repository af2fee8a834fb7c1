"""Finding scanners: input devices from sysfs, serial ports from pyserial (spec practice §1–2).

Input devices are read from sysfs (``/sys/class/input/eventN/device/...``), never by opening the nodes:
sysfs is world-readable, so ``pos-terminal devices`` can list every device and say per node "no
permission" instead of seeing nothing. Event nodes are grouped into physical devices (a scanner often has
a keyboard node per USB interface plus a "Consumer Control" node) because Odoo's read-the-first-node-only
loses scans; each device gets an id from ``/dev/input/by-id`` that survives a replug.

A device is a scanner when the configuration says so, or (with ``autodetect``) when its name or USB
vendor says so. Everything else that types is a keyboard and is never grabbed: grabbing the cashier's real
keyboard by mistake is worse than missing a scanner, which a ``[[scanners.hid]]`` entry fixes.

Both roots are parameters, so tests (and a machine without ``/dev/input``) use fake trees.
"""

from __future__ import annotations

import errno
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from serial.tools import list_ports

from pos_app.config import HidDeviceConfig, ScannersConfig
from pos_app.i18n import N_, _

from .model import ScannerError

INPUT_DIR = Path("/dev/input")
SYS_INPUT_DIR = Path("/sys/class/input")
SERIAL_BY_ID_DIR = Path("/dev/serial/by-id")

# Key codes from linux/input-event-codes.h (the same numbers as evdev.ecodes; kept here so that listing
# devices needs no evdev).
KEY_1, KEY_0, KEY_ENTER, KEY_KPENTER = 2, 11, 28, 96
KEY_Q, KEY_P, KEY_A, KEY_L, KEY_Z, KEY_M = 16, 25, 30, 38, 44, 50
DIGIT_KEYS = frozenset(range(KEY_1, KEY_0 + 1))
LETTER_KEYS = frozenset([*range(KEY_Q, KEY_P + 1), *range(KEY_A, KEY_L + 1), *range(KEY_Z, KEY_M + 1)])
BUS_USB = 0x03

# The kernel prints capability bitmaps as words of its ``unsigned long``; a word wider than 8 hex digits
# proves 64 bits, otherwise we assume the kernel's long is as wide as ours (a 32-bit userland on a 64-bit
# kernel prints wide words anyway, which the proof catches).
LONG_BITS = struct.calcsize("l") * 8

# USB vendor ids of scanner makers, from the linux-usb.org usb.ids list: 0c2e "Metrologic Instruments"
# (Honeywell), 0536 "Hand Held Products" (Honeywell), 05e0 "Symbol Technologies" (Zebra), 05f9 "PSC
# Scanning, Inc." (Datalogic), 080c "Datalogic S.p.A.", 1eab "Fujian Newland Computer Co., Ltd".
# Only makers whose USB HID products are scanners: a generic chip vendor here would grab keyboards.
SCANNER_VENDORS = {
    0x0C2E: "Honeywell",
    0x0536: "Honeywell",
    0x05E0: "Zebra",
    0x05F9: "Datalogic",
    0x080C: "Datalogic",
    0x1EAB: "Newland",
}
# Matched against each word of a name (split at spaces, punctuation and camelCase); "scan" alone must be
# the whole word, so "Scandinavian Keyboard" stays a keyboard.
SCANNER_WORDS = re.compile(r"(barcode|scanner|reader|imager|honeywell|zebra|symbol|datalogic|newland)\w*"
                           r"|(scan)(?:s|ning)?")
PEDAL_WORDS = re.compile(r"(pedal|foot)\w*")   # "FootSwitch" and "Foot Switch" both have a word "foot..."

KEYBOARD_REASON = N_('has letter keys: treated as a keyboard (never grabbed); set role = "scanner" for a '
                     "scanner that calls itself a keyboard")


# -- records ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InputNode:
    """One ``/dev/input/eventN`` node as sysfs describes it."""

    path: str
    name: str
    phys: str
    uniq: str
    bustype: int
    vendor: int
    product: int
    keys: frozenset[int]
    has_rel: bool
    has_abs: bool
    by_id: tuple[str, ...]
    by_path: tuple[str, ...]
    readable: bool

    @property
    def event(self) -> str:
        return os.path.basename(self.path)

    @property
    def has_typing_keys(self) -> bool:
        """Digits and Enter: what a wedge scanner needs to send a code (and what a keyboard has)."""
        return self.keys >= DIGIT_KEYS and bool({KEY_ENTER, KEY_KPENTER} & self.keys)

    def to_json(self) -> dict:
        return {"path": self.path, "name": self.name, "phys": self.phys, "uniq": self.uniq,
                "bustype": f"{self.bustype:04x}", "vendor": f"{self.vendor:04x}", "product": f"{self.product:04x}",
                "key_count": len(self.keys), "typing_keys": self.has_typing_keys, "has_rel": self.has_rel,
                "has_abs": self.has_abs, "by_id": list(self.by_id), "by_path": list(self.by_path),
                "readable": self.readable}


@dataclass(frozen=True)
class InputDeviceInfo:
    """One physical device: all its event nodes, its stable id and what the terminal does with it."""

    id: str
    name: str
    vendor: int
    product: int
    nodes: tuple[InputNode, ...]
    role: str            # scanner | keyboard | other | ignore
    reason: str
    config: HidDeviceConfig | None

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(node.path for node in self.nodes)

    @property
    def grab(self) -> bool:
        """Only scanners are grabbed, so a misjudged keyboard still types."""
        return self.role == "scanner"

    @property
    def readable(self) -> bool:
        return all(node.readable for node in self.nodes)

    def to_json(self) -> dict:
        cfg = self.config
        return {"id": self.id, "name": self.name, "vendor": f"{self.vendor:04x}", "product": f"{self.product:04x}",
                "role": self.role, "reason": self.reason, "grab": self.grab, "readable": self.readable,
                "config": None if cfg is None else {"path": cfg.path, "role": cfg.role, "layout": cfg.layout,
                                                    "gap_ms": cfg.gap_ms, "min_length": cfg.min_length},
                "nodes": [node.to_json() for node in self.nodes]}


@dataclass(frozen=True)
class SerialPortInfo:
    """One serial port, as pyserial lists it, with what makes it look like a scanner."""

    device: str
    by_id: tuple[str, ...]
    description: str
    manufacturer: str | None
    product: str | None
    vid: int | None
    pid: int | None
    serial_number: str | None
    configured: bool
    likely_scanner: bool
    reason: str

    def to_json(self) -> dict:
        return {"device": self.device, "by_id": list(self.by_id), "description": self.description,
                "manufacturer": self.manufacturer, "product": self.product,
                "vid": None if self.vid is None else f"{self.vid:04x}",
                "pid": None if self.pid is None else f"{self.pid:04x}",
                "serial_number": self.serial_number, "configured": self.configured,
                "likely_scanner": self.likely_scanner, "reason": self.reason}


# -- reading sysfs ---------------------------------------------------------------------------------

def _read(path: Path) -> str:
    """An attribute's text; "" when it cannot be read (gone, no permission, not a file)."""
    try:
        with open(path, "rb") as f:
            return f.read(65536).decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""


def _hex(path: Path) -> int:
    try:
        return int(_read(path), 16)
    except ValueError:
        return 0


def parse_bitmap(text: str, word_bits: int | None = None) -> frozenset[int]:
    """The bit numbers set in a sysfs capability bitmap: hex words, most significant first."""
    words = text.split()
    if word_bits is None:
        word_bits = 64 if any(len(w) > 8 for w in words) else LONG_BITS
    bits = set()
    for index, word in enumerate(reversed(words)):
        try:
            value = int(word, 16)
        except ValueError:
            return frozenset()
        base = index * word_bits
        while value:
            low = value & -value
            bits.add(base + low.bit_length() - 1)
            value ^= low
    return frozenset(bits)


def _event_number(name: str) -> int:
    digits = name[5:]
    return int(digits) if digits.isdigit() else 1 << 30


def _links(folder: Path) -> dict[str, list[str]]:
    """realpath → the symlinks in ``folder`` that point at it (by-id and by-path)."""
    found: dict[str, list[str]] = {}
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return found
    for entry in entries:
        link = folder / entry
        if os.path.islink(link):
            found.setdefault(os.path.realpath(link), []).append(str(link))
    return found


def read_nodes(input_dir: Path = INPUT_DIR, sys_dir: Path = SYS_INPUT_DIR) -> list[InputNode]:
    """Every event node that has both a sysfs entry and a device node, in event-number order.

    A node unplugged while we read it (its sysfs directory gone) is skipped; an attribute that cannot be
    read reads as empty or 0, so one odd device never hides the others.
    """
    input_dir, sys_dir = Path(input_dir), Path(sys_dir)
    try:
        events = sorted((e for e in os.listdir(sys_dir) if re.fullmatch(r"event\d+", e)), key=_event_number)
    except OSError:
        return []
    by_id, by_path = _links(input_dir / "by-id"), _links(input_dir / "by-path")
    nodes = []
    for event in events:
        attrs = sys_dir / event / "device"
        path = input_dir / event
        if not attrs.is_dir() or not os.path.lexists(path):
            continue
        caps = attrs / "capabilities"
        node = InputNode(
            path=str(path), name=_read(attrs / "name"), phys=_read(attrs / "phys"), uniq=_read(attrs / "uniq"),
            bustype=_hex(attrs / "id" / "bustype"), vendor=_hex(attrs / "id" / "vendor"),
            product=_hex(attrs / "id" / "product"), keys=parse_bitmap(_read(caps / "key")),
            has_rel=bool(parse_bitmap(_read(caps / "rel"))), has_abs=bool(parse_bitmap(_read(caps / "abs"))),
            by_id=tuple(by_id.get(os.path.realpath(path), ())),
            by_path=tuple(by_path.get(os.path.realpath(path), ())),
            readable=os.access(path, os.R_OK))
        if attrs.is_dir():   # still there after reading: not unplugged half-way
            nodes.append(node)
    return nodes


# -- grouping --------------------------------------------------------------------------------------

_BY_ID_SUFFIX = re.compile(r"(?:-if[0-9A-Fa-f]{2})?-event-[A-Za-z0-9]+$")


def by_id_base(link: str) -> str:
    """udev's by-id name without the per-node part: ``usb-<ID_SERIAL>[-ifNN]-event-<class>`` → ``usb-<ID_SERIAL>``."""
    return _BY_ID_SUFFIX.sub("", os.path.basename(link))


def _phys_base(node: InputNode) -> str | None:
    """The phys before ``/inputN`` (the USB port, shared by a device's interfaces), or None.

    Bluetooth nodes have the adapter's address as phys, shared by every device on it: no grouping there.
    """
    head, sep, _ = node.phys.rpartition("/input")
    return head if sep and head else None


def _node_keys(node: InputNode) -> list[str]:
    keys = [f"id:{by_id_base(link)}" for link in node.by_id]
    if (phys := _phys_base(node)) is not None:
        keys.append(f"phys:{phys}")
    elif node.uniq and node.phys:
        keys.append(f"uniq:{node.phys}/{node.uniq}")
    return keys


def group_nodes(nodes: list[InputNode]) -> list[tuple[InputNode, ...]]:
    """One tuple per physical device, nodes and devices in event-number order.

    Nodes belong together when they share a by-id base or a phys prefix (a Consumer Control node often
    loses the by-id link to its keyboard sibling, but keeps the phys).
    """
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for key in _node_keys(node):
            if key in owner:
                parent[root(i)] = root(owner[key])
            else:
                owner[key] = i
    groups: dict[int, list[InputNode]] = {}
    for i, node in enumerate(nodes):
        groups.setdefault(root(i), []).append(node)
    ordered = [tuple(sorted(g, key=lambda n: (_event_number(n.event), n.path))) for g in groups.values()]
    return sorted(ordered, key=lambda g: (_event_number(g[0].event), g[0].path))


def device_id(nodes: tuple[InputNode, ...]) -> str:
    """A stable identity: by-id base, else USB phys port, else Bluetooth address, else the node name."""
    bases = sorted({by_id_base(link) for node in nodes for link in node.by_id})
    if bases:
        return bases[0]
    physes = sorted({p for node in nodes if (p := _phys_base(node)) is not None})
    if physes:
        return f"phys:{physes[0]}"
    uniqs = sorted({node.uniq for node in nodes if node.uniq})
    if uniqs:
        return f"uniq:{uniqs[0]}"
    return f"node:{nodes[0].event}"


# -- classification --------------------------------------------------------------------------------

def _words(name: str) -> list[str]:
    """Lower-case words, split at non-letters and camelCase ("USBBarcodeScanner" → usb, barcode, scanner)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return re.findall(r"[a-z0-9]+", spaced.lower().replace("bar code", "barcode"))


def _name_word(names: Iterable[str], words: re.Pattern) -> str | None:
    """The first keyword that a word of one of the names is made of, e.g. 'scanner' for "BarcodeScanner"."""
    for name in names:
        for word in _words(name):
            if match := words.fullmatch(word):
                return match.group(1) or match.group(2)
    return None


def _matches(cfg: HidDeviceConfig, nodes: tuple[InputNode, ...]) -> bool:
    """The entry names this device: by a node's real path, or by one of its links (even a dangling one)."""
    wanted = os.path.realpath(cfg.path)
    for node in nodes:
        if wanted == os.path.realpath(node.path) or cfg.path in node.by_id or cfg.path in node.by_path \
                or os.path.normpath(cfg.path) == os.path.normpath(node.path):
            return True
    return False


def classify(nodes: tuple[InputNode, ...], settings: ScannersConfig) -> tuple[str, str, HidDeviceConfig | None]:
    """(role, reason, config entry) for one device; the reason is shown to the technician as is."""
    for cfg in settings.hid:
        if _matches(cfg, nodes):
            return cfg.role, _("configured in [[scanners.hid]] as {role}").format(role=cfg.role), cfg
    typing = [node for node in nodes if node.has_typing_keys]
    if not typing:
        return "other", _("no typing keys (mouse, button, touch)"), None
    if not [node for node in typing if not node.has_rel]:
        return "other", _("moves a pointer (a mouse with keys): not a scanner"), None
    names = [node.name for node in nodes]
    if _name_word(names, PEDAL_WORDS):
        return "other", _("name says pedal/foot switch: not a scanner"), None
    if not settings.autodetect:
        return "keyboard", _("autodetect is off and no [[scanners.hid]] entry names it: treated as a keyboard "
                             '(never grabbed); set role = "scanner" in [[scanners.hid]] to use it as a scanner'), None
    word = _name_word(names, SCANNER_WORDS)
    if word:
        return "scanner", _("name says {word!r}").format(word=word), None
    for node in typing:
        if node.bustype == BUS_USB and node.vendor in SCANNER_VENDORS:
            return "scanner", _("vendor {id:04x} ({name}) makes scanners").format(
                id=node.vendor, name=SCANNER_VENDORS[node.vendor]), None
    if any(node.keys >= LETTER_KEYS for node in typing):
        return "keyboard", _(KEYBOARD_REASON), None
    return "keyboard", _('has digit keys but no scanner name or vendor: treated as a keyboard (never grabbed); '
                         'set role = "scanner" in [[scanners.hid]] for a scanner'), None


def scan_input_devices(settings: ScannersConfig, input_dir: Path = INPUT_DIR,
                       sys_dir: Path = SYS_INPUT_DIR) -> list[InputDeviceInfo]:
    """Every input device, grouped and classified; nothing is opened, so this works without permission."""
    devices = []
    for nodes in group_nodes(read_nodes(input_dir, sys_dir)):
        role, reason, cfg = classify(nodes, settings)
        main = next((node for node in nodes if node.has_typing_keys), nodes[0])
        devices.append(InputDeviceInfo(id=device_id(nodes), name=main.name, vendor=main.vendor,
                                       product=main.product, nodes=nodes, role=role, reason=reason, config=cfg))
    return devices


def find_device(path: str, devices: Iterable[InputDeviceInfo]) -> InputDeviceInfo | None:
    """The device that owns ``path`` (a node, a by-id or by-path link, or a device id)."""
    real = os.path.realpath(path)
    for device in devices:
        if path == device.id:
            return device
        for node in device.nodes:
            if real == os.path.realpath(node.path) or path in node.by_id or path in node.by_path:
                return device
    return None


def config_for(path: str, devices: Iterable[InputDeviceInfo]) -> HidDeviceConfig | None:
    """The ``[[scanners.hid]]`` entry that governs the device owning ``path``, if any."""
    device = find_device(path, devices)
    return device.config if device is not None else None


# -- errors ----------------------------------------------------------------------------------------

def permission_hint(path: str) -> str:
    """What to do when a node cannot be opened: the udev rule is the narrower grant (scanners only)."""
    return _("add this user to the 'input' group (sudo usermod -aG input $USER, then log in again) or install "
             "the udev rule from packaging/ that gives the terminal's user the scanners only (ls -l {path} "
             "shows who may read it now)").format(path=path)


def open_error(path: str, exc: OSError) -> ScannerError:
    """A ScannerError naming the node and saying, in words, why it cannot be opened and what to do."""
    code = exc.errno
    if code == errno.ENOENT:
        return ScannerError(_("input device {path}: not found (unplugged?)").format(path=path),
                            hint=_("plug it in again; `pos-terminal devices` lists what is there"))
    if code in (errno.EACCES, errno.EPERM):
        return ScannerError(_("input device {path}: permission denied").format(path=path), hint=permission_hint(path))
    if code == errno.EBUSY:
        return ScannerError(_("input device {path}: another program has it (grabbed)").format(path=path),
                            hint=_("close the other program (another pos-terminal, or a kiosk or driver that "
                                   "grabs input devices)"))
    if code == errno.ENODEV:
        return ScannerError(_("input device {path}: the device is gone (unplugged while opening)").format(path=path),
                            hint=_("plug it in again; it is picked up when it comes back"))
    if code in (errno.ENOTTY, errno.EINVAL):
        return ScannerError(_("input device {path}: not an evdev input node").format(path=path),
                            hint=_("name a /dev/input/eventN node or its /dev/input/by-id link "
                                   "(`pos-terminal devices` lists them); a serial scanner needs --serial"))
    reason = exc.strerror or (os.strerror(code) if code else str(exc))
    return ScannerError(_("input device {path}: {reason}").format(path=path, reason=reason))


# -- serial ports ----------------------------------------------------------------------------------

def _serial_reason(configured: bool, vid: int | None, texts: list[str | None]) -> tuple[bool, str]:
    if configured:
        return True, _("configured in [[scanners.serial]]")
    if vid in SCANNER_VENDORS:
        return True, _("vendor {id:04x} ({name}) makes scanners").format(id=vid, name=SCANNER_VENDORS[vid])
    word = _name_word([t for t in texts if t], SCANNER_WORDS)
    if word:
        return True, _("name says {word!r}").format(word=word)
    return False, _("nothing says scanner; add a [[scanners.serial]] entry if it is one")


def scan_serial_ports(settings: ScannersConfig, by_id_dir: Path = SERIAL_BY_ID_DIR) -> list[SerialPortInfo]:
    """Serial ports from pyserial, with by-id links, plus configured ports it does not list (a pty, a link)."""
    links = _links(Path(by_id_dir))
    configured = {os.path.realpath(s.port): s.port for s in settings.serial}
    ports = []
    seen = set()
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        real = os.path.realpath(port.device)
        seen.add(real)
        is_cfg = real in configured
        description = port.description if port.description and port.description != "n/a" else ""
        likely, reason = _serial_reason(is_cfg, port.vid, [port.manufacturer, port.product, description])
        ports.append(SerialPortInfo(
            device=port.device, by_id=tuple(links.get(real, ())), description=description,
            manufacturer=port.manufacturer, product=port.product, vid=port.vid, pid=port.pid,
            serial_number=port.serial_number, configured=is_cfg, likely_scanner=likely, reason=reason))
    for real, configured_port in configured.items():
        if real not in seen and os.path.exists(real):
            seen.add(real)
            ports.append(SerialPortInfo(
                device=configured_port, by_id=tuple(links.get(real, ())),
                description=_("configured port that the port listing misses (a pty, a link or an unusual driver)"),
                manufacturer=None, product=None, vid=None, pid=None, serial_number=None, configured=True,
                likely_scanner=True, reason=_("configured in [[scanners.serial]]")))
    return ports
