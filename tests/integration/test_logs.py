"""Logs as support meets them: a rotating file under the data directory, journald's levels under
systemd, payment codes masked and keys removed everywhere (third-party loggers, crash reports, old
files packed by ``logs --export``), and a log folder that cannot be written never stopping a command."""

from __future__ import annotations

import io
import logging
import os
import sqlite3
import subprocess
import sys
import tarfile

import pytest
from flowkit import cli, cli_json, write_config

from pos_app import cli as cli_module
from pos_app import logs

CODE = "281234567890123456"
MASKED = "28************3456"
PEM = ("-----BEGIN PRIVATE KEY-----\n"
       "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
       "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
       "-----END PRIVATE KEY-----")


@pytest.fixture(autouse=True)
def detach_logging():
    """In-process runs attach handlers to the root logger: take them off after each test."""
    yield
    logs.shutdown()


def read_log(data_dir) -> str:
    return (data_dir / "logs" / logs.FILE_NAME).read_text(encoding="utf-8")


# -- masking ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (f"code {CODE} scanned", f"code {MASKED} scanned"),
    (f'{{"paymentCode": "{CODE}"}}', f'{{"paymentCode": "{MASKED}"}}'),
    ("24 digits 123456021234567890123456.", "24 digits 12******************3456."),
    ("id PAY202401011200001234abcdef0123 stays", "id PAY202401011200001234abcdef0123 stays"),
    ("paymentId 20181129190741010007000000088980 stays", "paymentId 20181129190741010007000000088980 stays"),
    ('{"paymentId": "20181129190741010007000000088980"}', '{"paymentId": "20181129190741010007000000088980"}'),
    ("a 32-digit code 28123456789012345678901234567890 is masked",
     "a 32-digit code 28**************************7890 is masked"),
    ("25 digits 2812345678901234567890123", "25 digits 28*******************0123"),
    ("amount 1234 and barcode 4006381333931 stay", "amount 1234 and barcode 4006381333931 stay"),
    (f"key {PEM} loaded", "key [key removed] loaded"),
    (repr(f"read {PEM}\n"), "'read [key removed]\\n'"),
    ("cut -----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\\nabc", "cut [key removed]"),
    ("bare " + "MII" + "B" * 300 + "== end", "bare [key removed] end"),
])
def test_mask_text(text, expected):
    assert logs.mask_text(text) == expected


def test_records_from_any_logger_reach_file_and_stderr_masked(tmp_path, capsys):
    logs.setup(tmp_path, verbose=False)
    logging.getLogger("urllib3.connectionpool").warning("sent code %s", CODE)
    logging.getLogger("pos_app.signing").info("loaded %s", PEM)
    try:
        raise ValueError(f"bad code {CODE}")
    except ValueError:
        logging.getLogger("pos_app.terminal").exception("sale failed for %s", CODE)
    logs.shutdown()
    text = read_log(tmp_path)
    err = capsys.readouterr().err
    for where in (text, err):
        assert CODE not in where and "BEGIN" not in where and "MIIEvQ" not in where
        assert f"sent code {MASKED}" in where and f"ValueError: bad code {MASKED}" in where
    assert "loaded [key removed]" in text and "urllib3.connectionpool" in text
    assert "loaded" not in err  # stderr shows warnings and up unless -v


# -- the file -------------------------------------------------------------------------------------

def test_a_command_writes_the_log_file(sim, tmp_path):
    status, data = cli_json("status", config=write_config(sim), data_dir=tmp_path)
    assert status == 0 and data["gatewayCheck"]["ok"]
    assert "INFO pos_app.logs" in read_log(tmp_path) and ": status" in read_log(tmp_path)
    assert oct((tmp_path / "logs" / logs.FILE_NAME).stat().st_mode & 0o777) == "0o600"


def test_a_reading_command_does_not_create_the_data_dir(tmp_path):
    missing = tmp_path / "not-yet"
    done = cli("classify", CODE, data_dir=missing)
    assert done.returncode == 0 and MASKED in done.stdout
    done = cli("logs", data_dir=missing)
    assert done.returncode == 0 and "No log files yet" in done.stdout
    assert not missing.exists()


def test_records_wait_until_the_data_dir_exists(tmp_path):
    data_dir = tmp_path / "data"
    logs.setup(data_dir, verbose=False, command="gui")
    logging.getLogger("pos_app.x").info("before %s", CODE)
    assert not data_dir.exists()
    data_dir.mkdir()  # what a writing command (the window, a sale) does
    logs.shutdown()  # the process ending: what waited is written
    text = read_log(data_dir)
    assert ": gui" in text and f"before {MASKED}" in text


