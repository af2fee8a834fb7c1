"""The day's transactions and totals: what a manager checks at closing time.

Per calendar day, whatever the Z reports closed: the net is :mod:`pos_app.takings`' one rule, so a
sale reversed by a manager's cancel on a later day counts on its own day and the cancel on the later
one. Read-only: it opens the journal without the instance lock (WAL lets it read while the terminal
writes), and reads one day through the ``(day, created_at)`` index, so the journal's size does not
matter, only the day's. Like the X and Z it names its till and who printed it, and carries the takings in
words (``summary``, :mod:`pos_app.printout`).
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from offline_queue import ledger
from offline_queue.journal import Journal

from . import printout, takings
from .i18n import _
from .money import Money, format_minor
from .printout import Till
from .vocabulary import KIND_WORDS, KINDS, REFUND, SALE, TENDER_WORDS, status_words

CSV_FIELDS = ("createdAt", "kind", "status", "paymentRequestId", "paymentId", "refundRequestId", "tender",
              "currency", "value", "amount", "resultCode", "description", "store", "storeId", "terminalId")


def transaction_json(r) -> dict:
    """One row of a day as the day's report lists it (a refund or cancel named by its sale's ids too)."""
    if r["kind"] == SALE:
        ids = {"paymentRequestId": r["id"], "paymentId": r["payment_id"]}
    else:
        ids = {"paymentRequestId": r["parent"], "paymentId": r["parent_payment_id"]}
        if r["kind"] == REFUND:
            ids["refundRequestId"] = r["id"]
    return {**ids, "kind": r["kind"], "status": r["status"], "tender": r["tender"],
            "amount": Money(r["amount"], r["currency"]).to_api(), "resultCode": r["result_code"],
            "description": r["description"], "createdAt": r["created_at"]}


def day_figures(rows) -> dict:
    """A day's ``count``, ``totals`` per currency, kind and status (values as strings, as on the wire; a kind
    the day has no row of is left out) and ``summary``: :mod:`pos_app.takings`' one rule, for a counter's day
    and for the store's (:mod:`pos_app.store.reports`), so the two cannot disagree."""
    rows = list(rows)
    totals: dict[str, dict] = {}
    for currency, cur in takings.totals(rows).items():
        totals[currency] = {kind: {status: {"count": e["count"], "value": str(e["value"])} for status, e in by.items()}
                            for kind, by in sorted((k, cur[k]) for k in KINDS) if by}
        totals[currency]["net"] = str(cur["net"])
    return {"count": len(rows), "totals": totals, "summary": printout.summary_json(takings.summary(rows))}


def day_report(journal: Journal, day: str, *, till: Till | None = None, by: str | None = None,
               role: str | None = None, now: float | None = None) -> dict:
    """One business day: its transactions, totals per kind and status (values as strings, as on the wire),
    and the ``summary`` (the X's and Z's shape); ``by``/``role`` name who asked for it, ``now`` when."""
    rows = ledger.day_rows(journal, day)
    figures = day_figures(rows)
    return {"date": day, "count": figures["count"], **printout.till_json(till), "takenBy": by, "takenAs": role,
            "takenAt": time.time() if now is None else now, "totals": figures["totals"],
            "summary": figures["summary"], "transactions": [transaction_json(r) for r in rows]}


def write_csv(report: dict, path: Path | None) -> str:
    """The day's transactions, one row each (``value`` in minor units, ``amount`` in major units), each with
    the till it was taken on."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    till = {k: report.get(k) or "" for k in ("store", "storeId", "terminalId")}
    for t in report["transactions"]:
        writer.writerow({**t, **till, "currency": t["amount"]["currency"], "value": t["amount"]["value"],
                         "amount": format_minor(int(t["amount"]["value"]), t["amount"]["currency"])})
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text


def lines(report: dict) -> list[str]:
    """The day as text: the heading, the takings in words, then each transaction (time, kind, status,
    tender, amount, ids)."""
    out = [_("DAY REPORT  {day}").format(day=report["date"]), *printout.heading_lines(report)]
    if report["summary"]:
        out += ["", *printout.summary_lines(report["summary"])]
    if report["transactions"]:
        out += ["", _("Transactions")]
    for t in report["transactions"]:
        a = t["amount"]
        tender = _(TENDER_WORDS[t["tender"]]) if t.get("tender") in TENDER_WORDS else ""
        out.append(f"  {time.strftime('%H:%M:%S', time.localtime(t['createdAt']))} "
                   f"{printout.ljust(_(KIND_WORDS.get(t['kind'], t['kind'])), 8)} "
                   f"{printout.ljust(_(status_words(t['kind'], t['status'], t.get('resultCode'))), 14)} "
                   f"{printout.rjust(format_minor(int(a['value']), a['currency']), 12)} {a['currency']}  "
                   f"{printout.ljust(tender, 12)} {t['paymentRequestId']} {t.get('refundRequestId') or ''}".rstrip())
    return out
