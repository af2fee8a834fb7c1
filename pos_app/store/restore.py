"""A disk swap, the store's side: this terminal's own rows, read back from the store's PostgreSQL.

Read with the terminal's own login (row-level security gives it its own rows and no other's), in one
REPEATABLE READ snapshot, so the transactions, events, audit log and Z reports agree with each other and with
the highest number the store holds. Rows come back in the journal's shapes (times in Unix seconds, JSON as
text); what they mean is :mod:`pos_app.services.store_restore`'s business.

Two things the store keeps differently from the journal: times are ``timestamptz`` (microseconds, so a time
comes back within half a microsecond of the journal's), and JSON is ``jsonb`` (key order and spacing not
kept). A Z report's body was hashed as ``json.dumps(sort_keys=True, separators=(",", ":"))`` of its values
(:mod:`pos_app.closing`), so it is written back the same way and rehashes to its stored link, as long as the
masking on the way out changed nothing in it (a Z body holds no payment code).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import StoreConfig
from ..i18n import _
from .replicator import check_identity, claim, connect
from .schema import StoreError

if TYPE_CHECKING:
    import psycopg


@dataclass
class Snapshot:
    """What the store holds of one terminal, in the journal's shapes; ``upto``: its highest outbound number."""

    upto: int = 0
    transactions: list[dict[str, Any]] = field(default_factory=list)
    z_reports: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _epoch(column: str) -> str:
    return f"extract(epoch FROM {column})::float8"


_TRANSACTIONS = ("SELECT id, kind, tender, parent, payment_id, currency, amount, status, phase, result_code, message, "
                 f"description, code_masked, state, final, {_epoch('created_at')}, {_epoch('updated_at')}, "
                 "day::text, z_number, unmatched FROM pos_store.transactions WHERE terminal_id = %s "
                 "ORDER BY created_at, id")
_Z = (f"SELECT number, day::text, {_epoch('taken_at')}, taken_by, body, sha256, prev_sha256 FROM pos_store.z_reports "
      "WHERE terminal_id = %s ORDER BY number")
_AUDIT = (f"SELECT seq, {_epoch('at')}, action, txn, asked_by, approved_by, detail FROM pos_store.audit "
          "WHERE terminal_id = %s ORDER BY seq")
_EVENTS = (f"SELECT coalesce(txn, ''), coalesce(txn_seq, seq), {_epoch('at')}, kind, detail FROM pos_store.events "
           "WHERE terminal_id = %s ORDER BY seq")
_UPTO = "SELECT coalesce(max(seq), 0) FROM pos_store.events WHERE terminal_id = %s"


def z_body(value: Any) -> str:
    """A Z body as :func:`pos_app.closing.take_z` wrote and hashed it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _unmasked(state: Any, id_: str, kind: str, parent: str | None, payment_id: str | None) -> Any:
    """The state with its ids as the row's own columns hold them. The masking on the way out takes any run of
    16 to 32 digits for a payment code, and one of our request ids whose random part came out all digits
    (``PR`` + 14 + 16 digits) is such a run: the state's copy of an id may be masked, the columns never are."""
    if not isinstance(state, dict):
        return state
    state = {**state, "id": id_}
    if kind == "sale":
        if payment_id and "payment_id" in state:
            state["payment_id"] = payment_id
    elif parent and "sale_id" in state:
        state["sale_id"] = parent
    return state


def _json(value: Any, **options: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, **options)


def read(conn: psycopg.Connection, terminal_id: str) -> Snapshot:
    """This terminal's rows, in one snapshot of the store."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute(_UPTO, (terminal_id,)).fetchone()
        snap = Snapshot(upto=int(row[0]) if row else 0)
        for (id_, kind, tender, parent, payment_id, currency, amount, status, phase, result_code, message,
             description, code_masked, state, final, created_at, updated_at, day, z_number,
             unmatched) in conn.execute(_TRANSACTIONS, (terminal_id,)):
            snap.transactions.append({
                "id": id_, "kind": kind, "tender": tender, "parent": parent, "payment_id": payment_id,
                "currency": currency, "amount": int(amount), "status": status, "phase": phase or "",
                "result_code": result_code, "message": message, "description": description,
                "code_masked": code_masked, "state": _json(_unmasked(state, id_, kind, parent, payment_id),
                                                           separators=(",", ":")), "next_at": None,
                "final": int(bool(final)), "created_at": created_at, "updated_at": updated_at, "day": day,
                "z_number": z_number, "unmatched": None if unmatched is None else int(unmatched)})
        for number, day, taken_at, taken_by, body, sha256, prev in conn.execute(_Z, (terminal_id,)):
            snap.z_reports.append({"number": number, "day": day, "taken_at": taken_at, "taken_by": taken_by or "",
                                   "body": z_body(body), "sha256": sha256, "prev_sha256": prev})
        for seq, at, action, txn, asked_by, approved_by, detail in conn.execute(_AUDIT, (terminal_id,)):
            snap.audit.append({"seq": int(seq), "at": at, "action": action, "txn": txn, "asked_by": asked_by or "",
                               "approved_by": approved_by, "detail": _json(detail, separators=(",", ":"))})
        for txn, txn_seq, at, kind, detail in conn.execute(_EVENTS, (terminal_id,)):
            snap.events.append({"txn": txn, "seq": int(txn_seq), "at": at, "kind": kind,
                                "detail": _json(detail, ensure_ascii=False)})
    return snap


def fetch(config: StoreConfig, store_id: str, terminal_id: str, journal_id: str | None = None) -> Snapshot:
    """Connect with the terminal's own login, check the store knows it as this terminal, and read its rows.
    With ``journal_id`` (the new disk's journal), first claim the terminal for it: the old disk, should it still
    run, is fenced off before the rows are read, so nothing it ships can land after the snapshot. A store that
    does not answer is a :class:`StoreError` in words (nothing was read, nothing written)."""
    import psycopg

    try:
        conn = connect(config)
        try:
            check_identity(conn, store_id, terminal_id)
            if journal_id is not None:
                claim(conn, journal_id, take=True)
            return read(conn, terminal_id)
        finally:
            conn.close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(_("the store's database does not answer: {reason}").format(reason=reason),
                         hint=_("check [store] database and that the store's server runs, then restore again; "
                                "nothing was changed")) from None
