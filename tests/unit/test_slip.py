"""What a receipt says (pos_app.slip's builders): content, copies, never a payment code, the receipts'
language (zh_CN with no English word but names and ids), amounts by the currency's exponent, the JSON
round trip the spool relies on, and lines that fit the paper. Pure: rows and events as the journal returns
them, written here by hand; expected texts are literals."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from pos_app import i18n, slip
from pos_app.config import (
    Config,
    GatewayConfig,
    MerchantConfig,
    NotificationsConfig,
    PrinterConfig,
    ReceiptsConfig,
)
from pos_app.printout import width

REQUEST_ID = "PR20240501103000a1b2c3d4e5f60718"
PAYMENT_ID = "2024050111540000000000000007"
MASKED_CODE = "28************9821"


@pytest.fixture(autouse=True)
def english():
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def config(language: str | None = None, columns: int = 42) -> Config:
    return Config(None, GatewayConfig("https://gw.example", "SANDBOX_X", Path("k.pem"), Path("g.pem")),
                  MerchantConfig("M-1", "Corner Shop Ltd", "5411", "S-01", "Corner Shop", "5411", "T-01", "USD",
                                 "USD", store_address="12 Harbour Road\nWan Chai"),
                  NotificationsConfig("127.0.0.1", 8081, "http://127.0.0.1:8081/notify"),
                  printer=PrinterConfig(kind="network", host="127.0.0.1", columns=columns),
                  receipts=ReceiptsConfig(language=language))


def sale(amount: int = 1234, currency: str = "USD", status: str = "SUCCESS", **kw) -> dict:
    return {"id": REQUEST_ID, "kind": "sale", "tender": "payment_code", "parent": None, "payment_id": PAYMENT_ID,
            "currency": currency, "amount": amount, "status": status, "phase": "PAID", "result_code": "SUCCESS",
            "message": "success", "description": None, "code_masked": MASKED_CODE, "created_at": 1714559400.0,
            "updated_at": 1714559402.0, **kw}


def sale_events() -> list[dict]:
    return [
        {"seq": 1, "at": 1714559400.0, "kind": "created",
         "detail": {"tender": "payment_code", "amount": {"currency": "USD", "value": "1234"}, "code": MASKED_CODE}},
        {"seq": 2, "at": 1714559400.1, "kind": "state", "detail": {"from": None, "to": "SENDING"}},
        {"seq": 3, "at": 1714559401.0, "kind": "answer",
         "detail": {"api": "pay", "status": "success", "resultCode": "SUCCESS", "paymentId": PAYMENT_ID,
                    "pspName": "ALIPAY_CN", "displayCustomerId": "138****5678"}},
        {"seq": 4, "at": 1714559401.5, "kind": "state", "detail": {"from": "SENDING", "to": "PAID"}},
    ]


def refund(status: str = "SUCCESS") -> dict:
    return {"id": "RF20240501110000ffeeddccbbaa9988", "kind": "refund", "tender": None, "parent": REQUEST_ID,
            "payment_id": None, "currency": "USD", "amount": 234, "status": status, "phase": "DONE",
            "result_code": "SUCCESS", "message": "", "description": "damaged box", "code_masked": None,
            "created_at": 1714561200.0, "updated_at": 1714561201.0}


def refund_events() -> list[dict]:
    return [{"seq": 1, "at": 1714561200.0, "kind": "created", "detail": {"sale": REQUEST_ID, "reason": "damaged box"}},
            {"seq": 2, "at": 1714561201.0, "kind": "answer",
             "detail": {"api": "refund", "status": "success", "refundId": "2024050111540000000000000099R"}},
            {"seq": 3, "at": 1714561201.0, "kind": "state", "detail": {"from": "SENDING", "to": "DONE"}}]


def texts(s: slip.Slip) -> list[str]:
    return [line.text for line in s.lines if line.kind == "text"]


def pairs(s: slip.Slip) -> dict[str, str]:
    return {line.text: line.value for line in s.lines if line.kind == "pair"}


# -- the sale's receipt ------------------------------------------------------------------------------------------
def test_a_customer_receipt_says_the_store_the_amount_the_wallet_the_ids_and_the_brand():
    s = slip.sale_receipt(sale(), sale_events(), config())
    assert s.kind == "receipt" and s.language == "en"
    assert texts(s)[:3] == ["Corner Shop", "Corner Shop Ltd", "12 Harbour Road"] and "Wan Chai" in texts(s)
    big = [line for line in s.lines if line.size == 2 and line.kind == "text"]
    assert [line.text for line in big] == ["Corner Shop", "12.34 USD"]
    assert "SALE" in texts(s) and "Paid" in texts(s)
    p = pairs(s)
    assert p["Terminal"] == "T-01"
    assert re.fullmatch(r"2024-05-0[12] \d\d:\d\d:01", p["Date"])   # the PAID state's time, local
    assert p["Wallet"] == "ALIPAY_CN" and p["Customer"] == "138****5678"
    assert p["Payment ID"] == PAYMENT_ID and p["Payment request ID"] == REQUEST_ID
    assert [line.data for line in s.lines if line.kind == "qr"] == [REQUEST_ID]
    assert [line.text for line in s.lines if line.kind == "mark"] == ["Alipay+"]
    assert "Paid with Alipay+" in texts(s)
    assert "MERCHANT COPY" not in texts(s) and "REPRINT" not in texts(s)
    assert s.lines[-1].kind == "cut"


def test_the_wallet_comes_from_a_notification_when_the_answer_had_none():
    events = sale_events()
    events[2]["detail"] = {k: v for k, v in events[2]["detail"].items() if k not in ("pspName", "displayCustomerId")}
    events.append({"seq": 5, "at": 1714559402.0, "kind": "notification",
                   "detail": {"notifyType": "PAYMENT_RESULT", "pspName": "GCASH", "displayCustomerId": "0917***12"}})
    p = pairs(slip.sale_receipt(sale(), events, config()))
    assert p["Wallet"] == "GCASH" and p["Customer"] == "0917***12"


def test_without_a_wallet_in_the_journal_the_lines_are_left_out_not_blank():
    events = [e for e in sale_events() if e["kind"] != "answer"]
    p = pairs(slip.sale_receipt(sale(), events, config()))
    assert "Wallet" not in p and "Customer" not in p and p["Payment ID"] == PAYMENT_ID


@pytest.mark.parametrize(("copy", "banner"), [("merchant", "MERCHANT COPY"), ("reprint", "REPRINT")])
def test_a_merchant_copy_and_a_reprint_say_so_first_and_say_the_rest_alike(copy, banner):
    customer = slip.sale_receipt(sale(), sale_events(), config())
    other = slip.sale_receipt(sale(), sale_events(), config(), copy=copy)
    assert other.lines[0].text == banner and other.lines[0].bold
    assert other.lines[1:] == customer.lines


def test_an_unknown_copy_or_a_row_that_is_no_sale_is_refused_in_words():
    with pytest.raises(slip.SlipError, match="customer, merchant or reprint"):
        slip.sale_receipt(sale(), sale_events(), config(), copy="kitchen")
    with pytest.raises(slip.SlipError, match="is not a sale"):
        slip.sale_receipt(refund(), refund_events(), config())


def test_no_payment_code_is_ever_printed_not_even_masked():
    s = slip.sale_receipt(sale(), sale_events(), config())
    dumped = json.dumps(s.to_json())
    assert MASKED_CODE not in dumped and "9821" not in dumped and "**9821" not in s.text()
    assert b"9821" not in slip.escpos_bytes(s, 42)


@pytest.mark.parametrize(("amount", "currency", "printed"), [
    (1234, "USD", "12.34 USD"), (1500, "JPY", "1500 JPY"), (1234, "KWD", "1.234 KWD"), (5, "CNY", "0.05 CNY")])
def test_the_amount_is_in_major_units_with_the_currency_s_decimals(amount, currency, printed):
    s = slip.sale_receipt(sale(amount, currency), sale_events(), config())
    assert [line.text for line in s.lines if line.size == 2][1] == printed


def test_a_declined_sale_s_receipt_says_declined():
    s = slip.sale_receipt(sale(status="FAILED", result_code="USER_BALANCE_NOT_ENOUGH"), sale_events(), config())
    assert "Declined" in texts(s)


# -- the receipts' language ------------------------------------------------------------------------------------
NAMES_AND_IDS = {"Corner", "Shop", "Ltd", "Harbour", "Road", "Wan", "Chai", "ALIPAY_CN", "Alipay", "USD", "T-01"}


def english_words(s: slip.Slip) -> set[str]:
    """Latin words of the slip's text that are not a name, a currency or part of an id."""
    words = [w for line in s.lines for w in f"{line.text} {line.value}".split()]
    ids = {REQUEST_ID, PAYMENT_ID, "138****5678", refund()["id"], "2024050111540000000000000099R"}
    return {t for w in words if w not in ids for t in re.findall(r"[A-Za-z][\w\-]*", w)} - NAMES_AND_IDS


