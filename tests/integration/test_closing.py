"""Closing (issue 14, defects 1 and 2): one net for the day report, the X and the Z, and a Z that closes a
session (each transaction in exactly one Z, several Zs a day, a Z with nothing new refused).

Real journals and the real simulator, through the terminal's API in this process (the defects' repros
through ``pos-terminal`` processes are e2e/test_closing_cli.py, the net rule over random sessions
unit/test_closing_net.py). Every expected net is either a literal written by hand or plain SQL over the
journal's raw rows (:func:`flowkit.journal_net`), never :mod:`pos_app.takings` itself.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
import sqlite_utils
from flowkit import gateway_down, journal_net, journal_query, write_config
from kit import payment_code, usd

from offline_queue import schema
from offline_queue.journal import Journal, JournalError
from pos_app import closing
from pos_app.i18n import set_language
from pos_app.money import Money
from pos_app.printout import Till
from pos_app.report import day_report
from pos_app.runtime import Runtime
from pos_app.sim import scenarios


@pytest.fixture(autouse=True)
def english():
    set_language("en")


# -- refunds and cancels across sessions -----------------------------------------------------------------------
def test_refunds_full_partial_and_several_and_a_cancel_in_a_later_session(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        a = t.start_sale(usd(2000), code=payment_code())
        b = t.start_sale(usd(600), code=payment_code())
        c = t.start_sale(usd(300), code=payment_code())
        e = t.start_sale(usd(900), code=payment_code())
        f = t.start_sale(usd(1200), code=payment_code())
        g = t.start_sale(usd(450), code=payment_code())
        refunds = [t.refund(a.id, usd(500), "one"), t.refund(a.id, usd(700), "two"),
                   t.refund(a.id, usd(800), "the rest"), t.refund(b.id, usd(600), "all of it")]
        cancel_g = t.cancel(g.id)              # paid and cancelled in the same session: nets to 0
        t.settle(20)
        assert {t.load(x.id).status for x in refunds} == {"SUCCESS"} and t.load(cancel_g.id).status == "SUCCESS"
        session1 = [a.id, b.id, c.id, e.id, f.id, g.id, cancel_g.id] + [x.id for x in refunds]
        # 20.00 + 6.00 + 3.00 + 9.00 + 12.00 paid; 20.00 of a and 6.00 of b refunded; g in and out
        assert journal_net(d, session1) == 2400
        x1 = closing.x_report(t.journal)
        assert x1["totals"]["USD"]["net"] == 2400 and x1["session"]["count"] == len(session1)
        z1 = closing.take_z(t.journal, by="ann")
        assert z1["totals"] == x1["totals"]

        later = [t.refund(e.id, usd(200), "late"), t.cancel(f.id)]   # about sales Z #1 already counted
        t.settle(20)
        assert journal_net(d, [x.id for x in later]) == -1400
        x2 = closing.x_report(t.journal)
        assert x2["session"]["number"] == 2 and x2["totals"]["USD"]["net"] == -1400
        assert x2["totals"]["USD"]["sale"] == {}, "the sales were counted by Z #1"
        z2 = closing.take_z(t.journal, by="ann")
        assert z2["totals"]["USD"]["net"] == -1400 and z2["totals"]["USD"]["cancel"] == {
            "SUCCESS": {"count": 1, "value": 1200}}
        assert closing.reprint_z(t.journal, 1)["totals"]["USD"]["net"] == 2400, "the first Z is as it was"
        day = t.journal.get(a.id)["day"]
        every = [r[0] for r in journal_query(d, "SELECT id FROM transactions WHERE day=?", (day,))]
        assert int(day_report(t.journal, day)["totals"]["USD"]["net"]) == journal_net(d, every) == 1000
        assert closing.day_totals(t.journal, day)["USD"]["net"] == 1000


# -- the summary in words: every figure against plain SQL over the raw rows --------------------------------------
def sql_summary(data_dir, ids) -> dict[str, dict]:
    """Per currency, what these rows took, from the raw rows and never through pos_app.takings: a sale counts
    when paid, or when a manager's cancel of it succeeded (the cancel row is the reversal); a refund or a
    cancel when it succeeded. The average is SQLite's AVG over the counted sales, rounded by SQLite."""
    ids = list(ids)
    marks = ",".join("?" * len(ids))
    rows = journal_query(data_dir, f"""
        SELECT t.currency,
          CASE WHEN t.kind = 'sale' AND (t.status = 'SUCCESS' OR (t.status = 'CANCELLED' AND EXISTS (
                 SELECT 1 FROM transactions c WHERE c.parent = t.id AND c.kind = 'cancel' AND c.status = 'SUCCESS')))
               THEN 'gross'
               WHEN t.kind = 'refund' AND t.status = 'SUCCESS' THEN 'refunds'
               WHEN t.kind = 'cancel' AND t.status = 'SUCCESS' THEN 'cancels' END AS line,
          COUNT(*), SUM(t.amount), CAST(ROUND(AVG(t.amount)) AS INTEGER)
        FROM transactions t WHERE t.id IN ({marks}) GROUP BY 1, 2""", ids)
    out: dict[str, dict] = {}
    for currency, line, count, value, average in rows:
        cur = out.setdefault(currency, dict.fromkeys(("gross", "refunds", "cancels"), (0, 0)) | {"average": 0})
        if line is not None:
            cur[line] = (count, value)
            if line == "gross":
                cur["average"] = average
    return out


