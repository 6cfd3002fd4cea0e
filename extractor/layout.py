"""Layout: find the score table's header (extractor/columns.py) and turn its body into rows.

Each body cell takes the role of the header column it overlaps most, by extent, so rows whose grid
differs from the header's are still read right; one cell never serves two roles, and where a cell
lies across two value columns or two cells compete for one, the row carries a finding instead of a
guess. A following table with no header continues the body. Each body row becomes an item Row, a
totals Row (the "100" / 加分项 / 减分项 / 合计 rows, and 小计 subtotals), a heading (context only) or
nothing at all (notes, signature lines, （以下空白）, blank rows, repeated headers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import attrgetter

from rubric.vocabulary import Vocabulary, default_vocabulary, flat

from .columns import (
    CATEGORY,
    CONTENT,
    DEDUCTION,
    DEFAULT_AMBIGUOUS_OVERLAP,
    DEFAULT_HEADER_CELL_MAX_CHARS,
    INSPECTOR,
    LABEL,
    LABEL_ROLES,
    MAX,
    NOTE,
    OPTION,
    SECTION,
    SELF,
    UNKNOWN,
    VALUE_ROLES,
    Columns,
    HeaderColumn,
    cell_extent,
    row_cells,
    table_edges,
    table_to_columns,
)
from .form import Finding
from .model import Cell, Document, Table
from .scores import parse_number

__all__ = ["CATEGORY", "SECTION", "LABEL", "CONTENT", "MAX", "SELF", "INSPECTOR", "Columns", "Layout", "Row",
           "document_to_layout", "table_to_columns"]

TOTAL, BONUS, PENALTY, GRAND, SUBTOTAL, ITEM, HEADING = "total", "bonus", "penalty", "grand", "subtotal", "item", \
    "heading"

_TOTAL_WORDS = ("总分", "得分合计", "分数合计", "总得分", "满分", "总计得分")
_BONUS_WORDS = ("加分项", "加分")
_PENALTY_WORDS = ("减分项", "扣分项", "减分", "扣分")
_GRAND_WORDS = ("合计", "总计", "最终得分", "综合得分")
# Rows that are no items: notes, blank-page marks and signature lines (a field to sign, then a colon).
_NOTE_ROW = re.compile(r"^(填表说明|说明|注|备注|附注|注意)\d*[:：、.]|^注\d|以下空白|以下无正文|此页无正文|此处空白")
_SIGN_FIELD = re.compile(r"(签字|签名|签章|盖章|签发)\s*[)）]?\s*[:：]|[:：]\s*[(（]\s*(签字|签名|盖章)\s*[)）]")
_TEXT = attrgetter("text")
_NOTE_FIRST = "填说注备附"  # the first characters of _NOTE_ROW's anchored alternatives
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")  # a bracketed aside in a row's label: (限10分), （附件）
# A single cell this wide (share of the table) is a heading or a note, never an item's label.
DEFAULT_SPANNING_SHARE = 0.6
DEFAULT_UNKNOWN_COLUMN_MIN_NUMBERS = 2


@dataclass
class Row:
    """One body row: its label context, printed max and score cells (per side), with provenance."""

    kind: str
    table: int
    row: int
    category: str = ""
    section: str = ""
    label: str = ""
    content: str = ""
    max_text: str = ""
    max_cell: Cell | None = None
    label_cell: Cell | None = None
    self_cell: Cell | None = None
    inspector_cell: Cell | None = None
    # Per side: the remark column's cell, the 扣分 column's cell, and tick columns (judgment, cell).
    notes: dict[str, Cell] = field(default_factory=dict)
    deductions: dict[str, Cell] = field(default_factory=dict)
    marks: dict[str, list[tuple[str, Cell]]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # Every cell covering the row, with the column key it took ("across" over two value columns, "outside" beyond
    # the header, "" for a column of no role): the row as printed, for evidence.
    cells: list[tuple[Cell, str]] = field(default_factory=list)

    @property
    def self_text(self) -> str:
        return self.self_cell.text if self.self_cell else ""

    @property
    def inspector_text(self) -> str:
        return self.inspector_cell.text if self.inspector_cell else ""

    def score_cell(self, side: str) -> Cell | None:
        return self.self_cell if side == SELF else self.inspector_cell


@dataclass
class Layout:
    rows: list[Row] = field(default_factory=list)
    columns: list[Columns] = field(default_factory=list)
    has_inspector: bool = False
    has_max: bool = False
    findings: list[Finding] = field(default_factory=list)  # form-level: columns nobody reads that hold numbers
    # The score tables read, in order: (table, the table whose header applies, its Columns)
    tables: list[tuple[Table, int, Columns]] = field(default_factory=list)

    @property
    def items(self) -> list[Row]:
        return [r for r in self.rows if r.kind == ITEM]


def document_to_layout(doc: Document, vocab: Vocabulary | None = None, options: tuple[str, ...] = ()) -> Layout:
    """Given a Document, the header vocabulary and the rubric's judgments, return the Layout of its score
    table(s): item rows and totals rows in order."""
    vocab = vocab or default_vocabulary()
    layout = Layout()
    current: Columns | None = None
    prev_table: int | None = None
    header_from = -1
    unknown: dict[int, tuple[int, HeaderColumn, list[str]]] = {}  # header column -> (table, column, body texts)
    for table in doc.tables:
        grid = table.grid()
        cols = table_to_columns(table, vocab, options, grid)
        first_body = 0
        if cols is not None:
            current = cols
            first_body = cols.header_rows
            header_from = table.index
        elif current is not None and prev_table == table.index - 1 and _continues(table, current):
            cols = current  # a continuation without its own header
        else:
            continue
        prev_table = table.index
        layout.columns.append(cols)
        layout.tables.append((table, header_from, cols))
        layout.has_inspector |= any(h.side == INSPECTOR and h.role != NOTE for h in cols.header)
        layout.has_max |= any(h.role == MAX for h in cols.header)
        table_to_rows(table, cols, first_body, layout, vocab, unknown, options, grid)
    _carry_context(layout.rows)
    layout.findings = _unknown_columns(unknown)
    return layout


def document_to_cell_words(doc: Document) -> frozenset[str]:
    """Given a Document, return the folded text (flat) of every cell of its tables.

    A rubric's judgments (the layout's options) enter the layout only as "this cell's folded text is one of
    them" (a tick column's header, a sub-header word, a repeated header's word), so two option sets that agree
    on these words give the same Layout."""
    return frozenset(map(flat, [c.text for t in doc.tables for c in t.cells]))


def options_in(options: tuple[str, ...], words: frozenset[str]) -> frozenset[str]:
    """Given a rubric's judgments and a document's cell words, return the folded judgments some cell says: the
    part of the options its layout depends on."""
    return frozenset(o for o in map(flat, options) if o in words)


def _continues(table: Table, cols: Columns) -> bool:
    """A headerless table continues the body when its extent reaches the last value column's."""
    edges, unit = table_edges(table)
    last = max((h for h in cols.header if h.role in VALUE_ROLES), key=lambda h: h.x1, default=None)
    if last is None:
        return False
    if unit != cols.unit:
        return table.n_cols >= last.k1
    return edges[-1] >= last.x0 + (last.x1 - last.x0) / 2


