"""The Alipay+ brand rules on the customer display (issue 16, part 2), in-process (pytest-qt, offscreen):
the mark (or the words "Alipay+") in the payment zone and on the order-code and entry-code pages, the
order code with an icon in its centre that zxing-cpp still decodes (level H, read from segno's own
symbol), a bad artwork file that never breaks the display, and the technician's branded samples.

The artwork is synthetic (tests/brandkit.py): a plain "+" and a stand-in mark, each in an ink the display
never uses, so the tests find them by colour in the grabbed pixels."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import logging
import time

import pytest
import zxingcpp
from brandkit import ICON_INK, MARK_INK, mark_png, plus_png
from kit import usd
from PIL import Image
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage

from pos_app import services
from pos_app.config import BrandConfig
from pos_app.i18n import set_language
from pos_app.money import Money
from pos_app.sale_view import CustomerView
from ui.customer import CustomerDisplay
from ui.money import NBSP
from ui.qr import qimage, qr_image

STORE = "Lotus Tea House"
ORDER_CODE = "https://qr.alipay.com/bax03456xyzw7kpq1c2e6049"
ENTRY_CODE = "https://qr.alipay.com/ems0xd1m7kpq2c0r8n3vbtzq"   # static: no expiry; the customer types the amount
NEUTRAL_INK = (40, 40, 40)                                     # pos_app.brand.neutral_icon's plus


def decode(image: QImage) -> list[str]:
    return [code.text for code in zxingcpp.read_barcodes(image.convertToFormat(QImage.Format.Format_Grayscale8))]


def ink_box(image: QImage, area: QRect, ink: tuple[int, int, int], slack: int = 6) -> QRect:
    """The bounding box of the pixels of ``ink`` (± slack) inside ``area``; an empty QRect if none."""
    left = top = 10**9
    right = bottom = -1
    for y in range(area.top(), area.bottom() + 1):
        for x in range(area.left(), area.right() + 1):
            c = image.pixelColor(x, y)
            if abs(c.red() - ink[0]) <= slack and abs(c.green() - ink[1]) <= slack and abs(c.blue() - ink[2]) <= slack:
                left, top, right, bottom = min(left, x), min(top, y), max(right, x), max(bottom, y)
    return QRect() if right < 0 else QRect(left, top, right - left + 1, bottom - top + 1)


def qr_view(payload: str = ORDER_CODE, amount: Money | None = None) -> CustomerView:
    return CustomerView("qr", amount or usd(2000), qr=payload, expires_at=time.time() + 299.5,
                        message="Scan with your wallet app to pay")


def entry_view(amount: Money | None = None) -> CustomerView:
    """What sale_view gives the display for an entry-code sale (agreed with the entry-code helper): mode
    "entry_code", the store's static code in ``qr``, the amount to type in ``amount``."""
    return CustomerView("entry_code", amount or usd(2000), qr=ENTRY_CODE)


@pytest.fixture
def artwork(tmp_path) -> BrandConfig:
    return BrandConfig(acceptance_mark=mark_png(tmp_path / "mark.png"), qr_icon=plus_png(tmp_path / "icon.png"))


def make(qtbot, brand_config: BrandConfig | None = None, size=(1280, 800), **options) -> CustomerDisplay:
    widget = CustomerDisplay(STORE, locale_name="en_US", brand_config=brand_config, **options)
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def symbol_area(display: CustomerDisplay) -> QRect:
    """The QR symbol's modules (quiet zone excluded) in the display's own coordinates."""
    qr = display.qr_widget
    rect = qr.symbol_rect().translated(qr.pos())
    border = 4 * qr.module_size()
    return rect.adjusted(border, border, -border, -border)


def assert_icon_within_level_h(display: CustomerDisplay, ink) -> None:
    """The icon is in the centre of the code and covers far less than level H recovers: at most 30 % of
    the symbol's width and 20 % of its area, measured on the grabbed pixels."""
    image = display.grab().toImage()
    symbol = symbol_area(display)
    box = ink_box(image, symbol, ink)
    assert not box.isEmpty(), "no centre icon on the order code"
    assert abs(box.center().x() - symbol.center().x()) <= 3 and abs(box.center().y() - symbol.center().y()) <= 3
    assert box.width() <= 0.30 * symbol.width() and box.height() <= 0.30 * symbol.height()
    assert box.width() * box.height() <= 0.20 * symbol.width() * symbol.height()


# --- the order code and its centre icon -------------------------------------------------------------------

def test_the_order_code_carries_the_plain_plus_and_still_scans(qtbot):
    display = make(qtbot)
    display.show_view(qr_view())
    assert display.qr_widget.symbol.error == "H"                # segno's own record of the symbol shown
    assert decode(display.qr_widget.grab().toImage()) == [ORDER_CODE]
    assert decode(display.grab().toImage()) == [ORDER_CODE]     # what a phone sees: the whole screen
    assert_icon_within_level_h(display, NEUTRAL_INK)


