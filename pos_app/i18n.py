"""Translations: every string a person reads goes through :func:`_`, in the core and in the Qt windows.

One mechanism for both (the core has no Qt): gettext's ``_("English text")`` and ``N_`` markers, one ``.po``
file per language in ``pos_app/locale/`` (what every translation tool edits), and the standard library's
:mod:`gettext` at run time, which reads compiled ``.mo`` catalogues. Babel, the toolkit behind ``pybabel``,
extracts the markers, merges new strings into the ``.po`` files and compiles them.

A ``.mo`` is named after the hash of the ``.po`` it was compiled from, so a stale one is never read: the
Debian bundle ships them compiled (``python -m pos_app.i18n compile`` in packaging/build.sh), and a checkout
or a plain install compiles one into the user's cache on first use. A translator's edit therefore needs no
build step. English is the source language; a missing translation shows the English text, never nothing.
"""

from __future__ import annotations

import contextlib
import gettext
import hashlib
import io
import logging
import os
import struct
import sys
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
KEYWORDS = {"_": None, "N_": None}   # the marker functions, in Babel's keyword form (first argument)
SOURCES = ("pos_app", "ui", "drivers", "offline_queue")   # the packages whose markers the catalogues cover

_lock = threading.Lock()
_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"
_here = threading.local()   # one thread's language for one rendering (:func:`speaking`), over the terminal's


# -- run time -------------------------------------------------------------------------------------------
def set_language(language: str | None) -> str:
    """Switch the language ("en", "zh_CN", or a locale name like "zh_CN.UTF-8"); returns the one in use
    (English when a catalogue cannot be had: the reason is logged)."""
    global _translations, _language
    code, translations = _catalogue(language)
    with _lock:
        _translations, _language = translations, code
    return code


def _catalogue(language: str | None) -> tuple[str, gettext.NullTranslations]:
    """The shipped language closest to ``language`` and its translations; English (and the reason logged)
    when its catalogue cannot be had."""
    code = normalise(language)
    if code == "en":
        return code, gettext.NullTranslations()
    try:
        return code, load(code)
    except (OSError, ValueError, ImportError) as exc:
        log.error("the %s translations cannot be loaded (%s); showing English", code, exc)
        return "en", gettext.NullTranslations()


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
    return getattr(_here, "language", None) or _language


def _current() -> gettext.NullTranslations:
    return getattr(_here, "translations", None) or _translations


@contextlib.contextmanager
def speaking(lang: str | None):
    """Within the block, this thread alone reads ``lang`` (a receipt printed in the receipts' language
    by a worker thread while the windows stay in theirs); None keeps the terminal's. Yields the code in use."""
    if lang is None:
        yield language()
        return
    code, translations = _catalogue(lang)
    before = getattr(_here, "translations", None), getattr(_here, "language", None)
    _here.translations, _here.language = translations, code
    try:
        yield code
    finally:
        _here.translations, _here.language = before


def _(text: str) -> str:
    """The translation of ``text`` in the current language (the text itself in English)."""
    return _current().gettext(text) if text else text   # gettext("") is the catalogue's header


def stored(text: str) -> str:
    """Text the journal keeps as it was written (a reason, a message), for a person: in their language when
    it is one of the terminal's own phrases (marked with :func:`N_` where it is written), else unchanged (a
    gateway's message, a person's note): the journal stays in one language, the screens in theirs. Looked
    up in the catalogue itself, not through ``_``, whose misses mean a marked phrase lacks a translation."""
    catalog = getattr(_current(), "_catalog", None) or {}   # gettext keeps a catalogue's messages there
    found = catalog.get(text) if text else None
    return found if isinstance(found, str) and found else text


def N_(text: str) -> str:
    """Marks ``text`` for translation where it is defined; translate it with :func:`_` where it is shown."""
    return text


# -- catalogues -----------------------------------------------------------------------------------------
def po_file(code: str) -> Path:
    return LOCALE_DIR / f"{code}.po"


def mo_name(code: str, po: bytes) -> str:
    """The compiled catalogue's file name: it carries the hash of its source, so an edited .po is recompiled."""
    return f"{code}.{hashlib.sha256(po).hexdigest()[:16]}.mo"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pos-terminal" / "locale"


def load(code: str) -> gettext.GNUTranslations:
    """``code``'s catalogue for gettext: the .mo compiled from the current .po, shipped or cached, else
    compiled now (and cached when the cache is writable)."""
    po = po_file(code).read_bytes()
    name = mo_name(code, po)
    for folder in (LOCALE_DIR, cache_dir()):
        try:
            with open(folder / name, "rb") as f:
                return gettext.GNUTranslations(f)
        except FileNotFoundError:
            continue
        except (OSError, ValueError, struct.error) as exc:   # a damaged cache file: compile again
            log.warning("ignoring %s: %s", folder / name, exc)
    mo = compile_po(po, code)
    _store(cache_dir(), code, name, mo)
    return gettext.GNUTranslations(io.BytesIO(mo))


