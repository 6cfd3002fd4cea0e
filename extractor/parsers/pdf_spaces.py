"""Where pdfium's text page may have left out chars pdfminer reads: the page is refused (Unsupported), unless
what was left out is a run of spaces after a space it kept.

pdfium's text page (core/fpdftext/cpdf_textpage.cpp) does not list every char a page draws: it leaves out
a text object of zero width (a lone space), one drawn again over one of the 5 text objects before it, every
space right after a space (its own generated spaces included: CloseTempLine folds runs of spaces), and a char
drawn again within 0.07 em of the same code in the same font. pdfminer reads them all. The parser reads a
space as a word break, and a run of spaces as one (pdf.line_to_text), so a run folded to the space that
starts it reads the same; any other char left out would not. ``check_kept`` refuses a page wherever that may
have happened, and the document is read with pdfplumber:

- a text object with no char read (a lone space: between "1" and "1" it is the word break of "1 1"), unless
  it prints nothing (its bounds are a point: a space's origin) between two CJK chars of its line, each within
  an em of it (LibreOffice writes such lone spaces in 管理 岗位);
- a char that follows a generated space (a kerning gap pdfium filled) at a gap wider than a tenth of an em:
  a space drawn there was left out, and a gap that narrow reads as no word break; unless both chars are CJK
  with no other char between them, where the parser drops any space (pdf._SPACE_BETWEEN_CJK: LibreOffice
  spaces out 填 报 日 期 so);
- a text object reaching left of its first char (by more than a glyph's side bearing, or at all when that
  char follows a space), or, when it ends before a generated space, past its end by that gap.

A char that follows a space pdfium read, at a gap (the spaces after it left out), and a text object that ends
on a space it read but reaches past it (its bounds are its glyphs' ink and its spaces' origins, so they reach
the origin of a space left out at its end), are runs of spaces folded: only spaces are folded, and pdfium's
other drops lie over a char it kept, never in a gap. Those pages are read, with fewer space chars than
pdfminer's; LibreOffice writes such runs in every export. The spaces are not put back: LibreOffice places each
space with its own kerning, so where a missing one lay is not known to the hundredth of a point. The last drop
is left as it is: what it drops, the parser's fake-bold dedupe (same text and font within 1 pt) drops as well at
sizes under 14 pt (0.07 em).
"""

from __future__ import annotations

import ctypes
import itertools
from typing import Any

import pypdfium2.raw as raw

from .assemble import is_cjk

TOLERANCE = 0.01  # points: pdfium's coordinates are single-precision
KERNING_GAP = 0.1  # ems: a gap after a generated space up to this is kerning, not a space left out


class Unsupported(Exception):
    """The fast path cannot read this document exactly: read it with pdfplumber."""


def check_kept(text_objects: dict[int, tuple[int, Any]], rows: list[list], chars: list[dict]) -> None:
    """Given a page's text objects (address -> (page index, object)), pdfium's rows for the chars it read
    (row[1] the object's address, row[8] whether a space came just before it, row[9] whether a generated
    space comes just after it) and the chars made of them, raise Unsupported where pdfium may have left a
    char out (see the module docstring)."""
    by_object: dict[int, list[tuple[list, dict]]] = {}
    for row, ch in zip(rows, chars, strict=True):
        by_object.setdefault(row[1], []).append((row, ch))
    b = [ctypes.c_float() for _ in range(4)]
    for key, (_, obj) in text_objects.items():
        entries = by_object.get(key)
        if not raw.FPDFPageObj_GetBounds(obj, *b):
            raise Unsupported("text bounds")
        if not entries:
            point = b[2].value - b[0].value <= TOLERANCE and b[3].value - b[1].value <= TOLERANCE
            if point and _between_cjk(chars, b[0].value, b[1].value):
                continue
            raise Unsupported("text object left out by pdfium")
        left, right = b[0].value, b[2].value
        em = entries[0][1]["size"]
        row, first = entries[0]
        gap = first["x0"] - left
        if gap > TOLERANCE and (row[8] or gap > KERNING_GAP * em):
            raise Unsupported("chars left out at a text object's start")
        for (_, one), (row, two) in itertools.pairwise(entries):
            # after a space read, a gap is the rest of its run, folded: read as one word break all the same
            if row[8] and one["text"] != " " and two["x0"] - one["x1"] > KERNING_GAP * em:
                if not (is_cjk(one["text"][-1]) and is_cjk(two["text"][0]) and not _between(chars, one, two)):
                    raise Unsupported("spaces left out")
        row, last = entries[-1]
        if last["text"] != " " and row[9] and right > last["x1"] + (KERNING_GAP - TOLERANCE) * em:
            raise Unsupported("spaces left out at a text object's end")


def _between(chars: list[dict], one: dict, two: dict) -> bool:
    """Given a page's chars and two of them on one line, return whether a char that is no space lies between
    them (its center in the gap, its box across their line)."""
    top, bottom = max(one["top"], two["top"]), min(one["bottom"], two["bottom"])
    for ch in chars:
        if ch["text"].strip() and one["x1"] < (ch["x0"] + ch["x1"]) / 2 < two["x0"]:
            if ch["top"] < bottom and ch["bottom"] > top:
                return True
    return False


def _between_cjk(chars: list[dict], x: float, y: float) -> bool:
    """Given a page's chars and a point (PDF coordinates, from the bottom), return whether the nearest chars
    printing something on the point's line, left and right of it, are both CJK, each within an em of it."""
    line = [ch for ch in chars if ch["text"].strip() and ch["y0"] - TOLERANCE <= y < ch["y1"]]
    left = max((ch for ch in line if (ch["x0"] + ch["x1"]) / 2 < x), key=lambda ch: ch["x1"], default=None)
    right = min((ch for ch in line if (ch["x0"] + ch["x1"]) / 2 > x), key=lambda ch: ch["x0"], default=None)
    return (left is not None and right is not None and is_cjk(left["text"][-1]) and is_cjk(right["text"][0])
            and x - left["x1"] <= left["size"] and right["x0"] - x <= right["size"])
