"""A disk swap (issue 17): ``pos-terminal store restore`` rebuilds a replaced terminal's history from the store.

The store's PostgreSQL holds this terminal's transactions (each as last shipped), events, audit log and Z
reports (:mod:`pos_app.store.restore` reads them with the terminal's own login); they go into a journal with
no history of its own, in one commit (:mod:`offline_queue.restore`). Afterwards the day, X, Z reprints and
refunds of restored sales work as before the swap.

What the store holds as open is only as fresh as its last shipment: the till may have sent the pay after
that, or the gateway may have answered it. So an open sale is never sent again (its pay's signed body stayed
on the dead disk, and its code is masked in the store): one still queued (NEW) is restored as a pay that
may have left, and every open sale is resumed as after a crash (``Recovered``): the terminal's recovery asks
the gateway by inquiry and settles it (paid, failed, or cancelled so no money stays taken). An open refund or
cancel resumes too; its body is gone as well, so it is never resent: a refund's due resend finds no body and
asks the gateway instead (inquiryRefund) and settles as it answers; a cancel whose body is gone ends in review
for a manager (the gateway has no inquiry of a cancel: the sale's inquiry tells the manager how it ended).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from offline_queue import audit as audit_store
from offline_queue import outbound
from offline_queue import restore as journal_restore
from offline_queue.journal import JournalError

from .. import followup_flow as ff
from .. import payment_flow as pf
from .. import rows
from ..errors import PosError
from ..i18n import _
from ..roles import TECHNICIAN
from .registry import Grant, use_case

TECHNICIANS = frozenset({TECHNICIAN})


class RestoreRefused(PosError):
    """The restore did not run: the journal has history of its own, or there is no store to restore from."""


@dataclass(frozen=True)
class Restored:
    """What a restore wrote: counts per kind, the open transactions now being settled, the Z numbers, and any
    Z whose body as the store holds it no longer hashes to its link (the chain check then names it too)."""

    counts: dict[str, int]
    open: list[str]
    z_numbers: list[int]
    upto: int
    unmatched_z: list[int] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)    # open refunds: an inquiry settles each (never resent)

    def to_json(self) -> dict:
        return {"restored": self.counts, "settling": self.open, "openRefunds": self.refunds,
                "zNumbers": self.z_numbers, "upto": self.upto, "zNotMatchingHash": self.unmatched_z,
                "next": self.next_step()}

    def next_step(self) -> str:
        if self.open:
            return _("start the terminal (or run `pos-terminal reconcile`): it asks the gateway about the {n} open "
                     "transaction(s) and settles them; nothing is charged again").format(n=len(self.open))
        return _("start the terminal: its day, reports and refunds work again, and new sales ship to the store")

    def lines(self) -> list[str]:
        c = self.counts
        out = [_("restored from the store: {t} transactions, {e} events, {a} audit entries, {z} Z reports").format(
            t=c.get("transactions", 0), e=c.get("events", 0), a=c.get("audit", 0), z=c.get("zReports", 0))]
        if self.z_numbers:
            out.append(_("Z reports: {numbers}").format(numbers=", ".join(f"#{n}" for n in self.z_numbers)))
        if self.open:
            out.append(_("{n} still open, to be settled with the gateway by inquiry: {ids}").format(
                n=len(self.open), ids=", ".join(self.open)))
        for number in self.unmatched_z:
            out.append(_("Z report #{number} as the store holds it does not match its hash: restored as held, "
                         "the chain check names it").format(number=number))
        out.append(_("next: {step}").format(step=self.next_step()))
        return out


def _resumable(row: dict, timing: pf.Timing, now: float) -> dict:
    """An open row as the terminal's recovery resumes it: a queued pay counted as one that may have left (its
    body is not restored, so it is inquired, never resent), then stepped as after a crash. A state that cannot
    be read is kept as the store holds it: the terminal's recovery names it, and the rest is restored."""
    try:
        txn = rows.from_row(row, timing, _("the store"))
    except JournalError:
        return {**row, "next_at": now}
    if isinstance(txn, pf.Sale) and txn.tender != pf.ENTRY_CODE and txn.phase is pf.Phase.NEW:
        txn = dataclasses.replace(txn, phase=pf.Phase.SENDING, maybe_sent=True, next_at=None)
    after, _effects = pf.step(txn, pf.Recovered(), now) if isinstance(txn, pf.Sale) else \
        ff.step(txn, pf.Recovered(), now)
    return {**row, **rows.row_of(after, row["updated_at"]), "payment_id": row["payment_id"]}


