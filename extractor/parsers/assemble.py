"""Table assembly shared by the PDF parser and OCR: page fragments (cells with grid positions and spans, page
by page) -> Tables, a table continued over pages joined into one.

Both readers find a page's ruled tables their own way (pdfplumber's table finder on a text layer; morphology on
pixels) and hand over Fragments of Pieces in PDF points. From there on the rules are the same:

1. ``fragments_to_groups`` - a table that continues at the top of the next page with the same column edges is
   one table (``continues``);
2. ``group_to_table``      - the page fragments of a table are stacked into one grid; a row split by the page
   break becomes one row, and merged cells that run over the break become one Cell (see ``is_split_row`` and
   ``join_fragment`` for the rules).

Nothing here knows of rubrics or scores, nor of where the fragments came from.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from ..model import Cell, Table
from ..scores import parse_number, text_to_mark

DEFAULT_CONTINUATION_TOLERANCE = 3.0  # points: column edges of a table continued on the next page
DEFAULT_PAGE_EDGE_ZONE = 0.25  # share of page height: a continued table ends / restarts within it

# Characters after which a cut-off text is taken as finished, not cut by the page break.
CLOSING_PUNCTUATION = "。；！？.;!?）)】]」』"
OPENING_BRACKETS = "（(［[【〔〈《「『｛{"

_CJK_RANGES = (
    (0x2E80, 0x2FFF),  # radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # kana
    (0x3100, 0x31FF),  # bopomofo, kanbun, strokes
    (0x3200, 0x4DBF),  # enclosed, compatibility, extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xAC00, 0xD7AF),  # hangul
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0xFE30, 0xFE4F),  # compatibility forms
    (0xFF00, 0xFFEF),  # fullwidth forms
    (0x20000, 0x3FFFF),  # extensions B and later
)
CJK_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in _CJK_RANGES) + "\u2014-\u2026"  # for regexes

Box = tuple[float, float, float, float]


def is_cjk(ch: str) -> bool:
    """Given one character, return whether it is CJK script or wide punctuation (no spaces around it)."""
    code = ord(ch)
    return 0x2014 <= code <= 0x2026 or any(a <= code <= b for a, b in _CJK_RANGES)


@dataclass
class Piece:
    """A cell being assembled: grid position, text, provenance, and whether its text was cut off."""

    text: str
    row: int
    col: int
    rowspan: int
    colspan: int
    page: int
    bbox: Box
    open_end: bool = False  # its last line is full and unpunctuated: the text may go on elsewhere
    doubt: str | None = None  # see Cell.doubt
    doubt_kind: str | None = None  # see Cell.doubt_kind

    @property
    def last_row(self) -> int:
        return self.row + self.rowspan - 1


@dataclass
class Fragment:
    """The part of a ruled table drawn on one page; rows are local to the page, columns still unset."""

    page: int
    page_height: float
    bbox: Box
    x_edges: list[float]
    n_rows: int
    pieces: list[Piece] = field(default_factory=list)



def cluster_values(values: list[float], tolerance: float) -> list[float]:
    """Given coordinates, return one representative (the mean) per group of values closer than tolerance."""
    groups: list[list[float]] = []
    for v in sorted(values):
        if groups and v - groups[-1][-1] <= tolerance:
            groups[-1].append(v)
        else:
            groups.append([v])
    return [sum(g) / len(g) for g in groups]


def nearest_index(edges: list[float], value: float) -> int:
    """Given sorted edges and a coordinate, return the index of the closest edge."""
    i = bisect_right(edges, value)
    if i == 0:
        return 0
    if i == len(edges) or value - edges[i - 1] <= edges[i] - value:
        return i - 1
    return i


def wrap_join(left: str, right: str) -> str:
    """Given two texts where a line wrap separates them, return them joined: a space only between Latin/digits."""
    if not left or not right:
        return left + right
    if is_cjk(left[-1]) or is_cjk(right[0]) or left[-1].isspace() or right[0].isspace():
        return left + right
    if (left[-1].isdigit() or left[-1] == ".") and (right[0].isdigit() or right[0] == "."):
        return left + right  # a number wrapped in a narrow cell ("10" / "0" is 100, "0." / "5" is 0.5)
    return f"{left} {right}"



# --- across pages ---------------------------------------------------------------------------------


def edges_match(a: list[float], b: list[float], tolerance: float = DEFAULT_CONTINUATION_TOLERANCE) -> bool:
    """Given two tables' column edges, return whether they share outer edges and the fewer edges all recur."""
    if abs(a[0] - b[0]) > tolerance or abs(a[-1] - b[-1]) > tolerance:
        return False
    fewer, more = (a, b) if len(a) <= len(b) else (b, a)
    return all(any(abs(x - y) <= tolerance for y in more) for x in fewer)


