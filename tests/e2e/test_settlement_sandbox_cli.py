"""``pos-terminal reconcile-settlement`` in sandbox mode (no terminal.toml), as a person first tries it: a day made
with ``pos-terminal sale`` against the embedded simulator, then the day reconciled from the command line. The
command starts the sandbox's simulator, and so its SFTP report server, the way ``status`` and ``selftest`` do,
fetches the day's reports from it and stops it: no terminal needs to be running (before, the fetch met a closed
port: "connection refused"). Real processes, the simulator's own files, checked against plain SQL."""

from __future__ import annotations

import os

import pytest
from flowkit import MANAGER_PIN, cli, cli_json, journal_query, set_manager_pin
from kit import payment_code

from pos_app.sim import scenarios as sc

pytestmark = pytest.mark.slow


def test_a_sandbox_day_is_reconciled_from_the_command_line_with_no_terminal_running(tmp_path):
    data = tmp_path / "data"
    ids = {}
    for minor in (1000, sc.REPORT_WRONG_AMOUNT):
        code, sale = cli_json("sale", "--amount", f"{minor / 100:.2f}", "--code", payment_code(), "--alongside",
                              data_dir=data)
        assert code == 0, sale
        ids[minor] = sale["paymentRequestId"]
    [(day,)] = journal_query(data, "SELECT DISTINCT day FROM transactions")
    set_manager_pin(data)

    code, out = cli_json("reconcile-settlement", "--date", day, data_dir=data, input=MANAGER_PIN + "\n")
    assert code == 1, out   # one difference: the knob's wrong amount
    assert f"transactionItems_{day.replace('-', '')}_000.csv" in {f["name"] for f in out["imported"]}
    kept = dict(journal_query(data, "SELECT request_id, cls FROM settlement_findings WHERE day = ?", (day,)))
    assert kept == {ids[1000]: "matched", ids[sc.REPORT_WRONG_AMOUNT]: "amount_mismatch"}
    assert {f["requestId"]: f["class"] for f in out["findings"]} == kept
    # the simulator it started is stopped again: its record is empty and a later command can start its own
    record = data / "sandbox-gateway" / "gateway.lock"
    assert record.read_text() == ""
    code, status = cli_json("status", data_dir=data)
    assert code == 0 and status["mode"].startswith("sandbox"), status


def test_files_given_in_sandbox_mode_need_no_simulator(tmp_path):
    """Report files given by name are read as they are: nothing is fetched, so no simulator is started."""
    data = tmp_path / "data"
    os.makedirs(data)
    set_manager_pin(data)
    done = cli("reconcile-settlement", tmp_path / "missing.csv", data_dir=data, input=MANAGER_PIN + "\n")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert not (data / "sandbox-gateway").exists()
