"""The self-test's store checks (issue 17): is this terminal's replication keeping up, and does the store's
PostgreSQL know it; and the last verdict left where the heartbeat reads it.

- ``replication`` (internal: nothing leaves this machine) reads the journal's own cursor, read-only, as
  :func:`pos_app.store.fleet.replication` keeps it: the backlog, the lag (age of the oldest change the store
  does not have) and the last error the shipper journaled.
- ``store`` (external: it talks to the store's server) connects as ``[store]`` says, within
  :data:`CONNECT_TIMEOUT`: a till with its own login (the store must know it as this terminal of this store),
  an office machine with the login its reports read with (it must see this store); and the store's schema
  must be the one this code knows, since a store behind or ahead would refuse or misread what is shipped.
- :func:`write_last` leaves ``<data dir>/selftest-last.json`` after every run; a disk that cannot take it
  is logged, never a failed self-test (the checks already said what they found).

:func:`reach` is shared with ``pos-terminal status``, so both say the same thing about the same store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..i18n import N_, _
from .results import FAIL, NO_CONFIG, Check, Report, failed, one_line, passed, skipped

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)

#: The replication lag (seconds) past which the self-test fails: the store's day is then too far behind.
LAG_LIMIT = 60.0
#: Seconds the store's server has to answer a connection; a self-test or status does not hang on it.
CONNECT_TIMEOUT = 5.0
NO_STORE = N_("no [store] in the config: this terminal keeps its journal to itself")


def no_store_skip(name: str, config: Config | None) -> Check | None:
    """The skip for a check that needs ``[store]``, or None when it applies."""
    if config is None:
        return skipped(name, _(NO_CONFIG))
    if config.store is None:
        return skipped(name, _(NO_STORE))
    return None


def replication_state(data_dir: Path, now: float | None = None) -> dict[str, Any] | None:
    """The journal's replication figures (:func:`pos_app.store.fleet.replication`), read-only; None when
    there is no journal yet. Raises PosError/sqlite3.Error when it cannot be read."""
    from offline_queue.journal import FILE_NAME, Journal

    from ..store import fleet

    if not (Path(data_dir) / FILE_NAME).exists():
        return None
    with Journal.open(data_dir, readonly=True) as journal:
        return fleet.replication(journal, now)


def check_replication(config: Config | None, data_dir: Path, now: float) -> Check:
    """Lag and backlog from the journal: fail past :data:`LAG_LIMIT`, or when changes wait behind an error."""
    import sqlite3

    from offline_queue.journal import JournalCorrupt, JournalError

    skip = no_store_skip("replication", config)
    if skip is not None:
        return skip
    try:
        state = replication_state(data_dir, now)
    except JournalCorrupt as exc:
        return failed("replication", _("the journal's replication records cannot be read: {reason}").format(
            reason=one_line(exc.message)), _("see the journal check"))
    except JournalError as exc:   # an older journal (upgraded at the next start), or one the journal check names
        return skipped("replication", one_line(exc.message), one_line(exc.hint or ""))
    except sqlite3.Error as exc:
        return failed("replication", _("the journal's replication records cannot be read: {reason}").format(
            reason=one_line(exc)), _("see the journal check"))
    if state is None:
        return skipped("replication", _("no journal yet: nothing to ship"),
                       _("it is created by the terminal's first start"))
    figures = _("{backlog} change(s) waiting, lag {lag:.1f} s, {shipped} shipped").format(
        backlog=state["backlog"], lag=state["lagSeconds"], shipped=state["shipped"])
    if state["lagSeconds"] > LAG_LIMIT:
        return failed("replication", _("the store is {lag:.0f} s behind this terminal ({figures}){error}").format(
                          lag=state["lagSeconds"], figures=figures,
                          error=_("; last error: {error}").format(error=state["error"]) if state["error"] else ""),
                      _("the terminal ships while it runs: keep it running, and check that the store answers "
                        "(pos-terminal selftest --level external, pos-terminal status)"))
    if state["error"] and state["backlog"]:
        return failed("replication", _("changes wait and the last try to ship them failed: {error} ({figures})")
                      .format(error=state["error"], figures=figures),
                      _("check that the store answers and knows this terminal (pos-terminal selftest --level "
                        "external)"))
    return passed("replication", figures)


def reach(config: Config, data_dir: Path | None = None,
          timeout: float = CONNECT_TIMEOUT) -> tuple[bool, str, str]:
    """Whether the store answers this terminal now, as (ok, what was found, what to do next).

    A till connects with its own login, which the store must know as this terminal of this store; an office
    machine connects with the login its reports read with, which must see this store. Either way the
    store's schema must be the version this code knows. With ``data_dir``, a till's journal must reach as
    far as the store's copy of it: a store further ahead means a replaced disk, which the shipper refuses."""
    store = config.store
    assert store is not None
    import psycopg

    from ..store import replicator, schema

    office = store.role == "office"
    try:
        if office:
            conn = psycopg.connect(store.reader_conninfo(), connect_timeout=max(1, int(timeout)),
                                   application_name="pos-terminal selftest")
        else:
            conn = replicator.connect(store, timeout=timeout)
    except psycopg.Error as exc:
        field = "reader" if office else "database"
        if _REFUSED.search(str(exc)):
            return False, _("{where} refuses this login: {reason}").format(where=store.where,
                                                                           reason=_first_line(exc)), \
                _("check the user in [store] {field} and its passfile or client certificate; the store's owner "
                  "registers each terminal's login").format(field=field)
        return False, _("{where} does not answer: {reason}").format(where=store.where, reason=_first_line(exc)), \
            _("check that the store's PostgreSQL runs and this machine reaches it ([store] {field})").format(
                field=field)
    try:
        with conn:
            conn.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")   # bounded, like the connect
            found = _schema_version(conn)
            if found != schema.VERSION:
                return False, (
                    _("the store's database has no pos-terminal schema") if found == 0 else
                    _("the store's database is at schema version {found}, but this pos-terminal knows version "
                      "{known}").format(
                        found=found, known=schema.VERSION)), (
                    _("update this pos-terminal to the version the other terminals run") if found > schema.VERSION
                    else _("the store's owner migrates the database (pos_app.store.schema.migrate): it is behind"))
            if office:
                from ..store import reports
                try:   # the reports' own check: a till's login sees only its own rows, so they refuse it
                    reports.check_reader(conn)
                except schema.StoreError as exc:
                    return False, one_line(exc.message), one_line(exc.hint or "")
                seen = conn.execute("SELECT count(*) FROM pos_store.terminals WHERE store_id = %s",
                                    (store.store_id,)).fetchone()
                count = int(seen[0]) if seen else 0
                if not count:
                    return False, _("the login of {where} sees no terminal of store {store}").format(
                        where=store.where, store=store.store_id), \
                        _("give [store] reader a store manager's login for store {store}, or head office's").format(
                            store=store.store_id)
                return True, _("{where}: reads store {store} ({count} terminal(s)), schema version {version}").format(
                    where=store.where, store=store.store_id, count=count, version=found), ""
            terminal = config.merchant.terminal_id
            try:
                replicator.check_identity(conn, store.store_id, terminal)
            except schema.StoreError as exc:
                return False, one_line(exc.message), one_line(exc.hint or "")
            behind = _journal_behind(conn, terminal, data_dir) if data_dir is not None else None
            if behind is not None:
                return False, *behind
            return True, _("{where}: terminal {terminal} of store {store}, schema version {version}").format(
                where=store.where, terminal=terminal, store=store.store_id, version=found), ""
    except psycopg.Error as exc:
        return False, _("{where} answered, then failed: {reason}").format(where=store.where,
                                                                          reason=_first_line(exc)), \
            _("check the login's grants in the store's database, and run the self-test again")


