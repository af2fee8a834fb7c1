"""The store's use cases (issue 17): the day over every counter, the store's X, the store's closing, the fleet.

They read the store's PostgreSQL (:mod:`pos_app.store.reports`, where its SQL lives) with the login
``[store] reader`` names (or a ``--database`` libpq URL), never the journal; the figures come from
:mod:`pos_app.takings`, the rule a counter's own reports use, so a counter and the store never disagree. The
closing is the only one that writes: a ``pos_store.store_closings`` row, which carries who asked and who
approved in its body (the audit of a PostgreSQL write lives with it, not in this till's journal).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import PosError, cannot_write
from ..i18n import _
from ..roles import MANAGER, TECHNICIAN
from .closing import Report
from .registry import Grant, use_case

MANAGERS = frozenset({MANAGER})
FLEET_ROLES = frozenset({MANAGER, TECHNICIAN})


@dataclass(frozen=True)
class StoreReport(Report):
    """A store report as data (the ``--json`` shape) and as the lines a person reads or prints; CSV (one row a
    transaction with its terminal, or the figures per terminal) and PDF exported as a counter's reports are."""


@dataclass(frozen=True)
class Blocker:
    """A terminal that holds the store's closing back, and why, in words."""

    terminal: str
    why: str


@dataclass(frozen=True)
class StoreClosing:
    """The outcome of a store closing: closed or not, what held it back (listed even when ``--anyway`` closed
    past it), and the report (the closing's body once closed; the figures so far otherwise)."""

    closed: bool
    blockers: list[Blocker]
    report: StoreReport
    existing: bool = False      # the day was closed before: ``report`` is that closing, nothing was written

    @property
    def late(self) -> list[dict]:
        """A closing shown again: the Zs of its day that reached the store after it (not counted in it)."""
        return list(self.report.data.get("lateZ") or []) if self.existing else []

    @property
    def data(self) -> dict:
        return {"closed": self.closed, "alreadyClosed": self.existing,
                "blockers": [{"terminal": b.terminal, "why": b.why} for b in self.blockers],
                "report": self.report.data}

    @property
    def lines(self) -> list[str]:
        return self.report.lines

    def to_json(self) -> dict:
        return self.data

    def write_csv(self, path: Path | str) -> Path:
        return self.report.write_csv(path)

    def write_pdf(self, path: Path | str) -> Path:
        return self.report.write_pdf(path)


@dataclass(frozen=True)
class FleetRow:
    """One terminal as its last heartbeat tells it; ``problems`` in words (empty: healthy), stale or failing
    ones sort first."""

    terminal: str
    store: str
    data: dict
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Fleet:
    """The store's terminals, stale or failing first; ``lines`` as a person reads them."""

    rows: list[FleetRow]
    lines: list[str]
    data: dict

    def to_json(self) -> dict:
        return self.data

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def write_csv(self, path: Path | str) -> Path:
        from ..store import reports
        try:
            reports.write_fleet_csv(self.data, Path(path))
        except OSError as exc:
            raise cannot_write(path, exc) from None
        return Path(path)

    def write_pdf(self, path: Path | str) -> Path:
        from ..pdf import write_pdf
        return write_pdf(self.lines, Path(path))


def store_config(config):
    """``config.store``, or a PosError in words (said before a PIN is asked for nothing)."""
    if config is None or getattr(config, "store", None) is None:
        raise PosError(_("this terminal has no [store]: the store's reports read the store's PostgreSQL"),
                       hint=_("add a [store] section to terminal.toml (database, store_id, reader), or run "
                              "pos-terminal setup"))
    return config.store


@use_case("store_day", roles=MANAGERS, cli="store day", gui="ui.manager:ManagerWindow.show_store_day")
def store_day(grant: Grant, config, day: str, *, store: str | None = None,
              database: str | None = None) -> StoreReport:
    """Every counter's transactions of ``day`` with a terminal column, totals per terminal and for the store, and
    the counters the store may not hold all of the day of (``behind``)."""
    from ..store import reports
    with reports.open_store(store_config(config), database=database, config_path=config.path) as conn:
        data = reports.store_day(conn, store or config.store.store_id, day, by=grant.asked_by, role=grant.role,
                                 heartbeat_interval=config.store.heartbeat_interval)
    return StoreReport(data, reports.day_lines(data), reports.write_day_csv)


@use_case("store_x", roles=MANAGERS, cli="store x", gui="ui.manager:ManagerWindow.store_x_report")
def store_x(grant: Grant, config, *, store: str | None = None, database: str | None = None) -> StoreReport:
    """The store's session so far: per counter, what no Z covers yet (nothing is stored)."""
    from ..store import reports
    with reports.open_store(store_config(config), database=database, config_path=config.path) as conn:
        data = reports.store_x(conn, store or config.store.store_id, by=grant.asked_by, role=grant.role,
                               heartbeat_interval=config.store.heartbeat_interval)
    return StoreReport(data, reports.figures_lines(data), reports.write_figures_csv)


@use_case("store_close", roles=MANAGERS, cli="store z", gui="ui.manager:ManagerWindow.store_close")
def store_close(grant: Grant, config, day: str, *, store: str | None = None, database: str | None = None,
                anyway: bool = False, journal=None) -> StoreClosing:
    """Close the store's ``day``: refused while a counter has settled rows of the day no Z covers or may not have
    shipped all of it, unless ``anyway``; a day not come yet is refused in words; once (a day closed before is
    shown, with the Zs that reached the store after it). With this machine's ``journal``, the closing is shown
    with whether the store's day has been held against the gateway's reports here, and how (issue 18)."""
    from ..store import reports
    with reports.open_store(store_config(config), database=database, config_path=config.path) as conn:
        outcome = reports.store_close(conn, store or config.store.store_id, day, anyway=anyway,
                                      by=grant.asked_by, approved_by=grant.approved_by, role=grant.role,
                                      heartbeat_interval=config.store.heartbeat_interval)
    blockers = [Blocker(b["terminal"], b["why"]) for b in outcome["blockers"]]
    data, lines = outcome["report"], reports.figures_lines(outcome["report"])
    if journal is not None:
        from .settlement import STORE, gateway_check, gateway_lines
        check = gateway_check(journal, day, source=STORE)
        data, lines = {**data, "gatewayReconciliation": check}, [*lines, "", *gateway_lines(check)]
    report = StoreReport(data, lines, reports.write_figures_csv)
    return StoreClosing(outcome["closed"], blockers, report, existing=outcome["existing"])


@use_case("store_terminals", roles=FLEET_ROLES, cli="store terminals",
          gui="ui.technician:TechnicianWindow.refresh_fleet")
def store_terminals(grant: Grant, config, *, store: str | None = None, database: str | None = None) -> Fleet:
    """The store's terminals from their heartbeats, stale or failing first, each with its reasons in words."""
    from ..store import reports
    with reports.open_store(store_config(config), database=database, config_path=config.path) as conn:
        data = reports.fleet(conn, store or config.store.store_id,
                             heartbeat_interval=config.store.heartbeat_interval)
    rows = [FleetRow(row["terminal"], row["store"], row, row["problems"]) for row in data["terminals"]]
    return Fleet(rows, reports.fleet_lines(data), data)
