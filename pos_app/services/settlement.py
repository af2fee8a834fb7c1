"""Settlement reconciliation (issue 18): hold a business day against the gateway's own report files.

The gateway settles what it believes happened; a missing, extra or wrong-amount transaction shows only when
money fails to arrive. So the manager imports Antom's transaction and settlement reports (files given, or
fetched over SFTP into ``<data dir>/settlement-reports/``), and each row is matched against the journal (or the
store's PostgreSQL when ``[store]`` is set) by :mod:`pos_app.settlement.match`, the one rule. Why this shape:

- a file is kept in the journal once (by its SHA-256) and each run's findings are kept per key, so a later file
  (the T+2 one that completes FX, a refund settled on a later day) resolves what an earlier run left pending;
- a file that cannot be read, or that is another merchant's, is refused in words and nothing of it is
  imported, while the other files still are: one bad file never hides the rest;
- each import and each run is audited in the commit that keeps it (who asked, who approved with the PIN).
"""

from __future__ import annotations

import csv
import gc
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from ..errors import PosError
from ..i18n import _
from ..money import format_minor
from ..roles import MANAGER
from .closing import Report
from .registry import Grant, use_case

MANAGERS = frozenset({MANAGER})
REPORTS_FOLDER = "settlement-reports"   # under the data dir: what a fetch downloads
JOURNAL, STORE = "journal", "store"     # where our side of the match came from

CSV_FIELDS = ("day", "class", "requestId", "type", "ledgerId", "terminal", "ourCurrency", "ourAmount",
              "theirCurrency", "theirAmount", "detail", "files", "history")


def history_command(ledger_id: str | None) -> str | None:
    """The command that shows a transaction's history (``report --txn``): what a difference links to."""
    return f"pos-terminal report --txn {ledger_id}" if ledger_id else None


@dataclass(frozen=True)
class Reconciliation(Report):
    """A reconciliation as data (the ``--json`` shape) and as lines a person reads; CSV (one row a finding) and
    PDF exported as the other reports are. ``data``: ``days``, ``source``, ``imported`` / ``skipped`` /
    ``refused`` files, ``counts`` per class, ``differences``, ``findings`` (differences first, each with its
    ``history`` command), ``totals`` per settlement currency (minor units), ``warnings``, the day's ``runs``."""

    @property
    def days(self) -> list[str]:
        return list(self.data["days"])

    @property
    def day(self) -> str | None:
        return self.data["days"][0] if self.data["days"] else None

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.data["counts"])

    @property
    def differences(self) -> int:
        return self.data["differences"]

    @property
    def refused(self) -> list[dict]:
        return list(self.data["refused"])

    @property
    def findings(self) -> list[dict]:
        return list(self.data["findings"])


# -- the use cases -------------------------------------------------------------------------------------------
@use_case("reconcile_settlement", roles=MANAGERS, cli="reconcile-settlement",
          gui="ui.manager:ManagerWindow.reconcile_settlement")
def reconcile_settlement(grant: Grant, journal, config, *, files=(), sftp: str | None = None, day: str | None = None,
                         source: str | None = None, now: float | None = None, progress=None) -> Reconciliation:
    """Import the report ``files`` (or those fetched over ``sftp`` / ``[settlement] sftp`` for ``day``, default
    yesterday), then match ``day`` (default: each transactions file's day) and keep the result. ``progress(words)``,
    when given, hears what it waits for next (the window says it while the work runs on a worker)."""
    from offline_queue import settlement as kept
    with _no_cycle_collection(), kept.bulk(journal):
        return _reconcile(grant, journal, config, files=files, sftp=sftp, day=day, source=source, now=now,
                          progress=progress)


