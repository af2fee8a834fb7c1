"""Closing's defects 1 and 2 reproduced as the issue did, through real ``pos-terminal`` processes: a same-day
cancel counted once by report, X and Z, and a sale after a Z in the next Z (a Z with nothing new refused).

Every expected net is a literal written by hand or plain SQL over the journal's raw rows
(:func:`flowkit.journal_net`), never :mod:`pos_app.takings` itself."""

from __future__ import annotations

import json

from flowkit import MANAGER_PIN, cli, cli_json, journal_net, journal_query, set_manager_pin, write_config
from kit import payment_code


def test_a_same_day_cancel_is_counted_once_by_report_x_and_z(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    set_manager_pin(d)
    sales = {}
    for amount in ("10.00", "5.00", "8.00"):
        rc, paid = cli_json("sale", "--amount", amount, "--code", payment_code(), config=config, data_dir=d)
        assert rc == 0 and paid["status"] == "SUCCESS", paid
        sales[amount] = paid["paymentRequestId"]
    rc, cancelled = cli_json("cancel", sales["10.00"], "--reason", "wrong goods", "--by", "ann", config=config,
                             data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and cancelled["status"] == "SUCCESS", cancelled
    rc, refund = cli_json("refund", sales["8.00"], "--amount", "3.00", "--reason", "damaged", "--by", "ann",
                          config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and refund["status"] == "SUCCESS", refund

    # 10.00 + 5.00 + 8.00 paid, the 10.00 given back by its cancel, 3.00 refunded: 10.00 taken.
    everything = [r[0] for r in journal_query(d, "SELECT id FROM transactions")]
    assert len(everything) == 5 and journal_net(d, everything) == 1000
    rc, day = cli_json("report", config=config, data_dir=d)
    assert rc == 0 and day["totals"]["USD"]["net"] == "1000"
    rc, x = cli_json("report", "--x", config=config, data_dir=d)
    assert rc == 0 and x["totals"]["USD"]["net"] == 1000, x["totals"]
    z = cli("report", "--z", "--json", config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert z.returncode == 0, z.stderr
    z = json.loads(z.stdout)
    assert z["number"] == 1 and z["totals"]["USD"]["net"] == 1000 and z["totals"] == x["totals"]
    assert z["totals"]["USD"]["sale"] == {"CANCELLED": {"count": 1, "value": 1000},
                                          "SUCCESS": {"count": 2, "value": 1300}}
    assert z["totals"]["USD"]["cancel"] == {"SUCCESS": {"count": 1, "value": 1000}}
    assert z["totals"]["USD"]["refund"] == {"SUCCESS": {"count": 1, "value": 300}}


def test_sales_after_a_z_land_in_the_next_z_and_a_z_with_nothing_new_is_refused(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    set_manager_pin(d)

    def z(*extra):
        done = cli("report", "--z", "--json", *extra, config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
        return done.returncode, json.loads(done.stdout)

    rc, first = cli_json("sale", "--amount", "10.00", "--code", payment_code(), config=config, data_dir=d)
    assert rc == 0
    rc, z1 = z()
    assert rc == 0 and z1["number"] == 1 and z1["totals"]["USD"]["net"] == 1000
    rc, second = cli_json("sale", "--amount", "5.00", "--code", payment_code(), config=config, data_dir=d)
    assert rc == 0
    rc, x = cli_json("report", "--x", config=config, data_dir=d)
    assert x["session"]["number"] == 2 and x["session"]["since"] == z1["takenAt"] and x["session"]["previousZ"] == 1
    assert x["totals"]["USD"]["net"] == 500 == journal_net(d, [second["paymentRequestId"]])
    rc, z2 = z()
    assert rc == 0 and z2["number"] == 2, "a second Z, not a reprint of the first"
    assert z2["totals"]["USD"]["sale"] == {"SUCCESS": {"count": 1, "value": 500}} and z2["totals"]["USD"]["net"] == 500
    assert z2["session"] == {"number": 2, "since": z1["takenAt"], "previousZ": 1, "count": 1}
    assert z2["day"] == z1["day"], "two Zs on one day"
    covered = dict(journal_query(d, "SELECT id, z_number FROM transactions"))
    assert covered == {first["paymentRequestId"]: 1, second["paymentRequestId"]: 2}

    rc, refused = z()
    assert rc == 2 and refused["error"] == "nothing to close: no transaction has settled since Z report #2"
    assert "pos-terminal report --z --number 2" in refused["hint"]
    rc, reprint = z("--number", "1")
    assert rc == 0 and reprint == {**z1, "reprint": True}
    text = cli("report", "--z", "--number", "1", config=config, data_dir=d, input=f"{MANAGER_PIN}\n").stdout
    assert text.startswith(f"Z REPORT #1  {z1['day']}") and "REPRINT" in text and f"sha256 {z1['sha256']}" in text
    assert journal_query(d, "SELECT number FROM z_reports ORDER BY number") == [(1,), (2,)]
    actions = [a for (a,) in journal_query(d, "SELECT action FROM audit WHERE action LIKE 'z_report%' ORDER BY seq")]
    assert actions == ["z_report", "z_report", "z_report_reprint", "z_report_reprint"]
