"""Discovery against fake ``/dev/input`` and ``/sys/class/input`` trees laid out as on a real machine.

This machine has no input devices: the trees are real directories, files and relative symlinks in
``tmp_path``, made by :func:`inputtree.make_input_tree` the way the kernel and udev do.
"""

from __future__ import annotations

import os
from pathlib import Path

from evdev import ecodes as e
from inputtree import CONSUMER, KEYBOARD, MOUSE_BUTTONS, MOUSE_REL, FakeNode, make_input_tree, usb_device
from serial.tools.list_ports_common import ListPortInfo

from drivers import discovery
from drivers.discovery import (
    InputDeviceInfo,
    config_for,
    group_nodes,
    read_nodes,
    scan_input_devices,
    scan_serial_ports,
)
from pos_app.config import HidDeviceConfig, ScannersConfig, SerialScannerConfig

HONEYWELL = "Honeywell Imaging & Mobility 1900"
HONEYWELL_ID = "usb-Honeywell_Imaging___Mobility_1900_12345"


def honeywell(events=(5, 6), **kw) -> list[FakeNode]:
    return usb_device(HONEYWELL, list(events), vendor=0x0C2E, product=0x0B61, serial="12345", port="2", **kw)


def plain_keyboard(events=(3, 4), port="1") -> list[FakeNode]:
    """A keyboard with a Consumer Control node on interface 1."""
    return usb_device("Dell KB216 Wired Keyboard", list(events), vendor=0x413C, product=0x2113, port=port,
                      id_serial="Dell_KB216_Wired_Keyboard", keys=[KEYBOARD, CONSUMER])


def mouse(event=7) -> list[FakeNode]:
    return usb_device("Logitech USB Optical Mouse", [event], vendor=0x046D, product=0xC077, port="3",
                      keys=[MOUSE_BUTTONS], rel=MOUSE_REL)


def by_id(devices: list[InputDeviceInfo]) -> dict[str, InputDeviceInfo]:
    return {d.id: d for d in devices}


# -- sysfs parsing ---------------------------------------------------------------------------------


def test_read_nodes_reads_sysfs_and_links(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [honeywell()])
    nodes = read_nodes(input_dir, sys_dir)
    assert [n.path for n in nodes] == [str(input_dir / "event5"), str(input_dir / "event6")]
    first = nodes[0]
    assert (first.name, first.phys, first.uniq) == (HONEYWELL, "usb-0000:00:14.0-2/input0", "")
    assert (first.bustype, first.vendor, first.product) == (e.BUS_USB, 0x0C2E, 0x0B61)
    assert first.keys == KEYBOARD and not first.has_rel and not first.has_abs
    assert first.by_id == (str(input_dir / "by-id" / f"{HONEYWELL_ID}-event-kbd"),)
    assert first.by_path == (str(input_dir / "by-path" / "pci-0000:00:14.0-usb-0:2:1.0-event-kbd"),)
    assert nodes[1].by_id == (str(input_dir / "by-id" / f"{HONEYWELL_ID}-if01-event-kbd"),)
    assert first.readable
    assert first.to_json()["vendor"] == "0c2e"


def test_missing_roots_and_vanished_nodes_are_skipped(tmp_path):
    assert read_nodes(tmp_path / "none", tmp_path / "nosys") == []
    input_dir, sys_dir = make_input_tree(tmp_path, [honeywell(events=[5])])
    (sys_dir / "event9").symlink_to("../../devices/gone/input/input12/event9")   # unplugged mid-listing
    (input_dir / "event9").write_bytes(b"")
    (sys_dir / "event8").symlink_to("../../devices/virtual/input/input11/event8")  # sysfs only, no node
    ((tmp_path / "sys/devices/virtual/input/input11/event8").mkdir(parents=True))
    (tmp_path / "sys/devices/virtual/input/input11/event8/device").symlink_to("../../input11")
    assert [n.path for n in read_nodes(input_dir, sys_dir)] == [str(input_dir / "event5")]


def test_unreadable_attributes_read_as_empty(tmp_path):
    node = FakeNode(event=2, name="Odd", phys="isa0060/serio0/input0", bustype=0x11)
    input_dir, sys_dir = make_input_tree(tmp_path, [node])
    attrs = sys_dir / "event2" / "device"
    for attr in (attrs / "name", attrs / "id" / "vendor"):
        attr.unlink()
        attr.mkdir()                      # reading it fails even as root
    (attrs / "capabilities" / "key").write_text("not hex\n")
    (n,) = read_nodes(input_dir, sys_dir)
    assert (n.name, n.vendor, n.keys, n.bustype) == ("", 0, frozenset(), 0x11)


