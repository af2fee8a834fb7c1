"""Manager mode without a screen: PINs (scrypt, lockout that survives a restart), the audit log, X and Z
reports (numbered, chained, immutable in the database), review, and their CLI."""

from __future__ import annotations

import json
import sqlite3

import pytest
from flowkit import cli, write_config
from kit import payment_code, usd

from offline_queue.journal import Journal, JournalError
from pos_app import closing
from pos_app.i18n import set_language
from pos_app.roles import LOCK_SECONDS, MANAGER, MAX_TRIES, PinBook, PinError, audit_log
from pos_app.runtime import Runtime


@pytest.fixture(autouse=True)
def english():
    set_language("en")


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_pin_is_stored_as_scrypt_and_checked(tmp_path):
    with Journal.open(tmp_path) as journal:
        book = PinBook(journal)
        assert not book.is_set(MANAGER)
        with pytest.raises(PinError, match="no manager PIN is set yet"):
            book.verify(MANAGER, "1234")
        book.set(MANAGER, "482915")
        book.verify(MANAGER, "482915")
        row = journal.query("SELECT * FROM pins WHERE role='manager'")[0]
        assert b"482915" not in bytes(row["hash"]) and len(row["salt"]) == 16 and row["n"] >= 2 ** 14
        with pytest.raises(PinError, match="already set"):
            book.set(MANAGER, "111111")
        book.set(MANAGER, "111111", current="482915")
        book.verify(MANAGER, "111111")
    raw = (tmp_path / "journal.sqlite").read_bytes()
    assert b"111111" not in raw and b"482915" not in raw


@pytest.mark.parametrize("pin", ["12", "abcd", "1234567890123", ""])
def test_pin_format(tmp_path, pin):
    with Journal.open(tmp_path) as journal, pytest.raises(PinError, match="4 to 12 digits"):
        PinBook(journal).set(MANAGER, pin)


def test_five_wrong_tries_lock_for_five_minutes_even_across_a_restart(tmp_path):
    clock = Clock()
    with Journal.open(tmp_path) as journal:
        book = PinBook(journal, clock=clock)
        book.set(MANAGER, "482915")
        for i in range(1, MAX_TRIES):
            with pytest.raises(PinError, match=f"{MAX_TRIES - i} tries left"):
                book.verify(MANAGER, "000000")
        with pytest.raises(PinError, match="now locked for 5 minutes"):
            book.verify(MANAGER, "000000")
    with Journal.open(tmp_path) as journal:  # a restart does not unlock it
        book = PinBook(journal, clock=clock)
        clock.t += 60
        with pytest.raises(PinError, match="locked for 4 min 0 s"):
            book.verify(MANAGER, "482915")  # even the right PIN waits
        clock.t += LOCK_SECONDS
        book.verify(MANAGER, "482915")
        with pytest.raises(PinError, match="4 tries left"):  # the count starts again after a lock
            book.verify(MANAGER, "000000")
        actions = [e["action"] for e in audit_log(journal)]
        assert actions.count("pin_wrong") == MAX_TRIES + 1 and "pin_set" in actions


def _day_with_sales(sim, tmp_path):
    config = write_config(sim)
    data_dir = tmp_path / "t"
    with Runtime(config, data_dir, background=False) as rt:
        t = rt.terminal
        paid = t.start_sale(usd(1000), code=payment_code())
        t.start_sale(usd(9905), code=payment_code())  # declined
        t.start_sale(usd(250), code=payment_code())
        t.refund(paid.id, usd(300), "damaged")
        t.settle(10)
        day = t.journal.get(paid.id)["day"]
    return config, data_dir, day


def test_z_report_numbers_totals_and_immutability(sim, tmp_path):
    config, data_dir, day = _day_with_sales(sim, tmp_path)
    with Journal.open(data_dir) as journal:
        x = closing.x_report(journal)
        usd_totals = x["totals"]["USD"]
        assert usd_totals["sale"]["SUCCESS"] == {"count": 2, "value": 1250}
        assert usd_totals["sale"]["FAILED"] == {"count": 1, "value": 9905}
        assert usd_totals["refund"]["SUCCESS"] == {"count": 1, "value": 300}
        assert usd_totals["net"] == 950
        assert x["session"]["number"] == 1 and x["session"]["count"] == 4
        z = closing.take_z(journal, by="alice")
        assert z["number"] == 1 and z["totals"] == x["totals"] and z["takenBy"] == "alice" and z["day"] == day
        with pytest.raises(closing.ClosingError, match="nothing to close") as refused:
            closing.take_z(journal, by="alice")
        assert "pos-terminal report --z --number 1" in refused.value.hint
    with Runtime(config, data_dir, background=False) as rt:   # the next sale opens session 2
        rt.terminal.start_sale(usd(700), code=payment_code())
    with Journal.open(data_dir) as journal:
        z2 = closing.take_z(journal, by="bob")
        assert z2["number"] == 2 and z2["session"]["previousZ"] == 1 and z2["totals"]["USD"]["net"] == 700
        assert [r["number"] for r in closing.z_reports(journal)] == [1, 2]
        assert closing.verify_chain(journal) == []
        for sql in ("UPDATE z_reports SET body='{}' WHERE number=1", "DELETE FROM z_reports WHERE number=1",
                    "UPDATE audit SET action='x'", "DELETE FROM audit"):
            with pytest.raises(JournalError, match=r"cannot be altered|append-only"), journal.transaction() as c:
                c.execute(sql)
        assert closing.get_z(journal, number=1) == z
        assert closing.reprint_z(journal, 1) == {**z, "reprint": True}
    # Even with the triggers dropped by hand, the chain tells.
    conn = sqlite3.connect(data_dir / "journal.sqlite")
    conn.execute("DROP TRIGGER z_reports_no_update")
    conn.execute("UPDATE z_reports SET body=replace(body, '1250', '9999') WHERE number=1")
    conn.commit()
    conn.close()
    with Journal.open(data_dir) as journal:
        assert closing.verify_chain(journal) == ["Z report #1 does not match its hash"]


def test_report_cli_x_z_csv_pdf_and_review(sim, tmp_path):
    config, data_dir, day = _day_with_sales(sim, tmp_path)
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
    assert rows[0] == "report,number,day,currency,kind,status,count,value"
    assert f"Z,1,{day},USD,sale,SUCCESS,2,1250" in rows and f"Z,1,{day},USD,net,,,950" in rows
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
