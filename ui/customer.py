"""The customer display: a second, full-screen window facing the customer.

It shows only what the customer may see, and only what :class:`pos_app.sale_view.CustomerView` carries
(that view is sanitized by construction): the store's name when idle, the amount due, the QR code to
scan with its countdown, and a plain result. No buttons, no staff wording, no offline or queue hints,
no payment codes, ids or result codes; the mouse cursor is hidden over it and it never takes the keyboard
focus (a keyboard-wedge scanner's keystrokes must keep going to the cashier's window).

Everything is drawn to scale with the window: fonts follow its height and shrink to fit its width, the
QR code takes the largest whole number of pixels per module that fits, and a landscape window puts the
QR code beside the text, a portrait one below it.

The Alipay+ brand rules (issue 16): the acceptance mark stands in the payment zone while the terminal
waits for the customer's code, and on the order-code and entry-code pages; an order code carries the "+"
icon in its centre (ui/qr.py makes it level H). The artwork is the merchant's file (pos_app.brand); without
one, the words "Alipay+" on the same white plate, and a plain plus sign in the code.
"""

from __future__ import annotations

import logging
import math
import time

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QGuiApplication, QImage, QPainter, QPen
from PySide6.QtWidgets import QLabel, QWidget

from pos_app import brand
from pos_app.config import BrandConfig
from pos_app.i18n import _
from pos_app.money import Money
from pos_app.sale_view import CustomerView

from .money import format_money
from .qr import QrWidget, qimage

log = logging.getLogger(__name__)

__all__ = ["CustomerDisplay"]

# High contrast on a dark ground; white text on every background here is at least 4.5:1 (WCAG AA).
BACKGROUND = QColor("#0f1b2d")
TEXT = QColor("#ffffff")
SOFT_TEXT = QColor("#c9d4e3")
WARNING = QColor("#ffc845")
RESULT_BACKGROUND = {"paid": QColor("#1b6e33"), "not_paid": QColor("#8f1d1d"), "checking": BACKGROUND}

PLATE = QColor("#ffffff")        # the brand's plate: any mark reads on white, whatever colours it was drawn for
PLATE_TEXT = QColor("#1f2933")   # the text fallback on it: plain, no brand colours

SOON = 30               # seconds left when the countdown turns amber
MIN_PX = 9              # no text is drawn smaller than this
ICON_PX = 160           # the neutral "+" is drawn this large, then scaled into the code's centre
VIEW_MODES = ("amount", "qr", "entry_code", "result")
SAMPLES = ("amount", "qr", "entry_code")   # the branded screens the technician's display test shows


