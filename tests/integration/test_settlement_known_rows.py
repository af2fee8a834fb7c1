"""A run hands the rows of the files it just imported to ``rows_for``/``named_ids`` (``known``) instead of reading
them back: for any split of the imported files into "known" and "read", the day's rows and named ids are the same
as reading everything, and the same as plain SQL over the raw ``settlement_rows`` (the rule written out here)."""

from __future__ import annotations

import itertools
import sqlite3
from types import SimpleNamespace

from offline_queue import settlement as store
from offline_queue.journal import Journal
from pos_app.settlement.rows import ReportRow

DAY, NEXT = "2026-12-05", "2026-12-06"


def row(sha, line, request_id, amount, *, type="PAYMENT", day=DAY, kind="transactions"):
    return ReportRow(kind=kind, file=sha, line=line, report_date=day if kind == "transactions" else None,
                     batch="B1" if kind == "settlement" else None, customer_id="CUST", request_id=request_id,
                     transaction_id="T" + request_id, original_id=None, type=type, currency="USD", amount=amount,
                     settle_currency="USD", settle_amount=amount - 1, fee_currency="USD", fee=-1)


FILES = {
    "a" * 64: ("transactions", DAY, [row("a" * 64, 2, "p1", 100), row("a" * 64, 3, "p2", 200),
                                      row("a" * 64, 4, "p3", 300)]),
    "b" * 64: ("settlement", None, [row("b" * 64, 2, "p1", 100, kind="settlement"),
                                    row("b" * 64, 3, "p9", 900, kind="settlement")]),
    "c" * 64: ("transactions", NEXT, [row("c" * 64, 2, "r1", -50, type="REFUND", day=NEXT),
                                       row("c" * 64, 3, "p2", 200, day=NEXT), row("c" * 64, 4, "p8", 800, day=NEXT)]),
    "d" * 64: ("transactions", DAY, [row("d" * 64, 2, "p3", 300)]),   # a later file of the same day
}


def test_known_rows_give_what_reading_them_gives(tmp_path):
    with Journal.open(tmp_path) as j:
        for sha, (kind, day, rows) in FILES.items():
            assert store.import_file(j, SimpleNamespace(sha256=sha, name=sha[:4], kind=kind, report_date=day,
                                                        customer_ids={"CUST"}, rows=rows, summary=[], warnings=[]),
                                     "boss")
        asked = {"r1", "p7"}
        # the rule, in plain SQL over the raw rows: the day's rows, and any row of a request id asked or listed that day
        conn = sqlite3.connect(j.path)
        expected = [tuple(r) for r in conn.execute(
            "SELECT r.file, r.line FROM settlement_rows r JOIN settlement_files f ON f.sha256 = r.file "
            "WHERE r.report_date = ? OR r.request_id IN (SELECT value FROM json_each(?)) "
            "OR r.request_id IN (SELECT request_id FROM settlement_rows WHERE report_date = ?) ORDER BY f.seq, r.line",
            (DAY, '["r1", "p7"]', DAY))]
        named = {x for r in conn.execute("SELECT request_id, transaction_id FROM settlement_rows WHERE report_date = ?",
                                         (DAY,)) for x in r}
        conn.close()
        assert expected == [("a" * 64, 2), ("a" * 64, 3), ("a" * 64, 4), ("b" * 64, 2), ("c" * 64, 2),
                            ("c" * 64, 3), ("d" * 64, 2)]
        for n in range(len(FILES) + 1):
            for chosen in itertools.combinations(FILES, n):
                known = [r for sha in chosen for r in FILES[sha][2]]
                got = store.rows_for(j, DAY, asked, known)
                assert [(r.file, r.line) for r in got] == expected, chosen
                assert got == [next(x for x in FILES[r.file][2] if x.line == r.line) for r in got]
                assert store.named_ids(j, DAY, known) == named, chosen