def test_rotation_at_the_size_limit(tmp_path):
    logs.setup(tmp_path, verbose=False, max_bytes=2000, backups=2)
    for i in range(200):
        logging.getLogger("pos_app.x").info("line %03d %s", i, "x" * 40)
    logs.shutdown()
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names == ["pos-terminal.log", "pos-terminal.log.1", "pos-terminal.log.2"]
    assert all(p.stat().st_size <= 2000 for p in (tmp_path / "logs").iterdir())
    assert "line 199" in read_log(tmp_path)


def test_a_file_rotated_by_another_process_is_reopened(tmp_path):
    logs.setup(tmp_path, verbose=False)
    logging.getLogger("pos_app.x").info("first")
    folder = tmp_path / "logs"
    (folder / logs.FILE_NAME).rename(folder / "pos-terminal.log.1")  # the other process rotated it
    logging.getLogger("pos_app.x").info("second")
    logs.shutdown()
    assert "second" in read_log(tmp_path) and "second" not in (folder / "pos-terminal.log.1").read_text()


def test_setup_twice_does_not_stack_handlers(tmp_path, capsys):
    root = logging.getLogger()
    before = len(root.handlers)
    for _ in range(3):
        logs.setup(tmp_path, verbose=False)
    assert len(root.handlers) == before + 2
    logging.getLogger("pos_app.x").warning("only once")
    logs.shutdown()
    assert read_log(tmp_path).count("only once") == 1
    assert capsys.readouterr().err.count("only once") == 1
    assert len(root.handlers) == before


def test_in_process_runs_do_not_stack_either(tmp_path, capsys):
    before = list(logging.getLogger().handlers)
    for _ in range(3):
        assert cli_module.main(["--data-dir", str(tmp_path), "classify", CODE]) == 0
    assert logging.getLogger().handlers == before     # main() takes its handlers off when it returns
    logging.getLogger("pos_app.x").warning("after three runs")
    assert "after three runs" not in read_log(tmp_path)
    assert read_log(tmp_path).count(": classify") == 3


def test_an_unwritable_log_folder_does_not_stop_the_command(tmp_path):
    (tmp_path / "logs").write_text("a file where the folder should be")
    done = cli("classify", CODE, data_dir=tmp_path)
    assert done.returncode == 0 and MASKED in done.stdout
    assert done.stderr.count("cannot write the log file") == 1 and "Traceback" not in done.stderr


# -- journald -------------------------------------------------------------------------------------

SNIPPET = """
import logging, sys
from pos_app import logs
logs.setup(None, verbose=False)
log = logging.getLogger("pos_app.demo")
log.debug("not shown")
log.info("ready")
log.warning("slow link")
log.error("code %s refused\\nsecond line", "281234567890123456")
"""


def run_with_stderr_file(tmp_path, journal_stream) -> str:
    err = tmp_path / "stderr.txt"
    with err.open("w") as f:
        st = os.fstat(f.fileno())
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal_stream is not None:
            env["JOURNAL_STREAM"] = journal_stream.format(dev=st.st_dev, ino=st.st_ino)
        subprocess.run([sys.executable, "-c", SNIPPET], stderr=f, env=env, check=True, timeout=30)
    return err.read_text()


def test_journald_levels_when_stderr_is_the_journal_stream(tmp_path):
    lines = run_with_stderr_file(tmp_path, "{dev}:{ino}").splitlines()
    assert lines == ["<6>pos_app.logs: pos-terminal " + logs.__version__ + ": start",
                     "<6>pos_app.demo: ready", "<4>pos_app.demo: slow link",
                     f"<3>pos_app.demo: code {MASKED} refused", "<3>second line"]


def test_plain_stderr_when_the_journal_stream_is_another_file(tmp_path):
    text = run_with_stderr_file(tmp_path, "{dev}:1")
    assert "<" not in text and "WARNING pos_app.demo: slow link" in text and "ready" not in text
    assert f"ERROR pos_app.demo: code {MASKED} refused" in text


# -- pos-terminal logs ----------------------------------------------------------------------------

