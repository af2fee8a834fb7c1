"""The entry code through ``pos-terminal`` processes: ``sale --entry-code`` waits for the customer's payment
(the simulator's wallet pays the static code; its notification reaches the process's own receiver), and
``entry-payments`` lists and assigns what came with nothing waiting. Checked on the journal with plain SQL."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import tomllib

import flowkit
from flowkit import MANAGER_PIN, cli, cli_json, journal_query, set_manager_pin, sim_call


def entry_config(sim, window: float = 30.0):
    """flowkit's, with the code's notifications pointed at the receiver the config names (a CLI process's own)."""
    config = flowkit.entry_config(sim, window)
    url = tomllib.loads(config.read_text())["notifications"]["public_url"]
    assert sim_call(sim, "/sim/entry-codes", {"codeValue": sim.entry_code, "notifyUrl": url})[0] == 200
    return config


pay = flowkit.pay_entry_code


def start_sale(config, data_dir, amount: str) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(data_dir),
           "sale", "--amount", amount, "--entry-code", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line.startswith("entry code: "):
            return proc, line.split()[2]
    proc.kill()
    raise AssertionError("the entry code is printed")


def test_sale_entry_code_waits_for_the_customers_payment(sim, tmp_path):
    config = entry_config(sim)
    proc, code = start_sale(config, tmp_path / "t", "14.20")
    try:
        assert code == sim.entry_code
        answer = pay(sim, "1420")
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    data = json.loads(out)
    assert proc.returncode == 0, out
    assert (data["status"], data["tender"], data["paymentId"]) == ("SUCCESS", "entry_code", answer["paymentId"])
    assert journal_query(tmp_path / "t", "SELECT status, tender, payment_id FROM transactions WHERE id=?",
                         (data["paymentRequestId"],)) == [("SUCCESS", "entry_code", answer["paymentId"])]


def test_ctrl_c_stops_it_and_the_window_end_is_not_paid(sim, tmp_path):
    config = entry_config(sim, window=1.0)
    rc, data = cli_json("sale", "--amount", "3.10", "--entry-code", config=config, data_dir=tmp_path / "t")
    assert (rc, data["status"], data["resultCode"]) == (1, "FAILED", "NOT_PAID_IN_TIME")
    config = entry_config(sim)
    proc, _code = start_sale(config, tmp_path / "t", "3.20")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    data = json.loads(out)
    assert (proc.returncode, data["status"], data["resultCode"]) == (1, "FAILED", "ABORTED")


def test_entry_payments_lists_and_assigns_what_came_with_nothing_waiting(sim, tmp_path):
    config, d = entry_config(sim), tmp_path / "t"
    # a terminal runs (its receiver takes the notification), then the payments are looked at from the CLI
    proc, _code = start_sale(config, d, "9.00")
    loose = pay(sim, "450")
    pay(sim, "900")
    out, _ = proc.communicate(timeout=30)
    assert json.loads(out)["status"] == "SUCCESS"
    rc, listed = cli_json("entry-payments", config=config, data_dir=d)
    assert rc == 0 and [i["paymentId"] for i in listed["items"]] == [loose["paymentId"]]
    done = cli("entry-payments", "assign", loose["paymentId"], config=config, data_dir=d, input="0000\n")
    assert done.returncode == 2 and "PIN" in done.stderr
    set_manager_pin(d)
    rc, data = cli_json("entry-payments", "assign", loose["paymentId"], "--by", "boss", config=config, data_dir=d,
                        input=MANAGER_PIN + "\n")
    assert (rc, data["status"], data["paymentId"]) == (0, "SUCCESS", loose["paymentId"])
    assert journal_query(d, "SELECT unmatched FROM transactions WHERE payment_id=?", (loose["paymentId"],)) == [(None,)]
    assert journal_query(d, "SELECT action, asked_by FROM audit WHERE action='acknowledge_entry_payment'") == \
        [("acknowledge_entry_payment", "boss")]
    rc, listed = cli_json("entry-payments", config=config, data_dir=d)
    assert listed["items"] == []
    done = cli("sale", "--amount", "1.00", "--entry-code", "--order-code", config=config, data_dir=d)
    assert done.returncode == 2 and "one of" in done.stderr


def test_a_pasted_page_as_an_id_is_named_not_echoed_back(sim, tmp_path):
    config, d = entry_config(sim), tmp_path / "t"
    set_manager_pin(d)
    for args in (("PAY" + "9" * 10_000, "--to", "PR1"), ("PAY" + "9" * 10_000,)):
        done = cli("entry-payments", "assign", *args, config=config, data_dir=d, input=MANAGER_PIN + "\n")
        text = done.stdout + done.stderr
        assert done.returncode == 2 and "characters)" in text and "Traceback" not in text, text[:300]
        assert len(text) < 1000, "the argument is named by its start and length, not echoed back whole"