def format_remaining(seconds: int) -> str:
    """``299`` → ``"4:59"``; an hour or more → ``"1:02:03"``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Text(QWidget):
    """A block of text drawn at the largest pixel size, up to ``max_px``, that fits its width (wrapping
    at word boundaries when ``wrap``); :meth:`fit` says how tall it then is."""

    def __init__(self, parent: QWidget, *, bold: bool = False, wrap: bool = False) -> None:
        super().__init__(parent)
        self.text = ""
        self.color = TEXT
        self.max_px = 24
        self._bold, self._wrap = bold, wrap
        self._px = MIN_PX
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def set_text(self, text: str, color: QColor | None = None) -> None:
        self.text = text or ""
        if color is not None:
            self.color = color
        self.setVisible(bool(self.text))
        self.update()

    def _font(self, px: int) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(px)
        font.setBold(self._bold)
        return font

    def _flags(self) -> int:
        flags = Qt.AlignmentFlag.AlignCenter
        return flags | Qt.TextFlag.TextWordWrap if self._wrap else flags

    def _size(self, px: int, width: float, wrap: bool | None = None) -> tuple[float, float]:
        metrics = QFontMetricsF(self._font(px))
        if not (self._wrap if wrap is None else wrap):
            return metrics.horizontalAdvance(self.text), metrics.height()
        rect = metrics.boundingRect(QRectF(0, 0, width, 1e6), int(self._flags()), self.text)
        return rect.width(), rect.height()

    def fit(self, width: int, max_height: int) -> int:
        """Choose the font for a ``width`` x ``max_height`` box; returns the height the text needs."""
        if not self.text or width <= 0 or max_height <= 0:
            return 0
        best = self._largest(width, max_height, wrap=self._wrap)
        if self._wrap:      # one line reads better than two, if it costs little size
            single = self._largest(width, max_height, wrap=False)
            if single >= best * 0.75:
                best = single
        self._px = best
        return min(max_height, math.ceil(self._size(best, width)[1]))

    def _largest(self, width: int, max_height: int, *, wrap: bool) -> int:
        low, high = MIN_PX, max(MIN_PX, int(self.max_px))
        while low < high:
            mid = (low + high + 1) // 2
            w, h = self._size(mid, width, wrap)
            if w <= width and h <= max_height:
                low = mid
            else:
                high = mid - 1
        return low

    @property
    def pixel_size(self) -> int:
        return self._px

    def paintEvent(self, event) -> None:
        if not self.text:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(self._font(self._px))
        painter.setPen(self.color)
        painter.drawText(QRectF(self.rect()), int(self._flags()), self.text)
        painter.end()


class _Brand(QWidget):
    """The acceptance mark on a white plate with clear space around it, or, without artwork, the words
    "Alipay+" on the same plate: at most ``max_px`` tall, narrowed to fit its width."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("brand_mark")
        self.image: QImage | None = None
        self.max_px = 60
        self._plate = (0.0, 0.0)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    @property
    def text(self) -> str:
        """What the plate says when there is no artwork (what tests and the probe read)."""
        return brand.BRAND_TEXT if self.image is None else ""

    def _font(self, height: float) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(max(MIN_PX, round(height * 0.5)))
        font.setBold(True)
        return font

    def _plate_size(self, height: float) -> tuple[float, float]:
        pad = height * 0.18   # clear space all round, as brand guidelines ask of a mark
        if self.image is not None and not self.image.isNull():
            inner = height - 2 * pad
            return inner * self.image.width() / self.image.height() + 4 * pad, height
        return QFontMetricsF(self._font(height)).horizontalAdvance(self.text) + 4 * pad, height

    def fit(self, width: int, max_height: int) -> int:
        height = float(min(max_height, self.max_px))
        if height < 2 * MIN_PX or width <= 0:
            self._plate = (0.0, 0.0)
            return 0
        plate_w, _h = self._plate_size(height)
        if plate_w > width:
            height *= width / plate_w
        self._plate = self._plate_size(height)
        return math.ceil(self._plate[1]) if height >= 2 * MIN_PX else 0

    def plate_rect(self) -> QRectF:
        w, h = self._plate
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event) -> None:
        h = self._plate[1]
        if h <= 0:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        plate = self.plate_rect()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(PLATE)
        painter.drawRoundedRect(plate, h * 0.18, h * 0.18)
        pad = h * 0.18
        inner = plate.adjusted(2 * pad, pad, -2 * pad, -pad)
        if self.image is not None and not self.image.isNull():
            painter.drawImage(inner, self.image)
        else:
            painter.setFont(self._font(h))
            painter.setPen(PLATE_TEXT)
            painter.drawText(plate, int(Qt.AlignmentFlag.AlignCenter), self.text)
        painter.end()


