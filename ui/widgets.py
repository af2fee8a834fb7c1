"""Small widget builders the manager and technician screens share: one look for buttons and tables."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem

TOUCH = 48   # the touch minimum for anything a finger presses


def button(text: str) -> QPushButton:
    widget = QPushButton(text)
    widget.setMinimumHeight(TOUCH)
    return widget


def table(headers: list[str]) -> QTableWidget:
    """Read-only rows, whole-row selection, the last column taking the spare width."""
    widget = QTableWidget(0, len(headers))
    widget.setHorizontalHeaderLabels(headers)
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    widget.verticalHeader().setVisible(False)
    widget.setWordWrap(True)
    header = widget.horizontalHeader()
    for i in range(len(headers) - 1):
        header.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
    return widget


def cell(text, colour: str | None = None, *, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    if colour:
        item.setForeground(QColor(colour))
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item
