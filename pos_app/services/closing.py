"""Closing use cases: the day's report, the X report (the session so far) and the Z (close the session).

The figures come from :mod:`pos_app.closing` and :mod:`pos_app.report`, one net for all three. A Z and
a reprint need the manager; the Z's own audit entry is written with it, in one transaction. Each report
names its till (``till``: the store and terminal from the config, :class:`pos_app.printout.Till`) and who
took it (the grant's ``asked_by``, as its role).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import cannot_write
from ..printout import Figure, Till
from ..roles import MANAGER
from .registry import Grant, record, use_case

MANAGERS = frozenset({MANAGER})


@dataclass(frozen=True)
class Report:
    """A report as data (the ``--json`` shape) and as the lines a person reads or prints; its exports are
    the same for the CLI's ``--csv``/``--pdf`` and the window's buttons."""

    data: dict
    lines: list[str]
    csv: Callable[[dict, Path | None], str] = field(repr=False, compare=False)   # its CSV writer (day or X/Z)

    def to_json(self) -> dict:
        return self.data

    @property
    def heading(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the person's language: store, terminal, business day, session (X, Z),
        transactions, taken by, taken at."""
        from ..printout import heading
        return heading(self.data)

    @property
    def figures(self) -> dict[str, list[Figure]]:
        """Per currency, the takings as a person reads them: gross sales, refunds, cancels, net, average
        sale (label, count, amount in major units); empty for a Z stored before summaries."""
        from ..printout import figures
        return figures(self.data.get("summary") or {})

    def write_csv(self, path: Path | str) -> Path:
        """The day's transactions, or an X or Z report's totals, as CSV; a folder that is not there or not
        writable is said in words, as for the PDF."""
        try:
            self.csv(self.data, Path(path))
        except OSError as exc:
            raise cannot_write(path, exc) from None
        return Path(path)

    def write_pdf(self, path: Path | str) -> Path:
        """The lines as a printable PDF (no Qt: a headless ``report --z --pdf`` works)."""
        from ..pdf import write_pdf
        return write_pdf(self.lines, Path(path))


@use_case("day_report", cli="report", gui="ui.manager:ManagerWindow.refresh_summary")
def day_report(grant: Grant, journal, day: str, till: Till | None = None) -> Report:
    """The day's transactions and totals (read-only)."""
    from .. import report
    data = report.day_report(journal, day, till=till, by=grant.asked_by, role=grant.role)
    return Report(data, report.lines(data), report.write_csv)


@use_case("x_report", cli="report --x", gui="ui.manager:ManagerWindow.x_report")
def x_report(grant: Grant, journal, till: Till | None = None) -> Report:
    """The session so far: everything no Z has covered yet (nothing is stored)."""
    from .. import closing
    data = closing.x_report(journal, till=till, by=grant.asked_by, role=grant.role)
    return Report(data, closing.lines(data), closing.write_csv)


@use_case("z_report", roles=MANAGERS, cli="report --z", gui="ui.manager:ManagerWindow.z_report")
def z_report(grant: Grant, journal, till: Till | None = None) -> Report:
    """Close the session with the next Z: numbered, chained, immutable. Refused when nothing is new."""
    from .. import closing
    data = closing.take_z(journal, by=grant.asked_by, approved_by=grant.approved_by, role=grant.role, till=till)
    return _with_gateway(journal, data)


@use_case("z_reprint", roles=MANAGERS, cli="report --z --number", gui="ui.manager:ManagerWindow.z_reprint")
def z_reprint(grant: Grant, journal, number: int) -> Report:
    """A stored Z, as it was taken; the reprint is audited."""
    from .. import closing
    data = closing.reprint_z(journal, number)
    record(journal, grant, "z_report_reprint", detail={"number": number})
    return _with_gateway(journal, data)


def _with_gateway(journal, z: dict) -> Report:
    """A Z as taken (sealed), followed by whether its day has been held against the gateway's reports since, and
    how (issue 18): that is read now, never part of the sealed body, since the reports come the day after."""
    from .. import closing
    from .settlement import gateway_check, gateway_lines
    check = gateway_check(journal, z["day"])
    return Report({**z, "gatewayReconciliation": check}, [*closing.lines(z), "", *gateway_lines(check)],
                  closing.write_csv)
