"""drivers/printer.py against real peers: the network printer stand-in on 127.0.0.1 (tests/printerkit.py, a
TCP server answering DLE EOT as a printer in each state), a serial printer on a real pty, and a fake
``/sys/bus/usb/devices`` tree laid out as the kernel lays it out."""

from __future__ import annotations

import os
import threading
import time
import tty
from pathlib import Path

import pytest
from escpos.printer import Dummy
from kit import reserve_port
from printerkit import PrinterStandIn, decode

from drivers.printer import PrinterError, find_printers, open_printer, query
from pos_app.config import PrinterConfig

TIMEOUT = 0.5
QUERIES = query(1) + query(2) + query(4)


@pytest.fixture
def stand_in():
    with PrinterStandIn() as printer:
        yield printer


def network(port: int, timeout: float = TIMEOUT) -> PrinterConfig:
    return PrinterConfig(kind="network", host="127.0.0.1", port=port, timeout=timeout)


def receipt() -> bytes:
    p = Dummy()
    p.hw("INIT")
    p.set(align="center", bold=True)
    p.textln("Corner Shop")
    p.set_with_default()
    p.textln("Total          12.34 USD")
    p.qr("PAYREQ-0001", native=True, size=4)
    p.cut()
    return p.output


STATES = [  # state, what status() says: state, ready, online, paper, cover_open, error, words
    ("ok", "ready", True, True, "ok", False, False, "Printer: ready"),
    ("paper_low", "paper_low", True, True, "low", False, False, "Printer: paper low — have a new roll ready"),
    ("paper_out", "paper_out", False, False, "out", False, False, "Printer: paper out — load a new roll"),
    ("cover_open", "cover_open", False, False, "ok", True, False, "Printer: cover open — close the cover"),
    ("error", "error", False, False, "ok", False, True, "Printer: error — switch it off and on again"),
    ("silent", "offline", False, False, "ok", False, False, "Printer: offline — check its power and cable"),
    ("refuse", "offline", False, False, "ok", False, False, "Printer: offline — check its power and cable"),
]


@pytest.mark.parametrize(("given", "state", "ready", "online", "paper", "cover", "error", "words"), STATES)
def test_status_in_every_state(stand_in, given, state, ready, online, paper, cover, error, words):
    stand_in.state = given
    with open_printer(network(stand_in.port)) as printer:
        status = printer.status()
    assert (status.state, status.ready, status.online, status.paper, status.cover_open, status.error) == (
        state, ready, online, paper, cover, error)
    assert status.words == words
    assert status.to_json()["words"] == words and status.to_json()["state"] == state


def test_a_silent_printer_is_offline_after_the_timeout_and_says_which_query(stand_in):
    stand_in.state = "silent"
    started = time.monotonic()
    with open_printer(network(stand_in.port)) as printer:
        status = printer.status()
    assert time.monotonic() - started >= TIMEOUT
    assert "no answer to DLE EOT 1 within 0.5 s" in status.detail
    assert stand_in.queries == [1]


def test_a_refused_port_is_offline(stand_in):
    with open_printer(network(reserve_port())) as printer:
        status = printer.status()
        assert status.state == "offline" and "connection refused" in status.detail
        with pytest.raises(PrinterError) as caught:
            printer.send(b"x\n")
    assert str(caught.value).startswith("Printer: offline — check its power and cable")
    assert caught.value.status.state == "offline"


def test_an_unknown_host_is_offline():
    with open_printer(PrinterConfig(kind="network", host="printer.invalid", timeout=TIMEOUT)) as printer:
        status = printer.status()
    assert status.state == "offline" and "unknown host name" in status.detail


@pytest.mark.parametrize("given", ["paper_out", "cover_open", "error", "silent", "refuse"])
def test_send_is_refused_and_nothing_is_sent(stand_in, given):
    stand_in.state = given
    with open_printer(network(stand_in.port)) as printer, pytest.raises(PrinterError) as caught:
        printer.send(receipt())
    assert caught.value.status is not None and not caught.value.status.ready
    assert caught.value.message == caught.value.status.words
    assert "nothing was sent to the printer" in caught.value.hint
    stand_in.wait_for(lambda s: all(c.closed_at for c in s.connections), 2)
    assert stand_in.jobs == []
    assert all(c.data in (b"", query(1), QUERIES) for c in stand_in.connections)


def test_the_bytes_arrive_intact_after_the_status_queries(stand_in):
    data = receipt()
    with open_printer(network(stand_in.port)) as printer:
        status = printer.send(data)
    assert status.state == "ready"
    [job] = stand_in.jobs        # send() returned: the printer has read it all and the job is closed
    assert job == QUERIES + data
    out = decode(job)
    assert out.texts == ["Corner Shop", "Total          12.34 USD"] and out.qr == ["PAYREQ-0001"]
    assert out.cuts == ["full"] and out.unknown == [] and out.queries == [1, 2, 4]


