"""Signed notifyPayment / notifyRefund deliveries, resent on the gateway's schedule until acknowledged.

Deliveries live in the ledger, so a restart resumes them. ``time_scale`` shrinks the schedule so that a
test sees eight tries in seconds instead of a day.
"""

from __future__ import annotations

import http.client
import json
import ssl
import logging
import threading
import time
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from .. import signing

log = logging.getLogger(__name__)

# Seconds to wait before each try: 0 s, 2 min, 10 min, 10 min, 1 h, 2 h, 6 h, 15 h (spec §7).
SCHEDULE = (0, 120, 600, 600, 3600, 7200, 21600, 54000)
ACK = {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}


def acknowledged(status: int, body: bytes) -> bool:
    """The receiver's answer counts only as the exact documented success result."""
    if status != 200:
        return False
    try:
        return json.loads(body).get("result") == ACK
    except (ValueError, AttributeError):
        return False


class Notifier:
    def __init__(self, engine, client_id: str, gateway_key: rsa.RSAPrivateKey, *, time_scale: float = 1.0,
                 timeout: float = 5.0) -> None:
        self.engine = engine
        self.client_id = client_id
        self.key = gateway_key
        self.time_scale = time_scale
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _post(self, url: str, body: bytes) -> str | None:
        """One delivery try; None when acknowledged, else why not. Plain http.client: this runs
        beside the API handlers in one process, so it must cost them as little as possible."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"not an http(s) URL: {url!r}"
        now = str(int(time.time() * 1000))
        path = parts.path or "/"
        headers = {"Content-Type": "application/json; charset=UTF-8", "client-id": self.client_id,
                   "request-time": now, "signature": signing.sign(self.key, path, self.client_id, now, body)}
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            target = path + (f"?{parts.query}" if parts.query else "")
            conn.request("POST", target, body=body, headers=headers)
            answer = conn.getresponse()
            content = answer.read(64 * 1024)
        finally:
            conn.close()
        if acknowledged(answer.status, content):
            return None
        return f"not acknowledged: HTTP {answer.status} {content[:200]!r}"

    def _run(self) -> None:
        while not self._stop.is_set():
            self.engine.tick()
            due = self._due()
            for row in due:
                if self._stop.is_set():
                    return
                self._deliver(row)
            if not due:
                self._wake.wait(self._sleep_time())
                self._wake.clear()

    def _due(self) -> list:
        with self.engine.lock:
            return self.engine.db.execute(
                "SELECT * FROM notifications WHERE delivered_at IS NULL AND attempts < ? AND next_at <= ? "
                "ORDER BY next_at LIMIT 50", (len(SCHEDULE), time.time())).fetchall()

    def _sleep_time(self) -> float:
        with self.engine.lock:
            row = self.engine.db.execute("SELECT MIN(next_at) FROM notifications WHERE delivered_at IS NULL "
                                         "AND attempts < ?", (len(SCHEDULE),)).fetchone()
        # Wake at least every 0.2 s so that scripted settlements and expiries notify on time.
        return 0.2 if row[0] is None else min(0.2, max(0.0, row[0] - time.time()))

    def _deliver(self, row) -> None:
        body, url = bytes(row["body"]), row["url"]
        try:
            error = self._post(url, body)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        attempts = row["attempts"] + 1
        now = time.time()
        with self.engine.lock:
            if error is None:
                self.engine.db.execute("UPDATE notifications SET attempts=?, delivered_at=?, last_error=NULL "
                                       "WHERE id=?", (attempts, now, row["id"]))
            else:
                wait = SCHEDULE[attempts] * self.time_scale if attempts < len(SCHEDULE) else 0
                self.engine.db.execute("UPDATE notifications SET attempts=?, next_at=?, last_error=? WHERE id=?",
                                       (attempts, now + wait, error, row["id"]))
        if error:
            log.info("%s %s try %d failed: %s", row["kind"], row["ref"], attempts, error)
