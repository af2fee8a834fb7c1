"""``pos-terminal screenshots --out DIR``: every screen state rendered to PNG, for review.

It runs the real windows against a sandbox terminal in a scratch data directory and walks them through
the states a cashier and a customer meet (ready, waiting for a code, sending, waiting for the
customer, checking, paid, declined, queued offline, an order code, cancelled, a start-up failure), in
English and in Simplified Chinese, plus the customer display's test pattern and its branded screens (with the
words fallback and with stand-in artwork); then the manager's screens
(the PIN, the day with a transaction's history, review, the X and Z reports) and the technician's (devices,
a self-test run, the test scan, the customer display test, the queue with a sale waiting, logs).
Offscreen unless a display is set (run it under Xvfb to see it as a person would).

Each state is shot at every size of ``SIZES`` (the store's 1280x800 and 1024x768; a window that cannot
shrink to a size is shot as it is, and said so), and only while it is what its name says: the state is
checked before and after the grab, and a shot whose screen had moved on fails the command instead of
landing under a wrong name. ``index.json`` beside the PNGs lists each shot with the words on it (the
probe's :func:`ui.probe.describe`), for review and for tests. Qt's own warnings go to the log at debug
level, not to the person's terminal.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from pos_app import checkout, sale_view


def _code() -> str:
    return "28" + "".join(random.choice("0123456789") for _ in range(16))


#: The sizes every state is shot at: the store's screens (issue 15). The first keeps the plain file name.
SIZES = ((1280, 800), (1024, 768))
PINS = {"manager": "2468", "technician": "1357"}   # each mode its own (a technician's may not be a manager's)


def stand_in_artwork(folder: Path):
    """A [brand] with stand-in artwork drawn here (a plain "+" and the words SAMPLE MARK, no trademark), to
    shoot the branded screens as they look with a merchant's files."""
    from PIL import Image, ImageDraw, ImageFont

    from pos_app.brand import neutral_icon
    from pos_app.config import BrandConfig

    mark = Image.new("RGBA", (420, 96), (0, 0, 0, 0))
    mark.alpha_composite(neutral_icon(96))
    ImageDraw.Draw(mark).text((112, 48), "SAMPLE MARK", fill=(22, 119, 255, 255), anchor="lm",
                              font=ImageFont.load_default(size=44))
    icon = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rectangle((8, 38, 88, 58), fill=(22, 119, 255, 255))
    draw.rectangle((38, 8, 58, 88), fill=(22, 119, 255, 255))
    mark.save(folder / "sample-mark.png")
    icon.save(folder / "sample-icon.png")
    return BrandConfig(acceptance_mark=folder / "sample-mark.png", qr_icon=folder / "sample-icon.png")


def brand_screens(core, customer, tag, scratch: Path, shoot) -> None:
    """The branded customer screens (issue 16) as the technician's display test shows them: the entry-code
    page with the words fallback, then the payment zone, order code and entry code with stand-in artwork."""
    from pos_app.money import Money

    from .customer import SAMPLES

    amount = Money(1234, core.terminal.config.merchant.currency)
    customer.show_sample("entry_code", amount)
    shoot(customer, f"{tag}-customer-09-entry-code", lambda: customer.sample and customer.mode == "entry_code")
    customer.set_brand(stand_in_artwork(scratch))
    for i, kind in enumerate(SAMPLES):
        customer.show_sample(kind, amount)
        shoot(customer, f"{tag}-customer-{10 + i:02d}-artwork-{kind.replace('_', '-')}",
              lambda kind=kind: customer.sample and customer.mode == kind and customer.brand_shown == "artwork")
    customer.set_brand(core.terminal.config.brand)
    customer.show_idle()


class NotTruthful(RuntimeError):
    """A shot's screen was not (or no longer) the state its name says."""


def _grant(core, role: str):
    """What the PIN dialog hands a mode's window: the role's PIN set (first use), then unlocked."""
    from pos_app import services

    journal, pin = core.terminal.journal, PINS[role]
    if not services.registry.pin_is_set(journal, role):
        services.technician.pin_set(services.counter(), journal, role, pin)
    return services.unlock(journal, role, pin, asked_by="cashier")


