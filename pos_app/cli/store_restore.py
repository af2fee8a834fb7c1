"""``pos-terminal store restore``: after a disk swap, rebuild this terminal's history from the store.

It opens the journal itself, as a writer: the instance lock refuses while the till runs (one program writes
the journal). At a prompt the terminal's own OS account is the technician (``services.shell``).
"""

from __future__ import annotations

from .. import services
from ..config import load_config
from . import grants
from .options import command
from .output import emit


@command()
def restore(opts):
    """Rebuild a replaced terminal's history (transactions, events, audit log, Z reports) from the store, into a
    journal with none of its own; open sales are then settled with the gateway by inquiry."""
    path = opts.config_file()
    config = load_config(path) if path is not None else None   # sandbox mode has no [store]: refused in words
    with opts.journal() as journal:
        result = services.store_restore.store_restore(grants.shell(), journal, config)
    emit(opts, result, result.lines())
    return 0
