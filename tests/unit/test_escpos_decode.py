"""The ESC/POS reader of tests/printerkit.py on byte strings built by hand from the Epson ESC/POS command
reference, and one cross-check: what python-escpos's Dummy printer writes for text, a QR code, a barcode and
a cut reads back as the same content (two independent sides agreeing)."""

from __future__ import annotations

from escpos.printer import Dummy
from printerkit import decode

ESC, GS, FS, DLE, EOT, LF = b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x04", b"\n"
INIT = ESC + b"@"


def qr(payload: bytes, *, model=50, size=6, level=51) -> bytes:
    """GS ( k, cn 49: fn 65 model, fn 67 module size, fn 69 error level, fn 80 store (m 48), fn 81 print."""
    def fn(body: bytes) -> bytes:
        return GS + b"(k" + len(body).to_bytes(2, "little") + body
    return (fn(bytes([49, 65, model, 0])) + fn(bytes([49, 67, size])) + fn(bytes([49, 69, level]))
            + fn(bytes([49, 80, 48]) + payload) + fn(bytes([49, 81, 48])))


def test_text_lines_with_alignment_bold_and_size():
    data = (INIT + ESC + b"a\x01" + ESC + b"E\x01" + GS + b"!\x11" + b"STORE" + LF
            + GS + b"!\x00" + ESC + b"E\x00" + ESC + b"a\x00" + b"Coffee      3.50" + LF
            + ESC + b"a\x32" + b"right" + LF + LF)
    out = decode(data)
    assert out.unknown == [] and out.problems == [] and out.inits == 1
    assert [(line.text, line.align, line.bold, line.width, line.height) for line in out.lines] == [
        ("STORE", "center", True, 2, 2), ("Coffee      3.50", "left", False, 1, 1), ("right", "right", False, 1, 1),
        ("", "right", False, 1, 1)]
    assert out.texts == ["STORE", "Coffee      3.50", "right"]


def test_esc_bang_sets_bold_double_height_and_width_at_once():
    out = decode(ESC + b"!\x38" + b"BIG" + LF + ESC + b"!\x00" + b"small" + LF)
    assert [(line.bold, line.width, line.height) for line in out.lines] == [(True, 2, 2), (False, 1, 1)]


def test_a_line_takes_the_style_of_its_first_character():
    out = decode(ESC + b"E\x01" + b"Total" + ESC + b"E\x00" + b"  12.00" + LF)
    assert out.line("Total").bold and out.line("Total").text == "Total  12.00"


def test_esc_d_prints_the_buffer_then_feeds_and_text_without_lf_is_not_printed():
    out = decode(b"last line" + ESC + b"d\x03" + b"never printed")
    assert out.texts == ["last line"] and out.feeds == 3 and out.pending == "never printed"


def test_esc_at_clears_the_buffer_and_the_modes():
    out = decode(ESC + b"E\x01" + b"lost" + INIT + b"kept" + LF)
    assert out.texts == ["kept"] and not out.lines[0].bold


def test_cuts_full_partial_and_with_feed():
    out = decode(GS + b"V\x00" + GS + b"V\x31" + GS + b"VA\x10" + GS + b"VB\x00" + GS + b"V\x30")
    assert out.cuts == ["full", "partial", "full", "partial", "full"] and out.unknown == []


def test_a_cut_in_the_middle_of_a_line_is_a_problem():
    out = decode(b"half" + GS + b"V\x00")
    assert out.cuts == ["full"] and out.problems and out.pending == "half"


def test_qr_payload_and_settings():
    out = decode(qr(b"https://pay.example/r/ABC123") + LF)
    assert out.qr == ["https://pay.example/r/ABC123"]
    assert out.qr_settings == [{"model": 2, "size": 6, "error": "H"}] and out.unknown == []


def test_a_qr_stored_but_never_printed_is_not_on_the_paper():
    data = qr(b"x")
    out = decode(data[:data.rindex(GS + b"(k")])
    assert out.qr == []


def test_code128_sets_b_and_c_and_escapes():
    data = (GS + b"kI" + bytes([9]) + b"{BPAY-123" + GS + b"kI" + bytes([6]) + b"{C" + bytes([12, 34, 5, 99])
            + GS + b"kI" + bytes([9]) + b"{Ba{{b{Sc")
    out = decode(data)
    assert out.barcodes == [("CODE128", "PAY-123"), ("CODE128", "12340599"), ("CODE128", "a{bc")]
    assert out.problems == [] and out.unknown == []


