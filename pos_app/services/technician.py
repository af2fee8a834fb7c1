"""The technician's use cases: self-test, devices, log export, and setting a role's PIN.

Diagnostics read; they move no money. In the windows they sit behind the technician PIN; at a prompt
the terminal's own OS account counts as a technician (see :func:`~pos_app.services.registry.shell`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..roles import MANAGER, TECHNICIAN
from .registry import ANYONE, Grant, use_case

TECHNICIANS = frozenset({TECHNICIAN, MANAGER})


@use_case("selftest", roles=TECHNICIANS, cli="selftest", gui="ui.technician:TechnicianWindow.run_selftest")
def selftest(grant: Grant, level: str, config_file, data_dir, **options):
    """Run the self-test at ``level``; returns its Report (one Check per line)."""
    from .. import selftest as st
    return st.run(level, config_file, data_dir, **options)


@use_case("devices", roles=TECHNICIANS, cli="devices", gui="ui.technician:TechnicianWindow.refresh_devices")
def devices(grant: Grant, settings, *, hub=None, input_dir: Path = Path("/dev/input"),
            sys_dir: Path = Path("/sys/class/input"), printer=None, usb_dir: Path = Path("/sys/bus/usb/devices"),
            lp_dir: Path = Path("/dev/usb")) -> dict:
    """Input devices (scanner, keyboard, other) with their grab state, serial ports, printers (USB ones
    found, and the configured ``printer`` with its status), and the running scanners' status when ``hub``
    is given. A failing part is reported in the result, not raised."""
    from drivers.discovery import scan_input_devices, scan_serial_ports
    from drivers.printer import find_printers

    from ..device_commands import grab_state
    out: dict = {"input_devices": [], "serial_ports": [], "errors": {}}
    try:
        for device in scan_input_devices(settings, Path(input_dir), Path(sys_dir)):
            row = device.to_json()
            row["grabbed"] = grab_state(device.paths[0] if device.paths else None, device.role)
            out["input_devices"].append(row)
    except Exception as exc:  # noqa: BLE001 -- a list, not a reason to lose the others
        out["errors"]["input_devices"] = f"{type(exc).__name__}: {exc}"
    try:
        out["serial_ports"] = [p.to_json() for p in scan_serial_ports(settings)]
    except Exception as exc:  # noqa: BLE001 -- as for the input devices: the rest of the list still comes
        out["errors"]["serial_ports"] = f"{type(exc).__name__}: {exc}"
    try:
        out["printers"] = [p.to_json() for p in find_printers(printer, sys_dir=Path(usb_dir), lp_dir=Path(lp_dir))]
    except Exception as exc:  # noqa: BLE001 -- as for the input devices
        out["printers"] = []
        out["errors"]["printers"] = f"{type(exc).__name__}: {exc}"
    if hub is not None:
        out["scanners"] = hub.status()
    return out


@dataclass(frozen=True)
class LogExport:
    path: str
    names: list[str]
    skipped: list[str]

    @property
    def log_files(self) -> int:
        return len(self.names) - 1     # all but system.txt

    def to_json(self) -> dict:
        return {"path": self.path, "files": len(self.names), "logFiles": self.log_files, "names": self.names,
                "skipped": self.skipped}


@use_case("log_export", roles=TECHNICIANS, cli="logs --export", gui="ui.technician:TechnicianWindow.export_logs")
def log_export(grant: Grant, folder: Path, target: Path, *, config: str | None = None) -> LogExport:
    """Pack the logs, masked again, with a system summary into one .tar.gz for support."""
    from .. import logs
    data = logs.export(Path(folder), Path(target), config=config)
    return LogExport(data["path"], data["names"], data["skipped"])


@dataclass(frozen=True)
class PinSet:
    role: str

    def to_json(self) -> dict:
        return {"role": self.role, "set": True}


@use_case("pin_set", roles=ANYONE, cli="pin set", gui="ui.pin_dialog:PinDialog.submit")
def pin_set(grant: Grant, journal, role: str, pin: str, *, current: str | None = None) -> PinSet:
    """Set a role's PIN; changing an existing one needs the current PIN (checked, with its lockout).
    The PIN book writes the audit entry in the same transaction as the new hash."""
    from ..roles import PinBook
    PinBook(journal).set(role, pin, current=current)
    return PinSet(role)


def start_window_log(data_dir: Path, verbose: bool = False) -> Path | None:
    """The window's log: ``<data dir>/logs/pos-terminal.log`` from its first start (the data directory is made
    now, as the terminal would make it a moment later), so the Logs tab and support have it from the start."""
    from .. import logs
    return logs.setup(data_dir, verbose, command="gui", create=True)


def own_log(data_dir: Path, tail_bytes: int) -> dict:
    """The log file this terminal writes (``<data dir>/logs/pos-terminal.log`` when logging was not set up
    here), its last ``tail_bytes`` masked again (a file from an older version may hold a code): what the
    technician window shows. The other files in the folder (rotated logs, crash reports) are counted, and
    the export packs them all. ``text`` is None while the file does not exist yet."""
    from ..logs import FILE_NAME, current_file, mask_text
    folder = Path(data_dir) / "logs"
    path = current_file()
    if path is None or path.parent.resolve() != folder.resolve():
        path = folder / FILE_NAME
    others = [p for p in folder.iterdir() if p.is_file() and p.name != path.name] if folder.is_dir() else []
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - tail_bytes))
            data = f.read()
    except FileNotFoundError:
        return {"path": str(path), "size": 0, "others": len(others), "truncated": False, "text": None}
    return {"path": str(path), "size": size, "others": len(others), "truncated": size > tail_bytes,
            "text": mask_text(data.decode("utf-8", errors="replace"))}


def replication_state(journal, replicator=None) -> dict | None:
    """This terminal's replication to the store, for the technician's window and the status bar: the backlog,
    the lag, the cursor and the last error (journaled by the shipper), plus whether the shipper is connected
    right now (``replicator``: the Runtime's, None when this process runs none). None without a journal."""
    if journal is None:
        return None
    from ..store.fleet import replication
    state = replication(journal)
    if replicator is not None:
        state["connected"] = replicator.progress.connected
        state["error"] = replicator.progress.error or state["error"]
    return state
