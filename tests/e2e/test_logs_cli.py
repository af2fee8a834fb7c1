"""Logs as ``pos-terminal`` processes write and export them: a command writes the log file (a reading one
makes no data dir), an unwritable log folder does not stop it, ``logs`` lists the files and ``logs --export``
packs them masked, with a system summary, without keys or the journal, quickly even when large."""

from __future__ import annotations

import io
import os
import sqlite3
import tarfile

from flowkit import cli, cli_json, write_config
from logtext import CODE, MASKED, PEM, read_log

from pos_app import logs


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


def test_an_unwritable_log_folder_does_not_stop_the_command(tmp_path):
    (tmp_path / "logs").write_text("a file where the folder should be")
    done = cli("classify", CODE, data_dir=tmp_path)
    assert done.returncode == 0 and MASKED in done.stdout
    assert done.stderr.count("cannot write the log file") == 1 and "Traceback" not in done.stderr


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
