"""PDF parser: ruled tables and free text lines from a PDF's text layer (pdfplumber).

Reading a page's objects (chars, lines, rects, curves, images) is most of a PDF's cost when pdfminer
interprets its content streams in Python. So ``PdfParser`` first has pdfium (C, parsers/pdf_objects.py) read
every page's objects in pdfplumber's shapes and hands each to its pdfplumber Page (``page._objects``) before
anything reads it; pdfminer then never interprets the page, and pdfplumber's edges and table finder work on
those objects as on its own. Where pdfium does not read a document exactly (a /Rotate, a form XObject, a
Type3 or vertical font, sideways text, a char its text page leaves out - see pdf_objects and pdf_spaces) that
page is read the pdfplumber way instead; where pdfium cannot open the document as pdfplumber does, all of it.
A page's objects are the same either way, so a mix reads as pdfminer alone would. The steps below are the same.

Pipeline, one page at a time (each page is closed once read, so memory stays flat):

1. ``page_to_upright_page``   - a page whose text runs sideways is turned a quarter turn;
2. ``page_to_deduped_page``  - fake-bold doubled characters are dropped (as page.dedupe_chars());
3. ``page_to_rulings``        - the page's rules, with a doubled or thick rule (two lines, or the sides of a
   filled thin rectangle, closer than a character) merged into one ruling at its middle, and rules that stop
   short of such a ruling (the mitred corners of Word/LibreOffice double borders) carried on to it;
4. ``page_to_fragments``      - pdfplumber's ruled-table finder, fed those rulings, gives cell boxes; a box
   narrower (or lower) than a character and holding no text is a sliver of border, never a cell; every other
   box is mapped onto the grid of distinct x and y edges to get row/col/rowspan/colspan (the covered part of a
   merged cell is never repeated), and the characters inside a box become its text;
5. ``page_to_lines``          - the text outside every table, line by line, top to bottom;
6. ``page_to_variants``       - when the page's first (last) table has an open edge (a row cut by the
   page break drawn with no rule at the break, see ``open_edge``), the page is also read with that
   edge closed by a rule.

Then across pages:

7. ``choose_variants``        - an open edge is closed only where the table goes on over that break;
8. ``fragments_to_groups``, ``group_to_table`` (parsers/assemble.py, shared with OCR) - a table continued on
   the next page with the same column edges is one table, a row split by the page break one row.

A PDF whose every page is a page image (``page_is_scan``: no text layer, or a full-page image with no
vector-ruled table, as a searchable scan's invisible OCR layer) is no text PDF: it is handed, with its text
layer, to the scan reader the parser was given (parsers/scan.py); this module never imports OCR.

The parser knows nothing of rubrics or scores: it only reports what the PDF draws.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.psexceptions import PSException
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from ..model import Document
from ..scores import parse_number
from .assemble import (
    CJK_CLASS,
    CLOSING_PUNCTUATION,
    OPENING_BRACKETS,
    Box,
    Fragment,
    Piece,
    continues,
    fragments_to_groups,
    group_to_table,
    is_cjk,
    wrap_join,
)
from .base import ParseError, Parser
from .pdf_cells import page_to_tables
from .pdf_objects import PdfiumObjects, Unsupported
from .pdf_rulings import DEFAULT_EDGE_TOLERANCE, Rulings, page_to_rulings, spans_to_edges

# --- tuning -------------------------------------------------------------------------------------

DEFAULT_MIN_TABLE_CELLS = 2  # a lone ruled box (a frame around a title) is not a table
DEFAULT_WORD_GAP = 0.25  # x gap between two chars above this share of the font size is a space
DEFAULT_PARAGRAPH_GAP = 1.6  # line pitch above this share of the font size is a paragraph break
DEFAULT_FULL_LINE_SLACK = 1.0  # a line is full (wrapped) when less than this many ems are left
DEFAULT_UNCLOSED_LINE_SLACK = 2.0  # ... or this many when it ends inside a bracket just opened, as "（2"
DEFAULT_OPEN_EDGE_MIN = 2.0  # points: table rules running on this far past the last cross rule leave a row open
DEFAULT_SIDEWAYS_SHARE = 0.5  # a page is turned when more than this share of its chars runs sideways
DEFAULT_DEDUPE_TOLERANCE = 1.0  # points: doubled chars (fake bold) closer than this are one char
DEFAULT_SCAN_IMAGE_SHARE = 0.6  # an image covering this share of a page with no ruled table makes it a scan page

_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{CJK_CLASS}])[ \u00a0\u3000\t]+(?=[{CJK_CLASS}])")
# CJK punctuation that may hang past a cell's right border at a line's end.
_HANGING_PUNCTUATION = frozenset("、。，．；：！？）」』】")


# --- errors ---------------------------------------------------------------------------------------


def error_to_parse_error(error: Exception) -> ParseError:
    """Given an exception pdfplumber/pdfminer raised, return the ParseError telling the user what to do."""
    cause = error.args[0] if isinstance(error, PdfminerException) and error.args else error
    if isinstance(cause, PDFEncryptionError):
        return ParseError("the PDF is encrypted: remove its password and send it again")
    detail = " ".join(str(cause).split())[:200] or type(cause).__name__
    return ParseError(f"not a readable PDF: {detail}; re-export it")


# --- text -----------------------------------------------------------------------------------------


def chars_to_lines(chars: list[dict]) -> list[list[dict]]:
    """Given chars, return them grouped into text lines, top to bottom, each left to right."""
    lines: list[list[dict]] = []
    bottom = top = 0.0
    for ch in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        middle = (ch["top"] + ch["bottom"]) / 2
        if lines and top <= middle <= bottom:
            lines[-1].append(ch)
            bottom = max(bottom, ch["bottom"])
        else:
            lines.append([ch])
            top, bottom = ch["top"], ch["bottom"]
    return [sorted(line, key=lambda c: c["x0"]) for line in lines]


def line_to_text(line: list[dict]) -> str:
    """Given the chars of one line (left to right), return its text.

    A space is written for a space char or a wide gap, except between two CJK characters: justified
    Chinese (LibreOffice) leaves gaps and stray spaces that are not word breaks.
    """
    text = ""
    previous: dict | None = None
    pending_space = False
    for ch in line:
        t = ch["text"]
        if not t or t.isspace():
            pending_space = previous is not None
            continue
        if previous is not None:
            gap = ch["x0"] - previous["x1"]
            wide = gap > DEFAULT_WORD_GAP * max(ch.get("size") or 0, 1.0)
            if pending_space or (wide and not (is_cjk(text[-1]) or is_cjk(t[0]))):
                text += " "
        text += t
        previous, pending_space = ch, False
    return _SPACE_BETWEEN_CJK.sub("", text)


def lines_to_text(lines: list[list[dict]]) -> str:
    """Given a cell's lines, return its text: wrapped lines joined, paragraphs (a wider pitch) on new lines."""
    text = ""
    previous: list[dict] | None = None
    for line in lines:
        part = line_to_text(line)
        if previous is None:
            text = part
        else:
            size = max(max(c.get("size") or 0 for c in previous), 1.0)
            pitch = line[0]["top"] - previous[0]["top"]
            text = f"{text}\n{part}" if pitch > DEFAULT_PARAGRAPH_GAP * size else wrap_join(text, part)
        previous = line
    return _SPACE_BETWEEN_CJK.sub("", text).strip()


