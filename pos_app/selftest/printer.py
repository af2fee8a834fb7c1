"""The receipt printer: its status in words (``printer``, internal level) and a printed test page
(``test-page``, external level: paper comes out of the machine).

No printer configured is not a failure (receipts are then PDF or PNG files): the check is skipped, saying
"none configured". A printer that is there but cannot print (offline, paper out, cover open) fails, in the
driver's words, which say what to do. The running till's print worker (``printing``) is used when the GUI
hands it in, so the printer is asked by the one thread that prints; headless, the printer is opened here,
and the test page is sent to it directly (no journal is written by a self-test).
"""

from __future__ import annotations

from ..config import Config
from ..errors import PosError
from ..i18n import N_, _
from .results import NO_CONFIG, Check, failed, passed, skipped

STATUS_WAIT = 30.0      # seconds the check waits for the worker's answer (the printer's own timeout is less)
NONE_DETAIL = N_("none configured: receipts are written as PDF or PNG files on request")
NONE_HINT = N_('to print receipts, set [printer] kind = "network", "usb" or "serial" and its address '
               "(`pos-terminal devices` lists the printers it finds)")


def check_printer(config: Config | None, printing=None) -> Check:
    """Ask the printer how it is: pass when it can print (a hint when the paper runs low)."""
    if config is None:
        return skipped("printer", _(NO_CONFIG))
    if config.printer.kind == "none":
        return skipped("printer", _(NONE_DETAIL), _(NONE_HINT))
    from ..printing import ask_status
    state = printing.status_now(STATUS_WAIT) if printing is not None else ask_status(config)
    where = _where(config)
    if state.ready:
        hint = _("have a new roll ready") if state.paper == "low" else ""
        return passed("printer", f"{where}: {state.status_words}", hint)
    words = state.status_words or _("Printer: not ready")
    return failed("printer", f"{where}: {words}",
                  _("then run the self-test again; `pos-terminal printer` says how it is now"))


def check_test_page(config: Config | None, printing=None, *, timeout: float = STATUS_WAIT) -> Check:
    """Print the test page (:func:`pos_app.slip.test_page`): through the till's worker when handed in
    (journaled), else straight to the printer."""
    if config is None:
        return skipped("test-page", _(NO_CONFIG))
    if config.printer.kind == "none":
        return skipped("test-page", _(NONE_DETAIL), _(NONE_HINT))
    from .. import slip
    from ..printing import TEST, Direct
    target = printing if printing is not None else Direct(config, None)
    try:
        result = target.print_now(slip.test_page(config), TEST, wait=timeout)
    except PosError as exc:
        return failed("test-page", exc.message, exc.hint or "")
    if result.ok:
        return passed("test-page", _("{where}: the test page was printed: check the ruler, the QR and the barcode "
                                     "on it").format(where=_where(config)))
    if result.state == "failed":
        return failed("test-page", _("{where}: the test page did not print: {reason}").format(
                          where=_where(config), reason=result.error), _("fix the printer, then run it again"))
    return failed("test-page", _("{where}: the printer did not finish the test page within {seconds} s").format(
                      where=_where(config), seconds=f"{timeout:g}"),
                  _("check the printer; the page is in the print journal and can be printed again"))


def _where(config: Config) -> str:
    p = config.printer
    return {"network": f"{p.host}:{p.port}", "usb": f"USB {p.usb_vendor:04x}:{p.usb_product:04x}",
            "serial": p.device}.get(p.kind, p.kind)
