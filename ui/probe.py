"""Test hook: what is on screen, as JSON, for the end-to-end tests (tests/xkit.py).

Only when ``POS_TERMINAL_PROBE=<socket path>`` is set does ``ui.app.main`` import this module (like
``_bench_hook`` there, it is no part of the terminal's behaviour). It listens on that local socket; each
client that connects gets one JSON answer and the connection is closed. The tests drive the windows with
real X events only and read back here what a person would see: the visible windows, the visible widgets
in each with their words, focus and screen geometry, whether a widget is cut off, the screens, and
whether the core has started. It reads; it never changes a widget. ``pos-terminal screenshots`` records
each state's words with :func:`describe` too.
"""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QObject, QRect
from PySide6.QtNetwork import QLocalServer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QWidget,
)

MAX_ROWS = 200   # of a table: enough for any screen a test looks at, bounded for a big day


def _global_rect(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(widget.rect().topLeft()), widget.size())


def _rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def _item_view(view: QAbstractItemView) -> dict:
    model = view.model()
    if model is None:
        return {}
    rows, cols = min(model.rowCount(), MAX_ROWS), model.columnCount()
    from PySide6.QtCore import Qt
    headers = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(cols)]
    cells = [[str(model.data(model.index(r, c)) or "") for c in range(cols)] for r in range(rows)]
    viewport = view.viewport()
    shown = viewport.rect()
    where = {}   # the rows in sight: each cell's global rect, for a click on it
    for r in range(rows):
        rects = [view.visualRect(model.index(r, c)) for c in range(cols)]
        if any(rect.intersects(shown) for rect in rects):
            where[r] = [_rect(QRect(viewport.mapToGlobal(rect.topLeft()), rect.size())) for rect in rects]
    return {"headers": headers, "rows": cells, "row_count": model.rowCount(), "cell_geometry": where}


def _text(widget: QWidget) -> str | None:
    if isinstance(widget, (QLabel, QAbstractButton, QLineEdit)):
        return widget.text()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, (QPlainTextEdit, QTextEdit)):
        return widget.toPlainText()
    if isinstance(widget, QGroupBox):
        return widget.title()
    if isinstance(widget, QTabBar):
        return "\n".join(widget.tabText(i) for i in range(widget.count()))
    text = getattr(widget, "text", None)   # a widget that paints its own words (the customer display's)
    return text if isinstance(text, str) else None


def _clipped(widget: QWidget, window: QWidget, screen: QRect | None) -> bool:
    """Its rect is not wholly inside what its parents (up to and including the window) show, or not
    wholly on the window's screen: either way a person does not see all of it."""
    rect = _global_rect(widget)
    shown = rect if screen is None else rect.intersected(screen)
    parent = widget.parentWidget()
    while parent is not None:
        if parent.objectName() == "qt_scrollarea_viewport" and widget.parentWidget() is not parent:
            return False   # the content of a scroll area is meant to be scrolled (the viewport itself is checked)
        shown = shown.intersected(_global_rect(parent))
        if parent is window:
            break
        parent = parent.parentWidget()
    return shown != rect


def _widget(widget: QWidget, window: QWidget, screen: QRect | None, focus: QWidget | None) -> dict:
    entry = {"class": type(widget).__name__, "objectName": widget.objectName(),
             "enabled": widget.isEnabled(), "hasFocus": widget is focus,
             "geometry": _rect(_global_rect(widget)), "clipped": _clipped(widget, window, screen)}
    text = _text(widget)
    if text is not None:
        entry["text"] = text
    if isinstance(widget, QAbstractItemView) and not isinstance(widget, QHeaderView):   # a header: its table's
        entry.update(_item_view(widget))
    if isinstance(widget, QTabBar):
        entry["tabs"] = [widget.tabText(i) for i in range(widget.count())]
        entry["currentTab"] = widget.currentIndex()
    return entry


def describe(window: QWidget, area: QRect | None, focus: QWidget | None = None) -> dict:
    """A window and its visible widgets; ``area`` is the screen it is on (None: judge clipping by the
    parents only, as for a window rendered offscreen by ``pos-terminal screenshots``)."""
    screen = window.screen()
    widgets = [_widget(w, window, area, focus) for w in window.findChildren(QWidget)
               if w.isVisible() and w.window() is window]
    return {"title": window.windowTitle(), "class": type(window).__name__,
            "objectName": window.objectName(), "geometry": _rect(window.frameGeometry()),
            "active": window.isActiveWindow(), "fullScreen": window.isFullScreen(),
            "offScreen": area is not None and not area.contains(window.frameGeometry()),
            "screen": screen.name() if screen is not None else None,
            "text": _text(window), "widgets": widgets}


def snapshot(state: dict) -> dict:
    focus = QApplication.focusWidget()
    windows = []
    for window in QApplication.topLevelWidgets():
        if not window.isVisible():
            continue
        screen = window.screen()
        windows.append(describe(window, screen.geometry() if screen is not None else None, focus))
    return {"ready": state["ready"], "start_failed": state["start_failed"], "pid": os.getpid(),
            "windows": windows,
            "focus": None if focus is None else {"class": type(focus).__name__, "objectName": focus.objectName(),
                                                 "text": _text(focus), "window": focus.window().windowTitle()},
            "screens": [{"name": s.name(), "geometry": _rect(s.geometry()),
                         "primary": s is QApplication.primaryScreen()} for s in QApplication.screens()]}


def install(core, path: str) -> QObject:
    """Listen on ``path``; the returned server must be kept alive by the caller."""
    state: dict = {"ready": False, "start_failed": None}
    core.ready.connect(lambda _runtime: state.update(ready=True))
    core.start_failed.connect(lambda message, hint: state.update(start_failed=[message, hint]))
    QLocalServer.removeServer(path)
    server = QLocalServer()
    if not server.listen(path):
        raise RuntimeError(f"probe: cannot listen on {path}: {server.errorString()}")

    def answer() -> None:
        while server.hasPendingConnections():
            sock = server.nextPendingConnection()
            try:
                data = json.dumps(snapshot(state)).encode()
            except Exception as exc:   # noqa: BLE001 (a probe that fails says why to the test instead of hanging it)
                data = json.dumps({"error": repr(exc)}).encode()
            sock.write(data)
            sock.flush()
            sock.disconnected.connect(sock.deleteLater)
            sock.disconnectFromServer()

    server.newConnection.connect(answer)
    return server