def manager_screens(core, paid_id, tag, wait, shoot) -> None:
    """The manager's PIN (first use: set it), the day, a paid sale's history, review, the X and the Z."""
    from .manager import ManagerWindow
    from .pin_dialog import CHECKING, PinDialog

    pin = PinDialog(core, "manager")
    pin.show()
    wait(lambda: pin.mode != CHECKING)
    shoot(pin, f"{tag}-manager-01-pin-first-use", lambda: pin.mode != CHECKING, sized=False)
    pin.close()
    window = ManagerWindow(core, _grant(core, "manager"))
    window.confirm = lambda *_question: True    # the Z's "are you sure" box needs a person
    window.resize(1280, 800)
    window.show()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-manager-02-day", lambda: window.busy == 0 and _tab(window) == 0)
    if paid_id:
        window.select_id(paid_id)
        wait(lambda: window.busy == 0 and window.detail is not None)
        shoot(window, f"{tag}-manager-03-transaction-detail", lambda: window.detail is not None and _tab(window) == 0)
    window.tabs.setCurrentIndex(1)
    window.refresh_review()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-manager-04-review", lambda: window.busy == 0 and _tab(window) == 1)
    window.tabs.setCurrentIndex(2)
    window.x_report()
    wait(lambda: window.busy == 0 and window.report is not None)
    shoot(window, f"{tag}-manager-05-x-report",
          lambda: window.report is not None and window.report["type"] == "X" and _tab(window) == 2)
    window.z_report()
    wait(lambda: window.busy == 0 and window.report is not None and window.report["type"] == "Z")
    shoot(window, f"{tag}-manager-06-z-report",
          lambda: window.report is not None and window.report["type"] == "Z" and _tab(window) == 2)
    window.close()


def store_screens(core, tag, wait, shoot) -> None:
    """With [store] (issue 17): the manager's Store tab (every counter's day, the store X) and the technician's
    Fleet tab, as the store's PostgreSQL holds them. The sandbox walk has no [store] (and no PostgreSQL): there
    it shoots nothing."""
    if getattr(core.terminal.config, "store", None) is None:
        return
    from .manager import ManagerWindow
    from .technician import TechnicianWindow

    manager = ManagerWindow(core, _grant(core, "manager"))
    manager.resize(1280, 800)
    manager.show()
    manager.tabs.setCurrentIndex(manager.tabs.count() - 1)   # the Store tab, last: its day is read as it opens
    wait(lambda: manager.busy == 0 and manager.store_day is not None)

    def on_store() -> bool:
        return manager.store_panel is not None and manager.tabs.currentWidget() is manager.store_panel
    shoot(manager, f"{tag}-manager-07-store-day", lambda: manager.store_day is not None and on_store())
    manager.store_x_report()
    wait(lambda: manager.busy == 0 and manager.store_report is not None)
    shoot(manager, f"{tag}-manager-08-store-x", lambda: manager.store_report is not None and on_store())
    manager.close()
    technician = TechnicianWindow(core, _grant(core, "technician"))
    technician.resize(1280, 800)
    technician.show()
    technician.tabs.setCurrentIndex(technician.tabs.count() - 1)   # the Fleet tab, last: read as it opens
    wait(lambda: technician.busy == 0 and technician.fleet is not None)
    shoot(technician, f"{tag}-technician-07-fleet", lambda: technician.fleet is not None
          and technician.fleet_panel is not None and technician.tabs.currentWidget() is technician.fleet_panel)
    technician.close()


def receipt_slips(core, paid_id, tag, out: Path, wait) -> list[dict]:
    """The slips a customer and a manager take home, as PNGs (the printer's 576 dots, 80 mm): the paid sale's
    receipt and merchant copy, the slip of a refund of it, and the X report, in the walk's language. Written
    through the ``receipt_file`` use case (the same one as ``pos-terminal receipt --png``) and the slip
    renderer, so the pictures are what a printer would print."""
    from pos_app import services, slip
    from pos_app.i18n import language
    from pos_app.money import Money

    t = core.terminal
    made: list[dict] = []

    def keep(name: str, kind: str, doc, *, written: bool = False) -> None:
        path = out / f"{name}.png"
        if not written:
            slip.write_png(doc, path, mark=slip.mark_of(t.config))
        made.append({"name": name, "file": path.name, "language": language(), "kind": kind,
                     "text": doc.text(t.config.printer.columns)})
        print(path, flush=True)

    if not paid_id:
        return made
    from pos_app.printing import slip_of
    for number, copy in ((1, "customer"), (2, "merchant")):
        services.receipts.receipt_file(services.counter(), t.journal, t.config, paid_id,
                                       out / f"{tag}-receipt-0{number}-{copy}.png", format="png", copy=copy)
        keep(f"{tag}-receipt-0{number}-{copy}", "receipt", slip_of(t.journal, t.config, t.journal.get(paid_id), copy),
             written=True)
    manager = _grant(core, "manager")
    refund = services.manager.refund(manager, t, paid_id, Money(200, t.config.merchant.currency), "screenshots")
    wait(lambda: (t.load(refund.id) or refund).final, 15)
    keep(f"{tag}-receipt-03-refund", "refund", slip_of(t.journal, t.config, t.journal.get(refund.id), "customer"))
    from pos_app.printout import Till
    x = services.closing.x_report(manager, t.journal, Till.of(t.config))
    keep(f"{tag}-receipt-04-x-report", "x", slip.report_slip(x.data, t.config, kind="x"))
    return made