def _reconcile(grant: Grant, journal, config, *, files, sftp, day, source, now, progress) -> Reconciliation:
    from offline_queue import settlement as kept

    from ..settlement.parse import SettlementFileError, read_report
    at = time.time() if now is None else now
    day = _checked_day(day) if day is not None else None
    customer = _customer(config)
    paths, fetched_day = _gather(journal, config, files, sftp, day, at)
    imported: list[dict] = []
    skipped: list[dict] = []
    refused: list[dict] = []
    warnings: list[str] = []
    shas: list[str] = []
    fresh: list = []
    if customer is None:
        warnings.append(_("no configuration: the files' customerId was not checked against this merchant's"))
    if progress is not None and paths:
        progress(_("Reading {n} report files…").format(n=len(paths)))
    for path in _once_per_report(paths, skipped):
        name = Path(path).name
        try:
            report = read_report(Path(path))
        except SettlementFileError as exc:
            refused.append({"name": name, "why": exc.message, "hint": exc.hint})
            continue
        others = sorted(c for c in report.customer_ids if c != customer) if customer is not None else []
        if others:
            refused.append({"name": name, "why": _("it is for customerId {theirs}, not this merchant's {ours}: "
                                                   "another merchant's report, nothing of it was imported").format(
                                                       theirs=", ".join(others), ours=customer),
                            "hint": _("fetch this merchant's own reports, or check [settlement] customer_id")})
            continue
        report, undated = _dated(report, day)
        if undated is not None:
            refused.append({"name": name, "why": undated,
                            "hint": _("give --date YYYY-MM-DD: the day this transactions file covers")})
            continue
        warnings += [f"{name}: {w}" for w in report.warnings]
        before = kept.imported(journal, report.sha256)
        if before is not None and _another_part(before[0], name, report):
            report = _as_part(report, name)
            before = kept.imported(journal, report.sha256)
        if before is None:
            before = _batch_kept(journal, report, name)
        if before is not None:
            skipped.append({"name": name, "why": _("already imported on {when} (as {name})").format(
                when=time.strftime("%Y-%m-%d %H:%M", time.localtime(before[1])), name=before[0])})
        else:
            if kept.import_file(journal, report, grant.asked_by, name=name, now=at, audit={
                    "action": "settlement_import", "asked_by": grant.asked_by, "approved_by": grant.approved_by}):
                fresh += report.rows   # kept as parsed: the match need not read them back (only money that moved)
            imported.append({"name": name, "kind": report.kind, "rows": len(report.rows) + len(report.summary)})
        shas.append(report.sha256)
    if day is not None:
        days = [day]
    elif fetched_day is not None:
        days = [fetched_day]
    else:
        days = kept.report_dates(journal, shas)
        if shas and not days:
            warnings.append(_("no transactions file among these: give --date D to match a day against them"))
    source = source or (STORE if config is not None and getattr(config, "store", None) is not None else JOURNAL)
    read: dict[str, list] = {}
    for d in days:
        ledger, read[d] = _sides(journal, config, d, source, known=fresh)
        if progress is not None:
            progress(_("Matching {n} rows of {day}…").format(n=f"{len(ledger) + len(read[d]):,}", day=d))
        findings = _match().reconcile(ledger, read[d], d, store_id=_store_id(config, source))
        warnings += findings.warnings   # rows booked to another store of the chain: set aside, said
        kept.save_run(journal, d, source, shas, findings, grant.asked_by, now=at, audit={
            "action": "settlement_reconcile", "asked_by": grant.asked_by, "approved_by": grant.approved_by})
    return _result(journal, config, days, source, by=grant, at=at, imported=imported, skipped=skipped,
                   refused=refused, warnings=warnings, read=read)


@use_case("settlement_result", roles=MANAGERS, cli="reconcile-settlement --show",
          gui="ui.manager:ManagerWindow.refresh_settlement")
def settlement_result(grant: Grant, journal, day: str, config=None) -> Reconciliation:
    """What the reconciliations of ``day`` kept (each key's latest finding, the runs); nothing is fetched."""
    from offline_queue import settlement as kept
    day = _checked_day(day)
    runs = kept.runs_of(journal, day, 1)
    source = runs[0]["source"] if runs else JOURNAL
    with _no_cycle_collection():
        return _result(journal, config, [day], source, by=grant, at=time.time())


# -- the steps ----------------------------------------------------------------------------------------------
@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A day's match makes some 200,000 objects (rows, findings, their tuples) and none of them in a cycle, yet
    the cyclic collector walks them all again each time enough have piled up: a third of a 20,000-row run
    (benchmarks/bench_settlement.py). It is paused for the run; reference counting still frees every object,
    and the collector is back on (if it was on) when the run ends, however it ends."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _match():
    from ..settlement import match
    return match


def _checked_day(text: str) -> str:
    from ..store.reports import check_day  # the store's reports' one rule for a day given by a person
    return check_day(text)


