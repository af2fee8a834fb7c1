"""The self-test (issue 6) against real parts: the simulator over loopback, real SQLite journals, a real
notification receiver (the terminal's, or the self-test's stand-in), and scanners on fake device trees
whose nodes are real FIFOs read through the :class:`scantraces.FifoNode` stand-in (this machine has no
/dev/input); the hub, the reader and the decoder behind it are the production code."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from flowkit import gateway_down, sim_call, write_config
from inputtree import make_input_tree, usb_device
from kit import stranger_keys
from scantraces import FifoNode, pack, scanner

from offline_queue.journal import Journal
from pos_app import selftest
from pos_app.cli import main
from pos_app.errors import PosError
from pos_app.runtime import Runtime
from pos_app.selftest import (
    FAIL,
    PASS,
    SKIP,
    TEST_CODE,
)
from pos_app.sim import Simulator

HONEYWELL = "Honeywell Imaging & Mobility 1900"


def by_name(report) -> dict:
    return {c.name: c for c in report.checks}


def statuses(report) -> dict:
    return {c.name: c.status for c in report.checks}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """One simulator for the tests that leave it running (each writes its own config beside its keys)."""
    sim = Simulator(tmp_path_factory.mktemp("gateway"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield sim
    sim.stop()


@pytest.fixture
def toml(gateway, tmp_path) -> Path:
    """A terminal.toml of this test's own, pointing at the shared simulator (see flowkit.write_config)."""
    return write_config(gateway, name=f"{tmp_path.name}.toml")


class FifoScanner:
    """One USB scanner (Honeywell's vendor id, so discovery calls it a scanner) whose node is a FIFO."""

    def __init__(self, root: Path) -> None:
        nodes = usb_device(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61, serial="42")
        self.input_dir, self.sys_dir = make_input_tree(root, nodes)
        node = self.input_dir / "event5"
        node.unlink()
        os.mkfifo(node)
        self.writer = os.open(node, os.O_RDWR | os.O_NONBLOCK)

    def scan(self, text: str, **kw) -> None:
        """A scanner sending ``text``: events stamped on the monotonic clock, as EvdevNode stamps them."""
        os.write(self.writer, pack(scanner(text, t0=time.monotonic(), **kw)[0]))

    def kw(self) -> dict:
        return {"input_dir": self.input_dir, "sys_dir": self.sys_dir, "opener": FifoNode}

    def close(self) -> None:
        os.close(self.writer)


@pytest.fixture
def usb_scanner(tmp_path):
    s = FifoScanner(tmp_path / "rig")
    yield s
    s.close()


def make_journal(data_dir: Path) -> None:
    with Journal.open(data_dir) as journal:
        journal.log_event(None, "test", {})


def with_scanners(config: Path, text: str) -> Path:
    config.write_text(config.read_text() + "\n[scanners]\n" + text)
    return config


# -- against the simulator ---------------------------------------------------------------------------

def test_healthy_simulator_every_check_passes(toml, tmp_path, usb_scanner):
    config = toml
    data_dir = tmp_path / "data"
    make_journal(data_dir)
    shown, progress = [], []
    report = selftest.run("external", config, data_dir, display=lambda code: shown.append(code) or True,
                          displays=[{"name": "HDMI-2", "size": "1024x600"}], on_check=progress.append,
                          **usb_scanner.kw())
    assert statuses(report) == {**dict.fromkeys(
        ["config", "keys", "journal", "disk", "clock", "scanners", "proxy", "gateway", "round-trip", "clock-skew",
         "notifications", "display"], PASS), "printer": SKIP, "test-page": SKIP, "replication": SKIP,
        "store": SKIP, "settlement": SKIP, "tls": SKIP}, report.lines()   # no printer, [store], [settlement], TLS
    assert report.ok and report.exit_code == 0
    assert shown == [TEST_CODE]
    checks = by_name(report)
    assert "ORDER_NOT_EXIST" in checks["round-trip"].detail
    assert "merchant_public.pem" in checks["keys"].detail
    assert "stand-in" in checks["notifications"].detail and "signed" in checks["notifications"].detail
    assert "usb-Honeywell" in checks["scanners"].detail
    (row,) = report.devices["scanners"]
    assert row["connected"] and "good scans" in row["health"] and "good_scans" in row["stats"]
    assert all(c.hint == "" for c in report.checks if c.status == PASS)
    assert progress == report.checks
    lines = report.lines()
    assert any(line.startswith("INFO  scanner       usb-Honeywell") and "good scans" in line for line in lines)
    assert "INFO  display       name HDMI-2, size 1024x600" in lines
    assert checks["proxy"].detail == "direct (no proxy set)"
    assert checks["tls"].detail.endswith("is plain http://: no TLS (only for this machine, e.g. a simulator)")
    assert lines[-1] == "selftest (external): 12 passed, 0 failed, 6 skipped: no check failed"


