"""The store's reports, read from its PostgreSQL: the day over every counter, the store's X, its closing, the fleet.

Why here: this is where the store's SQL lives (the journal's stays in offline_queue). The rows carry what
:mod:`pos_app.takings` reads (kind, status, currency, amount and ``reversed``, written as the journal's
ledger writes it, per terminal), and every figure comes from that one rule: a counter's own report and its
line in the store's report are the same computation over the same rows, so they cannot disagree. A store's
figures are only as fresh as the counters' replication; the closing therefore refuses while a counter lags or
misses its Z, unless the manager says ``anyway`` (and that is kept in the closing's body).

Reads go through the login ``[store] reader`` names (a store manager's or head office's; a till's own login
sees only its own rows and is refused here in words), or a ``--database`` libpq URL given at the prompt, which
may not carry a password either.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import printout, takings
from ..errors import PosError
from ..i18n import _
from ..money import format_minor
from ..report import day_figures, transaction_json
from ..vocabulary import (
    CANCEL,
    CANCELLED,
    KIND_WORDS,
    KINDS,
    NEEDS_REVIEW,
    OPEN,
    SALE,
    SUCCESS,
    status_words,
)
from .schema import HEAD_OFFICE, MANAGER_GROUP, TERMINAL_GROUP, StoreError

if TYPE_CHECKING:
    import psycopg

    from ..config import StoreConfig

#: A heartbeat's replication lag above this many seconds holds the closing back (the store is behind).
LAG_LIMIT_S = 60.0
#: A terminal's clock this far from the store's is failing (receipts, days and Zs carry its time).
CLOCK_LIMIT_S = 60.0
#: A statement the store has not answered in this long is given up, as the shipper does.
STATEMENT_TIMEOUT_MS = 30_000

_WORDS = {"sale": SALE, "cancelled": CANCELLED, "cancel": CANCEL, "success": SUCCESS}
# offline_queue/ledger.py's _REVERSED, per terminal: a CANCELLED sale whose own manager's cancel went through.
_REVERSED = ("(t.kind = %(sale)s AND t.status = %(cancelled)s AND EXISTS (SELECT 1 FROM pos_store.transactions c "
             "WHERE c.terminal_id = t.terminal_id AND c.parent = t.id AND c.kind = %(cancel)s "
             "AND c.status = %(success)s))")


# -- the connection --------------------------------------------------------------------------------------
def override_params(database: str, store_id: str, config_path: Path | None = None) -> dict[str, str]:
    """A ``--database`` libpq URL or conninfo, checked as ``[store] database`` is; a password in it is refused
    in words (it would sit in the shell's history and the process list)."""
    from ..config import parse_store

    try:
        from psycopg.conninfo import conninfo_to_dict
        given = conninfo_to_dict(database)
    except ImportError:
        raise PosError(_("the store's reports need psycopg, which is not installed here"),
                       hint=_("install pos-terminal with its dependencies (pip install psycopg[binary])")) from None
    except Exception:   # noqa: BLE001 -- psycopg's ProgrammingError: not a libpq URL or conninfo
        raise PosError(_("--database is not a libpq URL or conninfo"),
                       hint=_("e.g. postgresql://manager@db.example:5432/store?sslmode=verify-full")) from None
    if "password" in given:
        raise PosError(_("--database carries a password: never give one on the command line (the shell's history "
                         "and the process list keep it)"),
                       hint=_("let libpq find it: passfile=/path/to/pgpass (mode 600), or a client certificate "
                              "(sslcert= and sslkey=)"))
    where = (config_path.parent if config_path is not None else Path.cwd()) / "--database"
    return parse_store(where, {"database": database, "store_id": store_id}, store_id).params


@contextmanager
def open_store(store: StoreConfig, *, database: str | None = None,
               config_path: Path | None = None) -> Iterator[psycopg.Connection]:
    """A connection to the store's reports: ``database`` (a ``--database`` override) or ``[store] reader``
    (else ``database``); unreachable or refused is said in words, never as a traceback."""
    try:
        import psycopg
    except ImportError:
        raise PosError(_("the store's reports need psycopg, which is not installed here"),
                       hint=_("install pos-terminal with its dependencies (pip install psycopg[binary])")) from None
    conninfo = (store.conninfo(override_params(database, store.store_id, config_path)) if database
                else store.reader_conninfo())
    try:
        conn = psycopg.connect(conninfo, connect_timeout=10, application_name="pos-terminal store",
                               autocommit=False)
    except psycopg.OperationalError as exc:
        raise _unreachable(exc) from None
    try:
        conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        check_reader(conn)
        yield conn
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(_("the store's database refused this login: {reason}").format(reason=_first(exc)),
                         hint=_("read with a store manager's login ([store] reader), or head office's")) from None
    except psycopg.OperationalError as exc:
        raise _unreachable(exc) from None
    except psycopg.Error as exc:   # no pos_store schema there, an older one: not the store's database as we know it
        raise StoreError(_("the store's database refused the report: {reason}").format(reason=_first(exc)),
                         hint=_("check that [store] reader (or --database) names the store's database, migrated "
                                "by a terminal of this version")) from None
    finally:
        conn.close()


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unreachable(exc: BaseException) -> StoreError:
    reason = _first(exc)
    if "authentication" in reason or "password" in reason or "no pg_hba" in reason or "role" in reason:
        return StoreError(_("the store's database refused the login: {reason}").format(reason=reason),
                          hint=_("check [store] reader (or --database): the user, and its passfile or client "
                                 "certificate"))
    return StoreError(_("the store's database does not answer: {reason}").format(reason=reason),
                      hint=_("check that the store's PostgreSQL runs and this machine reaches it; then try again"))


def check_reader(conn: psycopg.Connection) -> None:
    """A till's own login sees only its own rows: a store report read with it would be silently partial."""
    row = conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER'), pg_has_role(current_user, %s, 'MEMBER'), "
                       "pg_has_role(current_user, %s, 'MEMBER'), current_user",
                       (TERMINAL_GROUP, MANAGER_GROUP, HEAD_OFFICE)).fetchone()
    conn.commit()
    if row is None:
        return
    terminal, manager, office, user = row
    if terminal and not (manager or office):
        raise StoreError(_("{user} is a terminal's own login: it reads only that terminal's rows, not the store's")
                         .format(user=user),
                         hint=_("set [store] reader to a store manager's login (or give --database one)"))