def ends_inside_bracket(text: str) -> bool:
    """Given a line's text, return whether it ends in an opening bracket, or in a number just after one
    ("……更新（2"): the text is unfinished there. The number is read by scores.parse_number."""
    i = max(text.rfind(b) for b in OPENING_BRACKETS)
    return i >= 0 and (i == len(text) - 1 or parse_number(text[i + 1 :]) is not None)


def lines_end_open(lines: list[list[dict]], box: Box) -> bool:
    """Given a cell's lines and box, return whether its last line is full and unpunctuated (the text was cut).

    The right padding is taken equal to the left one (the smallest left indent of any line); a line is
    full when less than DEFAULT_FULL_LINE_SLACK em is left before that padding. A line ending inside a
    bracket just opened ("……更新（2") may leave up to DEFAULT_UNCLOSED_LINE_SLACK em: CJK line breaking
    never starts a line with a closing bracket, so "分）" went down to the next line together although "分"
    alone would have fitted.
    """
    visible = [c for c in lines[-1] if c["text"].strip()] if lines else []
    if not visible or visible[-1]["text"].strip()[-1] in CLOSING_PUNCTUATION:
        return False
    padding = max(min(line[0]["x0"] for line in lines) - box[0], 0.0)
    size = max(visible[-1].get("size") or 0, 1.0)
    unclosed = ends_inside_bracket(line_to_text(lines[-1]).rstrip())
    slack = DEFAULT_UNCLOSED_LINE_SLACK if unclosed else DEFAULT_FULL_LINE_SLACK
    return (box[2] - padding) - visible[-1]["x1"] < slack * size


