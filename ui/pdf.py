"""A report as a printable PDF (QPdfWriter): what ``report --x|--z --pdf FILE`` and the manager screen write.

Monospaced lines on A4, as a receipt printer would lay them out, so the PDF and the terminal's text
output are the same report. Runs without a display (offscreen) when none is set.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_pdf(lines: list[str], path: Path) -> Path:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QFont, QGuiApplication, QPageSize, QPainter, QPdfWriter

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 (fonts need an application)
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.A4))
    writer.setResolution(300)
    writer.setTitle(lines[0] if lines else "report")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write a PDF to {path}")
    try:
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.Monospace)
        font.setPointSize(9)
        painter.setFont(font)
        step = painter.fontMetrics().lineSpacing()
        margin = 150
        y = margin
        for line in lines:
            if y + step > writer.height() - margin:
                writer.newPage()
                y = margin
            painter.drawText(margin, y + painter.fontMetrics().ascent(), line)
            y += step
    finally:
        painter.end()
    return path
