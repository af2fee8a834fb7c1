"""The order code with a centre icon (the merchant's, or the plain '+') and the entry code decode with
zxing-cpp from the whole customer display at every size a customer display comes in, portrait 480x800
through 1920x1080 (in-process, offscreen; the artwork is synthetic, tests/brandkit.py)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from brandkit import mark_png, plus_png
from test_brand_display import ENTRY_CODE, ORDER_CODE, decode, entry_view, make, qr_view

from pos_app.config import BrandConfig

SIZES = [(480, 800), (600, 1024), (720, 1280), (1080, 1920), (800, 480), (800, 600), (1024, 600), (1024, 768),
         (1280, 720), (1280, 800), (1366, 768), (1440, 900), (1600, 900), (1920, 1080)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("artwork", [True, False], ids=["icon", "plain-plus"])
def test_the_codes_decode_from_the_whole_display(qtbot, tmp_path, size, artwork):
    brand = BrandConfig(acceptance_mark=mark_png(tmp_path / "mark.png"),
                        qr_icon=plus_png(tmp_path / "icon.png")) if artwork else None
    display = make(qtbot, brand, size=size)
    display.show_view(qr_view())
    image = display.grab().toImage()
    assert (image.width(), image.height()) == size
    assert display.qr_widget.symbol.error == "H"
    assert decode(image) == [ORDER_CODE]
    display.show_view(entry_view())
    assert decode(display.grab().toImage()) == [ENTRY_CODE]
