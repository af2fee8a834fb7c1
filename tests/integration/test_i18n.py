"""Every string a person reads is translatable, the Simplified Chinese catalogue covers them all, and what
gettext shows at run time is what the .po says (checked against GNU gettext's own tools where present)."""

from __future__ import annotations

import ast
import gettext
import io
import re
import shutil
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po
from kit import ROOT

from pos_app import i18n
from pos_app.i18n import LOCALE_DIR, _, extract, normalise, read_catalogue, set_language, untranslated

SOURCES = [ROOT / name for name in i18n.SOURCES]
GNU = pytest.mark.skipif(not (shutil.which("msgfmt") and shutil.which("xgettext")),
                         reason="GNU gettext's tools are the independent reference (apt install gettext)")

SAMPLE_PO = r'''# a catalogue as a translator's tool writes it
msgid ""
msgstr ""
"Language: zh_CN\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=1; plural=0;\n"

msgid "a"
msgstr ""
"b"
"c"

#, fuzzy
msgid "x"
msgstr "y"

msgid "q\"uote {n}\n"
msgstr "引\"号 {n}\n"

msgid "untranslated"
msgstr ""
'''


@pytest.fixture
def locale(tmp_path, monkeypatch):
    """A locale folder and a user cache of its own (the shipped ones untouched)."""
    folder = tmp_path / "locale"
    folder.mkdir()
    monkeypatch.setattr(i18n, "LOCALE_DIR", folder)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield folder
    set_language("en")


def test_the_chinese_catalogue_covers_every_string():
    missing = untranslated(read_catalogue("zh_CN"), extract(SOURCES))
    assert not missing, (f"{len(missing)} strings lack a zh_CN translation (python -m pos_app.i18n adds them to "
                         f"the .po and lists them): {missing[:5]}")


