"""Where pdfium's text page may have left out chars pdfminer reads: the page is refused (Unsupported).

pdfium's text page (core/fpdftext/cpdf_textpage.cpp) does not list every char a page draws: it leaves out
a text object of zero width (a lone space), one drawn again over one of the 5 text objects before it, every
space right after a space (its own generated spaces included: CloseTempLine folds runs of spaces), and a char
drawn again within 0.07 em of the same code in the same font. pdfminer reads them all, and the parser reads
spaces (word breaks, a line of spaces in a cell), so ``check_kept`` refuses a page wherever that may have
happened, and the document is read with pdfplumber:

- a text object with no char read;
- a char that follows a space (read or generated) of its own text object at a gap: after a space read, wider
  than nothing (the missing spaces); after a generated space (a kerning gap), wider than a tenth of an em;
- a text object reaching left of its first char (by more than a glyph's side bearing, or at all when that
  char follows a space), or, when it ends on a space, up to that space's end: its bounds are its glyphs' ink
  and its spaces' origins, so they reach the origin of a space left out at its end; when it ends before a
  generated space, past its end by that gap.

Spaces are not put back: LibreOffice places each space with its own kerning, so where a missing one lay is
not known to the hundredth of a point. The last drop is left as it is: what it drops, the parser's fake-bold
dedupe (same text and font within 1 pt) drops as well at sizes under 14 pt (0.07 em).
"""

from __future__ import annotations

import ctypes
import itertools
from typing import Any

import pypdfium2.raw as raw

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
        if not entries:
            raise Unsupported("text object left out by pdfium")
        if not raw.FPDFPageObj_GetBounds(obj, *b):
            raise Unsupported("text bounds")
        left, right = b[0].value, b[2].value
        em = entries[0][1]["size"]
        row, first = entries[0]
        gap = first["x0"] - left
        if gap > TOLERANCE and (row[8] or gap > KERNING_GAP * em):
            raise Unsupported("chars left out at a text object's start")
        for (_, one), (row, two) in itertools.pairwise(entries):
            gap = two["x0"] - one["x1"]
            if row[8] and gap > (TOLERANCE if one["text"] == " " else KERNING_GAP * em):
                raise Unsupported("spaces left out")
        row, last = entries[-1]
        if (last["text"] == " " and right >= last["x1"] - TOLERANCE) or (
            row[9] and right > last["x1"] + (KERNING_GAP - TOLERANCE) * em
        ):
            raise Unsupported("spaces left out at a text object's end")