# --- one page -------------------------------------------------------------------------------------


def turn_box(box: Box, page_box: Box, clockwise: bool) -> Box:
    """Given a box (x0, top, x1, bottom) on a page, return it on the page turned a quarter turn."""
    x0, top, x1, bottom = box
    px0, ptop, px1, pbottom = page_box
    if clockwise:
        return (pbottom - bottom, x0 - px0, pbottom - top, x1 - px0)
    return (top - ptop, px1 - x1, bottom - ptop, px1 - x0)


def turn_object(obj: dict, page_box: Box, clockwise: bool, new_height: float) -> dict:
    """Given a pdfplumber object, return a copy placed on the page turned a quarter turn."""
    x0, top, x1, bottom = turn_box((obj["x0"], obj["top"], obj["x1"], obj["bottom"]), page_box, clockwise)
    turned = dict(obj)
    turned.update(
        x0=x0, x1=x1, top=top, bottom=bottom, width=x1 - x0, height=bottom - top,
        y0=new_height - bottom, y1=new_height - top, doctop=obj.get("doctop", obj["top"]) - obj["top"] + top,
    )  # fmt: skip
    if "pts" in obj:
        turned["pts"] = [turn_box((x, y, x, y), page_box, clockwise)[:2] for x, y in obj["pts"]]
    if obj.get("object_type") == "char":
        turned.update(upright=True, size=bottom - top)
    return turned


def page_to_upright_page(page: Page) -> Page:
    """Given a page, return it with its text reading left to right.

    Pages whose /Rotate already makes the text upright are left alone (pdfminer applies /Rotate).
    A page whose text mostly runs sideways (a landscape table printed on a portrait page) is turned a
    quarter turn: clockwise when the text runs up the page, counter-clockwise when it runs down.
    """
    chars = page.chars
    sideways = [c for c in chars if not c.get("upright", True)]
    if not chars or len(sideways) <= DEFAULT_SIDEWAYS_SHARE * len(chars):
        return page
    clockwise = sum(1 for c in sideways if c["matrix"][1] > 0) * 2 > len(sideways)
    page_box = tuple(page.bbox)
    new_width, new_height = page.height, page.width
    turned = page.filter(lambda obj: True)
    turned._objects = {
        kind: [turn_object(o, page_box, clockwise, new_height) for o in objs if "x0" in o]
        for kind, objs in page.objects.items()
    }
    turned.bbox = (0, 0, new_width, new_height)
    return turned


def _chained(objs: list[dict], attr: str, tolerance: float) -> list[list[dict]]:
    """Given objects and a coordinate, return them clustered as pdfplumber's cluster_objects does: sorted by the
    coordinate, a value within tolerance of the previous one joins its cluster; each cluster in input order."""
    order = sorted(range(len(objs)), key=lambda i: objs[i][attr])
    clusters: list[list[int]] = []
    last = 0.0
    for i in order:
        value = objs[i][attr]
        if clusters and value <= last + tolerance:
            clusters[-1].append(i)
        else:
            clusters.append([i])
        last = value
    return [[objs[i] for i in sorted(c)] for c in clusters]


