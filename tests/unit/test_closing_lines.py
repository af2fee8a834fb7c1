"""How an X or Z reads, pure: the heading and summary the window shows (Report.heading, Report.figures), the
text lines, and a Z stored before the till and the summary existed, still printed as it was taken."""

from __future__ import annotations

import csv
import io

import pytest

from pos_app import closing, printout
from pos_app.i18n import set_language
from pos_app.services.closing import Report

X = {"type": "X", "day": "2030-01-01", "takenAt": 1_893_499_200.0, "takenBy": "manager", "takenAs": "manager",
     "store": None, "storeId": None, "terminalId": None,
     "session": {"number": 3, "since": None, "previousZ": 2, "count": 0},
     "totals": {}, "summary": {}, "differences": {"stillOpen": [], "needsReview": [], "settledByReconciliation": []}}
OLD_Z = {"type": "Z", "number": 1, "day": "2030-01-01", "takenAt": 200.0, "takenBy": "ann",
         "totals": {"USD": {"sale": {"SUCCESS": {"count": 1, "value": 100}}, "refund": {}, "cancel": {}, "net": 100}},
         "differences": {"stillOpen": [], "needsReview": [], "settledByReconciliation": []}, "sha256": "ab"}


@pytest.fixture(autouse=True)
def english():
    set_language("en")


def test_an_x_of_an_empty_session_on_an_unknown_till_says_so():
    report = Report(X, closing.lines(X), closing.write_csv)
    assert report.heading == [("Store", "not known"), ("Terminal", "not known"), ("Business day", "2030-01-01"),
                              ("Session", "3, no transaction yet; after Z report #2"), ("Transactions", "0"),
                              ("Taken by", "manager"), ("Taken at", printout.when(X["takenAt"]))]
    assert report.figures == {}
    assert report.lines[0] == "X REPORT  2030-01-01"


def test_a_z_stored_before_the_till_and_the_summary_reprints_as_it_was():
    lines = closing.lines({**OLD_Z, "reprint": True})
    assert lines[:3] == ["Z REPORT #1  2030-01-01", "REPRINT", "Business day           2030-01-01"]
    assert "  sale    Paid                1           1.00" in lines
    assert "  net                                     1.00" in lines
    rows = list(csv.DictReader(io.StringIO(closing.write_csv(OLD_Z, None))))
    assert [(r["kind"], r["value"], r["amount"], r["store"]) for r in rows] == [("sale", "100", "1.00", ""),
                                                                              ("net", "100", "1.00", "")]


def test_figures_are_the_summary_in_words_per_currency():
    summary = {"JPY": {"gross": {"count": 2, "value": 1333, "amount": "1333"},
                       "refunds": {"count": 1, "value": 34, "amount": "34"},
                       "cancels": {"count": 0, "value": 0, "amount": "0"}, "net": {"value": 1299, "amount": "1299"},
                       "count": 2, "average": {"value": 667, "amount": "667"}}}
    report = Report({**X, "summary": summary}, [], closing.write_csv)
    assert [(f.key, f.label, f.count, f.amount) for f in report.figures["JPY"]] == [
        ("gross", "Gross sales", 2, "1333"), ("refunds", "Refunds", 1, "34"), ("cancels", "Cancels", 0, "0"),
        ("net", "Net", None, "1299"), ("average", "Average sale", None, "667")]


def test_wide_labels_keep_the_columns():
    lines = [f"{printout.ljust(label, 10)}|" for label in ("净额", "Net", "平均 sale")]
    assert {printout.width(line) for line in lines} == {11}
    assert printout.rjust("退款", 6) == "  退款"


def test_who_took_it_reads_in_the_persons_language():
    """The counter's default asker is the role "cashier", not a name: in zh_CN it reads in Chinese, as the
    role beside it does (the zh walk found "cashier" left in English on the X and Z)."""
    from pos_app import printout
    from pos_app.i18n import set_language

    report = {"takenBy": "cashier", "takenAs": "manager"}
    try:
        set_language("en")
        assert printout.who(report) == "cashier (manager)"
        assert printout.who({"takenBy": "ann", "takenAs": "manager"}) == "ann (manager)"
        assert printout.who({"takenBy": "manager", "takenAs": "manager"}) == "manager"
        set_language("zh_CN")
        words = printout.who(report)
        assert words is not None and "cashier" not in words and "manager" not in words
    finally:
        set_language("en")
