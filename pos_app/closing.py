"""X and Z reports: the session so far at any time, and the numbered, immutable close of a session.

A session is what no Z has covered yet; it starts with the first sale after a Z (session number = the
last Z's + 1), and several Zs a day are normal, as on any till. An X report shows the session and
stores nothing. A Z report covers exactly the transactions no earlier Z covered: each settled row gets
the Z's number in the same commit that stores the Z, so nothing can settle in between and be counted
twice or never. Rows not settled yet (still moving, or waiting for a manager's review) are listed as
differences and carried: the Z that covers them once they settle counts them. A Z with nothing to cover
is refused (a stored Z is reprinted by number instead). Its body is stored with its SHA-256 and the
previous Z's hash (a chain: altering or removing an old one breaks every later link), and the database
refuses any UPDATE or DELETE of it. The net is :mod:`pos_app.takings`' one rule; the calendar day's
report (:mod:`pos_app.report`) uses it too. Each report names its till (store, terminal), who took it and
as what, and carries the takings as a person reads them (``summary``: :mod:`pos_app.printout`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from datetime import datetime
from pathlib import Path

from offline_queue import audit, ledger
from offline_queue.journal import Journal, business_day

from . import printout, takings
from .errors import PosError
from .i18n import _
from .printout import Till
from .vocabulary import KIND_WORDS, KINDS, NEEDS_REVIEW, OPEN, SALE, status_words


class ClosingError(PosError):
    pass


def day_totals(journal: Journal, day: str) -> dict:
    """Per currency, one calendar day: sales, refunds and cancels by status (counts and values, minor
    units) and the net, in the X and Z's shape (the manager's day view)."""
    return takings.totals(ledger.day_rows(journal, day))


def differences(rows) -> dict:
    """What reconciliation found among a session's rows: what is still open or needs review (carried to
    the next Z), and the settled sales that only an inquiry or a cancel after an unknown outcome settled.
    ``rows`` are :func:`offline_queue.ledger.uncovered_differences`' (the others are never listed)."""
    open_, review, settled = [], [], []
    for r in rows:
        item = {"id": r["id"], "kind": r["kind"], "currency": r["currency"], "amount": r["amount"],
                "status": r["status"]}
        if r["status"] == NEEDS_REVIEW:
            review.append(item)
        elif r["status"] in OPEN:
            open_.append({**item, "acceptedAtRisk": bool(r["accepted_at_risk"])})
        elif r["final"] and r["kind"] == SALE:
            settled.append(item)
    return {"stillOpen": open_, "needsReview": review, "settledByReconciliation": settled}


def _session(db, last) -> dict:
    if last is None:
        return {"number": 1, "since": ledger.first_transaction_at(db), "previousZ": None}
    return {"number": last["number"] + 1, "since": last["taken_at"], "previousZ": last["number"]}


def _figures(db) -> tuple[int, dict, dict, dict]:
    """What a Z taken now covers (how many settled rows, their totals and their summary in words' terms),
    and the differences; read summed by SQLite, so a 20,000-row session is a few dozen groups, not 20,000
    rows in Python."""
    groups = ledger.uncovered_groups(db)
    return (sum(g["count"] for g in groups), takings.totals(groups),
            printout.summary_json(takings.summary(groups)), differences(ledger.uncovered_differences(db)))


def x_report(journal: Journal, *, till: Till | None = None, by: str | None = None, role: str | None = None,
             now: float | None = None) -> dict:
    """The current session as it stands: what a Z taken now would hold. Nothing is stored. ``by`` and
    ``role``: who asked for it (a use case's grant)."""
    now = time.time() if now is None else now
    with journal.reading() as db:
        count, totals, summary, diff = _figures(db)
        session = {**_session(db, ledger.last_z(db)), "count": count}
    return {"type": "X", "day": business_day(now), "takenAt": now, "takenBy": by, "takenAs": role,
            **printout.till_json(till), "session": session, "totals": totals, "summary": summary,
            "differences": diff}


