"""Score cells: text as printed -> an exact number, a judgment string, or nothing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# A number of points, optionally signed, optionally followed by 分 ("4.5分").
_BLANKS = frozenset({"", "-", "—", "–", "/", "\\"})
_NUMBER = re.compile(r"^([+-]?)(\d+(?:\.\d+)?|\.\d+)分?$")
_SPLIT_DIGITS = re.compile(r"\d[.]?\s+[.]?\d")
# A number opening a cell, and what is written after it (a remark, or nothing).
_LEADING_NUMBER = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d+)?|\.\d+))(\s*分)?(.*)$", re.S)
# A deduction as people write it: 扣1分, 扣 0.5 分, 扣除1分, 扣分1, 扣分：1分.
_DEDUCTION = re.compile(r"^\s*扣(?:除)?\s*(?:分\s*[:：]?\s*)?(\d+(?:\.\d+)?|\.\d+)(\s*分)?(.*)$", re.S)
_FULL = re.compile(r"^\s*满\s*分(.*)$", re.S)
# Units that make a number something other than points ("3项", "2024年"), and list markers ("1．评价机构基本信息",
# "2、承诺机制": a numbered label, not a score): no remark may open with them straight after the digits.
_NOT_POINTS = frozenset("年月日号时项个份条次人%‰元.、")
_NOTE_EDGES = " \t\r\n\u3000()（）[]［］【】〔〕<>《》,，;；:：、。.·-—–~～/\\|"
_LETTER = re.compile(r"[^\W\d_]")  # a letter of any script, CJK included
# Marks people put in a tick column or before an option. Word's checked checkbox glyph is ☒, so ☒ is checked.
_TICKS = frozenset("√✓✔☑☒■●◉✅")
_CROSSES = frozenset("×✗✘✕✖╳xX")
_EMPTY_BOXES = frozenset("☐□○◯")
_GLYPHS = _TICKS | _CROSSES | _EMPTY_BOXES
_OPEN, _CLOSE = "(（[［【", ")）]］】"
_SPACE = re.compile(r"\s+")
# Distinct cell texts remembered per process: layout, values and checks read the same cell's number again and
# again, and a batch of one template repeats most of its texts (the results are immutable: str, Decimal, None).
DEFAULT_CACHED_TEXTS = 1 << 16


@dataclass(frozen=True)
class Score:
    """A score cell read: value is Decimal (points), str (a canonical judgment) or None; note is a remark
    written beside the value ("5（已整改）" -> 已整改)."""

    value: Decimal | str | None
    raw: str
    # number | judgment | blank | text | deduction (value: the points deducted) | full (满分: the item's max)
    # | ambiguous (more than one judgment ticked)
    kind: str
    note: str | None = None

    @property
    def is_number(self) -> bool:
        return self.kind == "number"


@lru_cache(maxsize=DEFAULT_CACHED_TEXTS)
def clean_text(text: str | None) -> str:
    """Given cell text, return it width-folded (NFKC) with all whitespace removed."""
    if not text:
        return ""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


@lru_cache(maxsize=DEFAULT_CACHED_TEXTS)
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


def _fold(text: str) -> str:
    # Emoji variation selectors ("✔️") ride on tick glyphs and would hide them.
    return unicodedata.normalize("NFKC", text).replace("\ufe0f", "").replace("\ufe0e", "")


def text_to_note(rest: str) -> str | None:
    """Given what follows a value in a cell, return it as a remark without brackets and separators around it,
    or None when it holds no letter (a bare number or punctuation is no remark: "1，2" is two numbers)."""
    note = rest.strip(_NOTE_EDGES)
    if not note or not _LETTER.search(note) or note[0].isdigit():
        return None
    return note


def _value_and_note(rest: str) -> tuple[bool, str | None]:
    """Given the text after a value, return (whether the cell still reads as that value, its remark)."""
    if not rest.strip():
        return True, None
    if rest[0] in _NOT_POINTS:
        return False, None
    note = text_to_note(rest)
    return note is not None, note


@lru_cache(maxsize=DEFAULT_CACHED_TEXTS)
def text_to_mark(text: str | None) -> str:
    """Given one tick-column cell's text, return "tick" (√ ✓ ✔ ☑ ☒ ■ ● ◉ ✅), "cross" (× ✗ ✘, a lone x),
    "blank" (nothing, ☐ □ ○ or a dash) or "text" (anything else, two marks included)."""
    t = _SPACE.sub("", _fold(text or "")).strip(_OPEN + _CLOSE)
    if t in _BLANKS or set(t) <= _EMPTY_BOXES:
        return "blank"
    # One mark per cell: two ("✓ ✓") are two rows' values run together, which no reader may take for one.
    if len(t) == 1 and t in _TICKS:
        return "tick"
    if len(t) == 1 and t in _CROSSES:
        return "cross"
    return "text"


def _options_in(t: str, options: list[str]) -> list[tuple[int, int, str]]:
    """Given folded text and the options longest first, return (start, end, option) of each occurrence, left to
    right, without overlaps: 基本符合 is never also read as 符合."""
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(t):
        hit = next((o for o in options if t.startswith(o, i)), None)
        if hit is None:
            i += 1
            continue
        found.append((i, i + len(hit), hit))
        i += len(hit)
    return found


def _glyph_before(segment: str) -> str | None:
    s = segment.rstrip(_CLOSE)
    return s[-1] if s and s[-1] in _GLYPHS else None


def _glyph_after(segment: str) -> str | None:
    s = segment.lstrip(_OPEN)
    return s[0] if s and s[0] in _GLYPHS else None


def _ticked_options(raw: str, t: str, options: list[str]) -> Score | None:
    """Given a cell's folded text holding judgment options, return the Score of its tick list ("☑符合 □基本符合
    □不符合"), or of one judgment followed by a remark ("符合（已整改）"); None when it is neither."""
    found = _options_in(t, options)
    if not found:
        return None
    bounds = [0] + [e for _s, e, _o in found]
    before = [_glyph_before(t[bounds[k]:found[k][0]]) for k in range(len(found))]
    after = [_glyph_after(t[found[k][1]:found[k + 1][0] if k + 1 < len(found) else len(t)])
             for k in range(len(found))]
    leftover = "".join(t[bounds[k]:found[k][0]] for k in range(len(found))) + t[found[-1][1]:]
    leftover = "".join(ch for ch in leftover if ch not in _GLYPHS)
    note = text_to_note(leftover)
    if not any(before) and not any(after):
        if len(found) == 1 and found[0][0] == 0:
            rest = t[found[0][1]:]
            note = text_to_note(rest)
            return Score(found[0][2], raw, "judgment", note) if note else None
        if note is None and len(found) > 1:
            return Score(None, raw, "blank")  # the printed options, none marked
        return None
    # A tick directly before an option marks it ("☑符合 □基本符合"); only when no option has a glyph before it
    # and the last one has one after it ("符合√ 基本符合 不符合□") do glyphs follow their options.
    if before[0] is not None or after[-1] is None:
        if before[0] is None and any(before):
            return Score(None, raw, "ambiguous", note)  # a glyph between two options, none before the first
        marks = before
    else:
        marks = after
    ticked = {o for (_s, _e, o), g in zip(found, marks, strict=True) if g in _TICKS}
    if not ticked:
        return Score(None, raw, "blank", note)
    if len(ticked) > 1:
        return Score(None, raw, "ambiguous", note)
    return Score(ticked.pop(), raw, "judgment", note)