@GNU
def test_babel_finds_what_xgettext_finds():
    files = sorted(str(p) for folder in SOURCES for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    done = subprocess.run(["xgettext", "-L", "Python", "--from-code=UTF-8", "--keyword", "-k_", "-kN_", "-o", "-",
                           *files], capture_output=True, check=True)
    theirs = {m.id for m in read_po(io.BytesIO(done.stdout)) if m.id}
    assert theirs == set(extract(SOURCES))


def test_a_marker_nested_in_another_call_is_extracted(tmp_path):
    """Babel's tokenizing extractor dropped an N_ inside _(…)'s expression argument (terminal.py's
    fallback for an open sale), so that text was shown in English; xgettext and the tree both see it."""
    (tmp_path / "m.py").write_text('WORDS = {}\nx = _(WORDS.get(1, N_("still open")))\n'
                                   'y = f"{_(\'in an f-string\')}"\nz = obj._("by attribute")\n', encoding="utf-8")
    assert extract([tmp_path]) == ["still open", "by attribute"]


def test_no_marker_hides_inside_an_f_string():
    """Babel's extractor (like xgettext) does not look inside f-string expressions on Python 3.11, so a
    ``_("…")`` there would silently drop out of the catalogue at the next merge."""
    hidden = []
    for path in sorted(p for folder in SOURCES for p in folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                hidden += [f"{path.relative_to(ROOT)}:{call.lineno}" for call in ast.walk(node)
                           if isinstance(call, ast.Call) and getattr(call.func, "id", None) in i18n.KEYWORDS
                           and call.args and isinstance(call.args[0], ast.Constant)]   # a literal: to extract
    assert not hidden, f"move these _() calls out of their f-strings: {hidden}"


def test_no_function_that_translates_rebinds_the_marker():
    """``for _ in …`` or ``x, _ = …`` in a function makes ``_`` local to all of it: its ``_("…")`` calls then
    call an int or a string (a TypeError, or an UnboundLocalError before the assignment) instead of
    translating. Easy to write when marking an old function's strings; name the throwaway ``_unused``."""
    bound = []
    for path in sorted(p for folder in SOURCES for p in folder.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            inner = [n for n in ast.walk(fn) if n is not fn]
            calls = any(isinstance(n, ast.Call) and getattr(n.func, "id", None) in i18n.KEYWORDS for n in inner)
            stores = [n.lineno for n in inner if isinstance(n, ast.Name) and n.id in i18n.KEYWORDS
                      and isinstance(n.ctx, ast.Store)]
            params = [a.lineno for a in ast.walk(fn.args) if isinstance(a, ast.arg) and a.arg in i18n.KEYWORDS]
            if calls and (stores or params):
                bound.append(f"{path.relative_to(ROOT)}:{(stores + params)[0]}")
    assert not bound, f"rename the throwaway variable called _ in these functions that call _(): {bound}"


def test_placeholders_survive_translation():
    for message in read_catalogue("zh_CN"):
        if message.id and message.string:
            assert set(re.findall(r"\{\w+\}", message.id)) == set(re.findall(r"\{\w+\}", message.string)), message.id


@GNU
def test_the_compiled_catalogue_says_what_msgfmt_says(tmp_path):
    """Our .mo (Babel) and GNU msgfmt's, both read by the standard library: the same translations."""
    subprocess.run(["msgfmt", "--check-format", "-o", str(tmp_path / "gnu.mo"), str(LOCALE_DIR / "zh_CN.po")],
                   check=True)
    with open(i18n.compile_all(tmp_path)[0], "rb") as f, open(tmp_path / "gnu.mo", "rb") as g:
        ours, gnu = gettext.GNUTranslations(f), gettext.GNUTranslations(g)
    ours._catalog.pop(""), gnu._catalog.pop("")   # the headers: each tool writes its own
    assert ours._catalog == gnu._catalog and len(ours._catalog) > 300


def test_switching_language():
    try:
        assert set_language("zh_CN.UTF-8") == "zh_CN"
        assert _("PAID") == "支付成功" and _("") == ""
        assert set_language("fr_FR") == "en" and _("PAID") == "PAID"
    finally:
        set_language("en")
    assert normalise("zh_TW") == "zh_CN" and normalise(None) == "en"


def test_gettext_shows_the_po_as_written(locale):
    (locale / "zh_CN.po").write_text(SAMPLE_PO, encoding="utf-8")
    assert set_language("zh_CN") == "zh_CN"
    assert _("a") == "bc" and _('q"uote {n}\n') == '引"号 {n}\n'
    assert _("x") == "x" and _("untranslated") == "untranslated" and _("never seen") == "never seen"


def test_an_edited_po_is_never_shadowed_by_its_old_mo(locale, tmp_path):
    (locale / "zh_CN.po").write_text(SAMPLE_PO, encoding="utf-8")
    i18n.compile_all()                      # as the package build does
    set_language("zh_CN")                   # and as a first start caches
    (locale / "zh_CN.po").write_text(SAMPLE_PO.replace('"b"\n"c"', '"new"'), encoding="utf-8")
    assert set_language("zh_CN") == "zh_CN" and _("a") == "new"
    assert [p.name for p in (tmp_path / "cache" / "pos-terminal" / "locale").iterdir()] == \
        [i18n.mo_name("zh_CN", (locale / "zh_CN.po").read_bytes())]   # the older compilation is gone


def test_a_shipped_mo_needs_no_babel(locale, tmp_path):
    """The Debian bundle ships compiled catalogues and leaves Babel out: gettext alone reads them."""
    (locale / "zh_CN.po").write_text(SAMPLE_PO, encoding="utf-8")
    i18n.compile_all()
    code = ("import sys; sys.modules['babel'] = None\n"
            "from pathlib import Path; from pos_app import i18n\n"
            f"i18n.LOCALE_DIR = Path({str(locale)!r})\n"
            "assert i18n.set_language('zh_CN') == 'zh_CN' and i18n._('a') == 'bc'\n"
            "assert 'babel.messages' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "empty-cache")}, check=False)
    assert done.returncode == 0, done.stderr


def test_an_unwritable_cache_still_translates(locale, tmp_path, monkeypatch):
    (locale / "zh_CN.po").write_text(SAMPLE_PO, encoding="utf-8")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))
    assert set_language("zh_CN") == "zh_CN" and _("a") == "bc"


def test_a_broken_po_falls_back_to_english_with_a_reason(locale, caplog):
    (locale / "zh_CN.po").write_text('msgid "a"\nmsgstr "b"\nmsgid\n', encoding="utf-8")
    assert set_language("zh_CN") == "en" and _("a") == "a"
    assert "zh_CN translations cannot be loaded" in caplog.text


def test_update_merges_new_strings_and_drops_gone_ones(locale, tmp_path, monkeypatch):
    source = tmp_path / "src" / "pos_app"
    source.mkdir(parents=True)
    (source / "m.py").write_text('from pos_app.i18n import _, N_\nA = N_("a")\nprint(_("Fresh text {n}"))\n')
    (locale / "zh_CN.po").write_text(SAMPLE_PO, encoding="utf-8")
    monkeypatch.setattr(i18n, "SOURCES", ("pos_app",))
    assert i18n.update(tmp_path / "src") == {"zh_CN": ["Fresh text {n}"]}
    catalog = read_catalogue("zh_CN")
    assert catalog.get("a").string == "bc" and catalog.get("Fresh text {n}").string == ""
    assert catalog.get("untranslated") is None and catalog.get('q"uote {n}\n') is None
    before = (locale / "zh_CN.po").read_bytes()
    i18n.update(tmp_path / "src")
    assert (locale / "zh_CN.po").read_bytes() == before   # a second run changes nothing


def test_the_core_never_imports_qt():
    code = ("import sys, pos_app.cli, pos_app.terminal, pos_app.sale_view, pos_app.checkout, pos_app.device_commands, "
            "offline_queue.journal, drivers.hub, drivers.keydecoder; "
            "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
