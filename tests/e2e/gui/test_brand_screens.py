"""The Alipay+ brand rules on a real customer display (issue 16, part 2): the till in kiosk mode on Xvfb with
two monitors (tests/xkit.py), driven by X keys only; what the customer sees is read from screenshots of the
X screen (ImageMagick's ``import``), never from a widget.

- User-presented mode (F1): the payment zone on the customer display carries the words "Alipay+" on their
  white plate while the till waits for the customer's code.
- Order code (F2): the code on the customer display, with the plain "+" in its centre, decodes with zxing-cpp
  from the screenshot, to the same text as the code on the cashier's screen, which carries the icon too.
- With the merchant's artwork in [brand] (synthetic PNGs, tests/brandkit.py): the mark in the payment zone
  and the merchant's icon in the order code, which still decodes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from brandkit import ICON_INK, MARK_INK, mark_png, plus_png
from PIL import Image

pytestmark = pytest.mark.timeout(300)

TILL = {"size": (1280, 800), "screens": 2, "language": "en"}
NEUTRAL_INK = (40, 40, 40)      # pos_app.brand.neutral_icon's plus


def window(probe: dict, cls: str) -> dict | None:
    return next((w for w in probe["windows"] if w["class"] == cls), None)


def widget(probe: dict, cls: str, *, name: str | None = None, kind: str | None = None) -> dict | None:
    found = window(probe, cls)
    return next((w for w in (found or {}).get("widgets", [])
                 if (name is None or w["objectName"] == name) and (kind is None or w["class"] == kind)), None)


def crop(shot: Path, geometry: list[int]) -> Image.Image:
    x, y, w, h = geometry
    with Image.open(shot) as image:
        return image.convert("RGB").crop((x, y, x + w, y + h))


def decoded(image: Image.Image) -> list[str]:
    return [code.text for code in zxingcpp.read_barcodes(image)]


def ink_share(image: Image.Image, ink, slack: int = 8) -> tuple[float, tuple[int, int, int, int] | None]:
    """How much of ``image`` is ``ink`` (± slack), and the bounding box of those pixels (None: none)."""
    bands = [band.point(lambda v, c=c: 255 if abs(v - c) <= slack else 0) for band, c in
             zip(image.split(), ink, strict=False)]
    mask = bands[0]
    for band in bands[1:]:
        mask = Image.composite(band, Image.new("L", image.size, 0), mask)
    found = mask.histogram()[255]
    return found / (image.width * image.height), mask.getbbox()


def start_sale(till, amount: str, key: str) -> dict:
    till.type(amount)
    till.wait_for(lambda p: (widget(p, "CashierWindow", name="amount") or {}).get("text", "").endswith(amount),
                  what=f"the amount {amount} typed", timeout=10)
    till.key(key)
    return till.probe()


def back_to_entry(till, clear: bool = False) -> None:
    """Esc stops what is open (once it is final, the next digit starts a new sale); ``clear``: Esc only went
    back to the amount (no code was scanned), which BackSpace then clears."""
    till.key("Escape")
    if clear:
        till.key(*["BackSpace"] * 12)
    till.wait_for(lambda p: window(p, "CustomerDisplay") is not None
                  and widget(p, "CustomerDisplay", kind="QrWidget") is None
                  and widget(p, "CustomerDisplay", name="brand_mark") is None,
                  what="the customer display off the sale", timeout=30)


def the_order_code(till, tag: str, icon_ink) -> None:
    start_sale(till, "2.50", "F2")
    probe = till.wait_for(lambda p: widget(p, "CustomerDisplay", kind="QrWidget") is not None
                          and widget(p, "CashierWindow", name="qr") is not None,
                          what="the order code on both screens", timeout=30)
    shot = till.screenshot(f"brand-order-code-{tag}")
    customer_qr = crop(shot, widget(probe, "CustomerDisplay", kind="QrWidget")["geometry"])
    cashier_qr = crop(shot, widget(probe, "CashierWindow", name="qr")["geometry"])
    on_cashier = decoded(cashier_qr)
    assert len(on_cashier) == 1 and on_cashier[0].startswith("http"), on_cashier
    assert decoded(customer_qr) == on_cashier, f"the customer's code does not scan: {shot}"
    share, box = ink_share(customer_qr, icon_ink)
    assert box is not None, f"no centre icon on the customer's code: {shot}"
    w, h = customer_qr.size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    assert abs(cx - w / 2) <= 0.03 * w and abs(cy - h / 2) <= 0.03 * h       # in the centre
    assert (box[2] - box[0]) <= 0.3 * w and share <= 0.2                      # small enough for level H
    # the cashier's own scanning page (with one screen, the customer scans it) carries the same icon
    _share, on_till = ink_share(cashier_qr, icon_ink)
    cw, ch = cashier_qr.size
    assert on_till is not None and abs((on_till[0] + on_till[2]) / 2 - cw / 2) <= 0.03 * cw, shot
    assert abs((on_till[1] + on_till[3]) / 2 - ch / 2) <= 0.03 * ch, shot
    brand = widget(probe, "CustomerDisplay", name="brand_mark")
    assert brand is not None and not brand["clipped"]
    back_to_entry(till)


def the_payment_zone(till, tag: str) -> Image.Image:
    start_sale(till, "3.75", "F1")
    probe = till.wait_for(lambda p: widget(p, "CustomerDisplay", name="brand_mark") is not None,
                          what="the mark in the payment zone", timeout=20)
    brand = widget(probe, "CustomerDisplay", name="brand_mark")
    assert not brand["clipped"]
    screen = next(s for s in probe["screens"] if not s["primary"])["geometry"]
    x, _y, w, _h = brand["geometry"]
    assert screen[0] <= x and x + w <= screen[0] + screen[2]                 # on the customer's monitor
    shot = till.screenshot(f"brand-payment-zone-{tag}")
    plate = crop(shot, brand["geometry"])
    back_to_entry(till, clear=True)
    return plate, brand


def test_words_and_the_plain_plus_without_artwork(till):
    plate, brand = the_payment_zone(till, "words")
    assert brand["text"] == "Alipay+"
    _white, box = ink_share(plate, (255, 255, 255), slack=2)
    assert box is not None and box[2] - box[0] > 100 and box[3] - box[1] > 40   # the white plate is there
    dark, words = ink_share(plate.crop(box), (31, 41, 51), slack=12)
    assert dark > 0.03 and words is not None                                 # with its words on it
    the_order_code(till, "words", NEUTRAL_INK)


def test_the_merchants_mark_and_icon_from_brand_config(till, tmp_path):
    config = till.data_dir / "sandbox-gateway" / "terminal.toml"
    mark, icon = mark_png(tmp_path / "mark.png"), plus_png(tmp_path / "icon.png")
    till.stop()
    config.write_text(config.read_text() + f'\n[brand]\nacceptance_mark = "{mark}"\nqr_icon = "{icon}"\n')
    till.start()
    plate, brand = the_payment_zone(till, "artwork")
    assert brand["text"] == ""                                               # the artwork, not the words
    _share, box = ink_share(plate, MARK_INK[:3])
    assert box is not None and box[2] - box[0] > 100, "the mark is not in the payment zone"
    the_order_code(till, "artwork", ICON_INK[:3])
