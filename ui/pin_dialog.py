"""The PIN that opens the manager's (or the technician's) mode, and hands the window its Grant.

The PIN is checked by :func:`pos_app.services.unlock` on a worker (scrypt costs about 50 ms a try, and
the journal is disk): the dialog never waits. A wrong PIN says so with the tries left, or how long the
mode is locked, and the dialog stays open. When no PIN is set yet, the service decides
(:func:`pos_app.services.registry.pin_entry`): in sandbox mode the dialog asks for a first one twice and
sets it (the ``pin_set`` use case), which opens the mode too; on a live terminal it says how the PIN is
set (``pos-terminal pin set``, ``pos-terminal setup``) and refuses, so the PIN is not whoever presses the
key first. Once accepted, ``grant`` is the sealed :class:`~pos_app.services.Grant` every action of the
mode's window is taken with.
"""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from pos_app import services
from pos_app.i18n import _

from .operations import error_text

TOUCH = 56   # keypad keys: above the 48 px touch minimum

CHECKING, VERIFY, SET, REFUSED = "checking", "verify", "set", "refused"


class PinDialog(QDialog):
    """``PinDialog(core, role)``: ``exec()`` (or ``open()`` and ``accepted``) is accepted once the PIN is
    right, or once a first PIN has been set; ``grant`` then holds the role's Grant, asked by
    ``asked_by``. ``core`` is a started :class:`ui.bridge.Core`."""

    def __init__(self, core, role: str = "manager", parent=None, *, keypad: bool = True,
                 asked_by: str = "cashier") -> None:
        super().__init__(parent)
        self.core, self.role, self.asked_by = core, role, asked_by
        self.grant: services.Grant | None = None
        self.mode = CHECKING
        self.busy = False
        self.setWindowTitle(_("{role} PIN").format(role=services.registry.role_words(role)))
        self.setModal(True)
        self.setMinimumWidth(340)
        layout = QVBoxLayout(self)
        self.prompt = QLabel(_("Checking…"))
        self.prompt.setWordWrap(True)
        layout.addWidget(self.prompt)
        validator = QRegularExpressionValidator(QRegularExpression("[0-9]{0,12}"), self)
        self.pin_edit = self._pin_field(validator)
        layout.addWidget(self.pin_edit)
        self.again_label = QLabel(_("The same PIN again"))
        self.again_edit = self._pin_field(validator)
        layout.addWidget(self.again_label)
        layout.addWidget(self.again_edit)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.message.setMinimumHeight(3 * self.message.fontMetrics().lineSpacing())   # a message never moves the keys
        layout.addWidget(self.message)
        self.keys: list[QPushButton] = []
        if keypad:
            layout.addLayout(self._keypad())
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton(_("Cancel"))
        self.ok_button = QPushButton(_("OK"))
        self.ok_button.setDefault(True)
        for button in (self.cancel_button, self.ok_button):
            button.setMinimumHeight(TOUCH)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button.clicked.connect(self.submit)
        for widget, name in ((self.pin_edit, "pin"), (self.again_edit, "pin_again"), (self.message, "pin_message"),
                             (self.prompt, "pin_prompt"), (self.ok_button, "pin_ok"),
                             (self.cancel_button, "pin_cancel")):
            widget.setObjectName(name)   # what the end-to-end tests find them by, in any language
        self.pin_edit.returnPressed.connect(self._enter)
        self.again_edit.returnPressed.connect(self.submit)
        self._show_mode()
        self.core.call(services.registry.pin_entry, self.core.terminal.journal, role, sandbox=self._sandbox(),
                       on_done=self._checked, on_error=self._refused)

    @classmethod
    def ask(cls, core, role: str, parent=None, *, asked_by: str = "cashier") -> services.Grant | None:
        """Show the dialog modally; the Grant once the PIN is right (or first set), None if cancelled."""
        dialog = cls(core, role, parent, asked_by=asked_by)
        return dialog.grant if dialog.exec() else None

    def _sandbox(self) -> bool:
        runtime = getattr(self.core, "runtime", None)
        return bool(runtime is not None and runtime.sandbox)

    def done(self, result: int) -> None:
        """Closed either way: the till gets the keyboard back (in a kiosk no window manager hands it back;
        the X focus would fall to the root window). An opened mode's window then takes it from there."""
        super().done(result)
        till = self.parentWidget()
        if till is not None and till.isVisible():
            till.activateWindow()

    def _pin_field(self, validator) -> QLineEdit:
        edit = QLineEdit()
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setValidator(validator)
        edit.setMaxLength(12)
        edit.setMinimumHeight(TOUCH)
        edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return edit

    def _keypad(self) -> QGridLayout:
        grid = QGridLayout()
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "C"]
        for i, key in enumerate(keys):
            button = QPushButton(key)
            button.setMinimumSize(TOUCH, TOUCH)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, k=key: self._key(k))
            self.keys.append(button)
            grid.addWidget(button, i // 3, i % 3)
        return grid

    def _key(self, key: str) -> None:
        edit = self.again_edit if self.again_edit.hasFocus() else self.pin_edit
        if key == "⌫":
            edit.backspace()
        elif key == "C":
            edit.clear()
        elif len(edit.text()) < 12:
            edit.insert(key)

    # -- state ----------------------------------------------------------------------------------
    def _checked(self, entry: str) -> None:
        self.mode = VERIFY if entry == services.registry.VERIFY else SET
        self._show_mode()

    def _refused(self, exc: Exception) -> None:
        """No PIN, and none may be chosen here: say how it is set, and offer only the way back."""
        self.mode = REFUSED
        self._show_mode()
        self.prompt.setText(error_text(exc))
        self.message.setText("")

    def _show_mode(self) -> None:
        first, refused = self.mode == SET, self.mode == REFUSED
        self.again_label.setVisible(first)
        self.again_edit.setVisible(first)
        self.pin_edit.setVisible(not refused)
        for key in self.keys:
            key.setVisible(not refused)
        self.ok_button.setVisible(not refused)
        self.cancel_button.setText(_("Back to the till") if refused else _("Cancel"))
        self.ok_button.setEnabled(self.mode != CHECKING and not self.busy)
        role = services.registry.role_words(self.role)
        if self.mode == VERIFY:
            self.prompt.setText(_("Enter the {role} PIN").format(role=role))
        elif first:
            self.prompt.setText(_("No {role} PIN is set yet (sandbox mode): choose one (4 to 12 digits) and "
                                  "enter it twice").format(role=role))
        if refused:
            self.cancel_button.setDefault(True)
            self.cancel_button.setFocus()
        else:
            self.pin_edit.setFocus()

    def _enter(self) -> None:
        if self.mode == SET and not self.again_edit.text():
            self.again_edit.setFocus()
        else:
            self.submit()

    def submit(self) -> None:
        """OK: verify the PIN, or set the first one (what the OK button and Enter do); either way the
        worker comes back with the role's Grant."""
        if self.busy or self.mode in (CHECKING, REFUSED):
            return
        pin, role, asked_by, journal = self.pin_edit.text(), self.role, self.asked_by, self.core.terminal.journal
        sandbox = self._sandbox()
        if self.mode == SET:
            if pin != self.again_edit.text():
                self._say(_("the two PINs differ; nothing was changed"))
                self.again_edit.clear()
                return

            def work():
                services.registry.first_pin_here(role, sandbox=sandbox)   # the service's rule, again
                services.technician.pin_set(services.counter(asked_by), journal, role, pin)
                return services.unlock(journal, role, pin, asked_by=asked_by)
        else:
            def work():
                return services.unlock(journal, role, pin, asked_by=asked_by)
        self.busy = True
        self.ok_button.setEnabled(False)
        self.message.setText(_("Checking…"))
        self.core.call(work, on_done=self._passed, on_error=self._failed)

    def _passed(self, grant: services.Grant) -> None:
        self.busy = False
        self.grant = grant
        self.message.setText("")
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        if self.mode == CHECKING:
            self.mode = VERIFY
        self._show_mode()
        self._say(error_text(exc))
        self.pin_edit.clear()
        self.again_edit.clear()

    def _say(self, text: str) -> None:
        self.message.setText(text)