def test_a_zh_cn_receipt_has_no_english_word_but_names_and_ids():
    s = slip.sale_receipt(sale(), sale_events(), config("zh_CN"))
    assert s.language == "zh_CN"
    assert "收款" in texts(s) and "已支付" in texts(s)
    assert english_words(s) == set()


def test_zh_cn_refund_slip_has_no_english_word_but_names_and_ids():
    s = slip.refund_slip(refund(), sale(), refund_events(), config("zh_CN"), sale_events=sale_events())
    assert english_words(s) - {"damaged", "box"} == set()   # the reason is the manager's own words


def test_the_receipts_language_is_for_the_slip_only_and_none_keeps_the_terminal_s():
    slip.sale_receipt(sale(), sale_events(), config("zh_CN"))
    assert i18n.language() == "en" and i18n._("Store") == "Store"
    i18n.set_language("zh_CN")
    assert slip.sale_receipt(sale(), sale_events(), config(None)).language == "zh_CN"
    assert slip.sale_receipt(sale(), sale_events(), config("en")).language == "en"


# -- refund, cancel, reports, test page ----------------------------------------------------------------------------
def test_a_refund_slip_says_what_went_back_why_and_for_which_sale():
    s = slip.refund_slip(refund(), sale(), refund_events(), config(), sale_events=sale_events())
    assert s.kind == "refund"
    assert "REFUND" in texts(s) and "2.34 USD" in texts(s) and "Done" in texts(s)
    p = pairs(s)
    assert p["Reason"] == "damaged box" and p["Refund ID"] == "2024050111540000000000000099R"
    assert p["Refund request ID"] == refund()["id"]
    assert p["Amount"] == "12.34 USD" and p["Payment ID"] == PAYMENT_ID and p["Payment request ID"] == REQUEST_ID
    assert p["Wallet"] == "ALIPAY_CN" and "Refunded through Alipay+" in texts(s)


