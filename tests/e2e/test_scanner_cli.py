"""``pos-terminal scanner replay|listen|record`` and ``devices`` as a technician runs them: real processes,
trace files, device trees on disk and real pty pairs for serial."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tty

import pytest
from flowkit import cli
from inputtree import make_input_tree, usb_device
from scantraces import person, scanner, write_jsonl

CODE = "283412345678901234"


def lines(done):
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture
def mixed_trace(tmp_path):
    """An AZERTY scanner: a QR payment code with its AIM prefix, an EAN-13 without a suffix, then typing."""
    first, t = scanner("]Q1" + CODE, layout="fr")
    second, t = scanner("4006381333931", layout="fr", t0=t + 1, suffix=None)
    third, _ = person("hello", layout="fr", t0=t + 2)
    return write_jsonl(tmp_path / "azerty.jsonl", first + second + third)


def test_replay_prints_each_scan_as_a_json_line(mixed_trace):
    done = cli("scanner", "replay", mixed_trace, "--layout", "fr", "--json")
    assert done.returncode == 0, done.stderr
    assert lines(done) == [
        {"data": CODE, "symbology": "QR Code", "kind": "payment_code", "aim": "]Q1", "ended_by": "enter",
         "t": pytest.approx(1700000000.084, abs=0.01)},
        {"data": "4006381333931", "symbology": "EAN-13", "kind": "product", "aim": None, "ended_by": "gap",
         "t": pytest.approx(1700000001.135, abs=0.01)},
    ]
    assert "too short" in done.stderr  # the typing, one key per gap, is noted, not printed as scans


def test_replay_with_the_wrong_layout_shows_the_garbling(mixed_trace):
    done = cli("scanner", "replay", mixed_trace, "--json")
    assert [scan["kind"] for scan in lines(done)] == ["unknown", "unknown"]


def test_replay_shared_rule_drops_the_typing(mixed_trace):
    done = cli("scanner", "replay", mixed_trace, "--layout", "fr", "--shared", "--json", "--all")
    events = lines(done)
    assert [e["data"] for e in events if "data" in e] == [CODE, "4006381333931"]
    assert any(e.get("event") == "typed" for e in events)


def test_replay_reads_evtest_output(tmp_path):
    events, _ = scanner("4006381333931")
    text = []
    for t, type_, code, value in events:
        sec, usec = int(t), round((t - int(t)) * 1e6)
        if type_ == 0:
            text.append(f"Event: time {sec}.{usec:06d}, -------------- SYN_REPORT ------------")
        else:
            text.append(f"Event: time {sec}.{usec:06d}, type {type_} (EV_X), code {code} (K), value {value}")
    trace = tmp_path / "evtest.txt"
    trace.write_text("Input driver version is 1.0.1\n" + "\n".join(text) + "\n")
    done = cli("scanner", "replay", trace, "--json")
    assert [e["data"] for e in lines(done)] == ["4006381333931"]


@pytest.mark.parametrize("content, message", [
    ('{"t": 1, "type": 1, "value": 1}\n', "bad.jsonl:1: code must be a whole number"),
    ('{"t": 1, "type": 1, "code": 2, "value": 1}\n{"t": "x"}\n', "bad.jsonl:2: t must be a time in seconds"),
    ('{"t": 1, "type": 1, "code": 2, "value": 1\n', "bad.jsonl:1: not JSON"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_a_bad_trace_names_the_line(tmp_path, content, message):
    trace = tmp_path / "bad.jsonl"
    trace.write_bytes(content if isinstance(content, bytes) else content.encode())
    done = cli("scanner", "replay", trace)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_replay_of_a_missing_file(tmp_path):
    done = cli("scanner", "replay", tmp_path / "nope.jsonl")
    assert done.returncode == 2 and "trace file not found" in done.stderr


def test_devices_lists_scanners_keyboards_and_others(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [
        usb_device("Honeywell Imaging & Mobility 1900", [5, 6], vendor=0x0C2E, product=0x0B61, serial="1"),
        usb_device("Dell USB Keyboard", [3], vendor=0x413C, product=0x2113, port="1"),
    ])
    done = cli("devices", "--json", "--input-dir", input_dir, "--sys-dir", sys_dir)
    assert done.returncode == 0, done.stderr
    devices = json.loads(done.stdout)["input_devices"]
    by_role = {d["role"]: d for d in devices}
    scanner_ = by_role["scanner"]
    assert scanner_["id"] == "usb-Honeywell_Imaging___Mobility_1900_1" and scanner_["vendor"] == "0c2e"
    assert len(scanner_["nodes"]) == 2 and scanner_["nodes"][0]["by_id"]
    assert scanner_["grabbed"].startswith("unknown")  # a plain file is not an evdev node: no probe possible
    assert by_role["keyboard"]["grabbed"] == "never (not a scanner)"
    text = cli("devices", "--input-dir", input_dir, "--sys-dir", sys_dir).stdout
    assert "scanner   Honeywell" in text and "keyboard  Dell USB Keyboard" in text


def test_listen_on_a_fifo_says_it_is_not_an_input_node(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = cli("scanner", "listen", "--device", fifo, "--timeout", "1")
    assert done.returncode == 2 and "not an evdev input node" in done.stderr


def test_record_from_a_missing_device_names_it():
    done = cli("scanner", "record", "--device", "/dev/input/by-id/usb-nothing-event-kbd", "--out", "/dev/null")
    assert done.returncode == 2
    assert "input device /dev/input/by-id/usb-nothing-event-kbd: not found" in done.stderr


def test_listen_on_a_serial_pty_prints_scans_masked(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    proc = subprocess.Popen([sys.executable, "-m", "pos_app", "scanner", "listen", "--serial", port, "--json",
                             "--count", "2", "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(1.0)  # let it open the port
        os.write(master, b"]Q1" + CODE.encode() + b"\r\n")
        os.write(master, b"4006381333931\r")
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        os.close(master)
        os.close(slave)
    scans = [json.loads(line) for line in out.splitlines() if '"data"' in line]
    assert proc.returncode == 0, err
    assert scans[0]["data"] == "28************1234" and scans[0]["kind"] == "payment_code"
    assert scans[0]["symbology"] == "QR Code" and scans[0]["source"] == port
    assert scans[1]["data"] == "4006381333931" and scans[1]["kind"] == "product"


def test_listen_refuses_to_grab_a_keyboard(tmp_path):
    input_dir, sys_dir = make_input_tree(tmp_path, [
        usb_device("Dell USB Keyboard", [3], vendor=0x413C, product=0x2113, port="1")])
    done = cli("scanner", "listen", "--device", input_dir / "event3", "--input-dir", input_dir,
               "--sys-dir", sys_dir, "--timeout", "1")
    assert done.returncode == 2 and "is a keyboard" in done.stderr and "--no-grab" in done.stderr