def test_logs_lists_the_files_newest_first(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "pos-terminal.log.1").write_text("old\n")
    os.utime(folder / "pos-terminal.log.1", (1_700_000_000, 1_700_000_000))
    status, data = cli_json("logs", data_dir=tmp_path)
    assert status == 0 and data["folder"] == str(folder)
    assert [f["name"] for f in data["files"]] == ["pos-terminal.log", "pos-terminal.log.1"]
    assert data["files"][1]["size"] == 4 and data["files"][1]["modified"].startswith("2023-11-1")
    done = cli("logs", data_dir=tmp_path)
    assert done.returncode == 0 and str(folder) in done.stdout and "pos-terminal.log.1" in done.stdout


def test_export_packs_masked_logs_and_system_txt_without_keys_or_journal(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "pos-terminal.log.1").write_text(f"old version logged {CODE} and\n{PEM}\nthe end\n")
    (folder / "crash-20240101-000000.txt").write_text(f"Traceback ...\nValueError: {CODE}\n")
    (folder / "merchant_private.pem").write_text(PEM)
    (tmp_path / "key.txt").write_text(PEM)
    (folder / "innocent.log").symlink_to(tmp_path / "key.txt")  # a link could point anywhere
    (folder / "pos-terminal.log.6.gz").write_bytes(b"\x1f\x8b compressed")
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    (folder / "journal.sqlite").write_bytes((tmp_path / "journal.sqlite").read_bytes())
    out = tmp_path / "support" / "out.tar.gz"
    out.parent.mkdir()

    status, data = cli_json("logs", "--export", out, data_dir=tmp_path)
    assert status == 0 and data["path"] == str(out)
    with tarfile.open(out) as tar:
        members = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    assert set(members) == {"out/system.txt", "out/logs/pos-terminal.log", "out/logs/pos-terminal.log.1",
                            "out/logs/crash-20240101-000000.txt"}
    assert data["files"] == 4
    assert sorted(data["skipped"]) == ["journal.sqlite", "merchant_private.pem", "pos-terminal.log.6.gz"]
    everything = "".join(members.values())
    assert CODE not in everything and "BEGIN" not in everything and "MIIEvQ" not in everything
    assert f"logged {MASKED} and\n[key removed]\nthe end" in members["out/logs/pos-terminal.log.1"]
    system = members["out/system.txt"]
    assert f"pos-terminal {logs.__version__}" in system and "sandbox" in system and str(tmp_path) in system
    assert "schema version 3" in system and "free disk" in system and "python:" in system

    done = cli("logs", "--export", out, data_dir=tmp_path)  # the text form; replaces the archive whole
    assert done.returncode == 0 and str(out) in done.stdout and "4 files" in done.stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.tar.gz"]


def test_export_refuses_another_format_and_an_unwritable_place(tmp_path):
    done = cli("logs", "--export", tmp_path / "out.zip", data_dir=tmp_path)
    assert done.returncode == 2 and ".tar.gz" in done.stderr and "→" in done.stderr
    done = cli("logs", "--export", tmp_path / "no" / "such" / "out.tar.gz", data_dir=tmp_path)
    assert done.returncode == 2 and "cannot write" in done.stderr and "→" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out.zip").exists()


# -- crash reports --------------------------------------------------------------------------------

def test_crash_report_is_masked(tmp_path, monkeypatch, capsys):
    def boom(code):
        raise RuntimeError(f"could not handle {CODE} with\n{PEM}")

    monkeypatch.setattr("pos_app.scan.classify", boom)   # a bug inside a command
    assert cli_module.main(["--data-dir", str(tmp_path), "classify", "x"]) == cli_module.EXIT_BUG
    (report,) = (tmp_path / "logs").glob("crash-*.txt")
    text = report.read_text()
    assert "Traceback" in text and f"RuntimeError: could not handle {MASKED} with\n[key removed]" in text
    assert CODE not in text and "MIIEvQ" not in text
    logs.shutdown()
    assert f"internal error: details in {report}" in read_log(tmp_path)
    assert str(report) in capsys.readouterr().err


def test_export_of_a_large_log_stays_fast(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    line = f"2024-01-01 12:00:00,000 INFO pos_app.terminal [1]: paid {CODE} id PAY20240101120000ab12\n"
    (folder / "pos-terminal.log.1").write_text(line * 60_000)  # ~5 MB, a full rotated file
    out = tmp_path / "big.tar.gz"
    assert cli("logs", "--export", out, data_dir=tmp_path).returncode == 0
    with tarfile.open(out) as tar:
        data = tar.extractfile("big/logs/pos-terminal.log.1").read()
    assert CODE.encode() not in data and data.count(MASKED.encode()) == 60_000
    assert io.BytesIO(data).readline().decode().endswith("id PAY20240101120000ab12\n")