def continues(previous: Fragment, fragment: Fragment) -> bool:
    """Given two consecutive fragments in document order, return whether the second continues the first's table.

    It does when the first is the last table of its page and ends in the bottom zone, the second is the
    first table of the next page and starts in the top zone, and their column edges match.
    """
    zone = DEFAULT_PAGE_EDGE_ZONE
    return (
        fragment.page == previous.page + 1
        and previous.bbox[3] >= previous.page_height * (1 - zone)
        and fragment.bbox[1] <= fragment.page_height * zone
        and edges_match(previous.x_edges, fragment.x_edges)
    )


def fragments_to_groups(fragments: list[Fragment]) -> list[list[Fragment]]:
    """Given all fragments in document order, return them grouped into logical tables."""
    groups: list[list[Fragment]] = []
    for fragment in fragments:
        if groups and continues(groups[-1][-1], fragment):
            groups[-1].append(fragment)
        else:
            groups.append([fragment])
    return groups



def row_signature(pieces: list[Piece], row: int) -> tuple:
    """Given pieces and a row number, return what identifies that row's content (columns and texts)."""
    return tuple(sorted((p.col, p.colspan, p.text) for p in pieces if p.row == row))


def repeated_header_rows(cells: list[Piece], new: list[Piece], new_rows: int) -> int:
    """Given a table's cells and the next page's pieces, return how many of its first rows repeat the header."""
    k = 0
    while k < new_rows:
        signature = row_signature(new, k)
        if not any(text for _, _, text in signature) or signature != row_signature(cells, k):
            break
        k += 1
    return k


DEFAULT_SHORT_VALUE_CHARS = 4  # 符合, 基本符合, 5分: a value, not a piece of a label
_TICK_GLYPHS = frozenset("☑☐□■☒√✓✔")


def _squash(text: str) -> str:
    return "".join(text.split())


def _ticks_in(text: str) -> int:
    """How many tick glyphs a text holds (an inline list "☑符合 □基本符合 □不符合" has 3): a value, no label."""
    return sum(ch in _TICK_GLYPHS for ch in text)


def _is_value(text: str) -> bool:
    """A number or a single tick mark: one value, never half of a text cut by a page break."""
    return parse_number(text) is not None or text_to_mark(text) in ("tick", "cross")


def is_split_row(pairs: list[tuple[Piece, Piece]], last_row: int) -> bool:
    """Given the first row F of a continuation page paired with the cells ending on the previous last row L,
    return whether F is the rest of L (one table row cut by the page break).

    Rule (generic, no knowledge of scores):
    - every cell of F lines up with a cell ending on L (checked by the caller);
    - F is empty under every merged cell that started above L (those are span continuations);
    - no column holds a value (a number, a tick) on both sides: a value is one, so two are two rows; nor
      do both sides hold values in different columns (a tick under 符合 above, under 不符合 below);
    - some column has text on both sides, and in at least one such column L's text stops at a full,
      unpunctuated line (it was cut, not finished), or else F has text in that one column only and L's
      text there is unpunctuated (the break fell on a line break typed inside the cell, so L's last line
      is short; F brings no value of its own);
    - some column has text on one side only: short values (scores) stay where they were typed, whereas
      a row that starts afresh on the new page fills the same columns as a complete row does; or two
      columns are cut at once (a label and a remark both wrapped across the break).
    The page-bottom border Word/LibreOffice draw under a cut row is no evidence either way, so it is ignored.
    """
    both = one_sided = cut = False
    n_cut = 0
    filled = []
    for new, old in pairs:
        if old.row < last_row:
            if new.text:
                return False
            continue
        if new.text:
            filled.append(old)
        if old.text and new.text:
            # A number (with the unit 分 at most) is one value, never the two halves of a text cut by a page break.
            if _is_value(old.text) and _is_value(new.text):
                return False
            # Two inline tick lists ("□符合 ■基本符合 □不符合" twice), or two short texts that the break did not
            # cut (符合 / 基本符合), are two rows' values; a list cut by the break leaves one option below it,
            # a score cut before its unit leaves 分.
            lengths = (len(_squash(old.text)), len(_squash(new.text)))
            if min(_ticks_in(old.text), _ticks_in(new.text)) >= 2 or not old.open_end and (
                    2 <= min(lengths) and max(lengths) <= DEFAULT_SHORT_VALUE_CHARS):
                return False
            both = True
            cut = cut or old.open_end
            n_cut += old.open_end
        elif old.text or new.text:
            one_sided = True
    if any(_is_value(o.text) for n, o in pairs if o.row >= last_row) and any(_is_value(n.text) for n, _ in pairs):
        return False  # values above and below the break (符合 ticked above, 不符合 below): two rows' values
    below = [(n, o) for n, o in pairs if n.text and o.row >= last_row]
    if below and all(_ticks_in(n.text) and _ticks_in(o.text) for n, o in below):
        return True  # only the tails of inline tick lists below the break ("□不符合"): the lists were cut
    unfinished = len(filled) == 1 and filled[0].text.rstrip()[-1:] not in ("", *CLOSING_PUNCTUATION)
    # Two columns cut mid-line at once (a label and a remark wrapped across the break) are one row even when
    # no column is filled on one side only.
    return both and (one_sided or n_cut >= 2) and (cut or unfinished)