def page_to_deduped_page(page: Page, tolerance: float = DEFAULT_DEDUPE_TOLERANCE) -> Page:
    """Given a page, return it without fake-bold doubled chars (same text, font and size drawn twice in place).

    Same rule as pdfplumber's page.dedupe_chars(), which restores the char order with list.index
    (quadratic: half a second per dense page); this keeps the first char of each cluster in n log n, and
    returns the page itself when nothing is doubled (most pages: a glyph drawn once needs no clustering).
    """
    chars = page.chars
    key = itemgetter("upright", "text", "fontname", "size")
    same_glyph: dict[tuple, list[dict]] = {}
    for c in chars:
        same_glyph.setdefault(key(c), []).append(c)
    dropped: set[int] = set()
    for group in same_glyph.values():
        if len(group) < 2:
            continue
        for same_line in _chained(group, "doctop", tolerance):
            if len(same_line) < 2:
                continue
            for same_spot in _chained(same_line, "x0", tolerance):
                if len(same_spot) > 1:
                    first = min(same_spot, key=itemgetter("doctop", "x0"))
                    dropped.update(id(c) for c in same_spot if c is not first)
    if not dropped:
        return page
    deduped = page.filter(lambda obj: True)
    deduped._objects = {**page.objects, "char": [c for c in chars if id(c) not in dropped]}
    return deduped


# --- one page: tables -----------------------------------------------------------------------------


def table_to_fragment(
    table: Any, chars: list[dict], page_number: int, page_height: float, rulings: Rulings
) -> Fragment | None:
    """Given a pdfplumber table, the page's chars and rulings, return its Fragment (cells with real spans), or None.

    A box narrower or lower than a char (rulings.sliver) with no text in it is a sliver of border, never a
    cell: its sides are left out, so a sliver at the table's foot adds no column to the rows above it. Every
    other box is mapped onto the grid of the table's distinct x and y edges (see spans_to_edges): a merged
    cell is one box covering several grid steps, hence one Piece with rowspan/colspan. Pieces keep their
    box as pdfplumber found it.
    """
    boxes = [
        box
        for box in (tuple(b) for b in table.cells)
        if (box[2] - box[0] >= rulings.sliver and box[3] - box[1] >= rulings.sliver) or rulings.centers.inside(box)
    ]
    x_groups = spans_to_edges([(b[0], b[2]) for b in boxes], rulings.sliver)
    y_groups = spans_to_edges([(b[1], b[3]) for b in boxes], rulings.sliver)
    x_lows, y_lows = [g[0] for g in x_groups], [g[0] for g in y_groups]
    x_edges, y_edges = [(a + b) / 2 for a, b in x_groups], [(a + b) / 2 for a, b in y_groups]
    n_rows, n_cols = len(y_edges) - 1, len(x_edges) - 1
    if n_rows < 1 or n_cols < 1:
        return None
    grid: list[list[int | None]] = [[None] * n_cols for _ in range(n_rows)]
    placed: list[tuple[int, int, int, int, Box]] = []
    for box in boxes:
        col, col_end = bisect_right(x_lows, box[0]) - 1, bisect_right(x_lows, box[2]) - 1
        row, row_end = bisect_right(y_lows, box[1]) - 1, bisect_right(y_lows, box[3]) - 1
        if col_end <= col or row_end <= row or grid[row][col] is not None:
            continue
        for r in range(row, row_end):
            for c in range(col, col_end):
                grid[r][c] = len(placed)
        placed.append((row, col, row_end - row, col_end - col, box))  # type: ignore[arg-type]

    owned: list[list[dict]] = [[] for _ in placed]
    x0, top, x1, bottom = table.bbox
    for ch in chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        if ch["text"] in _HANGING_PUNCTUATION:
            # CJK punctuation may hang past a cell's right border at a line's end (reportlab, Word's 允许标点溢出
            # 边界); its ink sits in its box's left part, so it belongs to the cell it hangs out of.
            cx = ch["x0"] + (ch["x1"] - ch["x0"]) / 4
        if not (x0 <= cx <= x1 and top <= cy <= bottom):
            continue
        r = min(max(bisect_right(y_edges, cy) - 1, 0), n_rows - 1)
        c = min(max(bisect_right(x_edges, cx) - 1, 0), n_cols - 1)
        if grid[r][c] is not None:
            owned[grid[r][c]].append(ch)

    fragment = Fragment(page_number, page_height, tuple(table.bbox), x_edges, n_rows)
    for (row, col, rowspan, colspan, box), cell_chars in zip(placed, owned, strict=True):
        lines = chars_to_lines(cell_chars)
        fragment.pieces.append(
            Piece(lines_to_text(lines), row, col, rowspan, colspan, page_number, box, lines_end_open(lines, box))
        )
    fragment.pieces.sort(key=lambda p: (p.row, p.col))
    return fragment


