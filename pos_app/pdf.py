"""A report as a printable PDF, without Qt: what ``report --x|--z --pdf FILE`` and the manager screen write.

Monospaced lines on A4, as a receipt printer would lay them out, so the PDF and the text output are the
same report. fpdf2 embeds a TrueType font found on the system (a monospaced one, plus a fallback with
Chinese glyphs for a zh_CN report); when none is there it says which package to install instead of
writing boxes where the letters should be. A wide (Chinese) character is set two columns wide (its font a
little larger: a Chinese glyph is an em, a column 0.6 em), as a terminal shows it and as
:mod:`pos_app.printout` pads for, so the amounts stay in line.
"""

from __future__ import annotations

import os
import unicodedata
from itertools import groupby
from pathlib import Path

from .errors import PosError, cannot_write
from .i18n import _

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
MONO = ("DejaVuSansMono.ttf", "NotoSansMono-Regular.ttf", "LiberationMono-Regular.ttf")
WIDE = ("DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "NotoSansSC-Regular.ttf", "wqy-microhei.ttc")


SIZE, HEIGHT = 9, 4.2   # points; millimetres a line


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _find(names: tuple[str, ...], dirs: tuple[Path, ...]) -> Path | None:
    for name in names:
        for root in dirs:
            if not root.is_dir():
                continue
            for folder, _sub, files in os.walk(root):
                if name in files:
                    return Path(folder) / name
    return None


def write_pdf(lines: list[str], path: Path, *, font_dirs: tuple[Path, ...] = FONT_DIRS) -> Path:
    """Write ``lines`` to ``path`` as a PDF; a PosError names what is missing (a font, a folder)."""
    from fpdf import FPDF

    mono = _find(MONO, font_dirs)
    if mono is None:
        raise PosError(_("no monospaced font to write the PDF with"),
                       hint=_("install one, e.g. apt install fonts-dejavu-core; the text report works without it"))
    pdf = FPDF(format="A4")
    pdf.set_title(lines[0] if lines else "report")
    pdf.set_margins(12, 12)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("mono", fname=str(mono))
    wide_needed = any(ord(ch) > 0x2FFF for line in lines for ch in line)
    if wide_needed:
        wide = _find(WIDE, font_dirs)
        if wide is None:
            raise PosError(_("no font with Chinese characters to write the PDF with"),
                           hint=_("install one, e.g. apt install fonts-droid-fallback; the text report works "
                                  "without it"))
        pdf.add_font("wide", fname=str(wide))
        pdf.set_fallback_fonts(["wide"])
    pdf.add_page()
    pdf.set_font("mono", size=SIZE)
    column = pdf.get_string_width("0")
    pdf.c_margin = 0   # the runs of a line sit side by side: no padding inside each cell
    for line in lines:
        if not wide_needed:
            pdf.cell(0, HEIGHT, line, new_x="LMARGIN", new_y="NEXT")
            continue
        for is_wide, run in groupby(line, _wide):
            text = "".join(run)
            if is_wide:   # one cell (a word stays a word for search and copy), sized to two columns a character
                pdf.set_font("wide", size=SIZE)
                pdf.set_font("wide", size=SIZE * 2 * column * len(text) / pdf.get_string_width(text))
                pdf.cell(2 * column * len(text), HEIGHT, text)
                pdf.set_font("mono", size=SIZE)
            else:
                pdf.cell(len(text) * column, HEIGHT, text)
        pdf.ln(HEIGHT)
    try:
        pdf.output(str(path))
    except OSError as exc:
        raise cannot_write(path, exc) from None
    return Path(path)
