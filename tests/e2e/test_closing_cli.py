"""Closing's defects 1 and 2 reproduced as the issue did, through real ``pos-terminal`` processes: a same-day
cancel counted once by report, X and Z, and a sale after a Z in the next Z (a Z with nothing new refused).

Every expected net is a literal written by hand or plain SQL over the journal's raw rows
(:func:`flowkit.journal_net`), never :mod:`pos_app.takings` itself."""

from __future__ import annotations

import csv
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


def _shop(config):
    """The config's store and terminal renamed, so the reports can only have them from this file."""
    text = config.read_text()
    for key, old, new in (("store_name", "Sandbox Store 1", "街角小店 Corner Shop"), ("store_id", "S001", "S042"),
                          ("terminal_id", "T001", "T007")):
        assert f'{key} = "{old}"' in text
        text = text.replace(f'{key} = "{old}"', f'{key} = "{new}"')
    config.write_text(text)
    return config


def test_x_z_csv_pdf_and_history_name_the_till_who_and_major_units(sim, tmp_path):
    """Through pos-terminal processes: the X and the Z name the store and terminal of --config and who asked
    (--by), their summary is the raw rows' (plain SQL), the CSV and the PDF say the same in major units, the
    PDF in Chinese too, and report --txn tells a refund's history in words."""
    from pypdf import PdfReader

    config, d = _shop(write_config(sim)), tmp_path / "t"
    set_manager_pin(d)
    ids = {}
    for amount in ("10.00", "2.50"):
        rc, paid = cli_json("sale", "--amount", amount, "--code", payment_code(), config=config, data_dir=d)
        assert rc == 0 and paid["status"] == "SUCCESS", paid
        ids[amount] = paid["paymentRequestId"]
    rc, refund = cli_json("refund", ids["10.00"], "--amount", "3.00", "--reason", "damaged", "--by", "ann",
                          config=config, data_dir=d, input=f"{MANAGER_PIN}\n")
    assert rc == 0 and refund["status"] == "SUCCESS", refund

    [(gross, sales)] = journal_query(d, "SELECT SUM(amount), COUNT(*) FROM transactions WHERE kind='sale' "
                                        "AND status='SUCCESS'")
    [(refunded,)] = journal_query(d, "SELECT SUM(amount) FROM transactions WHERE kind='refund' AND status='SUCCESS'")
    net = journal_net(d, [r[0] for r in journal_query(d, "SELECT id FROM transactions")])
    assert (gross, sales, refunded, net) == (1250, 2, 300, 950)

    rc, x = cli_json("report", "--x", "--by", "carol", config=config, data_dir=d)
    assert rc == 0, x
    assert (x["store"], x["storeId"], x["terminalId"], x["takenBy"], x["takenAs"]) == (
        "街角小店 Corner Shop", "S042", "T007", "carol", "cashier")
    usd = x["summary"]["USD"]
    assert (usd["gross"]["value"], usd["count"], usd["refunds"]["value"], usd["net"]["value"]) == (
        gross, sales, refunded, net)
    assert (usd["gross"]["amount"], usd["refunds"]["amount"], usd["net"]["amount"], usd["average"]["amount"]) == (
        "12.50", "3.00", "9.50", "6.25")

    pdf, csv_file = tmp_path / "z.pdf", tmp_path / "z.csv"
    done = cli("report", "--z", "--by", "bob", "--pdf", pdf, "--csv", csv_file, config=config, data_dir=d,
               input=f"{MANAGER_PIN}\n")
    assert done.returncode == 0, done.stderr
    for text in (done.stdout, PdfReader(pdf).pages[0].extract_text()):
        for words in ("Z REPORT #1", "街角小店 Corner Shop (S042)", "T007", "bob (manager)", "Gross sales", "12.50",
                      "Refunds", "3.00", "9.50", "Average sale", "6.25"):
            assert words in text, (words, text)
        assert "1250" not in text and " 950" not in text
    rows = list(csv.DictReader(csv_file.open(encoding="utf-8")))
    lines = {r["kind"]: r for r in rows if r["status"] == ""}
    assert {k: (r["count"], r["value"], r["amount"]) for k, r in lines.items()} == {
        "gross": ("2", "1250", "12.50"), "refunds": ("1", "300", "3.00"), "cancels": ("0", "0", "0.00"),
        "net": ("", "950", "9.50"), "average": ("", "625", "6.25")}
    assert {(r["store"], r["storeId"], r["terminalId"], r["takenBy"], r["session"], r["number"]) for r in rows} == {
        ("街角小店 Corner Shop", "S042", "T007", "bob", "1", "1")}

    rc, story = cli_json("report", "--txn", refund["refundRequestId"], config=config, data_dir=d)
    assert rc == 0 and story["kind"] == "refund" and story["parent"] == ids["10.00"]
    said = [e["words"] for e in story["timeline"]]
    assert said[0] == "Refund of 3.00 USD requested by ann (manager) — damaged"
    assert "Gateway: refunded" in said and "Result of the refund: Done" in said
    events = journal_query(d, "SELECT COUNT(*) FROM events WHERE txn=?", (refund["refundRequestId"],))[0][0]
    assert len(said) == events and all("{" not in w for w in said)
    text = cli("report", "--txn", ids["10.00"], config=config, data_dir=d).stdout
    assert "Pay sent to the gateway" in text and "Refund of 3.00 USD requested by ann (manager)" in text


def test_a_sandbox_report_names_the_sandbox_till_once_it_has_one(tmp_path):
    """No --config: the sandbox's till, from the config the simulator wrote in the data directory; before
    the sandbox ever started there is none, and the report says so instead of failing."""
    d = tmp_path / "t"
    set_manager_pin(d)                                  # a journal, and no sandbox started yet
    rc, x = cli_json("report", "--x", data_dir=d)
    assert rc == 0 and (x["store"], x["terminalId"]) == (None, None)
    assert "not known" in cli("report", "--x", data_dir=d).stdout
    rc, paid = cli_json("sale", "--amount", "4.00", "--code", payment_code(), data_dir=d)
    assert rc == 0 and paid["status"] == "SUCCESS", paid
    rc, x = cli_json("report", "--x", data_dir=d)
    assert (x["store"], x["storeId"], x["terminalId"]) == ("Sandbox Store 1", "S001", "T001")
    assert x["summary"]["USD"]["gross"]["amount"] == "4.00"