def test_healthy_without_display_or_scanner_skips_only_what_does_not_apply(toml, tmp_path, no_devices):
    input_dir, sys_dir = no_devices
    report = selftest.run("external", toml, tmp_path / "data", input_dir=input_dir, sys_dir=sys_dir)
    skipped = {name for name, status in statuses(report).items() if status == SKIP}
    assert skipped == {"journal", "scanners", "display", "printer", "test-page", "replication", "store",
                       "settlement", "tls"}, \
        report.lines()
    assert report.ok and report.exit_code == 0
    assert "first start" in by_name(report)["journal"].detail
    assert "technician screen" in by_name(report)["display"].detail


def test_stopped_simulator_fails_reachability_with_its_hint(make_sim, tmp_path, no_devices):
    sim, _ = gateway_down(make_sim)
    config = write_config(sim)
    input_dir, sys_dir = no_devices
    report = selftest.run("external", config, tmp_path / "data", input_dir=input_dir, sys_dir=sys_dir)
    checks = by_name(report)
    assert checks["gateway"].status == FAIL
    assert f"cannot reach 127.0.0.1:{sim.port}" in checks["gateway"].detail
    assert "is the gateway (or simulator) running?" in checks["gateway"].hint
    assert str(config) in checks["gateway"].hint
    assert checks["round-trip"].status == SKIP and "cannot be reached" in checks["round-trip"].detail
    assert checks["clock-skew"].status == SKIP
    assert not report.ok and report.exit_code == 1


def test_wrong_gateway_key_fails_the_round_trip_naming_the_key(toml, tmp_path, no_devices):
    other = stranger_keys(tmp_path / "elsewhere")[1]
    config = toml
    config.write_text(config.read_text().replace('gateway_public_key = "keys/gateway_public.pem"',
                                                 f'gateway_public_key = "{other}"'))
    input_dir, sys_dir = no_devices
    report = selftest.run("external", config, tmp_path / "data", input_dir=input_dir, sys_dir=sys_dir)
    checks = by_name(report)
    assert checks["keys"].status == PASS  # a valid RSA key: only the gateway's answer can tell
    assert checks["round-trip"].status == FAIL
    assert checks["round-trip"].detail == "the gateway's answer did not verify: wrong gateway public key?"
    assert str(other) in checks["round-trip"].hint
    assert checks["clock-skew"].status == SKIP  # an unverified response-time is not evidence
    assert report.exit_code == 1


def test_skewed_clock_fails_the_skew_check_with_an_ntp_hint(toml, tmp_path, no_devices):
    input_dir, sys_dir = no_devices
    report = selftest.run("external", toml, tmp_path / "data", clock=lambda: time.time() + 3600,
                          input_dir=input_dir, sys_dir=sys_dir)
    checks = by_name(report)
    assert checks["clock-skew"].status == FAIL
    assert "3,600" in checks["clock-skew"].detail and "ahead of the gateway" in checks["clock-skew"].detail
    assert "timedatectl set-ntp true" in checks["clock-skew"].hint
    assert checks["clock"].status == PASS and checks["round-trip"].status == PASS
    assert [c.name for c in report.checks if c.status == FAIL] == ["clock-skew"]


def test_merchant_key_that_is_not_the_pair_fails_naming_both_files(gateway, toml, tmp_path, no_devices):
    keys = tmp_path / "keys"
    keys.mkdir()
    for name in ("merchant_private.pem", "gateway_public.pem"):
        (keys / name).write_bytes((gateway.provisioned.keys_dir / name).read_bytes())
    (keys / "merchant_private.pem").chmod(0o600)
    (keys / "merchant_public.pem").write_bytes(stranger_keys(tmp_path / "x")[1].read_bytes())
    config = toml
    config.write_text(config.read_text().replace('"keys/', f'"{keys}/'))
    report = selftest.run("internal", config, tmp_path / "data", input_dir=no_devices[0], sys_dir=no_devices[1])
    check = by_name(report)["keys"]
    assert check.status == FAIL
    assert str(keys / "merchant_private.pem") in check.detail and str(keys / "merchant_public.pem") in check.detail
    assert "public key registered" in check.hint