def _rows(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, {**_WORDS, **params})
        return list(cur.fetchall())


def _terminals(conn: psycopg.Connection, store: str) -> list[str]:
    """The store's terminals this login may see; none is said in words (not this login's store, or no such)."""
    found = [r["terminal_id"] for r in _rows(conn, "SELECT terminal_id FROM pos_store.terminals "
                                                  "WHERE store_id = %(store)s ORDER BY terminal_id", {"store": store})]
    if not found:
        user = _rows(conn, "SELECT current_user AS u", {})[0]["u"]
        raise StoreError(_("the store's database shows {user} no terminal of store {store}").format(
                             user=user, store=store),
                         hint=_("a store manager reads only their own store: check --store, or read with that "
                                "store's manager login (head office reads all)"))
    return found


def check_day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except (TypeError, ValueError):
        raise PosError(_("{day!r} is not a date").format(day=text), hint=_("use YYYY-MM-DD, e.g. 2026-11-22")) from None


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


# -- figures: the one rule, in the counter's own report's shapes -----------------------------------------
def group_figures(groups: list[dict]) -> dict:
    """A session's (or a Z's) ``totals`` and ``summary`` over rows summed per kind, currency, status and
    reversal, as a counter's X and Z have them."""
    return {"count": sum(g["count"] for g in groups), "totals": takings.totals(groups),
            "summary": printout.summary_json(takings.summary(groups))}


def _groups(rows: list[dict]) -> list[dict]:
    return [{"kind": r["kind"], "currency": r["currency"], "status": r["status"], "reversed": bool(r["reversed"]),
             "count": _int(r["count"]), "amount": _int(r["amount"])} for r in rows]


def _heading(store: str, by: str | None, role: str | None, now: float) -> dict:
    return {"storeId": store, "takenBy": by, "takenAs": role, "takenAt": now}


# -- the day ---------------------------------------------------------------------------------------------
def _owes_day(h: dict, has_rows: bool) -> bool:
    """Whether the store may still lack some of a day (``_health(conn, store, day)``'s row) from this terminal:
    not once it has shipped all of it (its last heartbeat came after the day ended, with nothing left to ship
    and no replication error), nor when it was retired before the day ended, or registered after it and has
    no row of it."""
    if h["retired_before_day"] or (h["registered_after_day"] and not has_rows):
        return False
    return not (h["beat_after_day"] and h["backlog"] == 0 and not (h["detail"] or {}).get("replicationError"))


def _behind_all(conn: psycopg.Connection, store: str, heartbeat_interval: float, day: str | None = None,
                with_rows: frozenset[str] = frozenset()) -> list[dict]:
    """The terminals the store may not hold everything of (:func:`behind`), each with why in words. For a
    ``day``, only those that may still owe it (:func:`_owes_day`, as the closing judges them)."""
    out = []
    for h in _health(conn, store, day):
        if day is not None and not _owes_day(h, h["terminal_id"] in with_rows):
            continue
        why = behind(h, heartbeat_interval)
        if why:
            out.append({"terminal": h["terminal_id"], "why": "; ".join(why)})
    return out


