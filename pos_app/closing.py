"""X and Z reports: the day's totals at any time, and the numbered, immutable close of a day.

An X report is computed and shown; nothing is stored. A Z report closes one business day: it gets the
next number, its body is stored with its SHA-256 and the previous Z's hash (a chain: altering or
removing an old one breaks every later link), and the database refuses any UPDATE or DELETE of it.
One Z per day. It holds sales, refunds and cancels per currency with counts and values, and the
differences reconciliation found: what is still open or needs review, and what was settled only by
inquiry or cancel after an unknown outcome.
"""

from __future__ import annotations

import hashlib
import json
import time

from offline_queue.journal import Journal

from .errors import PosError
from .i18n import _


class ClosingError(PosError):
    pass


def day_totals(journal: Journal, day: str) -> dict:
    """Per currency: sales, refunds and cancels by status, with counts and values (minor units)."""
    rows = journal.query("SELECT kind, currency, status, COUNT(*) AS n, SUM(amount) AS v FROM transactions "
                         "WHERE day=? GROUP BY kind, currency, status", (day,))
    totals: dict[str, dict] = {}
    for r in rows:
        cur = totals.setdefault(r["currency"], {"sale": {}, "refund": {}, "cancel": {}})
        cur.setdefault(r["kind"], {})[r["status"]] = {"count": r["n"], "value": r["v"] or 0}
    for cur in totals.values():
        paid = cur["sale"].get("SUCCESS", {}).get("value", 0)
        refunded = cur["refund"].get("SUCCESS", {}).get("value", 0)
        cancelled = cur["cancel"].get("SUCCESS", {}).get("value", 0)
        cur["net"] = paid - refunded - cancelled
    return dict(sorted(totals.items()))


def differences(journal: Journal, day: str) -> dict:
    """What reconciliation found: open and review items, and sales settled only after an unknown outcome."""
    rows = journal.query(
        "SELECT id, kind, currency, amount, status FROM transactions WHERE day=? AND (final=0 OR "
        "status='NEEDS_REVIEW' OR (kind='sale' AND (json_extract(state, '$.inquiries') > 0 OR "
        "json_extract(state, '$.cancels') > 0)))", (day,))  # the JSON is read by SQLite, not row by row here
    open_, review, settled = [], [], []
    for r in rows:
        item = {"id": r["id"], "kind": r["kind"], "currency": r["currency"], "amount": r["amount"],
                "status": r["status"]}
        if r["status"] == "NEEDS_REVIEW":
            review.append(item)
        elif r["status"] in ("UNKNOWN", "QUEUED"):
            open_.append(item)
        elif r["kind"] == "sale":
            settled.append(item)
    return {"stillOpen": open_, "needsReview": review, "settledByReconciliation": settled}


def x_report(journal: Journal, day: str, *, now: float | None = None) -> dict:
    return {"type": "X", "day": day, "takenAt": time.time() if now is None else now,
            "totals": day_totals(journal, day), "differences": differences(journal, day)}


def _digest(body: str, prev: str | None) -> str:
    return hashlib.sha256(((prev or "") + "\n" + body).encode()).hexdigest()


def take_z(journal: Journal, day: str, *, by: str, now: float | None = None) -> dict:
    """Close ``day`` with the next Z number; refused if that day already has its Z."""
    now = time.time() if now is None else now
    report = {"type": "Z", "day": day, "takenAt": now, "takenBy": by,
              "totals": day_totals(journal, day), "differences": differences(journal, day)}
    with journal.transaction() as c:
        if c.execute("SELECT 1 FROM z_reports WHERE day=?", (day,)).fetchone():
            number = c.execute("SELECT number FROM z_reports WHERE day=?", (day,)).fetchone()[0]
            raise ClosingError(_("{day} is already closed (Z report #{number})").format(day=day, number=number),
                               hint=_("a Z report cannot be taken twice; an X report shows the day at any time"))
        last = c.execute("SELECT number, sha256 FROM z_reports ORDER BY number DESC LIMIT 1").fetchone()
        number = (last[0] + 1) if last else 1
        report["number"] = number
        body = json.dumps(report, sort_keys=True, separators=(",", ":"))
        digest = _digest(body, last[1] if last else None)
        c.execute("INSERT INTO z_reports (number, day, taken_at, taken_by, body, sha256, prev_sha256) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)", (number, day, now, by, body, digest, last[1] if last else None))
        c.execute("INSERT INTO audit (at, action, txn, asked_by, approved_by, detail) VALUES (?, 'z_report', NULL, ?, ?, ?)",
                  (now, by, by, json.dumps({"number": number, "day": day})))
    return {**report, "sha256": digest}


def z_reports(journal: Journal) -> list[dict]:
    return [{"number": r["number"], "day": r["day"], "takenAt": r["taken_at"], "takenBy": r["taken_by"],
             "sha256": r["sha256"]} for r in journal.query("SELECT * FROM z_reports ORDER BY number")]


def get_z(journal: Journal, *, day: str | None = None, number: int | None = None) -> dict | None:
    rows = journal.query("SELECT * FROM z_reports WHERE " + ("day=?" if day else "number=?"), (day or number,))
    if not rows:
        return None
    return {**json.loads(rows[0]["body"]), "sha256": rows[0]["sha256"]}


def verify_chain(journal: Journal) -> list[str]:
    """Problems in the chain of Z reports (empty when every body still hashes to its stored link)."""
    problems, prev = [], None
    for r in journal.query("SELECT * FROM z_reports ORDER BY number"):
        if r["prev_sha256"] != prev or _digest(r["body"], prev) != r["sha256"]:
            problems.append(_("Z report #{number} does not match its hash").format(number=r["number"]))
        prev = r["sha256"]
    return problems


def lines(report: dict) -> list[str]:
    """The report as text, for the terminal and for a printout."""
    head = (_("Z REPORT #{number}").format(number=report["number"]) if report["type"] == "Z" else _("X REPORT"))
    out = [f"{head}  {report['day']}", _("taken {at}").format(
        at=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(report["takenAt"])))]
    from .money import format_minor
    for currency, cur in report["totals"].items():
        out.append(f"{currency}")
        for kind, label in (("sale", _("sales")), ("refund", _("refunds")), ("cancel", _("cancels"))):
            for status, entry in sorted(cur[kind].items()):
                out.append(f"  {label:10} {status:13} {entry['count']:6}  {format_minor(entry['value'], currency):>14}")
        out.append(f"  {_('net'):10} {'':13} {'':6}  {format_minor(cur['net'], currency):>14}")
    diff = report["differences"]
    out.append(_("differences: {open} still open, {review} need review, {settled} settled by reconciliation").format(
        open=len(diff["stillOpen"]), review=len(diff["needsReview"]), settled=len(diff["settledByReconciliation"])))
    for key in ("stillOpen", "needsReview"):
        for item in diff[key]:
            out.append(f"  {item['status']:13} {item['id']}  {format_minor(item['amount'], item['currency'])} "
                       f"{item['currency']}")
    if report.get("sha256"):
        out.append(f"sha256 {report['sha256']}")
    return out
