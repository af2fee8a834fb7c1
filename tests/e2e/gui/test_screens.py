"""``pos-terminal screenshots`` as a person reviewing the screens runs it (issue 15 #5): every state at
1280x800 and 1024x768, each PNG showing the state its name says, and no Qt chatter on the terminal.

The words are read from the command's index.json (what the widgets held when the state was shot) and
checked against the state the name promises; the pictures themselves are read back from the PNG files
(their size, and the status panel's colour in the checking and paid states), not from the widgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from kit import ROOT

from pos_app.selftest import TITLES

pytestmark = pytest.mark.slow

SIZES = [(1280, 800), (1024, 768)]


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    out = tmp_path_factory.mktemp("shots")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")
           and not k.startswith("POS_TERMINAL_")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "pos_app", "screenshots", "--out", str(out), "--languages", "en"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    index = json.loads((out / "index.json").read_text())
    return out, index, done.stderr


def _shot(index, name, size=(1280, 800)):
    return next(e for e in index if e["name"] == f"en-{name}" and e["size"] == list(size))


def _words(entry) -> str:
    return "\n".join(w["text"] for w in entry["widgets"] if w.get("text"))


def _png_size(path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_no_qt_noise(shots):
    """Only the command's own lines: the count, and a window that does not fit said in words."""
    _out, _index, stderr = shots
    lines = [line for line in stderr.splitlines() if line.strip()]
    strangers = [line for line in lines if not line.startswith("pos-terminal screenshots: ")
                 and not line.endswith(" screenshots in " + str(_out))]
    assert strangers == [], "\n".join(strangers)


def test_every_state_at_both_sizes(shots):
    out, index, _stderr = shots
    names = {e["name"] for e in index}
    assert len(names) >= 30
    for name in names:
        taken = {tuple(e["size"]) for e in index if e["name"] == name}
        dialog = "pin" in name
        assert taken == ({SIZES[-1]} if dialog else set(SIZES)), name
    for entry in index:
        path = out / entry["file"]
        if entry["fits"] and "pin" not in entry["name"]:
            assert _png_size(path) == tuple(entry["size"]), entry["file"]


def test_checking_shows_the_check_not_the_outcome(shots):
    out, index, _stderr = shots
    from PySide6.QtGui import QImage

    checking, paid = _shot(index, "cashier-08-checking"), _shot(index, "cashier-05-paid")
    said = next(w["text"] for w in checking["widgets"] if w["objectName"] == "headline")
    assert "checking" in said.lower() and "Not paid yet: the outcome is not known." in _words(checking)
    assert "PAID" in _words(paid).split("\n")

    def panel_colour(entry):
        """The status panel's background, a few pixels inside its top-left corner, in the PNG."""
        panel = next(w for w in entry["widgets"] if w["objectName"] == "status")
        image = QImage(str(out / entry["file"]))
        x, y = (panel["geometry"][i] - entry["origin"][i] + 12 for i in (0, 1))
        return image.pixelColor(x, y).name()

    assert panel_colour(checking) != panel_colour(paid), "the checking screen is painted as the paid one"


def test_selftest_shot_shows_the_selftest(shots):
    _out, index, _stderr = shots
    for size in SIZES:
        entry = _shot(index, "technician-02-selftest", size)
        bar = next(w for w in entry["widgets"] if w["class"] == "QTabBar")
        assert bar["tabs"][bar["currentTab"]] == "Self-test"
        table = next(w for w in entry["widgets"] if "headers" in w and "Check" in w["headers"])
        checks = {row[table["headers"].index("Check")] for row in table["rows"]}
        assert {TITLES["config"], TITLES["journal"], TITLES["gateway"]} <= checks   # each check in words


@pytest.mark.parametrize("name, words", [
    ("cashier-02-ready", "Ready"), ("cashier-05-paid", "PAID"), ("cashier-06-declined", "DECLINED"),
    ("cashier-10-cancelled", "CANCELLED"), ("cashier-07-waiting-for-customer", "Waiting for the customer"),
    ("customer-08-test-pattern", None), ("technician-06-queue-waiting", None)])
def test_names_tell_the_truth(shots, name, words):
    _out, index, _stderr = shots
    for size in SIZES:
        entry = _shot(index, name, size)
        if words is not None:
            assert any(line == words or line.startswith(words) for line in _words(entry).split("\n")), \
                (name, size, _words(entry))


def test_the_receipts_are_shot_as_a_printer_prints_them(shots):
    """Issue 16: the receipt, the merchant copy, a refund slip and the X report land beside the screens as
    576-dot PNGs; the receipt's QR, read back by zxing-cpp from the picture, is the paid sale's request id
    that the manager's day shows, and nothing on a slip is a payment code."""
    import zxingcpp
    from PIL import Image

    out, index, _stderr = shots
    slips = json.loads((out / "receipts.json").read_text())
    assert [s["name"] for s in slips] == ["en-receipt-01-customer", "en-receipt-02-merchant", "en-receipt-03-refund",
                                          "en-receipt-04-x-report"]
    for s in slips:
        assert _png_size(out / s["file"])[0] == 576, s["file"]
    found = zxingcpp.read_barcodes(Image.open(out / "en-receipt-01-customer.png"))
    paid = _words(_shot(index, "cashier-05-paid"))
    assert len(found) == 1 and found[0].text.startswith("PR") and found[0].text in slips[0]["text"]
    assert "Paid" in slips[0]["text"] and "MERCHANT COPY" in slips[1]["text"] and "Alipay+" in slips[0]["text"]
    assert "12.34" in slips[0]["text"] and "12.34" in paid
    assert "2.00" in slips[2]["text"] and found[0].text in slips[2]["text"]
    assert "X REPORT" in slips[3]["text"] and "Sandbox Store 1" in slips[3]["text"]


def test_every_window_fits_the_stores_screens(shots):
    """No state needs more than the screen it is shot at: a window that does not fit is cut off on a kiosk
    (issue 15: 1024x768 and 1280x800; issue 16 added F3, the printer line and the entry-code notice)."""
    _out, index, _stderr = shots
    too_big = [(e["file"], e["actual"]) for e in index if not e["fits"]]
    assert not too_big, too_big
