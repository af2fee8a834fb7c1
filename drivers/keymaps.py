"""Key code → character tables for the keyboard layout a wedge scanner is programmed to emulate.

A keyboard-wedge scanner does not send characters: it presses the keys that type them on the layout it
was told to emulate. Decoding with the *host's* layout garbles codes the moment the two disagree — the
Odoo AZERTY bug, where a US-programmed scanner's badge ``0013748911`` arrived as ``àà&"è'_ç&&`` on a
French desktop (``àà&"è'!ç&&`` on a Belgian one). So the decoder reads evdev key codes and maps them
with the scanner's layout (US unless a device says otherwise), never the desktop's.

The tables follow the X11 xkb ``us``, ``de`` and ``fr`` basic symbols (levels 1–4: plain, Shift, AltGr,
Shift+AltGr) for the main block, with the keypad handled apart. Where xkb makes a level a dead key the
table holds its spacing accent and ``dead`` marks it; the decoder then composes it with the next
character (:func:`compose`). Dead keys with no spacing form (dead_belowdot, dead_hook, dead_horn) are left
out. As in current xkb, fr AltGr+é (tilde), AltGr+è (grave) and AltGr+ç (circumflex) type plain ASCII;
Windows AZERTY makes the first two dead keys.
"""

from __future__ import annotations

import unicodedata

from pos_app.i18n import N_, _

# evdev key codes (linux/input-event-codes.h, fixed by the kernel ABI; tests check them against
# python-evdev). Defined here so that decoding recorded traces needs no evdev installed.
# The main block by physical row, in the order of the xkb key names below it.
_ROWS = (
    (41, *range(2, 14)),     # KEY_GRAVE, KEY_1 … KEY_0, KEY_MINUS, KEY_EQUAL
    tuple(range(16, 28)),    # KEY_Q … KEY_P, KEY_LEFTBRACE, KEY_RIGHTBRACE
    (*range(30, 41), 43),    # KEY_A … KEY_L, KEY_SEMICOLON, KEY_APOSTROPHE, KEY_BACKSLASH
    (86, *range(44, 54)),    # KEY_102ND, KEY_Z … KEY_M, KEY_COMMA, KEY_DOT, KEY_SLASH
)
_XKB_NAMES = (
    ["TLDE"] + [f"AE{i:02}" for i in range(1, 13)],
    [f"AD{i:02}" for i in range(1, 13)],
    [f"AC{i:02}" for i in range(1, 12)] + ["BKSL"],
    ["LSGT"] + [f"AB{i:02}" for i in range(1, 11)],
)
_CODE = {name: code for names, codes in zip(_XKB_NAMES, _ROWS, strict=True)
         for name, code in zip(names, codes, strict=True)}
_KEY_SPACE = 57