# -- grouping and identity -------------------------------------------------------------------------

def test_honeywell_two_nodes_are_one_scanner(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [honeywell(), plain_keyboard(), mouse()])
    devices = by_id(scan_input_devices(ScannersConfig(), input_dir, sys_dir))
    scanner = devices[HONEYWELL_ID]
    assert scanner.paths == (str(input_dir / "event5"), str(input_dir / "event6"))
    assert (scanner.role, scanner.grab, scanner.config) == ("scanner", True, None)
    assert scanner.reason == "name says 'honeywell'"
    assert (scanner.name, scanner.vendor, scanner.product) == (HONEYWELL, 0x0C2E, 0x0B61)
    assert scanner.to_json()["grab"] is True and len(scanner.to_json()["nodes"]) == 2


def test_plain_keyboard_is_never_grabbed(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [plain_keyboard()])
    (kbd,) = scan_input_devices(ScannersConfig(), input_dir, sys_dir)
    assert kbd.id == "usb-Dell_KB216_Wired_Keyboard"
    assert len(kbd.nodes) == 2                      # keyboard + Consumer Control
    assert (kbd.role, kbd.grab) == ("keyboard", False)
    assert "letter keys" in kbd.reason and 'role = "scanner"' in kbd.reason


def test_node_without_by_id_joins_its_device_by_phys(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [honeywell(link_all=False)])
    groups = group_nodes(read_nodes(input_dir, sys_dir))
    assert [len(g) for g in groups] == [2]
    (device,) = scan_input_devices(ScannersConfig(), input_dir, sys_dir)
    assert device.id == HONEYWELL_ID


def test_ids_are_stable_across_replug_and_fall_back_to_phys_then_node(tmp_path):
    first = make_input_tree(tmp_path / "a", [honeywell(events=[5, 6]), plain_keyboard(events=[3, 4])])
    again = make_input_tree(tmp_path / "b", [plain_keyboard(events=[14, 15]), honeywell(events=[12, 13])])
    ids = [d.id for d in scan_input_devices(ScannersConfig(), *first)]
    assert ids == ["usb-Dell_KB216_Wired_Keyboard", HONEYWELL_ID]          # in event-number order
    assert sorted(d.id for d in scan_input_devices(ScannersConfig(), *again)) == sorted(ids)

    no_links = [FakeNode(event=10, name="USB Keyboard", phys="usb-0000:00:14.0-4/input0"),
                FakeNode(event=11, name="USB Keyboard Consumer Control", phys="usb-0000:00:14.0-4/input1",
                         keys=CONSUMER),
                FakeNode(event=0, name="Power Button", phys="LNXPWRBN/button/input0", bustype=0x19,
                         keys=frozenset({e.KEY_POWER})),
                FakeNode(event=1, name="uinput", phys="")]
    devices = scan_input_devices(ScannersConfig(), *make_input_tree(tmp_path / "c", no_links))
    assert [(d.id, len(d.nodes)) for d in devices] == [
        ("phys:LNXPWRBN/button", 1), ("node:event1", 1), ("phys:usb-0000:00:14.0-4", 2)]


def test_bluetooth_devices_on_one_adapter_stay_apart(tmp_path):
    adapter = "00:1a:7d:da:71:13"                   # phys of every device on the adapter
    nodes = [FakeNode(event=20, name="BT Keyboard", bustype=e.BUS_BLUETOOTH, phys=adapter, uniq="aa:bb:cc:00:00:01"),
             FakeNode(event=21, name="BT Keyboard", bustype=e.BUS_BLUETOOTH, phys=adapter, uniq="aa:bb:cc:00:00:01",
                      keys=CONSUMER),
             FakeNode(event=22, name="BT Scanner", bustype=e.BUS_BLUETOOTH, phys=adapter, uniq="aa:bb:cc:00:00:02")]
    devices = scan_input_devices(ScannersConfig(), *make_input_tree(tmp_path, nodes))
    assert [(d.id, len(d.nodes), d.role) for d in devices] == [
        ("uniq:aa:bb:cc:00:00:01", 2, "keyboard"), ("uniq:aa:bb:cc:00:00:02", 1, "scanner")]


# -- classification --------------------------------------------------------------------------------

