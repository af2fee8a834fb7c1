"""The self-test: what a technician runs to know the terminal is fit to take payments (issue 6).

``pos-terminal selftest [--level internal|external|interactive] [--json] [--out FILE]`` headless, and the
same :func:`run` behind the GUI's technician screen. The levels follow UnifiedPOS ``checkHealth`` and are
cumulative (external includes internal, interactive includes both):

- **internal** changes nothing outside this machine: ``config`` (the file loads), ``keys`` (both keys
  load, the merchant key matches its public half, the gateway key is not our own), ``journal``
  (``PRAGMA integrity_check``, read-only), ``disk`` (free space for the data directory), ``clock`` (a
  sane year, not behind the journal's newest record), ``scanners`` (every configured or discovered
  scanner opens).
- **external** talks to the world: ``gateway`` (TCP reachability and connect latency), ``round-trip``
  (a signed inquiry for a paymentRequestId that cannot exist; a verified ``ORDER_NOT_EXIST`` is a pass),
  ``clock-skew`` (our clock against the signed ``response-time`` of that answer), ``notifications``
  (the endpoint answers a test notification, see :func:`check_notifications`), ``display`` (the
  customer display shows a test pattern and QR: only the GUI can, so headless it is skipped).
- **interactive** walks a person through it: ``scan`` ("scan this test barcode"), judged by
  :func:`scan_check`, which names the scanner setting to change.

Every check answers pass, fail or skip, with a one-line detail and, unless it passed cleanly, a one-line
hint. A check is **skipped only when it does not apply here** (no scanner found, no journal yet, no
customer display headless) **or when another check has already failed for the same cause** (no round
trip when the gateway cannot be reached, no key checks when the config does not load); the one other
skip is a gateway ``response-time`` in a form the skew check cannot read. So a run is
``ok`` (exit 0) exactly when no check failed; the skips are shown so nobody mistakes them for passes.

Sandbox mode (no config file): the config check passes ("sandbox: no config file"); the key checks use
the embedded simulator's keys in ``<data dir>/sandbox-gateway`` (skipped until its first start made
them), and the external level starts the embedded simulator, as ``pos-terminal status`` does.

No Qt here: the GUI passes ``display`` (and, if it owns the scanners, ``scanners`` and ``scan``).
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import http.client
import json
import logging
import math
import os
import queue
import shutil
import socket
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import signing
from .config import Config, ScannersConfig, find_config_file, find_data_dir, load_config
from .errors import PosError

log = logging.getLogger(__name__)

LEVELS = ("internal", "external", "interactive")
PASS, FAIL, SKIP = "pass", "fail", "skip"

#: What the interactive check asks to scan: digits, "-" and q/w/a/z/y differ between the us, de and fr
#: layouts, so a scanner typing for the wrong one garbles it in a recognisable way.
TEST_CODE = "POS-TEST-qwazy-0123456789"
MIN_FREE_BYTES = 100 * 1024 * 1024
CLOCK_YEARS = (2024, 2100)
CLOCK_BACK_TOLERANCE = 60.0      # the clock may sit this far behind the journal's newest record
SKEW_WARN, SKEW_FAIL = 5.0, 60.0
SLOW_CHAR_SECONDS = 0.030        # a scanner types faster than this per character
SCAN_TIMEOUT = 30.0
NTP_HINT = ("turn on time synchronisation: sudo timedatectl set-ntp true (then `timedatectl` shows "
            "'System clock synchronized: yes')")


# -- results ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    name: str
    status: str          # pass | fail | skip
    detail: str
    hint: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint,
                "seconds": round(self.seconds, 3)}


def _pass(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, PASS, detail, hint)


def _fail(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, FAIL, detail, hint)


def _skip(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, SKIP, detail, hint)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@dataclass
class Report:
    level: str
    checks: list[Check] = field(default_factory=list)
    devices: dict = field(default_factory=dict)
    started_at: float = 0.0

    @property
    def ok(self) -> bool:
        """No check failed (skips are allowed: see the module's docstring for when a check skips)."""
        return not any(c.status == FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in (PASS, FAIL, SKIP)}

    def to_json(self) -> dict:
        return {"level": self.level, "ok": self.ok, "checks": [c.to_json() for c in self.checks],
                "counts": self.counts(), "devices": self.devices,
                "startedAt": datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds")}

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            out.append(f"{c.status.upper():5} {c.name:13} {c.detail}")
            if c.hint:
                out.append(f"{'':19}→ {c.hint}")
        out += self.device_lines()
        n = self.counts()
        verdict = "all checks passed" if self.ok and not n[SKIP] else \
            ("no check failed" if self.ok else "FAILED")
        out.append(f"selftest ({self.level}): {n[PASS]} passed, {n[FAIL]} failed, {n[SKIP]} skipped: {verdict}")
        return out

    def device_lines(self) -> list[str]:
        """Scanners with their health text, serial ports that are or look like scanners, and displays."""
        out = []
        for row in self.devices.get("scanners", []):
            text = row.get("health") or row.get("error") or row.get("state", "")
            out.append(f"{'INFO':5} {'scanner':13} {_one_line(text)}")
        for port in self.devices.get("serial_ports", []):
            if port.get("configured") or port.get("likely_scanner"):
                out.append(f"{'INFO':5} {'serial port':13} {port['device']}: {port.get('reason', '')}")
        for display in self.devices.get("displays", []):
            text = ", ".join(f"{k} {v}" for k, v in display.items()) if isinstance(display, dict) else display
            out.append(f"{'INFO':5} {'display':13} {_one_line(text)}")
        return out

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"

    def write(self, path: Path | str) -> None:
        """The report as JSON when the name ends in .json, else as text."""
        path = Path(path)
        data = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n" if path.suffix.lower() == ".json" \
            else self.text()
        try:
            path.write_text(data, encoding="utf-8")
        except OSError as exc:
            raise PosError(f"{path}: cannot write the report there: {exc.strerror}",
                           hint="pick a writable file with --out") from None


# -- internal checks: pure parts -------------------------------------------------------------------------

def check_disk(folder: Path, min_free: int = MIN_FREE_BYTES) -> Check:
    """Free space on the data directory's file system (its nearest existing parent before the first start)."""
    where = Path(folder)
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return _fail("disk", f"cannot read the free space of {where}: {exc.strerror}",
                     "check that the data directory is mounted and readable")
    text = f"{free / 1e6:,.0f} MB free on {where}'s file system"
    if free >= min_free:
        return _pass("disk", text)
    return _fail("disk", f"only {text} (at least {min_free / 1e6:,.0f} MB wanted)",
                 "free some space (old logs, downloads) or move the data directory to a larger disk")


def check_clock(now: float, newest_record: float | None) -> Check:
    """A sane year, and not before the journal's newest record (less a minute): a clock that went back."""
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    low, high = CLOCK_YEARS
    year = datetime.fromtimestamp(now, UTC).year
    if not low <= year <= high:
        return _fail("clock", f"the clock says {when}, which cannot be right", NTP_HINT)
    if newest_record is not None and now < newest_record - CLOCK_BACK_TOLERANCE:
        newest = datetime.fromtimestamp(newest_record, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return _fail("clock", f"the clock says {when}, {newest_record - now:,.0f} s before the journal's newest "
                              f"record ({newest}): it went backwards", NTP_HINT)
    return _pass("clock", when + ("" if newest_record is None else ", after the journal's newest record"))


#: Where the journal keeps this machine's wall-clock times (the tables a version has, where it has them).
_STAMPED = (("transactions", "updated_at"), ("events", "at"), ("audit", "at"), ("z_reports", "taken_at"))


def inspect_journal(data_dir: Path) -> tuple[Check, float | None]:
    """``PRAGMA integrity_check`` on ``<data_dir>/journal.sqlite``, read-only (beside a running terminal
    too: WAL), and the time of its newest record for the clock check."""
    from offline_queue import schema
    from offline_queue.journal import FILE_NAME, _corrupt

    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        return _skip("journal", f"no journal yet in {data_dir}: first start",
                     "it is created by the terminal's first start"), None
    try:
        conn = sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        error = _corrupt(path, exc)
        return _fail("journal", error.message, error.hint), None
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        if rows != ["ok"]:
            error = _corrupt(path, sqlite3.DatabaseError("integrity check: " + "; ".join(map(str, rows))))
            return _fail("journal", _one_line(error.message), error.hint), None
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        stamps = [conn.execute(f"SELECT MAX({column}) FROM {table}").fetchone()[0]
                  for table, column in _STAMPED if table in tables]
        newest = max((v for v in stamps if isinstance(v, (int, float))), default=None)
        count = conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] if "transactions" in tables else 0
    except sqlite3.Error as exc:
        error = _corrupt(path, exc)
        return _fail("journal", _one_line(error.message), error.hint), None
    finally:
        conn.close()
    if version > schema.VERSION:
        return _fail("journal", f"{path}: schema version {version} is newer than this pos-terminal's "
                                f"({schema.VERSION})", "install the pos-terminal version that wrote it"), newest
    note = "" if version == schema.VERSION else \
        f"; schema version {version}: the terminal upgrades it to {schema.VERSION} at its next start"
    return _pass("journal", f"{path}: integrity ok, {count} transactions{note}"), newest


def _same_key(a, b) -> bool:
    return a.public_numbers() == b.public_numbers()


def _beside(path: Path, want: str, fallback: str) -> Path | None:
    """The other half of a key pair lying next to ``path``: the name with private/public swapped, or the
    simulator's name for it."""
    names = []
    other = {"public": "private", "private": "public"}[want]
    if other in path.name:
        names.append(path.name.replace(other, want))
    names.append(fallback)
    for name in names:
        candidate = path.parent / name
        if candidate != path and candidate.is_file():
            return candidate
    return None


def check_keys(config: Config) -> Check:
    """Both keys load; the merchant key matches its public half (when one lies beside it, as the simulator
    and the key tools leave it), otherwise signs and verifies a test message; the gateway key is not the
    merchant's own public key (the usual mix-up)."""
    from .errors import KeyFileError

    gw = config.gateway
    try:
        merchant = signing.load_private_key(gw.merchant_private_key, "[gateway] merchant_private_key")
        gateway = signing.load_public_key(gw.gateway_public_key, "[gateway] gateway_public_key")
    except KeyFileError as exc:
        return _fail("keys", _one_line(exc.message), exc.hint or "check the key paths in the config file")
    own = merchant.public_key()
    if _same_key(own, gateway):
        return _fail("keys", f"[gateway] gateway_public_key {gw.gateway_public_key} is the merchant's own public key",
                     "put the gateway's public key there (from the Antom portal), not the one you uploaded")
    public_file = _beside(Path(gw.merchant_private_key), "public", "merchant_public.pem")
    if public_file is not None:
        try:
            public = signing.load_public_key(public_file, "merchant public key")
        except KeyFileError as exc:
            return _fail("keys", _one_line(exc.message), exc.hint or f"fix or remove {public_file}")
        if not _same_key(own, public):
            return _fail("keys", f"{gw.merchant_private_key} and {public_file} are not one key pair",
                         f"the gateway verifies with the public key registered for client id {gw.client_id}: put "
                         f"the private key that belongs to it in {gw.merchant_private_key}, or register the "
                         f"public half of {gw.merchant_private_key.name}")
        how = f"the merchant key matches {public_file.name}"
    else:
        probe = b"pos-terminal selftest"
        ok = signing.verify(own, "/selftest", gw.client_id, "0", probe,
                            signing.sign(merchant, "/selftest", gw.client_id, "0", probe))
        if not ok:
            return _fail("keys", f"{gw.merchant_private_key}: a test message signed with it does not verify",
                         "the key file is damaged: restore it from the backup")
        how = "the merchant key signs and verifies (no public half beside it to compare)"
    return _pass("keys", f"{how}; the gateway key loads (RSA {gateway.key_size})")


# -- external checks: pure parts ----------------------------------------------------------------------

def gateway_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def check_reachable(url: str, timeout: float = 5.0, *, where: str = "[gateway] url") -> Check:
    """A TCP connect to the gateway's host and port, timed."""
    host, port = gateway_address(url)
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        return _fail("gateway", f"cannot resolve {host} ({exc.strerror})",
                     f"check the network's DNS (/etc/resolv.conf) and the host name in {where}")
    except TimeoutError:
        return _fail("gateway", f"cannot reach {shown}: no answer within {timeout:g} s",
                     "check the network cable or Wi-Fi and any firewall between here and the gateway")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = (f"nothing listens there: is the gateway (or simulator) running? check {where}"
                if exc.errno == errno.ECONNREFUSED else
                f"check the network (cable, Wi-Fi, router) and {where}")
        return _fail("gateway", f"cannot reach {shown} ({reason})", hint)
    ms = (time.perf_counter() - started) * 1000
    return _pass("gateway", f"{shown} accepts connections ({ms:.1f} ms to connect)")


def judge_round_trip(outcome, elapsed_ms: float, config: Config) -> Check:
    """A signed inquiry for an id that cannot exist: a verified answer (ORDER_NOT_EXIST) is a pass."""
    from .outcome import Delivery, Status

    gw = config.gateway
    code = outcome.result_code
    if outcome.status is Status.SUCCESS or (outcome.status is Status.FAILURE and code == "ORDER_NOT_EXIST"):
        return _pass("round-trip", f"a signed inquiry was answered ({code or 'S'}) and the answer verified in "
                                   f"{elapsed_ms:.0f} ms")
    if code == "INVALID_SIGNATURE":
        return _fail("round-trip", "the gateway rejects our signature",
                     f"[gateway] merchant_private_key {gw.merchant_private_key} does not match the public key "
                     f"registered for client id {gw.client_id}: register its public half, or use the right key")
    if code == "INVALID_CLIENT":
        return _fail("round-trip", f"the gateway does not know client id {gw.client_id}",
                     f"check [gateway] client_id in {config.path} against the gateway portal")
    if code == "UNVERIFIED":
        return _fail("round-trip", "the gateway's answer did not verify: wrong gateway public key?",
                     f"[gateway] gateway_public_key {gw.gateway_public_key} must be the gateway's public key "
                     "(from the gateway portal), the one that signs its answers")
    if outcome.status is Status.UNKNOWN and outcome.delivery is Delivery.NOT_SENT:
        return _fail("round-trip", _one_line(outcome.message),
                     f"check the network and [gateway] url ({gw.url}); an https gateway needs a valid certificate")
    if outcome.status is Status.FAILURE:
        return _fail("round-trip", f"the gateway refused the inquiry: {code} {_one_line(outcome.message)}".strip(),
                     "an unknown paymentRequestId should answer ORDER_NOT_EXIST; ask the gateway's support "
                     "about this result code")
    return _fail("round-trip", f"no usable answer: {_one_line(outcome.message) or code}",
                 "the gateway may be down or overloaded; try again in a minute, then ask its support")


def parse_response_time(value: str | None) -> float | None:
    """The gateway's ``response-time``: epoch milliseconds (the simulator, the Java SDK) or ISO 8601 with
    an offset (the API docs); None when it is neither."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        number = int(text)
        return number / 1000 if number > 10**11 else float(number)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def check_skew(response_time: str | None, sent: float, received: float) -> Check:
    """Our clock (``sent`` and ``received`` read from it around the call) against the gateway's signed
    ``response-time``; the round trip's half width is counted in our favour."""
    gateway_time = parse_response_time(response_time)
    if gateway_time is None:
        return _skip("clock-skew", f"the gateway's response-time {response_time!r} is not a time this check reads",
                     "compare the clock with a reference by hand: timedatectl")
    ours = (sent + received) / 2
    skew = ours - gateway_time
    margin = max(0.0, (received - sent) / 2) + (0.0 if response_time.strip().isdigit() else 1.0)
    certain = max(0.0, abs(skew) - margin)
    words = f"our clock is {abs(skew):,.1f} s {'ahead of' if skew > 0 else 'behind'} the gateway's"
    if certain > SKEW_FAIL:
        return _fail("clock-skew", words, NTP_HINT)
    if certain > SKEW_WARN:
        return _pass("clock-skew", f"{words} (more than {SKEW_WARN:g} s: fix it before it grows)", NTP_HINT)
    return _pass("clock-skew", f"our clock agrees with the gateway's to {abs(skew):.1f} s")


# -- the notification endpoint ---------------------------------------------------------------------

def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


def _terminal_running(data_dir: Path) -> bool:
    """Whether a terminal holds the data directory's instance lock (probed without taking it)."""
    path = Path(data_dir) / "pos-terminal.lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # drops the probe's lock, if it got one
    return False


def _gateway_signer(config: Config):
    """The gateway's private key, when this machine has it (the simulator's keys lie beside the gateway
    public key): only then can we sign a notification the terminal must accept."""
    from .errors import KeyFileError

    public_path = Path(config.gateway.gateway_public_key)
    private_path = _beside(public_path, "private", "gateway_private.pem")
    if private_path is None:
        return None
    try:
        private = signing.load_private_key(private_path, "gateway private key")
        public = signing.load_public_key(public_path, "[gateway] gateway_public_key")
    except KeyFileError:
        return None
    return private if _same_key(private.public_key(), public) else None


def _post_notification(host: str, port: int, path: str, client_id: str, signer) -> tuple[int, bytes]:
    body = json.dumps({"notifyType": "PAYMENT_RESULT", "paymentRequestId": f"SELFTEST-{uuid.uuid4().hex[:16]}",
                       "result": {"resultCode": "SELFTEST", "resultStatus": "U",
                                  "resultMessage": "pos-terminal selftest: ignore"}},
                      separators=(",", ":")).encode()
    request_time = str(int(time.time() * 1000))
    headers = {"Content-Type": "application/json; charset=UTF-8", "client-id": client_id,
               "request-time": request_time}
    if signer is not None:
        headers["signature"] = signing.sign(signer, path, client_id, request_time, body)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read(64 * 1024)
    finally:
        conn.close()


def _judge_notification_answer(status: int, raw: bytes, signed: bool, who: str, where: str) -> Check:
    from .receiver import ACK

    try:
        result = json.loads(raw).get("result", {})
    except (ValueError, AttributeError):
        result = None
    if not isinstance(result, dict):
        return _fail("notifications", f"something other than a notification receiver answers on {where} "
                                      f"(HTTP {status})",
                     "another program uses the port: stop it, or change [notifications] listen")
    message = str(result.get("resultMessage", ""))
    if signed:
        if status == 200 and raw == ACK:
            return _pass("notifications", f"{who} on {where} verified and acknowledged a signed test notification")
        if "signature" in message:
            return _fail("notifications", f"{who} on {where} refused a correctly signed test notification",
                         "the terminal verifies with another gateway key: restart it after fixing "
                         "[gateway] gateway_public_key")
        return _fail("notifications", f"{who} on {where} did not acknowledge a signed test notification: "
                                      f"{_one_line(message) or f'HTTP {status}'}",
                     "see the terminal's log (run with -v) for why it could not record it")
    if status == 200 and raw == ACK:
        return _fail("notifications", f"{who} on {where} acknowledged an UNSIGNED notification",
                     "something else answers there, or a receiver that does not verify: stop it")
    if result.get("resultStatus") == "U" and "signature" in message:
        return _pass("notifications", f"{who} on {where} refuses unsigned notifications (only the gateway can "
                                      "sign a full test)",
                     "for the path from the gateway, send a test notification from the gateway portal")
    return _fail("notifications", f"{who} on {where} answered an unsigned test with HTTP {status}: "
                                  f"{_one_line(message)}", "check the terminal's log (run with -v)")


def check_notifications(config: Config, data_dir: Path, *, sandbox: bool = False) -> Check:
    """The notification endpoint, as far as it can be tested from here.

    - What is sent: a ``notifyPayment`` for a paymentRequestId that cannot exist (``SELFTEST-…``); a terminal
      acknowledges and journals it as an unmatched notification, and changes nothing else.
    - Signed when this machine has the gateway's private key (the simulator's keys, beside the configured
      gateway public key); then the exact ack is the pass. Otherwise (a live gateway) only the gateway can
      sign, so it is sent unsigned and the receiver's refusal (U, "does not verify") is the pass: it is up
      and it verifies. The full path from the gateway is then the gateway portal's test notification.
    - Where: ``[notifications] listen`` (a wildcard address is reached on loopback). If nothing listens
      there and a terminal holds this data directory, that is a failure. If no terminal runs, a stand-in
      receiver (the production :class:`~pos_app.receiver.NotificationReceiver`, recording instead of
      journaling) listens there for the test: that proves the port can be taken and the configured key
      verifies. In sandbox mode the terminal's port is a free one chosen at start, so the stand-in always
      listens on a free loopback port.
    """
    from .receiver import NotificationReceiver

    n = config.notifications
    client_id = config.gateway.client_id
    path = urlsplit(n.public_url).path or "/"
    signer = _gateway_signer(config)
    host, port = ("127.0.0.1", 0) if sandbox else (_connect_host(n.listen_host), n.listen_port)
    if port:
        where = f"{host}:{port}"
        try:
            status, raw = _post_notification(host, port, path, client_id, signer)
            return _judge_notification_answer(status, raw, signer is not None, "the terminal", where)
        except ConnectionRefusedError:
            pass
        except (OSError, http.client.HTTPException) as exc:
            return _fail("notifications", f"{where} did not answer a test notification properly "
                                          f"({type(exc).__name__}: {_one_line(exc)})",
                         "another program may hold the port: stop it, or change [notifications] listen")
        if _terminal_running(data_dir):
            return _fail("notifications", f"the terminal is running but nothing listens on {where}",
                         "see the terminal's start-up warnings: another program may have the port, or change "
                         "[notifications] listen")
    try:
        gateway_key = signing.load_public_key(config.gateway.gateway_public_key, "[gateway] gateway_public_key")
    except PosError as exc:
        return _skip("notifications", f"the gateway key does not load ({_one_line(exc.message)})",
                     "see the keys check")
    received: list[dict] = []
    bind_host = "127.0.0.1" if sandbox else n.listen_host
    try:
        stand_in = NotificationReceiver(bind_host, port, client_id, gateway_key, received.append).start()
    except OSError as exc:
        hint = ("ports below 1024 need root: pick a port above 1024" if exc.errno == errno.EACCES else
                "this machine has no such address: use 0.0.0.0 or one of its addresses"
                if exc.errno == errno.EADDRNOTAVAIL else "change [notifications] listen")
        return _fail("notifications", f"cannot listen on {bind_host}:{port} for notifications ({exc.strerror})", hint)
    try:
        where = f"{_connect_host(bind_host)}:{stand_in.port}"
        status, raw = _post_notification(_connect_host(bind_host), stand_in.port, path, client_id, signer)
    except (OSError, http.client.HTTPException) as exc:
        return _fail("notifications", f"the stand-in receiver did not answer ({_one_line(exc)})",
                     "a firewall on this machine may block loopback connections")
    finally:
        stand_in.stop()
    who = "a stand-in receiver (no terminal running)" if not sandbox else "a sandbox stand-in receiver"
    check = _judge_notification_answer(status, raw, signer is not None, who, where)
    if signer is not None and check.status == PASS and not received:
        return _fail("notifications", "the stand-in acknowledged without recording the notification", "a bug: report it")
    return check


# -- interactive: the test scan --------------------------------------------------------------------

def _typed_on(text: str, scanner_layout: str, decode_layout: str) -> str | None:
    """What ``text`` becomes when a scanner types it for ``scanner_layout`` and the terminal decodes the
    keys with ``decode_layout`` (the production decoder), or None when the scanner's layout cannot type it."""
    from drivers.keydecoder import (
        EV_KEY,
        KEY_ENTER,
        KEY_LEFTSHIFT,
        KEY_RIGHTALT,
        DecodedScan,
        KeyDecoder,
    )
    from drivers.keymaps import get_layout

    try:
        strokes = get_layout(scanner_layout).keystrokes(text)
    except ValueError:
        return None
    decoder = KeyDecoder(decode_layout, gap_ms=10_000, min_length=1)
    t, out = 0.0, []
    for code, shift, altgr in [*strokes, (KEY_ENTER, False, False)]:
        mods = [m for m, on in ((KEY_LEFTSHIFT, shift), (KEY_RIGHTALT, altgr)) if on]
        for key, value in [*((m, 1) for m in mods), (code, 1), (code, 0), *((m, 0) for m in mods)]:
            out += decoder.feed(t, EV_KEY, key, value)
            t += 0.001
    scans = [o for o in out if isinstance(o, DecodedScan)]
    return scans[0].typed if scans else ""


def scan_check(expected: str, got: Any, *, layout: str | None = "us", duration: float | None = None,
               expect_aim: bool = False) -> Check:
    """Judge a test scan of ``expected`` and say which setting to change.

    ``got`` is a :class:`~drivers.model.ScanEvent` (or anything with ``data``, ``aim``, ``ended_by``) or the
    raw text as typed (an AIM prefix is then parsed off). ``layout`` is the layout the terminal decodes
    this scanner with (None for a serial scanner: no keys, no layout). ``duration`` (first key to last, in
    seconds) is taken from ``got.duration`` when it has one; without it the timing is not judged.
    """
    from drivers import aim as aim_ids
    from drivers.keymaps import LAYOUTS

    from .scan import mask

    if isinstance(got, str):
        raw = got.rstrip("\r\n")
        ended_by = "enter" if raw != got else None
        aim, data = aim_ids.split_prefix(raw)
    else:
        data, aim, ended_by = got.data, getattr(got, "aim", None), getattr(got, "ended_by", None) or None
    if duration is None:
        duration = getattr(got, "duration", None)
    problems: list[tuple[str, str]] = []
    if data != expected:
        garbled = {}
        if layout:
            for name in LAYOUTS:
                if name != layout:
                    typed = _typed_on(expected, name, layout)
                    if typed:
                        garbled[name] = typed
        wrong = next((name for name, typed in garbled.items()
                      if data == typed or (len(typed) >= 6 and data.endswith(typed))), None)
        if wrong is not None:
            title = LAYOUTS[wrong].title
            problems.append((f"the scanner types for layout {wrong!r} ({title}), the terminal decodes {layout!r}",
                             (f'set layout = "{wrong}" under [scanners] (or in this scanner\'s [[scanners.hid]] '
                              f'entry), or program the scanner\'s keyboard country for layout "{layout}"')))
        elif data == expected.swapcase():
            problems.append(("the letters arrive in the wrong case",
                             "turn off the scanner's case conversion or Caps Lock emulation"))
        elif expected in data:
            before, _, after = data.partition(expected)
            extra = " and ".join(f"{what} {text!r}" for what, text in (("before", before), ("after", after)) if text)
            problems.append((f"the scanner adds characters {extra} the data",
                             ("remove the scanner's prefix/suffix characters (keep only Enter as the suffix; the "
                              "AIM id prefix is fine)")))
        elif data and expected.startswith(data):
            problems.append((f"only {len(data)} of {len(expected)} characters arrived",
                             "the scan was cut short: set the scanner's inter-character delay to 0, or raise gap_ms"
                             if ended_by == "gap" else "check that the whole code was in the scanner's view"))
        else:
            shown = mask(data) if len(data) >= 16 and data.isdigit() else data  # a customer's code, by mistake?
            problems.append((f"read {shown!r}, expected {expected!r}",
                             "scan the test code shown by this self-test, not another barcode"))
    if ended_by == "gap":
        problems.append(("the scan had no suffix and ended on the time gap",
                         "program the scanner to send Enter (CR) after each scan"))
    if aim is None and expect_aim:
        problems.append(("the scanner sends no AIM symbology identifier",
                         "enable the scanner's 'AIM ID' (code identifier) prefix"))
    elif aim is not None and not aim.startswith("]Q") and data == expected:
        problems.append((f"the AIM id {aim} does not say QR Code", "scan the QR code shown by this self-test"))
    if duration is not None and data:
        per_char = duration / max(1, len(data))
        if per_char > SLOW_CHAR_SECONDS:
            problems.append((f"the scanner types slowly ({per_char * 1000:.0f} ms a character)",
                             "set the scanner's inter-character delay to 0 (and its USB polling to the fastest)"))
    if problems:
        return _fail("scan", "; ".join(p for p, _ in problems), "; ".join(h for _, h in problems))
    facts = [f"read {len(data)} characters as expected",
             f"AIM id {aim}" if aim else "no AIM id (optional)",
             f"ended by {ended_by}" if ended_by else "",
             f"{duration / max(1, len(data)) * 1000:.1f} ms a character" if duration is not None else
             "timing not reported by the driver"]
    return _pass("scan", ", ".join(f for f in facts if f))


def _wait_for_scan(events: queue.Queue, timeout: float):
    """The first scan within ``timeout`` seconds, and the last problem a scanner reported meanwhile."""
    from drivers import model

    deadline = time.monotonic() + timeout
    problem = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, problem
        try:
            event = events.get(timeout=min(remaining, 0.25))
        except queue.Empty:
            continue
        if isinstance(event, model.ScanEvent):
            return event, problem
        if event.kind in (model.REJECTED, model.DROPPED, model.ERROR):
            problem = f"{event.source}: {event.message}"


# -- the run ------------------------------------------------------------------------------------------

@dataclass
class _Context:
    level: int
    config_file: Path | None
    data_dir: Path
    clock: Callable[[], float]
    config: Config | None = None
    config_check: Check | None = None
    sim: Any = None
    keys_ok: bool = False
    journal_newest: float | None = None
    reachable: bool = False
    answer: tuple | None = None   # (response-time header of a verified answer, sent, received)
    hub: Any = None
    own_hub: bool = False

    @property
    def sandbox(self) -> bool:
        return self.config_file is None


def _prepare(ctx: _Context) -> None:
    """Load the configuration (sandbox: the embedded simulator's, started for the external level)."""
    if not ctx.sandbox:
        try:
            ctx.config = load_config(ctx.config_file)
        except PosError as exc:
            ctx.config_check = _fail("config", _one_line(exc.message), exc.hint or "compare it with the README")
            return
        mode = "sandbox gateway" if ctx.config.gateway.sandbox else "live gateway"
        ctx.config_check = _pass("config", f"{ctx.config.path}: valid ({mode} {ctx.config.gateway.url}, "
                                           f"client id {ctx.config.gateway.client_id})")
        return
    sandbox_file = ctx.data_dir / "sandbox-gateway" / "terminal.toml"
    try:
        if ctx.level >= 2:
            from .sandbox import start_sandbox
            ctx.sim, ctx.config = start_sandbox(ctx.data_dir)
        elif sandbox_file.is_file():
            ctx.config = load_config(sandbox_file)
    except PosError as exc:
        ctx.config_check = _fail("config", f"sandbox: {_one_line(exc.message)}",
                                 exc.hint or f"check the sandbox's files in {sandbox_file.parent}")
        return
    ctx.config_check = _pass("config", "sandbox: no config file" + (
        f" (the embedded simulator's {ctx.config.path})" if ctx.config else ""))


def _check_keys(ctx: _Context) -> Check:
    if ctx.config is None:
        if ctx.sandbox:
            return _skip("keys", "sandbox: the embedded simulator makes its keys at the first start",
                         "run `pos-terminal selftest --level external` or start the terminal once")
        return _skip("keys", "the config does not load (see config)")
    check = check_keys(ctx.config)
    ctx.keys_ok = check.status == PASS
    return check


def _check_journal(ctx: _Context) -> Check:
    check, ctx.journal_newest = inspect_journal(ctx.data_dir)
    return check


def _check_clock(ctx: _Context) -> Check:
    return check_clock(ctx.clock(), ctx.journal_newest)


def _start_hub(ctx: _Context, settings: ScannersConfig, input_dir, sys_dir, opener) -> None:
    from drivers.hub import ScannerHub

    kw = {} if opener is None else {"opener": opener}
    ctx.hub = ScannerHub(settings, input_dir=input_dir, sys_dir=sys_dir, serial=True, watch=False, **kw).start()
    ctx.own_hub = True


def _check_scanners(ctx: _Context, hub, input_dir, sys_dir, opener) -> Check:
    if hub is not None:
        ctx.hub = hub
    elif ctx.config is None and not ctx.sandbox:
        return _skip("scanners", "the config does not load (see config)")
    else:
        settings = ctx.config.scanners if ctx.config is not None else ScannersConfig()
        _start_hub(ctx, settings, input_dir, sys_dir, opener)
    rows = ctx.hub.status()
    if not rows:
        return _skip("scanners", "no scanner found (none configured, none discovered)",
                     "`pos-terminal devices` lists the input devices and why none counts as a scanner")
    bad = [r for r in rows if r.get("error") or not r.get("connected")]
    if bad:
        messages = [r.get("error") or f"{r['source']}: not connected" for r in bad]
        _, _, hint = messages[0].partition("\n")
        detail = "; ".join(_one_line(m.partition("\n")[0]) for m in messages)
        hint = hint.strip().removeprefix("→").strip()
        if ctx.own_hub and _terminal_running(ctx.data_dir) and "grab" in detail:
            hint = "the running terminal holds the scanners: run the self-test from its technician screen"
        ok = len(rows) - len(bad)
        return _fail("scanners", f"{len(bad)} of {len(rows)} scanner(s) cannot be used: {detail}"
                                 + (f" ({ok} open)" if ok else ""), hint or "`pos-terminal devices` says more")
    names = ", ".join(f"{r['source']} ({r['kind']})" for r in rows)
    return _pass("scanners", f"{len(rows)} scanner(s) open: {names}")


def _check_gateway(ctx: _Context) -> Check:
    if ctx.config is None:
        return _skip("gateway", "the config does not load (see config)")
    check = check_reachable(ctx.config.gateway.url, ctx.config.gateway.connect_timeout,
                            where=f"[gateway] url in {ctx.config.path}" if not ctx.sandbox else "the sandbox")
    ctx.reachable = check.status == PASS
    return check


def _check_round_trip(ctx: _Context) -> Check:
    from .gateway import GatewayClient

    if ctx.config is None:
        return _skip("round-trip", "the config does not load (see config)")
    if not ctx.reachable:
        return _skip("round-trip", "the gateway cannot be reached (see gateway)")

    class ProbeClient(GatewayClient):
        """Keeps the signed ``response-time`` of a verified answer, for the clock-skew check."""

        response_time: str | None = None

        def _classify(self, request, path, response, raw):
            outcome = super()._classify(request, path, response, raw)
            if response.status == 200 and raw is not None and outcome.result_code != "UNVERIFIED":
                self.response_time = response.headers.get("response-time")  # verified: it is signed
            return outcome

    try:
        client = ProbeClient.from_config(ctx.config)
    except PosError as exc:
        return _skip("round-trip", f"the keys do not load ({_one_line(exc.message)})", "see the keys check")
    with client:
        sent = ctx.clock()
        started = time.perf_counter()
        outcome = client.inquiry_payment(payment_request_id=f"SELFTEST-{uuid.uuid4().hex[:16]}")
        elapsed_ms = (time.perf_counter() - started) * 1000
        received = ctx.clock()
    if client.response_time is not None:
        ctx.answer = (client.response_time, sent, received)
    return judge_round_trip(outcome, elapsed_ms, ctx.config)


def _check_skew(ctx: _Context) -> Check:
    if ctx.answer is None:
        return _skip("clock-skew", "no verified answer from the gateway to compare with (see round-trip)")
    return check_skew(*ctx.answer)


def _check_notifications(ctx: _Context) -> Check:
    if ctx.config is None:
        return _skip("notifications", "the config does not load (see config)")
    return check_notifications(ctx.config, ctx.data_dir, sandbox=ctx.sandbox)


def _check_display(display) -> Check:
    if display is None:
        return _skip("display", "no customer display here: run from the technician screen",
                     "the technician screen shows a test pattern and a test QR on the customer display")
    try:
        answer = display(TEST_CODE)
    except PosError as exc:
        return _fail("display", _one_line(exc.message), exc.hint or "check the customer display's cable and power")
    except Exception as exc:  # noqa: BLE001 -- the screen's own failure is this check's answer
        return _fail("display", f"the customer display failed: {type(exc).__name__}: {_one_line(exc)}",
                     "check the customer display's cable and power")
    ok, detail = answer if isinstance(answer, tuple) else (bool(answer), "")
    if ok:
        return _pass("display", detail or "the customer display shows the test pattern and the test QR")
    return _fail("display", detail or "the customer display did not show the test pattern",
                 "check its cable and power, and that the desktop sees a second screen")


def _check_scan(ctx: _Context, scan, prompt, timeout: float) -> Check:
    if scan is not None:
        if prompt:
            prompt(TEST_CODE)
        got = scan(TEST_CODE, timeout)
        layout = ctx.config.scanners.layout if ctx.config else "us"
    else:
        if ctx.hub is None or not ctx.own_hub:
            return _skip("scan", "no scanner to test" if ctx.hub is None else "run from the technician screen")
        usable = [s for s in ctx.hub.scanners if getattr(s, "connected", True)]
        if not usable:
            return _skip("scan", "no scanner to test (see scanners)")
        while True:  # what came before the prompt is not the test scan
            try:
                ctx.hub.events.get_nowait()
            except queue.Empty:
                break
        if prompt:
            prompt(TEST_CODE)
        got, problem = _wait_for_scan(ctx.hub.events, timeout)
        if got is None:
            return _fail("scan", f"no scan within {timeout:g} s" + (f" (last problem: {problem})" if problem else ""),
                         "scan the QR shown here; if the scanner beeps but nothing arrives, "
                         "`pos-terminal scanner listen` shows what it sends")
        source = ctx.hub.hid.get(got.source) if hasattr(ctx.hub, "hid") else None
        layout = source.decoder.layout.name if source is not None else None
    if got is None:
        return _fail("scan", f"no scan within {timeout:g} s", "scan the QR shown on the technician screen")
    return scan_check(TEST_CODE, got, layout=layout)


def _devices(ctx: _Context, level: str, displays) -> dict:
    out: dict = {"scanners": [], "serial_ports": [], "displays": list(displays or [])}
    if ctx.hub is not None:
        by_source = {s.source: s for s in ctx.hub.scanners}
        for row in ctx.hub.status():
            scanner = by_source.get(row["source"])
            if scanner is not None:
                try:
                    row["health"] = scanner.check_health("external" if level != "internal" else "internal")
                except Exception as exc:  # noqa: BLE001 -- a report line, never a reason to lose the report
                    row["health"] = f"health check failed: {exc}"
            out["scanners"].append(row)
    try:
        from drivers.discovery import scan_serial_ports

        settings = ctx.config.scanners if ctx.config is not None else ScannersConfig()
        out["serial_ports"] = [p.to_json() for p in scan_serial_ports(settings)]
    except Exception as exc:  # noqa: BLE001 -- the list is a courtesy: the checks stand without it
        log.debug("listing serial ports failed: %s", exc)
    return out


def run(level: str = "internal", config_file: Path | str | None = None, data_dir: Path | str | None = None, *,
        scanners=None, display: Callable[[str], Any] | None = None, displays: list[dict] | None = None,
        clock: Callable[[], float] = time.time, input_dir: Path | str = "/dev/input",
        sys_dir: Path | str = "/sys/class/input", opener=None,
        scan: Callable[[str, float], Any] | None = None, prompt: Callable[[str], None] | None = None,
        scan_timeout: float = SCAN_TIMEOUT, on_check: Callable[[Check], None] | None = None) -> Report:
    """Run the checks of ``level`` and those below it; never raises for what it finds.

    - ``config_file`` None is sandbox mode; ``data_dir`` None is the usual data directory.
    - ``scanners``: a running :class:`~drivers.hub.ScannerHub` (the GUI's, which holds the scanners) to
      report on; without it the scanners are opened here (``input_dir``, ``sys_dir``, ``opener`` as for
      the hub) and closed at the end.
    - ``display(test_code)`` shows the test pattern and QR on the customer display and returns True,
      False or ``(ok, detail)``; None (headless) skips the check. ``displays`` go into the report's devices.
    - ``clock`` is the wall clock the clock checks judge.
    - Interactive: ``prompt(test_code)`` asks the person to scan; ``scan(test_code, timeout)`` returns the
      scan (a ScanEvent or the raw text) or None; without ``scan`` the hub opened here is listened to.
    - ``on_check(check)`` is called as each check ends (a screen's progress).
    """
    if level not in LEVELS:
        raise PosError(f"no self-test level {level!r}", hint="the levels are internal, external and interactive")
    data_dir = Path(data_dir) if data_dir is not None else find_data_dir(None)
    ctx = _Context(LEVELS.index(level) + 1, Path(config_file) if config_file is not None else None,
                   Path(data_dir), clock)
    report = Report(level, started_at=clock())

    def add(fn: Callable[[], Check]) -> None:
        started = time.perf_counter()
        try:
            check = fn()
        except PosError as exc:  # a person's error the check did not expect: still theirs to fix
            check = _fail(getattr(fn, "check_name", "selftest"), _one_line(exc.message), exc.hint or "")
        except Exception as exc:  # one broken check must not lose the others' results
            log.exception("self-test check failed")
            check = _fail(getattr(fn, "check_name", "selftest"), f"the check itself failed: "
                                                                 f"{type(exc).__name__}: {_one_line(exc)}",
                          "this is a bug: run with -v and report it")
        check = Check(check.name, check.status, _one_line(check.detail), _one_line(check.hint),
                      time.perf_counter() - started)
        report.checks.append(check)
        if on_check is not None:
            on_check(check)

    def named(name: str, fn: Callable[[], Check]) -> Callable[[], Check]:
        fn.check_name = name  # type: ignore[attr-defined]
        return fn

    try:
        def config_check() -> Check:
            _prepare(ctx)
            return ctx.config_check

        add(named("config", config_check))
        add(named("keys", lambda: _check_keys(ctx)))
        add(named("journal", lambda: _check_journal(ctx)))
        add(named("disk", lambda: check_disk(ctx.data_dir)))
        add(named("clock", lambda: _check_clock(ctx)))
        add(named("scanners", lambda: _check_scanners(ctx, scanners, input_dir, sys_dir, opener)))
        if ctx.level >= 2:
            add(named("gateway", lambda: _check_gateway(ctx)))
            add(named("round-trip", lambda: _check_round_trip(ctx)))
            add(named("clock-skew", lambda: _check_skew(ctx)))
            add(named("notifications", lambda: _check_notifications(ctx)))
            add(named("display", lambda: _check_display(display)))
        if ctx.level >= 3:
            add(named("scan", lambda: _check_scan(ctx, scan, prompt, scan_timeout)))
        report.devices = _devices(ctx, level, displays)
    finally:
        if ctx.own_hub and ctx.hub is not None:
            ctx.hub.stop()
        if ctx.sim is not None:
            ctx.sim.stop()
    return report


# -- the command ----------------------------------------------------------------------------------------

def add_parser(sub, common) -> argparse.ArgumentParser:
    """Register ``selftest`` on the CLI's subparsers; ``common(parser, suppress=True)`` adds the shared
    options (--config, --data-dir, --json, -v)."""
    p = sub.add_parser("selftest", help="check config, keys, journal, clock, scanners, gateway and notifications "
                                        "(exit 0 only if no check failed)")
    common(p, suppress=True)
    p.add_argument("--level", choices=LEVELS, default="internal",
                   help="internal: this machine only; external: also the gateway, the notification endpoint and "
                        "the display; interactive: also a test scan (default internal)")
    p.add_argument("--timeout", type=float, default=SCAN_TIMEOUT, metavar="SECONDS",
                   help=f"how long the interactive level waits for the test scan (default {SCAN_TIMEOUT:g})")
    p.add_argument("--out", default=None, metavar="FILE", help="also write the report: JSON if FILE ends in .json, "
                                                               "else text")
    p.add_argument("--input-dir", default="/dev/input", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--sys-dir", default="/sys/class/input", metavar="DIR", help=argparse.SUPPRESS)
    return p


def _prompt_for(as_json: bool) -> Callable[[str], None]:
    out = sys.stderr if as_json else sys.stdout

    def prompt(code: str) -> None:
        print(f"scan the test barcode now: {code}", file=out, flush=True)
        try:
            import segno
            segno.make(code, error="m").terminal(out=out, compact=True)
        except Exception as exc:  # noqa: BLE001 -- the text above still says what to scan
            print(f"(cannot draw the QR here: {exc})", file=out)
        out.flush()
    return prompt


def cmd_selftest(args) -> int:
    timeout = getattr(args, "timeout", SCAN_TIMEOUT)
    if not (math.isfinite(timeout) and timeout > 0):
        raise PosError(f"--timeout {timeout} is not a number of seconds above zero")
    as_json = bool(getattr(args, "json", False))
    report = run(getattr(args, "level", "internal") or "internal", find_config_file(getattr(args, "config", None)),
                 find_data_dir(getattr(args, "data_dir", None)),
                 input_dir=getattr(args, "input_dir", "/dev/input"), sys_dir=getattr(args, "sys_dir", "/sys/class/input"),
                 prompt=_prompt_for(as_json), scan_timeout=timeout)
    if getattr(args, "out", None):
        report.write(args.out)
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return report.exit_code