class _ResultIcon(QWidget):
    """A large tick (paid), cross (not paid) or three pulsing dots (checking)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.kind = ""
        self._step = 0
        self._pulse = QTimer(self)
        self._pulse.setInterval(450)
        self._pulse.timeout.connect(self._advance)

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.setVisible(bool(kind))
        if kind == "checking" and not self._pulse.isActive():
            self._step = 0
            self._pulse.start()
        elif kind != "checking":
            self._pulse.stop()
        self.update()

    def _advance(self) -> None:
        self._step = (self._step + 1) % 3
        self.update()

    def paintEvent(self, event) -> None:
        side = min(self.width(), self.height())
        if not self.kind or side <= 0:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = QPointF(self.width() / 2, self.height() / 2)
        r = side / 2
        if self.kind == "checking":
            dot = r * 0.22
            for i in range(3):
                color = QColor(WARNING if i == self._step else SOFT_TEXT)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(color)
                painter.drawEllipse(QPointF(c.x() + (i - 1) * dot * 3.2, c.y()), dot, dot)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(TEXT)
            painter.drawEllipse(c, r * 0.96, r * 0.96)
            pen = QPen(RESULT_BACKGROUND.get(self.kind, BACKGROUND), r * 0.17)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if self.kind == "paid":
                painter.drawPolyline([QPointF(c.x() - r * 0.45, c.y() + r * 0.02),
                                      QPointF(c.x() - r * 0.12, c.y() + r * 0.35),
                                      QPointF(c.x() + r * 0.47, c.y() - r * 0.33)])
            else:
                d = r * 0.36
                painter.drawLine(QPointF(c.x() - d, c.y() - d), QPointF(c.x() + d, c.y() + d))
                painter.drawLine(QPointF(c.x() - d, c.y() + d), QPointF(c.x() + d, c.y() - d))
        painter.end()


def _fitting_font(base: QFont, lines: list[str], width: int, max_px: int, *, bold: bool = False) -> QFont:
    """``base`` at the largest pixel size up to ``max_px`` at which every line fits ``width``."""
    font = QFont(base)
    font.setBold(bold)
    for px in range(max(MIN_PX, max_px), MIN_PX - 1, -1):
        font.setPixelSize(px)
        metrics = QFontMetricsF(font)
        if all(metrics.horizontalAdvance(line) <= width for line in lines):
            break
    return font


class _TestPattern(QWidget):
    """Colour bars, a grey ramp, a grid with a circle (geometry and overscan), a ladder of text sizes,
    a test QR code and the screen's and window's sizes: what a technician needs to judge a display."""

    BARS = ("#ffffff", "#ffff00", "#00ffff", "#00ff00", "#ff00ff", "#ff0000", "#0000ff", "#000000")
    LADDER = (10, 12, 14, 16, 20, 24, 32, 40, 48, 64)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("test_pattern")   # what the end-to-end tests look for on the customer display
        self.payload = ""
        self.reserve_right = 0          # room kept free for the TEST mark, top right
        self.qr = QrWidget(self)

    def start(self) -> None:
        self.payload = "POS-TERMINAL TEST " + time.strftime("%Y-%m-%d %H:%M:%S")
        self.qr.set_payload(self.payload)
        self._place_qr()
        self.update()

    def info_lines(self) -> list[str]:
        window = self.window()
        lines = [_("Window: {width} x {height}").format(width=window.width(), height=window.height())]
        screen = window.screen()
        if screen is not None:
            size, ratio = screen.geometry().size(), screen.devicePixelRatio()
            lines.insert(0, _("Screen: {width} x {height} px, scale {scale:g}").format(
                width=round(size.width() * ratio), height=round(size.height() * ratio), scale=ratio)
                + (f" ({screen.name()})" if screen.name() else ""))
        lines.append(self.payload)
        return lines

    def _regions(self) -> tuple[int, QRect, QRect, QRect]:
        """(margin, lower area, QR square, text panel): side by side when wide, stacked when tall."""
        w, h = self.width(), self.height()
        m = max(8, round(min(w, h) * 0.04))
        lower = QRect(m, round(h * 0.42), w - 2 * m, h - round(h * 0.42) - m)
        if w >= h:
            side = max(0, min(lower.height(), round(w * 0.42)))
            qr = QRect(lower.right() - side + 1, lower.top(), side, side)
            text = QRect(lower.left(), lower.top(), max(0, qr.left() - m - lower.left()), lower.height())
        else:
            text = QRect(lower.left(), lower.top(), lower.width(), round(lower.height() * 0.42))
            side = max(0, min(lower.width(), lower.bottom() - text.bottom() - m))
            qr = QRect(lower.left() + (lower.width() - side) // 2, lower.bottom() - side + 1, side, side)
        return m, lower, qr, text

    def _place_qr(self) -> None:
        self.qr.setGeometry(self._regions()[2])

    def resizeEvent(self, event) -> None:
        self._place_qr()
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:
        w, h = self.width(), self.height()
        m, _lower, _qr, text = self._regions()
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#3a3a3a"))
        # Grid: square cells; squares that look oblong mean a wrong aspect ratio or scaling.
        step = max(10, round(h / 12))
        painter.setPen(QPen(QColor("#8c8c8c"), 1))
        for x in range(w // 2 % step, w, step):
            painter.drawLine(x, 0, x, h)
        for y in range(h // 2 % step, h, step):
            painter.drawLine(0, y, w, y)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#d0d0d0"), 2))
        radius = h * 0.45
        painter.drawEllipse(QPointF(w / 2, h / 2), radius, radius)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        # Edge: a 1 px white frame on the outermost pixels and red corner marks (overscan, cropping).
        painter.setPen(QPen(QColor("#ffffff"), 1))
        painter.drawRect(0, 0, w - 1, h - 1)
        corner = max(6, m // 2)
        for x, y, dx, dy in ((0, 0, 1, 1), (w - 1, 0, -1, 1), (0, h - 1, 1, -1), (w - 1, h - 1, -1, -1)):
            painter.fillRect(QRect(x if dx > 0 else x - corner + 1, y if dy > 0 else y - corner + 1,
                                   corner, corner), QColor("#ff0000"))
        # Title.
        heading = _("Display test pattern")
        title_box = QRect(m, m // 2, w - 2 * m - self.reserve_right, round(h * 0.1) - m // 2)
        painter.setFont(_fitting_font(self.font(), [heading], title_box.width(), round(h * 0.045), bold=True))
        painter.setPen(TEXT)
        painter.drawText(title_box, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), heading)
        # Colour bars and an 11-step grey ramp (black level and white clipping).
        bars = QRect(m, round(h * 0.1), w - 2 * m, round(h * 0.2))
        for i, color in enumerate(self.BARS):
            left = bars.left() + bars.width() * i // len(self.BARS)
            right = bars.left() + bars.width() * (i + 1) // len(self.BARS)
            painter.fillRect(QRect(left, bars.top(), right - left, bars.height()), QColor(color))
        ramp = QRect(m, bars.bottom() + 1, w - 2 * m, round(h * 0.08))
        for i in range(11):
            left = ramp.left() + ramp.width() * i // 11
            right = ramp.left() + ramp.width() * (i + 1) // 11
            level = round(255 * i / 10)
            painter.fillRect(QRect(left, ramp.top(), right - left, ramp.height()), QColor(level, level, level))
        # Sizes, then the ladder of text sizes on a dark panel.
        painter.fillRect(text, QColor("#000000"))
        inner = text.adjusted(m // 2, m // 3, -m // 2, -m // 3)
        top: float = inner.top()   # advanced by font heights, which are fractional
        info = _fitting_font(self.font(), self.info_lines(), inner.width(), round(h * 0.028))
        painter.setFont(info)
        metrics = QFontMetricsF(info)
        line = metrics.height()
        for text_line in self.info_lines():
            painter.drawText(QRectF(inner.left(), top, inner.width(), line),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                             metrics.elidedText(text_line, Qt.TextElideMode.ElideRight, inner.width()))
            top += line
        top += line * 0.4
        for px in self.LADDER:
            font = QFont(self.font())
            font.setPixelSize(px)
            metrics = QFontMetricsF(font)
            sample = f"{px} px  Aa Gg 0123456789 ¥€"
            height = metrics.height()
            if top + height > inner.bottom() or metrics.horizontalAdvance(sample) > inner.width():
                break
            painter.setFont(font)
            painter.drawText(QRectF(inner.left(), top, inner.width(), height),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), sample)
            top += height
        painter.end()


class CustomerDisplay(QWidget):
    """The customer's window. Feed it :meth:`show_idle`, :meth:`show_view` and, for a technician,
    :meth:`show_test_pattern`; put it on its screen with :meth:`place`.

    ``store_name`` is the idle screen's title; ``test_mark`` adds a small "TEST" mark in a corner (the
    sandbox); ``locale_name`` (e.g. ``"zh_CN"``) formats amounts, ``None`` for the application's locale.
    """

    def __init__(self, store_name: str, *, test_mark: bool = False, locale_name: str | None = None,
                 brand_config: BrandConfig | None = None) -> None:
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.WindowDoesNotAcceptFocus)
        self._store_name = store_name
        self._locale_name = locale_name
        self._test_mark = test_mark
        self._sample = False
        self._mode = "idle"
        self._view: CustomerView | None = None
        self._expired = False
        self._background = BACKGROUND
        self._screen_index: int | None = None
        self._placed = False

        self.setWindowTitle(_("Customer display"))
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.setMinimumSize(320, 200)
        self.resize(1024, 600)

        self._header = _Text(self)                    # the store's name, small, above a sale
        self._headline = _Text(self, wrap=True)       # the store's name when idle; the view's message
        self._amount = _Text(self, bold=True)
        self._countdown = _Text(self)
        self._subline = _Text(self, wrap=True)        # the idle welcome line
        self._icon = _ResultIcon(self)
        self._brand = _Brand(self)
        self._qr = QrWidget(self)
        self._qr_icon: QImage | None = None     # the merchant's centre icon; None: the plain "+"
        self._plain_icon: QImage | None = None  # drawn on the first code (Pillow is not loaded before)
        self._pattern = _TestPattern(self)
        self._mark = QLabel(_("TEST"), self)
        self._mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._mark.setVisible(test_mark)

        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.setTimerType(Qt.TimerType.PreciseTimer)
        self._tick.timeout.connect(self._update_countdown)

        screens = QGuiApplication.instance()
        if isinstance(screens, QGuiApplication):   # instance() is typed as the core application
            screens.screenAdded.connect(self._screens_changed)
            screens.screenRemoved.connect(self._screens_changed)
        self.set_brand(brand_config)
        self.show_idle()

    # --- what tests (and logs) may read -----------------------------------------------------------------

    @property
    def mode(self) -> str:
        """ "idle", "amount", "qr", "entry_code", "result" or "test"."""
        return self._mode

    @property
    def sample(self) -> bool:
        """A branded screen shown by the technician's display test (:meth:`show_sample`), not a sale."""
        return self._sample

    @property
    def brand_shown(self) -> str | None:
        """The brand on screen: "artwork" (the merchant's mark), "text" (the words fallback), or None."""
        if self._brand.isHidden() or self._brand.plate_rect().height() <= 0:
            return None
        return "text" if self._brand.image is None else "artwork"

    @property
    def brand_widget(self) -> QWidget:
        return self._brand

    @property
    def result(self) -> str | None:
        """The result shown ("paid", "not_paid", "checking"), ``None`` outside the result screen."""
        return self._view.result if self._mode == "result" and self._view else None

    @property
    def headline_text(self) -> str:
        return _("Display test pattern") if self._mode == "test" else self._headline.text

    @property
    def amount_text(self) -> str:
        return "" if self._mode == "test" else self._amount.text

    @property
    def countdown_text(self) -> str:
        return "" if self._mode == "test" else self._countdown.text

    @property
    def qr_payload(self) -> str | None:
        """The text of the QR code on screen; ``None`` when none is shown."""
        if self._mode == "test":
            return self._pattern.payload
        return self._qr.payload if self._mode in ("qr", "entry_code") and not self._expired else None

    @property
    def test_mark_visible(self) -> bool:
        return not self._mark.isHidden()

    @property
    def qr_widget(self) -> QrWidget:
        """The QR code of a payment (the test pattern's is ``test_pattern_qr``)."""
        return self._qr

    @property
    def test_pattern_qr(self) -> QrWidget:
        return self._pattern.qr

    # --- screens ----------------------------------------------------------------------------------------

    def set_brand(self, brand_config: BrandConfig | None) -> None:
        """The merchant's artwork (``[brand]``). A file that cannot be shown was refused in words at start-up
        (ui.app); should it go bad later, the customer still sees the words and a plain "+", and the log says
        why: the display never shows an error, and never stops a sale for a picture."""
        mark = icon = None
        try:
            mark = brand.mark(brand_config)
        except brand.ArtworkError as exc:
            log.warning("customer display: the acceptance mark is not shown: %s", exc)
        try:
            icon = brand.qr_icon(brand_config)
        except brand.ArtworkError as exc:
            log.warning("customer display: the QR's centre icon is the plain '+': %s", exc)
        self._brand.image = qimage(mark) if mark is not None else None
        self._qr_icon = qimage(icon) if icon is not None else None
        if self._mode in ("qr", "entry_code"):
            self._qr.set_icon(self._centre_icon())
        self._relayout()

    def _centre_icon(self) -> QImage:
        if self._qr_icon is not None:
            return self._qr_icon
        if self._plain_icon is None:
            self._plain_icon = qimage(brand.neutral_icon(ICON_PX))
        return self._plain_icon

    def set_store_name(self, name: str) -> None:
        """Known once the terminal has started (it is in the configuration); the idle screen shows it."""
        self._store_name = name
        if self.mode == "idle":
            self.show_idle()

    def show_idle(self) -> None:
        """The store's name and a welcome: between sales."""
        self._set_mode("idle")
        self._headline.set_text(self._store_name, TEXT)
        self._subline.set_text(_("Welcome!"), SOFT_TEXT)
        self._relayout()

    def show_view(self, view: CustomerView) -> None:
        """Show a sale as :func:`pos_app.sale_view.customer_view` describes it, and nothing more."""
        if view.mode not in VIEW_MODES:
            raise ValueError(f"unknown customer view mode {view.mode!r}")
        mode = view.mode if view.mode in ("qr", "entry_code") and view.qr else \
            ("result" if view.mode == "result" else "amount")
        self._set_mode(mode)
        self._view = view
        self._header.set_text(self._store_name, SOFT_TEXT)
        self._amount.set_text(format_money(view.amount, self._locale_name),
                              SOFT_TEXT if view.result == "checking" else TEXT)
        self._brand.setVisible(mode != "result")   # the payment zone and the scanning pages carry the mark
        if mode == "result":
            self._background = RESULT_BACKGROUND.get(view.result or "", BACKGROUND)
            self._icon.set_kind(view.result if view.result in RESULT_BACKGROUND else "checking")
            self._headline.set_text(view.message, TEXT)
        elif mode == "qr":
            self._headline.set_text(view.message, SOFT_TEXT)
            self._qr.set_icon(self._centre_icon())
            self._qr.set_payload(view.qr)
            self._update_countdown()
        elif mode == "entry_code":   # the store's static code: the customer types the amount in the wallet
            self._headline.set_text(_("Scan the store's code with your wallet app and enter {amount}").format(
                amount=format_money(view.amount, self._locale_name)), SOFT_TEXT)
            self._qr.set_icon(self._centre_icon())
            self._qr.set_payload(view.qr)
        else:   # an amount, or a QR view that came without a code: no "scan" wording then
            self._headline.set_text(view.message if view.mode == "amount" and view.message else _("Amount due"),
                                    SOFT_TEXT)
        self._relayout()

    def show_sample(self, kind: str, amount: Money) -> None:
        """A branded screen for the technician's display test: the payment zone ("amount"), an order code
        ("qr") or the entry code ("entry_code"), with a test code no wallet pays, and the TEST mark."""
        if kind not in SAMPLES:
            raise ValueError(f"unknown sample {kind!r}")
        payload = "POS-TERMINAL TEST " + time.strftime("%Y-%m-%d %H:%M:%S")
        words = {"amount": _("Amount due"), "qr": _("Scan with your wallet app to pay"), "entry_code": ""}
        self.show_view(CustomerView(kind, amount, qr=None if kind == "amount" else payload,
                                    expires_at=time.time() + 300 if kind == "qr" else None, message=words[kind]))
        self._sample = True
        self._mark.setVisible(True)
        self._relayout()

    def show_test_pattern(self) -> None:
        """Colour bars, grid, text sizes, a test QR code and the screen's resolution, for a technician."""
        self._set_mode("test")
        self._pattern.start()
        self._relayout()

    def place(self, screen_index: int | None = None) -> bool:
        """Show the window on its screen; returns whether it is full screen.

        With ``screen_index`` (the configured screen, counting from 0 in ``QGuiApplication.screens()``) it
        goes full screen there. Without one it goes full screen on the second screen when there is more
        than one. With a single screen it stays a normal, smaller window in the top right corner of the
        primary screen: full screen there would cover the cashier's window, the one that takes the
        money. A configured screen that is not connected falls back to the same choice, with a warning;
        when screens come or go, the window is placed again by the same rule.
        """
        self._screen_index, self._placed = screen_index, True
        screens = QGuiApplication.screens()
        if screen_index is not None and not 0 <= screen_index < len(screens):
            log.warning("customer display: screen %s is not connected (%d screen(s)); using the default",
                        screen_index, len(screens))
            screen_index = None
        if screen_index is None and len(screens) > 1:
            screen_index = 1
        if screen_index is not None:
            screen = screens[screen_index]
            if self.isFullScreen():
                self.showNormal()
            self.setScreen(screen)
            self.setGeometry(screen.geometry())
            self.showFullScreen()
            return True
        screen = QGuiApplication.primaryScreen()
        if self.isFullScreen():
            self.showNormal()
        if screen is not None:
            self.setScreen(screen)
            area = screen.availableGeometry()
            width = max(self.minimumWidth(), min(800, area.width() // 2))
            height = max(self.minimumHeight(), min(480, area.height() // 2))
            self.setGeometry(area.right() - width + 1, area.top(), width, height)
        self.showNormal()
        return False

    # --- inside -----------------------------------------------------------------------------------------

    def _screens_changed(self, *_args) -> None:
        if self._placed:
            QTimer.singleShot(0, self, lambda: self.place(self._screen_index))

    def _set_mode(self, mode: str) -> None:
        self._mode = mode
        self._sample = False
        self._mark.setVisible(self._test_mark)
        self._view = None
        self._expired = False
        self._tick.stop()
        self._background = BACKGROUND
        for block in (self._header, self._headline, self._amount, self._countdown, self._subline):
            block.set_text("")
        self._icon.set_kind("")
        self._brand.setVisible(False)
        self._qr.set_payload(None)
        self._qr.setVisible(mode in ("qr", "entry_code"))
        self._pattern.setVisible(mode == "test")
        if mode != "test":
            self._pattern.qr.set_payload(None)
            self._pattern.payload = ""
        self.update()

    def _update_countdown(self) -> None:
        view = self._view
        if self._mode != "qr" or view is None:
            return
        if view.expires_at is None:
            self._countdown.set_text("")
            return
        left = view.expires_at - time.time()
        seconds = math.ceil(left)
        if seconds <= 0:
            self._expire()
            return
        color = WARNING if seconds <= SOON else SOFT_TEXT
        self._countdown.set_text(_("Expires in {time}").format(time=format_remaining(seconds)), color)
        # Wake just after the shown second runs out, so the display never lags the clock.
        self._tick.start(max(20, math.ceil((left - (seconds - 1)) * 1000) + 5))
        self._relayout()

    def _expire(self) -> None:
        self._expired = True
        self._tick.stop()
        self._qr.set_payload(None)
        self._qr.hide()
        self._brand.hide()
        self._headline.set_text(_("Please ask the cashier for a new code."), SOFT_TEXT)
        self._countdown.set_text(_("This code has expired"), WARNING)
        self._relayout()

    def _relayout(self) -> None:
        w, h = self.width(), self.height()
        m = max(8, round(min(w, h) * 0.05))
        self._pattern.setGeometry(self.rect())

        mark_px = max(12, round(h * 0.03))
        if self._mark.property("px") != mark_px:      # restyle on resize only, not on every tick
            self._mark.setProperty("px", mark_px)
            self._mark.setStyleSheet(
                f"QLabel {{ background: {WARNING.name()}; color: #000000; font-weight: bold;"
                f" font-size: {mark_px}px; padding: {mark_px // 5}px {mark_px // 2}px;"
                f" border-radius: {mark_px // 4}px; }}")
            self._mark.adjustSize()
        self._mark.move(w - self._mark.width() - m // 2, m // 2)
        self._mark.raise_()
        self._pattern.reserve_right = self._mark.width() + m // 2 if self.test_mark_visible else 0
        if self._mode == "test":
            return

        reserve = self._mark.width() + m // 2 if self.test_mark_visible else 0
        self._header.max_px = round(h * 0.045)
        header_h = self._header.fit(w - 2 * (m + reserve), round(h * 0.08))
        self._header.setGeometry(m + reserve, m // 2, w - 2 * (m + reserve), header_h)
        top = m // 2 + header_h + (m // 2 if header_h else m)
        body = QRect(m, top, w - 2 * m, h - top - m)

        if self._mode == "idle":
            self._headline.max_px, self._subline.max_px = round(h * 0.15), round(h * 0.06)
            self._stack(body, [(self._headline, 0.5), (self._subline, 0.2)], gap=round(h * 0.04))
        elif self._mode == "result":
            self._headline.max_px, self._amount.max_px = round(h * 0.085), round(h * 0.075)
            self._stack(body, [(self._icon, 0.3), (self._headline, 0.3), (self._amount, 0.15)],
                        gap=round(h * 0.045))
        elif self._mode in ("qr", "entry_code") and not self._expired:
            self._layout_qr(body, w, h, m)
        else:   # the amount (the payment zone: the mark under it), or a QR code that expired
            self._headline.max_px, self._amount.max_px = round(h * 0.07), round(h * 0.2)
            self._countdown.max_px, self._brand.max_px = round(h * 0.06), round(h * 0.11)
            self._stack(body, [(self._countdown, 0.12), (self._headline, 0.2), (self._amount, 0.3)]
                        if self._expired else [(self._headline, 0.2), (self._amount, 0.35), (self._brand, 0.16)],
                        gap=round(h * 0.04))
        self.update()

    def _layout_qr(self, body: QRect, w: int, h: int, m: int) -> None:
        if body.width() >= body.height() * 1.15:       # landscape: text on the left, the code on the right
            side = min(body.height(), round(body.width() * 0.55))
            self._qr.setGeometry(body.right() - side + 1, body.top() + (body.height() - side) // 2, side, side)
            column = QRect(body.left(), body.top(), body.width() - side - m, body.height())
            self._headline.max_px, self._amount.max_px = round(h * 0.065), round(h * 0.13)
            self._countdown.max_px, self._brand.max_px = round(h * 0.055), round(h * 0.09)
            self._stack(column, [(self._brand, 0.14), (self._headline, 0.3), (self._amount, 0.22),
                                 (self._countdown, 0.1)], gap=round(h * 0.045))
        else:                                          # portrait: text, the code, the countdown
            self._headline.max_px, self._amount.max_px = round(h * 0.04), round(h * 0.08)
            self._countdown.max_px, self._brand.max_px = round(h * 0.035), round(h * 0.06)
            gap = m // 3
            above = self._heights(body, [(self._brand, 0.07), (self._headline, 0.1), (self._amount, 0.1)])
            below = self._heights(body, [(self._countdown, 0.08)])
            used = sum(height for _block, height in above + below) + gap * len(above + below)
            side = max(0, min(body.width(), body.height() - used))
            y = body.top() + max(0, (body.height() - used - side) // 2)    # the group, centred
            for block, height in [*above, (self._qr, side), *below]:
                left = body.left() + (body.width() - side) // 2 if block is self._qr else body.left()
                block.setGeometry(left, y, side if block is self._qr else body.width(), height)
                y += height + gap

    def _heights(self, rect: QRect, blocks) -> list[tuple[QWidget, int]]:
        sized = []
        for block, share in blocks:
            if block.isHidden():
                continue
            limit = round(rect.height() * share)
            sized.append((block, limit if isinstance(block, _ResultIcon) else block.fit(rect.width(), limit)))
        return sized

    def _stack(self, rect: QRect, blocks, gap: int) -> None:
        """Blocks one under another, centred as a group in ``rect``."""
        sized = self._heights(rect, blocks)
        total = sum(height for _block, height in sized) + gap * max(0, len(sized) - 1)
        y = rect.top() + max(0, (rect.height() - total) // 2)
        for block, height in sized:
            block.setGeometry(rect.left(), y, rect.width(), height)
            y += height + gap

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._background)
        painter.end()
