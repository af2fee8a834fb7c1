"""Is the gateway reachable? Learned from every call's outcome, and from a cheap probe while it is not.

A call that certainly did not leave (connection refused, connect timeout) marks the link down; any
answer marks it up. While down, :meth:`Link.up` opens a bare TCP connection to the gateway at most once
per ``probe_interval``: no request, no signature, nothing to journal. Behind a proxy the probe connects to
the proxy (the gateway host is never reachable directly from such a network); an environment proxy that cannot
be used (``Proxy.problem``) is never probed, so the link stays down until the setting is fixed. "Up" behind a
proxy says only that the proxy answers: the proxy refusing the way is said by the calls' outcomes (the hop).
The hop that refused the last call (:attr:`Link.hop`, as ``Sale.trouble`` keeps it) outlives a probe that
does not test it (a TCP connect to a proxy that refuses the CONNECT): it goes with the next answer, so the
offline bar (:meth:`Link.offline_words`) names that hop for as long as it is the latest known cause.
Odoo's offline bug (stuck offline after the network came back, because it checked once and too early) is why
the probe keeps going.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

from .gateway import Delivery, Outcome, Status
from .i18n import _
from .netpath import Proxy
from .vocabulary import PATH_TROUBLE_WORDS, PROXY_DOWN, split_path_trouble


class Link:
    def __init__(self, url: str, *, probe_interval: float = 1.0, probe_timeout: float = 1.0,
                 clock=time.monotonic, proxy: Proxy | None = None) -> None:
        # a proxy that cannot be used (Proxy.problem) is never probed: no call can go through it
        self.unusable = proxy is not None and bool(proxy.problem)
        parts = urlsplit(url if self.unusable or proxy is None or not proxy.url else proxy.url)
        self.host = "" if self.unusable else parts.hostname or "localhost"
        self.port = 0 if self.unusable else parts.port or (443 if parts.scheme == "https" else 80)  # gateway's/proxy's
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.clock = clock
        self._down_since: float | None = None
        self._hop = ""   # "KIND setting" (vocabulary.path_trouble) of the hop that refused the last call, or ""
        self._last_probe = float("-inf")
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()

    @property
    def down_since(self) -> float | None:
        return self._down_since

    @property
    def hop(self) -> str:
        """The hop (the proxy, TLS) that refused the last call certainly not sent, "KIND setting"; "" for the link."""
        return self._hop

    def note(self, outcome: Outcome) -> None:
        """Learn from a call: certainly-not-sent means down (and by which hop), any answer at all means up."""
        if outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT:
            hop = (outcome.body or {}).get("trouble")
            with self._lock:
                if self._down_since is None:
                    self._down_since = self.clock()
                self._last_probe = self.clock()
                self._hop = hop if isinstance(hop, str) and split_path_trouble(hop) else ""
        elif outcome.http_status is not None or outcome.status is not Status.UNKNOWN:
            with self._lock:
                self._down_since = None
                self._hop = ""

    def offline_words(self) -> tuple[str, str] | None:
        """The offline bar's words: (what is down, when what waits is sent), None while the way is open. A hop
        that refused the last call is named with the setting that fixes it; otherwise the link is down."""
        hop = split_path_trouble(self._hop)
        if hop is not None:
            head, fix = PATH_TROUBLE_WORDS[hop[0]]
            return (_("OFFLINE: {what}. {fix}").format(what=_(head), fix=_(fix).format(setting=hop[1])),
                    _("they are sent once the way to the gateway opens"))
        if self._down_since is not None:
            return _("OFFLINE: no link to the gateway."), _("they are sent when the link is back")
        return None

    def up(self) -> bool:
        """True unless the link is known down and a probe (at most one per interval) still fails.

        Callers arriving while a probe runs wait for its answer: a backlog must not be rescheduled
        by the threads that lost the race to probe, just as the link comes back.
        """
        with self._probe_lock:
            with self._lock:
                if self._down_since is None:
                    return True
                if self.clock() - self._last_probe < self.probe_interval:
                    return False
                self._last_probe = self.clock()
            reachable = self.probe()
            if reachable:
                with self._lock:
                    self._down_since = None
                    if self._hop.startswith(PROXY_DOWN + " "):   # the probe reached that very hop: the proxy
                        self._hop = ""
            return reachable

    def probe_next(self) -> None:
        """Let the next :meth:`up` probe at once, whatever the interval (a person just fixed the cable)."""
        with self._lock:
            self._last_probe = float("-inf")

    def probe(self) -> bool:
        if self.unusable:
            return False
        try:
            with socket.create_connection((self.host, self.port), timeout=self.probe_timeout):
                return True
        except OSError:
            return False
