"""How a transaction is stored and shown: its journal row, its change record, its public JSON.

The state machines' dataclasses go into the journal as one JSON ``state`` column plus the indexed
columns the queries need (status, phase, final, next_at); this module is the one place that knows that
mapping both ways, and the CLI's stable JSON for a transaction (``sale --json`` and friends).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from offline_queue.journal import Journal, JournalError

from . import followup_flow as ff
from . import payment_flow as pf
from .i18n import _
from .money import Money

Txn = pf.Sale | ff.Followup


def from_row(row, timing: pf.Timing, where: object) -> Txn:
    """The sale or follow-up a journal row holds; a JournalError naming ``where`` if it cannot be read."""
    cls, phases = (pf.Sale, pf.Phase) if row["kind"] == "sale" else (ff.Followup, ff.Phase)
    try:
        state = json.loads(row["state"])
        known = {f.name for f in dataclasses.fields(cls)}
        state = {k: v for k, v in state.items() if k in known}  # fields a newer version added
        return cls(**{**state, "phase": phases(state["phase"]), "timing": timing})
    except (ValueError, TypeError, KeyError) as exc:
        raise JournalError(_("{where}: transaction {id} cannot be read ({reason})").format(where=where, id=row["id"],
                                                                                            reason=exc),
                           hint=_("the rest of the journal is fine; keep the file and report this")) from None


def state_json(txn: Txn) -> str:
    state = {f.name: getattr(txn, f.name) for f in dataclasses.fields(txn) if f.name != "timing"}
    state["phase"] = txn.phase.value
    return json.dumps(state, separators=(",", ":"))


def row_of(txn: Txn, now: float) -> dict[str, Any]:
    return {"id": txn.id, "payment_id": txn.payment_id if isinstance(txn, pf.Sale) else None,
            "status": txn.status, "phase": txn.phase.value, "result_code": txn.result_code,
            "message": txn.message, "state": state_json(txn), "next_at": txn.next_at,
            "final": int(txn.final), "updated_at": now}


def change_of(before: Txn | None, after: Txn, now: float, events, effects, insert_extra: dict | None,
              outbox_put, columns: dict | None = None) -> tuple[dict, dict]:
    """The journal's change record for one step: the row, its events, and what enters or leaves the outbox;
    ``columns``: more columns this change sets (an entry-code payment's ``unmatched`` flag)."""
    events = list(events)
    if before is None or before.phase != after.phase:
        events.append(("state", {"from": before.phase.value if before else None, "to": after.phase.value,
                                 "status": after.status, "resultCode": after.result_code,
                                 "message": after.message}))
    row = row_of(after, now)
    if isinstance(after, pf.Sale) and not row["payment_id"] and not (isinstance(before, pf.Sale) and before.payment_id):
        del row["payment_id"]   # not known yet; kept NULL only when it was let go (an assigned entry payment)
    drop = None
    if any(isinstance(e, pf.ForgetCode) for e in effects):
        drop = "pay"
    elif isinstance(after, ff.Followup) and after.final:
        drop = after.api
    elif isinstance(after, pf.Sale) and after.final:
        drop = "pay"
    if insert_extra is not None:
        row.update(insert_extra)
    if columns:
        row.update(columns)
    return row, {"insert": insert_extra is not None, "events": events, "outbox_put": outbox_put,
                 "outbox_drop": drop}


def summary(txn: Txn, kind: str | None, parent: Txn | None) -> dict:
    """The CLI's stable JSON for one transaction; ``parent`` is a follow-up's sale."""
    data: dict[str, Any] = {"status": txn.status, "kind": kind, "resultCode": txn.result_code,
            "message": txn.message, "amount": Money(txn.amount, txn.currency).to_api()}
    if isinstance(txn, pf.Sale):
        data.update(paymentRequestId=txn.id, paymentId=txn.payment_id, tender=txn.tender,
                    acceptedAtMerchantRisk=txn.accepted_at_risk)
        if txn.code_value and not txn.final:
            name = "entryCode" if txn.tender == pf.ENTRY_CODE else "orderCode"   # entryCode: until the window ends
            data[name] = {"value": txn.code_value, "expiresAt": txn.code_expires_at}
    else:
        data.update(paymentRequestId=txn.sale_id,
                    paymentId=parent.payment_id if isinstance(parent, pf.Sale) else None)
        if txn.kind == ff.REFUND:
            data.update(refundRequestId=txn.id, refundId=txn.gateway_id)
        else:
            data.update(cancelId=txn.id)
    return data


def queue_status(journal: Journal, now: float) -> dict:
    """What waits in the outbox: count, per-currency totals, the oldest age, one line per request."""
    rows = journal.outbox()
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["currency"]] = totals.get(r["currency"], 0) + (r["amount"] or 0)
    oldest = min((r["created_at"] for r in rows), default=None)
    return {"count": len(rows),
            "totals": {c: Money(v, c).to_api() for c, v in sorted(totals.items())},
            "oldestAgeSeconds": None if oldest is None else round(now - oldest, 3),
            "items": [{"id": r["txn"], "api": r["api"], "kind": r["kind"], "status": r["status"],
                       "paymentRequestId": r["parent"] or r["txn"],
                       "amount": Money(r["amount"], r["currency"]).to_api(),
                       "ageSeconds": round(now - r["created_at"], 3)} for r in rows]}