def _store_id(config, source: str) -> str | None:
    """This store's id, as the gateway's ``referenceStoreId`` names it: the store read from (``[store]``), else
    the terminal's own (``[merchant] store_id``); None without a config (nothing is set aside)."""
    if config is None:
        return None
    if source == STORE and getattr(config, "store", None) is not None:
        return config.store.store_id
    return config.merchant.store_id


def _customer(config) -> str | None:
    """Whose reports this terminal takes: [settlement] customer_id, else the gateway's client id."""
    if config is None:
        return None
    settlement = getattr(config, "settlement", None)
    return settlement.customer_id if settlement is not None else config.gateway.client_id


def _gather(journal, config, files, sftp: str | None, day: str | None, at: float) -> tuple[list[Path], str | None]:
    """The files to read: those given, or those fetched for ``day`` (default yesterday: a day's transactions
    report comes out the day after) into ``<data dir>/settlement-reports/``; (paths, the day fetched)."""
    if files:
        if sftp:
            raise PosError(_("give report files or --sftp, not both"),
                           hint=_("files are read as they are; --sftp fetches a day's files first"))
        return [Path(f) for f in files], None
    settlement = getattr(config, "settlement", None) if config is not None else None
    if not sftp and not (settlement is not None and settlement.sftp):
        raise PosError(_("nothing to reconcile: no report files were given, and there is no [settlement] sftp to "
                         "fetch them from"),
                       hint=_("give the report files (pos-terminal reconcile-settlement FILE...), or --sftp "
                              "sftp://user@host[:port]/v1/settlements/<customerId>, or set [settlement] sftp"))
    from ..settlement.fetch import fetch
    wanted = day or (date.fromtimestamp(at) - timedelta(days=1)).isoformat()
    dest = Path(journal.path).parent / REPORTS_FOLDER
    gateway = config.gateway if config is not None else None   # its proxy, if any, carries the SFTP connection
    return fetch(settlement, wanted, dest=dest, url=sftp, gateway=gateway), wanted


def _once_per_report(paths: list[Path], skipped: list[dict]) -> list[Path]:
    """Antom writes each report as CSV and as XLSX: the same rows twice. Read one of each pair (the CSV) and
    say the other was skipped; the same file given twice is read once."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in map(Path, paths):
        group = groups.setdefault((str(path.resolve().parent), path.stem), [])
        if all(path.resolve() != p.resolve() for p in group):
            group.append(path)
    out: list[Path] = []
    for group in groups.values():
        chosen = next((p for p in group if p.suffix.lower() == ".csv"), group[0])
        out.append(chosen)
        skipped += [{"name": p.name, "why": _("the same report as {name} (another format of it): read once").format(
            name=chosen.name)} for p in group if p is not chosen]
    return out


def _dated(report, day: str | None):
    """A transactions file's day: from its name (the parser's), else ``--date``, else its rows' transaction
    times when they all fall on one local day (a file saved under a customised name). (the report, dated;
    None) or (the report, the words why it cannot be dated): an undated file's rows would never be read."""
    import dataclasses
    from datetime import datetime

    from ..settlement import columns
    if report.kind != columns.TRANSACTIONS or report.report_date is not None:
        return report, None
    if day is None:
        days: set[str] = set()
        for r in [*report.rows, *report.other_rows]:
            try:
                when = datetime.fromisoformat((r.at or "").strip())
                days.add((when.astimezone() if when.tzinfo else when).date().isoformat())
            except (ValueError, OverflowError, OSError):   # not a time, or one the local clock cannot hold
                return report, _("its name carries no date, and line {line}'s time ({at!r}) does not say the day: "
                                 "which day it covers is not known").format(line=r.line, at=r.at or "")
        if len(days) != 1:
            return report, _("its name carries no date, and its rows' times span {days}: which day it covers is "
                             "not known").format(days=", ".join(sorted(days)) or _("no day (it has no rows)"))
        (day,) = days

    def dated(rows):
        return [dataclasses.replace(r, report_date=day) for r in rows]
    return dataclasses.replace(report, report_date=day, rows=dated(report.rows),
                               other_rows=dated(report.other_rows)), None


def _another_part(kept_name: str, name: str, report) -> bool:
    """Whether a transactions file with the same bytes as one imported as ``kept_name`` is another numbered part
    of the day's report (``_001`` beside ``_000``, Antom's names): a part listing exactly the rows of another is
    a duplicate of each, to be found, not a file seen twice. A customised name is never taken as another part:
    a copy renamed is the same file."""
    from ..settlement import columns
    if report.kind != columns.TRANSACTIONS:
        return False
    ours, theirs = _match()._part(name), _match()._part(kept_name)
    return ours[0] == theirs[0] == "seq" and ours != theirs