_STRAY_PUNCTUATION = re.compile(r"^[\s、。，；：]+|[\s、。，；]+$")


def text_to_score(text: str | None, judgments: tuple[str, ...] = (), aliases: dict[str, str] | None = None) -> Score:
    """Given a score cell's text and the judgments the item allows, return the Score read from it: a number
    (with a remark written after it in note), a deduction (扣1分), 满分, a judgment (a word, an alias or a
    ticked option), blank, ambiguous (several options ticked) or text."""
    # The reading depends on these three only and a Score is immutable, so each distinct one is read once: a
    # batch repeats its score texts ("5", "4.5", "符合") on every form. Aliases key the cache by their items.
    return _text_to_score(text or "", tuple(judgments), tuple(aliases.items()) if aliases else ())


@lru_cache(maxsize=DEFAULT_CACHED_TEXTS)
def _text_to_score(raw: str, judgments: tuple[str, ...], alias_items: tuple[tuple[str, str], ...]) -> Score:
    """text_to_score's reading, cached: raw is the cell's text, alias_items the aliases' (alias, judgment)
    pairs."""
    aliases = dict(alias_items)
    stray = _STRAY_PUNCTUATION.sub("", raw)
    if stray.startswith(("）", ")")) or (stray.endswith(("）", ")")) and not re.search(r"[（(]", stray)):
        stray = stray.strip("）)")  # a bracket closed in the cell beside, hung over into this one
    if raw != stray and stray.strip():
        # CJK punctuation hung over from the cell beside ("符合、", "。0分") is no part of the value.
        s = _text_to_score(stray, judgments, alias_items)
        return Score(s.value, raw, s.kind, s.note)
    t = clean_text(raw)
    # Blanks as people type them: nothing, a dash or a slash.
    if t in _BLANKS:
        return Score(None, raw, "blank")
    value = parse_number(raw)
    if value is not None:
        return Score(value, raw, "number")
    if judgments:
        if t in judgments:
            return Score(t, raw, "judgment")
        if aliases and t in aliases:
            return Score(aliases[t], raw, "judgment")
    folded = _fold(raw)
    m = _LEADING_NUMBER.match(folded)
    if m:
        ok, note = _value_and_note(m.group(3))
        value = parse_number(m.group(1))
        if ok and note is not None and value is not None:
            return Score(value, raw, "number", note)
        return Score(None, raw, "text")
    m = _DEDUCTION.match(folded)
    if m:
        ok, note = _value_and_note(m.group(3))
        # A second deduction in the remark ("扣1分，扣0.5分") leaves the total to a reader, not to a guess.
        if ok and not (note and _DEDUCTION.search(note)):
            return Score(normalize_decimal(Decimal(m.group(1))), raw, "deduction", note)
        return Score(None, raw, "text")
    m = _FULL.match(folded)
    if m:
        ok, note = _value_and_note(m.group(1))
        return Score(None, raw, "full", note) if ok else Score(None, raw, "text")
    if judgments:
        options = sorted(set(judgments), key=len, reverse=True)
        s = _ticked_options(raw, _SPACE.sub("", folded), options)
        if s is not None:
            return s
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