def test_a_cancel_slip_and_a_slip_of_another_sale_s_child():
    cancel = {**refund(), "id": "CX20240501110000ffeeddccbbaa9988", "kind": "cancel", "amount": 1234,
              "description": None}
    s = slip.cancel_slip(cancel, sale(), [], config())
    assert s.kind == "cancel" and "CANCEL" in texts(s) and "12.34 USD" in texts(s)
    assert pairs(s)["Cancel request ID"] == cancel["id"]
    with pytest.raises(slip.SlipError, match="is not a refund of sale"):
        slip.refund_slip({**refund(), "parent": "PRother"}, sale(), [], config())


Z = {"type": "Z", "number": 7, "day": "2024-05-01", "takenAt": 1714590000.0, "takenBy": "ann", "takenAs": "manager",
     "store": "Corner Shop", "storeId": "S-01", "terminalId": "T-01",
     "session": {"number": 7, "since": 1714550000.0, "previousZ": 6, "count": 3},
     "totals": {}, "differences": {"stillOpen": [], "needsReview": [{"id": "PRx"}], "settledByReconciliation": []},
     "summary": {"USD": {"gross": {"value": 3000, "amount": "30.00", "count": 2},
                         "refunds": {"value": 234, "amount": "2.34", "count": 1},
                         "cancels": {"value": 0, "amount": "0.00", "count": 0},
                         "net": {"value": 2766, "amount": "27.66"}, "count": 2,
                         "average": {"value": 1500, "amount": "15.00"}}},
     "sha256": "ab" * 32}


def test_a_z_report_slip_carries_the_report_s_figures():
    s = slip.report_slip(Z, config(), kind="z")
    assert s.kind == "z" and texts(s)[0] == "Z REPORT #7"
    p = pairs(s)
    assert p["Gross sales (2)"] == "30.00 USD" and p["Refunds (1)"] == "2.34 USD"
    assert p["Cancels (0)"] == "0.00 USD" and p["Net"] == "27.66 USD" and p["Average sale"] == "15.00 USD"
    assert p["Store"] == "Corner Shop (S-01)" and p["Terminal"] == "T-01" and p["Taken by"] == "ann (manager)"
    assert any("1 need review" in t for t in texts(s)) and "ab" * 32 in texts(s)
    with pytest.raises(slip.SlipError):
        slip.report_slip(Z, config(), kind="x")


