"""The day's transactions and totals: what a manager checks at closing time.

Per calendar day, whatever the Z reports closed: the net is :mod:`pos_app.takings`' one rule, so a
sale reversed by a manager's cancel on a later day counts on its own day and the cancel on the later
one. Read-only: it opens the journal without the instance lock (WAL lets it read while the terminal
writes), and reads one day through the ``(day, created_at)`` index, so the journal's size does not
matter, only the day's.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from offline_queue import ledger
from offline_queue.journal import Journal

from . import takings
from .money import Money, format_minor
from .vocabulary import KINDS, REFUND, SALE

CSV_FIELDS = ("createdAt", "kind", "status", "paymentRequestId", "paymentId", "refundRequestId", "tender",
              "currency", "value", "amount", "resultCode", "description")


def day_report(journal: Journal, day: str) -> dict:
    rows = ledger.day_rows(journal, day)
    transactions = []
    for r in rows:
        if r["kind"] == SALE:
            ids = {"paymentRequestId": r["id"], "paymentId": r["payment_id"]}
        else:
            ids = {"paymentRequestId": r["parent"], "paymentId": r["parent_payment_id"]}
            if r["kind"] == REFUND:
                ids["refundRequestId"] = r["id"]
        transactions.append({**ids, "kind": r["kind"], "status": r["status"], "tender": r["tender"],
                             "amount": Money(r["amount"], r["currency"]).to_api(), "resultCode": r["result_code"],
                             "description": r["description"], "createdAt": r["created_at"]})
    summary: dict[str, dict] = {}   # values as strings, as on the wire; a kind the day has no row of is left out
    for currency, cur in takings.totals(rows).items():
        summary[currency] = {kind: {status: {"count": e["count"], "value": str(e["value"])} for status, e in by.items()}
                             for kind, by in sorted((k, cur[k]) for k in KINDS) if by}
        summary[currency]["net"] = str(cur["net"])
    return {"date": day, "count": len(transactions), "totals": summary, "transactions": transactions}


def write_csv(report: dict, path: Path | None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for t in report["transactions"]:
        writer.writerow({**t, "currency": t["amount"]["currency"], "value": t["amount"]["value"],
                         "amount": format_minor(int(t["amount"]["value"]), t["amount"]["currency"])})
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text


def lines(report: dict) -> list[str]:
    out = [f"{report['date']}: {report['count']} transaction(s)"]
    for currency, kinds in report["totals"].items():
        parts = []
        for kind in KINDS:
            for status, e in kinds.get(kind, {}).items():
                parts.append(f"{kind} {status} {e['count']} × = {format_minor(int(e['value']), currency)}")
        out.append(f"  {currency}: net {format_minor(int(kinds['net']), currency)}; " + "; ".join(parts))
    for t in report["transactions"]:
        a = t["amount"]
        out.append(f"  {t['kind']:6} {t['status']:12} {format_minor(int(a['value']), a['currency']):>12} "
                   f"{a['currency']} {t['paymentRequestId']} {t.get('refundRequestId') or ''}")
    return out
