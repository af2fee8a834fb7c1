"""Discovery's rules without a device tree: the kernel's capability bitmaps, what a node's capabilities make
it, and the words an open error gives (the trees themselves are integration/test_discovery.py's)."""

from __future__ import annotations

import errno
import os

from evdev import ecodes as e
from inputtree import CONSUMER, KEYBOARD, bitmap

from drivers import discovery
from drivers.discovery import (
    classify,
    open_error,
    parse_bitmap,
)
from drivers.model import ScannerError
from pos_app.config import ScannersConfig


def test_bitmap_words_are_64_bits_most_significant_first():
    keys = parse_bitmap("1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe")
    assert e.KEY_ESC in keys and e.KEY_1 in keys and e.KEY_ENTER in keys and e.KEY_Q in keys
    assert 0 not in keys
    assert {192, 193, 194, 240} <= keys and 195 not in keys   # the top word: bits 0-2 and 48
    assert parse_bitmap("0") == frozenset() and parse_bitmap("") == frozenset()
    assert parse_bitmap(bitmap(KEYBOARD | CONSUMER)) == KEYBOARD | CONSUMER
    assert parse_bitmap("1 0") == {64}                      # an inner zero word still counts
    assert parse_bitmap("zz") == frozenset()


def test_keys_with_pointer_motion_are_other():
    node = discovery.InputNode(path="/dev/input/event1", name="Barcode Mouse", phys="", uniq="", bustype=3,
                               vendor=0, product=0, keys=KEYBOARD, has_rel=True, has_abs=False, by_id=(),
                               by_path=(), readable=True)
    assert classify((node,), ScannersConfig())[0] == "other"


def test_open_errors_name_the_device_and_the_fix():
    path = "/dev/input/by-id/usb-Honeywell-event-kbd"
    gone = open_error(path, FileNotFoundError(errno.ENOENT, "No such file or directory"))
    assert isinstance(gone, ScannerError) and path in str(gone) and "not found (unplugged?)" in str(gone)
    denied = str(open_error(path, PermissionError(errno.EACCES, "Permission denied")))
    assert path in denied and "permission denied" in denied
    assert "'input' group" in denied and "usermod -aG input" in denied and "udev rule" in denied
    assert "permission denied" in str(open_error(path, PermissionError(errno.EPERM, "Operation not permitted")))
    busy = str(open_error(path, OSError(errno.EBUSY, "Device or resource busy")))
    assert path in busy and "another program has it" in busy
    assert "gone" in str(open_error(path, OSError(errno.ENODEV, "No such device")))
    other = str(open_error(path, OSError(errno.EIO, os.strerror(errno.EIO))))
    assert path in other and os.strerror(errno.EIO) in other
