"""The manager's commands: ``pin set``, ``report --x|--z``, ``review`` (and ``review retry|resolve``).

A manager action needs the manager's PIN: from ``$POS_TERMINAL_MANAGER_PIN``, else asked on the
terminal (or read from standard input when it is not a terminal, for scripts). Every action lands in the
audit log with who asked (``--by``, default the login name) and who approved (the manager PIN).
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import sys
from pathlib import Path

from .config import find_config_file, find_data_dir
from .errors import PosError
from .i18n import _


def _ask(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    return line.strip()


def manager_pin(args) -> str:
    return os.environ.get("POS_TERMINAL_MANAGER_PIN") or _ask(_("manager PIN: "))


def who(args) -> str:
    return getattr(args, "by", None) or getpass.getuser()


def _journal(args):
    from offline_queue.journal import Journal

    return Journal.open(find_data_dir(args.data_dir))


def _print(args, data, lines: list[str]) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else "\n".join(lines))


# -- pin ----------------------------------------------------------------------------------------------
def cmd_pin(args) -> int:
    from .roles import PinBook

    with _journal(args) as journal:
        book = PinBook(journal)
        current = _ask(_("current {role} PIN: ").format(role=args.role)) if book.is_set(args.role) else None
        pin = _ask(_("new {role} PIN (4 to 12 digits): ").format(role=args.role))
        again = _ask(_("the same PIN again: "))
        if pin != again:
            raise PosError(_("the two PINs differ; nothing was changed"))
        book.set(args.role, pin, current=current)
    _print(args, {"role": args.role, "set": True}, [_("{role} PIN set").format(role=args.role)])
    return 0


# -- X and Z reports ----------------------------------------------------------------------------------
def report_xz(args) -> int:
    """``report --x`` (the current session), ``report --z`` (close it; manager PIN) and ``report --z
    --number N`` (reprint a stored Z; manager PIN, audited as a reprint)."""
    from . import closing
    from .roles import MANAGER, PinBook, audit

    number = getattr(args, "number", None)
    if args.date:
        raise PosError(_("--date is for the day's report: an X or Z report is about the session, not a day"),
                       hint=_("`pos-terminal report --x` shows the current session; `pos-terminal report --z "
                              "--number N` reprints Z report N; `pos-terminal report --date D` shows a day"))
    if number is not None and not args.z:
        raise PosError(_("--number reprints a Z report: use it with --z"),
                       hint="pos-terminal report --z --number N")
    if args.z:
        with _journal(args) as journal:
            PinBook(journal).verify(MANAGER, manager_pin(args))
            if number is None:
                report = closing.take_z(journal, by=who(args), approved_by=MANAGER)
            else:
                report = closing.reprint_z(journal, number)
                audit(journal, "z_report_reprint", asked_by=who(args), approved_by=MANAGER,
                      detail={"number": number})
    else:
        from offline_queue.journal import Journal

        with Journal.open(find_data_dir(args.data_dir), readonly=True) as journal:
            report = closing.x_report(journal)
    if args.csv:
        _write(args.csv, lambda path: path.write_text(report_csv(report)))
    if getattr(args, "pdf", None):
        import importlib

        _write(args.pdf, lambda path: importlib.import_module("ui.pdf").write_pdf(closing.lines(report), path))
    _print(args, report, closing.lines(report))
    return 0


def _write(target: str, writer) -> None:
    try:
        writer(Path(target))
    except OSError as exc:
        raise PosError(f"cannot write {target}: {exc.strerror}") from None


CSV_HEADER = ("report", "number", "day", "currency", "kind", "status", "count", "value")


def report_csv(report: dict) -> str:
    """An X or Z report's totals, one row per currency, kind and status, and a ``net`` row per currency."""
    from .vocabulary import KINDS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    head = (report["type"], report.get("number", ""), report["day"])
    for currency, cur in report["totals"].items():
        for kind in KINDS:
            for status, entry in sorted(cur[kind].items()):
                writer.writerow((*head, currency, kind, status, entry["count"], entry["value"]))
        writer.writerow((*head, currency, "net", "", "", cur["net"]))
    return out.getvalue()


# -- review -------------------------------------------------------------------------------------------
NOTIFICATION_PREFIX = "NOTIFY-"   # a review item for an unreadable notification: NOTIFY-<event seq>


