"""How a report reads, the same on the screen, at a prompt, in the PDF and in the CSV.

The X, the Z and the day's report carry one heading (the store and the terminal, the session or the
business day, who took the report and when) and one summary of the takings in words (gross sales, refunds,
cancels, the net, how many sales and the average sale), amounts in major units with the currency's
decimals. The figures are :func:`pos_app.takings.summary`'s; this module only says them. Columns are
padded by display width, so a Chinese label (two columns a character) keeps the amounts in line.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .i18n import N_, _
from .money import format_minor
from .takings import Summary

#: What each line of the summary is, in the order it is read; its key is the ``summary`` JSON's.
FIGURES = (("gross", N_("Gross sales")), ("refunds", N_("Refunds")), ("cancels", N_("Cancels")),
           ("net", N_("Net")), ("average", N_("Average sale")))
#: Who took a report, as the grant's role says it (the manager's and technician's words are the PIN dialog's).
ROLE_WORDS = {"cashier": N_("cashier"), "manager": N_("manager"), "technician": N_("technician")}
LABEL_WIDTH = 22   # the heading's and the summary's label column, in display columns (kind 7 + status 14)


@dataclass(frozen=True)
class Till:
    """The till a report is about: the merchant's store and this terminal's id, from the config."""

    store: str
    store_id: str
    terminal: str

    @classmethod
    def of(cls, config) -> Till:
        m = config.merchant
        return cls(m.store_name, m.store_id, m.terminal_id)

    @classmethod
    def read(cls, config_file: Path | None, data_dir: Path) -> Till | None:
        """The till from the config a command would run with (sandbox mode: the one the simulator wrote in
        the data directory); None when there is none or it cannot be read: the report is still wanted."""
        from .config import load_config
        from .errors import PosError
        file = config_file if config_file is not None else Path(data_dir) / "sandbox-gateway" / "terminal.toml"
        if not Path(file).is_file():
            return None
        try:
            return cls.of(load_config(file))
        except (PosError, OSError, ValueError):
            return None

    def to_json(self) -> dict:
        return {"store": self.store, "storeId": self.store_id, "terminalId": self.terminal}


def till_json(till: Till | None) -> dict:
    """The report's ``store``, ``storeId`` and ``terminalId`` (None each when the till is not known)."""
    return till.to_json() if till is not None else {"store": None, "storeId": None, "terminalId": None}


def major(minor: int, currency: str) -> str:
    """An amount in major units with the currency's decimals: ``1000, "USD"`` → ``"10.00"``."""
    return format_minor(minor, currency)


def summary_json(summaries: dict[str, Summary]) -> dict[str, dict]:
    """The ``summary`` of a report, per currency: each figure's minor units (``value``), the same in major
    units (``amount``, a string) and, where it counts rows, how many (``count``: the sales for ``gross``)."""
    def fig(currency: str, value: int, count: int | None = None) -> dict:
        return {"value": value, "amount": major(value, currency), **({} if count is None else {"count": count})}

    return {c: {"gross": fig(c, s.gross, s.sales), "refunds": fig(c, s.refunds, s.refund_count),
                "cancels": fig(c, s.cancels, s.cancel_count), "net": fig(c, s.net), "count": s.sales,
                "average": fig(c, s.average)} for c, s in summaries.items()}


@dataclass(frozen=True)
class Figure:
    """One line of the summary as a window shows it: ``key`` (the JSON's), the label in the person's language,
    how many rows (None where it does not count rows) and the amount in major units."""

    key: str
    label: str
    count: int | None
    amount: str


def figures(summary: dict[str, dict]) -> dict[str, list[Figure]]:
    """A report's ``summary`` (:func:`summary_json`'s shape) as lines, per currency."""
    return {currency: [Figure(key, _(label), cur[key].get("count"), cur[key]["amount"]) for key, label in FIGURES]
            for currency, cur in summary.items()}


# -- text ---------------------------------------------------------------------------------------------------
def width(text: str) -> int:
    """Display columns: a wide (Chinese) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def ljust(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def rjust(text: str, columns: int) -> str:
    return " " * max(0, columns - width(text)) + text


def when(at: float | None) -> str:
    return "—" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def who(report: dict) -> str | None:
    """Who took the report and as what: ``ann (manager)``; the role alone when it is also the name."""
    by, role = report.get("takenBy"), report.get("takenAs")
    if not by:
        return None
    words = _(ROLE_WORDS[role]) if role in ROLE_WORDS else role
    if by == role:
        return words or by
    named = _(ROLE_WORDS[by]) if by in ROLE_WORDS else by   # the counter's default asker is a role, not a name
    return named if not words or named == words else f"{named} ({words})"


def heading(report: dict) -> list[tuple[str, str]]:
    """The report's heading as (label, value) pairs in the person's language: store, terminal, business
    day, session (X and Z), transactions, who took it and when. A Z stored before a field existed leaves
    that line out."""
    rows: list[tuple[str, str]] = []
    if "store" in report:
        store = report["store"]
        rows.append((_("Store"), f"{store} ({report['storeId']})" if store and report.get("storeId") else
                     store or _("not known")))
        rows.append((_("Terminal"), report.get("terminalId") or _("not known")))
    rows.append((_("Business day"), report.get("day") or report.get("date") or ""))
    session = report.get("session")
    if session:
        since = (_("since {at}").format(at=when(session["since"])) if session.get("since") else
                 _("no transaction yet"))
        after = ("; " + _("after Z report #{number}").format(number=session["previousZ"])
                 if session.get("previousZ") else "")
        rows.append((_("Session"), f"{session['number']}, {since}{after}"))
    count = session["count"] if session else report.get("count")
    if count is not None:
        rows.append((_("Transactions"), str(count)))
    taken_by = who(report)
    if taken_by:
        rows.append((_("Taken by"), taken_by))
    if report.get("takenAt"):
        rows.append((_("Taken at"), when(report["takenAt"])))
    return rows


def heading_lines(report: dict) -> list[str]:
    return [f"{ljust(label, LABEL_WIDTH)} {value}" for label, value in heading(report)]


def summary_lines(summary: dict[str, dict]) -> list[str]:
    """The summary per currency: one line a figure, the count (where it counts rows) and the amount aligned."""
    out = []
    for currency, lines in figures(summary).items():
        out.append(currency)
        for f in lines:
            count = "" if f.count is None else str(f.count)
            out.append(f"  {ljust(f.label, LABEL_WIDTH)} {rjust(count, 6)} {rjust(f.amount, 14)}")
    return out