def page_to_fragments(page: Page, page_number: int, rulings: Rulings, rules: list[dict] | tuple = ()) -> list[Fragment]:
    """Given an upright, deduplicated page, its rulings (see page_to_rulings) and horizontal rules to add (see
    close_rule), return its ruled tables as Fragments, top to bottom."""
    horizontal = [*rulings.horizontal, *rules]
    if len(rulings.vertical) < 2 or len(horizontal) < 2:
        return []  # no cell without two rules each way (and pdfplumber refuses fewer explicit lines)
    settings = {
        "vertical_strategy": "explicit",
        "horizontal_strategy": "explicit",
        "explicit_vertical_lines": rulings.vertical,
        "explicit_horizontal_lines": horizontal,
    }
    fragments = []
    for table in page_to_tables(page, settings):
        if len(table.cells) < DEFAULT_MIN_TABLE_CELLS:
            continue
        fragment = table_to_fragment(table, page.chars, page_number, page.height, rulings)
        if fragment is not None:
            fragments.append(fragment)
    return sorted(fragments, key=lambda f: (f.bbox[1], f.bbox[0]))


def page_to_lines(page: Page, fragments: list[Fragment]) -> list[str]:
    """Given a page and its table fragments, return the text lines outside the tables, in reading order."""

    boxes = [f.bbox for f in fragments]

    def outside(ch: dict) -> bool:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        return not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes)

    lines = (line_to_text(line).strip() for line in chars_to_lines([c for c in page.chars if outside(c)]))
    return [line for line in lines if line]


def rule_reach(segments: list[tuple[float, float]], y: float, down: bool) -> float:
    """Given the (top, bottom) segments of one vertical rule and a y on it, return how far down (or up) the
    rule runs on from y without a gap."""
    tolerance = DEFAULT_EDGE_TOLERANCE
    reach, moved = y, True
    while moved:
        moved = False
        for top, bottom in segments:
            if down and top - tolerance <= reach < bottom:
                reach, moved = bottom, True
            elif not down and top < reach <= bottom + tolerance:
                reach, moved = top, True
    return reach


def open_edge(page: Page, rulings: Rulings, bbox: Box, bottom: bool) -> float | None:
    """Given a page, its rulings and a table's box, return the y where its open bottom (or top) row ends, or None.

    A row cut by a page break may be drawn without a rule at the break (reportlab's default): its text
    lies outside every ruled cell. The edge is open when both outer vertical rules of the table run on
    past its last (first) horizontal rule by at least DEFAULT_OPEN_EDGE_MIN points and text lies between
    them in that strip; the row ends where the outer rules end.
    """
    x0, top, x1, y1 = bbox
    edge = y1 if bottom else top
    tolerance = DEFAULT_EDGE_TOLERANCE
    reaches = []
    for x in (x0, x1):
        segments = [(e["top"], e["bottom"]) for e in rulings.vertical if abs(e["x0"] - x) <= tolerance]
        reaches.append(rule_reach(segments, edge, bottom))
    end = min(reaches) if bottom else max(reaches)
    if abs(end - edge) < DEFAULT_OPEN_EDGE_MIN:
        return None
    low, high = (edge, end) if bottom else (end, edge)
    for ch in page.chars:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        if ch["text"].strip() and x0 < cx < x1 and low < cy < high:
            return end
    return None