def test_gateway_key_that_is_our_own_public_key_fails(toml, tmp_path, no_devices):
    config = toml
    config.write_text(config.read_text().replace("keys/gateway_public.pem", "keys/merchant_public.pem"))
    report = selftest.run("internal", config, tmp_path / "data", input_dir=no_devices[0], sys_dir=no_devices[1])
    check = by_name(report)["keys"]
    assert check.status == FAIL and "merchant's own public key" in check.detail


def test_bad_config_fails_and_what_needs_it_skips(tmp_path, no_devices):
    bad = tmp_path / "terminal.toml"
    bad.write_text("[gateway]\nurl = 'http://example.com'\n")
    report = selftest.run("external", bad, tmp_path / "data", input_dir=no_devices[0], sys_dir=no_devices[1])
    checks = by_name(report)
    assert checks["config"].status == FAIL and "url" in checks["config"].detail and str(bad) in checks["config"].detail
    for name in ("keys", "scanners", "gateway", "round-trip", "notifications"):
        assert checks[name].status == SKIP, name
    assert report.exit_code == 1


# -- the journal and the clock ---------------------------------------------------------------------

def test_corrupt_journal_fails_naming_the_file(toml, tmp_path, no_devices):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "journal.sqlite").write_bytes(b"this is not a database " * 200)
    report = selftest.run("internal", toml, data_dir, input_dir=no_devices[0], sys_dir=no_devices[1])
    check = by_name(report)["journal"]
    assert check.status == FAIL
    assert str(data_dir / "journal.sqlite") in check.detail
    assert "do not delete it" in check.hint and ".recover" in check.hint
    assert report.exit_code == 1


def test_clock_behind_the_journal_fails(toml, tmp_path, no_devices):
    data_dir = tmp_path / "data"
    make_journal(data_dir)
    report = selftest.run("internal", toml, data_dir, clock=lambda: time.time() - 3600,
                          input_dir=no_devices[0], sys_dir=no_devices[1])
    checks = by_name(report)
    assert checks["journal"].status == PASS and "integrity ok" in checks["journal"].detail
    assert checks["clock"].status == FAIL and "went backwards" in checks["clock"].detail
    assert "timedatectl set-ntp true" in checks["clock"].hint


# -- the notification endpoint of a running terminal --------------------------------------------------

def test_running_terminal_acknowledges_a_signed_test_notification(toml, tmp_path, no_devices):
    config = toml
    data_dir = tmp_path / "data"
    with Runtime(config, data_dir, background=False) as rt:
        report = selftest.run("external", config, data_dir, input_dir=no_devices[0], sys_dir=no_devices[1])
        check = by_name(report)["notifications"]
        assert check.status == PASS and check.detail.startswith("the terminal on 127.0.0.1:"), check
        kinds = [r["kind"] for r in rt.terminal.journal._query("SELECT kind FROM events")]
        assert kinds == ["notification_unmatched"]  # journaled as unknown, nothing else changed
        assert by_name(report)["journal"].status == PASS  # read beside the running writer


def test_running_terminal_without_a_receiver_fails(toml, tmp_path, no_devices):
    config = toml
    data_dir = tmp_path / "data"
    with Runtime(config, data_dir, receiver=False, background=False):
        report = selftest.run("external", config, data_dir, input_dir=no_devices[0], sys_dir=no_devices[1])
    check = by_name(report)["notifications"]
    assert check.status == FAIL and "the terminal is running but nothing listens" in check.detail


def test_sandbox_mode(tmp_path, no_devices):
    kw = {"input_dir": no_devices[0], "sys_dir": no_devices[1]}
    first = selftest.run("internal", None, tmp_path / "data", **kw)
    assert by_name(first)["config"].detail == "sandbox: no config file"
    assert by_name(first)["keys"].status == SKIP  # made by the simulator's first start
    report = selftest.run("external", None, tmp_path / "data", **kw)
    assert {n for n, s in statuses(report).items() if s != PASS} == {"journal", "scanners", "display", "printer",
                                                                     "test-page", "replication", "store", "tls"}, \
        report.lines()
    assert "logged in" in by_name(report)["settlement"].detail   # the sandbox's own SFTP report server
    assert by_name(selftest.run("internal", None, tmp_path / "data", **kw))["keys"].status == PASS


def sandbox_url(data_dir: Path) -> str:
    """The URL the sandbox's terminal.toml names, read with tomllib (independent of the loader)."""
    import tomllib
    return tomllib.loads((data_dir / "sandbox-gateway" / "terminal.toml").read_text())["gateway"]["url"]