def test_the_order_code_carries_the_merchants_icon_and_still_scans(qtbot, artwork):
    display = make(qtbot, artwork)
    display.show_view(qr_view())
    assert display.qr_widget.symbol.error == "H"
    assert decode(display.grab().toImage()) == [ORDER_CODE]
    assert_icon_within_level_h(display, ICON_INK[:3])
    assert ink_box(display.grab().toImage(), symbol_area(display), NEUTRAL_INK).isEmpty()   # not the plain one


@pytest.mark.parametrize("payload", ["1", ORDER_CODE, "https://qr.alipay.com/" + "x7" * 60,
                                     "https://pay.example.com/c/" + "9" * 400])
@pytest.mark.parametrize("size", [160, 330, 600])
def test_codes_of_every_size_decode_under_an_icon(tmp_path, qtbot, payload, size):
    """Small and large symbols (versions 1 to about 20), from few pixels a module to many."""
    icon = qimage(Image.open(plus_png(tmp_path / "i.png")))
    try:
        image = qr_image(payload, size, icon)
    except ValueError:        # too small for this many modules: qr_image says so; nothing to scan
        pytest.skip("too many modules for the size")
    assert decode(image) == [payload]


def test_the_test_pattern_code_has_no_icon_and_stays_at_its_level(qtbot):
    display = make(qtbot)
    display.show_test_pattern()
    assert display.test_pattern_qr.icon is None


# --- the mark: payment zone, order-code page, entry-code page ---------------------------------------------

def test_the_payment_zone_shows_the_words_without_artwork(qtbot):
    display = make(qtbot)
    display.show_view(CustomerView("amount", usd(1234), message="Amount due"))
    assert display.brand_shown == "text" and display.brand_widget.text == "Alipay+"
    texts = {c.text for c in display.findChildren(object) if hasattr(c, "fit") and not c.isHidden() and c.text}
    assert texts == {STORE, "Amount due", f"USD{NBSP}12.34", "Alipay+"}       # nothing else, no staff words
    plate = display.brand_widget.geometry()
    assert plate.top() > display._amount.geometry().bottom()                 # under the amount


def test_the_payment_zone_shows_the_merchants_mark(qtbot, artwork):
    display = make(qtbot, artwork)
    display.show_view(CustomerView("amount", usd(1234), message="Amount due"))
    assert display.brand_shown == "artwork" and display.brand_widget.text == ""
    box = ink_box(display.grab().toImage(), display.brand_widget.geometry(), MARK_INK[:3])
    assert box.width() > 100 and box.height() > 30                          # legible, not a speck
    assert display.brand_widget.geometry().contains(box)


def test_the_order_code_page_shows_the_mark_beside_the_code(qtbot, artwork):
    display = make(qtbot, artwork)
    display.show_view(qr_view())
    assert display.brand_shown == "artwork"
    assert not display.brand_widget.geometry().intersects(display.qr_widget.geometry())
    assert not ink_box(display.grab().toImage(), display.brand_widget.geometry(), MARK_INK[:3]).isEmpty()


def test_the_entry_code_page_shows_the_static_code_the_mark_and_the_words(qtbot):
    display = make(qtbot)
    display.show_view(entry_view(usd(4550)))
    assert display.mode == "entry_code" and display.qr_payload == ENTRY_CODE
    assert display.headline_text == f"Scan the store's code with your wallet app and enter USD{NBSP}45.50"
    assert display.countdown_text == ""                     # a static code does not expire
    assert display.brand_shown == "text"
    assert display.qr_widget.symbol.error == "H"
    assert decode(display.grab().toImage()) == [ENTRY_CODE]
    assert_icon_within_level_h(display, NEUTRAL_INK)


def test_results_and_idle_carry_no_mark(qtbot):
    display = make(qtbot)
    assert display.brand_shown is None
    display.show_view(CustomerView("result", usd(1), result="paid", message="Thank you! Payment received."))
    assert display.brand_shown is None


def test_an_expired_code_takes_the_mark_away_with_it(qtbot):
    display = make(qtbot)
    display.show_view(CustomerView("qr", usd(2000), qr=ORDER_CODE, expires_at=time.time() - 1,
                                   message="Scan with your wallet app to pay"))
    assert display.qr_payload is None and display.brand_shown is None


def test_a_bad_artwork_file_leaves_the_words_and_the_plain_plus(qtbot, tmp_path, caplog):
    bad = tmp_path / "mark.png"
    bad.write_text("not a picture")
    with caplog.at_level(logging.WARNING):
        display = make(qtbot, BrandConfig(acceptance_mark=bad, qr_icon=bad))
    assert "is not a PNG image" in caplog.text and str(bad) in caplog.text
    display.show_view(qr_view())
    assert display.brand_shown == "text"
    assert decode(display.grab().toImage()) == [ORDER_CODE]
    assert_icon_within_level_h(display, NEUTRAL_INK)