def close_rule(bbox: Box, y: float) -> dict:
    """Given a table's box and a y, return a horizontal rule across the table at y (a pdfplumber edge)."""
    return {
        "object_type": "closing_edge",
        "orientation": "h",
        "x0": bbox[0],
        "x1": bbox[2],
        "top": y,
        "bottom": y,
        "width": bbox[2] - bbox[0],
        "height": 0.0,
    }


PageVariants = dict[tuple[bool, bool], tuple[list[Fragment], list[str]]]


def page_to_variants(page: Page, page_number: int) -> PageVariants:
    """Given an upright, deduplicated page, return its fragments and free lines as drawn, keyed (False, False),
    and, when its first table's top or its last table's bottom is open (see open_edge), also with either or
    both closed by a rule, keyed (top closed, bottom closed). Which one holds depends on the pages around
    it (see choose_variants)."""
    rulings = page_to_rulings(page)
    fragments = page_to_fragments(page, page_number, rulings)
    variants: PageVariants = {(False, False): (fragments, page_to_lines(page, fragments))}
    if not fragments:
        return variants
    top = open_edge(page, rulings, fragments[0].bbox, bottom=False)
    bottom = open_edge(page, rulings, fragments[-1].bbox, bottom=True)
    for closes in ((True, False), (False, True), (True, True)):
        if (closes[0] and top is None) or (closes[1] and bottom is None):
            continue
        rules = [close_rule(fragments[0].bbox, top)] if closes[0] else []
        rules += [close_rule(fragments[-1].bbox, bottom)] if closes[1] else []
        closed = page_to_fragments(page, page_number, rulings, rules)
        variants[closes] = (closed, page_to_lines(page, closed))
    return variants


# --- across pages ---------------------------------------------------------------------------------


def choose_variants(pages: list[PageVariants]) -> list[tuple[list[Fragment], list[str]]]:
    """Given every page's variants, return one per page: an open edge is closed only where the table goes
    on over that page break (the next page's first table continues it, see continues)."""
    closed = [[False, False] for _ in pages]
    for i in range(len(pages) - 1):
        bottom, top = (False, True) in pages[i], (True, False) in pages[i + 1]
        for closes in dict.fromkeys(((bottom, top), (bottom, False), (False, top))):
            if closes == (False, False):
                continue
            previous, following = pages[i][(False, closes[0])][0], pages[i + 1][(closes[1], False)][0]
            if previous and following and continues(previous[-1], following[0]):
                closed[i][1], closed[i + 1][0] = closes
                break
    return [variants[tuple(c)] for variants, c in zip(pages, closed, strict=True)]



# --- the parser -----------------------------------------------------------------------------------


@dataclass
class TextLayer:
    """What a scanned PDF's own text layer says (a searchable scan: the scanner's OCR drawn invisibly over the
    page image): per 1-based page, its size in points and its characters as (text, (x0, top, x1, bottom)) in
    points of the page as displayed (/Rotate applied, as pdfium renders it)."""

    sizes: dict[int, tuple[float, float]] = field(default_factory=dict)
    chars: dict[int, list[tuple[str, Box]]] = field(default_factory=dict)


# Reads a page's objects as pdfplumber's Page.objects holds them, given its 0-based index and its Page (see
# pdf_objects.PdfiumObjects.page_objects), or raises pdf_objects.Unsupported.
PageObjects = Callable[[int, Page], dict]

# Reads a PDF found to be a scan: given the PDF's bytes and its text layer (empty for a plain scan), return its
# Document. The registry in parsers/__init__ hands the OCR's reader in, so this module never imports OCR.
ScanReader = Callable[[bytes, TextLayer], Document]