def test_the_test_page_shows_the_printer_a_ruler_of_its_columns_a_qr_a_barcode_and_the_brand():
    s = slip.test_page(config(columns=32))
    assert s.kind == "test" and pairs(s)["Printer"] == "network 127.0.0.1:9100" and pairs(s)["Columns"] == "32"
    assert "12345678901234567890123456789012" in texts(s)
    assert [line.kind for line in s.lines if line.kind in ("qr", "barcode", "mark")] == ["qr", "barcode", "mark"]


def test_code_128_is_added_only_where_it_fits_the_paper_at_two_dots_a_module():
    assert not slip.code128_fits(REQUEST_ID, 48)          # 32 characters: 389 modules, 778 dots > 576
    assert slip.code128_fits("A" * 21, 48) and not slip.code128_fits("A" * 22, 48)   # 288 modules = 576 dots
    assert not any(line.kind == "barcode" for line in slip.sale_receipt(sale(), sale_events(), config()).lines)
    short = slip.sale_receipt(sale(id="PR123"), sale_events(), config())
    assert [line.data for line in short.lines if line.kind == "barcode"] == ["PR123"]


# -- the document ------------------------------------------------------------------------------------------------
def test_a_slip_survives_its_json_round_trip_and_prints_the_same():
    for s in (slip.sale_receipt(sale(), sale_events(), config("zh_CN")), slip.report_slip(Z, config(), kind="z"),
              slip.test_page(config())):
        back = slip.Slip.from_json(json.loads(json.dumps(s.to_json())))
        assert back == s and slip.escpos_bytes(back, 42) == slip.escpos_bytes(s, 42)
        assert slip.Slip.from_json(json.dumps(s.to_json())) == s


@pytest.mark.parametrize("body", ["{", "[]", {"version": 1, "kind": "receipt", "language": "en", "lines": [{}]},
                                  {"version": 1, "kind": "menu", "language": "en", "lines": []},
                                  {"version": 9, "kind": "receipt", "language": "en", "lines": []},
                                  {"version": 1, "kind": "receipt", "language": "en",
                                   "lines": [{"kind": "text", "size": 3}]},
                                  {"version": 1, "kind": "receipt", "language": "en",
                                   "lines": [{"kind": "text", "colour": "red"}]}])
def test_a_damaged_record_is_an_error_in_words(body):
    with pytest.raises(slip.SlipError) as e:
        slip.Slip.from_json(body)
    assert "slip" in str(e.value)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("columns", [32, 42, 48])
def test_every_row_fits_the_paper_and_a_pair_keeps_its_value_at_the_right(language, columns):
    cfg = replace(config(language, columns))
    for s in (slip.sale_receipt(sale(), sale_events(), cfg),
              slip.refund_slip(refund(), sale(), refund_events(), cfg, sale_events=sale_events()),
              slip.report_slip(Z, cfg, kind="z"), slip.test_page(cfg)):
        for row in slip.layout(s, columns):
            assert width(row.text) * row.size <= columns, (row, columns)
    rows = [r.text for r in slip.layout(slip.sale_receipt(sale(), sale_events(), cfg), columns)]
    terminal = next(r for r in rows if r.endswith("T-01"))
    assert width(terminal) == columns   # label left, value right: a Chinese label counts two columns a character


HOSTILE_DESCRIPTION = "Coffee \x1b@\x1dV\x00\x07 two\r\nlines\tand a tab \u202eevil\u202c \u200bgone"


