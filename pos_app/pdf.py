"""A report as a printable PDF, without Qt: what ``report --x|--z --pdf FILE`` and the manager screen write.

Monospaced lines on A4, as a receipt printer would lay them out, so the PDF and the text output are the
same report. fpdf2 embeds a TrueType font found on the system (a monospaced one, plus a fallback with
Chinese glyphs for a zh_CN report); when none is there it says which package to install instead of
writing boxes where the letters should be.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import PosError
from .i18n import _

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")
MONO = ("DejaVuSansMono.ttf", "NotoSansMono-Regular.ttf", "LiberationMono-Regular.ttf")
WIDE = ("DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "NotoSansSC-Regular.ttf", "wqy-microhei.ttc")


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
    pdf.set_font("mono", size=9)
    for line in lines:
        pdf.cell(0, 4.2, line, new_x="LMARGIN", new_y="NEXT")
    try:
        pdf.output(str(path))
    except OSError as exc:
        raise PosError(_("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc),
                       hint=_("pick a folder that exists and that you can write to")) from None
    return Path(path)