_KEYPAD_DIGITS = {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9"}
_KEY_KPDOT = 83
_KEYPAD_OPS = {98: "/", 55: "*", 74: "-", 78: "+", 117: "=", 121: ","}  # KPSLASH … KPCOMMA

_NONE = " "  # in a level string: nothing at this level (xkb NoSymbol)

# Spacing accent → combining mark, for dead keys.
_COMBINING = {
    "`": "\u0300", "´": "\u0301", "^": "\u0302", "~": "\u0303", "¯": "\u0304", "˘": "\u0306",
    "˙": "\u0307", "¨": "\u0308", "˚": "\u030a", "˝": "\u030b", "ˇ": "\u030c", "¸": "\u0327",
    "˛": "\u0328",
}


def compose(accent: str, char: str) -> str:
    """A dead key followed by ``char``: the composed letter (``"^"`` + ``"e"`` → ``"ê"``); ``accent`` +
    space → the accent itself; an unknown pair → both, so nothing the scanner sent is lost."""
    if char == " ":
        return accent
    mark = _COMBINING.get(accent)
    if mark is not None and len(char) == 1:
        composed = unicodedata.normalize("NFC", char + mark)
        if len(composed) == 1:
            return composed
    return accent + char


def _case_pair(lower: str | None, upper: str | None) -> bool:
    if not lower or not upper:
        return False
    return lower != upper and lower.isalpha() and lower.upper() == upper


class Layout:
    """One layout's main block (four levels per key) and keypad."""

    def __init__(self, name: str, title: str, rows: tuple[tuple[str, ...], ...], *,
                 dead: dict[str, str] | None = None, kp_decimal: str = ".") -> None:
        self.name, self.title, self._kp_decimal = name, title, kp_decimal
        self._keys: dict[int, tuple[str | None, ...]] = {}
        for codes, given in zip(_ROWS, rows, strict=True):
            levels = [s or _NONE * len(codes) for s in (*given, "", "", "")[:4]]
            if any(len(s) != len(codes) for s in levels):
                raise ValueError(f"{name}: a level string does not match its row of {len(codes)} keys")
            for i, code in enumerate(codes):
                self._keys[code] = tuple(None if s[i] == _NONE else s[i] for s in levels)
        self._dead = {(_CODE[key], int(level) - 1) for key, levels in (dead or {}).items() for level in levels}
        self._has_altgr = any(keys[2] or keys[3] for keys in self._keys.values())
        for code, keys in self._keys.items():
            for level, char in enumerate(keys):
                if char is not None and not char.isprintable():
                    raise ValueError(f"{name}: key {code} level {level + 1} is not a printable character")
                if (code, level) in self._dead and char not in _COMBINING:
                    raise ValueError(f"{name}: key {code} level {level + 1} is dead but {char!r} is no accent")
        # Caps Lock acts on alphabetic keys only; on AltGr levels only where those are a case pair too
        # (xkb's FOUR_LEVEL_ALPHABETIC vs FOUR_LEVEL_SEMIALPHABETIC).
        self._caps = {(code, altgr) for code, k in self._keys.items() if _case_pair(k[0], k[1])
                      for altgr in (False, True) if not altgr or _case_pair(k[2], k[3])}
        # Inverse tables for keystrokes(): the lowest level wins, then the first key in row order.
        self._typing: dict[str, tuple[int, bool, bool]] = {" ": (_KEY_SPACE, False, False)}
        self._accents: dict[str, tuple[int, bool, bool]] = {}
        for level in range(4):
            for codes in _ROWS:
                for code in codes:
                    char = self._keys[code][level]
                    if char is not None:
                        target = self._accents if (code, level) in self._dead else self._typing
                        target.setdefault(char, (code, bool(level & 1), level >= 2))

    def __repr__(self) -> str:
        return f"<Layout {self.name}: {self.title}>"

    def _level(self, code: int, shift: bool, altgr: bool, caps: bool) -> int:
        if caps and (code, altgr) in self._caps:
            shift = not shift
        return 2 * altgr + shift

    def lookup(self, code: int, *, shift: bool, altgr: bool, caps: bool) -> str | None:
        """The character a main-block key types at this level, or None (not a character key, nothing
        at that level, or a dead key)."""
        if code == _KEY_SPACE:
            return None if altgr and not self._has_altgr else " "
        keys = self._keys.get(code)
        if keys is None:
            return None
        level = self._level(code, shift, altgr, caps)
        return None if (code, level) in self._dead else keys[level]

    def dead_key(self, code: int, *, shift: bool, altgr: bool) -> str | None:
        """The accent (spacing form: ``^ ¨ ` ´ ~`` …) when this key at this level is a dead key, else None."""
        level = 2 * altgr + shift
        return self._keys[code][level] if (code, level) in self._dead else None

    def keypad(self, code: int, *, numlock: bool) -> str | None:
        """Keypad keys: digits and the decimal separator only with Num Lock on, the operators always,
        KPENTER (and anything else) None."""
        if code in _KEYPAD_DIGITS:
            return _KEYPAD_DIGITS[code] if numlock else None
        if code == _KEY_KPDOT:
            return self._kp_decimal if numlock else None
        return _KEYPAD_OPS.get(code)

    def keystrokes(self, text: str) -> list[tuple[int, bool, bool]]:
        """The ``(code, shift, altgr)`` presses a scanner emulating this layout sends for ``text``: one a
        character, or two for a dead key (the accent alone: dead key + space; an accented letter: dead
        key + letter). ValueError for a character the layout cannot type."""
        out: list[tuple[int, bool, bool]] = []
        for char in text:
            if char in self._typing:
                out.append(self._typing[char])
            elif char in self._accents:
                out += [self._accents[char], self._typing[" "]]
            else:
                decomposed = unicodedata.normalize("NFD", char)
                base, marks = decomposed[0], decomposed[1:]
                accent = next((a for a, m in _COMBINING.items() if marks == m and a in self._accents), None)
                if accent is None or base not in self._typing:
                    raise ValueError(f"the {self.name} layout cannot type {char!r}")
                out += [self._accents[accent], self._typing[base]]
        return out


# Level strings per row (plain, Shift, AltGr, Shift+AltGr), one character a key, " " for nothing; rows
# are TLDE AE01…AE12 / AD01…AD12 / AC01…AC11 BKSL / LSGT AB01…AB10. ``dead``: xkb key → dead levels.
_US = Layout("us", N_("English (US, QWERTY)"), (
    ("`1234567890-=", "~!@#$%^&*()_+"),
    ("qwertyuiop[]", "QWERTYUIOP{}"),
    ("asdfghjkl;'\\", "ASDFGHJKL:\"|"),
    ("<zxcvbnm,./", ">ZXCVBNM<>?"),
))

_DE = Layout("de", N_("German (QWERTZ)"), (
    ("^1234567890ß´", "°!\"§$%&/()=?`", "′¹²³¼½¬{[]}\\¸", "″¡⅛£¤⅜⅝⅞™±°¿˛"),
    ("qwertzuiopü+", "QWERTZUIOPÜ*", "@ł€¶ŧ←↓→øþ¨~", "ΩŁ€®Ŧ¥↑ıØÞ˚¯"),
    ("asdfghjklöä#", "ASDFGHJKLÖÄ'", "æſðđŋħ ĸł˝^’", "ÆẞÐªŊĦ˙&Ł ˇ˘"),
    ("<yxcvbnm,.-", ">YXCVBNM;:_", "|»«¢„“”µ·…–", " ›‹©‚‘’º×÷—"),
), dead={"TLDE": "1", "AE12": "1234", "AD11": "34", "AC07": "4", "AC10": "3", "AC11": "34", "BKSL": "4"},
    kp_decimal=",")

_FR = Layout("fr", N_("French (AZERTY)"), (
    ("²&é\"'(-è_çà)=", "~1234567890°+", "¬¹~#{[|`\\^@]}", "¬¡⅛£$⅜⅝⅞™±°¿˛"),
    ("azertyuiop^$", "AZERTYUIOP¨£", "æ«€¶ŧ←↓→øþ¨¤", "Æ<¢®Ŧ¥↑ıØÞ˚¯"),
    ("qsdfghjklmù*", "QSDFGHJKLM%µ", "@ßðđŋħ ĸłµ^`", "Ω§ÐªŊĦ &Łºˇ˘"),
    ("<wxcvbn,;:!", ">WXCVBN?./§", "|ł»¢“”n´•· ", "¦Ł>©‘’N˝×÷˙"),
), dead={"AE12": "4", "AD11": "1234", "AD12": "4", "AC11": "34", "BKSL": "34", "AB07": "34", "AB10": "4"})

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (_US, _DE, _FR)}


def get_layout(name: str) -> Layout:
    """The layout called ``name`` (case and surrounding blanks ignored)."""
    layout = LAYOUTS.get(name.strip().lower()) if isinstance(name, str) else None
    if layout is None:
        raise ValueError(_("unknown keyboard layout {name}: choose us, de or fr").format(name=repr(name)))
    return layout