def check_summary(summary: dict, data_dir, ids) -> None:
    """A report's ``summary`` against :func:`sql_summary` and :func:`flowkit.journal_net`, in minor units and
    as printed (major units, the currency's decimals, spelled out here)."""
    expected = sql_summary(data_dir, ids)
    assert sorted(summary) == sorted(expected)
    for currency, cur in summary.items():
        def major(v: int, exp: int = {"JPY": 0, "KWD": 3}.get(currency, 2)) -> str:
            return str(v) if exp == 0 else f"{'-' if v < 0 else ''}{abs(v) // 10 ** exp}.{abs(v) % 10 ** exp:0{exp}d}"
        for line in ("gross", "refunds", "cancels"):
            count, value = expected[currency][line]
            assert (cur[line]["count"], cur[line]["value"], cur[line]["amount"]) == (count, value, major(value)), line
        net = journal_net(data_dir, journal_ids(data_dir, ids, currency))
        assert (cur["net"]["value"], cur["net"]["amount"]) == (net, major(net))
        assert cur["count"] == expected[currency]["gross"][0]
        assert (cur["average"]["value"], cur["average"]["amount"]) == (expected[currency]["average"],
                                                                       major(expected[currency]["average"]))


def journal_ids(data_dir, ids, currency) -> list[str]:
    return [i for (i,) in journal_query(data_dir, "SELECT id FROM transactions WHERE currency = ?", (currency,))
            if i in set(ids)]


def test_the_summary_of_x_z_and_the_day_is_what_the_raw_rows_add_up_to(sim, tmp_path):
    """Gross sales, refunds, cancels, net, count and average sale per currency, in the X, the Z and the day's
    report, each equal to plain SQL over the journal's rows; the heading names the till and who took it."""
    config, d = write_config(sim), tmp_path / "t"
    till = Till("Corner Shop", "S042", "T007")
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        a = t.start_sale(usd(1000), code=payment_code())
        b = t.start_sale(usd(500), code=payment_code())
        c = t.start_sale(usd(801), code=payment_code())
        t.start_sale(usd(scenarios.BALANCE_NOT_ENOUGH), code=payment_code())     # declined: not taken
        order = t.start_sale(usd(700), order_code=True)
        t.abort(order.id)                                                       # closed by the flow: not taken
        jpy = t.start_sale(Money(1234, "JPY"), code=payment_code(), alongside=True)
        t.start_sale(Money(99, "JPY"), code=payment_code(), alongside=True)
        t.start_sale(Money(12345, "KWD"), code=payment_code(), alongside=True)
        t.refund(c.id, usd(300), "damaged")
        t.refund(c.id, usd(100), "one more")
        t.refund(jpy.id, Money(34, "JPY"), "short")
        t.cancel(b.id)                                                          # reversed in the same session
        t.settle(20)
        session1 = [i for (i,) in journal_query(d, "SELECT id FROM transactions")]
        x = closing.x_report(t.journal, till=till, by="ann", role="manager")
        check_summary(x["summary"], d, session1)
        assert x["summary"]["USD"]["gross"] == {"count": 3, "value": 2301, "amount": "23.01"}   # by hand, too
        assert x["summary"]["USD"]["average"]["amount"] == "7.67" and x["summary"]["USD"]["net"]["amount"] == "14.01"
        assert (x["store"], x["storeId"], x["terminalId"], x["takenBy"], x["takenAs"]) == (
            "Corner Shop", "S042", "T007", "ann", "manager")
        z = closing.take_z(t.journal, by="bob", role="manager", till=till)
        assert z["summary"] == x["summary"] and z["store"] == "Corner Shop" and z["takenBy"] == "bob"
        assert closing.reprint_z(t.journal, 1)["summary"] == x["summary"], "stored with the Z, as printed then"

        later = t.refund(a.id, usd(250), "late")                                # session 2: a refund only
        t.settle(20)
        x2 = closing.x_report(t.journal, till=till, by="ann", role="manager")
        check_summary(x2["summary"], d, [later.id])
        assert x2["summary"]["USD"]["net"]["amount"] == "-2.50" and x2["summary"]["USD"]["average"]["value"] == 0
        day = t.journal.get(a.id)["day"]
        report = day_report(t.journal, day, till=till, by="ann", role="manager")
        check_summary(report["summary"], d, [i for (i,) in journal_query(d, "SELECT id FROM transactions WHERE day=?",
                                                                         (day,))])
        assert report["store"] == "Corner Shop" and report["terminalId"] == "T007"