def store_day(conn: psycopg.Connection, store: str, day: str, *, by: str | None = None, role: str | None = None,
              now: float | None = None, heartbeat_interval: float = 30.0) -> dict:
    """Every counter's transactions of ``day`` (the (store_id, day) index), each with its terminal, the figures
    per terminal (a counter's own ``report`` of that day has the same) and for the store; ``behind``: the
    counters the store may not hold all of the day of (their own report may show more)."""
    day = check_day(day)
    terminals = _terminals(conn, store)
    rows = _rows(conn, "SELECT t.terminal_id, t.id, t.kind, t.parent, t.currency, t.amount, t.status, t.final, "
                       "extract(epoch FROM t.created_at)::float8 AS created_at, t.z_number, t.tender, t.payment_id, "
                       "t.result_code, t.description, p.payment_id AS parent_payment_id, "
                       f"{_REVERSED} AS reversed FROM pos_store.transactions t "
                       "LEFT JOIN pos_store.transactions p ON p.terminal_id = t.terminal_id AND p.id = t.parent "
                       "WHERE t.store_id = %(store)s AND t.day = %(day)s ORDER BY t.created_at, t.terminal_id, t.id",
                 {"store": store, "day": day})
    conn.commit()
    transactions = [{"terminalId": r["terminal_id"], **transaction_json(r)} for r in rows]
    per = {t: day_figures([r for r in rows if r["terminal_id"] == t]) for t in terminals}
    late = _behind_all(conn, store, heartbeat_interval, day, frozenset(r["terminal_id"] for r in rows))
    return {"type": "storeDay", "date": day, **_heading(store, by, role, time.time() if now is None else now),
            **day_figures(rows), "terminals": per, "behind": late, "transactions": transactions}


# -- the store's X: what no Z covers yet, per counter -------------------------------------------------------
def _uncovered(conn: psycopg.Connection, store: str) -> dict[str, list[dict]]:
    """Per terminal, the settled rows no Z covers yet, summed as offline_queue/ledger.py's uncovered_groups."""
    rows = _rows(conn, f"SELECT t.terminal_id, t.kind, t.currency, t.status, {_REVERSED} AS reversed, "
                       "count(*) AS count, sum(t.amount) AS amount FROM pos_store.transactions t "
                       "WHERE t.store_id = %(store)s AND t.z_number IS NULL AND t.final "
                       "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5", {"store": store})
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["terminal_id"], []).extend(_groups([r]))
    return out


def store_x(conn: psycopg.Connection, store: str, *, by: str | None = None, role: str | None = None,
            now: float | None = None, heartbeat_interval: float = 30.0) -> dict:
    """The store's session: per counter, what a Z taken there now would hold, its open and needs-review
    rows and its last Z; the store's figures over all of them; ``behind``: the counters the store may not hold
    everything of. Nothing is stored."""
    terminals = _terminals(conn, store)
    late = _behind_all(conn, store, heartbeat_interval)
    groups = _uncovered(conn, store)
    unsettled = {r["terminal_id"]: r for r in _rows(
        conn, "SELECT terminal_id, count(*) FILTER (WHERE status = ANY(%(open)s)) AS open, "
              "count(*) FILTER (WHERE status = %(review)s) AS review FROM pos_store.transactions "
              "WHERE store_id = %(store)s AND z_number IS NULL AND NOT final GROUP BY 1",
        {"store": store, "open": sorted(OPEN), "review": NEEDS_REVIEW})}
    last_z = {r["terminal_id"]: r["number"] for r in _rows(
        conn, "SELECT terminal_id, max(number) AS number FROM pos_store.z_reports WHERE store_id = %(store)s "
              "GROUP BY 1", {"store": store})}
    conn.commit()
    per = {}
    for t in terminals:
        u = unsettled.get(t) or {}
        per[t] = {**group_figures(groups.get(t, [])), "stillOpen": _int(u.get("open")),
                  "needsReview": _int(u.get("review")), "lastZ": last_z.get(t)}
    everything = [g for t in terminals for g in groups.get(t, [])]
    now = time.time() if now is None else now
    return {"type": "storeX", "day": time.strftime("%Y-%m-%d", time.localtime(now)),
            **_heading(store, by, role, now), **group_figures(everything),
            "stillOpen": sum(p["stillOpen"] for p in per.values()),
            "needsReview": sum(p["needsReview"] for p in per.values()), "terminals": per, "behind": late}


