"""Ticks and boxes in Word XML: checkbox content controls, legacy form-field checkboxes, symbol-font w:sym.

A checkbox's state lives in its properties, not in the glyph it shows (Word draws ☒/☐ in MS Gothic, or a
Wingdings w:sym, and a producer may leave a stale glyph), so the state decides: checked is "☑", unchecked "☐".
A w:sym names a character of a symbol font; read as Unicode it is a private-use code point that prints as
garbage, so the common ones are mapped and any other is dropped.
"""

from __future__ import annotations

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
_w = f"{{{W}}}"
_w14 = f"{{{W14}}}"

CHECKED = "☑"
UNCHECKED = "☐"

# (font family, low byte of the symbol's code) -> text. Codes are written F0xx (or xx) in w:sym/@w:char.
_SYMBOLS: dict[tuple[str, int], str] = {
    ("wingdings", 0xFE): CHECKED,  # ballot box with check
    ("wingdings", 0xFD): CHECKED,  # ballot box with x: the "selected" box of Chinese forms
    ("wingdings", 0x78): CHECKED,  # x in a box
    ("wingdings", 0xA8): UNCHECKED,  # ballot box
    ("wingdings", 0x6F): UNCHECKED,  # white square
    ("wingdings", 0xFC): "✓",
    ("wingdings", 0xFB): "×",
    ("wingdings 2", 0x52): CHECKED,  # ballot box with bold check
    ("wingdings 2", 0x54): CHECKED,  # ballot box with bold x
    ("wingdings 2", 0x51): CHECKED,  # ballot box with x
    ("wingdings 2", 0xA3): UNCHECKED,  # ballot box
    ("wingdings 2", 0x50): "✓",
    ("wingdings 2", 0x4F): "×",
    ("symbol", 0xD6): "√",  # the radical sign Word's Insert Symbol offers as a tick
    ("symbol", 0xB4): "×",
}
_SYMBOL_FONTS = {"wingdings", "wingdings 2", "wingdings 3", "webdings", "symbol"}
_TRUE = {"1", "true", "on"}


def _on(el: etree._Element | None, attr: str) -> bool | None:
    """Given an on/off element (absent: None; present without a value: on), return its state."""
    if el is None:
        return None
    val = el.get(attr)
    return True if val is None else val.strip().lower() in _TRUE


def sdt_checkbox_mark(sdt: etree._Element) -> str | None:
    """Given a w:sdt, return "☑"/"☐" when it is a checkbox content control (w14:checkbox), else None."""
    pr = sdt.find(_w + "sdtPr")
    box = pr.find(_w14 + "checkbox") if pr is not None else None
    if box is None:
        return None
    return CHECKED if _on(box.find(_w14 + "checked"), _w14 + "val") else UNCHECKED


def fldchar_checkbox_mark(fld: etree._Element) -> str | None:
    """Given a w:fldChar, return "☑"/"☐" when it begins a legacy form-field checkbox, else None.

    The current state is w:checked; a box never clicked has only its w:default."""
    box = fld.find(f"{_w}ffData/{_w}checkBox")
    if box is None:
        return None
    state = _on(box.find(_w + "checked"), _w + "val")
    if state is None:
        state = _on(box.find(_w + "default"), _w + "val")
    return CHECKED if state else UNCHECKED


def sym_text(sym: etree._Element) -> str:
    """Given a w:sym, return the text it shows: a mapped mark, the character itself when the font is a
    Unicode font and the code a real character, else "" (never a private-use glyph)."""
    font = (sym.get(_w + "font") or "").strip().lower()
    try:
        code = int(sym.get(_w + "char") or "", 16)
    except ValueError:
        return ""
    low = code - 0xF000 if 0xF000 <= code <= 0xF0FF else code  # symbol fonts sit at F000-F0FF
    if font in _SYMBOL_FONTS or low != code or code < 0x100:
        return _SYMBOLS.get((font, low), "") if low < 0x100 else ""
    if 0xE000 <= code <= 0xF8FF or code > 0x10FFFF or not chr(code).isprintable():
        return ""
    return chr(code)

