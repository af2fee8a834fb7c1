"""The entry code when the till dies during the wait (``kill -9`` of a ``pos-terminal sale --entry-code``
process): the customer pays while nobody listens, the simulator resends its notification, and the next
process that settles the journal hears it. Real processes, the real simulator, the journal read with SQL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import tomllib

from flowkit import cli, journal_query, sim_call, write_config


def test_reconcile_after_a_kill_hears_the_payment_the_dead_till_waited_for(make_sim, tmp_path):
    sim = make_sim(notify_time_scale=0.01)   # the gateway's resends at 0, 1.2 s, 6 s, 6 s, 36 s
    config, d = write_config(sim), tmp_path / "t"
    config.write_text(config.read_text() + f'\n[entry_code]\ncode = "{sim.entry_code}"\nmatch_window = 60\n')
    url = tomllib.loads(config.read_text())["notifications"]["public_url"]
    assert sim_call(sim, "/sim/entry-codes", {"codeValue": sim.entry_code, "notifyUrl": url})[0] == 200
    proc = subprocess.Popen([sys.executable, "-m", "pos_app", "--config", str(config), "--data-dir", str(d), "sale",
                             "--amount", "5.00", "--entry-code"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        while not proc.stdout.readline().startswith("entry code: "):
            assert time.monotonic() < deadline and proc.poll() is None, "the entry code is shown"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    [(sale_id,)] = journal_query(d, "SELECT id FROM transactions WHERE phase='WAITING'")
    status, answer = sim_call(sim, "/sim/wallet/pay-entry-code",
                              {"codeValue": sim.entry_code, "amount": {"currency": "USD", "value": "500"}})
    assert status == 200, answer
    done = cli("reconcile", "--timeout", "30", config=config, data_dir=d)
    assert done.returncode == 0, done.stdout + done.stderr
    assert journal_query(d, "SELECT id, status, payment_id FROM transactions WHERE kind='sale'") == \
        [(sale_id, "SUCCESS", answer["paymentId"])]