#: A connection the server refused for who is asking, not for being away (libpq's words; no SQLSTATE then).
_REFUSED = re.compile(r"authentication failed|role \"[^\"]*\" does not exist|no pg_hba\.conf entry|"
                      r"no password supplied|certificate", re.IGNORECASE)


def _journal_behind(conn, terminal: str, data_dir: Path) -> tuple[str, str] | None:
    """(what, what to do) when the store holds more of this terminal's history than its journal has."""
    from offline_queue.journal import FILE_NAME, Journal, JournalError

    from ..store import replicator

    if not (Path(data_dir) / FILE_NAME).exists():   # a new disk before its first start: nothing of its own yet
        refusal = replicator.foreign_journal(conn, None, terminal)
        return None if refusal is None else (refusal.message, refusal.hint or "")
    try:
        with Journal.open(data_dir, readonly=True) as journal:
            refusal = replicator.foreign_journal(conn, journal, terminal)
    except JournalError:
        return None   # an older or unreadable journal: the journal and replication checks say so
    return None if refusal is None else (refusal.message, refusal.hint or "")


def _schema_version(conn) -> int:
    exists = conn.execute("SELECT to_regclass('pos_store.schema_version') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM pos_store.schema_version").fetchone()
    return int(row[0]) if row else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return one_line(text.splitlines()[0]) if text else type(exc).__name__


def check_store(config: Config | None, data_dir: Path) -> Check:
    """The store's server answers, knows this terminal (or this office's login reads the store), and runs
    the schema this code knows."""
    skip = no_store_skip("store", config)
    if skip is not None:
        return skip
    assert config is not None
    ok, detail, hint = reach(config, data_dir)
    return passed("store", detail) if ok else failed("store", detail, hint)


def write_last(data_dir: Path, report: Report, at: float | None = None) -> None:
    """``<data dir>/selftest-last.json`` as the heartbeat reads it (:func:`pos_app.store.fleet.last_selftest`):
    temp file, fsync, rename, mode 0600. A folder that cannot take it is logged, not raised."""
    from ..store.fleet import SELFTEST_FILE

    data_dir = Path(data_dir)
    body = {"result": "pass" if report.ok else "fail", "at": time.time() if at is None else at,
            "level": report.level, "failed": [c.name for c in report.checks if c.status == FAIL]}
    if not data_dir.is_dir():
        log.info("self-test: no data directory %s yet; its verdict is not kept", data_dir)
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{SELFTEST_FILE}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, data_dir / SELFTEST_FILE)
        tmp = None
    except OSError as exc:
        log.warning("self-test: cannot keep its verdict in %s: %s", data_dir / SELFTEST_FILE, exc.strerror or exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