def _as_part(report, name: str):
    """The report keyed as its own part: the key (``sha256``) is the SHA-256 of the bytes' digest and the part,
    so the same part given again is still one import, and its rows are told from the other part's."""
    import dataclasses
    import hashlib
    key = hashlib.sha256(f"{report.sha256}\0{_match()._part(name)!r}".encode()).hexdigest()
    return dataclasses.replace(report, sha256=key, rows=[dataclasses.replace(r, file=key) for r in report.rows],
                               other_rows=[dataclasses.replace(r, file=key) for r in report.other_rows])


def _batch_kept(journal, report, name: str) -> tuple[str, float] | None:
    """Antom writes a settlement (or summary) file as CSV and as XLSX: a file whose batches were all imported
    before from its twin (the same name but for the suffix) is that file again, not more rows. Another part of
    the batch (``_001`` beside ``_000``) holds other rows of it and is read."""
    from offline_queue import settlement as kept

    from ..settlement import columns
    if report.kind not in (columns.SETTLEMENT, columns.SUMMARY):
        return None
    batches = {r.batch for r in report.rows if r.batch} | {s.batch for s in report.summary if s.batch}
    if not batches:
        return None
    stem = Path(name).stem
    for row in reversed(kept.files(journal)):
        if row["kind"] == report.kind and Path(row["name"]).stem == stem and row["batch"] \
                and batches <= set(row["batch"].split(",")):
            return row["name"], row["imported_at"]
    return None


def _sides(journal, config, day: str, source: str, known=()) -> tuple[list, list]:
    """Our side and theirs for ``day``: the report rows of the day (and of the requests they name), and the
    ledger rows of the day (and of the ids the reports name, made on another day). ``known``: the rows of the
    files this run imported, as parsed (the same rows the journal now keeps), so they are not read back."""
    from offline_queue import settlement as kept
    named = kept.named_ids(journal, day, known)
    terminal = config.merchant.terminal_id if config is not None else None
    if source == STORE:
        from ..store import settlement as store_side
        ledger = store_side.ledger_rows(config.store, day, named)
    else:
        ledger = kept.ledger_rows(journal, day, named, terminal=terminal)
    rows = kept.rows_for(journal, day, {r.id for r in ledger} | {r.parent for r in ledger if r.parent}, known)
    match = _match()
    files = [match.FileRef(f["sha256"], f["kind"], f["report_date"], f["name"]) for f in kept.files(journal)]
    return ledger, match.live_rows(rows, files)


# -- the result ---------------------------------------------------------------------------------------------
def _result(journal, config, days: list[str], source: str, *, by: Grant, at: float, imported=(), skipped=(),
            refused=(), warnings=(), read: dict[str, list] | None = None) -> Reconciliation:
    """The kept findings and runs of ``days`` with the totals of their report rows (``read``: the rows a run just
    matched, per day, so they are not read twice)."""
    from offline_queue import settlement as kept

    from ..settlement.rows import CLASSES, DIFFERENCES, PENDING
    names = {f["sha256"]: f["name"] for f in kept.files(journal)}
    findings: list[dict] = []
    totals: dict[str, dict[str, int]] = {}
    runs: list[dict] = []
    warnings = list(warnings)
    for d in days:
        found, day_runs = kept.result(journal, d)
        findings += [_finding(f, names) for f in found]
        runs += [{"id": r["id"], "at": r["at"], "by": r["by"], "day": r["day"], "source": r["source"],
                  "counts": _loads(r["counts"])} for r in day_runs]
        rows = (read or {}).get(d)
        if rows is None:
            rows = _sides(journal, config, d, JOURNAL)[1] if found else []
        match = _match()
        for currency, t in match.totals(rows).items():
            into = totals.setdefault(currency, {"count": 0, "gross": 0, "fee": 0, "net": 0, "pending": 0})
            for k, v in t.as_dict().items():
                into[k] = into.get(k, 0) + v
        batches = {r.batch for r in rows if r.batch and r.kind == "settlement"}
        if batches:
            warnings += match.summary_check(_summaries(journal, batches), kept.batch_rows(journal, batches))
    findings.sort(key=lambda f: (f["class"] not in DIFFERENCES, f["class"] != PENDING, f["day"], f["requestId"]))
    counts = dict.fromkeys(CLASSES, 0)
    for f in findings:
        counts[f["class"]] = counts.get(f["class"], 0) + 1
    differences = sum(n for cls, n in counts.items() if cls in DIFFERENCES)
    data = {"days": days, "source": source, "imported": list(imported), "skipped": list(skipped),
            "refused": list(refused), "counts": counts, "differences": differences,
            "reconciled": bool(days) and bool(findings) and differences == 0 and not refused,
            "findings": findings, "totals": totals, "warnings": warnings, "runs": runs, "at": at,
            "takenBy": by.asked_by, "takenAs": by.role,
            **({"store": config.merchant.store_id, "terminalId": config.merchant.terminal_id}
               if config is not None else {})}
    return Reconciliation(data, lines(data), write_csv)