def _column_geometry(cols: Columns, edges: list[float], unit: str, table: Table
                     ) -> tuple[list[float], str, list[tuple[float, float]]]:
    """Given a body table's Columns and its own edges, return the edges, unit and header column spans a body
    cell is compared in: the header's geometry, or grid columns for a continuation read with other geometry."""
    if unit != cols.unit:
        return [float(k) for k in range(table.n_cols + 1)], "grid", [(float(h.k0), float(h.k1)) for h in cols.header]
    return edges, unit, [(h.x0, h.x1) for h in cols.header]


def _cells_to_columns(cells: list[Cell], cols: Columns, edges: list[float], unit: str, table: Table,
                      geometry: tuple[list[float], str, list[tuple[float, float]]] | None = None,
                      memo: dict[tuple[float, float, bool], tuple[str, object]] | None = None,
                      flats: list[str] | None = None,
                      by_grid: dict[tuple[int, int, bool], tuple[str, object]] | None = None,
                      places: list[tuple[str, object]] | None = None
                      ) -> tuple[dict[int, list[Cell]], list[tuple[Cell, list[HeaderColumn]]], list[Cell]]:
    """Given a row's cells, return the cells of each header column (by index), the cells that lie across
    two value columns (with those columns: they take neither role) and the cells outside every column.
    geometry is _column_geometry's answer, when the caller computed it once for the table; memo, one dict per
    table, remembers where a cell of each extent goes (that depends on its extent and whether it holds text
    only, and a table's rows repeat a few extents); by_grid, one dict per table too, the same by grid position
    for a cell whose extent follows from it (no box of its own); flats, the cells' folded texts when the caller
    has them; places, when given, gets each cell's place (_place's answer), in the cells' order."""
    header = cols.header
    edges, unit, spans = geometry or _column_geometry(cols, edges, unit, table)
    by_col: dict[int, list[Cell]] = {}
    across: list[tuple[Cell, list[HeaderColumn]]] = []
    outside: list[Cell] = []
    boxed = unit == "pt"  # a cell's own box, where it has one, gives its extent: no grid key then
    for i, c in enumerate(cells):
        has_text = bool(flats[i] if flats is not None else flat(c.text))
        grid_key = (c.col, c.colspan, has_text) if by_grid is not None and (not boxed or c.bbox is None) else None
        place = by_grid.get(grid_key) if grid_key is not None else None  # type: ignore[union-attr]
        if place is None:
            x0, x1 = cell_extent(c, edges, unit)
            key = (x0, x1, has_text)
            place = memo.get(key) if memo is not None else None
            if place is None:
                place = _place(x0, x1, has_text, header, spans)
                if memo is not None:
                    memo[key] = place
            if grid_key is not None:
                by_grid[grid_key] = place  # type: ignore[index]
        if places is not None:
            places.append(place)
        where, what = place
        if where == "col":
            by_col.setdefault(what, []).append(c)  # type: ignore[arg-type]
        elif where == "across":
            across.append((c, list(what)))  # type: ignore[call-overload]
        else:
            outside.append(c)
    return by_col, across, outside