def test_sandbox_beside_a_running_terminal_checks_its_gateway_and_leaves_its_file(tmp_path, no_devices):
    """Issue 15 (3.6): the self-test in sandbox mode beside a running sandbox terminal checks that terminal's
    simulator; it used to start a second one, which rewrote terminal.toml to its own port and, once stopped,
    left the running terminal's file pointing at a dead port."""
    data_dir = tmp_path / "data"
    kw = {"input_dir": no_devices[0], "sys_dir": no_devices[1]}
    with Runtime(None, data_dir, background=False) as rt:
        live = rt.sim.url
        assert sandbox_url(data_dir) == live
        report = selftest.run("external", None, data_dir, **kw)
        checks = by_name(report)
        assert checks["gateway"].status == PASS and live.removeprefix("http://") in checks["gateway"].detail, \
            report.lines()
        assert checks["round-trip"].status == PASS, report.lines()
        assert "the running terminal's embedded simulator" in checks["config"].detail
        assert sandbox_url(data_dir) == live                       # the file still names the live simulator
        assert sim_call(rt.sim, "/sim/ledger")[0] == 200           # which still serves


def test_sandbox_with_the_running_config_checks_the_terminals_own_receiver(tmp_path, no_devices):
    """The technician screen passes its terminal's config: the notification check reaches the terminal's own
    receiver (on the free port sandbox mode picked), not a stand-in, and nothing is started."""
    data_dir = tmp_path / "data"
    with Runtime(None, data_dir, background=False) as rt:
        report = selftest.run("external", None, data_dir, running=rt.terminal.config, input_dir=no_devices[0],
                              sys_dir=no_devices[1], display_absent="no customer display in this session")
        checks = by_name(report)
        assert statuses(report)["notifications"] == PASS, report.lines()
        assert checks["notifications"].detail.startswith(f"the terminal on 127.0.0.1:{rt.receiver.port} "), \
            checks["notifications"]
        assert checks["gateway"].status == PASS and rt.sim.url.removeprefix("http://") in checks["gateway"].detail
        assert checks["display"].status == SKIP and checks["display"].detail == "no customer display in this session"
        assert "technician screen" not in checks["display"].detail
        assert sandbox_url(data_dir) == rt.sim.url


def test_a_refused_second_sandbox_terminal_leaves_the_running_ones_file(tmp_path):
    """A second terminal on the same data directory is refused by the instance lock; on its way it no longer
    starts (and stops) a simulator of its own that rewrote the running terminal's terminal.toml."""
    data_dir = tmp_path / "data"
    with Runtime(None, data_dir, background=False) as rt:
        with pytest.raises(PosError, match="another pos-terminal"):
            Runtime(None, data_dir, background=False).start()
        assert sandbox_url(data_dir) == rt.sim.url


# -- scanners ---------------------------------------------------------------------------------------

def test_scanner_that_cannot_be_opened_fails_with_the_drivers_hint(toml, tmp_path):
    nodes = usb_device(HONEYWELL, [5], vendor=0x0C2E, product=0x0B61)
    input_dir, sys_dir = make_input_tree(tmp_path / "rig", nodes)  # a regular file, not an evdev node
    report = selftest.run("internal", toml, tmp_path / "data", input_dir=input_dir, sys_dir=sys_dir)
    check = by_name(report)["scanners"]
    assert check.status == FAIL
    assert "not an evdev input node" in check.detail and str(input_dir / "event5") in check.detail
    assert "pos-terminal devices" in check.hint


def test_missing_serial_scanner_fails(toml, tmp_path, no_devices):
    config = with_scanners(toml, '[[scanners.serial]]\nport = "/dev/ttyNOSUCHPORT"\n')
    report = selftest.run("internal", config, tmp_path / "data", input_dir=no_devices[0], sys_dir=no_devices[1])
    check = by_name(report)["scanners"]
    assert check.status == FAIL and "/dev/ttyNOSUCHPORT: no such port" in check.detail
    assert "/dev/serial/by-id" in check.hint


def test_interactive_scan_passes_for_a_well_set_scanner(toml, tmp_path, usb_scanner):
    prompts = []

    def prompt(code):
        prompts.append(code)
        usb_scanner.scan("]Q1" + code)

    report = selftest.run("interactive", toml, tmp_path / "data", prompt=prompt, scan_timeout=5,
                          **usb_scanner.kw())
    check = by_name(report)["scan"]
    assert prompts == [TEST_CODE]
    assert check.status == PASS, check
    assert "AIM id ]Q1" in check.detail and "ended by enter" in check.detail


