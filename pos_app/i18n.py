"""Translations: every string a person reads goes through :func:`_`, in the core and in the Qt windows.

One mechanism for both (the core has no Qt): gettext-style ``_("English text")`` markers and one
``.po`` file per language in ``pos_app/locale/``, the format every translation tool reads. The catalogue
is parsed here (a few dozen lines) instead of compiled to ``.mo``, so a translator's edit needs no build
step. English is the source language; a missing translation shows the English text, never nothing.
"""

from __future__ import annotations

import ast
import os
import threading
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}

_lock = threading.Lock()
_catalogue: dict[str, str] = {}
_language = "en"


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr from a .po file; untranslated and fuzzy entries are left out."""
    entries: dict[str, str] = {}
    msgid = msgstr = None
    target = None
    fuzzy = False

    def flush():
        if msgid and msgstr and not fuzzy:
            entries[msgid] = msgstr

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("msgid "):
            flush()
            msgid, msgstr, target = ast.literal_eval(line[6:]), None, "id"
        elif line.startswith("msgstr "):
            msgstr, target = ast.literal_eval(line[7:]), "str"
        elif line.startswith('"') and target:
            if target == "id":
                msgid += ast.literal_eval(line)
            else:
                msgstr += ast.literal_eval(line)
        elif not line:
            flush()
            msgid = msgstr = target = None
            fuzzy = False
    flush()
    return entries


def set_language(language: str | None) -> str:
    """Switch the language ("en", "zh_CN", or a locale name like "zh_CN.UTF-8"); returns the one in use."""
    global _catalogue, _language
    code = normalise(language)
    catalogue: dict[str, str] = {}
    if code != "en":
        path = LOCALE_DIR / f"{code}.po"
        catalogue = parse_po(path.read_text(encoding="utf-8"))
    with _lock:
        _catalogue, _language = catalogue, code
    return code


def normalise(language: str | None) -> str:
    """The shipped language closest to ``language``; English when nothing fits."""
    if not language:
        return "en"
    base = language.split(".")[0].split("@")[0].replace("-", "_")
    if base in LANGUAGES:
        return base
    if base.lower().startswith("zh"):
        return "zh_CN"
    return "en"


def system_language() -> str:
    for name in ("POS_TERMINAL_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(name):
            return normalise(os.environ[name])
    return "en"


def language() -> str:
    return _language


def _(text: str) -> str:
    """The translation of ``text`` in the current language (the text itself in English)."""
    return _catalogue.get(text, text)


def N_(text: str) -> str:
    """Marks ``text`` for translation where it is defined; translate it with :func:`_` where it is shown."""
    return text


def extract(folders: list[Path]) -> list[str]:
    """Every ``_("…")`` and ``N_("…")`` literal in the Python files under ``folders``, in order of first use.

    What a translator must translate; the tests check that the shipped catalogues cover all of it.
    """
    found: dict[str, None] = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_") \
                        and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    found.setdefault(node.args[0].value, None)
    return list(found)


def po_entry(msgid: str, msgstr: str = "") -> str:
    quote = lambda text: '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'  # noqa: E731
    return f"msgid {quote(msgid)}\nmsgstr {quote(msgstr)}\n"


if __name__ == "__main__":  # python -m pos_app.i18n: list what the zh_CN catalogue lacks, as .po entries
    root = Path(__file__).parent.parent
    have = parse_po((LOCALE_DIR / "zh_CN.po").read_text(encoding="utf-8")) if (LOCALE_DIR / "zh_CN.po").exists() \
        else {}
    for text in extract([root / "pos_app", root / "ui"]):
        if text not in have:
            print(po_entry(text))