def test_artwork_given_once_the_terminal_is_ready_replaces_the_words(qtbot, artwork):
    display = make(qtbot)
    display.show_view(qr_view())
    assert display.brand_shown == "text"
    display.set_brand(artwork)          # what ui/app does on core.ready
    assert display.brand_shown == "artwork"
    assert_icon_within_level_h(display, ICON_INK[:3])
    assert decode(display.grab().toImage()) == [ORDER_CODE]


# --- it all fits the store's screens, in both languages ---------------------------------------------------

@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("with_artwork", [False, True], ids=["words", "artwork"])
def test_branded_screens_fit_without_overlap(qtbot, tmp_path, size, language, with_artwork):
    from pos_app.i18n import _
    set_language(language)
    try:
        brand_config = BrandConfig(acceptance_mark=mark_png(tmp_path / "m.png"),
                                   qr_icon=plus_png(tmp_path / "i.png")) if with_artwork else None
        display = make(qtbot, brand_config, size, test_mark=True)
        window = QRect(0, 0, *size)
        views = [CustomerView("amount", usd(999_999_999), message=_("Amount due")),
                 qr_view(amount=usd(999_999_999)), entry_view(usd(999_999_999))]
        for view in views:
            display.show_view(view)
            blocks = [c for c in display.findChildren(object) if hasattr(c, "fit") and not c.isHidden()]
            assert display.brand_widget in blocks
            for block in blocks:
                assert window.contains(block.geometry()), (view.mode, block.text, block.geometry())
                for other in blocks:
                    assert block is other or not block.geometry().intersects(other.geometry()), \
                        (view.mode, block.text, other.text)
                if view.mode != "amount":
                    assert not block.geometry().intersects(display.qr_widget.geometry()), (view.mode, block.text)
            plate = display.brand_widget.plate_rect().translated(display.brand_widget.pos())
            assert plate.height() >= 0.05 * size[1], view.mode          # large enough to be seen
            if view.mode != "amount":
                assert display.qr_widget.module_size() >= 6 and decode(display.grab().toImage()) == [view.qr]
    finally:
        set_language("en")


# --- the technician's display test ------------------------------------------------------------------------

def test_show_sample_walks_the_branded_screens_with_the_test_mark(qtbot, artwork):
    display = make(qtbot, artwork)
    assert not display.test_mark_visible
    for kind in ("amount", "qr", "entry_code"):
        display.show_sample(kind, Money(1234, "USD"))
        assert display.sample and display.mode == kind and display.test_mark_visible
        assert display.brand_shown == "artwork"
        if kind != "amount":
            assert display.qr_widget.symbol.error == "H"
            assert decode(display.grab().toImage()) == [display.qr_payload]
            assert display.qr_payload.startswith("POS-TERMINAL TEST ")     # no wallet pays a sample
    display.show_idle()
    assert not display.sample and not display.test_mark_visible


def test_the_technicians_display_test_shows_the_branded_screens(qtbot, core):
    from ui.technician import TechnicianWindow

    journal = core.terminal.journal
    services.technician.pin_set(services.counter(), journal, "technician", "97531")
    customer = CustomerDisplay("Test store")
    qtbot.addWidget(customer)
    window = TechnicianWindow(core, services.unlock(journal, "technician", "97531", asked_by="cashier"), customer)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.tabs.setCurrentIndex(2)
    assert window.brand_button.isEnabled()
    seen = []
    for _ in range(3):
        qtbot.mouseClick(window.brand_button, Qt.LeftButton)
        seen.append(customer.mode)
        assert customer.sample and "(a sample)" in window.display_state.text()
        assert customer.brand_shown == "text"
    assert seen == ["amount", "qr", "entry_code"]
    qtbot.mouseClick(window.brand_button, Qt.LeftButton)
    assert customer.mode == "amount"                              # round again
    window.close()
    assert customer.mode == "idle" and not customer.sample      # leaving takes the sample off


# --- a bad file is told before the till opens ---------------------------------------------------------------

def test_the_till_refuses_a_bad_artwork_file_in_words_before_any_window(sim, tmp_path):
    """``pos-terminal gui`` with [brand] naming a FIFO: refused at once (it does not block on the pipe), in
    words that name the file and the setting, exit 2, no traceback."""
    import subprocess
    import sys

    from flowkit import write_config
    from processes import terminal_env

    fifo = tmp_path / "mark.png"
    os.mkfifo(fifo)
    config = write_config(sim)
    config.write_text(config.read_text() + f'\n[brand]\nacceptance_mark = "{fifo}"\n')
    env = {**terminal_env(), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "pos_app", "gui", "--config", str(config),
                           "--data-dir", str(tmp_path / "data")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert str(fifo) in done.stderr and "named pipe (FIFO)" in done.stderr and "[brand] acceptance_mark" in done.stderr
    assert "Traceback" not in done.stderr
