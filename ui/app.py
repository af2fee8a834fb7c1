"""``pos-terminal`` with no command: the cashier window and the customer display.

With no configuration the terminal runs in sandbox mode (the embedded simulator, its own data in the
data directory) and the cashier screen says so in orange on every screen. Without a display it says
that plainly and exits, instead of letting Qt abort the process.
"""

from __future__ import annotations

import os
import sys

from pos_app.config import find_config_file, find_data_dir, load_config
from pos_app.i18n import _, language, set_language, system_language

EXIT_NO_DISPLAY = 2


def display_available() -> bool:
    """A Qt platform is set (offscreen, eglfs, linuxfb for a kiosk), or an X11 or Wayland display."""
    return bool(os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY")
                or os.environ.get("WAYLAND_DISPLAY"))


# What Qt's X11 plugin loads beyond Qt itself: the library (as the plugin names it) -> the Debian package.
XCB_LIBRARIES = {"libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
                 "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
                 "libxcb-render-util.so.0": "libxcb-render-util0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0"}


def missing_platform_library() -> str | None:
    """Qt aborts the process when its X11 plugin cannot load; the usual cause, told in words first.

    Each library is opened the way the plugin will open it a moment later (the dynamic loader, by the
    name the plugin asks for), not looked up with ``ctypes.util.find_library``, which runs
    ``ldconfig -p`` once per name: 20+ ms of start-up on every X11 start."""
    platform = os.environ.get("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "")
    if not platform.startswith("xcb"):
        return None
    import ctypes

    def loads(soname: str) -> bool:
        try:
            ctypes.CDLL(soname)
        except OSError:
            return False
        return True

    missing = [package for soname, package in XCB_LIBRARIES.items() if not loads(soname)]
    return " ".join(missing) or None


def money_locale() -> str:
    """The system's locale for money (a German store gets 1.234,56), or the screens' language's when
    the system says only "C"."""
    from PySide6.QtCore import QLocale

    name = QLocale.system().name()
    return name if name not in ("C", "") else {"zh_CN": "zh_CN"}.get(language(), "en_US")


def build(config_file, data_dir, *, scanners: bool = True, scanner_hub=None, locale_name: str | None = None):
    """The windows and the core, not yet started: what ``main`` runs and what tests drive."""
    from .bridge import Core
    from .cashier import CashierWindow
    from .customer import CustomerDisplay

    sandbox = config_file is None
    locale_name = locale_name or money_locale()
    core = Core(config_file, data_dir, scanners=scanners, scanner_hub=scanner_hub)
    customer = CustomerDisplay("", test_mark=sandbox, locale_name=locale_name)
    window = CashierWindow(core, customer, sandbox=sandbox, locale_name=locale_name)
    core.ready.connect(lambda runtime: customer.set_store_name(runtime.terminal.config.merchant.store_name))
    core.ready.connect(lambda runtime: customer.set_brand(runtime.terminal.config.brand))
    return core, window, customer


def main(args) -> int:
    config_file = find_config_file(getattr(args, "config", None))
    if config_file is not None:
        from pos_app import brand
        brand.check(load_config(config_file).brand)  # a broken file (or artwork) is told before any window opens
    data_dir = find_data_dir(getattr(args, "data_dir", None))
    set_language(getattr(args, "language", None) or system_language())
    if not display_available():
        print("pos-terminal: " + _("no display to open the cashier window on (DISPLAY and WAYLAND_DISPLAY are "
                                   "not set)") + "\n  → " +
              _("run it on the terminal's screen, or set QT_QPA_PLATFORM (e.g. eglfs for a kiosk); every "
                "operation also works without a display as a command: pos-terminal --help"), file=sys.stderr)
        return EXIT_NO_DISPLAY
    missing = missing_platform_library()
    if missing:
        print("pos-terminal: " + _("the display's Qt plugin needs system libraries that are not installed: "
                                   "{name}").format(name=missing) + "\n  → " +
              _("install it (e.g. sudo apt-get install {name}), or use the packaged terminal, which brings it")
              .format(name=missing), file=sys.stderr)
        return EXIT_NO_DISPLAY
    from pos_app.services.technician import start_window_log
    start_window_log(data_dir, bool(getattr(args, "verbose", False)))   # the till's log from its first start
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("pos-terminal")
    core, window, customer = build(config_file, data_dir, scanners=not getattr(args, "no_scanners", False))
    # The cashier window hears every key through an application-wide event filter (a wedge scanner types
    # into whichever widget has the focus). Left on while the windows are first laid out, polished and
    # painted, it made the window 40-60 ms later: PySide hands each of those hundreds of events to Python,
    # making the Python types of every class and event involved as it goes. No key reaches a window before
    # the event loop runs, so the filter is off for the first show and back on as the loop's first task.
    app.removeEventFilter(window)
    primary = QApplication.primaryScreen()   # a static: instance() above is typed as the core application
    if primary is not None:
        window.setGeometry(primary.availableGeometry())  # a kiosk has no window manager to maximise it
    if getattr(args, "kiosk", False):
        window.showFullScreen()   # the store's terminal: no title bar, nothing behind it to reach
    else:
        window.showMaximized()
    screen = getattr(args, "customer_screen", None)
    if not customer.place(screen) and screen is None:
        customer.hide()  # one screen: the cashier's window keeps it all; the QR shows there too
        window.customer_display_off()
    from PySide6.QtCore import QTimer
    QTimer.singleShot(0, lambda: app.installEventFilter(window))   # before any input is read
    _bench_hook(core, window)
    probe = _probe_hook(core)   # noqa: F841 (kept alive while the loop runs)
    QTimer.singleShot(0, core.start)  # after the first paint: the window is up before the payment stack loads
    try:
        return app.exec()
    finally:
        core.stop()


# -- test hook (tests/xkit.py) ----------------------------------------------------------------------
def _probe_hook(core):
    """Only with POS_TERMINAL_PROBE=<socket path> (the end-to-end tests): ui.probe answers there with what
    is on screen. Imported only then, so a terminal pays nothing for it."""
    path = os.environ.get("POS_TERMINAL_PROBE")
    if not path:
        return None
    from .probe import install
    return install(core, path)


# -- benchmark hook (benchmarks/bench_gui.py) -------------------------------------------------------
def _bench_hook(core, window) -> None:
    """Only with POS_TERMINAL_BENCH_READY=1 (benchmarks/bench_gui.py): ``READY`` once the window is shown
    and the event loop has gone idle (the cashier can type and scan), then ``CORE`` once the terminal is
    up (journal open, gateway client ready), or ``FAILED``. READY goes to stderr too, where it splits
    ``python -X importtime``'s lines into those before it and after it."""
    if os.environ.get("POS_TERMINAL_BENCH_READY") != "1":
        return
    from PySide6.QtCore import QTimer

    def ready() -> None:
        word = "READY" if window.isVisible() else "NOT READY"
        print(word, file=sys.stderr, flush=True)
        print(word, flush=True)

    QTimer.singleShot(0, ready)
    core.ready.connect(lambda _runtime: QTimer.singleShot(0, lambda: print("CORE", flush=True)))
    core.start_failed.connect(lambda *_words: print("FAILED", flush=True))
