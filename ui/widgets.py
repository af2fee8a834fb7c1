"""Small widget builders the manager and technician screens share: one look for buttons, tables and
message lines, and the way a mode's window sits over the till and goes back to it."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from pos_app.i18n import _

TOUCH = 48   # the touch minimum for anything a finger presses
BACK = "back"   # the objectName of a mode window's way back to the till


def button(text: str) -> QPushButton:
    widget = QPushButton(text)
    widget.setMinimumHeight(TOUCH)
    return widget


def title(text: str) -> QLabel:
    """A mode window's name at its top left: bold, a third larger than the text below it."""
    label = QLabel(text)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.3)
    font.setBold(True)
    label.setFont(font)
    return label


def message_line(lines: int = 2) -> QLabel:
    """A status line of a fixed height: a message, long or short, or none, never moves what is below it."""
    label = QLabel("")
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 4)
    return label


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


def confirm_box(parent: QWidget, text: str, yes: str | None = None) -> bool:
    """A question whose default is No: Enter or Esc answers No; only Yes (or its words) goes on. The box is
    named ``confirm``, its buttons ``yes`` and ``no`` (the end-to-end tests click them)."""
    box = QMessageBox(QMessageBox.Icon.Question, _("Please confirm"), text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName("confirm")
    box.button(QMessageBox.StandardButton.Yes).setText(yes or _("Yes"))
    box.button(QMessageBox.StandardButton.No).setText(_("No, go back"))
    for which in (QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No):
        box.button(which).setMinimumHeight(TOUCH)
    box.button(QMessageBox.StandardButton.Yes).setObjectName("yes")
    box.button(QMessageBox.StandardButton.No).setObjectName("no")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    answer = box.exec()
    parent.activateWindow()   # no window manager hands the keyboard back when the box closes
    return answer == QMessageBox.StandardButton.Yes


def the_till(other: QWidget | None = None) -> QWidget | None:
    """The window a mode's window or the PIN dialog goes back to: the active one, else the application's
    main window. Without a window manager nothing may be active (the X focus falls to the root window when
    a dialog closes), so the active window alone is not enough."""
    active = QApplication.activeWindow()
    if active is not None and active is not other and not isinstance(active, QDialog):
        return active
    return next((w for w in QApplication.topLevelWidgets()
                 if isinstance(w, QMainWindow) and w.isVisible() and w is not other), None)


class ModeWindow(QWidget):
    """A mode's window over the till (the manager's, the technician's).

    In a kiosk there is no window manager: nothing places the window, raises it, gives it the keyboard or
    closes it. So the window covers the till's screen as the till does (full screen when the till is),
    Esc and a visible "Back to the till" button (:meth:`back_button`) close it, and on closing, however it
    is closed, the till is raised and gets the keyboard back. ``opener`` is the till (:func:`the_till`
    when this one is first shown, unless set before).
    """

    opener: QWidget | None = None

    def back_button(self) -> QPushButton:
        """The way back, named ``back`` (the end-to-end tests click it), with Esc as its key."""
        widget = button(_("Back to the till") + "  (Esc)")
        widget.setObjectName(BACK)
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        widget.clicked.connect(self.back)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.back)   # the window's: not while a box is open
        return widget

    def back(self) -> None:
        self.close()

    def setVisible(self, visible: bool) -> None:
        if visible and not self.isVisible():
            self._cover_the_till()
        super().setVisible(visible)

    def _cover_the_till(self) -> None:
        if self.opener is None:
            self.opener = the_till(self)
        opener = self.opener
        screen = (opener.screen() if opener is not None else None) or self.screen()
        if opener is not None and opener.isFullScreen():
            self.setGeometry(screen.geometry())
            self.setWindowState(self.windowState() | Qt.WindowState.WindowFullScreen)
        elif opener is not None and opener.isMaximized():
            self.setGeometry(screen.availableGeometry())
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        else:   # over the till as it is, but never larger than the screen (the till may have outgrown it)
            area = screen.availableGeometry()
            self.setGeometry(opener.geometry().intersected(area) if opener is not None else
                             QRect(self.pos(), self.size()).intersected(area))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.raise_()
        self.activateWindow()   # no window manager gives it the keyboard: without this Esc reached nothing

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.give_back()

    def give_back(self) -> None:
        """The till again, with the keyboard (no window manager hands it back in a kiosk)."""
        opener = self.opener
        if opener is not None and opener.isVisible():
            opener.raise_()
            opener.activateWindow()