def technician_screens(core, customer, tag, wait, shoot):
    """The technician's tabs; the window is returned open, for the queue once the link is down."""
    from pos_app import selftest

    from .technician import TechnicianWindow

    window = TechnicianWindow(core, _grant(core, "technician"), customer)
    window.resize(1280, 800)
    window.show()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-technician-01-devices", lambda: window.busy == 0 and _tab(window) == 0)
    window.tabs.setCurrentIndex(1)   # the self-test's own tab: running it does not switch to it
    window.run_selftest("external")
    wait(lambda: window.report is not None, 60)
    shoot(window, f"{tag}-technician-02-selftest", lambda: window.report is not None and _tab(window) == 1)
    window.run_selftest("interactive", scan_timeout=30)
    wait(lambda: window.scan_panel.isVisible(), 60)
    shoot(window, f"{tag}-technician-03-test-scan", lambda: window.scan_panel.isVisible() and _tab(window) == 1)
    window.scan_field.setText("]Q1" + selftest.TEST_CODE)
    window._first_key = time.monotonic() - 0.05
    window.scan_field.returnPressed.emit()
    wait(lambda: window.report is not None, 30)
    window.tabs.setCurrentIndex(2)
    window.show_test_pattern()
    shoot(window, f"{tag}-technician-04-customer-display", lambda: _tab(window) == 2)
    window.show_idle()
    window.tabs.setCurrentIndex(4)
    window.refresh_logs()
    wait(lambda: window.busy == 0)
    shoot(window, f"{tag}-technician-05-logs", lambda: window.busy == 0 and _tab(window) == 4)
    return window


def _tab(window) -> int:
    return window.tabs.currentIndex()


def _tone(window) -> str:
    """The cashier screen's state as it paints it (the status frame's tone) and its headline."""
    return window.status_frame.property("tone")


def _stage(window) -> str:
    return window.counter.stage


def _customer_result(customer) -> str | None:
    """What the customer display shows as a result ("paid", "not_paid", "checking"), None off a result."""
    view = getattr(customer, "_view", None)
    return view.result if customer.mode == "result" and view is not None else None


def _checking(window) -> bool:
    """Checking the result with the gateway: the outcome unknown, asked again."""
    return _tone(window) == sale_view.UNSURE and window.sale is not None and window.sale.inquiries > 0 \
        and not window.view.final


