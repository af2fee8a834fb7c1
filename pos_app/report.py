"""The day's transactions and totals: what a manager checks at closing time.

Read-only: it opens the journal without the instance lock (WAL lets it read while the terminal
writes), and reads one day through the ``(day, created_at)`` index, so the journal's size does not
matter, only the day's.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from offline_queue.journal import Journal

from .money import Money, format_minor

CSV_FIELDS = ("createdAt", "kind", "status", "paymentRequestId", "paymentId", "refundRequestId", "tender",
              "currency", "value", "amount", "resultCode", "description")


def day_report(journal: Journal, day: str) -> dict:
    rows = journal.day(day)
    transactions, totals = [], {}
    sales = {r["id"]: r for r in rows if r["kind"] == "sale"}
    for r in rows:
        if r["kind"] == "sale":
            ids = {"paymentRequestId": r["id"], "paymentId": r["payment_id"]}
        else:
            parent = sales.get(r["parent"]) or journal.get(r["parent"])
            ids = {"paymentRequestId": r["parent"], "paymentId": parent["payment_id"] if parent else None}
            if r["kind"] == "refund":
                ids["refundRequestId"] = r["id"]
        transactions.append({**ids, "kind": r["kind"], "status": r["status"], "tender": r["tender"],
                             "amount": Money(r["amount"], r["currency"]).to_api(), "resultCode": r["result_code"],
                             "description": r["description"], "createdAt": r["created_at"]})
        cur = totals.setdefault(r["currency"], {})
        entry = cur.setdefault(r["kind"], {}).setdefault(r["status"], {"count": 0, "value": 0})
        entry["count"] += 1
        entry["value"] += r["amount"]
    summary = {}
    for currency, kinds in sorted(totals.items()):
        paid = kinds.get("sale", {}).get("SUCCESS", {}).get("value", 0)
        refunded = kinds.get("refund", {}).get("SUCCESS", {}).get("value", 0)
        summary[currency] = {
            kind: {status: {"count": e["count"], "value": str(e["value"])} for status, e in sorted(by.items())}
            for kind, by in sorted(kinds.items())}
        summary[currency]["net"] = str(paid - refunded)
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
        for kind in ("sale", "refund", "cancel"):
            for status, e in kinds.get(kind, {}).items():
                parts.append(f"{kind} {status} {e['count']} × = {format_minor(int(e['value']), currency)}")
        out.append(f"  {currency}: net {format_minor(int(kinds['net']), currency)}; " + "; ".join(parts))
    for t in report["transactions"]:
        a = t["amount"]
        out.append(f"  {t['kind']:6} {t['status']:12} {format_minor(int(a['value']), a['currency']):>12} "
                   f"{a['currency']} {t['paymentRequestId']} {t.get('refundRequestId') or ''}")
    return out
