"""Fake ``/dev/input`` and ``/sys/class/input`` trees laid out as on a real machine, for the discovery, HID,
self-test and scanner-command tests: this machine has no input devices, so :func:`make_input_tree` builds
real directories, files and relative symlinks the way the kernel and udev do."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from evdev import ecodes as e

# What real devices report (capabilities/key): a full keyboard has codes 1..127 (Esc .. Compose) among
# others; a Consumer Control node has media keys only; a mouse has buttons and relative axes.
KEYBOARD = frozenset(range(1, 128))
CONSUMER = frozenset({e.KEY_MUTE, e.KEY_VOLUMEDOWN, e.KEY_VOLUMEUP, e.KEY_NEXTSONG, e.KEY_PLAYPAUSE})
MOUSE_BUTTONS = frozenset({e.BTN_LEFT, e.BTN_RIGHT, e.BTN_MIDDLE})
MOUSE_REL = frozenset({e.REL_X, e.REL_Y, e.REL_WHEEL})


@dataclass
class FakeNode:
    """One event node: its sysfs attributes and its udev links (names only; the builder adds the dirs)."""

    event: int
    name: str
    vendor: int = 0
    product: int = 0
    bustype: int = e.BUS_USB
    phys: str = ""
    uniq: str = ""
    keys: frozenset[int] = KEYBOARD
    rel: frozenset[int] = frozenset()
    abs: frozenset[int] = frozenset()
    by_id: list[str] = field(default_factory=list)
    by_path: list[str] = field(default_factory=list)
    sys_parent: str = "devices/virtual/input"   # where the kernel puts its inputN directory
    mode: int = 0o660


def usb_device(name: str, events: list[int], *, vendor: int, product: int, serial: str = "", port: str = "2",
               keys: list[frozenset[int]] | None = None, rel: frozenset[int] = frozenset(),
               id_serial: str | None = None, link_all: bool = True, uniq: str = "") -> list[FakeNode]:
    """The nodes of one USB device, one per event number, each on its own interface (if00, if01, ...).

    Names and links follow udev's 60-persistent-input.rules: by-id is ``usb-<ID_SERIAL>-event-kbd`` on
    interface 0 and ``usb-<ID_SERIAL>-ifNN-event-kbd`` on others; by-path names the USB port. With
    ``link_all=False`` only the first node gets links, like a Consumer Control node that lost the race
    for the same link name.
    """
    id_serial = id_serial or re.sub(r"[^A-Za-z0-9.+#-]", "_", name) + (f"_{serial}" if serial else "")
    nodes = []
    for i, event in enumerate(events):
        linked = link_all or i == 0
        iface = "" if i == 0 else f"-if{i:02d}"
        nodes.append(FakeNode(
            event=event, name=name, vendor=vendor, product=product, phys=f"usb-0000:00:14.0-{port}/input{i}",
            uniq=uniq, keys=(keys or [KEYBOARD] * len(events))[i], rel=rel,
            by_id=[f"usb-{id_serial}{iface}-event-kbd"] if linked else [],
            by_path=[f"pci-0000:00:14.0-usb-0:{port}:1.{i}-event-kbd"] if linked else [],
            sys_parent=(f"devices/pci0000:00/0000:00:14.0/usb1/1-{port}/1-{port}:1.{i}/"
                        f"0003:{vendor:04X}:{product:04X}.{event:04X}/input")))
    return nodes


def bitmap(bits: frozenset[int] | set[int]) -> str:
    """The kernel's format: 64-bit hex words, most significant first, leading zero words left out."""
    if not bits:
        return "0"
    words = [0] * (max(bits) // 64 + 1)
    for bit in bits:
        words[bit // 64] |= 1 << (bit % 64)
    return " ".join(f"{w:x}" for w in reversed(words))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class InputRoots(NamedTuple):
    """Where discovery looks: the fake ``/dev/input`` and ``/sys/class/input``."""
    input_dir: Path
    sys_dir: Path


def make_input_tree(tmp_path: Path, devices: list) -> tuple[Path, Path]:
    """Build ``dev/input`` and ``sys/class/input`` under ``tmp_path``; return (input_dir, sys_dir).

    ``devices`` holds :class:`FakeNode` objects or lists of them (what :func:`usb_device` returns). As on
    Linux: ``sys/class/input/eventN`` is a relative symlink into ``sys/devices/.../input/inputM/eventN``,
    whose ``device`` link points at ``inputM`` with name, phys, uniq, id/ and capabilities/; the node
    ``dev/input/eventN`` is a regular file with ``mode``; by-id and by-path links are ``../eventN``.
    Calling it again on the same ``tmp_path`` adds devices.
    """
    root = Path(tmp_path)
    input_dir, sys_dir = root / "dev" / "input", root / "sys" / "class" / "input"
    for folder in (input_dir / "by-id", input_dir / "by-path", sys_dir):
        folder.mkdir(parents=True, exist_ok=True)
    nodes = [n for d in devices for n in (d if isinstance(d, list) else [d])]
    for node in nodes:
        number = node.event + 3   # inputM numbers run ahead of eventN on real machines
        input_m = root / "sys" / node.sys_parent / f"input{number}"
        event = input_m / f"event{node.event}"
        event.mkdir(parents=True)
        _write(event / "dev", f"13:{64 + node.event}\n")
        _write(event / "uevent", f"MAJOR=13\nMINOR={64 + node.event}\nDEVNAME=input/event{node.event}\n")
        (event / "device").symlink_to(f"../../input{number}")
        _write(input_m / "name", node.name + "\n")
        _write(input_m / "phys", node.phys + "\n")
        _write(input_m / "uniq", node.uniq + "\n")
        for attr, value in (("bustype", node.bustype), ("vendor", node.vendor), ("product", node.product),
                            ("version", 0x0111)):
            _write(input_m / "id" / attr, f"{value:04x}\n")
        ev = {e.EV_SYN, e.EV_KEY} | ({e.EV_REL} if node.rel else set()) | ({e.EV_ABS} if node.abs else set())
        for attr, bits in (("ev", ev), ("key", node.keys), ("rel", node.rel), ("abs", node.abs),
                           ("msc", {e.MSC_SCAN}), ("led", set()), ("sw", set()), ("ff", set()), ("snd", set())):
            _write(input_m / "capabilities" / attr, bitmap(frozenset(bits)) + "\n")
        (sys_dir / f"event{node.event}").symlink_to(os.path.relpath(event, sys_dir))
        (sys_dir / f"input{number}").symlink_to(os.path.relpath(input_m, sys_dir))
        dev = input_dir / f"event{node.event}"
        dev.write_bytes(b"")
        dev.chmod(node.mode)
        for folder, links in (("by-id", node.by_id), ("by-path", node.by_path)):
            for link in links:
                (input_dir / folder / link).symlink_to(f"../event{node.event}")
    return input_dir, sys_dir