def _place(x0: float, x1: float, has_text: bool, header: list[HeaderColumn], spans: list[tuple[float, float]]
           ) -> tuple[str, object]:
    """Given a body cell's extent and whether it holds text, return where it goes: ("col", header index),
    ("across", the value columns it lies across) or ("outside", None)."""
    width = max(x1 - x0, 1e-9)
    # Only the columns the cell overlaps can take it: largest overlap first, then leftmost.
    ov = [(o, n) for n, (s0, s1) in enumerate(spans) if (o := min(x1, s1) - max(x0, s0)) > 0]
    if not ov:
        return "outside", None
    if len(ov) > 1:
        ov.sort(key=_by_overlap)
    best = ov[0][1]
    rivals = [n for o, n in ov[1:] if o >= DEFAULT_AMBIGUOUS_OVERLAP * width
              and header[n].role in VALUE_ROLES and header[n].key != header[best].key]
    if rivals and header[best].role in VALUE_ROLES and has_text:
        return "across", tuple([header[best]] + [header[n] for n in rivals])
    if header[best].role in LABEL_ROLES:
        # A cell over several label columns (合计 across 大项…小项) is the row's label.
        best = next((n for o, n in ov if o >= DEFAULT_AMBIGUOUS_OVERLAP * width and header[n].role == LABEL),
                    best)
    return "col", best