# -- the fleet: heartbeats -------------------------------------------------------------------------------
def _health(conn: psycopg.Connection, store: str, day: str | None = None) -> list[dict]:
    """Each terminal of the store with its last heartbeat; with ``day``, also whether that heartbeat came after
    the day ended and whether the terminal was retired, or registered, only after it ended.

    A day ends at the next midnight in the store database's time zone (its ``TimeZone`` setting, the zone
    ``current_date`` uses), by the store's clock: a heartbeat's ``at`` is the store's ``now()``, so a
    terminal's wrong clock does not move it. The store's counters share a time zone, and a terminal's business
    day is its local date: one day boundary for all of them."""
    return _rows(conn, "SELECT t.terminal_id, t.store_id, h.at IS NOT NULL AS seen, "
                       "extract(epoch FROM h.at)::float8 AS at, "
                       "extract(epoch FROM now() - h.at)::float8 AS age_s, h.version, h.queue_depth, "
                       "h.oldest_age_s, h.needs_review, h.open_count, h.selftest, "
                       "extract(epoch FROM h.selftest_at)::float8 AS selftest_at, h.lag_s, h.backlog, h.shipped, "
                       "h.clock_offset_s, h.detail, t.retired_at IS NOT NULL AS retired, "
                       "coalesce(h.at >= (%(day)s::date + 1)::timestamptz, false) AS beat_after_day, "
                       "coalesce(t.retired_at <= (%(day)s::date + 1)::timestamptz, false) AS retired_before_day, "
                       "coalesce(t.registered_at >= (%(day)s::date + 1)::timestamptz, false) AS registered_after_day "
                       "FROM pos_store.terminals t "
                       "LEFT JOIN pos_store.heartbeats h ON h.terminal_id = t.terminal_id "
                       "WHERE t.store_id = %(store)s ORDER BY t.terminal_id", {"store": store, "day": day})


def stale_after(heartbeat_interval: float) -> float:
    """A terminal silent this long is stale: two heartbeats missed."""
    return 2 * heartbeat_interval


def interval_of(h: dict, heartbeat_interval: float) -> float:
    """The terminal's own heartbeat interval, as its heartbeat says it (``detail.heartbeatInterval``); the
    reader's ``[store] heartbeat_interval`` for a terminal whose heartbeat does not say (an older version)."""
    given = (h.get("detail") or {}).get("heartbeatInterval")
    try:
        value = float(given if isinstance(given, (int, float, str)) else "nan")
    except ValueError:
        return heartbeat_interval
    if value != value:   # NaN: not said
        return heartbeat_interval
    return value if value > 0 else heartbeat_interval


def _stale(h: dict, heartbeat_interval: float) -> bool:
    return (h["age_s"] or 0.0) > stale_after(interval_of(h, heartbeat_interval))


def behind(h: dict, heartbeat_interval: float) -> list[str]:
    """Why the store may not hold all this terminal has, in words (empty: it is current): never seen, silent
    past two of its own heartbeats, lagging, a backlog, a replication error. The closing's blockers say the same
    words; the store's day and X list them, so a counter behind is never read as complete."""
    if h.get("retired"):
        return []
    if not h["seen"]:
        return [_("never sent a heartbeat: the store cannot tell what it holds")]
    why = []
    if _stale(h, heartbeat_interval):
        why.append(_("silent for {age} (last heartbeat): what it sold since may not be here").format(
            age=_age(h["age_s"] or 0.0)))
    if (h["lag_s"] or 0) > LAG_LIMIT_S:
        why.append(_("replication lags {lag:.0f} s behind").format(lag=h["lag_s"]))
    if (h["backlog"] or 0) > 0:
        why.append(_("{n} changes not yet shipped to the store").format(n=h["backlog"]))
    error = (h["detail"] or {}).get("replicationError")
    if error:
        why.append(_("replication error: {error}").format(error=error))
    return why


