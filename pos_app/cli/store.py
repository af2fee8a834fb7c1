"""``pos-terminal store``: the store's day over every counter, its X, its closing, and the fleet (issue 17).

They read the store's PostgreSQL with ``[store] reader`` (or ``--database``, a libpq URL without a password)
through :mod:`pos_app.services.store`. The day, the X and the closing take the manager's PIN (of this
terminal, as ``report --z`` does); the fleet is the technician's and the manager's, and this machine's own
account counts as the technician at a prompt. A closing refused while terminals miss their Z or lag lists them
and exits 1; ``--anyway`` closes past them, and the closing's body keeps the list and who said so.
"""

from __future__ import annotations

import sys

import click

from .. import services
from ..errors import PosError
from ..i18n import _
from . import grants
from .lazy import LazyGroup
from .options import by_option, command
from .output import emit

#: The store's subcommands, imported when one runs (``restore`` lives in its own module).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "day": ("pos_app.cli.store:day", "every counter's transactions of a day, with a terminal column (manager PIN)"),
    "x": ("pos_app.cli.store:x", "the store's session so far: what no Z covers yet, per counter (manager PIN)"),
    "z": ("pos_app.cli.store:z",
          "close the store's day: refused while a counter misses its Z or lags, unless --anyway (manager PIN)"),
    "terminals": ("pos_app.cli.store:terminals", "the store's terminals by their heartbeats, stale or failing first"),
    "restore": ("pos_app.cli.store_restore:restore",
                "rebuild this replaced terminal's history from the store (a disk swap)"),
}


@command("store", group=True, cls=LazyGroup, lazy=SUBCOMMANDS)
def store(opts):
    """The store's PostgreSQL: the day over every counter, the store's X and closing, the fleet."""
    return 0


def _options(f):
    """What every store report takes: which store, which login, and where else to write it."""
    for option in reversed((
        click.option("--store", "store_id", metavar="S", help="the store (default: [store] store_id)"),
        click.option("--database", metavar="URL",
                     help="read with this libpq URL instead of [store] reader (never with a password in it)"),
        click.option("--csv", "csv_file", metavar="FILE", help="also write it as CSV"),
        click.option("--pdf", metavar="FILE", help="also write a printable PDF"),
    )):
        f = option(f)
    return by_option(f)


def _config(opts):
    """The config, checked to have a [store] before a PIN is asked for nothing (sandbox mode has none)."""
    from ..config import load_config
    path = opts.config_file()
    config = load_config(path) if path is not None else None
    services.store.store_config(config)
    return config


def _day(text: str | None) -> str:
    from datetime import date
    value = text or date.today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise PosError(_("--date {value!r} is not a date").format(value=value),
                       hint=_("use YYYY-MM-DD, e.g. 2026-11-22")) from None


def _manager(opts, by):
    with opts.journal() as journal:
        return grants.manager(journal, by)


def _write(result, csv_file, pdf) -> None:
    if csv_file:
        result.write_csv(csv_file)
    if pdf:
        result.write_pdf(pdf)


@command("day")
@click.option("--date", metavar="YYYY-MM-DD", help="the business day (default today)")
@_options
def day(opts, date, store_id, database, csv_file, pdf, by):
    """Every counter's transactions of the day with a terminal column, each counter's figures and the store's
    (the same rule as a counter's own report; manager PIN)."""
    config, when = _config(opts), _day(date)
    result = services.store.store_day(_manager(opts, by), config, when, store=store_id, database=database)
    _write(result, csv_file, pdf)
    emit(opts, result, result.lines)
    return 0


@command("x")
@_options
def x(opts, store_id, database, csv_file, pdf, by):
    """The store's session so far: per counter, what a Z taken there now would hold (manager PIN)."""
    config = _config(opts)
    result = services.store.store_x(_manager(opts, by), config, store=store_id, database=database)
    _write(result, csv_file, pdf)
    emit(opts, result, result.lines)
    return 0


@command("z")
@click.option("--date", metavar="YYYY-MM-DD", help="the business day to close (default today)")
@click.option("--anyway", is_flag=True,
              help="close even while terminals miss their Z or lag (they are kept in the closing)")
@_options
def z(opts, date, anyway, store_id, database, csv_file, pdf, by):
    """Close the store's day, once: the day's transactions that the counters' Zs cover, added up. Refused (exit 1)
    while a counter has settled sales of the day no Z covers, or may not have shipped all of the day, listing
    them; --anyway closes past them (manager PIN). A day not come yet is refused; a day closed before is shown
    as it was closed, with any Z that reached the store after it."""
    config, when = _config(opts), _day(date)
    grant = _manager(opts, by)
    with opts.journal() as journal:   # where this machine keeps its gateway reconciliations (issue 18)
        result = services.store.store_close(grant, config, when, store=store_id, database=database, anyway=anyway,
                                            journal=journal)
    if result.existing:
        _write(result, csv_file, pdf)   # the closing kept, as a file again (its first write may have failed)
        emit(opts, result, result.lines)
        print(_("pos-terminal: the store's day {day} was closed already; nothing was written (shown above)")
              .format(day=when), file=sys.stderr)
        for late in result.report.data.get("lateZ") or []:
            print(_("pos-terminal: LATE Z  {terminal}: {why}").format(**late), file=sys.stderr)
        return 1
    if not result.closed:
        lines = [_("the store's day {day} is not closed: these terminals are not ready").format(day=when),
                 *[f"  {b.terminal}: {b.why}" for b in result.blockers],
                 _("  → take each one's Z (pos-terminal report --z) and let it ship; or close with --anyway")]
        emit(opts, result, lines)
        return 1
    try:
        _write(result, csv_file, pdf)
    except PosError as exc:   # the closing is kept for ever already: say so, not only "cannot write"
        emit(opts, result, result.lines)
        raise PosError(_("the store's day {day} IS closed (kept in the store's database), but its file was not "
                         "written: {why}").format(day=when, why=exc.message),
                       hint=_("to have the file, run pos-terminal store z --date {day} again with another --pdf or "
                              "--csv path: it shows the closing kept and writes it (nothing is closed twice)")
                       .format(day=when)) from None
    emit(opts, result, result.lines)
    for d in result.report.data.get("disagreements") or []:
        print(_("pos-terminal: DISAGREEMENT  {terminal}: {why}").format(**d), file=sys.stderr)
    return 0


@command("terminals")
@_options
def terminals(opts, store_id, database, csv_file, pdf, by):
    """The store's terminals from their heartbeats: version, last seen, queue, review, self-test, lag, clock;
    stale or failing first, with the reason (this machine's account counts as the technician)."""
    config = _config(opts)
    result = services.store.store_terminals(grants.shell(by), config, store=store_id, database=database)
    _write(result, csv_file, pdf)
    emit(opts, result, result.lines)
    return 0