def page_is_scan(page: Page, fragments: list[Fragment]) -> bool:
    """Given an upright page and its ruled tables, return whether it is a page image: images only (no text
    layer), or an image over DEFAULT_SCAN_IMAGE_SHARE of the page with no vector-ruled table (its text, if any,
    the scanner's invisible OCR layer or text laid over the picture)."""
    if not page.images:
        return False
    if not page.chars:
        return True
    area = max(float(page.width) * float(page.height), 1.0)
    covered = max(
        (
            max(float(i["x1"]) - float(i["x0"]), 0.0) * max(float(i["bottom"]) - float(i["top"]), 0.0)
            for i in page.images
        ),
        default=0.0,
    )
    return not fragments and covered >= DEFAULT_SCAN_IMAGE_SHARE * area


def page_to_layer(page: Page) -> list[tuple[str, Box]]:
    """Given a page as displayed, return its visible characters with their boxes in points."""
    return [
        (c["text"], (float(c["x0"]), float(c["top"]), float(c["x1"]), float(c["bottom"])))
        for c in page.chars
        if c["text"].strip()
    ]


def pdf_to_document(
    pdf: pdfplumber.PDF, scan_reader: ScanReader | None = None, objects: PageObjects | None = None
) -> Document:
    """Given an open pdfplumber PDF (the reader for scans, and what reads a page's objects instead of pdfminer; a
    page it refuses with Unsupported is read by pdfminer), return its Document; raise ParseError when it has
    nothing to read. A PDF whose every page is a page image
    (see page_is_scan) is handed to scan_reader with its text layer; without one it is refused."""
    pages = pdf.pages
    if not pages:
        raise ParseError("the PDF has no pages: re-export it")
    variants: list[PageVariants] = []
    layer = TextLayer()
    n_scanned = n_text = 0
    for number, page in enumerate(pages, start=1):
        try:
            if objects is not None:
                try:
                    page._objects = objects(number - 1, page)  # read before anything reads page.objects
                except Unsupported:
                    pass  # this page alone is read the pdfplumber way: its objects equal pdfium's elsewhere
            upright = page_to_deduped_page(page_to_upright_page(page))
            variants.append(page_to_variants(upright, number))
            if page_is_scan(upright, variants[-1][(False, False)][0]):
                n_scanned += 1
                layer.sizes[number] = (float(page.width), float(page.height))
                layer.chars[number] = page_to_layer(page)
            elif upright.chars or upright.images or upright.lines or upright.rects:
                n_text += 1  # a blank page is neither
        finally:
            page.close()
    if n_scanned and not n_text:
        if scan_reader is None:
            raise ParseError("the PDF is a scan (page images): read it with extractor.parsers.path_to_document")
        pdf.stream.seek(0)
        return scan_reader(pdf.stream.read(), layer)
    fragments: list[Fragment] = []
    lines: list[str] = []
    for page_fragments, page_lines in choose_variants(variants):
        fragments.extend(page_fragments)
        lines.extend(page_lines)
    tables = [group_to_table(group, i) for i, group in enumerate(fragments_to_groups(fragments))]
    return Document(tables=tables, lines=lines, kind="pdf", pages=len(pages))


class PdfParser(Parser):
    suffixes = (".pdf",)
    kind = "pdf"

    def __init__(self, scan_reader: ScanReader | None = None) -> None:
        self.scan_reader = scan_reader

    def path_to_document(self, path: Path) -> Document:
        """Given a PDF path, return its tables and free text lines, or raise ParseError."""
        try:
            with pdfplumber.open(path) as pdf:
                try:
                    with PdfiumObjects(path, pdf) as fast:
                        return pdf_to_document(pdf, self.scan_reader, fast.page_objects)
                except Unsupported:
                    pass  # pdfium cannot open it as pdfplumber does: read it all the pdfplumber way (see pdf_objects)
                return pdf_to_document(pdf, self.scan_reader)
        except (PdfminerException, MalformedPDFException, PSException) as error:
            raise error_to_parse_error(error) from error
        except OSError as error:
            raise ParseError(
                f"cannot read {Path(path).name}: {error.strerror or error}; send the file again"
            ) from error