def test_the_report_lines_carry_the_till_who_and_the_summary_in_major_units(sim, tmp_path):
    config, d = write_config(sim), tmp_path / "t"
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        paid = t.start_sale(usd(1000), code=payment_code())
        t.refund(paid.id, usd(250), "damaged")
        t.settle(20)
        z = closing.take_z(t.journal, by="ann", role="manager", till=Till("Corner Shop", "S042", "T007"))
    text = "\n".join(closing.lines(z))
    assert text.startswith(f"Z REPORT #1  {z['day']}")
    for line in ("Store                  Corner Shop (S042)", "Terminal               T007",
                 "Session                1, since ", "Taken by               ann (manager)",
                 "  Gross sales                 1          10.00", "  Refunds                     1           2.50",
                 "  Net                                     7.50", "  Average sale                           10.00"):
        assert line in text, line
    assert "1000" not in text and "750" not in text, "amounts in major units only"
    rows = list(csv.DictReader(io.StringIO(closing.write_csv(z, None))))
    net = next(r for r in rows if r["kind"] == "net")
    assert (net["amount"], net["value"], net["store"], net["terminalId"], net["takenBy"], net["session"]) == (
        "7.50", "750", "Corner Shop", "T007", "ann", "1")


def test_a_cancel_on_a_later_day_subtracts_on_that_day(sim, tmp_path):
    """The day report is per calendar day: the sale counts on its day, the cancel on the cancel's."""
    config, d = write_config(sim), tmp_path / "t"
    with Runtime(config, d, background=False) as rt:
        t = rt.terminal
        sale = t.start_sale(usd(1000), code=payment_code())
        cancel = t.cancel(sale.id)
        t.settle(20)
        assert t.load(sale.id).status == "CANCELLED" and t.load(cancel.id).status == "SUCCESS"
        with t.journal.transaction() as c:   # as if the cancel had been made the next day
            c.execute("UPDATE transactions SET day='2031-01-02' WHERE id=?", (cancel.id,))
        sale_day = t.journal.get(sale.id)["day"]
        assert day_report(t.journal, sale_day)["totals"]["USD"]["net"] == "1000" == str(journal_net(d, [sale.id]))
        later = day_report(t.journal, "2031-01-02")["totals"]["USD"]["net"]
        assert later == "-1000" == str(journal_net(d, [cancel.id]))


