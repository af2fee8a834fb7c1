"""``pos-terminal reconcile-settlement`` as a person runs it (issue 18): real processes, a real journal, the
simulator's own report files of a sandbox day, fetched over its real SFTP server.

A day with one of each difference (the simulator's report knobs 9921-9927) is reconciled: every class reaches
``--json``, the exit code says differences were found, and the counts and totals equal plain SQL over the
journal's raw rows. Then the simulator's later files (the T+2 one that completes FX, the next day's with the
late refund) resolve what was pending or missing; a file for another merchant is refused and nothing of it kept.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
import tomli_w
from flowkit import MANAGER_PIN, cli, cli_json, journal_query, set_manager_pin, write_config
from kit import payment_code, usd

from pos_app.runtime import Runtime
from pos_app.settlement import columns as C
from pos_app.sim import reports
from pos_app.sim import scenarios as sc
from pos_app.sim.provision import settlement_doc

pytestmark = pytest.mark.slow

PIN_IN = MANAGER_PIN + "\n"


@pytest.fixture
def day_of_differences(make_sim, tmp_path):
    """A sandbox day: one plain sale, one sale per report knob, and a refund of the late-settling one."""
    sim = make_sim(sftp_port=0)
    config = write_config(sim)
    with config.open("a") as f:
        f.write("\n" + tomli_w.dumps({"settlement": settlement_doc(sim.sftp_url, sim.client_id)}))
    data = tmp_path / "data"
    ids = {}
    with Runtime(config, data, background=False) as rt:
        t = rt.terminal
        for minor in (1000, sc.REPORT_OMITS, sc.REPORT_PHANTOM, sc.REPORT_WRONG_AMOUNT, sc.REPORT_OTHER_CURRENCY,
                      sc.REFUND_SETTLES_LATER, sc.FX_PENDING, sc.REPORT_DUPLICATE):
            sale = t.start_sale(usd(minor), code=payment_code(), alongside=True)
            ids[minor] = sale.id
        ids["refund"] = t.refund(ids[sc.REFUND_SETTLES_LATER], usd(500), "late").id
        t.settle(20)
        day = t.journal.get(ids[1000])["day"]
    assert {s for (s,) in journal_query(data, "SELECT DISTINCT status FROM transactions")} == {"SUCCESS"}
    set_manager_pin(data)
    return sim, config, data, day, ids


def counts_by_sql(data: Path, day: str) -> dict[str, int]:
    return dict(journal_query(data, "SELECT cls, count(*) FROM settlement_findings WHERE day = ? GROUP BY cls",
                              (day,)))


def test_a_day_with_every_difference_fetched_over_sftp_then_resolved_by_later_files(day_of_differences, tmp_path):
    sim, config, data, day, ids = day_of_differences
    code, out = cli_json("reconcile-settlement", "--date", day, config=config, data_dir=data, input=PIN_IN)
    assert code == 1, out
    classes = {f["requestId"]: f["class"] for f in out["findings"]}
    phantom = [r for r in classes if r.startswith("PHANTOM")]
    assert classes[ids[1000]] == "matched"
    assert classes[ids[sc.REPORT_OMITS]] == "missing_at_gateway"
    assert len(phantom) == 1 and classes[phantom[0]] == "missing_in_journal"
    assert classes[ids[sc.REPORT_WRONG_AMOUNT]] == "amount_mismatch"
    assert classes[ids[sc.REPORT_OTHER_CURRENCY]] == "currency_mismatch"
    assert classes[ids[sc.FX_PENDING]] == "pending"
    assert classes[ids[sc.REPORT_DUPLICATE]] == "duplicate"
    # the late refund: nothing fetched for the day names it, not even the next day's batch (the next day's files
    # will, once that day has begun)
    assert journal_query(data, "SELECT count(*) FROM settlement_rows WHERE request_id = ?", (ids["refund"],)) == [(0,)]
    # every difference links to its history, which the command it names really shows
    wrong = next(f for f in out["findings"] if f["requestId"] == ids[sc.REPORT_WRONG_AMOUNT])
    assert wrong["history"] == f"pos-terminal report --txn {ids[sc.REPORT_WRONG_AMOUNT]}"
    code, history = cli_json(*wrong["history"].split()[1:], config=config, data_dir=data)
    assert code == 0 and history["id"] == ids[sc.REPORT_WRONG_AMOUNT]
    # the counts and the totals against plain SQL over the raw rows
    assert {k: v for k, v in out["counts"].items() if v} == counts_by_sql(data, day)
    by_sql = {cur: (n, gross, fee, net) for cur, n, gross, fee, net in journal_query(
        data, "SELECT settle_currency, count(*), sum(settle_amount) - sum(fee), sum(fee), sum(settle_amount) "
              "FROM settlement_rows WHERE kind = 'settlement' AND settle_amount IS NOT NULL GROUP BY 1")}
    assert {cur: (t["count"], t["gross"], t["fee"], t["net"]) for cur, t in out["totals"].items()
            if t["count"]} == by_sql
    fetched = {f["name"] for f in out["imported"]} | {f["name"] for f in out["skipped"]}
    assert f"transactionItems_{day.replace('-', '')}_000.csv" in {f["name"] for f in out["imported"]}
    assert all(not name.endswith(".xlsx") for name in {f["name"] for f in out["imported"]}), fetched

    # the simulator's later files: T+2 (FX complete) and T+1 (the late refund), given as files
    later = tmp_path / "later"
    t = date.fromisoformat(day)
    files = []
    for d in (t, t + timedelta(days=1)):
        files += reports.write_reports(sim.ledger_file, later, d, sim.client_id,
                                       now=reports.day_start(t + timedelta(days=3)))
    code, again = cli_json("reconcile-settlement", *files, "--date", day, config=config, data_dir=data, input=PIN_IN)
    assert code == 1, again   # the knobs' differences stay: only pending and late items resolve
    classes = dict(journal_query(data, "SELECT request_id, cls FROM settlement_findings"))
    assert classes[ids[sc.FX_PENDING]] == "matched"
    assert classes[ids["refund"]] == "matched"
    assert any("already imported on" in s["why"] for s in again["skipped"])   # the batch files fetched before
    assert any("another format" in s["why"] for s in again["skipped"])       # each CSV's XLSX twin
    code, shown = cli_json("reconcile-settlement", "--show", "--date", day, config=config, data_dir=data,
                           input=PIN_IN)
    assert code == 1 and shown["counts"] == again["counts"] == {
        **dict.fromkeys(shown["counts"], 0), **counts_by_sql(data, day)}
    assert journal_query(data, "SELECT count(*) FROM audit WHERE action = 'settlement_reconcile'") == [(2,)]


def test_another_merchants_file_is_refused_and_bad_input_is_said(day_of_differences, tmp_path):
    sim, config, data, day, ids = day_of_differences
    path = tmp_path / f"transactionItems_{day.replace('-', '')}_000.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, C.COLUMNS[C.TRANSACTIONS], restval="")
        w.writeheader()
        w.writerow({"customerId": "SOMEONE_ELSE", "PSP": "ALIPAY_CN", "transactionId": "G1",
                    "transactionRequestId": ids[1000], "transactionType": "PAYMENT", "status": "SUCCESS",
                    "transactionAmountValue": "10.00", "transactionCurrency": "USD"})
        f.write(C.END + "\n")
    done = cli("reconcile-settlement", path, config=config, data_dir=data, input=PIN_IN)
    assert done.returncode == 2, done.stderr
    assert "REFUSED" in done.stderr and "SOMEONE_ELSE" in done.stderr and "Traceback" not in done.stderr
    assert journal_query(data, "SELECT count(*) FROM settlement_rows") == [(0,)]
    for args, words in ((("--sftp", "http://example.com/x"), "sftp://"), (("--date", "tomorrow", path), "date"),
                        (("--show", path), "--show")):
        done = cli("reconcile-settlement", *args, config=config, data_dir=data, input=PIN_IN)
        assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr, done.stderr
    done = cli("reconcile-settlement", config=write_config(sim, "plain.toml"), data_dir=data, input=PIN_IN)
    assert done.returncode == 2 and "nothing to reconcile" in done.stderr and "--sftp" in done.stderr
    done = cli("reconcile-settlement", path, config=config, data_dir=data, input="0000\n")
    assert done.returncode == 2 and "PIN" in done.stderr, done.stderr