def test_scanner_calling_itself_a_keyboard_is_configured_by_its_by_id_path(tmp_path):
    wedge = usb_device("USB Keyboard", [8, 9], vendor=0x1A86, product=0xE026, serial="ABC", port="4")
    input_dir, sys_dir = make_input_tree(tmp_path, [wedge, plain_keyboard()])
    (guess,) = [d for d in scan_input_devices(ScannersConfig(), input_dir, sys_dir) if d.id.startswith("usb-USB")]
    assert guess.role == "keyboard"                 # unknown vendor, keyboard name: left alone
    link = str(input_dir / "by-id" / "usb-USB_Keyboard_ABC-event-kbd")
    cfg = HidDeviceConfig(path=link, role="scanner", layout="de")
    devices = scan_input_devices(ScannersConfig(hid=(cfg,)), input_dir, sys_dir)
    (wedge_dev,) = [d for d in devices if d.config is not None]
    assert wedge_dev.id == "usb-USB_Keyboard_ABC" and wedge_dev.paths == (
        str(input_dir / "event8"), str(input_dir / "event9"))
    assert (wedge_dev.role, wedge_dev.grab, wedge_dev.config) == ("scanner", True, cfg)
    assert wedge_dev.reason == "configured in [[scanners.hid]] as scanner"
    assert all(d.role == "keyboard" for d in devices if d is not wedge_dev)
    assert config_for(str(input_dir / "event9"), devices) is cfg      # any node of the device
    assert config_for(str(input_dir / "event3"), devices) is None
    assert wedge_dev.to_json()["config"]["layout"] == "de"


def test_config_by_event_node_or_by_path(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [plain_keyboard()])
    for path in (str(input_dir / "event4"), str(input_dir / "by-path" / "pci-0000:00:14.0-usb-0:1:1.0-event-kbd")):
        settings = ScannersConfig(hid=(HidDeviceConfig(path=path, role="ignore"),))
        (device,) = scan_input_devices(settings, input_dir, sys_dir)
        assert (device.role, device.grab) == ("ignore", False)


def test_configured_keyboard_with_scanner_name_stays_keyboard(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [honeywell()])
    cfg = HidDeviceConfig(path=str(input_dir / "by-id" / f"{HONEYWELL_ID}-if01-event-kbd"), role="keyboard")
    (device,) = scan_input_devices(ScannersConfig(hid=(cfg,)), input_dir, sys_dir)
    assert (device.role, device.grab, device.config) == ("keyboard", False, cfg)
    assert device.reason == "configured in [[scanners.hid]] as keyboard"


def test_foot_pedal_and_mouse_are_other(tmp_path):
    pedal = usb_device("PCsensor FootSwitch Keyboard", [2], vendor=0x0C45, product=0x7403, port="5")
    input_dir, sys_dir = make_input_tree(tmp_path, [pedal, mouse()])
    roles = {d.name: (d.role, d.reason, d.grab) for d in scan_input_devices(ScannersConfig(), input_dir, sys_dir)}
    assert roles["PCsensor FootSwitch Keyboard"] == ("other", "name says pedal/foot switch: not a scanner", False)
    assert roles["Logitech USB Optical Mouse"] == ("other", "no typing keys (mouse, button, touch)", False)


def test_vendor_table_and_scanner_names(tmp_path):
    zebra = usb_device("Bar Code Scanner", [2], vendor=0x05E0, product=0x1200, port="1")
    datalogic = usb_device("  HID KBW", [4], vendor=0x05F9, product=0x2206, port="2")
    newland = usb_device("USB Keyboard", [6], vendor=0x1EAB, product=0x0D22, port="3")
    camel = usb_device("USBBarcodeReader", [8], vendor=0x1234, product=0x0001, port="4")
    scandi = usb_device("Scandinavian Keyboard", [10], vendor=0x1234, product=0x0002, port="5")
    devices = scan_input_devices(ScannersConfig(), *make_input_tree(tmp_path, [zebra, datalogic, newland, camel,
                                                                                scandi]))
    assert [(d.role, d.reason) for d in devices] == [
        ("scanner", "name says 'barcode'"),
        ("scanner", "vendor 05f9 (Datalogic) makes scanners"),
        ("scanner", "vendor 1eab (Newland) makes scanners"),
        ("scanner", "name says 'barcode'"),
        ("keyboard", discovery.KEYBOARD_REASON)]


