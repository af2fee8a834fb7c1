"""The X/Z report as PDF, written without Qt: a headless `report --z --pdf` must not need it."""

import subprocess
import sys

import pytest
from pypdf import PdfReader

from pos_app.errors import PosError
from pos_app.pdf import write_pdf

LINES = ["Z REPORT #3  2026-12-06", "CNY", "  sales      SUCCESS          3           23.00",
         "  净额                                    10.00"]


def test_the_pdf_holds_the_report_lines_in_a_monospaced_font(tmp_path):
    path = write_pdf(LINES, tmp_path / "z.pdf")
    reader = PdfReader(path)
    text = reader.pages[0].extract_text()
    for word in ("Z REPORT #3", "23.00", "10.00", "净额"):
        assert word in text
    assert reader.metadata.title == LINES[0]


def test_writing_a_pdf_does_not_load_qt(tmp_path):
    code = ("import sys; from pos_app.pdf import write_pdf; write_pdf(['X REPORT', 'net 1.00'], sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'ui')))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.pdf")], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=True)
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "x.pdf").read_bytes().startswith(b"%PDF")


def test_no_font_is_said_with_the_package_to_install(tmp_path):
    with pytest.raises(PosError) as err:
        write_pdf(LINES, tmp_path / "z.pdf", font_dirs=(tmp_path,))
    assert "font" in err.value.message and "apt install" in err.value.hint
    assert not (tmp_path / "z.pdf").exists()


def test_a_folder_that_is_not_there_is_a_clear_error(tmp_path):
    with pytest.raises(PosError) as err:
        write_pdf(LINES, tmp_path / "missing" / "z.pdf")
    assert "cannot write" in err.value.message


def _bars(path) -> dict[str, float]:
    """Where the '|' of each line sits (x, in points), by the text before it: the PDF's own text positions as
    pypdf reads them back (a run of the monospaced font advances 0.6 em a character)."""
    found: dict[str, float] = {}
    line: list[str] = []

    def visit(text, cm, tm, font, size):
        if text == "\n":
            line.clear()
        elif text:
            if "|" in text:
                found["".join(line) + text[:text.index("|")]] = tm[4] + text.index("|") * size * 0.6
            line.append(text)
    PdfReader(path).pages[0].extract_text(visitor_text=visit)
    return found


def test_a_chinese_label_keeps_the_amounts_in_line(tmp_path):
    """A wide character is set two columns wide, as printout pads for: the bar after a padded Chinese label
    and after a padded English one land at the same x, within a tenth of a column (the PDF rounds its
    positions; a Chinese character set in its own font's width drifts by most of a column)."""
    from pos_app.printout import ljust
    lines = [ljust("净额", 12) + "|", ljust("net", 12) + "|", ljust("平均 sale", 12) + "|"]
    path = write_pdf(lines, tmp_path / "w.pdf")
    xs = _bars(path)
    column = 9 * 0.6
    assert len(xs) == 3 and max(xs.values()) - min(xs.values()) < column / 10, xs
