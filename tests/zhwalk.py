"""Every text a person can see in each state of ``pos-terminal screenshots``, read from the live widgets.

Run as ``python tests/zhwalk.py OUT.json LANGUAGE`` (offscreen): it runs ``ui.screenshots.main`` in this
process, so the states are exactly the ones the screenshots command walks (its list, not a copy), and at
each shot it reads the shot window's visible widgets: labels, buttons, fields and their placeholders, group
and tab titles, combo box items, table headers and cells, text views, tooltips, the window title, and the
words a widget paints itself (caught as ``QPainter.drawText`` calls while the shot is rendered).

The seam is ``QWidget.grab``, which ``screenshots`` calls once per state and whose pixmap it saves under the
state's name: the walk runs there, before the pixels are taken, and is named by the file it is saved as.
Nothing on screen is changed. The JSON written is {"states": [{"state", "texts": [{"where", "text"}]}],
"misses": [the texts ``_()`` was given and the catalogue lacks], "error": the traceback if the run broke off};
``where`` names the widget by the attribute its window keeps it in (``ManagerWindow.day_table``), a table
cell by its column's English header, so exemptions read the same in every language.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_ROWS = 50   # of a table: its words repeat; a day's worth of rows adds nothing


def _plain(text: str) -> str:
    """Rich text as the words it shows (a label or tooltip may hold HTML)."""
    from PySide6.QtGui import Qt, QTextDocument  # QtGui's Qt namespace has mightBeRichText

    if text and Qt.mightBeRichText(text):
        doc = QTextDocument()
        doc.setHtml(text)
        return doc.toPlainText()
    return text


def _names(window) -> dict[int, str]:
    """id(widget) -> the attribute that holds it on its window, or its objectName."""
    from PySide6.QtWidgets import QWidget

    names: dict[int, str] = {}
    for attr, value in vars(window).items():
        if isinstance(value, QWidget):
            names.setdefault(id(value), attr)
    for child in window.findChildren(QWidget):
        if id(child) not in names and child.objectName() and not child.objectName().startswith("qt_"):
            names[id(child)] = child.objectName()
    return names


def _where(widget, window, names: dict[int, str]) -> str:
    """The widget's name, or its nearest named ancestor's plus its class."""
    prefix = type(window).__name__
    if widget is window:
        return prefix
    if id(widget) in names:
        return f"{prefix}.{names[id(widget)]}"
    parent = widget.parentWidget()
    while parent is not None and parent is not window and id(parent) not in names:
        parent = parent.parentWidget()
    owner = prefix if parent is None or parent is window else f"{prefix}.{names[id(parent)]}"
    return f"{owner}/{type(widget).__name__}"


def widget_texts(window, english: dict[str, str]) -> list[dict]:
    """The texts of ``window`` and of its visible widgets; ``english`` maps a translation to its source (to
    name a table column by its English header)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QAbstractSpinBox,
        QComboBox,
        QGroupBox,
        QHeaderView,
        QLabel,
        QLineEdit,
        QPlainTextEdit,
        QSpinBox,
        QTabBar,
        QTableView,
        QTextEdit,
        QWidget,
    )

    names = _names(window)
    found: list[dict] = []

    def add(where: str, text) -> None:
        if isinstance(text, str) and text.strip():
            found.append({"where": where, "text": _plain(text)})

    add(f"{type(window).__name__}:title", window.windowTitle())
    widgets = [window] + [w for w in window.findChildren(QWidget) if w.isVisible() and w.window() is window]
    for w in widgets:
        where = _where(w, window, names)
        add(f"{where}:tooltip", w.toolTip())
        if isinstance(w, (QLabel, QAbstractButton)):
            add(where, w.text())
        elif isinstance(w, QLineEdit):
            if isinstance(w.parentWidget(), (QAbstractSpinBox, QComboBox)):
                continue   # the spin box's or combo box's own words are read there
            add(where, w.text())
            if not w.text():
                add(f"{where}:placeholder", w.placeholderText())
        elif isinstance(w, QComboBox):
            for i in range(w.count()):
                add(f"{where}:item", w.itemText(i))
            if w.isEditable():
                add(where, w.currentText())
        elif isinstance(w, QAbstractSpinBox):
            add(where, w.text())
            if isinstance(w, QSpinBox):
                add(f"{where}:special", w.specialValueText())
        elif isinstance(w, (QPlainTextEdit, QTextEdit)):
            add(where, w.toPlainText())
            if not w.toPlainText():
                add(f"{where}:placeholder", w.placeholderText())
        elif isinstance(w, QGroupBox):
            add(where, w.title())
        elif isinstance(w, QTabBar):
            for i in range(w.count()):
                add(f"{where}:tab", w.tabText(i))
        elif isinstance(w, QAbstractItemView) and not isinstance(w, QHeaderView) and w.model() is not None:
            model = w.model()
            for c in range(model.columnCount()):
                if isinstance(w, QTableView) and w.isColumnHidden(c):
                    continue
                header = str(model.headerData(c, Qt.Orientation.Horizontal) or "")
                add(f"{where}:header", header)
                column = english.get(header, header)
                for r in range(min(model.rowCount(), MAX_ROWS)):
                    value = model.data(model.index(r, c))
                    add(f"{where}[{column}]", "" if value is None else str(value))
                    add(f"{where}[{column}]:tooltip",
                        str(model.data(model.index(r, c), Qt.ItemDataRole.ToolTipRole) or ""))
    return found