def test_every_byte_value_arrives_in_a_large_job(stand_in):
    """256 KB holding every byte value, DLE EOT sequences too (the stand-in answers those as a printer does,
    and the driver reads the answers away)."""
    data = bytes(range(256)) * 1024
    with open_printer(network(stand_in.port)) as printer:
        printer.send(data)
        printer.send(b"second\n")
    assert stand_in.jobs == [QUERIES + data, QUERIES + b"second\n"]


def test_paper_low_still_prints(stand_in):
    stand_in.state = "paper_low"
    with open_printer(network(stand_in.port)) as printer:
        assert printer.send(b"low\n").state == "paper_low"
    assert decode(stand_in.jobs[0]).texts == ["low"]


def test_a_printer_that_resets_the_connection_mid_job_is_an_error_in_words(stand_in):
    stand_in.state = "hang_up"
    with open_printer(network(stand_in.port)) as printer, pytest.raises(PrinterError) as caught:
        printer.send(b"x" * 65536)
    assert caught.value.message.startswith("Printer: the connection failed while printing (")
    assert caught.value.hint == "part of it may have printed"
    assert caught.value.status.state == "offline"


def test_a_printer_that_babbles_is_offline_within_its_timeout(stand_in):
    """Junk without end on the port (the wrong device, a noisy line): the status question still ends (it
    used to drain the junk for ever) and nothing is printed."""
    stand_in.state = "babble"
    done: list = []
    asker = threading.Thread(target=lambda: done.append(open_printer(network(stand_in.port)).status()), daemon=True)
    asker.start()
    asker.join(30)   # a bound for a hang, not a timing claim: the driver's own timeout is 0.5 s
    assert done, "status() did not return from a babbling printer"
    [status] = done
    assert status.state == "offline" and "keeps sending bytes nobody asked for" in status.detail
    with open_printer(network(stand_in.port)) as printer, pytest.raises(PrinterError) as caught:
        printer.send(b"never\n")
    assert "nothing was sent to the printer" in caught.value.hint
    assert not any(b"never" in c.data for c in stand_in.connections)


def test_a_printer_that_stops_reading_the_job_is_not_printed(stand_in):
    """Status answered, then nothing read: the slip sits in the socket buffers (it fits), so a write that
    returned proves nothing; the printer never took it, and send() says so instead of 'printed'."""
    stand_in.state = "stall"
    with open_printer(network(stand_in.port)) as printer, pytest.raises(PrinterError) as caught:
        printer.send(receipt())
    assert "did not take the whole slip within 0.5 s" in caught.value.message
    assert caught.value.hint == "part of it may have printed"
    assert all(c.data in (b"", QUERIES) for c in stand_in.connections)   # the stand-in read none of it
    stand_in.state = "ok"
    with open_printer(network(stand_in.port)) as printer:
        assert printer.send(receipt()).state == "ready"   # the reprint, once the printer reads again
    assert decode(stand_in.jobs[-1]).qr == ["PAYREQ-0001"]


def test_state_changes_are_seen_on_the_next_call(stand_in):
    with open_printer(network(stand_in.port)) as printer:
        seen = []
        for state in ("ok", "cover_open", "refuse", "ok", "paper_out", "ok"):
            stand_in.state = state
            seen.append(printer.status().state)
        printer.send(b"after\n")
    assert seen == ["ready", "cover_open", "offline", "ready", "paper_out", "ready"]
    assert decode(stand_in.jobs[-1]).texts == ["after"]