def _summaries(journal, batches: set[str]) -> list:
    """The settlement summary rows of these batches (kept as JSON with their file)."""
    import json

    from offline_queue import settlement as kept

    from ..settlement.rows import SummaryRow
    out = []
    for f in kept.files(journal):
        if f["summary"] and f["batch"] and set(f["batch"].split(",")) & batches:
            out += [SummaryRow(**s) for s in json.loads(f["summary"])]
    return out


def _loads(text: str | None):
    import json
    return json.loads(text) if text else {}


def _finding(f, names: dict[str, str]) -> dict:
    """A kept finding as ``--json`` and the window read it: amounts in minor units with their currency, the
    detail in the reader's language (kept as a template and its arguments)."""
    from ..settlement.rows import detail_text
    # by position (offline_queue.settlement.FINDING_COLUMNS): a Row's lookup by name walks its columns, and a
    # day has 20,000 findings of 13 columns
    (request_id, type_, day, cls, ledger_id, terminal, currency, amount, their_currency, their_amount, theirs,
     detail, run) = f[:13]
    refs = _loads(theirs) or []
    ours = {"id": ledger_id, "currency": currency, "amount": amount} if ledger_id else None
    return {"day": day, "requestId": request_id, "type": type_, "class": cls, "detail": detail_text(detail),
            "ledgerId": ledger_id, "terminal": terminal, "ours": ours, "theirCurrency": their_currency,
            "theirAmount": their_amount,
            "rows": [{"file": names.get(sha, sha[:12]), "line": line} for sha, line in refs],
            "history": history_command(ledger_id), "run": run}


def _money(amount: int | None, currency: str | None) -> str:
    return "—" if amount is None or not currency else f"{format_minor(int(amount), currency)} {currency}"


def lines(data: dict) -> list[str]:
    """The reconciliation as text: what was read, the counts per class, each difference with the command
    that shows its history, the pending items, the totals per currency, and the warnings."""
    from ..settlement.rows import CLASS_WORDS, CLASSES, DIFFERENCES, PENDING
    days = ", ".join(data["days"]) or _("no day")
    source = _("the store's database") if data["source"] == STORE else _("this terminal's journal")
    out = [_("SETTLEMENT RECONCILIATION  {days}").format(days=days),
           _("against {source}").format(source=source)]
    for f in data["imported"]:
        out.append("  " + _("imported {name}: {kind}, {rows} rows").format(**f))
    for f in data["skipped"]:
        out.append("  " + _("skipped {name}: {why}").format(**f))
    for f in data["refused"]:
        out.append("  " + _("REFUSED {name}: {why}").format(**f))
    out += ["", _("Counts")]
    out += [f"  {_(CLASS_WORDS[cls]):24} {data['counts'].get(cls, 0):6d}" for cls in CLASSES]
    differences = [f for f in data["findings"] if f["class"] in DIFFERENCES]
    if differences:
        out += ["", _("Differences ({n})").format(n=len(differences))]
    for f in differences:
        ours = f["ours"] or {}
        out.append(f"  {_(CLASS_WORDS[f['class']])}: {f['type']} {f['requestId']}  "
                   + _("ours {ours}, theirs {theirs}").format(ours=_money(ours.get("amount"), ours.get("currency")),
                                                             theirs=_money(f["theirAmount"], f["theirCurrency"])))
        if f["detail"]:
            out.append(f"    {f['detail']}")
        out.append("    " + (_("history: {command}").format(command=f["history"]) if f["history"] else
                             _("history: none in this journal (only the gateway's report has it)")))
    pending = [f for f in data["findings"] if f["class"] == PENDING]
    if pending:
        out += ["", _("Pending FX or fees ({n}): a later report completes them").format(n=len(pending))]
        out += [f"  {f['type']} {f['requestId']}  {_money(f['theirAmount'], f['theirCurrency'])}" for f in pending]
    if data["totals"]:
        out += ["", _("Per settlement currency: count, gross, fee, net")]
        for currency, t in sorted(data["totals"].items()):
            out.append(f"  {currency}  {t['count']:6d}  {format_minor(t['gross'], currency):>14}  "
                       f"{format_minor(t['fee'], currency):>12}  {format_minor(t['net'], currency):>14}")
    if data["warnings"]:
        out += ["", _("Warnings")] + [f"  {w}" for w in data["warnings"]]
    out += ["", _("no differences") if not data["differences"] else
            _("{n} differences: each one's history is one command away (above)").format(n=data["differences"])]
    return [shown(line) for line in out]


