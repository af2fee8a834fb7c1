"""What a self-test run produces: one :class:`Check` per check and the :class:`Report` around them.

Its own module because every check module builds these, and the technician screen and the CLI read
them (the words, the JSON shape, the exit code) without importing any check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import PosError
from ..i18n import N_, _

LEVELS = ("internal", "external", "interactive")
PASS, FAIL, SKIP = "pass", "fail", "skip"

#: Each check's name in words, for a person (the technician's window): the name itself is a code, what the
#: JSON's ``name``, the text report and the tests use. Shown through ``_()``: see :func:`title`.
TITLES = {
    "config": N_("Configuration"), "keys": N_("Keys"), "journal": N_("Journal"), "disk": N_("Disk space"),
    "clock": N_("Clock"), "scanners": N_("Scanners"), "proxy": N_("Proxy"), "gateway": N_("Gateway connection"),
    "tls": N_("TLS to the gateway"),
    "round-trip": N_("Gateway round trip"), "clock-skew": N_("Clock against the gateway"),
    "notifications": N_("Notifications"), "display": N_("Customer display"), "scan": N_("Test scan"),
    "printer": N_("Receipt printer"), "test-page": N_("Printer test page"),
    "replication": N_("Store replication"), "store": N_("Store database"),
    "settlement": N_("Settlement reports (SFTP)"),
}
#: A check's detail when the config it needs did not load (the ``config`` check says why).
NO_CONFIG = N_("the config does not load (see config)")


def title(name: str) -> str:
    """A check's name in the person's language (an unknown name as it is)."""
    return _(TITLES[name]) if name in TITLES else name


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


def passed(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, PASS, detail, hint)


def failed(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, FAIL, detail, hint)


def skipped(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, SKIP, detail, hint)


def one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass
class Report:
    level: str
    checks: list[Check] = field(default_factory=list)
    devices: dict = field(default_factory=dict)
    started_at: float = 0.0

    @property
    def ok(self) -> bool:
        """No check failed (skips are allowed: see :mod:`pos_app.selftest` for when a check skips)."""
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
            out.append(f"{'INFO':5} {'scanner':13} {one_line(text)}")
        for port in self.devices.get("serial_ports", []):
            if port.get("configured") or port.get("likely_scanner"):
                out.append(f"{'INFO':5} {'serial port':13} {port['device']}: {port.get('reason', '')}")
        for display in self.devices.get("displays", []):
            text = ", ".join(f"{k} {v}" for k, v in display.items()) if isinstance(display, dict) else display
            out.append(f"{'INFO':5} {'display':13} {one_line(text)}")
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
            raise PosError(_("{path}: cannot write the report there: {reason}").format(path=path, reason=exc.strerror),
                           hint=_("pick a writable file with --out")) from None