def test_one_printer_shared_by_threads(stand_in):
    """The print worker and a screen's status poll use one Printer: no answer is read by the wrong call."""
    errors = []
    with open_printer(network(stand_in.port, timeout=2)) as printer:
        def poll():
            for _ in range(20):
                if printer.status().state != "ready":
                    errors.append("not ready")

        def jobs():
            for i in range(20):
                printer.send(b"job %d\n" % i)
        threads = [threading.Thread(target=poll), threading.Thread(target=jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert [decode(job).texts for job in stand_in.jobs] == [[f"job {i}"] for i in range(20)]


def test_no_printer_configured_says_where_to_configure_one():
    with pytest.raises(PrinterError) as caught:
        open_printer(PrinterConfig())
    assert caught.value.message == "no printer is configured" and "[printer]" in caught.value.hint


# -- a serial printer on a real pty ------------------------------------------------------------------

class SerialPrinter:
    """The printer's end of a pty: answers DLE EOT 1/2/4 with ``answers`` and keeps the rest."""

    def __init__(self, answers=b"\x12\x12\x12") -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.answers = dict(zip((1, 2, 4), answers, strict=True))
        self.data = bytearray()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            self.data += chunk
            at = chunk.find(b"\x10\x04")
            while at != -1 and at + 2 < len(chunk):
                os.write(self.master, bytes([self.answers[chunk[at + 2]]]))
                at = chunk.find(b"\x10\x04", at + 3)

    def close(self) -> None:
        os.close(self.slave)
        os.close(self.master)


def test_a_serial_printer_on_a_pty():
    peer = SerialPrinter(b"\x12\x12\x1e")
    try:
        with open_printer(PrinterConfig(kind="serial", device=peer.path, timeout=TIMEOUT)) as printer:
            assert printer.status().state == "paper_low"
            printer.send(receipt())
        deadline = time.monotonic() + 2
        while b"Corner Shop" not in peer.data and time.monotonic() < deadline:
            time.sleep(0.01)
        assert decode(bytes(peer.data)).texts == ["Corner Shop", "Total          12.34 USD"]
    finally:
        peer.close()


def test_a_missing_serial_printer_is_offline(tmp_path):
    with open_printer(PrinterConfig(kind="serial", device=str(tmp_path / "ttyUSB9"), timeout=TIMEOUT)) as printer:
        status = printer.status()
    assert status.state == "offline" and "not found" in status.detail


# -- finding printers ----------------------------------------------------------------------------------

def usb_device(sys_root: Path, name: str, vendor: str, product: str, classes: list[str], *,
               maker: str = "", product_name: str = "", lp: str | None = None) -> None:
    """A USB device and its interfaces as sysfs has them: real directories under devices/, symlinked from
    bus/usb/devices by name (``1-2`` the device, ``1-2:1.N`` its interfaces)."""
    real = sys_root / "devices" / "pci0000:00" / "0000:00:14.0" / "usb1" / name
    real.mkdir(parents=True)
    for attr, value in (("idVendor", vendor), ("idProduct", product), ("manufacturer", maker),
                        ("product", product_name)):
        if value:
            (real / attr).write_text(value + "\n")
    links = sys_root / "bus" / "usb" / "devices"
    links.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(real, links), links / name)
    for number, cls in enumerate(classes):
        interface = real / f"{name}:1.{number}"
        interface.mkdir()
        (interface / "bInterfaceClass").write_text(cls + "\n")
        if cls == "07" and lp:
            (interface / "usbmisc" / lp).mkdir(parents=True)
        os.symlink(os.path.relpath(interface, links), links / interface.name)


@pytest.fixture
def usb_tree(tmp_path):
    sys_root, dev_usb = tmp_path / "sys", tmp_path / "dev" / "usb"
    dev_usb.mkdir(parents=True)
    usb_device(sys_root, "1-2", "04b8", "0e28", ["07"], maker="EPSON", product_name="TM-T20III", lp="lp0")
    usb_device(sys_root, "1-3", "413c", "2113", ["03", "03"], product_name="Dell KB216 Wired Keyboard")
    usb_device(sys_root, "1-4", "0fe6", "811e", ["ff", "07"])      # a vendor interface before the printer's
    (dev_usb / "lp0").touch()
    (dev_usb / "lp7").touch()                                       # a node sysfs does not explain
    return sys_root / "bus" / "usb" / "devices", dev_usb


def test_find_printers_lists_usb_printers_and_nodes(usb_tree):
    sys_dir, lp_dir = usb_tree
    found = find_printers(PrinterConfig(kind="usb", usb_vendor=0x04B8, usb_product=0x0E28), sys_dir=sys_dir,
                          lp_dir=lp_dir)
    rows = [p.to_json() for p in found]
    assert [(r["kind"], r["name"], r["vendor"], r["product"], r["configured"]) for r in rows] == [
        ("usb", "EPSON TM-T20III", "04b8", "0e28", True), ("usb", "USB printer", "0fe6", "811e", False),
        ("usb", "USB printer", None, None, False)]
    assert rows[0]["config"] == ['kind = "usb"', "usb_vendor = 0x04b8", "usb_product = 0x0e28"]
    assert rows[0]["node"] == str(lp_dir / "lp0") and rows[0]["where"] == "USB 04b8:0e28 (port 1-2)"
    assert rows[2]["node"] == str(lp_dir / "lp7") and "lsusb" in rows[2]["note"]
    assert all(r["status"] is None for r in rows)      # a USB printer is listed, never opened


def test_a_configured_usb_printer_not_plugged_in_is_listed_as_missing(usb_tree):
    sys_dir, lp_dir = usb_tree
    found = find_printers(PrinterConfig(kind="usb", usb_vendor=0x0519, usb_product=0x0001), sys_dir=sys_dir,
                          lp_dir=lp_dir)
    missing = [p for p in found if p.configured]
    assert [(p.where, p.note) for p in missing] == [("USB 0519:0001",
                                                     "not found on USB: plugged in and switched on?")]


def test_find_printers_asks_the_configured_network_printer(stand_in, tmp_path):
    stand_in.state = "paper_out"
    [found] = find_printers(network(stand_in.port), sys_dir=tmp_path / "none", lp_dir=tmp_path / "none")
    assert (found.kind, found.where, found.configured) == ("network", f"127.0.0.1:{stand_in.port}", True)
    assert found.status.words == "Printer: paper out — load a new roll"
    assert found.config_lines == ('kind = "network"', 'host = "127.0.0.1"', f"port = {stand_in.port}")
    stand_in.state = "refuse"
    [found] = find_printers(network(stand_in.port), sys_dir=tmp_path / "none", lp_dir=tmp_path / "none")
    assert found.status.state == "offline" and found.to_json()["status"]["words"].startswith("Printer: offline")


def test_find_printers_asks_quickly(stand_in, tmp_path):
    """A silent printer makes ``devices`` wait the quick timeout, not the configured one."""
    stand_in.state = "silent"
    started = time.monotonic()
    [found] = find_printers(network(stand_in.port, timeout=30), timeout=0.2, sys_dir=tmp_path, lp_dir=tmp_path)
    assert found.status.state == "offline" and "within 0.2 s" in found.status.detail
    assert time.monotonic() - started < 30


def test_nothing_configured_and_no_usb_finds_nothing(tmp_path):
    assert find_printers(PrinterConfig(), sys_dir=tmp_path / "no-sys", lp_dir=tmp_path / "no-dev") == []
    assert find_printers(None, sys_dir=tmp_path / "no-sys", lp_dir=tmp_path / "no-dev") == []


# -- devices: the use case and the command ------------------------------------------------------------

def test_the_devices_use_case_lists_printers_with_their_status_and_lines(usb_tree, stand_in, tmp_path):
    from pos_app.config import ScannersConfig
    from pos_app.services import registry, technician

    sys_dir, lp_dir = usb_tree
    stand_in.state = "cover_open"
    data = technician.devices(registry.shell("test"), ScannersConfig(), input_dir=tmp_path / "no-input",
                              sys_dir=tmp_path / "no-sys", printer=network(stand_in.port), usb_dir=sys_dir,
                              lp_dir=lp_dir)
    printers = data["printers"]
    assert [(p["kind"], p["configured"]) for p in printers] == [("usb", False), ("usb", False), ("usb", False),
                                                                 ("network", True)]
    assert printers[-1]["status"]["words"] == "Printer: cover open — close the cover"
    assert printers[0]["config"] == ['kind = "usb"', "usb_vendor = 0x04b8", "usb_product = 0x0e28"]
    assert "printers" not in data["errors"]


def test_pos_terminal_devices_names_the_configured_printer(stand_in, tmp_path):
    from configtext import write
    from flowkit import cli, cli_json

    stand_in.state = "paper_out"
    config = write(tmp_path, printer={"kind": '"network"', "host": '"127.0.0.1"', "port": str(stand_in.port),
                                      "timeout": "0.5"})
    code, data = cli_json("devices", "--input-dir", tmp_path / "no-input", "--sys-dir", tmp_path / "no-sys",
                          config=config, data_dir=tmp_path / "data")
    assert code == 0
    [printer] = [p for p in data["printers"] if p["configured"]]
    assert printer["where"] == f"127.0.0.1:{stand_in.port}" and printer["status"]["state"] == "paper_out"
    text = cli("devices", "--input-dir", tmp_path / "no-input", "--sys-dir", tmp_path / "no-sys", config=config,
               data_dir=tmp_path / "data").stdout
    assert f"configured network printer  [127.0.0.1:{stand_in.port}]" in text
    assert "Printer: paper out — load a new roll" in text
    assert f'[printer]: kind = "network"; host = "127.0.0.1"; port = {stand_in.port}' in text


def test_the_self_test_report_lists_the_configured_printer(stand_in, tmp_path):
    from pos_app.config import ScannersConfig
    from pos_app.selftest.devices import device_report

    report = device_report(None, ScannersConfig(), "internal", [], network(stand_in.port))
    [printer] = [p for p in report["printers"] if p["configured"]]
    assert printer["status"]["words"] == "Printer: ready"