def _by_overlap(p: tuple[float, int]) -> tuple[float, int]:
    return -p[0], p[1]


def table_to_rows(table: Table, cols: Columns, first: int, layout: Layout, vocab: Vocabulary | None = None,
                  unknown: dict[int, tuple[int, HeaderColumn, list[str]]] | None = None,
                  options: tuple[str, ...] = (), grid: list[list[Cell | None]] | None = None) -> None:
    """Given a body table and its Columns, append its body rows (from row `first`) to layout.rows (grid: the
    table's, when the caller has it)."""
    vocab = vocab or default_vocabulary()
    grid = grid if grid is not None else table.grid()
    edges, unit = table_edges(table)
    geometry = _column_geometry(cols, edges, unit, table)
    memo: dict[tuple[float, float, bool], tuple[str, object]] = {}
    by_grid: dict[tuple[int, int, bool], tuple[str, object]] = {}
    width = (edges[-1] - edges[0]) or 1.0
    prev_label: Cell | None = None
    in_header = False
    opts = {flat(o) for o in options}
    header_words = {flat(t) for h in cols.header for t in h.text.split(" / ")} | opts
    keys = [h.key for h in cols.header]  # each column's key, asked of every cell in it
    label_cols = {n for n, h in enumerate(cols.header) if h.role in LABEL_ROLES}
    unknown_cols = {n for n, h in enumerate(cols.header) if h.role == UNKNOWN} if unknown is not None else set()
    for r in range(first, table.n_rows):
        cells = row_cells(grid, r)
        flats = list(map(flat, map(_TEXT, cells)))  # folded once per row, asked below several times
        if not any(flats):
            continue
        if _repeats_header(flats, header_words) or (in_header and _repeats_header(
                [f for c, f in zip(cells, flats, strict=True) if c.row == r], header_words)):
            in_header = True  # a header repeated on a continuation page or table, with its sub-header rows
            continue
        in_header = False
        whole = "".join(flats)
        if _is_note_row(whole) or (_is_sign_row(whole) and not any(
                parse_number(c.text) is not None for c in cells)):
            continue  # a note, signature line or blank-page mark: no item
        lone = cells[flats.index(next(filter(None, flats)))] if len(flats) - flats.count("") == 1 else None
        if lone is not None and _share(lone, edges, unit, width) >= DEFAULT_SPANNING_SHARE and _row_kind(
                flat(lone.text), Row(ITEM, table.index, r)) == ITEM:
            # One cell across the table carries no score: a heading (context for the rows below) or a note.
            text = lone.text.strip()
            if len(flat(text)) <= DEFAULT_HEADER_CELL_MAX_CHARS * 2:
                layout.rows.append(Row(kind=HEADING, table=table.index, row=r, category=text))
            continue
        places: list[tuple[str, object]] = []
        by_col, across, outside = _cells_to_columns(cells, cols, edges, unit, table, geometry, memo, flats,
                                                    by_grid, places)
        items = sorted(by_col.items())
        row = _build_row(table.index, r, cols, by_col, across, keys, items)
        # Each cell took one place: a header column (its key), "across" two value columns, or "outside" them all.
        row.cells = [(c, keys[what] if where == "col" else where)  # type: ignore[index]
                     for c, (where, what) in zip(cells, places, strict=True)]
        if unknown_cols:
            for n, cs in by_col.items():
                if n in unknown_cols:
                    h = cols.header[n]
                    unknown.setdefault(id(h), (table.index, h, []))[2].extend(  # type: ignore[union-attr]
                        c.text for c in cs if c.row == r)
        label_cell = row.label_cell
        if label_cell is not None and label_cell is prev_label and label_cell.row != r:
            continue  # the rest of a vertically merged label cell: not a new row
        prev_label = label_cell
        region = "".join([flat(c.text) for n, cs in items if n in label_cols
                          for c in cs if c.row == r or c.rowspan == 1])
        row.kind = _row_kind(region, row)
        if row.kind == ITEM and not row.label:
            if not (row.self_text.strip() or row.inspector_text.strip() or row.marks):
                row.kind = HEADING  # a heading row spanning the label columns (e.g. "一、机构信用"): context only
                row.category = row.category or region
            elif row.content:
                row.label = row.content
        if row.kind == ITEM:
            row.findings += [Finding("column_conflict", f"单元格「{c.text.strip()}」在表头各栏之外："
                                     "其值未读取") for c in outside
                             if c.row == r and parse_number(c.text) is not None]
        layout.rows.append(row)


