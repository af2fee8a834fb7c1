"""A receipt as the customer reads it: slips built from a real journal (a sale the simulator paid, a refund,
a Z) and rendered, then read back by readers we did not write against what we did not compute: the PNG's
QR decoded with zxing-cpp, the PDF's text with pypdf, the ESC/POS bytes with tests/printerkit.decode
(written from the command reference). Expected ids and amounts come from plain SQL over the journal's
raw rows (flowkit.journal_query, journal_net), never from pos_app."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
import zxingcpp
from flowkit import journal_net, journal_query, write_config
from kit import payment_code, usd
from PIL import Image
from printerkit import decode
from pypdf import PdfReader

from pos_app import closing, i18n, slip
from pos_app.config import load_config
from pos_app.printout import Till
from pos_app.runtime import Runtime
from pos_app.sim import Simulator


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    sim = Simulator(tmp_path_factory.mktemp("gateway"), "127.0.0.1", 0, notify_time_scale=0.001).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def day(gateway, tmp_path_factory):
    """One paid sale of 12.34 USD (notified), a refund of 2.34 and the Z that closes them."""
    cfgfile, d = write_config(gateway), tmp_path_factory.mktemp("terminal")
    config = load_config(cfgfile)
    config = replace(config, merchant=replace(config.merchant, store_name="Corner Shop 街角小店",
                                              store_address="12 Harbour Road\nWan Chai"))
    with Runtime(cfgfile, d, background=False) as rt:
        t = rt.terminal
        sale = t.start_sale(usd(1234), code=payment_code())
        deadline = time.monotonic() + 10
        while not any(e["kind"] == "notification" for e in t.journal.events(sale.id)):
            assert time.monotonic() < deadline, "the gateway never notified the sale"
            time.sleep(0.02)
        refund = t.refund(sale.id, usd(234), "damaged box")
        t.settle(20)
        j = t.journal
        rows = {"sale": j.get(sale.id), "refund": j.get(refund.id),
                "sale_events": j.events(sale.id), "refund_events": j.events(refund.id)}
        rows["z"] = closing.take_z(j, by="ann", role="manager", till=Till.of(config))
    raw = journal_query(d, "SELECT id, payment_id, code_masked FROM transactions WHERE kind='sale'")
    assert len(raw) == 1
    refund_id = journal_query(d, "SELECT id FROM transactions WHERE kind='refund'")[0][0]
    return {**rows, "config": config, "data_dir": d, "request_id": raw[0][0], "payment_id": raw[0][1],
            "code_masked": raw[0][2], "refund_id": refund_id}


#: A payment code as the journal masks it (``28************9821``): no form of it may be printed.
MASKED = re.compile(r"\d{2}\*{6,}\d{4}")


def _receipt(day, language="en", **kw):
    cfg = replace(day["config"], receipts=replace(day["config"].receipts, language=language))
    return slip.sale_receipt(day["sale"], day["sale_events"], cfg, **kw)


def test_the_png_receipt_s_qr_is_the_payment_request_id(day, tmp_path):
    for language in ("en", "zh_CN"):
        path = slip.write_png(_receipt(day, language), tmp_path / f"receipt-{language}.png")
        image = Image.open(path)
        assert image.width == 576 and image.height > image.width
        found = [(b.format.name, b.text) for b in zxingcpp.read_barcodes(image)]
        assert found == [("QRCode", day["request_id"])]


def test_the_test_page_png_carries_a_qr_and_a_code_128_both_readable(day, tmp_path):
    image = Image.open(slip.write_png(slip.test_page(day["config"]), tmp_path / "test.png"))
    found = sorted((b.format.name, b.text) for b in zxingcpp.read_barcodes(image))
    assert found == [("Code128", "TEST-1234"), ("QRCode", "pos-terminal test page")]


def test_the_pdf_receipt_reads_back_as_the_customer_reads_it(day, tmp_path):
    text = PdfReader(slip.write_pdf(_receipt(day), tmp_path / "r.pdf")).pages[0].extract_text()
    for expected in ("Corner Shop 街角小店", "12 Harbour Road", "12.34 USD", "Paid", day["payment_id"],
                     day["request_id"], "ALIPAY_SANDBOX", "Paid with Alipay+"):
        assert expected in text, expected
    assert MASKED.fullmatch(day["code_masked"]) and not MASKED.search(text)


def test_the_escpos_receipt_decoded_says_what_a_customer_reads(day):
    decoded = decode(slip.escpos_bytes(_receipt(day, copy="merchant"), 42))
    lines = [line.text.strip() for line in decoded.lines]
    assert lines[0] == "MERCHANT COPY" and decoded.lines[1].text == "Corner Shop 街角小店"
    assert decoded.lines[1].width == 2 and decoded.lines[1].align == "center"
    amount = next(line for line in decoded.lines if "12.34 USD" in line.text)
    assert amount.width == 2 and amount.bold
    assert any(t.startswith("Payment ID") and t.endswith(day["payment_id"]) for t in lines)
    assert day["request_id"] in lines and "Paid with Alipay+" in lines
    assert decoded.qr == [day["request_id"]] and decoded.qr_settings[0]["error"] in ("M", "H")
    assert decoded.cuts == ["full"] and not decoded.unknown and not decoded.problems and not decoded.pending
    assert not any(MASKED.search(line.text) for line in decoded.lines)
    assert all(len(line.text) * line.width <= 42 for line in decoded.lines if line.text.isascii())


def test_a_zh_cn_receipt_is_sent_in_chinese_mode_and_decodes_to_the_same_words(day):
    decoded = decode(slip.escpos_bytes(_receipt(day, "zh_CN"), 42))
    lines = [line.text.strip() for line in decoded.lines]
    assert "收款" in lines and "已支付" in lines and decoded.qr == [day["request_id"]]
    assert any(t.startswith("终端") and t.endswith("T001") for t in lines)


def test_the_refund_slip_names_the_refund_and_its_sale(day, tmp_path):
    cfg = day["config"]
    s = slip.refund_slip(day["refund"], day["sale"], day["refund_events"], cfg, sale_events=day["sale_events"])
    text = PdfReader(slip.write_pdf(s, tmp_path / "refund.pdf")).pages[0].extract_text()
    for expected in ("REFUND", "2.34 USD", "damaged box", day["refund_id"], day["payment_id"], "12.34 USD"):
        assert expected in text, expected
    decoded = decode(slip.escpos_bytes(s, 42))
    assert any(day["refund_id"] in line.text for line in decoded.lines) and decoded.cuts == ["full"]


def test_the_printed_z_carries_the_figures_of_the_screen_and_the_net_of_the_journal(day, tmp_path):
    z = day["z"]
    net = journal_net(day["data_dir"], [day["request_id"], day["refund_id"]])
    assert net == 1000
    decoded = decode(slip.escpos_bytes(slip.report_slip(z, day["config"], kind="z"), 42))
    printed = [" ".join(line.text.split()) for line in decoded.lines]
    assert f"Z REPORT #{z['number']}" in printed
    assert "Net 10.00 USD" in printed and "Gross sales (1) 12.34 USD" in printed and "Refunds (1) 2.34 USD" in printed
    screen = " ".join(closing.lines(z))   # what the manager's window and the PDF report show
    for figure in ("12.34", "2.34", "10.00"):
        assert figure in screen
    png = slip.write_png(slip.report_slip(z, replace(day["config"], receipts=replace(
        day["config"].receipts, language="zh_CN")), kind="z"), tmp_path / "z-zh.png")
    assert Image.open(png).width == 576


def test_a_configured_mark_is_printed_as_an_image_and_drawn_in_the_png(day, tmp_path):
    mark = Image.new("RGBA", (300, 80), (0, 0, 0, 0))
    mark.paste((20, 120, 255, 255), (0, 0, 300, 80))
    s = _receipt(day)
    decoded = decode(slip.escpos_bytes(s, 42, mark=mark))
    assert decoded.images and decoded.images[0][0] == 42 * 12
    assert "Alipay+" not in [line.text.strip() for line in decoded.lines]   # the mark stands for the words
    image = Image.open(slip.write_png(s, tmp_path / "m.png", mark=mark)).convert("RGB")
    assert any(image.getpixel((x, y)) != (255, 255, 255) for x in range(150, 420) for y in range(0, image.height, 4)
               if image.getpixel((x, y))[2] > 150 and image.getpixel((x, y))[0] < 100)