def test_interactive_scan_tells_the_layout_to_set(toml, tmp_path, usb_scanner):
    config = with_scanners(toml, 'layout = "fr"\n')
    report = selftest.run("interactive", config, tmp_path / "data", prompt=lambda code: usb_scanner.scan(code),
                          scan_timeout=5, **usb_scanner.kw())
    check = by_name(report)["scan"]
    assert check.status == FAIL
    assert "layout 'us'" in check.detail and "decodes 'fr'" in check.detail
    assert 'set layout = "us" under [scanners]' in check.hint
    assert report.exit_code == 1


def test_interactive_scan_without_a_suffix_and_without_a_scan(toml, tmp_path, usb_scanner):
    report = selftest.run("interactive", toml, tmp_path / "data",
                          prompt=lambda code: usb_scanner.scan(code, suffix=None), scan_timeout=5,
                          **usb_scanner.kw())
    check = by_name(report)["scan"]
    assert check.status == FAIL and "ended on the time gap" in check.detail
    assert "send Enter (CR) after each scan" in check.hint
    silent = selftest.run("interactive", toml, tmp_path / "data", prompt=lambda code: None,
                          scan_timeout=0.3, **usb_scanner.kw())
    assert by_name(silent)["scan"].status == FAIL and "no scan within 0.3 s" in by_name(silent)["scan"].detail


# -- the command: output shapes and exit codes ---------------------------------------------------------

def test_command_json_and_exit_code(sim, tmp_path, no_devices, capsys):
    config = write_config(sim)
    argv = ["selftest", "--level", "external", "--config", str(config), "--data-dir", str(tmp_path / "data"),
            "--input-dir", str(no_devices[0]), "--sys-dir", str(no_devices[1]), "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["level"] == "external" and data["ok"] is True
    assert set(data) >= {"level", "ok", "checks", "counts", "devices", "startedAt"}
    assert [c["name"] for c in data["checks"]] == ["config", "keys", "journal", "disk", "clock", "scanners",
                                                   "printer", "replication", "proxy", "gateway", "tls", "round-trip",
                                                   "clock-skew",
                                                   "notifications", "store", "settlement", "display",
                                                   "test-page"]
    for c in data["checks"]:
        assert set(c) == {"name", "status", "detail", "hint", "seconds"}
        assert c["status"] in ("pass", "fail", "skip")
    assert data["counts"] == {"pass": 9, "fail": 0, "skip": 9}   # no printer, [store], [settlement], TLS: skip
    sim.stop()
    assert main(argv) == 1
    failed = json.loads(capsys.readouterr().out)
    assert failed["ok"] is False
    assert [c["name"] for c in failed["checks"] if c["status"] == "fail"] == ["gateway"]


def test_command_text_and_out_files(toml, tmp_path, no_devices, capsys):
    base = ["selftest", "--data-dir", str(tmp_path / "data"), "--input-dir", str(no_devices[0]),
            "--sys-dir", str(no_devices[1])]
    text_file, json_file = tmp_path / "report.txt", tmp_path / "report.json"
    assert main([*base, "--config", str(toml), "--out", str(text_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS  config        ")
    assert any(line.startswith("SKIP  journal       no journal yet") for line in lines)
    assert any(line.strip().startswith("→ it is created") for line in lines)  # a skip's hint on its own line
    assert lines[-1] == "selftest (internal): 4 passed, 0 failed, 4 skipped: no check failed"   # printer, [store]
    assert text_file.read_text().splitlines() == lines
    assert main([*base, "--out", str(json_file)]) == 0  # sandbox, text on stdout
    assert "PASS  config        sandbox: no config file" in capsys.readouterr().out
    saved = json.loads(json_file.read_text())
    assert saved["ok"] is True and saved["checks"][0]["detail"] == "sandbox: no config file"


def test_interactive_command_without_a_scanner_skips_the_scan(toml, tmp_path, no_devices, capsys):
    assert main(["selftest", "--level", "interactive", "--timeout", "1", "--config", str(toml),
                  "--data-dir", str(tmp_path / "data"),
                  "--input-dir", str(no_devices[0]), "--sys-dir", str(no_devices[1]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    scan = next(c for c in data["checks"] if c["name"] == "scan")
    assert scan["status"] == "skip" and scan["detail"] == "no scanner to test (see scanners)"


def test_unknown_level_is_refused(tmp_path):
    with pytest.raises(PosError, match="no self-test level"):
        selftest.run("thorough", None, tmp_path)
