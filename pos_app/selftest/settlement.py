"""The self-test's settlement check (issue 18): can this terminal fetch the gateway's report files over SFTP?

``settlement`` (external: it talks to the gateway's SFTP server) connects as ``[settlement]`` says, checks the
server's host key against ``known_hosts``, logs in and lists the report folder, through the same
:func:`pos_app.settlement.fetch.check` the reconciliation's fetch uses, so a pass here means the manager's
``reconcile-settlement --sftp`` reaches the same folder the same way. Without ``[settlement] sftp`` the check
does not apply (report files are then given by hand) and is skipped, as the store's checks are without [store].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import PosError
from ..i18n import N_, _
from .results import NO_CONFIG, Check, failed, one_line, passed, skipped

if TYPE_CHECKING:
    from ..config import Config

#: Seconds the SFTP server has to answer each step: a self-test does not hang on it.
CONNECT_TIMEOUT = 10.0
NO_SFTP = N_("no [settlement] sftp in the config: the gateway's report files are given by hand")


def check_settlement(config: Config | None, *, timeout: float = CONNECT_TIMEOUT) -> Check:
    """Connect, check the host key, log in and list ``[settlement] sftp``'s folder."""
    if config is None:
        return skipped("settlement", _(NO_CONFIG))
    settlement = getattr(config, "settlement", None)
    if settlement is None or not settlement.sftp:
        return skipped("settlement", _(NO_SFTP))
    from ..settlement import fetch

    try:
        return passed("settlement", fetch.check(settlement, timeout=timeout, gateway=config.gateway))
    except PosError as exc:
        return failed("settlement", one_line(exc.message), one_line(exc.hint or ""))
