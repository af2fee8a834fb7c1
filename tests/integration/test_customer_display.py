"""The customer display: what it shows on each screen, that its QR codes scan, the countdown, the test
pattern, the sandbox mark and where the window goes (money per locale and the time left, on values alone,
are unit/test_display_words.py's)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sys
import time

import pytest
import zxingcpp
from kit import usd
from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractButton, QLineEdit

from pos_app.money import Money
from pos_app.sale_view import CustomerView
from ui.customer import CustomerDisplay
from ui.money import NBSP
from ui.qr import QrWidget, qr_image


def _none_leaks() -> bool:
    """PySide6 6.12.0 on Python 3.11 returns ``None`` from every void method without a new reference:
    each call takes one from ``None``, and after a few thousand calls the interpreter aborts with
    "none_dealloc: deallocating None". 6.11.3 does not; on Python 3.12+ ``None`` is immortal."""
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(50):
        timer.stop()
    return sys.getrefcount(None) - before <= -40


def test_the_installed_pyside6_keeps_none_alive():
    """pyproject excludes 6.12.0 for this; the check keeps the exclusion honest."""
    assert sys.version_info >= (3, 12) or not _none_leaks(), f"PySide6 {PYSIDE_VERSION} leaks None references"

PAYLOAD = "https://qr.alipay.com/bax03456xyzw7kpq1c2e6049"
STORE = "Lotus Tea House"
GRAY = QImage.Format.Format_Grayscale8


def decode(image: QImage) -> list[str]:
    return [code.text for code in zxingcpp.read_barcodes(image.convertToFormat(GRAY))]


@pytest.fixture
def display(qtbot):
    widget = CustomerDisplay(STORE, locale_name="en_US")
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def qr_view(expires_in: float | None = 299.5, payload: str = PAYLOAD, amount: Money | None = None) -> CustomerView:
    return CustomerView("qr", amount or usd(2000), qr=payload,
                        expires_at=None if expires_in is None else time.time() + expires_in,
                        message="Scan with your wallet app to pay")


def shown_texts(widget: CustomerDisplay) -> set[str]:
    return {child.text for child in widget.findChildren(object)
            if hasattr(child, "fit") and not child.isHidden() and child.text}


# --- QR codes ---------------------------------------------------------------------------------------------

def test_qr_image_decodes_and_is_centred_on_white():
    image = qr_image(PAYLOAD, 400)
    assert image.width() == image.height() == 400
    assert decode(image) == [PAYLOAD]
    assert image.pixelColor(0, 0).lightness() == 255 and image.pixelColor(399, 399).lightness() == 255
    with pytest.raises(ValueError):
        qr_image(PAYLOAD, 20)


def test_short_payloads_are_full_qr_codes_not_micro_qr():
    assert [c.format for c in zxingcpp.read_barcodes(qr_image("1", 200).convertToFormat(GRAY))] == \
        [zxingcpp.BarcodeFormat.QRCode]


def test_qr_widget_scales_by_whole_modules_with_a_quiet_zone(qtbot):
    widget = QrWidget(payload=PAYLOAD)
    qtbot.addWidget(widget)
    widget.resize(500, 300)
    assert widget.payload == PAYLOAD
    n = widget.module_count
    assert widget.module_size() == 300 // n
    rect = widget.symbol_rect()
    assert rect.width() == rect.height() == n * (300 // n)
    assert abs(rect.center().x() - 250) <= 1 and abs(rect.center().y() - 150) <= 1
    image = widget.grab().toImage()
    assert decode(image) == [PAYLOAD]
    inside = rect.topLeft()
    assert image.pixelColor(inside.x() + 1, inside.y() + 1).lightness() == 255          # quiet zone
    module = widget.module_size()
    finder = (inside.x() + 4 * module + module // 2, inside.y() + 4 * module + module // 2)
    assert image.pixelColor(*finder).lightness() == 0                                     # crisp black
    widget.set_payload(None)
    assert widget.payload is None and widget.module_count == 0
    assert decode(widget.grab().toImage()) == []


# --- screens ----------------------------------------------------------------------------------------------

def test_idle_shows_the_store_name_and_a_welcome(display):
    assert display.mode == "idle"
    assert display.headline_text == STORE
    assert display.amount_text == "" and display.countdown_text == "" and display.qr_payload is None
    assert shown_texts(display) == {STORE, "Welcome!"}


def test_amount_view_shows_the_formatted_amount(display):
    display.show_view(CustomerView("amount", usd(123456), message="Amount due"))
    assert display.mode == "amount"
    assert display.amount_text == f"USD{NBSP}1,234.56"
    assert display.headline_text == "Amount due"
    assert display.qr_payload is None and not display.qr_widget.isVisible()
    assert decode(display.grab().toImage()) == []


def test_amount_follows_the_display_locale(qtbot):
    widget = CustomerDisplay(STORE, locale_name="de_DE")
    qtbot.addWidget(widget)
    widget.show_view(CustomerView("amount", Money(123456, "EUR"), message="Amount due"))
    assert widget.amount_text == f"1.234,56{NBSP}EUR"


def test_qr_view_shows_a_scannable_code_the_amount_and_a_countdown(display):
    display.show_view(qr_view(299.5))
    assert display.mode == "qr"
    assert display.qr_payload == PAYLOAD
    assert display.amount_text == f"USD{NBSP}20.00"
    assert display.headline_text == "Scan with your wallet app to pay"
    assert display.countdown_text == "Expires in 5:00"
    assert decode(display.qr_widget.grab().toImage()) == [PAYLOAD]
    assert decode(display.grab().toImage()) == [PAYLOAD]          # what a phone sees: the whole screen
    assert display.qr_widget.module_size() >= 10                   # large: scannable across the counter
    assert display.geometry().contains(display.qr_widget.geometry())


def test_countdown_ticks_then_the_code_expires_and_disappears(display, qtbot):
    display.show_view(qr_view(2.5))
    assert display.countdown_text == "Expires in 0:03"
    qtbot.waitUntil(lambda: display.countdown_text == "Expires in 0:02", timeout=2000)
    assert display.qr_payload == PAYLOAD
    qtbot.waitUntil(lambda: display.countdown_text == "This code has expired", timeout=4000)
    assert display.mode == "qr"
    assert display.qr_payload is None
    assert display.qr_widget.isHidden()
    assert decode(display.grab().toImage()) == []
    assert display.amount_text == f"USD{NBSP}20.00"


def test_a_code_already_expired_is_never_shown(display):
    display.show_view(qr_view(-1))
    assert display.qr_payload is None and display.countdown_text == "This code has expired"
    assert decode(display.grab().toImage()) == []


def test_a_code_without_expiry_has_no_countdown(display):
    display.show_view(qr_view(None))
    assert display.qr_payload == PAYLOAD and display.countdown_text == ""


def test_leaving_the_qr_screen_stops_the_countdown(display, qtbot):
    display.show_view(qr_view(1.2))
    display.show_view(CustomerView("result", usd(2000), result="paid", message="Thank you! Payment received."))
    qtbot.wait(1500)
    assert display.mode == "result" and display.countdown_text == "" and display.qr_payload is None


@pytest.mark.parametrize(("result", "message"), [
    ("paid", "Thank you! Payment received."),
    ("not_paid", "The payment did not go through."),
    ("checking", "Checking your payment, please wait"),
])
def test_result_views_show_the_views_message_and_nothing_more(display, result, message):
    display.show_view(CustomerView("result", usd(2000), result=result, message=message))
    assert display.mode == "result" and display.result == result
    assert display.headline_text == message
    assert display.qr_payload is None
    assert shown_texts(display) == {STORE, message, f"USD{NBSP}20.00"}


def test_a_qr_view_without_a_code_shows_the_amount_without_scan_wording(display):
    display.show_view(CustomerView("qr", usd(2000), qr=None, message="Scan with your wallet app to pay"))
    assert display.mode == "amount" and display.qr_payload is None
    assert display.headline_text == "Amount due"


def test_an_unknown_view_mode_is_refused(display):
    with pytest.raises(ValueError):
        display.show_view(CustomerView("receipt", usd(1)))


def test_test_pattern_has_a_scannable_code_and_the_sizes(display):
    display.show_test_pattern()
    assert display.mode == "test"
    payload = display.qr_payload
    assert payload is not None and payload.startswith("POS-TERMINAL TEST ")
    assert decode(display.test_pattern_qr.grab().toImage()) == [payload]
    assert decode(display.grab().toImage()) == [payload]
    lines = display._pattern.info_lines()
    assert any("Window: 1280 x 800" in line for line in lines)
    assert any(line.startswith("Screen: ") for line in lines)
    display.show_idle()
    assert display.qr_payload is None and display.headline_text == STORE


def test_the_test_mark_only_when_asked(qtbot, display):
    assert not display.test_mark_visible
    marked = CustomerDisplay(STORE, test_mark=True)
    qtbot.addWidget(marked)
    marked.resize(1280, 800)
    marked.show()
    qtbot.waitExposed(marked)
    assert marked.test_mark_visible
    mark = marked._mark.geometry()
    assert mark.height() < 800 * 0.1 and mark.width() < 1280 * 0.15      # small
    assert mark.right() > 1280 * 0.8 and mark.top() < 800 * 0.1          # in the top right corner
    marked.show_view(qr_view())
    assert not mark.intersects(marked.qr_widget.geometry())
    assert decode(marked.grab().toImage()) == [PAYLOAD]


def test_no_staff_controls_no_cursor_no_focus(display):
    assert display.findChildren(QAbstractButton) == [] and display.findChildren(QLineEdit) == []
    assert display.cursor().shape() == Qt.CursorShape.BlankCursor
    assert display.windowFlags() & Qt.WindowType.WindowDoesNotAcceptFocus
    assert display.focusPolicy() == Qt.FocusPolicy.NoFocus


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080), (800, 480), (480, 800), (1024, 768), (320, 200)])
def test_everything_fits_the_window(qtbot, size):
    widget = CustomerDisplay("The Very Long Name of a Neighbourhood Tea and Noodle House", test_mark=True,
                             locale_name="en_US")
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    window = QRect(0, 0, *size)
    screens = [widget.show_idle,
               lambda: widget.show_view(CustomerView("amount", usd(999_999_999_999), message="Amount due")),
               lambda: widget.show_view(qr_view(amount=usd(999_999_999_999))),
               lambda: widget.show_view(CustomerView("result", usd(1), result="checking",
                                                     message="Please confirm the payment in your wallet"))]
    for show in screens:
        show()
        blocks = [c for c in widget.findChildren(object) if hasattr(c, "fit") and not c.isHidden()]
        for block in blocks:
            assert window.contains(block.geometry()), (show, block.text, block.geometry())
        for a in blocks:
            for b in blocks:
                assert a is b or not a.geometry().intersects(b.geometry()), (a.text, b.text)
        if widget.mode == "qr":
            assert window.contains(widget.qr_widget.geometry())
            assert decode(widget.grab().toImage()) == [PAYLOAD]


def test_fonts_scale_with_the_window_height(qtbot):
    widget = CustomerDisplay(STORE, locale_name="en_US")
    qtbot.addWidget(widget)
    widget.show_view(CustomerView("amount", usd(2000), message="Amount due"))
    widget.resize(1600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    small = widget._amount.pixel_size
    widget.resize(1600, 1000)
    assert widget._amount.pixel_size > small * 2


# --- where the window goes --------------------------------------------------------------------------------

def test_with_one_screen_it_is_a_normal_window_not_full_screen(qtbot):
    from PySide6.QtGui import QGuiApplication
    assert len(QGuiApplication.screens()) == 1
    widget = CustomerDisplay(STORE)
    qtbot.addWidget(widget)
    assert widget.place() is False
    assert widget.isVisible() and not widget.isFullScreen()
    available = QGuiApplication.primaryScreen().availableGeometry()
    assert widget.width() <= available.width() // 2 + 1 or widget.width() == widget.minimumWidth()
    assert available.contains(widget.geometry())


def test_a_configured_screen_is_full_screen_and_a_missing_one_falls_back(qtbot, caplog):
    widget = CustomerDisplay(STORE)
    qtbot.addWidget(widget)
    assert widget.place(0) is True
    assert widget.isFullScreen()
    assert widget.place(3) is False
    assert not widget.isFullScreen()
    assert "screen 3 is not connected" in caplog.text