def shown(text) -> str:
    """Text as one line a person reads: a control or invisible format character (a newline in a file's name, an
    ESC in the gateway's id) is shown escaped (``\\n``, ``\\x1b``), so no name or id can forge a line of the
    output or drive the terminal."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


#: What a spreadsheet takes as the start of a formula in a text cell (CSV injection, OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A CSV cell as a spreadsheet may open it: text starting like a formula gets a leading single quote (the
    gateway's ids and a file's name are text we did not write); numbers are written as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(data: dict, path: Path | None) -> str:
    """One row a finding (amounts in minor units, with their currencies), differences first."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for f in data["findings"]:
        ours = f["ours"] or {}
        values = {**f, "ourCurrency": ours.get("currency"), "ourAmount": ours.get("amount"),
                  "files": " ".join(f"{r['file']}:{r['line']}" for r in f["rows"])}
        writer.writerow({k: cell(values.get(k)) for k in CSV_FIELDS})
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text


# -- what a Z or a store closing says of the gateway --------------------------------------------------------
def gateway_check(journal, day: str, *, source: str | None = None) -> dict:
    """Whether ``day`` has been held against the gateway's reports, and how: the day's last run (of ``source``,
    when given), its files, and the counts of the findings kept for the day (what the window lists: a later
    run, the next day's, may have resolved what the last run of this day found). Read when a Z or a store
    closing is shown, never sealed into it: the gateway's reports of a day come the day after, so a Z taken
    at closing time can only say "not yet"."""
    from offline_queue import settlement as kept

    from ..settlement.rows import DIFFERENCES, PENDING
    runs = kept.runs_of(journal, day, 1, source=source)
    if not runs:
        return {"day": day, "checked": False}
    run = runs[0]
    counts = kept.counts_of(journal, day)
    shas = _loads(run["files"]) or []
    names = {f["sha256"]: f["name"] for f in kept.files(journal, shas)}
    return {"day": day, "checked": True, "at": run["at"], "by": run["by"], "source": run["source"],
            "files": [names.get(s, s[:12]) for s in shas], "counts": counts,
            "differences": sum(n for cls, n in counts.items() if cls in DIFFERENCES),
            "pending": counts.get(PENDING, 0)}


def gateway_lines(check: dict) -> list[str]:
    """:func:`gateway_check` in words, for the Z and the store closing."""
    from ..printout import when

    if not check.get("checked"):
        return [_("Gateway reconciliation: not yet. The gateway's reports of {day} come the next day; then run "
                  "`pos-terminal reconcile-settlement --date {day}`, or Settlement in the manager's window.")
                .format(day=check["day"])]
    against = _("the store's PostgreSQL") if check["source"] == STORE else _("this terminal's journal")
    out = [_("Gateway reconciliation: {when} by {by}, against {against}").format(
        when=when(check["at"]), by=check["by"], against=against)]
    if check["files"]:
        out.append("  " + _("files: {names}").format(names=", ".join(check["files"])))
    out.append("  " + _("{differences} differences, {pending} pending, {matched} matched").format(
        differences=check["differences"], pending=check["pending"], matched=check["counts"].get("matched", 0)))
    return [shown(line) for line in out]
