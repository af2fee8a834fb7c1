"""``pos-terminal reconcile-settlement``: hold a business day against the gateway's report files (issue 18).

Files given are read as they are; with none, a day's files are fetched over ``--sftp`` or ``[settlement] sftp``.
In sandbox mode (no config file) that fetch is from the sandbox's own simulator: it is started for the command, as
``status`` starts it, and stopped after (a running terminal lends its own instead), so its SFTP server listens.
The result is kept in the journal (``--show`` prints what was kept, nothing fetched). The manager's PIN is asked
as ``report --z`` asks it. Exit codes: 0 every row matched (or is only pending), 1 differences found, 2 bad input
(a file refused, a bad argument; said in words).
"""

from __future__ import annotations

import sys

import click

from .. import services
from ..errors import PosError
from ..i18n import _
from . import grants
from .options import by_option, command
from .output import emit


def _config(opts):
    """The config this command runs with: the file, else the sandbox's own (its customer id), else None."""
    from ..config import load_config
    path = opts.config_file()
    if path is not None:
        return load_config(path)
    from ..sandbox import FOLDER
    sandbox = opts.data_path() / FOLDER / "terminal.toml"
    return load_config(sandbox) if sandbox.is_file() else None


@command("reconcile-settlement")
@click.argument("files", nargs=-1, metavar="[FILE]...", type=click.Path(exists=True, dir_okay=False))
@click.option("--sftp", metavar="URL", help="fetch the day's reports from this SFTP folder "
                                            "(sftp://user@host[:port]/v1/settlements/<customerId>)")
@click.option("--date", "day", metavar="YYYY-MM-DD",
              help="the business day to match (default: each transactions file's day; yesterday when fetching)")
@click.option("--show", is_flag=True, help="what was kept for --date (default today); nothing is read or fetched")
@click.option("--csv", "csv_file", metavar="FILE", help="also write the findings as CSV")
@click.option("--pdf", metavar="FILE", help="also write a printable PDF")
@by_option
def reconcile_settlement(opts, files, sftp, day, show, csv_file, pdf, by):
    """Match the gateway's settlement report FILEs (CSV or XLSX; or those fetched over --sftp or [settlement]
    sftp) against the journal, or the store's database with [store]: every row matched, missing on either side,
    amount or currency differs, pending FX or fees, or duplicate; fee and net per currency; kept, so a later
    report resolves what was pending (manager PIN). Exit 0 all matched, 1 differences found, 2 bad input."""
    from ..config import _shown_url, split_sftp
    if show and (files or sftp):
        raise click.UsageError("--show prints what was kept: give it without FILEs or --sftp")
    if sftp:
        try:
            split_sftp(sftp)
        except ValueError as exc:
            raise click.BadParameter(_("{url} is not an SFTP folder URL: {problem}").format(
                url=_shown_url(sftp), problem=exc), param_hint="--sftp") from None
    day = _day(day) if day or show else None
    sim = None
    if not (files or sftp or show) and opts.config_file() is None:
        from ..sandbox import start_sandbox
        sim, config = start_sandbox(opts.data_path())   # its [settlement] sftp is that simulator's report server
    else:
        config = _config(opts)
    try:
        result = _run(opts, config, files, sftp, day, show, by)
    finally:
        if sim is not None:
            sim.stop()
    if csv_file:
        result.write_csv(csv_file)
    if pdf:
        result.write_pdf(pdf)
    emit(opts, result, result.lines)
    for f in result.refused:   # a file's name (or the gateway's text in the why) shown escaped: one line each
        print(services.settlement.shown(_("pos-terminal: REFUSED {name}: {why}").format(**f)), file=sys.stderr)
    if result.differences:
        print(_("pos-terminal: {n} differences between the journal and the gateway's reports").format(
            n=result.differences), file=sys.stderr)
        return 1
    return 2 if result.refused else 0


def _run(opts, config, files, sftp, day, show, by):
    """The PIN, then the use case: what was kept (``show``), or a reconciliation of the files or the fetch."""
    if not (files or sftp or show) and (getattr(config, "settlement", None) is None or not config.settlement.sftp):
        raise PosError(_("nothing to reconcile: give the gateway's report files, or --sftp URL (or set [settlement] "
                         "sftp in terminal.toml)"),
                       hint=_("pos-terminal reconcile-settlement transactionItems_20261205_000.csv ... or "
                              "pos-terminal reconcile-settlement --sftp "
                              "sftp://user@host:22/v1/settlements/<customerId> --date 2026-12-05"))
    with opts.journal() as journal:
        grant = grants.manager(journal, by)
        if show:
            result = services.settlement.settlement_result(grant, journal, day, config)
        else:
            result = services.settlement.reconcile_settlement(grant, journal, config, files=files, sftp=sftp, day=day)
    return result


def _day(text: str | None) -> str:
    from datetime import date
    value = text or date.today().isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(_("{value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-22").format(value=value),
                                 param_hint="--date") from None