# -- what is not taken: failed, voided, closed by the flow, queued, accepted at risk --------------------------------
def test_failed_voided_aborted_queued_and_accepted_at_risk_sales_are_not_taken(make_sim, tmp_path):
    sim, back = gateway_down(make_sim)
    config = write_config(sim, payments={"code_validity": 300},
                          offline={"merchant_risk": True, "max_per_payment": {"USD": "20.00"},
                                   "max_total": {"USD": "20.00"}})
    d = tmp_path / "t"
    with Runtime(config, d, receiver=False, background=False) as rt:     # the gateway is down
        t = rt.terminal
        at_risk = t.start_sale(usd(1500), code=payment_code())
        queued = t.start_sale(usd(800), code=payment_code())                     # over the total: the customer waits
        voided = t.start_sale(usd(250), code=payment_code(), alongside=True)
        assert t.abort(voided.id).phase.value == "VOIDED"
        assert (t.load(at_risk.id).status, t.load(at_risk.id).accepted_at_risk) == ("QUEUED", True)
        assert (t.load(queued.id).status, t.load(queued.id).accepted_at_risk) == ("QUEUED", False)
        z1 = closing.take_z(t.journal, by="ann")
    assert z1["totals"] == {"USD": {"sale": {"FAILED": {"count": 1, "value": 250}}, "refund": {}, "cancel": {},
                                    "net": 0}}
    assert journal_net(d, [at_risk.id, queued.id, voided.id]) == 0
    assert [(i["id"], i["status"], i["acceptedAtRisk"]) for i in z1["differences"]["stillOpen"]] == [
        (at_risk.id, "QUEUED", True), (queued.id, "QUEUED", False)]
    assert "accepted at the merchant's risk" in "\n".join(closing.lines(z1))

    sim = back()
    with Runtime(config, d, receiver=False, background=False) as rt:     # the link is back
        t = rt.terminal
        assert t.settle(30)["still_open"] == 0
        declined = t.start_sale(usd(scenarios.BALANCE_NOT_ENOUGH), code=payment_code())
        order = t.start_sale(usd(700), order_code=True)
        assert t.load(order.id).phase.value == "WAITING"
        t.abort(order.id)                                                # closed by the flow: no cancel row
        stuck = t.start_sale(usd(scenarios.STUCK), code=payment_code(), alongside=True)
        t.settle(30)
        assert {i: t.load(i).status for i in (declined.id, order.id, stuck.id)} == dict.fromkeys(
            (order.id, stuck.id), "CANCELLED") | {declined.id: "FAILED"}
        assert not journal_query(d, "SELECT id FROM transactions WHERE kind='cancel'")
        x = closing.x_report(t.journal)
        z2 = closing.take_z(t.journal, by="ann")
    session2 = [at_risk.id, queued.id, declined.id, order.id, stuck.id]
    assert journal_net(d, session2) == 2300                                  # the two queued ones, paid at last
    assert z2["totals"] == x["totals"] and z2["totals"]["USD"]["net"] == 2300
    assert z2["totals"]["USD"]["sale"] == {"CANCELLED": {"count": 2, "value": 700 + scenarios.STUCK},
                                           "FAILED": {"count": 1, "value": scenarios.BALANCE_NOT_ENOUGH},
                                           "SUCCESS": {"count": 2, "value": 2300}}
    assert z2["differences"]["stillOpen"] == [] and [i["id"] for i in z2["differences"][
        "settledByReconciliation"]] == [stuck.id]
    covered = dict(journal_query(d, "SELECT id, z_number FROM transactions"))
    assert covered == {voided.id: 1} | dict.fromkeys(session2, 2)


# -- the upgrade from one Z per day ---------------------------------------------------------------------------
def _row(id_, day, created, status="SUCCESS", final=1, amount=100):
    return {"id": id_, "kind": "sale", "currency": "USD", "amount": amount, "status": status, "phase": "PAID",
            "state": "{}", "final": final, "created_at": created, "updated_at": created, "day": day}


def test_the_upgrade_marks_what_the_old_per_day_zs_closed(tmp_path):
    conn = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    db = sqlite_utils.Database(conn)
    for migration in schema.MIGRATIONS[:4]:
        migration(db)
    conn.execute("PRAGMA user_version = 4")
    rows = [_row("A", "2030-01-01", 100.0), _row("OPEN", "2030-01-01", 110.0, status="UNKNOWN", final=0),
            _row("LATE", "2030-01-01", 300.0), _row("B", "2030-01-02", 400.0)]
    db["transactions"].insert_all(rows)
    body = json.dumps({"type": "Z", "day": "2030-01-01", "differences": {
        "stillOpen": [{"id": "OPEN"}], "needsReview": [], "settledByReconciliation": []}})
    conn.execute("INSERT INTO z_reports VALUES (1, '2030-01-01', 200.0, 'ann', ?, 'x', NULL)", (body,))
    conn.execute("UPDATE transactions SET status='SUCCESS', final=1 WHERE id='OPEN'")   # settled since
    conn.close()

    with Journal.open(tmp_path) as journal:
        covered = {r["id"]: r["z_number"] for r in journal.query("SELECT id, z_number FROM transactions")}
        # Z #1 closed A; it listed OPEN as open, and LATE came after it: the next Z counts them.
        assert covered == {"A": 1, "OPEN": None, "LATE": None, "B": None}
        z = closing.take_z(journal, by="bob", now=500.0)
        assert z["number"] == 2 and z["session"]["count"] == 3 and z["totals"]["USD"]["net"] == 300
        with journal.transaction() as c:   # several Zs a day now
            c.execute("INSERT INTO transactions (id, kind, currency, amount, status, phase, state, final, "
                      "created_at, updated_at, day) VALUES ('C', 'sale', 'USD', 5, 'SUCCESS', 'PAID', '{}', 1, "
                      "600, 600, ?)", (z["day"],))
        assert closing.take_z(journal, by="bob", now=700.0)["number"] == 3
        for sql in ("UPDATE z_reports SET body='{}'", "DELETE FROM z_reports"):   # still append-only
            with pytest.raises(JournalError, match="cannot be altered"), journal.transaction() as c:
                c.execute(sql)


