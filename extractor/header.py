"""Cover fields: institution name, fill date and the 2023 statistics table."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from .model import Document
from .scores import parse_number

# Longest first, so 被督导机构名称 is never read as 被督导机构 followed by "名称".
_INSTITUTION_KEYS = tuple(sorted(("被督导机构名称", "被督导机构", "受检单位名称", "受检单位", "填报单位", "单位名称",
                                  "评价机构名称", "机构名称", "评价机构"), key=len, reverse=True))
_DATE_KEYS = ("填报日期", "填表日期", "报送日期")


def _spaced(word: str) -> str:
    # Keys are often spread out to fill a cover line: "联 系 人".
    return r"\s*".join(map(re.escape, word))


# Another field printed on the same line ends the institution name. Long keys end it anywhere; short ones that
# could sit inside a name ("XX手机维修培训学校") only with a colon after them or a space before them.
_FIELD_ENDS = ("填报日期", "填表日期", "报送日期", "填表人", "填报人", "联系人", "审核人", "负责人", "联系电话",
               "电子邮箱")
_SHORT_FIELD_ENDS = ("日期", "电话", "手机", "邮箱")
_NEXT_FIELD = re.compile("(" + "|".join([_spaced(w) for w in _FIELD_ENDS]
                                        + [rf"{_spaced(w)}\s*[:：]|(?<=\s){_spaced(w)}" for w in _SHORT_FIELD_ENDS])
                         + ")")
_STATS = {
    "batches": ("认定批次数", "批次数"),
    "certified_total": ("认定总人数", "总人数"),
    "certified_passed": ("认定合格人数", "合格人数"),
}
_SEAL = re.compile(r"[（(]\s*(盖\s*章|公\s*章|签\s*章|印\s*章)\s*[)）]")
# A stated count: digits with thousands separators, and a unit ("1,520人", "12次").
_COUNT = re.compile(r"\d[\d,，.]*\s*(?:人次|批次|人|批|次|个|家|名)?")
_COUNT_UNIT = re.compile(r"(?:人次|批次|人|批|次|个|家|名)$")
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}


@dataclass
class Header:
    institution: str | None = None
    fill_date: str | None = None  # YYYY-MM-DD
    batches: int | None = None
    certified_total: int | None = None
    certified_passed: int | None = None


# Every cell's text is tried against every key until the fields are found: the texts are folded and the keys'
# patterns compiled once per process.
@lru_cache(maxsize=1 << 14)
def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1 << 14)
def _squash(s: str) -> str:
    return _SPACE.sub("", _nfkc(s))


@lru_cache(maxsize=64)
def _key_patterns(keys: tuple[str, ...], anchored: bool) -> tuple[re.Pattern, ...]:
    return tuple(re.compile((r"\s*" if anchored else "") + _spaced(key) + r"\s*[:：]?") for key in keys)


def document_to_texts(doc: Document, page_lines: bool = True) -> list[tuple[str, str | None]]:
    """Given a Document, return (text, right-neighbour text) pairs in the order a field is believed: free lines
    first, then page header and footer lines (unless page_lines is False), then table cells."""
    return list(_iter_texts(doc, page_lines))


def _iter_texts(doc: Document, page_lines: bool = True) -> Iterator[tuple[str, str | None]]:
    """document_to_texts' pairs one at a time: a table's grid is built only when its cells are reached (the cover
    fields are usually found before the score table's thousands of cells)."""
    for line in doc.lines:
        yield line, None
    if page_lines:
        for line in doc.page_lines:
            yield line, None
    for t in doc.tables:
        grid = t.grid()
        for c in t.cells:
            right = None
            k = c.col + c.colspan
            if k < t.n_cols and c.row < t.n_rows:
                nb = grid[c.row][k]
                right = nb.text if nb is not None else None
            yield c.text, right


def clean_institution(value: str) -> str | None:
    """Given the text after 评价机构名称, return the name without seal marks, padding or underlines."""
    v = _SEAL.sub("", _nfkc(value))
    v = re.sub(r"[_＿\s　]+", "", v)
    v = v.strip("：:;；,，。.")
    return v or None


def text_to_date(value: str) -> str | None:
    """Given a date as written (2024年5月20日, 2024.05.20, 2024-5-20, 二〇二四年五月二十日), return YYYY-MM-DD."""
    v = _squash(value)
    m = re.search(r"(\d{4})[年./\-](\d{1,2})[月./\-](\d{1,2})", v)
    if not m:
        cn = _cn_date(v)
        if not cn:
            return None
        y, mo, d = cn
    else:
        y, mo, d = (int(x) for x in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 1990 <= y <= 2100):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _cn_number(s: str) -> int | None:
    if not s:
        return None
    if all(ch in _CN_DIGITS for ch in s) and len(s) == 4:
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    if "十" in s:
        tens, _, ones = s.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    return _CN_DIGITS.get(s) if len(s) == 1 else None


def _cn_date(v: str) -> tuple[int, int, int] | None:
    m = re.search(r"([〇零○O一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日", v)
    if not m:
        return None
    parts = [_cn_number(x) for x in m.groups()]
    if None in parts:
        return None
    return parts[0], parts[1], parts[2]  # type: ignore[return-value]


def _after_key(text: str, keys: tuple[str, ...], anchored: bool = True) -> str | None:
    """The text after the first key found in text (spaces inside the key allowed), or None.
    Anchored keys must open the text, so a title that mentions 评价机构 is no name field."""
    flat = _nfkc(text)
    for pattern in _key_patterns(keys, anchored):
        m = pattern.match(flat) if anchored else pattern.search(flat)
        if m:
            return flat[m.end():]
    return None


def _after_institution_key(text: str) -> str | None:
    """The text after an institution key opening text, or None. The key must be followed by a colon, a seal mark
    ("填报单位（盖章）："), a space or nothing (a key cell), so a line like 受检单位自查情况 is no name field."""
    flat = _nfkc(text)
    for pattern in _INSTITUTION_PATTERNS:
        m = pattern.match(flat)
        if m:
            return flat[m.end():]
    return None


_INSTITUTION_PATTERNS = tuple(re.compile(r"\s*" + _spaced(key) + r"\s*(?:" + _SEAL.pattern + r")?\s*(?:[:：]|(?<=\s)|$)")
                              for key in _INSTITUTION_KEYS)


def _institution(rest: str) -> str | None:
    """Given the text after an institution key, return the name up to the next field on its line, or None."""
    return clean_institution(_NEXT_FIELD.split(rest.split("\n")[0])[0])


def _int(value: str | None) -> int | None:
    """Given the text after a statistics key, return the first count it states ("：1,520人" -> 1520), or None.
    The number itself is read by scores.parse_number, the one number reader; a fraction is no count."""
    if not value:
        return None
    m = _COUNT.search(_nfkc(value))
    if not m:
        return None
    token = re.sub(r"[,，]", "", _COUNT_UNIT.sub("", m.group(0).strip())).rstrip(".")
    n = parse_number(token)
    return int(n) if n is not None and n == n.to_integral_value() else None


# What an institution's name ends with: a page header line of this shape is its letterhead.
_ORG_NAME = re.compile(r"^[\u4e00-\u9fff（）()·]{4,40}(学校|学院|大学|中心|公司|协会|学会|商会|研究院|研究所|集团|医院|"
                       r"基地|站|所|厂|馆|院|社|局|委员会)$")


# The bodies that issue the blank form print their own name in its header: never the institution's.
_ISSUER = re.compile(r"指导中心|鉴定中心|人力资源和社会保障|人力资源社会保障|人社厅|人社局|职业能力建设")


def _letterhead_name(line: str) -> str | None:
    """Given a page header line, return it as an institution name when it is one alone (…学校, …有限公司)."""
    name = clean_institution(line)
    return name if name and _ORG_NAME.match(name) and not _ISSUER.search(name) else None


def document_to_header(doc: Document) -> Header:
    """Given a Document, return the Header fields found on its cover, page headers and statistics table."""
    h = Header()
    for text, right in _iter_texts(doc):
        if h.institution is None:
            rest = _after_institution_key(text)
            if rest is not None:
                h.institution = _institution(rest) or (_institution(right) if right else None)
        if h.fill_date is None:
            rest = _after_key(text, _DATE_KEYS, anchored=False)
            if rest is None:
                rest = _after_key(text, ("日期",))
            if rest is not None:
                h.fill_date = text_to_date(rest) or (text_to_date(right) if right else None)
        squashed = _squash(text) if None in (h.batches, h.certified_total, h.certified_passed) else ""
        for field, keys in _STATS.items():
            if getattr(h, field) is None and any(k in squashed for k in keys):
                rest = _after_key(text, keys, anchored=False)
                setattr(h, field, _int(rest) if _int(rest) is not None else _int(right))
        if None not in (h.institution, h.fill_date, h.batches, h.certified_total, h.certified_passed):
            break  # every field found: the texts after could change none
    if h.institution is None:
        # A letterhead: the name alone in the page header, with no key before it.
        # PDFs have no header part: a line printed on two pages or more is the page header.
        repeated = [line for line, n in Counter(doc.lines).items() if n >= 2]
        h.institution = next((n for n in map(_letterhead_name, [*doc.page_lines, *repeated]) if n), None)
    if h.fill_date is None:
        # A date line without its key, e.g. a signature block "2024年5月20日"; a page footer's date is the
        # template's, not the filler's.
        for text, _ in _iter_texts(doc, page_lines=False):
            d = text_to_date(text)
            if d and len(_squash(text)) <= 16:
                h.fill_date = d
                break
    return h
