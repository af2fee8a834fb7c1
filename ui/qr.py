"""A QR code a phone can scan from across the counter: black on white, crisp, as large as fits.

The symbol is drawn from segno's module matrix with a whole number of device pixels per module (no
smoothing, no fractional modules, also on a HiDPI screen with a fractional scale), a quiet zone of four
modules on every side (the white margin scanners need, painted here so it holds on any background),
centred in the widget. Always a full QR code, never a Micro QR, which many wallet apps do not read.

A code may carry an icon in its centre (the brand guidelines' "+" on an order code). The icon hides the
modules under it, so such a code is made at error correction level H (about 30 % of its codewords may be
lost), and the icon with its white border covers a square of at most ``ICON_SHARE`` of the symbol's width
(under 5 % of its area): well inside what level H recovers, with room left for a smudge or a glare.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_ZONE = 4          # modules of white around the symbol (ISO/IEC 18004)
ERROR_LEVEL = "m"       # 15 % recovery; segno raises it when that costs no extra size
ICON_ERROR_LEVEL = "h"  # 30 % recovery: a code with an icon over its centre
ICON_SHARE = 0.22       # the icon's square, its white border included, at most this share of the symbol's width
ICON_BORDER = 1         # modules of white between the icon and the modules around it

__all__ = ["ICON_SHARE", "QUIET_ZONE", "QrWidget", "icon_box", "module_image", "paint_icon", "qr_image", "symbol"]


def symbol(payload: str, *, icon: bool = False):
    """The ``segno`` QR code of ``payload``: level H when an icon is to cover its centre."""
    import segno  # loaded on the first QR: it pulls in urllib and email, which start-up does not need

    return segno.make(payload, error=ICON_ERROR_LEVEL if icon else ERROR_LEVEL, micro=False)


def icon_box(modules: int) -> tuple[int, int]:
    """(first module, modules a side) of the centre square an icon may cover in a symbol of ``modules`` a side
    (quiet zone excluded): the largest square of the symbol's parity (so it sits exactly in the middle)
    within ``ICON_SHARE`` of its width."""
    side = int(modules * ICON_SHARE)
    if side % 2 != modules % 2:
        side -= 1
    return (modules - side) // 2, max(0, side)


def module_image(payload: str, *, icon: bool = False) -> QImage:
    """One pixel per module, quiet zone included, black on white (``QImage.Format.Format_Grayscale8``);
    with ``icon``, made at level H (the icon itself is painted over it by :func:`paint_icon`)."""
    return _matrix_image(symbol(payload, icon=icon))


def _matrix_image(qr) -> QImage:
    rows = [bytes(0 if dark else 255 for dark in row) for row in qr.matrix_iter(scale=1, border=QUIET_ZONE)]
    n = len(rows)
    # Written into the image's own buffer: QImage(bytes, ...) borrows the bytes, and PySide has had
    # reference-count bugs there.
    image = QImage(n, n, QImage.Format.Format_Grayscale8)
    stride = image.bytesPerLine()
    pixels = memoryview(image.bits())   # a writable memoryview already; typed as any bytes-like
    for y, row in enumerate(rows):
        pixels[y * stride:y * stride + n] = row
    return image


def paint_icon(painter: QPainter, icon: QImage, symbol_rect: QRect, modules: int) -> None:
    """``icon`` over the centre of a symbol drawn in ``symbol_rect`` (quiet zone included, ``modules`` a side
    with it): the centre square blanked white, the icon inside it, ``ICON_BORDER`` modules clear all round,
    its aspect ratio kept."""
    scale = symbol_rect.width() / modules
    first, side = icon_box(modules - 2 * QUIET_ZONE)
    if side <= 2 * ICON_BORDER:
        return
    box = QRectF(symbol_rect.left() + (QUIET_ZONE + first) * scale, symbol_rect.top() + (QUIET_ZONE + first) * scale,
                 side * scale, side * scale)
    painter.fillRect(box, QColor("white"))
    room = box.adjusted(ICON_BORDER * scale, ICON_BORDER * scale, -ICON_BORDER * scale, -ICON_BORDER * scale)
    if icon.isNull() or icon.width() <= 0 or icon.height() <= 0:
        return
    ratio = min(room.width() / icon.width(), room.height() / icon.height())
    w, h = icon.width() * ratio, icon.height() * ratio
    target = QRectF(room.center().x() - w / 2, room.center().y() - h / 2, w, h)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.drawImage(target, icon)
    painter.restore()


def qr_image(payload: str, size: int, icon: QImage | None = None) -> QImage:
    """A ``size`` x ``size`` white image with the QR code of ``payload`` centred at the largest whole module
    size that fits (for screenshots, printing and tests), with ``icon`` in its centre (level H) if given."""
    modules = module_image(payload, icon=icon is not None)
    n = modules.width()
    scale = size // n
    if scale < 1:
        raise ValueError(f"{size} px is too small for a {n}-module QR code (quiet zone included)")
    image = QImage(size, size, QImage.Format.Format_Grayscale8 if icon is None else QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    offset = (size - n * scale) // 2
    rect = QRect(offset, offset, n * scale, n * scale)
    painter.drawImage(rect, modules)
    if icon is not None:
        paint_icon(painter, icon, rect, n)
    painter.end()
    return image


class QrWidget(QWidget):
    """Shows one QR code (or nothing) centred and as large as the widget allows."""

    def __init__(self, parent: QWidget | None = None, payload: str | None = None, *, min_module: int = 2) -> None:
        """``min_module``: device pixels per module the widget asks its layout for at the least (its minimum
        size), so that a crowded screen shrinks something else, not the code below what a phone reads."""
        super().__init__(parent)
        self.min_module = min_module
        self._payload: str | None = None
        self._modules: QImage | None = None
        self._icon: QImage | None = None
        self._symbol = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.set_payload(payload)

    @property
    def payload(self) -> str | None:
        return self._payload

    @property
    def symbol(self):
        """The ``segno`` QR code shown (``None`` without a code): its ``error`` is "H" under an icon."""
        return self._symbol

    @property
    def icon(self) -> QImage | None:
        return self._icon

    def set_icon(self, icon: QImage | None) -> None:
        """Put ``icon`` in the centre of the code (remade at level H), or none (``None``)."""
        if icon is self._icon:
            return
        self._icon = icon
        payload, self._payload = self._payload, None
        self.set_payload(payload)

    @property
    def module_count(self) -> int:
        """Modules along one side, quiet zone included (0 when there is no code)."""
        return self._modules.width() if self._modules is not None else 0

    def set_payload(self, text: str | None) -> None:
        """Show the QR code of ``text``; ``None`` or ``""`` shows nothing."""
        text = text or None
        if text == self._payload:
            return
        self._payload = text
        self._symbol = symbol(text, icon=self._icon is not None) if text else None
        self._modules = _matrix_image(self._symbol) if self._symbol is not None else None
        self.updateGeometry()
        self.update()

    def module_size(self) -> int:
        """Device pixels per module at the current size (0 when there is no code)."""
        return self._geometry()[0]

    def symbol_rect(self) -> QRect:
        """Where the code and its quiet zone are drawn, in the widget's (logical) coordinates."""
        scale, x, y = self._geometry()
        if not scale:
            return QRect()
        ratio = self.devicePixelRatioF()
        side = self.module_count * scale
        return QRect(math.floor(x / ratio), math.floor(y / ratio),
                     math.ceil(side / ratio), math.ceil(side / ratio))

    def sizeHint(self) -> QSize:
        side = max(self.module_count, 21 + 2 * QUIET_ZONE) * 6
        return QSize(side, side)

    def minimumSizeHint(self) -> QSize:
        side = math.ceil(max(self.module_count, 21 + 2 * QUIET_ZONE) * self.min_module / self.devicePixelRatioF())
        return QSize(side, side)

    def _geometry(self) -> tuple[int, int, int]:
        """(device pixels per module, left, top) in device pixels."""
        n = self.module_count
        if not n:
            return 0, 0, 0
        ratio = self.devicePixelRatioF()
        width, height = math.floor(self.width() * ratio), math.floor(self.height() * ratio)
        scale = max(1, min(width, height) // n)
        side = n * scale
        return scale, (width - side) // 2, (height - side) // 2

    def paintEvent(self, event) -> None:
        modules = self._modules
        scale, x, y = self._geometry()
        if modules is None or not scale:
            return
        side = self.module_count * scale
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        ratio = self.devicePixelRatioF()
        painter.scale(1 / ratio, 1 / ratio)         # paint in device pixels: whole pixels per module
        painter.drawImage(QRect(x, y, side, side), modules)
        if self._icon is not None:
            paint_icon(painter, self._icon, QRect(x, y, side, side), self.module_count)
        painter.end()


def qimage(image) -> QImage:
    """A Pillow image (the brand's artwork, :mod:`pos_app.brand`) as a QImage, transparency kept."""
    rgba = image.convert("RGBA")
    data = rgba.tobytes("raw", "RGBA")
    # copy(): the QImage owns its pixels, not the Python bytes it was read from.
    return QImage(data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888).copy()