def _digest(body: str, prev: str | None) -> str:
    return hashlib.sha256(((prev or "") + "\n" + body).encode()).hexdigest()


def take_z(journal: Journal, *, by: str, approved_by: str | None = None, role: str | None = None,
           till: Till | None = None, now: float | None = None) -> dict:
    """Close the current session with the next Z number, audited in the same commit; refused when no
    transaction settled since the last Z (nothing to close: reprint that one instead). The till, who took
    it and the summary are part of the stored body, as printed then."""
    now = time.time() if now is None else now
    with journal.transaction() as c:
        count, totals, summary, diff = _figures(c)
        last = ledger.last_z(c)
        if not count:
            raise _nothing_to_close(last, diff)
        number = (last["number"] + 1) if last else 1
        day = business_day(now)
        report = {"type": "Z", "number": number, "day": day, "takenAt": now, "takenBy": by, "takenAs": role,
                  **printout.till_json(till), "session": {**_session(c, last), "count": count}, "totals": totals,
                  "summary": summary, "differences": diff}
        body = json.dumps(report, sort_keys=True, separators=(",", ":"))
        prev = last["sha256"] if last else None
        digest = _digest(body, prev)
        ledger.insert_z(c, number=number, day=day, taken_at=now, taken_by=by, body=body, sha256=digest,
                        prev_sha256=prev)
        covered = ledger.cover(c, number)
        if covered != count:   # one commit: cannot happen; if it did, nothing is stored
            raise ClosingError(_("Z report #{number} would cover {covered} transactions, not the {count} it "
                                 "counted; nothing was stored").format(number=number, covered=covered, count=count),
                               hint=_("try again"))
        audit.append(c, at=now, action="z_report", txn=None, asked_by=by, approved_by=approved_by or by,
                     detail={"number": number, "day": day})
    return {**report, "sha256": digest}


def _nothing_to_close(last, diff: dict) -> ClosingError:
    carried = len(diff["stillOpen"]) + len(diff["needsReview"])
    tail = "; " + _("{n} not settled yet wait for the next Z").format(n=carried) if carried else ""
    if last is None:
        return ClosingError(_("nothing to close: no transaction has settled yet") + tail,
                            hint=_("`pos-terminal report --x` shows the session as it stands"))
    return ClosingError(
        _("nothing to close: no transaction has settled since Z report #{number}").format(number=last["number"]) + tail,
        hint=_("a Z covers each transaction once; to print Z report #{number} again: "
               "pos-terminal report --z --number {number}").format(number=last["number"]))


def _stored(row) -> dict:
    return {**json.loads(row["body"]), "sha256": row["sha256"]}


def reprint_z(journal: Journal, number: int) -> dict:
    """A stored Z as it was taken (the caller audits the reprint)."""
    row = ledger.z_by_number(journal, number)
    if row is None:
        last = ledger.last_z(journal)
        raise ClosingError(_("there is no Z report #{number}").format(number=number),
                           hint=_("the Z reports are numbered 1 to {last}").format(last=last["number"]) if last
                           else _("no Z report has been taken yet"))
    return {**_stored(row), "reprint": True}


def get_z(journal: Journal, *, day: str | None = None, number: int | None = None) -> dict | None:
    """A stored Z by number, or the last one taken on ``day``; None if there is none."""
    row = ledger.z_of_day(journal, day) if day else ledger.z_by_number(journal, number or 0)
    return None if row is None else _stored(row)


def z_reports(journal: Journal) -> list[dict]:
    return [{"number": r["number"], "day": r["day"], "takenAt": r["taken_at"], "takenBy": r["taken_by"],
             "sha256": r["sha256"]} for r in ledger.z_list(journal)]


def verify_chain(journal: Journal) -> list[str]:
    """Problems in the chain of Z reports (empty when every body still hashes to its stored link)."""
    problems, prev = [], None
    for r in ledger.z_chain(journal):
        if r["prev_sha256"] != prev or _digest(r["body"], prev) != r["sha256"]:
            problems.append(_("Z report #{number} does not match its hash").format(number=r["number"]))
        prev = r["sha256"]
    return problems