def review_items(journal) -> list[dict]:
    """Still open or needing review, and gateway-signed notifications that could not be applied, less
    what a manager marked resolved."""
    from offline_queue import audit, ledger

    resolved = audit.txns_with_action(journal, "resolved")
    items = [{"id": r["id"], "kind": r["kind"], "status": r["status"], "currency": r["currency"],
              "amount": r["amount"], "message": r["message"], "createdAt": r["created_at"]}
             for r in ledger.unsettled(journal) if r["id"] not in resolved]
    for r in ledger.unreadable_notifications(journal):
        detail = json.loads(r["detail"] or "{}")
        about = detail.get("paymentRequestId") or detail.get("refundRequestId")
        item_id = f"{NOTIFICATION_PREFIX}{r['seq']}"
        if item_id not in resolved:
            items.append({"id": item_id, "kind": "notification", "status": "UNREADABLE", "currency": None,
                          "amount": None, "createdAt": r["at"],
                          "message": f"a signed {detail.get('originalType') or 'notification'} could not be "
                                     f"applied: {detail.get('why')}" + (f" (about {about})" if about else "")})
    return sorted(items, key=lambda i: i["createdAt"])


def _reviewable(journal, item_id: str) -> bool:
    return journal.get(item_id) is not None or any(i["id"] == item_id for i in review_items(journal))


def cmd_review(args) -> int:
    from .roles import MANAGER, PinBook, audit

    action = getattr(args, "review_action", None)
    if action == "retry":
        from .runtime import Runtime

        with Runtime(find_config_file(args.config), find_data_dir(args.data_dir), receiver=False,
                     background=False) as rt:
            if rt.terminal.journal.find(args.id) is None:
                raise PosError(_("no transaction {id!r} in this journal").format(id=args.id),
                               hint="`pos-terminal review` lists what is open or needs review")
            outcome, txn = rt.terminal.inquiry(args.id)
            data = {"id": args.id, "gateway": outcome.status.value, "status": txn.status if txn else None}
        _print(args, data, [_("{id}: the gateway says {gateway}; now {status}").format(**data)])
        return 0
    with _journal(args) as journal:
        if action == "resolve":
            if not _reviewable(journal, args.id):
                raise PosError(_("no transaction {id!r} in this journal").format(id=args.id),
                               hint="`pos-terminal review` lists what is open or needs review")
            PinBook(journal).verify(MANAGER, manager_pin(args))
            audit(journal, "resolved", txn=args.id, asked_by=who(args), approved_by=MANAGER,
                  detail={"note": args.note})
            _print(args, {"id": args.id, "resolved": True, "note": args.note},
                  [_("{id} marked resolved").format(id=args.id)])
            return 0
        items = review_items(journal)
    lines = [f"{i['status']:13} {i['id']}  {item_amount(i)}  {i['message']}"
             for i in items] or [_("nothing open or waiting for review")]
    _print(args, {"items": items}, lines)
    return 0


def item_amount(item: dict) -> str:
    from .money import format_minor

    return "—" if item["currency"] is None else f"{format_minor(item['amount'], item['currency'])} {item['currency']}"


def add_parsers(sub, common) -> None:
    pin = sub.add_parser("pin", help="set the manager's or technician's PIN")
    common(pin, suppress=True)
    actions = pin.add_subparsers(dest="pin_action", metavar="ACTION", required=True)
    pin_set = actions.add_parser("set", help="set (or change) a role's PIN")
    common(pin_set, suppress=True)
    pin_set.add_argument("role", choices=("manager", "technician"))

    review = sub.add_parser("review", help="what is still open or needs a manager; retry or resolve it")
    common(review, suppress=True)
    review.add_argument("--by", help="who asks (default: the login name)")
    steps = review.add_subparsers(dest="review_action", metavar="ACTION")
    retry = steps.add_parser("retry", help="ask the gateway about it now")
    common(retry, suppress=True)
    retry.add_argument("id")
    resolve = steps.add_parser("resolve", help="mark it resolved with a note (manager PIN)")
    common(resolve, suppress=True)
    resolve.add_argument("id")
    resolve.add_argument("--note", required=True, help="what was found, e.g. checked on the gateway portal")
    resolve.add_argument("--by", help="who asks (default: the login name)")