def _z_mismatches(z_reports: list[dict]) -> list[int]:
    from ..closing import _digest

    return [z["number"] for z in z_reports if _digest(z["body"], z["prev_sha256"]) != z["sha256"]]


@use_case("store_restore", roles=TECHNICIANS, cli="store restore", gui="ui.technician:TechnicianWindow.store_restore")
def store_restore(grant: Grant, journal, config, *, clock: Callable[[], float] = time.time) -> Restored:
    """Rebuild this terminal's history from the store into ``journal`` (a fresh one); refused in words when the
    journal has history of its own or ``[store]`` is not set (``config`` None: sandbox mode, no terminal.toml)."""
    if config is None or config.store is None:
        raise RestoreRefused(_("there is no [store] in the configuration: nothing to restore from"),
                             hint=_("add the [store] section this terminal had (pos-terminal setup asks for it)"))
    with journal.reading() as c:
        held = journal_restore.own_history(c)
    if any(held.values()):
        raise _refusal(held)
    from ..store import restore as store_side

    with journal.reading() as c:
        mine = outbound.journal_id(c)
    # the claim comes first: a replaced till still running is fenced off before its rows are read
    snap = store_side.fetch(config.store, config.store.store_id, config.merchant.terminal_id, mine)
    if not (snap.upto or snap.transactions or snap.z_reports or snap.audit):
        raise RestoreRefused(_("the store holds no history of terminal {terminal}: there is nothing to restore")
                             .format(terminal=config.merchant.terminal_id),
                             hint=_("check [merchant] terminal_id: it must be the replaced terminal's"))
    from ..terminal import timing_from

    timing, now = timing_from(config), clock()
    transactions, open_ids = [], []
    for row in snap.transactions:
        if not row["final"]:
            row = _resumable(row, timing, now)
            if not row["final"]:
                open_ids.append(row["id"])
        transactions.append(row)
    numbers = [z["number"] for z in snap.z_reports]
    with journal.transaction() as c:
        held = journal_restore.own_history(c)   # again, under the write lock: nothing slipped in meanwhile
        if any(held.values()):
            raise _refusal(held)
        counts = journal_restore.restore(c, transactions=transactions, z_reports=snap.z_reports, audit=snap.audit,
                                         events=snap.events, upto=snap.upto, at=now)
        audit_store.append(c, at=now, action="store_restore", txn=None, asked_by=grant.asked_by,
                           approved_by=grant.approved_by,
                           detail={**counts, "open": open_ids, "zNumbers": numbers, "upto": snap.upto})
    refunds = [r["id"] for r in transactions if not r["final"] and r["kind"] == ff.REFUND]
    return Restored(counts, open_ids, numbers, snap.upto, _z_mismatches(snap.z_reports), refunds)


def _refusal(held: dict[str, int]) -> RestoreRefused:
    return RestoreRefused(
        _("this journal has history of its own ({t} transactions, {z} Z reports, {e} events, {a} audit entries): "
          "restoring the store's over it could count a payment twice or hide one; nothing was changed").format(
            t=held["transactions"], z=held["zReports"], e=held["events"], a=held["audit"]),
        hint=_("restore only into a new terminal's journal (after the disk swap, `pos-terminal setup`, then "
               "`pos-terminal store restore` before the first sale)"))