def lines(report: dict) -> list[str]:
    """The report as text, for the screen, the terminal and the printout: the heading, the takings in
    words, then each kind's rows by status, and the differences."""
    from .money import format_minor

    head = (_("Z REPORT #{number}").format(number=report["number"]) if report["type"] == "Z" else _("X REPORT"))
    out = [f"{head}  {report['day']}"]
    if report.get("reprint"):
        out.append(_("REPRINT"))
    out += printout.heading_lines(report)
    if "summary" in report:   # a Z stored before the summary existed has its totals only
        out += ["", *printout.summary_lines(report["summary"])]
    out += ["", _("By kind and status")]
    for currency, cur in report["totals"].items():
        out.append(currency)
        for kind in KINDS:
            for status, entry in sorted(cur[kind].items()):
                label = printout.ljust(f"{printout.ljust(_(KIND_WORDS[kind]), 7)} {_(status_words(kind, status))}",
                                       printout.LABEL_WIDTH)
                out.append(f"  {label} {entry['count']:6} {printout.rjust(format_minor(entry['value'], currency), 14)}")
        if "summary" not in report:
            net = _("net")   # outside the f-string, where Babel's extractor sees it
            out.append(f"  {printout.ljust(net, printout.LABEL_WIDTH)} {'':6} "
                       f"{printout.rjust(format_minor(cur['net'], currency), 14)}")
    diff = report["differences"]
    out += ["", _("differences: {open} still open, {review} need review, {settled} settled by reconciliation").format(
        open=len(diff["stillOpen"]), review=len(diff["needsReview"]), settled=len(diff["settledByReconciliation"]))]
    for key in ("stillOpen", "needsReview"):
        for item in diff[key]:
            risk = "  " + _("accepted at the merchant's risk") if item.get("acceptedAtRisk") else ""
            out.append(f"  {printout.ljust(_(status_words(item['kind'], item['status'])), 14)} {item['id']}  "
                       f"{format_minor(item['amount'], item['currency'])} {item['currency']}{risk}")
    if report.get("sha256"):
        out.append(f"sha256 {report['sha256']}")
    return out


#: The first eight columns are the original ones, in their order; the till, the session and who took it are
#: repeated on every row, so each row says what it is about in a spreadsheet.
CSV_HEADER = ("report", "number", "day", "currency", "kind", "status", "count", "value", "amount", "session",
              "store", "storeId", "terminalId", "takenAt", "takenBy")


def _iso(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at).astimezone().isoformat(timespec="seconds")


def write_csv(report: dict, path: Path | None) -> str:
    """An X or Z report's totals, one row per currency, kind and status (``value`` in minor units, as
    stored, ``amount`` in major units), then the summary per currency (kind ``gross``, ``refunds``,
    ``cancels``, ``net``, ``average``; an old Z without a summary has its ``net``); written to ``path``
    when given."""
    from .money import format_minor

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    head = (report["type"], report.get("number", ""), report["day"])
    tail = ((report.get("session") or {}).get("number", ""), report.get("store") or "", report.get("storeId") or "",
            report.get("terminalId") or "", _iso(report.get("takenAt")), report.get("takenBy") or "")
    for currency, cur in report["totals"].items():
        for kind in KINDS:
            for status, entry in sorted(cur[kind].items()):
                writer.writerow((*head, currency, kind, status, entry["count"], entry["value"],
                                 format_minor(entry["value"], currency), *tail))
        summary = (report.get("summary") or {}).get(currency)
        if summary is None:
            writer.writerow((*head, currency, "net", "", "", cur["net"], format_minor(cur["net"], currency), *tail))
            continue
        for key, _label in printout.FIGURES:
            figure = summary[key]
            writer.writerow((*head, currency, key, "", figure.get("count", ""), figure["value"], figure["amount"],
                             *tail))
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text
