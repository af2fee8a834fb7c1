"""USB HID scanners end to end: discovery, hub, hotplug (real inotify), reader threads and the decoder.

The device trees are real files (see inputtree); each event node is a real FIFO carrying the
kernel's binary ``struct input_event``, read through the :class:`scantraces.FifoNode` stand-in because
this machine has no evdev devices. Everything else (the hub, the watcher, HidScanner, the decoder) is the
production code.
"""

from __future__ import annotations

import errno
import os
import queue
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from inputtree import KEYBOARD, make_input_tree, usb_device
from scantraces import FifoNode, pack, person, scanner

from drivers import model
from drivers.discovery import scan_input_devices
from drivers.hid import HidScanner
from drivers.hub import ScannerHub
from pos_app.config import HidDeviceConfig, ScannersConfig

CODE = "283412345678901234"
HONEYWELL = "Honeywell Imaging & Mobility 1900"


class Rig:
    """A fake machine: device trees under tmp_path with FIFO nodes, and the writers that feed them."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        self.writers: dict[int, int] = {}
        self.input_dir, self.sys_dir = make_input_tree(tmp_path, [])

    def plug(self, name: str, events: list[int], **kw) -> list:
        nodes = usb_device(name, events, **kw)
        # Each node is a FIFO with its writer before the tree is built (the builder's empty write into it is a
        # no-op), as a kernel node is whole when it appears: a hub that looks mid-plug never opens a regular
        # file or a writer-less FIFO, both of which read as end of file, i.e. as an unplug.
        for node in nodes:
            path = self.input_dir / f"event{node.event}"
            os.mkfifo(path)
            self.writers[node.event] = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        make_input_tree(self.root, nodes)
        return nodes

    def unplug(self, nodes) -> None:
        """What the kernel and udev do: the node, its links and its sysfs entry go; readers see it gone."""
        for node in nodes:
            os.close(self.writers.pop(node.event))
            (self.input_dir / f"event{node.event}").unlink()
            for folder, links in (("by-id", node.by_id), ("by-path", node.by_path)):
                for link in links:
                    (self.input_dir / folder / link).unlink()
            entry = self.sys_dir / f"event{node.event}"
            target = entry.resolve()
            entry.unlink()
            (self.sys_dir / f"input{node.event + 3}").unlink()
            shutil.rmtree(target.parent)

    def send(self, event_number: int, events) -> None:
        os.write(self.writers[event_number], pack(events))

    def close(self) -> None:
        for fd in self.writers.values():
            os.close(fd)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    r.close()


def hub_for(rig: Rig, settings: ScannersConfig | None = None, *, opener=FifoNode, **kw) -> ScannerHub:
    return ScannerHub(settings or ScannersConfig(), input_dir=rig.input_dir, sys_dir=rig.sys_dir,
                      opener=opener, serial=False, **kw)


class Gate:
    """STAND-IN for a reader thread that has not got to its nodes yet: while shut, every read of a node
    waits, so everything the test does meanwhile (keys, then the unplug) is waiting when the reader looks.
    It replaces a sleep racing the decoder's gap timer: the order the reader finds things in is fixed."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()

    @contextmanager
    def shut(self):
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def opener(self, path: str) -> FifoNode:
        node = FifoNode(path)
        read = node.read

        def gated():
            self._open.wait()
            return read()

        node.read = gated
        return node


