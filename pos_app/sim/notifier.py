"""Signed notifyPayment / notifyRefund deliveries, resent on the gateway's schedule until acknowledged.

Deliveries live in the ledger, so a restart resumes them. ``time_scale`` shrinks the schedule so that a
test sees eight tries in seconds instead of a day. A few worker threads deliver, each try bounded in
total time, so one slow or hostile receiver cannot hold up the others, and nothing a receiver answers
can stop the notifier.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from .. import signing

log = logging.getLogger(__name__)

# Seconds to wait before each try: 0 s, 2 min, 10 min, 10 min, 1 h, 2 h, 6 h, 15 h (spec §7).
SCHEDULE = (0, 120, 600, 600, 3600, 7200, 21600, 54000)
ACK = {"resultCode": "SUCCESS", "resultStatus": "S", "resultMessage": "success"}
MAX_ANSWER = 64 * 1024
WORKERS = 4


def acknowledged(status: int, body: bytes) -> bool:
    """The receiver's answer counts only as the exact documented success result."""
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(answer, dict) and answer.get("result") == ACK


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
        self._in_flight: set[int] = set()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="sim-notify")
        self._thread = threading.Thread(target=self._run, name="sim-notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling and wait for the tries under way (each is bounded in time)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, row) -> None:
        """First try of a new notification, at once (the schedule's 0 s) and without waking the loop."""
        if not self._stop.is_set() and row["id"] not in self._in_flight:
            self._in_flight.add(row["id"])
            self._pool.submit(self._deliver, row)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.engine.tick()
                for row in self._due():
                    self._in_flight.add(row["id"])
                    self._pool.submit(self._deliver, row)
                wait = self._sleep_time()
            except Exception:  # the notifier must outlive any bug: log it and carry on
                log.exception("notifier error")
                wait = 1.0
            self._wake.wait(wait)
            self._wake.clear()

    def _due(self) -> list:
        with self.engine.lock:
            rows = self.engine.db.execute(
                "SELECT * FROM notifications WHERE delivered_at IS NULL AND attempts < ? AND next_at <= ? "
                "ORDER BY next_at LIMIT 100", (len(SCHEDULE), time.time())).fetchall()
        return [row for row in rows if row["id"] not in self._in_flight]

    def _sleep_time(self) -> float:
        with self.engine.lock:
            row = self.engine.db.execute("SELECT MIN(next_at) FROM notifications WHERE delivered_at IS NULL "
                                         "AND attempts < ?", (len(SCHEDULE),)).fetchone()
        # Wake at least every 0.2 s so that scripted settlements and expiries notify on time.
        return 0.2 if row[0] is None else min(0.2, max(0.01, row[0] - time.time()))

    def _post(self, url: str, body: bytes) -> str | None:
        """One delivery try; None when acknowledged, else why not."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"not an http(s) URL: {url!r}"
        deadline = time.monotonic() + 2 * self.timeout
        now = str(int(time.time() * 1000))
        path = parts.path or "/"
        headers = {"Content-Type": "application/json; charset=UTF-8", "client-id": self.client_id,
                   "request-time": now, "signature": signing.sign(self.key, path, self.client_id, now, body)}
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.request("POST", path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
            answer = conn.getresponse()
            content = b""
            while len(content) <= MAX_ANSWER:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "the receiver took too long to answer"
                conn.sock.settimeout(min(self.timeout, remaining))
                chunk = answer.read1(4096)
                if not chunk:
                    break
                content += chunk
        finally:
            conn.close()
        if acknowledged(answer.status, content):
            return None
        return f"not acknowledged: HTTP {answer.status} {content[:200]!r}"

    def _still_due(self, row) -> bool:
        """Submitted from inside a transaction, a row is real only once that commits (the lock waits for
        it); a row the loop picked may have been delivered meanwhile."""
        with self.engine.lock:
            now = self.engine.db.execute("SELECT attempts, delivered_at FROM notifications WHERE id=?",
                                         (row["id"],)).fetchone()
        return now is not None and now["delivered_at"] is None and now["attempts"] == row["attempts"]

    def _deliver(self, row) -> None:
        if not self._still_due(row):
            self._in_flight.discard(row["id"])
            return
        try:
            error = self._post(row["url"], bytes(row["body"]))
        except (OSError, http.client.HTTPException, ValueError) as exc:  # the network's or the receiver's doing
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        except Exception as exc:  # a bug of ours: logged, and still only a failed try, resent on the schedule
            log.exception("notification %s: the delivery try failed", row["id"])
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        attempts = row["attempts"] + 1
        now = time.time()
        try:
            with self.engine.lock:
                if error is None:
                    self.engine.db.execute("UPDATE notifications SET attempts=?, delivered_at=?, last_error=NULL "
                                           "WHERE id=?", (attempts, now, row["id"]))
                else:
                    wait = SCHEDULE[attempts] * self.time_scale if attempts < len(SCHEDULE) else 0
                    self.engine.db.execute("UPDATE notifications SET attempts=?, next_at=?, last_error=? "
                                           "WHERE id=?", (attempts, now + wait, error, row["id"]))
        finally:
            self._in_flight.discard(row["id"])  # a failed try is rescheduled by the next loop (≤ 0.2 s)
        if error:
            log.info("%s %s try %d failed: %s", row["kind"], row["ref"], attempts, error)