def _problems(h: dict, heartbeat_interval: float) -> list[str]:
    """What is wrong with one terminal, in words (empty: healthy): silent, self-test failed, lagging, clock off,
    a replication error. A backlog alone is not (a busy till has one between rounds; a stuck one shows as lag),
    nor are reviews (the manager's, and counted in their own column); nor is anything of a retired terminal."""
    if h.get("retired"):
        return []
    if not h["seen"]:
        return [_("never sent a heartbeat: it has not replicated to the store yet")]
    out = []
    age = h["age_s"] or 0.0
    limit = stale_after(interval_of(h, heartbeat_interval))
    if age > limit:
        out.append(_("silent for {age}: last heartbeat over {limit:g} s ago (off, or cut from the store)").format(
            age=_age(age), limit=limit))
    if h["selftest"] == "fail":
        out.append(_("its last self-test failed"))
    if (h["lag_s"] or 0) > LAG_LIMIT_S:
        out.append(_("replication lags {lag:.0f} s behind (over {limit:g} s)").format(lag=h["lag_s"],
                                                                                     limit=LAG_LIMIT_S))
    if h["clock_offset_s"] is not None and abs(h["clock_offset_s"]) > CLOCK_LIMIT_S:
        out.append(_("its clock is {offset:+.0f} s off the store's").format(offset=h["clock_offset_s"]))
    error = (h["detail"] or {}).get("replicationError")
    if error:
        out.append(_("replication error: {error}").format(error=error))
    return out


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return _("{n} s").format(n=seconds)
    if seconds < 7200:
        return _("{n} min").format(n=seconds // 60)
    return _("{n} h").format(n=seconds // 3600)


def fleet(conn: psycopg.Connection, store: str, *, heartbeat_interval: float = 30.0) -> dict:
    """The store's terminals from their heartbeats (ages by the store's clock), stale or failing first, each
    with its problems in words."""
    _terminals(conn, store)
    health = _health(conn, store)
    conn.commit()
    out = []
    for h in health:
        problems = _problems(h, heartbeat_interval)
        stale = not h["retired"] and (not h["seen"] or _stale(h, heartbeat_interval))
        out.append({"terminal": h["terminal_id"], "store": h["store_id"], "seen": h["seen"], "stale": stale,
                    "retired": h["retired"], "staleAfterSeconds": stale_after(interval_of(h, heartbeat_interval)),
                    "lastSeen": h["at"], "ageSeconds": None if h["age_s"] is None else round(h["age_s"], 3),
                    "version": h["version"], "queueDepth": h["queue_depth"], "oldestAgeSeconds": h["oldest_age_s"],
                    "needsReview": h["needs_review"], "open": h["open_count"], "selftest": h["selftest"],
                    "selftestAt": h["selftest_at"], "lagSeconds": h["lag_s"], "backlog": h["backlog"],
                    "shipped": h["shipped"], "clockOffsetSeconds": h["clock_offset_s"],
                    "detail": h["detail"] or {}, "problems": problems, "ok": not problems})
    out.sort(key=lambda r: (0 if r["stale"] else 1 if r["problems"] else 3 if r["retired"] else 2, r["terminal"]))
    return {"storeId": store, "staleAfterSeconds": stale_after(heartbeat_interval), "terminals": out}


def fleet_lines(data: dict) -> list[str]:
    out = [_("TERMINALS  store {store}").format(store=data["storeId"])]
    for r in data["terminals"]:
        seen = _("never seen") if not r["seen"] else _("seen {age} ago").format(age=_age(r["ageSeconds"] or 0))
        state = (_("STALE") if r["stale"] else _("FAILING") if r["problems"] else
                 _("retired") if r.get("retired") else _("ok"))
        out.append(f"{printout.ljust(r['terminal'], 16)} {printout.ljust(state, 8)} {seen}  "
                   + _("version {v}, queue {q}, review {n}, self-test {s}, lag {lag} s, backlog {b}, clock {c} s")
                   .format(v=r["version"] or "?", q=_dash(r["queueDepth"]), n=_dash(r["needsReview"]),
                           s=r["selftest"] or _("never"), lag=_dash(r["lagSeconds"]), b=_dash(r["backlog"]),
                           c=_dash(None if r["clockOffsetSeconds"] is None else round(r["clockOffsetSeconds"], 1))))
        out += [f"    {p}" for p in r["problems"]]
    return out


def _dash(value: Any) -> str:
    return "—" if value is None else str(value)


FLEET_CSV = ("terminal", "store", "state", "lastSeen", "ageSeconds", "version", "queueDepth", "oldestAgeSeconds",
             "needsReview", "open", "selftest", "lagSeconds", "backlog", "clockOffsetSeconds", "problems")


def write_fleet_csv(data: dict, path: Path | None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FLEET_CSV, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in data["terminals"]:
        state = ("stale" if r["stale"] else "failing" if r["problems"] else
                 "retired" if r.get("retired") else "ok")
        writer.writerow({**r, "state": state, "problems": "; ".join(r["problems"])})
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text


# -- the store's closing ---------------------------------------------------------------------------------
def _canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def blockers(conn: psycopg.Connection, store: str, day: str, *, heartbeat_interval: float) -> list[dict]:
    """The terminals that hold ``day``'s closing back, each with why in words: settled rows of the day no Z
    covers yet, or a store that may not hold all of the day (:func:`behind`).

    Which Z covers a row does not matter, nor that Z's own day: a Z taken after midnight, or a sale of the day
    reviewed and settled later and covered by a later Z, covers it all the same (the closing counts it). A
    terminal is not waited for once it has shipped all of the day: its last heartbeat came after the day
    ended and had nothing left to ship (switched off since, or silent, it holds nothing of the day back); nor
    when it was retired before the day ended, or registered after it with no row of it."""
    terminals = _terminals(conn, store)
    counts = {r["terminal_id"]: r for r in _rows(
        conn, "SELECT terminal_id, count(*) AS rows, count(*) FILTER (WHERE final AND z_number IS NULL) AS uncovered "
              "FROM pos_store.transactions WHERE store_id = %(store)s AND day = %(day)s GROUP BY 1",
        {"store": store, "day": day})}
    health = {h["terminal_id"]: h for h in _health(conn, store, day)}
    out = []
    for t in terminals:
        why = []
        c, h = counts.get(t), health[t]
        if h["retired_before_day"]:
            continue
        if c and _int(c["uncovered"]):
            why.append(_("{n} settled transactions of {day} that no Z covers yet: take its Z (pos-terminal report --z)")
                       .format(n=_int(c["uncovered"]), day=day))
        if _owes_day(h, bool(c)):
            why += behind(h, heartbeat_interval)
        if why:
            out.append({"terminal": t, "why": "; ".join(why)})
    return out


def _covering_zs(conn: psycopg.Connection, store: str, day: str) -> list[dict]:
    """The Zs that belong to ``day``'s closing: each Z that covers a row of the day (whatever its own day) and
    each Z taken that day."""
    return _rows(conn, "SELECT z.terminal_id, z.number, z.sha256, z.body FROM pos_store.z_reports z "
                       "WHERE z.store_id = %(store)s AND (z.day = %(day)s OR (z.terminal_id, z.number) IN ("
                       "SELECT DISTINCT t.terminal_id, t.z_number FROM pos_store.transactions t "
                       "WHERE t.store_id = %(store)s AND t.day = %(day)s AND t.z_number IS NOT NULL)) "
                       "ORDER BY z.terminal_id, z.number", {"store": store, "day": day})


def closing_figures(conn: psycopg.Connection, store: str, day: str) -> dict:
    """The day's closing figures: the rows of ``day`` that some Z covers, whichever Z (the one rule over them,
    per terminal and for the store), so the closing and the store's day count the same rows once every settled
    row is covered. The Zs involved (:func:`_covering_zs`) are cross-checked one by one: a Z's body against all
    the rows that Z covers, any day's (what it counted when it was taken); a disagreement is listed in
    ``disagreements``."""
    zs = _covering_zs(conn, store, day)
    covered = _rows(conn, f"SELECT t.terminal_id, t.kind, t.currency, t.status, {_REVERSED} AS reversed, "
                          "count(*) AS count, sum(t.amount) AS amount FROM pos_store.transactions t "
                          "JOIN pos_store.z_reports z ON z.terminal_id = t.terminal_id AND z.number = t.z_number "
                          "WHERE t.store_id = %(store)s AND t.day = %(day)s AND t.z_number IS NOT NULL "
                          "GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5", {"store": store, "day": day})
    groups: dict[str, list[dict]] = {}
    for r in covered:
        groups.setdefault(r["terminal_id"], []).extend(_groups([r]))
    per_z: dict[tuple[str, int], list[dict]] = {}
    if zs:
        for r in _rows(conn, "SELECT t.terminal_id, t.z_number, t.kind, t.currency, t.status, "
                             f"{_REVERSED} AS reversed, count(*) AS count, sum(t.amount) AS amount "
                             "FROM pos_store.transactions t "
                             "JOIN unnest(%(terminals)s::text[], %(numbers)s::int[]) AS k(terminal_id, number) "
                             "ON t.terminal_id = k.terminal_id AND t.z_number = k.number "
                             "WHERE t.store_id = %(store)s GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6",
                       {"store": store, "terminals": [z["terminal_id"] for z in zs],
                        "numbers": [z["number"] for z in zs]}):
            per_z.setdefault((r["terminal_id"], r["z_number"]), []).extend(_groups([r]))
    per, disagreements = {}, []
    for t in sorted({z["terminal_id"] for z in zs} | set(groups)):
        mine = [z for z in zs if z["terminal_id"] == t]
        for z in mine:
            theirs = _sum_totals([z["body"].get("totals") or {}])
            ours = group_figures(per_z.get((t, z["number"]), []))["totals"]
            # the nets, not each status's count: a covered sale reversed by a later cancel is CANCELLED now but
            # still moved its amount (its cancel counts in the later Z), so only a changed net is a disagreement
            if _net_of(theirs) != _net_of(ours):
                disagreements.append({"terminal": t, "why": _(
                    "its Z report #{number} says {theirs}, but the rows it covers in the store add up to {ours}")
                    .format(number=z["number"], theirs=_nets(theirs), ours=_nets(ours))})
        per[t] = {**group_figures(groups.get(t, [])),
                  "z": [{"number": z["number"], "sha256": z["sha256"],
                         "count": (z["body"].get("session") or {}).get("count")} for z in mine]}
    everything = [g for gs in groups.values() for g in gs]
    return {**group_figures(everything), "terminals": per, "disagreements": disagreements}


def _sum_totals(all_totals: list[dict]) -> dict:
    """Several Zs' ``totals`` added up (counts and values per currency, kind and status; the nets)."""
    out: dict[str, dict] = {}
    for totals in all_totals:
        for currency, cur in totals.items():
            mine = out.setdefault(currency, {kind: {} for kind in KINDS} | {"net": 0})
            for kind in KINDS:
                for status, e in (cur.get(kind) or {}).items():
                    entry = mine[kind].setdefault(status, {"count": 0, "value": 0})
                    entry["count"] += e["count"]
                    entry["value"] += e["value"]
            mine["net"] += cur.get("net", 0)
    return {c: {**cur, **{k: dict(sorted(cur[k].items())) for k in KINDS}} for c, cur in sorted(out.items())}


def _net_of(totals: dict) -> dict[str, int]:
    return {c: cur["net"] for c, cur in totals.items() if cur["net"] or any(cur.get(k) for k in KINDS)}


def _nets(totals: dict) -> str:
    return ", ".join(f"{format_minor(cur['net'], c)} {c}" for c, cur in totals.items()) or _("nothing")


def existing_closing(conn: psycopg.Connection, store: str, day: str) -> dict | None:
    found = _rows(conn, "SELECT body, sha256, closed_by, extract(epoch FROM closed_at)::float8 AS closed_at "
                        "FROM pos_store.store_closings WHERE store_id = %(store)s AND day = %(day)s",
                  {"store": store, "day": day})
    if not found:
        return None
    r = found[0]
    return {**r["body"], "sha256": r["sha256"], "closedAs": r["closed_by"], "closedAt": r["closed_at"]}


def late_zs(conn: psycopg.Connection, store: str, day: str, closing: dict) -> list[dict]:
    """The Zs that belong to ``day``'s closing now (:func:`_covering_zs`) but are not in ``closing``: they
    reached the store after the day was closed, so the closing does not add up to them. Each in words."""
    kept = {(t, z["number"]) for t, fig in (closing.get("terminals") or {}).items() for z in fig.get("z") or []}
    return [{"terminal": z["terminal_id"], "number": z["number"], "why": _(
                "its Z report #{number} belongs to {day} but reached the store after the day was closed: the "
                "closing does not count it").format(number=z["number"], day=day)}
            for z in _covering_zs(conn, store, day) if (z["terminal_id"], z["number"]) not in kept]


def store_close(conn: psycopg.Connection, store: str, day: str, *, anyway: bool = False, by: str | None = None,
                approved_by: str | None = None, role: str | None = None, heartbeat_interval: float = 30.0,
                now: float | None = None) -> dict:
    """Close the store's ``day`` once: refused (nothing written) while a terminal has settled rows of the day
    no Z covers or may not have shipped all of it, or a Z disagrees with the rows it covers, unless ``anyway``
    (then the blockers are kept in the body); a day that has not come yet (by the store database's date) is
    refused in words; a day closed before is not closed again (its closing is returned, ``existing``, with the
    Zs that arrived since in ``lateZ``). Figures: the day's rows that some Z covers.

    The figures and the blockers are read in one REPEATABLE READ snapshot: a Z or a heartbeat arriving between
    two reads cannot make the closing's figures and its list of what held it back disagree."""
    import psycopg

    day = check_day(day)
    now = time.time() if now is None else now
    conn.commit()   # a fresh transaction: the snapshot starts at its first read
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    found = conn.execute("SELECT current_date::text").fetchone()
    today = found[0] if found else day
    if day > today:
        conn.rollback()
        raise StoreError(_("the store's day {day} has not come yet (the store's database says today is {today}): "
                           "it cannot be closed").format(day=day, today=today),
                         hint=_("close a day when its trading is done: today's at the earliest, or one before"))
    before = existing_closing(conn, store, day)
    if before is not None:
        late = late_zs(conn, store, day, before)
        conn.commit()
        return {"closed": False, "existing": True, "blockers": [], "report": {**before, "lateZ": late}}
    figures = closing_figures(conn, store, day)
    # a Z the store's rows do not add up to is not closed past quietly: it holds the closing back too
    held = blockers(conn, store, day, heartbeat_interval=heartbeat_interval) + figures["disagreements"]
    body = {"type": "storeZ", "day": day, "storeId": store, "closedBy": by, "askedBy": by, "takenBy": by,
            "approvedBy": approved_by, "takenAs": role, "takenAt": now, "anyway": bool(anyway and held),
            "blockers": held, **figures}
    if held and not anyway:
        conn.rollback()
        return {"closed": False, "existing": False, "blockers": held, "report": body}
    text = _canonical(body)
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        conn.execute("INSERT INTO pos_store.store_closings (store_id, day, body, sha256) "
                     "VALUES (%s, %s, %s::jsonb, %s)", (store, day, text, digest))
        conn.commit()
    except (psycopg.errors.UniqueViolation, psycopg.errors.SerializationFailure):
        conn.rollback()   # closed by someone else between the look and the write
        again = existing_closing(conn, store, day)
        late = late_zs(conn, store, day, again) if again is not None else []
        conn.commit()
        return {"closed": False, "existing": True, "blockers": [],
                "report": {**again, "lateZ": late} if again is not None else body}
    except psycopg.errors.InsufficientPrivilege as exc:
        conn.rollback()
        raise StoreError(_("the store's database refused the closing: {reason}").format(reason=_first(exc)),
                         hint=_("a store's day is closed with that store's manager login ([store] reader)")) from None
    return {"closed": True, "existing": False, "blockers": held, "report": {**body, "sha256": digest}}


# -- text and CSV ----------------------------------------------------------------------------------------
def _figure_lines(fig: dict) -> list[str]:
    return printout.summary_lines(fig.get("summary") or {})


def day_lines(data: dict) -> list[str]:
    out = [_("STORE DAY  {day}  store {store}").format(day=data["date"], store=data["storeId"]),
           *printout.heading_lines(data),
           _("{n} transactions on {t} terminals").format(n=data["count"], t=len(data["terminals"]))]
    out += [_("NOT CURRENT  {terminal}: {why}").format(**b) for b in data.get("behind") or []]
    if data["summary"]:
        out += ["", *_figure_lines(data)]
    for t, fig in data["terminals"].items():
        out += ["", _("terminal {t}: {n} transactions").format(t=t, n=fig["count"]),
                *[f"  {line}" for line in _figure_lines(fig)]]
    if data["transactions"]:
        out += ["", _("Transactions")]
    for t in data["transactions"]:
        a = t["amount"]
        at = time.strftime('%H:%M:%S', time.localtime(t['createdAt']))
        out.append(f"  {at} {printout.ljust(t['terminalId'], 12)} "
                   f"{printout.ljust(_(KIND_WORDS.get(t['kind'], t['kind'])), 8)} "
                   f"{printout.ljust(_(status_words(t['kind'], t['status'], t.get('resultCode'))), 14)} "
                   f"{printout.rjust(format_minor(int(a['value']), a['currency']), 12)} {a['currency']}  "
                   f"{t['paymentRequestId']} {t.get('refundRequestId') or ''}".rstrip())
    return out


def figures_lines(data: dict) -> list[str]:
    """A store X or a store closing as text: the store's figures, then each terminal's."""
    if data.get("type") == "storeZ":
        head = _("STORE CLOSING  {day}  store {store}").format(day=data["day"], store=data["storeId"])
    else:
        head = _("STORE X REPORT  {day}  store {store}").format(day=data.get("day", ""), store=data["storeId"])
    out = [head, *printout.heading_lines(data)]
    if data.get("summary"):
        out += ["", *_figure_lines(data)]
    for t, fig in data.get("terminals", {}).items():
        extra = ""
        if "stillOpen" in fig:
            extra = "  " + _("{o} still open, {r} need review").format(o=fig["stillOpen"], r=fig["needsReview"])
        if fig.get("z"):
            extra = "  Z " + ", ".join(f"#{z['number']}" for z in fig["z"])
        out += ["", _("terminal {t}: {n} transactions").format(t=t, n=fig["count"]) + extra,
                *[f"  {line}" for line in _figure_lines(fig)]]
    for b in data.get("blockers") or []:
        out.append(_("NOT READY  {terminal}: {why}").format(**b))
    for d in data.get("disagreements") or []:
        out.append(_("DISAGREEMENT  {terminal}: {why}").format(**d))
    for b in data.get("behind") or []:
        out.append(_("NOT CURRENT  {terminal}: {why}").format(**b))
    for z in data.get("lateZ") or []:
        out.append(_("LATE Z  {terminal}: {why}").format(**z))
    if data.get("anyway"):
        out.append(_("closed anyway by {who}, past the terminals listed above").format(who=data.get("closedBy")))
    if data.get("sha256"):
        out.append(f"sha256 {data['sha256']}")
    return out


DAY_CSV = ("terminalId", "createdAt", "kind", "status", "paymentRequestId", "paymentId", "refundRequestId", "tender",
           "currency", "value", "amount", "resultCode", "description", "storeId")


def write_day_csv(data: dict, path: Path | None) -> str:
    """The store's day, one row a transaction with its terminal (``value`` minor units, ``amount`` major)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, DAY_CSV, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for t in data["transactions"]:
        writer.writerow({**t, "storeId": data["storeId"], "currency": t["amount"]["currency"],
                         "value": t["amount"]["value"],
                         "amount": format_minor(int(t["amount"]["value"]), t["amount"]["currency"])})
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text


FIGURES_CSV = ("report", "day", "storeId", "terminalId", "currency", "figure", "count", "value", "amount")


def write_figures_csv(data: dict, path: Path | None) -> str:
    """A store X or closing: one row per terminal (``terminalId`` empty: the store), currency and figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIGURES_CSV)
    head = (data.get("type"), data.get("day", ""), data.get("storeId"))
    for terminal, fig in [("", data), *data.get("terminals", {}).items()]:
        for currency, summary in (fig.get("summary") or {}).items():
            for key, _label in printout.FIGURES:
                f = summary[key]
                writer.writerow((*head, terminal, currency, key, f.get("count", ""), f["value"], f["amount"]))
    text = out.getvalue()
    if path is not None:
        path.write_text(text, encoding="utf-8")
    return text