def walk(out: Path, language: str) -> dict:
    """Run the screenshots into ``out``; each state's texts, in the order they were shot, and the texts
    ``_()`` found no translation for."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.pop("DISPLAY", None)
    os.environ.pop("WAYLAND_DISPLAY", None)
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QWidget

    from pos_app import i18n
    from ui import screenshots

    painted: list[str] = []
    states: list[dict] = []
    draw_text, grab = QPainter.drawText, QWidget.grab

    def recording_draw_text(painter, *args):
        painted.extend(arg for arg in args if isinstance(arg, str))
        return draw_text(painter, *args)

    class Shot:
        """The pixmap a shot saves: saving it names the state the walk was taken in."""

        def __init__(self, pixmap, texts: list[dict]) -> None:
            self.pixmap, self.texts = pixmap, texts

        def save(self, path, *args):
            states.append({"state": Path(str(path)).stem, "texts": self.texts})
            return self.pixmap.save(path, *args)

        def __getattr__(self, name):
            return getattr(self.pixmap, name)

    english: dict[str, str] = {}

    def walking_grab(widget, *args):
        if i18n.language() != "en" and not english:
            english.update((entry.string, entry.id) for entry in i18n.read_catalogue(i18n.language()) if entry.id)
        texts = widget_texts(widget, english)
        painted.clear()
        pixmap = grab(widget, *args)   # paints the widget: its drawText calls are recorded
        where = f"{type(widget).__name__}:painted"
        texts += [{"where": where, "text": text} for text in dict.fromkeys(painted) if text.strip()]
        painted.clear()
        return Shot(pixmap, texts)

    misses: dict[str, None] = {}

    class Misses:
        """gettext's fallback: what ``_()`` was asked for and the catalogue lacks (English shown)."""

        def gettext(self, message: str) -> str:
            misses[message] = None
            return message

    set_language = i18n.set_language

    def recording_set_language(code):
        chosen = set_language(code)
        i18n._translations.add_fallback(Misses())
        return chosen

    QPainter.drawText = recording_draw_text
    QWidget.grab = walking_grab
    i18n.set_language = recording_set_language   # screenshots.main imports it when it runs
    error = None
    try:
        # one size is enough: the words are the same at every size (the fit is the screenshots' own check)
        sizes = getattr(screenshots, "SIZES", None)
        screenshots.main(out, [language], **({"sizes": sizes[:1]} if sizes else {}))
    except Exception:   # noqa: BLE001 -- the states walked so far are still worth checking; the test fails on it
        error = traceback.format_exc()
    finally:
        QPainter.drawText, QWidget.grab, i18n.set_language = draw_text, grab, set_language
    return {"states": states, "misses": list(misses), "error": error}


if __name__ == "__main__":
    result, lang = Path(sys.argv[1]), sys.argv[2]
    shots = walk(result.parent / "png", lang)
    result.write_text(json.dumps(shots, ensure_ascii=False, indent=1), encoding="utf-8")
