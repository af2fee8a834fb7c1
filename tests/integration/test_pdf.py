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