def columns_of(text: str) -> int:
    """Display columns as a printer's font has them, read from the Unicode tables (not slip's own width)."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("columns", [32, 42, 48])
def test_control_characters_in_a_description_or_a_wallet_answer_never_reach_the_printer(language, columns):
    """A description (typed, or sent by a caller) and the wallet's answer are text: ESC @ (reset), GS V 0 (a
    cut), BEL, a tab, a line break or a bidi override inside them used to go to the printer as they were,
    cutting the receipt in the middle and gluing the customer id to the next line. Decoded with the
    stand-in's own reader: one cut, at the end; every line within the paper; no control character."""
    from printerkit import decode
    events = sale_events()
    events[2]["detail"] = {**events[2]["detail"], "pspName": "ALIPAY\x1bE_CN\u202e",
                           "displayCustomerId": "138****5678\x1b"}
    receipt = slip.sale_receipt(sale(description=HOSTILE_DESCRIPTION), events, config(language, columns))
    out = decode(slip.escpos_bytes(receipt, columns))
    assert out.cuts == ["full"] and not out.unknown and not out.problems, (out.cuts, out.unknown, out.problems)
    for line in out.lines:
        assert columns_of(line.text) * line.width <= columns, (line, columns)
        assert not any(ord(ch) < 0x20 or ch in "\u202e\u202c\u200b\x7f" for ch in line.text), line
    customer = next(line.text for line in out.lines if line.text.endswith("138****5678"))
    assert columns_of(customer) == columns   # its own line, the id at the right
    assert any("ALIPAY" in line.text for line in out.lines)
    described = " ".join(line.text.strip() for line in out.lines)
    assert "two lines and a tab" in described and "evil" in described and "gone" in described


def test_an_emoji_in_a_chinese_row_is_a_question_mark_not_a_four_byte_sequence():
    """GB18030 encodes an emoji in four bytes no receipt printer's Chinese font holds (it prints garbage of
    unknown width): in Chinese mode a row is GBK, and what GBK has not is a '?'."""
    cfg = config("zh_CN")
    cfg = replace(cfg, merchant=replace(cfg.merchant, store_name="街角小店 🛒"))
    data = slip.escpos_bytes(slip.sale_receipt(sale(), sale_events(), cfg), 42)
    assert "🛒".encode("gb18030") not in data
    assert b"\x1c&" + "街角小店 ?".encode("gbk") + b"\x1c." in data


def test_wrap_breaks_at_spaces_and_chinese_anywhere():
    assert slip.wrap("one two three", 8) == ["one two", "three"]
    assert slip.wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert slip.wrap("差异\uff1a笔仍未结束", 6) == ["差异\uff1a", "笔仍未", "结束"]   # a full-width colon


# -- ESC/POS, as plain bytes (the decoded reading is tests/integration/test_slip_render.py) --------------------------
def test_escpos_starts_with_init_ends_with_a_cut_and_sends_chinese_in_chinese_mode_as_gb18030():
    data = slip.escpos_bytes(slip.sale_receipt(sale(), sale_events(), config("zh_CN")), 42)
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1bd\x06\x1dV\x00")   # ESC @ ... ESC d 6, GS V 0
    assert b"\x1c&" + "已支付".encode("gb18030") + b"\x1c." in data
    assert REQUEST_ID.encode() in data


def test_the_journal_keeps_the_wallet_and_the_masked_customer_id_never_the_unmasked_one():
    from pos_app.answers import customer_info, notification_detail
    body = {"notifyType": "PAYMENT_RESULT", "paymentRequestId": REQUEST_ID,
            "pspCustomerInfo": {"pspName": "ALIPAY_CN", "displayCustomerId": "138****5678",
                                "pspCustomerId": "2088000000000001"}}
    detail = notification_detail(body)
    assert detail["pspName"] == "ALIPAY_CN" and detail["displayCustomerId"] == "138****5678"
    assert "2088000000000001" not in json.dumps(detail)
    assert customer_info({"pspCustomerInfo": {"pspName": 7, "displayCustomerId": ""}}) == {}
    assert customer_info({"pspCustomerInfo": "ALIPAY_CN"}) == {} and customer_info({}) == {}


def test_a_slip_s_language_holds_in_its_own_thread_only():
    import threading
    inside, done = threading.Event(), threading.Event()
    seen = []

    def printing_worker():
        with i18n.speaking("zh_CN"):
            seen.append(i18n._("Store"))
            inside.set()
            done.wait(10)
            seen.append(i18n._("Store"))

    worker = threading.Thread(target=printing_worker)
    worker.start()
    assert inside.wait(10)
    assert i18n._("Store") == "Store" and i18n.language() == "en"   # the windows' thread, meanwhile
    done.set()
    worker.join(10)
    assert seen == ["门店", "门店"]
