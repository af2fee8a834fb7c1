"""In Simplified Chinese, no screen shows English: every state ``pos-terminal screenshots`` walks is walked
here too (tests/zhwalk.py runs the same function in a process of its own, offscreen), and every text a
person can see in it (labels, buttons, placeholders, tabs, combo items, table headers and cells, text
views, tooltips, window titles, the words a widget paints) must hold no English word once what is not
language is taken out: amounts and currency codes, ids and codes, keys, paths, the store's name (the
explicit lists below).

This is stricter than "equal to its English source": a Chinese sentence with an English status pasted
into it fails too, since the cashier reads it the same way. A failure names the state, the widget (by
the attribute its window keeps it in, a cell by its column's English header), the text, and the texts
``_()`` was given without a zh_CN entry (marked but not translated, or a value passed to ``_()`` that no
marker covers)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from kit import ROOT

from pos_app.money import EXPONENTS

#: Words that are the same in a Chinese store: keys as printed on the keyboard, names of formats and
#: standards, units Chinese screens use as they are, the letters of the X and Z reports and the PIN pad's
#: clear key. Everything else in Latin letters is English a person would have to read.
EXEMPT_WORDS = {
    "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "F10", "F11", "F12", "Esc", "Enter", "Tab",
    "PIN", "ID", "QR", "App", "X", "Z", "C", "CSV", "PDF", "JSON", "UTC", "RSA", "sha256", "Hz", "MB", "GB", "KiB",
    "PNG", "pos-terminal", "Alipay", "Antom",
} | set(EXPONENTS)   # ISO 4217 currency codes

#: Names and ids: the sandbox's merchant, store and terminal (pos_app/sim/provision.py), shown as configured.
NAMES = ("Sandbox Store 1", "Sandbox Store", "SIM-MERCHANT-001", "S001", "T001")
#: The wallet's own name as the simulator's answers give it (pspName), printed on receipts as the gateway sent it.
WALLETS = ("ALIPAY_SANDBOX",)

#: Spans that are data or code, not words: taken out of a text before it is checked.
EXEMPT_SPANS = [re.compile(p) for p in (
    r"\b(?:https?|sftp)://[^\s\uff0c\u3002\uff1a\uff1b\u3001\uff08\uff09()]+",   # a URL
    r"\bSHA256:[A-Za-z0-9+/=]+",                           # a host key's fingerprint, as ssh-keygen -l gives it
    r"[(\uff08][A-Z][A-Z0-9_-]*[)\uff09]",               # a code after the words: (USER_BALANCE_NOT_ENOUGH), (EAN-13)
    r"`[^`]*`",                                            # a command to type: `pos-terminal devices`
    r"\[\[?[\w.]+\]\]?(?: [a-z][a-z0-9_]*)?",              # a config section or key: [gateway] url
    r'"[a-z][a-z0-9_]*"',                                  # a config value to type: kind = "network"
    r"\*{2,}[0-9A-Za-z]{1,8}\b",                             # a masked id as the wallet gives it: ****f49a
    r"(?<![\w-])--[a-z][a-z-]*",                           # a command-line option
    r"(?<![\w.])[~.]?/[^\s\uff0c\u3002\uff1a\uff1b\u3001\uff08\uff09()'\"]*",   # a path, up to Chinese punctuation
    r"\b[\w-]+(?:\.[\w-]+)*\.(?:pem|toml|sqlite|json|txt|csv|pdf|tar\.gz|gz|log|png)\b",   # a file name
    r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{12,}\b",   # an id: PR2026…, a paymentId
    r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b|\blocalhost(?::\d+)?\b",       # a host and port
    r"\b\d+ ?x ?\d+(?:[+-]\d+[+-]\d+)?\b",                  # a size or geometry: 1280 x 800, 1280x800+0+0
    r"\b\d+ px  Aa Gg 0123456789 ¥€",                      # the test pattern's font ladder (its letters are the test)
    r"POS-TERMINAL TEST [\d: -]+",                          # the test QR's payload, printed under it
    *(re.escape(name) for name in NAMES + WALLETS),
    *(re.escape(os.strerror(n)) for n in sorted(range(1, 134), key=lambda n: -len(os.strerror(n)))
      if not os.strerror(n).startswith("Unknown error")),   # the system's own reason for an OS error
)]

#: Widgets and columns whose content is data the program does not write: a table column is named by its
#: English header (tests/zhwalk.py).
EXEMPT_WHERE = {
    "TechnicianWindow.log_view": "the log file's lines, for support",
    "[ID]": "transaction ids",
    "[Currency]": "currency codes",
    "[Result code]": "the gateway's result codes, by name",
    "[Description]": "what the cashier typed, as the gateway got it",
}

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-+][A-Za-z0-9]+)*")
HAN = re.compile(r"[\u4e00-\u9fff]")


def english_words(text: str) -> list[str]:
    """The Latin-letter words left in ``text`` once the exempt spans and words are out."""
    for span in EXEMPT_SPANS:
        text = span.sub(" ", text)
    return [word for word in WORD.findall(text) if word not in EXEMPT_WORDS]


def exempt_where(where: str) -> bool:
    return any(key in where if key.startswith("[") else where.split(":")[0] == key for key in EXEMPT_WHERE)


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """The zh_CN walk: run once, shared by the tests below."""
    out = tmp_path_factory.mktemp("zh-walk")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CACHE_HOME": str(out / "cache"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "zhwalk.py"), str(out / "walk.json"), "zh_CN"],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "walk.json").read_text(encoding="utf-8")), out / "png"


def test_the_walk_reads_every_state_the_screenshots_take(walk):
    result, png = walk
    assert result["error"] is None, f"the screenshots run broke off:\n{result['error']}"
    states = [state["state"] for state in result["states"]]
    receipts = [r["name"] for r in json.loads((png / "receipts.json").read_text(encoding="utf-8"))]
    assert states and receipts and sorted(states + receipts) == sorted(p.stem for p in png.glob("*.png"))
    assert {"cashier", "customer", "manager", "technician"} <= {name.split("-")[2] for name in states}
    unread = [state["state"] for state in result["states"]
              if not any(HAN.search(t["text"]) for t in state["texts"])]
    assert not unread, f"no Chinese text read in {unread}: the walk does not see these windows' words"


def test_no_screen_shows_english_in_zh_cn(walk):
    result, _png = walk
    found: dict[tuple[str, str], list[str]] = {}
    for state in result["states"]:
        for item in state["texts"]:
            if not exempt_where(item["where"]) and english_words(item["text"]):
                found.setdefault((item["where"], item["text"]), []).append(state["state"])
    lines = [f"  {where}: {text!r}  [{states[0]}{f' +{len(states) - 1}' if len(states) > 1 else ''}]"
             for (where, text), states in found.items()]
    misses = [m for m in result["misses"] if english_words(m)]
    assert not found, (f"{len(found)} texts still English in zh_CN (mark them with _()/N_(), then "
                       f"python -m pos_app.i18n and translate):\n" + "\n".join(lines)
                       + f"\n_() was given these without a zh_CN entry: {misses}")


@pytest.mark.parametrize("text", [
    "Paid", "SUCCESS", "sale", "等待\uff1a1   最早\uff1a2 s", "正在运行 interactive 自检…", "manager PIN",
    "cancelled: nothing was charged, or the money went back (CANCELLED)", "顾客余额不足 File", "Hz meter",
])
def test_english_is_found(text):
    assert english_words(text)


@pytest.mark.parametrize("text", [
    "USD\xa012.34", "F1  扫描顾客付款码", "PR20261206110819fe37a0e5d5024bf6",
    "/tmp/pos-shots-x/journal.sqlite\uff1a完整", "顾客余额不足\u3002 (USER_BALANCE_NOT_ENOUGH)",
    "这是商品条码\uff08EAN-13\uff09", "Z 报表 #1", "请运行 `pos-terminal devices`", "127.0.0.1:40263 可连接",
    "窗口\uff1a1280 x 800",
    "800x800+0+0\uff0c缩放 1.0\uff0c60.0 Hz", "无法创建数据目录 /x\uff1aFile exists",
    "请添加 [[scanners.serial]] 条目", "[gateway] gateway_public_key\uff1a/x 不存在", "sha256 5418002",
    "或改用 --data-dir", "Sandbox Store 1", "终端 T001", "模拟器位于 http://127.0.0.1:45497\uff09",
    "12 px  Aa Gg 0123456789 ¥€",
])
def test_codes_names_and_amounts_are_not_english(text):
    assert not english_words(text)


def test_the_exempt_names_are_the_sandbox_store():
    source = (ROOT / "pos_app" / "sim" / "provision.py").read_text(encoding="utf-8")
    assert all(f'"{name}"' in source for name in NAMES)   # renamed there: rename here
    engine = (ROOT / "pos_app" / "sim" / "engine.py").read_text(encoding="utf-8")
    assert all(f'"{name}"' in engine for name in WALLETS)


def test_no_receipt_shows_english_in_zh_cn(walk):
    """The slips the walk printed (receipts.json: each slip's text as the printer lays it out) hold no English
    word in zh_CN either, but names, ids, amounts and the brand."""
    _result, png = walk
    receipts = json.loads((png / "receipts.json").read_text(encoding="utf-8"))
    data = ("备注", "原因")   # the description as the gateway got it, the reason the manager typed: data, not words
    found = {(r["name"], line): english_words(line) for r in receipts for line in r["text"].splitlines()
             if english_words(line) and not line.startswith(data)}
    assert {r["kind"] for r in receipts} == {"receipt", "refund", "x"}
    assert not found, "English on a zh_CN slip:\n" + "\n".join(f"  {name}: {line!r} {words}"
                                                                for (name, line), words in found.items())