def test_barcode_function_a_is_nul_terminated():
    out = decode(GS + b"k\x04" + b"ABC-12\x00" + GS + b"k\x02" + b"4006381333931\x00" + b"after" + LF)
    assert out.barcodes == [("CODE39", "ABC-12"), ("EAN13", "4006381333931")] and out.texts == ["after"]


def test_code128_without_a_code_set_is_a_problem():
    out = decode(GS + b"kI\x03abc")
    assert out.problems


def test_barcode_settings_are_kept_with_the_barcode():
    out = decode(GS + b"h\x50" + GS + b"w\x02" + GS + b"H\x02" + GS + b"kI\x05{B123")
    assert out.barcode_settings == [{"height": 0x50, "width": 2, "hri": 2}]


def test_raster_image_size_and_its_data_skipped():
    pixels = bytes([0x0A] * (3 * 5))      # 3 bytes a row (24 dots), 5 rows; 0x0A would be a LF as text
    out = decode(GS + b"v0\x00" + bytes([3, 0, 5, 0]) + pixels + b"below" + LF)
    assert out.images == [(24, 5)] and out.texts == ["below"] and out.unknown == []


def test_code_page_and_chinese_mode():
    out = decode(ESC + b"t\x10" + "Café €".encode("cp1252") + LF
                 + FS + b"&" + "金额 ¥12.00 合计".encode("gb18030") + LF + FS + b"." + b"back" + LF)
    assert out.texts == ["Café €", "金额 ¥12.00 合计", "back"] and out.unknown == []


def test_status_queries_are_recorded_not_printed():
    out = decode(DLE + EOT + b"\x01" + DLE + EOT + b"\x04" + b"x" + LF)
    assert out.queries == [1, 4] and out.texts == ["x"]


def test_unknown_commands_are_reported():
    out = decode(ESC + b"\xf0" + b"a" + LF + b"\x07" + GS + b"(k\x03\x00" + bytes([48, 65, 0]))
    assert out.unknown == [ESC + b"\xf0", b"\x07", GS + b"(k\x03\x00" + bytes([48, 65, 0])]
    assert out.texts == ["a"]


def test_a_truncated_command_is_a_problem_and_unknown():
    out = decode(b"ok" + LF + GS + b"v0\x00\x10\x00\x10\x00" + b"\x00" * 10)
    assert out.texts == ["ok"] and out.problems and out.unknown


def test_events_keep_the_order():
    out = decode(b"a" + LF + qr(b"q") + GS + b"kI\x03{B1" + GS + b"V\x00")
    assert [kind for kind, _ in out.events] == ["line", "qr", "barcode", "cut"]


# -- the cross-check ------------------------------------------------------------------------------

def test_python_escpos_output_reads_back_as_what_it_was_given():
    p = Dummy()
    p.hw("INIT")
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.textln("My Store")
    p.set_with_default()
    p.textln("Total: 12.34 USD")
    p.set(align="right")
    p.textln("paid")
    p.set_with_default()
    p.qr("2024070100000001", native=True, size=5, ec=3)   # ec 3 is python-escpos's QR_ECLEVEL_H
    p.barcode("{B2024070100000001", "CODE128", function_type="B")
    p.ln(2)
    p.cut()
    p.cut(mode="PART")
    out = decode(p.output)
    assert out.unknown == [] and out.problems == [] and out.pending == ""
    assert out.texts == ["My Store", "Total: 12.34 USD", "paid"]
    assert (out.line("My Store").align, out.line("My Store").bold, out.line("My Store").width,
            out.line("My Store").height) == ("center", True, 2, 2)
    assert out.line("paid").align == "right" and not out.line("Total").bold
    assert out.qr == ["2024070100000001"] and out.qr_settings[0]["size"] == 5 and out.qr_settings[0]["error"] == "H"
    assert out.barcodes == [("CODE128", "2024070100000001")]
    assert out.cuts == ["full", "partial"]


def test_python_escpos_raster_image_reads_as_its_size():
    from PIL import Image

    p = Dummy()
    p.image(Image.new("1", (64, 20), 1), impl="bitImageRaster")
    out = decode(p.output)
    assert out.images == [(64, 20)] and out.unknown == []
