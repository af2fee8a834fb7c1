"""What a manager must look at: transactions still open or needing review, and gateway-signed notifications
that could not be applied, less what a manager marked resolved.

One list for the ``review`` use case, its ``retry``, ``cancel`` and ``resolve`` (which refuse an id not on
it or in the journal), the manager's window and ``pos-terminal review``.
"""

from __future__ import annotations

import json

from offline_queue import audit, ledger
from offline_queue.journal import Journal

NOTIFICATION_PREFIX = "NOTIFY-"   # a review item for an unreadable notification: NOTIFY-<event seq>
RESOLVED = "resolved"             # the audit action that takes an item off the list


def review_items(journal: Journal) -> list[dict]:
    """The list, oldest first: an unreadable notification is an item of its own (``NOTIFY-<seq>``), with
    no amount, since what it was about could not be read."""
    resolved = audit.txns_with_action(journal, RESOLVED)
    items = [{"id": r["id"], "kind": r["kind"], "status": r["status"], "currency": r["currency"],
              "amount": r["amount"], "message": r["message"], "createdAt": r["created_at"]}
             for r in ledger.unsettled(journal) if r["id"] not in resolved]
    for r in ledger.unreadable_notifications(journal):
        item_id = f"{NOTIFICATION_PREFIX}{r['seq']}"
        if item_id not in resolved:
            items.append({"id": item_id, "kind": "notification", "status": "UNREADABLE", "currency": None,
                          "amount": None, "createdAt": r["at"], "message": _unreadable(r["detail"])})
    return sorted(items, key=lambda i: i["createdAt"])


def _unreadable(detail_json: str | None) -> str:
    detail = json.loads(detail_json or "{}")
    about = detail.get("paymentRequestId") or detail.get("refundRequestId")
    return (f"a signed {detail.get('originalType') or 'notification'} could not be applied: {detail.get('why')}"
            + (f" (about {about})" if about else ""))


def is_reviewable(journal: Journal, item_id: str) -> bool:
    """A transaction of this journal, or an item on the list (an unreadable notification has no row)."""
    return journal.get(item_id) is not None or any(i["id"] == item_id for i in review_items(journal))