def test_autodetect_off_leaves_unconfigured_scanners_as_keyboards(tmp_path):
    wedge = usb_device("USB Keyboard", [8], vendor=0x1A86, product=0xE026, port="4")
    input_dir, sys_dir = make_input_tree(tmp_path, [honeywell(), wedge, mouse()])
    cfg = HidDeviceConfig(path=str(input_dir / "event8"))
    devices = scan_input_devices(ScannersConfig(autodetect=False, hid=(cfg,)), input_dir, sys_dir)
    roles = {d.name: (d.role, d.grab) for d in devices}
    assert roles == {HONEYWELL: ("keyboard", False), "USB Keyboard": ("scanner", True),
                     "Logitech USB Optical Mouse": ("other", False)}
    assert "autodetect is off" in devices[0].reason


def test_node_without_read_permission(tmp_path):
    nodes = honeywell()
    nodes[1].mode = 0o000
    input_dir, sys_dir = make_input_tree(tmp_path, [nodes])
    (device,) = scan_input_devices(ScannersConfig(), input_dir, sys_dir)
    assert device.role == "scanner" and device.name == HONEYWELL   # sysfs still tells us everything
    assert device.nodes[0].readable
    if os.geteuid() != 0:                            # root may read anything
        assert not device.nodes[1].readable and not device.readable
        assert device.to_json()["nodes"][1]["readable"] is False


# -- serial ports ----------------------------------------------------------------------------------

def fake_port(device: str, vid=None, pid=None, manufacturer=None, product=None) -> ListPortInfo:
    port = ListPortInfo(device, skip_link_detection=True)
    port.vid, port.pid, port.manufacturer, port.product = vid, pid, manufacturer, product
    port.description = product or "n/a"
    return port


def test_serial_ports_by_id_vendor_and_names(tmp_path, monkeypatch):
    tty = tmp_path / "ttyACM0"
    tty.write_bytes(b"")
    by_id_dir = tmp_path / "by-id"
    by_id_dir.mkdir()
    (by_id_dir / "usb-Honeywell_Imaging___Mobility_1900_12345-if00").symlink_to(tty)
    ports = [fake_port(str(tty), vid=0x0C2E, pid=0x0B6A, manufacturer="Honeywell", product="1900"),
             fake_port("/dev/ttyS0"),
             fake_port("/dev/ttyUSB0", vid=0x0403, pid=0x6001, product="Barcode Scanner Cable")]
    monkeypatch.setattr(discovery.list_ports, "comports", lambda: ports)
    found = {p.device: p for p in scan_serial_ports(ScannersConfig(), by_id_dir)}
    acm = found[str(tty)]
    assert acm.by_id == (str(by_id_dir / "usb-Honeywell_Imaging___Mobility_1900_12345-if00"),)
    assert (acm.likely_scanner, acm.reason, acm.configured) == (True, "vendor 0c2e (Honeywell) makes scanners", False)
    assert (found["/dev/ttyS0"].likely_scanner, found["/dev/ttyS0"].description) == (False, "")
    assert found["/dev/ttyUSB0"].reason == "name says 'barcode'"
    assert acm.to_json()["vid"] == "0c2e"

    honeywell_link = by_id_dir / "usb-Honeywell_Imaging___Mobility_1900_12345-if00"
    settings = ScannersConfig(serial=(SerialScannerConfig(port=str(honeywell_link)),))
    (acm,) = [p for p in scan_serial_ports(settings, by_id_dir) if p.device == str(tty)]
    assert acm.configured and acm.reason == "configured in [[scanners.serial]]"
    assert len(scan_serial_ports(settings, by_id_dir)) == 3       # the link is not listed twice


def test_serial_adds_a_configured_pty(tmp_path):
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        settings = ScannersConfig(serial=(SerialScannerConfig(port=name),
                                          SerialScannerConfig(port=str(tmp_path / "ttyGone"))))
        ports = scan_serial_ports(settings, tmp_path / "no-by-id")
        (pty,) = [p for p in ports if p.device == name]
        assert pty.configured and pty.likely_scanner and pty.by_id == ()
        assert not any(p.device.endswith("ttyGone") for p in ports)   # configured but absent: not invented
    finally:
        os.close(master)
        os.close(slave)


def test_nodes_in_numeric_event_order(tmp_path):
    nodes = [FakeNode(event=10, name="A", phys="a/input0"), FakeNode(event=9, name="B", phys="b/input0"),
             FakeNode(event=5, name="C", phys="c/input0")]
    input_dir, sys_dir = make_input_tree(tmp_path, nodes)
    assert [Path(n.path).name for n in read_nodes(input_dir, sys_dir)] == ["event5", "event9", "event10"]
