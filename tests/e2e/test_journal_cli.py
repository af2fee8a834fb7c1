"""The journal's refusals as a person meets them, through real ``pos-terminal`` processes: a second writer
however it reaches the journal (the live sale's QR stays payable), an empty or damaged journal file, a full
disk, and a sandbox's data directory made private; each one plain error, never a traceback, and nothing
changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from disks import fill, unlink_fillers
from flowkit import cli, cli_json, ledger, sim_call, write_config
from kit import mode, payment_code
from processes import TerminalProcess

from offline_queue.journal import (
    Journal,
    JournalDiskFull,
    JournalError,
)
from offline_queue.lock import LOCK_NAME


@pytest.mark.parametrize("how", ["lock file deleted", "journal symlinked", "journal hard-linked"])
def test_a_second_writer_is_refused_and_the_live_order_code_sale_is_not_cancelled(sim, tmp_path, how):
    """A sale shows its QR; a second process reaches the same journal by another way than the lock file
    it used to check, and must neither run nor take the live sale for a crash leftover."""
    config = write_config(sim)
    d = tmp_path / "D"
    sale = TerminalProcess(config, d, "sale", "--amount", "31.40", "--order-code", "--json")
    try:
        shown = sale.wait_for("order code: ", 30)
        assert shown, sale.lines
        code = shown.split("order code: ", 1)[1].split()[0]
        pid = sale.proc.pid
        if how == "lock file deleted":
            (d / LOCK_NAME).unlink()
            others = [d]
        elif how == "journal symlinked":
            (tmp_path / "D2").symlink_to(d)                  # a symlinked data dir
            (tmp_path / "E").mkdir()
            (tmp_path / "E" / "journal.sqlite").symlink_to(d / "journal.sqlite")
            others = [tmp_path / "D2", tmp_path / "E"]
        else:
            (tmp_path / "F").mkdir()
            os.link(d / "journal.sqlite", tmp_path / "F" / "journal.sqlite")
            others = [tmp_path / "F"]
        for other in others:
            for command in (["reconcile"], ["queue", "--drain"]):
                rc, data = cli_json(*command, config=config, data_dir=other)
                assert rc == 2, (other, command, data)
                assert f"another pos-terminal (pid {pid}) uses {other}" in data["error"], data
                assert data["hint"], data
            rc, report = cli_json("report", config=config, data_dir=other)        # readers still work beside it
            assert rc == 0, report
            rc, queue = cli_json("queue", config=config, data_dir=other)
            assert rc == 0, queue
        status, answer = sim_call(sim, "/sim/wallet/pay-order", {"codeValue": code})
        assert status == 200, answer                                              # the QR was still payable
        result = json.loads(sale.finish(60))
    finally:
        sale.kill()
    assert sale.proc.returncode == 0 and result["status"] == "SUCCESS", result
    assert ledger(sim)[result["paymentRequestId"]]["status"] == "SUCCESS"


def test_an_empty_journal_file_is_refused_and_left_as_it_is(sim, tmp_path):
    d = tmp_path / "t"
    d.mkdir()
    path = d / "journal.sqlite"
    path.write_bytes(b"")
    for readonly in (False, True):
        with pytest.raises(JournalError) as info:
            Journal.open(d, readonly=readonly)
        assert str(path) in info.value.message and "empty" in info.value.message
        assert "delete this file" in info.value.hint and "backup" in info.value.hint
    rc, data = cli_json("reconcile", config=write_config(sim), data_dir=d)
    assert rc == 2 and str(path) in data["error"] and "Traceback" not in json.dumps(data), data
    assert path.read_bytes() == b""
    assert not [p.name for p in d.iterdir() if p.name.startswith("journal.sqlite-")], "no -wal, no -shm"


def test_a_full_disk_at_open_says_so_not_corruption(sim, small_disk):
    disk = small_disk("512k")
    d = disk / "t"
    Journal.open(d).close()
    fill(disk)
    for readonly in (False, True):
        with pytest.raises(JournalDiskFull) as info:
            Journal.open(d, readonly=readonly)
        assert "disk holding the journal" in info.value.message and "is full" in info.value.message
        assert "df -h" in info.value.hint and "recover" not in info.value.hint and "do not delete" in info.value.hint
    rc, data = cli_json("queue", "--drain", config=write_config(sim), data_dir=d)
    assert rc == 2 and "is full" in data["error"] and "recover" not in data["hint"], data
    unlink_fillers(disk)
    Journal.open(d).close()


def test_a_first_sandbox_sale_makes_the_data_dir_private(tmp_path):
    """The sandbox's simulator keeps its keys inside the data directory: whichever is made first, the data
    directory is 0700 (the journal beside them holds a queued sale's full payment code)."""
    d = tmp_path / "fresh" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_TERMINAL_")}
    sale = 'umask 022 && exec "$0" -m pos_app sale --amount 1.00 --code 281234567890123450 --json --data-dir "$1"'
    done = subprocess.run(["sh", "-c", sale, sys.executable, str(d)], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert mode(d) == 0o700 and mode(d.parent) == 0o700


def test_a_journal_with_a_damaged_page_is_refused_through_the_cli(sim, tmp_path):
    data_dir = tmp_path / "t"
    with Journal.open(data_dir):
        pass
    path = data_dir / "journal.sqlite"
    raw = bytearray(path.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(raw))
    done = cli("sale", "--amount", "1.00", "--code", payment_code(), config=write_config(sim), data_dir=data_dir)
    assert done.returncode == 2 and str(path) in done.stderr and "Traceback" not in done.stderr