def compile_po(po: bytes, code: str) -> bytes:
    """The .mo of a .po file's bytes (fuzzy and untranslated entries left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileError, read_po

    try:
        catalog = read_po(io.BytesIO(po), locale=code, abort_invalid=True)
    except PoFileError as exc:
        raise ValueError(f"{code}.po: {exc}") from None
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _store(folder: Path, code: str, name: str, mo: bytes) -> None:
    """Write ``mo`` atomically and drop the older compilations of ``code``; a cache that cannot be written
    is no fault (the catalogue is then compiled at each start)."""
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(mo)
        os.replace(tmp, folder / name)
        tmp = None
        for old in folder.glob(f"{code}.*.mo"):
            if old.name != name:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("cannot cache the compiled %s catalogue in %s: %s", code, folder, exc)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def compile_all(folder: Path | None = None) -> list[Path]:
    """Compile every shipped .po into ``folder`` (the package's own locale folder by default): the build step."""
    folder = Path(folder) if folder else LOCALE_DIR
    written = []
    for po_path in sorted(LOCALE_DIR.glob("*.po")):
        code, po = po_path.stem, po_path.read_bytes()
        name = mo_name(code, po)
        _store(folder, code, name, compile_po(po, code))
        if not (folder / name).is_file():
            raise OSError(f"could not write {folder / name}")
        written.append(folder / name)
    return written


# -- what to translate ----------------------------------------------------------------------------------
def extract(folders: list[Path]) -> list[str]:
    """Every ``_("…")`` and ``N_("…")`` literal in the Python files under ``folders``, in order of first use
    (what GNU ``xgettext -k_ -kN_`` finds, see :func:`markers`). What a translator must translate.

    Markers inside f-string expressions are not read (nor by xgettext on Python < 3.12): write ``_("net")``
    outside one.
    """
    return [message.id for message in template(folders) if message.id]


def markers(fileobj, keywords, comment_tags, options):
    """A Babel extraction method: each marker call whose first argument is a literal, from the syntax tree.

    Babel's own Python extractor reads tokens and gives up on a call whose argument is an expression, so
    a marker nested in it is lost: ``_(WORDS.get(phase, N_("still open")))`` left "still open" out of the
    catalogue (shown in English for ever). The tree sees every call, nested or not, as xgettext does.
    """
    import ast

    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    in_fstrings = {id(node) for joined in ast.walk(tree) if isinstance(joined, ast.JoinedStr)
                   for node in ast.walk(joined)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in in_fstrings or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        first = node.args[0]
        if name in keywords and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append((node.lineno, node.col_offset, name, first.value))
    for lineno, _col, name, text in sorted(found):
        yield lineno, name, text, []


def template(folders: list[Path]):
    """The extracted strings as a Babel catalogue (a .pot in memory), each with the files it is used in."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project="pos-terminal", fuzzy=False)
    for folder in folders:
        folder = Path(folder)
        for filename, lineno, message, _comments, _context in extract_from_dir(
                folder, method_map=[("**.py", "pos_app.i18n:markers")], keywords=KEYWORDS):   # Babel imports it by name
            catalog.add(message, locations=[(f"{folder.name}/{filename}", lineno)])
    return catalog


def read_catalogue(code: str):
    """``code``'s .po as a Babel catalogue."""
    from babel.messages.pofile import PoFileError, read_po

    with open(po_file(code), "rb") as f:
        try:
            return read_po(f, locale=code, abort_invalid=True)
        except PoFileError as exc:
            raise ValueError(f"{po_file(code)}: {exc}") from None


def untranslated(catalog, wanted) -> list[str]:
    """The strings of ``wanted`` that ``catalog`` lacks, leaves empty or marks fuzzy (gettext shows English)."""
    missing = []
    for text in wanted:
        entry = catalog.get(text)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(text)
    return missing


def update(root: Path) -> dict[str, list[str]]:
    """Merge the strings now marked in the code into every .po (new ones empty, near matches as fuzzy
    suggestions, gone ones dropped), as ``pybabel update`` does; the strings each still lacks."""
    pot = template([root / name for name in SOURCES])
    lacking = {}
    for po_path in sorted(LOCALE_DIR.glob("*.po")):
        catalog = read_catalogue(po_path.stem)
        catalog.update(pot, update_header_comment=False, update_creation_date=False)
        write_catalogue(po_path.stem, catalog)
        lacking[po_path.stem] = untranslated(catalog, [message.id for message in pot if message.id])
    return lacking


def write_catalogue(code: str, catalog) -> None:
    """Write ``code``'s .po in one stable form: one line per string, the files that use it without line
    numbers (so moving code does not rewrite the catalogue), strings no longer used left out."""
    from babel.messages.pofile import write_po

    catalog.project, catalog.version = "pos-terminal", "1"   # the header's Project-Id-Version
    out = io.BytesIO()
    write_po(out, catalog, width=0, include_lineno=False, ignore_obsolete=True)
    if not po_file(code).exists() or out.getvalue() != po_file(code).read_bytes():
        po_file(code).write_bytes(out.getvalue())


def main(argv: list[str]) -> int:
    """``python -m pos_app.i18n``: merge new strings into the .po files and list what each lacks;
    ``python -m pos_app.i18n compile [DIR]``: compile the .po files to .mo (the build step)."""
    if argv[:1] == ["compile"]:
        try:
            written = compile_all(Path(argv[1]) if len(argv) > 1 else None)
        except (OSError, ValueError) as exc:
            print(f"python -m pos_app.i18n compile: {exc}", file=sys.stderr)
            return 1
        print("\n".join(str(path) for path in written))
        return 0
    if argv:
        print(main.__doc__, file=sys.stderr)
        return 2
    try:
        lacking = update(Path(__file__).parent.parent)
    except (OSError, ValueError, SyntaxError) as exc:
        print(f"python -m pos_app.i18n: {exc}", file=sys.stderr)
        return 1
    for code, texts in lacking.items():
        print(f"{po_file(code)}: {len(texts)} to translate" + "".join(f"\n  {t!r}" for t in texts))
    return 1 if any(lacking.values()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
