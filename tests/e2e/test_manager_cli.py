"""The manager's reports and review through ``pos-terminal``: X, Z (the manager PIN read from stdin, a wrong one
counted), its CSV and PDF, a Z with nothing new refused, a reprint, and the words for what cannot be."""

from __future__ import annotations

import json

from flowkit import cli, day_of_sales

from offline_queue.journal import Journal
from pos_app.roles import MANAGER, PinBook, audit_log


def test_report_cli_x_z_csv_pdf_and_review(sim, tmp_path):
    config, data_dir, day = day_of_sales(sim, tmp_path / "t")
    with Journal.open(data_dir) as journal:
        PinBook(journal).set(MANAGER, "482915")
    done = cli("report", "--x", "--json", config=config, data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["USD"]["net"] == 950
    wrong = cli("report", "--z", config=config, data_dir=data_dir, input="000000\n")
    assert wrong.returncode == 2 and "wrong PIN (4 tries left" in wrong.stderr
    pdf, csv = tmp_path / "z.pdf", tmp_path / "z.csv"
    done = cli("report", "--z", "--pdf", pdf, "--csv", csv, config=config, data_dir=data_dir, input="482915\n")
    assert done.returncode == 0, done.stderr
    assert "Z REPORT #1" in done.stdout and "differences: 0 still open" in done.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    rows = csv.read_text().splitlines()
    assert rows[0] == ("report,number,day,currency,kind,status,count,value,amount,session,store,storeId,terminalId,"
                       "takenAt,takenBy")
    assert any(r.startswith(f"Z,1,{day},USD,sale,SUCCESS,2,1250,12.50,1,") for r in rows)
    assert any(r.startswith(f"Z,1,{day},USD,net,,,950,9.50,1,") for r in rows)
    again = cli("report", "--z", "--json", config=config, data_dir=data_dir, input="482915\n")
    assert again.returncode == 2 and "nothing to close" in json.loads(again.stdout)["error"]
    assert "pos-terminal report --z --number 1" in json.loads(again.stdout)["hint"]
    reprint = cli("report", "--z", "--number", "1", "--json", config=config, data_dir=data_dir, input="482915\n")
    assert reprint.returncode == 0, reprint.stderr
    assert json.loads(reprint.stdout)["number"] == 1 and json.loads(reprint.stdout)["reprint"] is True
    missing = cli("report", "--z", "--number", "7", config=config, data_dir=data_dir, input="482915\n")
    assert missing.returncode == 2 and "no Z report #7" in missing.stderr and "numbered 1 to 1" in missing.stderr
    dated = cli("report", "--x", "--date", day, config=config, data_dir=data_dir)
    assert dated.returncode == 2 and "--date is for the day's report" in dated.stderr
    with Journal.open(data_dir) as journal:
        actions = [e["action"] for e in audit_log(journal)]
    assert actions.count("z_report") == 1 and actions.count("z_report_reprint") == 1
    review = cli("review", "--json", config=config, data_dir=data_dir)
    assert json.loads(review.stdout) == {"items": []}


def test_pin_set_refuses_the_managers_pin_for_the_technician_in_words(tmp_path):
    data_dir = tmp_path / "t"
    done = cli("pin", "set", "manager", data_dir=data_dir, input="482915\n482915\n")
    assert done.returncode == 0, done.stderr
    same = cli("pin", "set", "technician", data_dir=data_dir, input="482915\n482915\n")
    assert same.returncode == 2, same.stderr
    assert "the technician PIN may not be the same as the manager PIN" in same.stderr
    assert "choose another PIN: each mode has its own" in same.stderr and "Traceback" not in same.stderr
    with Journal.open(data_dir) as journal:
        assert not PinBook(journal).is_set("technician")
    other = cli("pin", "set", "technician", data_dir=data_dir, input="135790\n135790\n")
    assert other.returncode == 0, other.stderr


def test_the_day_report_reads_a_decline_as_declined(sim, tmp_path):
    """Issue 15, 2.6: the 99.05 decline (the customer's balance) reads "Declined" in the day's lines, as the
    cashier's screen said it; which sale is the decline is found in plain SQL, not from the report."""
    config, data_dir, _day = day_of_sales(sim, tmp_path / "t")
    with Journal.open(data_dir) as journal:
        declined = journal.query("SELECT id FROM transactions WHERE kind='sale' AND status='FAILED' "
                                 "AND result_code='USER_BALANCE_NOT_ENOUGH'")[0]["id"]
    done = cli("report", config=config, data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if declined in x)
    assert "Declined" in line and "Not paid" not in line