def _share(c: Cell, edges: list[float], unit: str, width: float) -> float:
    x0, x1 = cell_extent(c, edges, unit)
    return (x1 - x0) / width


def _build_row(table: int, r: int, cols: Columns, by_col: dict[int, list[Cell]],
               across: list[tuple[Cell, list[HeaderColumn]]], keys: list[str] | None = None,
               items: list[tuple[int, list[Cell]]] | None = None) -> Row:
    """Given a body row's cells per header column, return the Row they make, with findings where two cells
    compete for one score or one cell lies across two (keys: the header columns' keys, and items: by_col's
    items sorted, when the caller has them)."""
    row = Row(kind=ITEM, table=table, row=r)
    by_key: dict[str, list[tuple[HeaderColumn, Cell]]] = {}
    header = cols.header
    for n, cs in (items if items is not None else sorted(by_col.items())):
        h = header[n]
        key = keys[n] if keys is not None else h.key
        pairs = by_key.get(key)
        if pairs is None:
            by_key[key] = [(h, cs[0])] if len(cs) == 1 else [(h, c) for c in cs]
        else:
            pairs.extend([(h, c) for c in cs])
    for pairs in by_key.values():
        h = pairs[0][0]
        if h.role in LABEL_ROLES:
            c = pairs[0][1]
            text = "\n".join(x.text for _, x in pairs if flat(x.text)) if len(pairs) > 1 else c.text
            if h.role == LABEL:
                row.label_cell = c
                row.label = text if c.row == r else ""
            elif h.role == CATEGORY:
                row.category = text
            elif h.role == SECTION:
                row.section = text
            else:
                row.content = text
            continue
        # Only the first row of a vertically merged value cell owns its value.
        if len(pairs) == 1:  # one cell in the column, as on most rows: the same lists without building them
            own = pairs if pairs[0][1].row == r else []
            filled = own if own and flat(own[0][1].text) else []
        else:
            own = [(hc, c) for hc, c in pairs if c.row == r]
            filled = [(hc, c) for hc, c in own if flat(c.text)]
        if len(filled) > 1 and len({flat(c.text) for _, c in filled}) > 1 and h.role in (SELF, INSPECTOR,
                                                                                       DEDUCTION, MAX):
            shown = "、".join(f"「{c.text.strip()}」" for _, c in filled)
            row.findings.append(Finding("column_conflict", f"{len(filled)} 个单元格（{shown}）同属「{h.text or h.role}」"
                                        "一栏：其值未定", h.side))
        chosen = (filled or own or [(None, None)])[0][1]
        if chosen is None and h.role != MAX:
            continue
        if h.role == MAX:
            mc = (filled or pairs)[0][1]
            row.max_cell, row.max_text = mc, mc.text
        elif h.role == SELF:
            row.self_cell = chosen
        elif h.role == INSPECTOR:
            row.inspector_cell = chosen
        elif h.role == NOTE:
            row.notes[h.side or SELF] = chosen
        elif h.role == DEDUCTION:
            row.deductions[h.side or SELF] = chosen
        elif h.role == OPTION:
            for hc, c in own:
                row.marks.setdefault(hc.side or SELF, []).append((hc.option or "", c))
    for c, hs in across:
        sides = sorted({h.side for h in hs if h.side}) or [None]
        names = " / ".join(h.text or h.role for h in hs)
        for side in sides:
            row.findings.append(Finding("column_conflict", f"单元格「{c.text.strip()}」横跨 {names} 两栏："
                                        "两栏都未取其值", side))
    return row


