"""The service layer: one function per use case, under both the windows and the CLI.

``ui/`` and the CLI call these and nothing below them. Each use case checks its role through a
:class:`Grant` (:func:`unlock` with a PIN, :func:`counter` for the cashier, :func:`shell` for the
terminal's own account), writes its audit record, and returns a typed result. :data:`REGISTRY` lists
them all, with the CLI command and the window method bound to each.
"""

from __future__ import annotations

from . import closing, manager, receipts, sales, settlement, store, store_restore, technician
from .registry import REGISTRY, Grant, counter, shell, unlock

__all__ = ["REGISTRY", "Grant", "closing", "counter", "manager", "receipts", "sales", "settlement", "shell", "store",
           "store_restore", "technician", "unlock"]