def join_fragment(cells: list[Piece], n_rows: int, new: list[Piece], new_rows: int) -> int:
    """Given a table's cells so far (mutated) and the next page's pieces, append them; return the row count.

    The new page's header rows that repeat the table's first rows (Word 重复标题行, platypus repeatRows) are
    skipped over (and kept), and its first body row F is compared with the last row L:
    - split row (see is_split_row): each F cell is joined into the L cell above it (text concatenated)
      and F disappears. Without a repeated header the rowspans are combined; after one, an F cell that
      spans further rows leaves an empty cell for its remaining rows (a span cannot run through the
      header rows);
    - otherwise, without a repeated header, an empty F cell under a cell ending on L, where either is a
      vertical span, is the rest of that span (大项 / 中项 / 分值 columns): it is dropped and the span grows
      by its rowspan. After a repeated header nothing else is joined.
    """
    last_row = n_rows - 1
    k = repeated_header_rows(cells, new, new_rows)
    ending = {(c.col, c.colspan): c for c in cells if c.last_row == last_row}
    first = [p for p in new if p.row == k]
    pairs = [(p, ending[(p.col, p.colspan)]) for p in first if (p.col, p.colspan) in ending]
    if first and len(pairs) == len(first) and is_split_row(pairs, last_row):
        rests = []
        for piece, cell in pairs:
            if not cell.text.strip() and _is_value(piece.text):
                # A value found only below the break may be the next row's, its own row's cell left blank.
                cell.doubt = f"taken from the top of page {piece.page}, where the page break cut the row"
            cell.text = wrap_join(cell.text, piece.text)
            cell.open_end = piece.open_end
            if not k:
                cell.rowspan += piece.rowspan - 1
            elif piece.rowspan > 1:
                rests.append(
                    Piece("", piece.row + 1, piece.col, piece.rowspan - 1, piece.colspan, piece.page, piece.bbox)
                )
        for piece in [*new, *rests]:
            if piece.row != k:
                piece.row += n_rows if piece.row < k else n_rows - 1
                cells.append(piece)
        return n_rows + new_rows - 1
    if not k:
        joined = set()
        for piece, cell in pairs:
            if not piece.text and (cell.rowspan > 1 or piece.rowspan > 1):
                cell.rowspan += piece.rowspan
                joined.add(id(piece))
        new = [p for p in new if id(p) not in joined]
    for piece in new:
        piece.row += n_rows
        cells.append(piece)
    return n_rows + new_rows


def group_to_table(group: list[Fragment], index: int) -> Table:
    """Given the fragments of one logical table, return it as a Table with rows numbered continuously."""
    x_edges = cluster_values([x for f in group for x in f.x_edges], DEFAULT_CONTINUATION_TOLERANCE)
    cells: list[Piece] = []
    n_rows = 0
    for fragment in group:
        for p in fragment.pieces:
            p.col = nearest_index(x_edges, p.bbox[0])
            p.colspan = max(nearest_index(x_edges, p.bbox[2]) - p.col, 1)
        if not cells:
            cells, n_rows = list(fragment.pieces), fragment.n_rows
        else:
            n_rows = join_fragment(cells, n_rows, list(fragment.pieces), fragment.n_rows)
    cells.sort(key=lambda p: (p.row, p.col))
    return Table(
        index=index,
        cells=[Cell(p.text, p.row, p.col, p.rowspan, p.colspan, page=p.page, bbox=p.bbox, doubt=p.doubt,
                    doubt_kind=p.doubt_kind)
               for p in cells],
        n_rows=n_rows,
        n_cols=len(x_edges) - 1,
        page=group[0].page,
    )
