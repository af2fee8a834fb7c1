"""Keyboard layouts for wedge scanners: spot checks against xkb, the Odoo AZERTY case, and round trips
(text → the keys a scanner programmed for the layout presses → the decoder's view → the same text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.keymaps import LAYOUTS, Layout, compose, get_layout

ecodes = pytest.importorskip("evdev.ecodes")

US, DE, FR = LAYOUTS["us"], LAYOUTS["de"], LAYOUTS["fr"]
PRINTABLE_ASCII = "".join(map(chr, range(0x20, 0x7F)))
LEVELS = [(False, False), (True, False), (False, True), (True, True)]  # (shift, altgr): levels 1–4
CODES = range(256)


def key(name: str) -> int:
    return getattr(ecodes, name)


def type_out(layout: Layout, strokes, *, caps: bool = False) -> str:
    """What the decoder makes of key presses: dead keys wait for the next character."""
    out, accent = [], None
    for code, shift, altgr in strokes:
        dead = layout.dead_key(code, shift=shift, altgr=altgr)
        if dead is not None:
            if accent is not None:
                out.append(accent)
            accent = dead
            continue
        char = layout.lookup(code, shift=shift, altgr=altgr, caps=caps)
        assert char is not None, (layout.name, code, shift, altgr)
        if accent is not None:
            char, accent = compose(accent, char), None
        out.append(char)
    if accent is not None:
        out.append(accent)
    return "".join(out)


def plain(layout: Layout, name: str, *, shift: bool = False, altgr: bool = False, caps: bool = False):
    return layout.lookup(key(name), shift=shift, altgr=altgr, caps=caps)


# -- spot checks against the xkb symbols ------------------------------------------------------------
SPOT = [
    # layout, key, shift, altgr, character
    ("us", "KEY_2", True, False, "@"), ("us", "KEY_A", False, False, "a"), ("us", "KEY_Z", True, False, "Z"),
    ("us", "KEY_GRAVE", False, False, "`"), ("us", "KEY_GRAVE", True, False, "~"),
    ("us", "KEY_6", True, False, "^"), ("us", "KEY_BACKSLASH", True, False, "|"),
    ("us", "KEY_APOSTROPHE", True, False, '"'), ("us", "KEY_SLASH", True, False, "?"),
    ("us", "KEY_102ND", False, False, "<"), ("us", "KEY_102ND", True, False, ">"),
    ("de", "KEY_Y", False, False, "z"), ("de", "KEY_Z", False, False, "y"), ("de", "KEY_2", True, False, '"'),
    ("de", "KEY_3", True, False, "§"), ("de", "KEY_7", True, False, "/"), ("de", "KEY_0", True, False, "="),
    ("de", "KEY_MINUS", False, False, "ß"), ("de", "KEY_MINUS", True, False, "?"),
    ("de", "KEY_GRAVE", True, False, "°"), ("de", "KEY_LEFTBRACE", False, False, "ü"),
    ("de", "KEY_SEMICOLON", True, False, "Ö"), ("de", "KEY_APOSTROPHE", False, False, "ä"),
    ("de", "KEY_RIGHTBRACE", False, False, "+"), ("de", "KEY_RIGHTBRACE", True, False, "*"),
    ("de", "KEY_BACKSLASH", False, False, "#"), ("de", "KEY_BACKSLASH", True, False, "'"),
    ("de", "KEY_COMMA", True, False, ";"), ("de", "KEY_DOT", True, False, ":"),
    ("de", "KEY_SLASH", False, False, "-"), ("de", "KEY_SLASH", True, False, "_"),
    ("de", "KEY_102ND", False, False, "<"), ("de", "KEY_102ND", True, False, ">"),
    ("de", "KEY_Q", False, True, "@"), ("de", "KEY_E", False, True, "€"), ("de", "KEY_7", False, True, "{"),
    ("de", "KEY_8", False, True, "["), ("de", "KEY_9", False, True, "]"), ("de", "KEY_0", False, True, "}"),
    ("de", "KEY_MINUS", False, True, "\\"), ("de", "KEY_RIGHTBRACE", False, True, "~"),
    ("de", "KEY_102ND", False, True, "|"), ("de", "KEY_2", False, True, "²"), ("de", "KEY_3", False, True, "³"),
    ("de", "KEY_M", False, True, "µ"), ("de", "KEY_MINUS", True, True, "¿"),
    ("fr", "KEY_Q", False, False, "a"), ("fr", "KEY_A", False, False, "q"), ("fr", "KEY_W", False, False, "z"),
    ("fr", "KEY_Z", False, False, "w"), ("fr", "KEY_M", False, False, ","), ("fr", "KEY_M", True, False, "?"),
    ("fr", "KEY_SEMICOLON", False, False, "m"), ("fr", "KEY_1", False, False, "&"),
    ("fr", "KEY_1", True, False, "1"), ("fr", "KEY_0", False, False, "à"), ("fr", "KEY_0", True, False, "0"),
    ("fr", "KEY_2", False, False, "é"), ("fr", "KEY_3", False, False, '"'), ("fr", "KEY_4", False, False, "'"),
    ("fr", "KEY_7", False, False, "è"), ("fr", "KEY_8", False, False, "_"), ("fr", "KEY_9", False, False, "ç"),
    ("fr", "KEY_MINUS", False, False, ")"), ("fr", "KEY_MINUS", True, False, "°"),
    ("fr", "KEY_EQUAL", True, False, "+"), ("fr", "KEY_GRAVE", False, False, "²"),
    ("fr", "KEY_RIGHTBRACE", False, False, "$"), ("fr", "KEY_APOSTROPHE", False, False, "ù"),
    ("fr", "KEY_APOSTROPHE", True, False, "%"), ("fr", "KEY_BACKSLASH", False, False, "*"),
    ("fr", "KEY_COMMA", False, False, ";"), ("fr", "KEY_COMMA", True, False, "."),
    ("fr", "KEY_DOT", False, False, ":"), ("fr", "KEY_DOT", True, False, "/"),
    ("fr", "KEY_SLASH", False, False, "!"), ("fr", "KEY_SLASH", True, False, "§"),
    ("fr", "KEY_102ND", False, False, "<"), ("fr", "KEY_102ND", True, False, ">"),
    ("fr", "KEY_2", False, True, "~"), ("fr", "KEY_3", False, True, "#"), ("fr", "KEY_4", False, True, "{"),
    ("fr", "KEY_5", False, True, "["), ("fr", "KEY_6", False, True, "|"), ("fr", "KEY_7", False, True, "`"),
    ("fr", "KEY_8", False, True, "\\"), ("fr", "KEY_9", False, True, "^"), ("fr", "KEY_0", False, True, "@"),
    ("fr", "KEY_MINUS", False, True, "]"), ("fr", "KEY_EQUAL", False, True, "}"),
    ("fr", "KEY_E", False, True, "€"), ("fr", "KEY_A", False, True, "@"), ("fr", "KEY_Q", True, True, "Æ"),
]


@pytest.mark.parametrize(("layout", "name", "shift", "altgr", "char"), SPOT)
def test_spot_checks(layout, name, shift, altgr, char):
    assert plain(LAYOUTS[layout], name, shift=shift, altgr=altgr) == char


def test_main_block_codes_match_evdev():
    """keymaps carries its own key codes (no evdev needed to replay traces): check them all."""
    rows = {
        "`1234567890-=": "GRAVE 1 2 3 4 5 6 7 8 9 0 MINUS EQUAL",
        "qwertyuiop[]": "Q W E R T Y U I O P LEFTBRACE RIGHTBRACE",
        "asdfghjkl;'\\": "A S D F G H J K L SEMICOLON APOSTROPHE BACKSLASH",
        "<zxcvbnm,./": "102ND Z X C V B N M COMMA DOT SLASH",
    }
    for chars, names in rows.items():
        assert "".join(plain(US, f"KEY_{name}") for name in names.split()) == chars


def test_names_and_titles():
    assert set(LAYOUTS) == {"us", "de", "fr"}
    assert [(lay.name, lay.title) for lay in LAYOUTS.values()] == [
        ("us", "English (US, QWERTY)"), ("de", "German (QWERTZ)"), ("fr", "French (AZERTY)")]


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS)
def test_space_is_a_space(layout):
    assert plain(layout, "KEY_SPACE") == plain(layout, "KEY_SPACE", shift=True) == " "


def test_us_has_no_altgr_level():
    for code in CODES:
        for shift in (False, True):
            assert US.lookup(code, shift=shift, altgr=True, caps=False) is None
            assert US.lookup(code, shift=shift, altgr=True, caps=True) is None


# -- dead keys ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("layout", "name", "shift", "altgr", "accent"), [
    ("de", "KEY_GRAVE", False, False, "^"), ("de", "KEY_EQUAL", False, False, "´"),
    ("de", "KEY_EQUAL", True, False, "`"), ("de", "KEY_APOSTROPHE", False, True, "^"),
    ("de", "KEY_LEFTBRACE", False, True, "¨"),
    ("fr", "KEY_LEFTBRACE", False, False, "^"), ("fr", "KEY_LEFTBRACE", True, False, "¨"),
    ("fr", "KEY_BACKSLASH", False, True, "`"), ("fr", "KEY_M", False, True, "´"),
])
def test_dead_keys(layout, name, shift, altgr, accent):
    lay = LAYOUTS[layout]
    assert lay.dead_key(key(name), shift=shift, altgr=altgr) == accent
    assert lay.lookup(key(name), shift=shift, altgr=altgr, caps=False) is None
    assert lay.lookup(key(name), shift=shift, altgr=altgr, caps=True) is None


def test_dead_key_is_none_on_live_keys():
    assert DE.dead_key(key("KEY_A"), shift=False, altgr=False) is None
    assert FR.dead_key(key("KEY_9"), shift=False, altgr=True) is None  # "^" is plain there
    assert FR.dead_key(key("KEY_2"), shift=False, altgr=True) is None  # "~" too
    assert all(US.dead_key(code, shift=s, altgr=a) is None for code in CODES for s, a in LEVELS)


def test_dead_key_then_letter_composes():
    assert type_out(DE, [(key("KEY_GRAVE"), False, False), (key("KEY_E"), False, False)]) == "ê"
    assert type_out(DE, [(key("KEY_EQUAL"), False, False), (key("KEY_E"), True, False)]) == "É"
    assert type_out(FR, [(key("KEY_LEFTBRACE"), True, False), (key("KEY_U"), False, False)]) == "ü"
    assert type_out(FR, [(key("KEY_LEFTBRACE"), False, False), (key("KEY_SPACE"), False, False)]) == "^"
    assert type_out(FR, [(key("KEY_LEFTBRACE"), False, False), (key("KEY_1"), True, False)]) == "^1"


# -- the Odoo case -----------------------------------------------------------------------------------
def test_odoo_azerty_garbling_and_its_fix():
    badge = "0013748911"
    us_keys = US.keystrokes(badge)
    assert us_keys == [(key(f"KEY_{d}"), False, False) for d in badge]
    assert type_out(US, us_keys) == badge
    # A US-programmed scanner read with the French table: the garbling (fr 8 is "_"; be would give "!").
    assert type_out(FR, us_keys) == "àà&\"è'_ç&&"
    # A French-programmed scanner shifts for digits; read with the French table, the badge is intact.
    fr_keys = FR.keystrokes(badge)
    assert all(shift and not altgr for _, shift, altgr in fr_keys)
    assert type_out(FR, fr_keys) == badge


# -- coverage and round trips ------------------------------------------------------------------------
def typeable(layout: Layout) -> set[str]:
    """Every character the table types: inverted from lookup, plus dead key + space."""
    chars = {" "}
    for code in CODES:
        for shift, altgr in LEVELS:
            if (char := layout.lookup(code, shift=shift, altgr=altgr, caps=False)) is not None:
                chars.add(char)
            if (accent := layout.dead_key(code, shift=shift, altgr=altgr)) is not None:
                chars.add(compose(accent, " "))
    return chars


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS)
def test_every_printable_ascii_character_is_typeable(layout):
    assert set(PRINTABLE_ASCII) - typeable(layout) == set()


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS)
def test_round_trip_printable_ascii(layout):
    for char in PRINTABLE_ASCII:
        strokes = layout.keystrokes(char)
        assert type_out(layout, strokes) == char, (layout.name, char, strokes)
    assert type_out(layout, layout.keystrokes(PRINTABLE_ASCII)) == PRINTABLE_ASCII


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS)
@given(text=st.text(alphabet=PRINTABLE_ASCII, max_size=60))
def test_round_trip_any_ascii_text(layout, text):
    assert type_out(layout, layout.keystrokes(text)) == text


def test_keystrokes_prefer_plain_then_shift_then_altgr():
    assert FR.keystrokes("<>@|") == [(key("KEY_102ND"), False, False), (key("KEY_102ND"), True, False),
                                      (key("KEY_0"), False, True), (key("KEY_6"), False, True)]
    assert DE.keystrokes("aZ@") == [(key("KEY_A"), False, False), (key("KEY_Y"), True, False),
                                    (key("KEY_Q"), False, True)]


def test_keystrokes_for_dead_only_characters_add_a_space():
    space = (key("KEY_SPACE"), False, False)
    assert DE.keystrokes("^") == [(key("KEY_GRAVE"), False, False), space]
    assert DE.keystrokes("`") == [(key("KEY_EQUAL"), True, False), space]
    assert FR.keystrokes("¨") == [(key("KEY_LEFTBRACE"), True, False), space]
    assert FR.keystrokes("^") == [(key("KEY_9"), False, True)]  # a live "^" beats the dead one


def test_keystrokes_for_accented_letters():
    assert DE.keystrokes("é") == [(key("KEY_EQUAL"), False, False), (key("KEY_E"), False, False)]
    assert FR.keystrokes("é") == [(key("KEY_2"), False, False)]
    for layout, text in [(DE, "Grüße, café à la crème"), (FR, "Noël à l'hôtel, où ça?"), (FR, "ÊËÂ")]:
        assert type_out(layout, layout.keystrokes(text)) == text


@pytest.mark.parametrize(("layout", "char"), [
    ("us", "é"), ("us", "€"), ("de", "ñ"), ("fr", "ñ"), ("fr", "ẞ"), ("de", "\n"), ("us", "\t"), ("fr", "\x1d"),
])
def test_keystrokes_reject_what_the_layout_cannot_type(layout, char):
    with pytest.raises(ValueError, match="cannot type"):
        LAYOUTS[layout].keystrokes("ab" + char)


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS)
def test_never_a_control_character(layout):
    for code in CODES:
        for caps in (False, True):
            for shift, altgr in LEVELS:
                char = layout.lookup(code, shift=shift, altgr=altgr, caps=caps)
                assert char is None or (len(char) == 1 and char.isprintable()), (code, char)
                accent = layout.dead_key(code, shift=shift, altgr=altgr)
                assert accent is None or accent.isprintable()
        for numlock in (False, True):
            char = layout.keypad(code, numlock=numlock)
            assert char is None or (len(char) == 1 and char.isprintable()), (code, char)
    for name in ("KEY_ENTER", "KEY_TAB", "KEY_BACKSPACE", "KEY_ESC", "KEY_KPENTER", "KEY_LEFTSHIFT",
                 "KEY_RIGHTALT", "KEY_CAPSLOCK", "KEY_DELETE", "KEY_F1"):
        assert plain(layout, name) is None
        assert plain(layout, name, shift=True, altgr=True) is None


# -- Caps Lock ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("layout", "name", "shift", "altgr", "char"), [
    ("us", "KEY_A", False, False, "A"), ("us", "KEY_A", True, False, "a"), ("us", "KEY_1", False, False, "1"),
    ("us", "KEY_1", True, False, "!"), ("us", "KEY_LEFTBRACE", False, False, "["),
    ("us", "KEY_SEMICOLON", False, False, ";"),
    ("de", "KEY_Y", False, False, "Z"), ("de", "KEY_LEFTBRACE", False, False, "Ü"),
    ("de", "KEY_LEFTBRACE", True, False, "ü"), ("de", "KEY_MINUS", False, False, "ß"),
    ("de", "KEY_MINUS", True, False, "?"), ("de", "KEY_SLASH", False, False, "-"),
    ("de", "KEY_Q", False, True, "@"), ("de", "KEY_E", False, True, "€"), ("de", "KEY_L", False, True, "Ł"),
    ("fr", "KEY_Q", False, False, "A"), ("fr", "KEY_M", False, False, ","), ("fr", "KEY_2", False, False, "é"),
    ("fr", "KEY_2", True, False, "2"), ("fr", "KEY_7", False, False, "è"), ("fr", "KEY_9", False, False, "ç"),
    ("fr", "KEY_0", False, False, "à"), ("fr", "KEY_APOSTROPHE", False, False, "ù"),
    ("fr", "KEY_0", False, True, "@"), ("fr", "KEY_Q", False, True, "Æ"), ("fr", "KEY_Q", True, True, "æ"),
])
def test_caps_lock_inverts_shift_on_letters_only(layout, name, shift, altgr, char):
    assert plain(LAYOUTS[layout], name, shift=shift, altgr=altgr, caps=True) == char


def test_caps_lock_round_trip_of_digits_on_fr():
    assert type_out(FR, FR.keystrokes("0013748911"), caps=True) == "0013748911"
    assert type_out(FR, FR.keystrokes("Ab"), caps=True) == "aB"


# -- keypad ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS)
def test_keypad(layout):
    for digit in "0123456789":
        assert layout.keypad(key(f"KEY_KP{digit}"), numlock=True) == digit
        assert layout.keypad(key(f"KEY_KP{digit}"), numlock=False) is None
    assert layout.keypad(key("KEY_KPDOT"), numlock=True) == ("," if layout.name == "de" else ".")
    assert layout.keypad(key("KEY_KPDOT"), numlock=False) is None
    for name, char in [("KEY_KPSLASH", "/"), ("KEY_KPASTERISK", "*"), ("KEY_KPMINUS", "-"),
                       ("KEY_KPPLUS", "+"), ("KEY_KPEQUAL", "="), ("KEY_KPCOMMA", ",")]:
        assert layout.keypad(key(name), numlock=True) == layout.keypad(key(name), numlock=False) == char
    assert layout.keypad(key("KEY_KPENTER"), numlock=True) is None
    assert layout.keypad(key("KEY_A"), numlock=True) is None
    assert plain(layout, "KEY_KP1") is None  # keypad keys are not main-block keys


# -- compose -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("accent", "char", "result"), [
    ("^", "e", "ê"), ("^", "E", "Ê"), ("¨", "u", "ü"), ("¨", "O", "Ö"), ("¨", "y", "ÿ"), ("´", "e", "é"),
    ("`", "a", "à"), ("~", "n", "ñ"), ("~", "a", "ã"), ("¸", "c", "ç"), ("ˇ", "s", "š"), ("˚", "a", "å"),
    ("˝", "o", "ő"), ("˛", "a", "ą"), ("˘", "g", "ğ"), ("˙", "z", "ż"), ("¯", "a", "ā"),
    ("^", " ", "^"), ("´", " ", "´"), ("¨", " ", "¨"), ("`", " ", "`"), ("~", " ", "~"),
    ("^", "1", "^1"), ("´", "x", "´x"), ("`", "`", "``"), ("¨", "é", "¨é"), ("?", "e", "?e"),
])
def test_compose(accent, char, result):
    assert compose(accent, char) == result


# -- get_layout --------------------------------------------------------------------------------------
def test_get_layout():
    assert get_layout("us") is US and get_layout("de") is DE and get_layout("fr") is FR
    assert get_layout(" FR ") is FR
    with pytest.raises(ValueError) as err:
        get_layout("xx")
    assert str(err.value) == "unknown keyboard layout 'xx': choose us, de or fr"
    with pytest.raises(ValueError, match="unknown keyboard layout ''"):
        get_layout("")
