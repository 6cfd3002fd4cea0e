"""Score cells: text as printed -> an exact number, a judgment string, or nothing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# A number of points, optionally signed, optionally followed by 分 ("4.5分").
_BLANKS = frozenset({"", "-", "—", "–", "/", "\\"})
_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d+)?|\.\d+)分?$")
_SPLIT_DIGITS = re.compile(r"\d[.]?\s+[.]?\d")


@dataclass(frozen=True)
class Score:
    """A score cell read: value is Decimal (points), str (a canonical judgment) or None."""

    value: Decimal | str | None
    raw: str
    kind: str  # number | judgment | blank | text

    @property
    def is_number(self) -> bool:
        return self.kind == "number"


def clean_text(text: str | None) -> str:
    """Given cell text, return it width-folded (NFKC) with all whitespace removed."""
    if not text:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def parse_number(text: str | None) -> Decimal | None:
    """Given a cell's whole text, return the number of points it holds ("4.5", "４．５分", "-1"), or None.
    This is the one place that reads a number from text: layout, checks, PDF and OCR all call it."""
    if _SPLIT_DIGITS.search(unicodedata.normalize("NFKC", text or "")):
        return None  # "1 1" is two numbers (two cells read as one), never eleven
    t = clean_text(text).replace("－", "-").replace("．", ".")
    m = _NUMBER.match(t)
    if not m:
        return None
    try:
        return normalize_decimal(Decimal(m.group(1) + m.group(2)))
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None


def text_to_score(text: str | None, judgments: tuple[str, ...] = (), aliases: dict[str, str] | None = None) -> Score:
    """Given a score cell's text and the judgments the item allows, return the Score read from it."""
    raw = text or ""
    t = clean_text(raw)
    # Blanks as people type them: nothing, a dash or a slash.
    if t in _BLANKS:
        return Score(None, raw, "blank")
    m = _NUMBER.match(t.replace("－", "-"))
    if m:
        try:
            value = Decimal(m.group(1) + m.group(2))
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return Score(None, raw, "text")
        return Score(normalize_decimal(value), raw, "number")
    if judgments:
        if t in judgments:
            return Score(t, raw, "judgment")
        if aliases and t in aliases:
            return Score(aliases[t], raw, "judgment")
    return Score(None, raw, "text")


def normalize_decimal(d: Decimal) -> Decimal:
    """Given a Decimal, return it without trailing zeros (5.0 -> 5, 4.50 -> 4.5)."""
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


def to_json_number(v: Decimal | str | None) -> int | float | str | None:
    """Given a stored value, return it as JSON wants it: int when whole, float otherwise."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def fmt(v: Decimal | str | None) -> str:
    """Given a value, return it for a message: 4.5, 5, 符合 or 'blank'."""
    if v is None:
        return "blank"
    if isinstance(v, Decimal):
        return str(normalize_decimal(v))
    return str(v)