def next_event(source, want=None, timeout: float = 3.0):
    """The next event of kind ``want`` ("scan" or a StatusEvent kind), skipping others."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = source.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if want is None or (want == "scan" and isinstance(event, model.ScanEvent)) or \
                (isinstance(event, model.StatusEvent) and event.kind == want):
            return event
    raise AssertionError(f"no {want or 'event'} within {timeout} s")


def denied_while_private(path):
    """STAND-IN opener for a non-root user (tests run as root, who may open anything): a node whose mode
    gives the group and others nothing is refused, as the kernel would refuse them."""
    if os.stat(path).st_mode & 0o077 == 0:
        raise PermissionError(errno.EACCES, "Permission denied", path)
    return FifoNode(path)


def now_scan(text: str, **kw):
    """Events stamped as EvdevNode stamps them: on the monotonic clock, from now."""
    return scanner(text, t0=time.monotonic(), **kw)[0]


def test_hub_reads_a_scanner_and_never_touches_the_keyboard(rig):
    rig.plug("Dell USB Keyboard", [3], vendor=0x413C, product=0x2113, port="1")
    rig.plug(HONEYWELL, [5, 6], vendor=0x0C2E, product=0x0B61, serial="12345")
    with hub_for(rig) as hub:
        (scanner_,) = hub.scanners
        assert scanner_.node_paths == [str(rig.input_dir / "event5"), str(rig.input_dir / "event6")]
        assert scanner_.grabbing
        rig.send(5, now_scan(CODE))
        scan = next_event(hub.events, "scan")
        assert (scan.data, scan.source, scan.ended_by) == (CODE, "usb-Honeywell_Imaging___Mobility_1900_12345",
                                                           "enter")
        assert abs(scan.timestamp - time.time()) < 2  # wall-clock time for the model's event
        assert CODE not in repr(scan)  # payment codes stay out of reprs
        rig.send(6, now_scan("4006381333931"))  # keys on the second interface count too
        assert next_event(hub.events, "scan").symbology == "EAN-13"
        assert scanner_.stats.good_scans == 2


def test_grabbed_only_while_claimed(rig):
    rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    device = scan_input_devices(ScannersConfig(), rig.input_dir, rig.sys_dir)[0]
    nodes = []

    def opener(path):
        nodes.append(FifoNode(path))
        return nodes[-1]

    s = HidScanner(device, ScannersConfig(), opener=opener)
    with pytest.raises(model.ScannerError, match="cannot enable while open"):
        s.open()
        s.enable()
    s.claim()
    assert nodes[0].grabbed
    s.enable()
    s.disable()
    s.release()
    assert not nodes[0].grabbed
    s.close()
    assert s.state is model.State.CLOSED


def test_unplug_mid_scan_drops_the_partial_scan_and_a_replug_resumes(rig):
    gate = Gate()
    nodes = rig.plug(HONEYWELL, [5, 6], vendor=0x0C2E, product=0x0B61, serial="12345")
    with hub_for(rig, opener=gate.opener) as hub:
        next_event(hub.events, model.CONNECTED)
        events = now_scan(CODE)
        with gate.shut():  # the keys stop because the cable came out: the reader finds the end behind them
            rig.send(5, events[: len(events) // 2])
            rig.unplug(nodes)
        dropped = next_event(hub.events, model.DROPPED)
        assert "unplugged" in dropped.message and CODE[:8] not in dropped.message
        assert "plug it back in" in next_event(hub.events, model.DISCONNECTED).message
        # back in another port: new event numbers, the same by-id name (ID_SERIAL)
        rig.plug(HONEYWELL, [9, 10], vendor=0x0C2E, product=0x0B61, serial="12345", port="4")
        assert "plugged back in" in next_event(hub.events, model.CONNECTED).message
        rig.send(9, now_scan(CODE))
        scan = next_event(hub.events, "scan")
        assert scan.data == CODE and scan.source == "usb-Honeywell_Imaging___Mobility_1900_12345"
        (s,) = hub.scanners
        assert s.stats.reconnects == 1 and s.stats.dropped == 1


def test_a_reader_that_fell_behind_drops_a_cut_scan_instead_of_ending_it_by_the_gap(rig):
    """The keys reach the reader a second after they were typed (a busy till) with the unplug behind them:
    the clock says the gap has passed, but the node's end is waiting, so half a code is dropped, never
    delivered as a scan."""
    gate = Gate()
    nodes = rig.plug(HONEYWELL, [5, 6], vendor=0x0C2E, product=0x0B61, serial="12345")
    with hub_for(rig, opener=gate.opener) as hub:
        next_event(hub.events, model.CONNECTED)
        events = scanner(CODE, t0=time.monotonic() - 1.0)[0]
        with gate.shut():
            rig.send(5, events[: len(events) // 2])
            rig.unplug(nodes)
        seen = []
        while not seen or getattr(seen[-1], "kind", None) != model.DISCONNECTED:
            seen.append(next_event(hub.events))
        assert [getattr(e, "kind", "scan") for e in seen] == [model.DROPPED, model.DISCONNECTED]
        (s,) = hub.scanners
        assert s.stats.dropped == 1 and s.stats.good_scans == 0


def test_a_scanner_plugged_in_after_start_is_picked_up(rig):
    with hub_for(rig) as hub:
        assert hub.scanners == []
        rig.plug("Newland NLS-HR32 Barcode Scanner", [4], vendor=0x1EAB, product=0x1D06)
        next_event(hub.events, model.CONNECTED)
        rig.send(4, now_scan(CODE))
        assert next_event(hub.events, "scan").data == CODE


def test_a_missing_input_folder_is_watched_until_it_appears(tmp_path):
    rig = Rig(tmp_path)
    shutil.rmtree(rig.input_dir)
    try:
        with hub_for(rig) as hub:
            rig.input_dir.mkdir()
            (rig.input_dir / "by-id").mkdir()
            (rig.input_dir / "by-path").mkdir()
            rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
            next_event(hub.events, model.CONNECTED)
            rig.send(5, now_scan(CODE))
            assert next_event(hub.events, "scan").data == CODE
    finally:
        rig.close()


def test_two_scanners_interleaved_keep_their_scans_apart(rig):
    rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61, serial="A1", port="2")
    rig.plug(HONEYWELL, [7], vendor=0x0C2E, product=0x0B61, serial="B2", port="3")
    with hub_for(rig) as hub:
        first = now_scan(CODE, report=0.002)
        second = now_scan("288812345678904321", report=0.002)
        for i in range(0, max(len(first), len(second)), 6):  # alternate, report by report
            rig.send(5, first[i:i + 6])
            rig.send(7, second[i:i + 6])
            time.sleep(0.001)
        got = {}
        for _ in range(2):
            scan = next_event(hub.events, "scan")
            got[scan.source] = scan.data
        assert got == {"usb-Honeywell_Imaging___Mobility_1900_A1": CODE,
                       "usb-Honeywell_Imaging___Mobility_1900_B2": "288812345678904321"}


def test_a_grab_held_by_another_program_is_reported_plainly(rig, monkeypatch):
    rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    monkeypatch.setattr(FifoNode, "grab_error", OSError(errno.EBUSY, "Device or resource busy"))
    with hub_for(rig) as hub:
        error = next_event(hub.events, model.ERROR)
        assert "another program has grabbed it" in error.message and "event5" in error.message
        assert hub.status()[0]["connected"] is False


def test_configured_path_overrides_a_scanner_that_calls_itself_a_keyboard(rig):
    nodes = rig.plug("USB Keyboard", [5], vendor=0x1A2C, product=0x0E24, serial="X")
    settings = ScannersConfig(hid=(HidDeviceConfig(path=str(rig.input_dir / "by-id" / nodes[0].by_id[0]),
                                                   role="scanner", layout="fr"),))
    with hub_for(rig, settings) as hub:
        (s,) = hub.scanners
        assert s.grabbing and s.decoder.layout.name == "fr"
        rig.send(5, now_scan("0013748911", layout="fr"))
        assert next_event(hub.events, "scan").data == "0013748911"


def test_shared_device_tells_typing_from_scans(rig):
    nodes = rig.plug("Cherry POS Keyboard", [5], vendor=0x046A, product=0x0011)
    settings = ScannersConfig(hid=(HidDeviceConfig(path=str(rig.input_dir / "by-id" / nodes[0].by_id[0]),
                                                   role="shared"),))
    with hub_for(rig, settings) as hub:
        (s,) = hub.scanners
        assert not s.grabbing
        typed, t = person("4006381333931", t0=time.monotonic())
        rig.send(5, typed + scanner(CODE, t0=t + 0.5)[0])
        scan = next_event(hub.events, "scan", timeout=5)
        assert scan.data == CODE and s.stats.errors == 0  # typing is not an error


def test_scanner_without_suffix_ends_on_the_gap_live(rig):
    rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    with hub_for(rig, ScannersConfig(gap_ms=40)) as hub:
        rig.send(5, now_scan(CODE, suffix=None))
        scan = next_event(hub.events, "scan")
        assert scan.ended_by == "gap"
        (s,) = hub.scanners
        assert "program the scanner to send Enter" in s.check_health("internal")


def test_health_levels(rig):
    rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    with hub_for(rig) as hub:
        (s,) = hub.scanners
        assert "connected, enabled" in s.check_health(model.HEALTH_INTERNAL)
        assert "layout us" in s.check_health("external")
        assert "scan a test barcode" in s.check_health("interactive")
        with pytest.raises(model.ScannerError, match="no health check level 7"):
            s.check_health(7)


def test_a_keyboard_is_never_grabbed_even_when_listed(rig):
    rig.plug("Logitech USB Keyboard", [2], vendor=0x046D, product=0xC31C, keys=[KEYBOARD])
    with hub_for(rig) as hub:
        assert hub.scanners == []
        assert [d.role for d in hub.devices()] == ["keyboard"]


def test_permission_denied_is_explained_and_retried_when_udev_fixes_the_mode(rig):
    """As root every open succeeds, so the refusal a non-root user gets is stood in by the opener; the
    retry is driven by the real inotify event (IN_ATTRIB) that a mode change makes."""
    nodes = rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    path = rig.input_dir / "event5"
    path.chmod(0o600)


    with ScannerHub(ScannersConfig(), input_dir=rig.input_dir, sys_dir=rig.sys_dir, opener=denied_while_private,
                    serial=False) as hub:
        error = next_event(hub.events, model.ERROR)
        assert f"input device {path}: permission denied" in error.message
        assert "'input' group" in error.message and "udev rule" in error.message
        path.chmod(0o660)  # udev's rule applies
        next_event(hub.events, model.CONNECTED)
        rig.send(nodes[0].event, now_scan(CODE))
        assert next_event(hub.events, "scan").data == CODE


def test_a_second_node_that_becomes_readable_later_is_read_too(rig):
    nodes = rig.plug(HONEYWELL, [5, 6], vendor=0x0C2E, product=0x0B61)
    second = rig.input_dir / "event6"
    second.chmod(0o600)


    with ScannerHub(ScannersConfig(), input_dir=rig.input_dir, sys_dir=rig.sys_dir, opener=denied_while_private,
                    serial=False) as hub:
        next_event(hub.events, model.CONNECTED)
        (s,) = hub.scanners
        assert s.node_paths == [str(rig.input_dir / "event5")]
        second.chmod(0o660)
        deadline = time.monotonic() + 3
        while len(s.node_paths) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        rig.send(nodes[1].event, now_scan(CODE))
        assert next_event(hub.events, "scan").data == CODE


def test_unplug_and_replug_while_disabled_resumes_on_enable(rig):
    nodes = rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61, serial="1")
    with hub_for(rig) as hub:
        (s,) = hub.scanners
        next_event(hub.events, model.CONNECTED)
        s.disable()
        rig.unplug(nodes)
        next_event(hub.events, model.DISCONNECTED)  # seen although disabled: the reader runs while claimed
        rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61, serial="1")  # the kernel reuses event5
        deadline = time.monotonic() + 3
        while not s.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        rig.send(5, now_scan("4006381333931"))  # disabled: not delivered
        time.sleep(0.2)
        s.enable()
        rig.send(5, now_scan(CODE))
        assert next_event(hub.events, "scan").data == CODE


class BrokenOnce(FifoNode):
    """STAND-IN that fails once with an unexpected error, as a driver bug would."""

    failed = False

    def read(self):
        if not BrokenOnce.failed:
            BrokenOnce.failed = True
            raise ValueError("unexpected")
        return super().read()


def test_the_reader_survives_an_unexpected_error(rig):
    rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    BrokenOnce.failed = False
    with ScannerHub(ScannersConfig(), input_dir=rig.input_dir, sys_dir=rig.sys_dir, opener=BrokenOnce,
                    serial=False) as hub:
        rig.send(5, now_scan("4006381333931"))
        assert "reading failed (ValueError)" in next_event(hub.events, model.ERROR).message
        assert next_event(hub.events, "scan").data == "4006381333931"  # the failed read lost nothing
        rig.send(5, now_scan(CODE))
        assert next_event(hub.events, "scan").data == CODE


def test_a_replug_refused_for_a_moment_is_not_reported(rig, monkeypatch):
    """udev makes the node root-only, then fixes its mode: no false permission error on every replug."""
    monkeypatch.setattr(HidScanner, "PERMISSION_GRACE", 0.3)
    nodes = rig.plug(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61, serial="1")


    with ScannerHub(ScannersConfig(), input_dir=rig.input_dir, sys_dir=rig.sys_dir, opener=denied_while_private,
                    serial=False) as hub:
        next_event(hub.events, model.CONNECTED)
        rig.unplug(nodes)
        next_event(hub.events, model.DISCONNECTED)
        nodes = rig.plug(HONEYWELL, [7], vendor=0x0C2E, product=0x0B61, serial="1")
        (rig.input_dir / "event7").chmod(0o600)
        time.sleep(0.15)
        (rig.input_dir / "event7").chmod(0o660)
        event = next_event(hub.events)
        assert event.kind == model.CONNECTED, event
        (s,) = hub.scanners
        assert s.stats.errors == 0


@pytest.mark.skipif(not os.access("/dev/uinput", os.W_OK), reason="needs /dev/uinput to make a real input node")
def test_the_grab_probe_tells_a_held_scanner_from_a_free_one():
    import evdev

    from pos_app.device_commands import grab_state

    with evdev.UInput({evdev.ecodes.EV_KEY: [evdev.ecodes.KEY_A, evdev.ecodes.KEY_ENTER]}, name="probe scanner") as ui:
        assert grab_state(ui.device.path, "scanner").startswith("no")
        holder = evdev.InputDevice(ui.device.path)
        holder.grab()
        try:
            assert grab_state(ui.device.path, "scanner").startswith("yes")
        finally:
            holder.ungrab()
            holder.close()
        assert grab_state(ui.device.path, "scanner").startswith("no")
