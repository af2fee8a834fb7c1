"""A QR code a phone can scan from across the counter: black on white, crisp, as large as fits.

The symbol is drawn from segno's module matrix with a whole number of device pixels per module (no
smoothing, no fractional modules, also on a HiDPI screen with a fractional scale), a quiet zone of four
modules on every side (the white margin scanners need, painted here so it holds on any background),
centred in the widget. Always a full QR code, never a Micro QR, which many wallet apps do not read.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_ZONE = 4          # modules of white around the symbol (ISO/IEC 18004)
ERROR_LEVEL = "m"       # 15 % recovery; segno raises it when that costs no extra size

__all__ = ["QUIET_ZONE", "QrWidget", "module_image", "qr_image"]


def module_image(payload: str) -> QImage:
    """One pixel per module, quiet zone included, black on white (``QImage.Format.Format_Grayscale8``)."""
    import segno  # loaded on the first QR: it pulls in urllib and email, which start-up does not need

    qr = segno.make(payload, error=ERROR_LEVEL, micro=False)
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


def qr_image(payload: str, size: int) -> QImage:
    """A ``size`` x ``size`` white image with the QR code of ``payload`` centred at the largest whole module
    size that fits (for screenshots, printing and tests)."""
    modules = module_image(payload)
    n = modules.width()
    scale = size // n
    if scale < 1:
        raise ValueError(f"{size} px is too small for a {n}-module QR code (quiet zone included)")
    image = QImage(size, size, QImage.Format.Format_Grayscale8)
    image.fill(QColor("white"))
    painter = QPainter(image)
    offset = (size - n * scale) // 2
    painter.drawImage(QRect(offset, offset, n * scale, n * scale), modules)
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
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        self.set_payload(payload)

    @property
    def payload(self) -> str | None:
        return self._payload

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
        self._modules = module_image(text) if text else None
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
        painter.end()