def sim_faults(core, faults: dict | None) -> None:
    """Sets the sandbox simulator's faults (POST /sim/faults), or clears them (None: the HTTP method that
    removes them)."""
    import json
    import urllib.request
    from http import HTTPMethod

    body = json.dumps(faults).encode() if faults is not None else None
    method = HTTPMethod.POST if faults is not None else HTTPMethod.DELETE
    request = urllib.request.Request(core.runtime.sim.url + "/sim/faults", data=body, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def _quiet_qt() -> None:
    """Qt's warnings (the offscreen plugin's "does not support propagateSizeHints()" on every window)
    go to the log at debug level, for this command only: they say nothing to a person reviewing screens."""
    import logging

    from PySide6.QtCore import qInstallMessageHandler

    log = logging.getLogger("qt")
    qInstallMessageHandler(lambda _mode, _context, message: log.debug("%s", message))


def main(out: Path, languages: list[str], sizes: tuple[tuple[int, int], ...] = SIZES) -> int:
    """Every screen state as PNGs in ``out``, per language and size (the ``screenshots`` command)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _quiet_qt()
    import json

    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from drivers import model
    from pos_app.i18n import set_language

    from .app import build
    from .probe import describe

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    shots: list[Path] = []
    index: list[dict] = []
    slips: list[dict] = []   # the receipts, as a printer prints them (not screens: receipts.json)
    untrue: list[str] = []
    current = [languages[0] if languages else ""]

    def pump(seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.01)

    def wait(predicate, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            QCoreApplication.processEvents()
            if predicate():
                return True
            time.sleep(0.02)
        return False

    def shoot(widget, name: str, state=None, sized: bool = True) -> None:
        """``widget`` at every size (a dialog: at its own), each grabbed only while ``state()`` (what
        ``name`` says) holds."""
        for i, (width, height) in enumerate(sizes if sized else sizes[-1:]):
            if sized:
                widget.resize(width, height)
            pump(0.3)
            path = out / (f"{name}.png" if i == 0 else f"{name}-{width}x{height}.png")
            before = state is None or state()
            image = widget.grab()
            if not (before and (state is None or state())):
                untrue.append(path.name)
                shown = " | ".join(w["text"] for w in describe(widget, None)["widgets"] if w.get("text"))[:300]
                print(f"pos-terminal screenshots: {path.name}: the screen was not the state its name says; "
                      f"not saved. It showed: {shown}", file=sys.stderr, flush=True)
                continue
            image.save(str(path))
            shots.append(path)
            entry = describe(widget, None)
            hint = widget.minimumSizeHint()   # what its layout needs: below it, widgets are squeezed or cut
            actual = [max(widget.width(), hint.width()), max(widget.height(), hint.height())]
            index.append({"name": name, "file": path.name, "language": current[0], "size": [width, height],
                          "actual": actual, "fits": actual[0] <= width and actual[1] <= height,
                          "clipped": [w["objectName"] or w["class"] for w in entry["widgets"] if w["clipped"]],
                          "origin": [widget.mapToGlobal(widget.rect().topLeft()).x(),   # of the PNG's pixels
                                     widget.mapToGlobal(widget.rect().topLeft()).y()],
                          "title": entry["title"], "class": entry["class"], "widgets": entry["widgets"]})
            if not index[-1]["fits"]:
                print(f"pos-terminal screenshots: {path.name}: the window needs {actual[0]}x{actual[1]}, more "
                      f"than the {width}x{height} screen", file=sys.stderr, flush=True)
            print(path, flush=True)
        if sized:
            widget.resize(*sizes[0])
            pump(0.05)

    def sale(window, amount: str, key=Qt.Key.Key_F1) -> None:
        window.next_sale()
        for ch in amount:
            window.press(ch)
        (window.choose_scan if key == Qt.Key.Key_F1 else window.choose_qr)()

    def scan(window, code: str) -> None:
        window.core.scanner_event.emit(model.ScanEvent(code, "QR Code", 204, None, "screenshot", time.time(),
                                                       code.encode(), "enter"))

    def walk(language: str) -> None:
        """Every state in one language: a sandbox terminal's day, then one that cannot start."""
        set_language(language)
        current[0] = language
        tag = language.replace("_", "-")
        with tempfile.TemporaryDirectory(prefix="pos-shots-") as scratch:
            core, window, customer = build(None, Path(scratch), scanners=False)
            window.resize(1280, 800)
            customer.resize(1280, 800)
            window.show()
            customer.show()
            shoot(window, f"{tag}-cashier-01-starting", lambda: not window.ready)
            core.start()
            wait(lambda window=window: window.ready)
            shoot(window, f"{tag}-cashier-02-ready", lambda: window.ready and _stage(window) == checkout.ENTRY)
            shoot(customer, f"{tag}-customer-01-idle", lambda: customer.mode == "idle")
            sale(window, "12.34")
            shoot(window, f"{tag}-cashier-03-awaiting-code", lambda: _stage(window) == checkout.AWAITING_CODE)
            shoot(customer, f"{tag}-customer-02-amount-due", lambda: customer.mode == "amount")
            scan(window, "4006381333931")
            shoot(window, f"{tag}-cashier-04-product-barcode-hint",
                  lambda: _stage(window) == checkout.AWAITING_CODE and bool(window.counter.hint))
            scan(window, _code())
            wait(lambda window=window: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-05-paid", lambda: _tone(window) == sale_view.PAID)
            paid_id = window.sale.id if window.sale is not None else None
            shoot(customer, f"{tag}-customer-03-paid", lambda: _customer_result(customer) == "paid")
            sale(window, "99.05")
            scan(window, _code())
            wait(lambda window=window: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-06-declined",
                  lambda: _tone(window) == sale_view.DECLINED and window.view is not None and window.view.final)
            shoot(customer, f"{tag}-customer-04-not-paid", lambda: _customer_result(customer) == "not_paid")
            sale(window, "99.03")
            scan(window, _code())
            wait(lambda window=window, customer=customer: (
                window.view is not None and bool(window.view.waiting_for) and not window.view.final
                and _customer_result(customer) == "checking"))
            shoot(window, f"{tag}-cashier-07-waiting-for-customer",
                  lambda: window.view is not None and bool(window.view.waiting_for) and not window.view.final)
            shoot(customer, f"{tag}-customer-05-confirm-in-wallet", lambda: _customer_result(customer) == "checking")
            wait(lambda window=window: window.view is not None and window.view.final)
            # Checking: the outcome unknown, asked again. A payment that went through ends it at once (the
            # gateway's notification: 99.01's shot showed PAID), so here the gateway drops every request
            # unread: the pay's fate is unknown and the checks get no answer, until the cashier stops it.
            sim_faults(core, {"drop_before": 1.0})
            sale(window, "4.56")
            scan(window, _code())
            wait(lambda window=window: _checking(window))
            shoot(window, f"{tag}-cashier-08-checking", lambda: _checking(window))
            sim_faults(core, None)
            window.escape()
            wait(lambda window=window: window.view is not None and window.view.final)
            sale(window, "20.00", key=Qt.Key.Key_F2)
            wait(lambda customer=customer: customer.mode == "qr")
            shoot(window, f"{tag}-cashier-09-order-code", lambda: customer.mode == "qr" and not window.view.final)
            shoot(customer, f"{tag}-customer-06-qr", lambda: customer.mode == "qr")
            window.escape()
            wait(lambda window=window: window.view is not None and window.view.final)
            shoot(window, f"{tag}-cashier-10-cancelled",
                  lambda: _tone(window) == sale_view.DECLINED and window.view is not None and window.view.final)
            manager_screens(core, paid_id, tag, wait, shoot)
            slips.extend(receipt_slips(core, paid_id, tag, out, wait))
            technician = technician_screens(core, customer, tag, wait, shoot)
            store_screens(core, tag, wait, shoot)
            core.runtime.sim.stop()  # the gateway goes away: queued
            sale(window, "7.77")
            scan(window, _code())
            wait(lambda window=window: window.offline_bar.isVisible(), 10)
            shoot(window, f"{tag}-cashier-11-offline-queued", lambda: window.offline_bar.isVisible())
            shoot(customer, f"{tag}-customer-07-offline-amount", lambda: window.offline_bar.isVisible())
            customer.show_test_pattern()
            shoot(customer, f"{tag}-customer-08-test-pattern", lambda: customer.mode == "test")
            brand_screens(core, customer, tag, Path(scratch), shoot)
            technician.refresh_queue()
            wait(lambda technician=technician: technician.busy == 0 and technician.queue_table.rowCount() > 0, 10)
            technician.tabs.setCurrentIndex(3)
            shoot(technician, f"{tag}-technician-06-queue-waiting",
                  lambda: _tab(technician) == 3 and technician.queue_table.rowCount() > 0)
            technician.close()
            core.stop()
            window.close()
            customer.close()
        with tempfile.TemporaryDirectory(prefix="pos-shots-") as scratch:
            broken = Path(scratch) / "not-a-folder"
            broken.write_text("")
            core, window, customer = build(None, broken, scanners=False)
            window.resize(1280, 800)
            window.show()
            core.start()
            wait(lambda window=window: window.status_frame.property("tone") == "declined", 10)
            shoot(window, f"{tag}-cashier-12-start-failure", lambda: window.failed)
            core.stop()
            window.close()
            customer.close()
    for language in languages:
        walk(language)
    (out / "index.json").write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n")
    (out / "receipts.json").write_text(json.dumps(slips, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(shots)} screenshots in {out}", file=sys.stderr)
    app.quit()
    if untrue:
        print(f"pos-terminal screenshots: {len(untrue)} state(s) were not on screen when shot: {', '.join(untrue)}",
              file=sys.stderr)
        return 1
    return 0
