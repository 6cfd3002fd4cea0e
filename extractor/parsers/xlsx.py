"""Excel and WPS workbooks (.xlsx, .xlsm): every worksheet becomes a Document of its own.

openpyxl reads the cached values (``data_only=True``: a formula gives the value Excel or WPS saved with it,
never a recomputation); xlsx_guard has checked the limits first and says which cells hold a formula saved
without a value: such a cell reads blank with a doubt that raises ``formula_uncached`` on its item, never a
silent blank. Macros are never run (openpyxl does not execute anything; ``keep_vba=False`` leaves them unread).

A sheet's used range is split where whole rows are empty; in each block, the single-text rows above the table
(title, 评价机构名称：…, 填报日期) and below it (notes, signatures) become the Document's lines, a run of
one- or two-cell rows glued on top (a cover or statistics table) a table of its own, and the rest a Table.
Merged ranges are real spans, read from ``ws.merged_cells``; hidden rows and columns are kept, their cells
marked ``hidden``. Every cell carries its A1 address with its sheet (``自评表!F12``) and a non-General number
format; numbers read as their format shows them (sheet_values).
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..limits import MAX_SHEET_GRID, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS, open_regular
from ..model import Cell, Document, Table
from .base import ParseError, Parser
from .ole import ENCRYPTED_OOXML, OLE2_MAGIC, path_to_ole_info
from .sheet_values import GENERAL, value_to_text
from .xlsx_guard import RESAVE, SheetInfo, path_to_guarded

# A trailing one-cell row is a note (not an item row whose scores are blank) when its cell starts in the block's
# first column or is at least this wide (share of the block).
DEFAULT_LINE_SHARE = 0.6
UNCACHED = ("公式 ={formula} 没有保存计算结果，读作空白：请用 Excel 或 WPS 打开、保存后重新发送 (the formula was saved "
            "without its value)")
PASSWORD_PROTECTED_BOOK = "the workbook is password-protected: remove the password and send it again"


@dataclass
class Sheet:
    """One worksheet read: its name (None for a format without sheets), whether it is hidden, its Document."""

    name: str | None
    hidden: bool
    document: Document


@dataclass
class _Info:
    text: str
    doubt: str | None = None
    doubt_kind: str | None = None
    number_format: str | None = None


@dataclass
class _Merge:
    r0: int
    c0: int
    r1: int
    c1: int

    def covers(self, r: int, c: int) -> bool:
        return self.r0 <= r <= self.r1 and self.c0 <= c <= self.c1


@dataclass
class _Grid:
    """One sheet, sparse: cell infos by (row, col) 1-based, merged ranges, hidden rows and columns."""

    name: str
    infos: dict[tuple[int, int], _Info] = field(default_factory=dict)
    merges: list[_Merge] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)

    def filled(self, r: int, c: int) -> bool:
        info = self.infos.get((r, c))
        return info is not None and (bool(info.text.strip()) or info.doubt_kind is not None)


class XlsxParser(Parser):
    """Excel .xlsx/.xlsm. An old .xls under an .xlsx name goes to ole_reader (the registry passes the converting
    parser's, which itself reads its converted output with this parser: handing it in keeps the two acyclic)."""

    suffixes = (".xlsx", ".xlsm", ".xltx", ".xltm")
    kind = "xlsx"

    def __init__(self, ole_reader: Callable[[Path], list[Sheet]] | None = None) -> None:
        self.ole_reader = ole_reader

    def path_to_document(self, path: Path) -> Document:
        """Given a workbook, return the Document of its first sheet that holds a table (the first sheet when
        none does); path_to_sheets gives them all."""
        sheets = self.path_to_sheets(path)
        return next((s.document for s in sheets if s.document.tables), sheets[0].document if sheets else Document(
            kind=self.kind))

    def path_to_sheets(self, path: Path) -> list[Sheet]:
        """Given an .xlsx/.xlsm path, return every worksheet as a Sheet, or raise ParseError."""
        path = Path(path)
        with open_regular(path) as f:
            head = f.read(8)
        if head.startswith(OLE2_MAGIC):
            return _ole_to_sheets(path, self.ole_reader)
        infos, clean = path_to_guarded(path)
        book = _load(clean)
        kind = "xlsm" if path.suffix.lower() in (".xlsm", ".xltm") else self.kind
        by_name = {s.title: s for s in book.worksheets}
        out = []
        for info in infos:
            ws = by_name.get(info.name)
            if ws is None:
                continue
            doc = grid_to_document(_worksheet_to_grid(ws, info), kind)
            doc.page_lines = _page_lines(ws)
            out.append(Sheet(info.name, info.state != "visible", doc))
        book.close()
        return out


def _ole_to_sheets(path: Path, ole_reader: Callable[[Path], list[Sheet]] | None) -> list[Sheet]:
    """An OLE2 file under an .xlsx name: password-protected (EncryptedPackage), or an old .xls to convert."""
    info = path_to_ole_info(path)
    if info is not None and info.kind == ENCRYPTED_OOXML:
        raise ParseError(PASSWORD_PROTECTED_BOOK)
    if ole_reader is None:
        raise ParseError("an old Excel (.xls) file under an .xlsx name: open it in Excel or WPS and save it as .xlsx")
    return ole_reader(path)


def _load(data: bytes):
    import io

    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "unknown extension", "data validation": nothing a person can act on
            return openpyxl.load_workbook(io.BytesIO(data), data_only=True, keep_vba=False, keep_links=False,
                                          rich_text=False)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
        raise ParseError(f"not a readable Excel workbook ({e}): {RESAVE}") from None
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise ParseError(f"not a readable Excel workbook ({type(e).__name__}: {str(e)[:80]}): {RESAVE}") from None


def _page_lines(ws) -> list[str]:
    """The sheet's printed page header and footer texts (where a cover field may sit), codes (&P, &D) removed."""
    out: list[str] = []
    for hf in (ws.oddHeader, ws.oddFooter, ws.evenHeader, ws.evenFooter, ws.firstHeader, ws.firstFooter):
        for part in (hf.left, hf.center, hf.right):
            text = re.sub(r"&[A-Za-z]", "", part.text or "").replace("&&", "&").strip()
            if text and text not in out:
                out.append(text)
    return out


def sheet_ref(name: str) -> str:
    """Given a sheet name, return it as an A1 reference prefix: bare when it is one word, else quoted."""
    return name if re.fullmatch(r"[^\W\d]\w*", name) else "'" + name.replace("'", "''") + "'"


def _worksheet_to_grid(ws, info: SheetInfo) -> _Grid:
    from openpyxl.utils import column_index_from_string

    g = _Grid(ws.title)
    for rng in ws.merged_cells.ranges:
        g.merges.append(_Merge(rng.min_row, rng.min_col, rng.max_row, rng.max_col))
    g.hidden_rows = {r for r, d in ws.row_dimensions.items() if d.hidden}
    for letter, d in ws.column_dimensions.items():
        if d.hidden:
            lo = d.min or column_index_from_string(letter)
            g.hidden_cols.update(range(lo, (d.max or lo) + 1))
    formulas = info.formulas
    # ws._cells holds only the cells the file has: iterating the dimension instead would walk every empty
    # position of a sheet whose one stray cell sits at XFD1048576.
    for (r, c), cell in list(ws._cells.items()):
        value = cell.value
        fmt = cell.number_format if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        text, doubt = value_to_text(value, fmt)
        kind = None
        formula = formulas.get((r, c))
        if formula is not None and not formula[1] and value is None:
            doubt, kind = UNCACHED.format(formula=formula[0] or "…"), "formula_uncached"
        if not text and doubt is None:
            continue
        g.infos[(r, c)] = _Info(text, doubt, kind, fmt if fmt and fmt != GENERAL else None)
    _hidden_under_merges(g, info.valued)
    return g


def _hidden_under_merges(g: _Grid, valued: set[tuple[int, int]]) -> None:
    """Excel shows a merged range's top-left value only; a file written by another program may hold values in its
    other cells, which openpyxl drops: the merged cell then carries a doubt naming them."""
    from openpyxl.utils import get_column_letter

    for m in g.merges:
        # The merged area is bounded (xlsx_guard: MAX_SHEET_GRID), the number of valued cells less so.
        under = [(r, c) for r in range(m.r0, m.r1 + 1) for c in range(m.c0, m.c1 + 1)
                 if (r, c) in valued and (r, c) != (m.r0, m.c0)]
        if not under:
            continue
        info = g.infos.setdefault((m.r0, m.c0), _Info(""))
        where = "、".join(f"{get_column_letter(c)}{r}" for r, c in under[:3]) + ("…" if len(under) > 3 else "")
        info.doubt = f"合并单元格遮住了 {where} 中的值，只读了左上角 (a value hidden under the merged cell)"
        info.doubt_kind = info.doubt_kind or "low_confidence_value"  # raised even when the top-left is blank


def _cover(g: _Grid) -> dict[tuple[int, int], _Merge]:
    """The merged range anchored at each top-left position."""
    return {(m.r0, m.c0): m for m in g.merges}


def grid_to_document(g: _Grid, kind: str) -> Document:
    """Given a sheet's sparse grid, return its Document: tables of the blocks, lines around them."""
    doc = Document(kind=kind)
    anchors = _cover(g)
    rows: set[int] = set()
    for r, c in g.infos:
        if g.filled(r, c):
            m = anchors.get((r, c))
            rows.update(range(r, (m.r1 if m else r) + 1))
    by_row: dict[int, list[tuple[int, int]]] = {}
    for r, c in g.infos:
        if g.filled(r, c):
            by_row.setdefault(r, []).append((r, c))
    for m in g.merges:
        if g.filled(m.r0, m.c0):
            for r in range(m.r0 + 1, m.r1 + 1):
                by_row.setdefault(r, []).append((m.r0, m.c0))
    for r in by_row:
        by_row[r] = sorted(set(by_row[r]), key=lambda p: p[1])
    blocks: list[list[int]] = []
    for r in sorted(rows):
        if blocks and blocks[-1][-1] == r - 1:
            blocks[-1].append(r)
        else:
            blocks.append([r])
    seen_lines: set[tuple[int, int]] = set()

    def line(pos: tuple[int, int]) -> None:
        if pos not in seen_lines:
            seen_lines.add(pos)
            doc.lines.append(g.infos[pos].text.strip())

    for block in blocks:
        c0 = min(anchors[p].c0 if p in anchors else p[1] for r in block for p in by_row[r])
        c1 = max(anchors[p].c1 if p in anchors else p[1] for r in block for p in by_row[r])
        top, bottom = 0, len(block)
        while top < bottom and len(by_row[block[top]]) == 1:
            top += 1
        if top == bottom:  # lines only
            for r in block:
                line(by_row[r][0])
            continue
        for r in block[:top]:
            line(by_row[r][0])
        tail: list[int] = []
        while bottom - 1 > top and _is_tail_line(g, by_row[block[bottom - 1]], block[bottom - 1], anchors, c0, c1):
            bottom -= 1
            tail.insert(0, block[bottom])
        body = block[top:bottom]
        glued = 0
        while glued < len(body) and len(by_row[body[glued]]) <= 2:
            glued += 1
        if 0 < glued < len(body) and len(by_row[body[glued]]) >= 3:
            _add_table(doc, g, body[:glued], c0, c1)
            body = body[glued:]
        _add_table(doc, g, body, c0, c1)
        for r in tail:
            line(by_row[r][0])
    return doc


def _is_tail_line(g: _Grid, cells: list[tuple[int, int]], r: int, anchors: dict[tuple[int, int], _Merge],
                  c0: int, c1: int) -> bool:
    if len(cells) != 1 or cells[0][0] != r:
        return False
    m = anchors.get(cells[0])
    lo, hi = (m.c0, m.c1) if m else (cells[0][1], cells[0][1])
    return lo == c0 or (hi - lo + 1) >= DEFAULT_LINE_SHARE * (c1 - c0 + 1)


def _add_table(doc: Document, g: _Grid, rows: list[int], c0: int, c1: int) -> None:
    """Append the table of sheet rows rows[0]..rows[-1] and columns c0..c1: one Cell per merged range (clipped)
    and per other position, empty ones included."""
    r0, r1 = rows[0], rows[-1]
    n_rows, n_cols = r1 - r0 + 1, c1 - c0 + 1
    if n_rows > MAX_TABLE_ROWS or n_cols > MAX_TABLE_COLUMNS or n_rows * n_cols > MAX_SHEET_GRID:
        raise ParseError(f"the sheet {g.name!r} has a table of {n_rows} rows x {n_cols} columns (at most "
                         f"{MAX_TABLE_ROWS} x {MAX_TABLE_COLUMNS} are read): delete the stray cells beside the "
                         "form and send it again")
    from openpyxl.utils import get_column_letter

    prefix = sheet_ref(g.name) + "!" if g.name else ""  # a CSV has no sheet name
    covered: set[tuple[int, int]] = set()
    cells: list[Cell] = []

    def make(r: int, c: int, rowspan: int, colspan: int) -> Cell:
        info = g.infos.get((r, c))
        hidden = (all(x in g.hidden_rows for x in range(r, r + rowspan))
                  or all(x in g.hidden_cols for x in range(c, c + colspan)))
        return Cell(info.text if info else "", r - r0, c - c0, rowspan, colspan,
                    doubt=info.doubt if info else None, doubt_kind=info.doubt_kind if info else None,
                    ref=f"{prefix}{get_column_letter(c)}{r}", hidden=hidden,
                    number_format=info.number_format if info else None)

    for m in g.merges:
        lo_r, hi_r, lo_c, hi_c = max(m.r0, r0), min(m.r1, r1), max(m.c0, c0), min(m.c1, c1)
        if lo_r > hi_r or lo_c > hi_c:
            continue
        cell = make(m.r0, m.c0, m.r1 - m.r0 + 1, m.c1 - m.c0 + 1)
        # A range that starts above the block keeps its text on the block's first row.
        cell.row, cell.col = lo_r - r0, lo_c - c0
        cell.rowspan, cell.colspan = hi_r - lo_r + 1, hi_c - lo_c + 1
        cells.append(cell)
        covered.update((r, c) for r in range(lo_r, hi_r + 1) for c in range(lo_c, hi_c + 1))
    for r in range(r0, r1 + 1):
        for c in range(c0, c1 + 1):
            if (r, c) not in covered:
                cells.append(make(r, c, 1, 1))
    cells.sort(key=lambda x: (x.row, x.col))
    doc.tables.append(Table(index=len(doc.tables), cells=cells, n_rows=n_rows, n_cols=n_cols))