def _is_note_row(whole: str) -> bool:
    """Given a row's folded text, return whether it is a note or blank-page mark (_NOTE_ROW). Each of the
    pattern's alternatives opens with one of _NOTE_FIRST or holds 以下, 此页 or 此处: a row with none of them is
    ruled out without a search."""
    if whole[:1] not in _NOTE_FIRST and "以下" not in whole and "此页" not in whole and "此处" not in whole:
        return False
    return _NOTE_ROW.search(whole) is not None


def _is_sign_row(whole: str) -> bool:
    """Given a row's folded text, return whether it holds a signature field (_SIGN_FIELD): each of its
    alternatives holds a colon, so a row without one is ruled out without a search."""
    return (":" in whole or "：" in whole) and _SIGN_FIELD.search(whole) is not None


def _repeats_header(flats: list[str], header_words: set[str]) -> bool:
    """Given a body row's cells' folded texts, return whether the row repeats the table's header (a split table
    joined back into one): its cells say the header's own words. An item whose label mentions 专家 beside a
    满分 is no header."""
    if header_words.isdisjoint(flats):
        return False  # no cell says a header word (most rows): nothing to count
    texts = [t for t in flats if t]
    same = [t for t in texts if t in header_words]
    return len(same) >= 2 and len(same) >= 0.6 * len(texts)


def _row_kind(region: str, row: Row) -> str:
    """Given the text of a row's label region, return which kind of row it is."""
    t = _BRACKETED.sub("", region) if "(" in region or "（" in region else region  # no bracket: nothing to cut
    if "小计" in t:
        return SUBTOTAL
    if t in _BONUS_WORDS or t.startswith(_BONUS_WORDS) and len(t) <= 6:
        return BONUS
    if t in _PENALTY_WORDS or t.startswith(_PENALTY_WORDS) and len(t) <= 6:
        return PENALTY
    if t in _GRAND_WORDS or t.startswith(("合计", "总计")) and len(t) <= 6:
        return GRAND
    printed_max = parse_number(row.max_text) is not None
    if t in _TOTAL_WORDS or parse_number(t) is not None or (
            not t and printed_max and (row.max_cell is None or row.max_cell.row == row.row) and not flat(row.label)):
        return TOTAL if (t or row.self_text.strip() or row.inspector_text.strip() or row.max_text) else ITEM
    return ITEM


def _unknown_columns(unknown: dict[int, tuple[int, HeaderColumn, list[str]]]) -> list[Finding]:
    """Columns whose header names no known role but whose cells hold numbers: never dropped silently."""
    out: list[Finding] = []
    for table, h, texts in unknown.values():
        numbers = [t for t in texts if parse_number(t) is not None]
        if len(numbers) < DEFAULT_UNKNOWN_COLUMN_MIN_NUMBERS:
            continue
        name = f"「{h.text}」" if h.text else "（无表头）"
        out.append(Finding("unknown_column", f"栏目{name}（表{table + 1} 列{h.k0 + 1}）有 {len(numbers)} 个数字，"
                           "但表头不是已知栏目：其值未读取（可把这个词加到评分细则的 [layout] 部分）"))
    return out


def _carry_context(rows: list[Row]) -> None:
    """Fill blank category/section cells from the row above (unmerged forms leave them blank)."""
    cat = sec = ""
    for row in rows:
        if row.kind == HEADING:
            cat, sec = row.category, ""
            continue
        if row.kind != ITEM:
            continue
        if flat(row.category):
            if flat(row.category) != flat(cat):
                sec = ""
            cat = row.category
        else:
            row.category = cat
        if flat(row.section):
            sec = row.section
        else:
            row.section = sec
