"""Columns: a score table's header -> what each column holds, and where it lies.

A header may take up to three rows: group headings (自评情况 / 督查情况) over sub-columns (得分, 扣分,
扣分原因, or the judgments 符合 | 基本符合 | 不符合 as tick columns). Grid columns under the same chain of
header cells form one header column, whose horizontal extent (in points where the producer states
geometry, else in grid units) is what body cells are compared with: rows that were hand-resized or
went through RTF don't share one grid with the header, so grid indexes alone would misplace them.
Words come from the vocabulary (rubric/vocabulary/header.toml), never from code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rubric.vocabulary import Vocabulary, flat

from .model import Cell, Table
from .scores import parse_number

# Roles of a header column. SELF and INSPECTOR hold that side's score; NOTE, DEDUCTION and OPTION
# columns belong to a side (HeaderColumn.side); IGNORE columns are read by nobody (序号, rules, remarks
# of no side); UNKNOWN columns have a header the vocabulary does not know (or none).
CATEGORY, SECTION, LABEL, CONTENT, MAX = "category", "section", "label", "content", "max"
SELF, INSPECTOR, NOTE, DEDUCTION, OPTION, IGNORE, UNKNOWN = (
    "self", "inspector", "note", "deduction", "option", "ignore", "unknown")
SCORE = "score"  # a side-less score column, resolved to SELF or INSPECTOR per table
LABEL_ROLES = (CATEGORY, SECTION, LABEL, CONTENT)
VALUE_ROLES = (MAX, SELF, INSPECTOR, DEDUCTION, OPTION)

DEFAULT_HEADER_SEARCH_ROWS = 6  # the header must start within a table's first rows
DEFAULT_MAX_HEADER_ROWS = 3
DEFAULT_HEADER_CELL_MAX_CHARS = 20  # header names are short; an item label that mentions 自评 is no header
DEFAULT_SUBHEADER_CELL_MAX_CHARS = 12
DEFAULT_HEADER_WORD_MAX_CHARS = 6  # a sub-header cell is a header word itself, not a text that contains one
DEFAULT_SUBHEADER_SHARE = 0.6
# A body cell lying this much (share of its own width) over a second value column is ambiguous.
DEFAULT_AMBIGUOUS_OVERLAP = 0.3
# A grid column narrower than this share of its neighbours' median width is a sliver, no column of its own.
DEFAULT_SLIVER_SHARE = 0.2


@dataclass
class HeaderColumn:
    """One column as the header names it: role, side, grid range [k0, k1) and extent [x0, x1)."""

    role: str
    text: str  # the header cells' texts, top to bottom, joined by " / "
    k0: int
    k1: int
    x0: float
    x1: float
    side: str | None = None  # self | inspector, for score, note, deduction and option columns
    option: str | None = None  # the judgment a tick column stands for

    @property
    def key(self) -> str:
        """The column's role for a row: 'self', 'inspector', 'note:self', 'option:self:符合', …"""
        if self.role == OPTION:
            return f"option:{self.side}:{self.option}"
        if self.role in (NOTE, DEDUCTION):
            return f"{self.role}:{self.side}"
        return self.role


@dataclass
class Columns:
    """A body table's header: its columns, how many rows it takes, and the grid geometry used."""

    header: list[HeaderColumn]
    header_rows: int
    n_cols: int
    unit: str  # "pt" when extents come from the producer's geometry, "grid" otherwise
    roles: dict[str, int] = field(default_factory=dict)  # primary role -> first grid column (for readers)
    header_start: int = 0  # the header's first row: rows above it (a title, cover statistics) are no header

    def get(self, role: str) -> int | None:
        return self.roles.get(role)

    def column(self, role: str) -> HeaderColumn | None:
        return next((h for h in self.header if h.role == role), None)


def table_edges(table: Table) -> tuple[list[float], str]:
    """Given a table, return its grid column edges (n_cols + 1) and their unit: the producer's column
    positions (Word's w:tblGrid), else the cells' boxes (PDF, OCR), else grid indexes."""
    n = table.n_cols
    if table.col_x and len(table.col_x) == n + 1:
        return list(table.col_x), "pt"
    boxed = [c for c in table.cells if c.bbox is not None]
    if boxed and len(boxed) == len(table.cells):
        lefts: dict[int, list[float]] = {}
        rights: dict[int, list[float]] = {}
        for c in boxed:
            lefts.setdefault(c.col, []).append(c.bbox[0])
            rights.setdefault(c.col + c.colspan, []).append(c.bbox[2])
        edges: list[float] = []
        for k in range(n + 1):
            vals = lefts.get(k) or rights.get(k)
            if not vals:
                break
            edges.append(sorted(vals)[len(vals) // 2])
        if len(edges) == n + 1 and all(a < b for a, b in zip(edges, edges[1:], strict=False)):
            return edges, "pt"
    return [float(k) for k in range(n + 1)], "grid"


def cell_extent(cell: Cell, edges: list[float], unit: str) -> tuple[float, float]:
    """Given a cell and its table's edges, return its horizontal extent in the edges' unit."""
    if unit == "pt" and cell.bbox is not None:
        return cell.bbox[0], cell.bbox[2]
    hi = min(cell.col + cell.colspan, len(edges) - 1)
    return edges[min(cell.col, len(edges) - 1)], edges[hi]


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def _header_role(text: str, vocab: Vocabulary, options: set[str]) -> str | None:
    if flat(text) in options:
        return OPTION
    return vocab.role_of(text)


def is_subheader_row(grid: list[list[Cell | None]], r: int, vocab: Vocabulary, options: set[str]) -> bool:
    """Whether row r continues a header: short texts only, no numbers, and mostly header words themselves
    (大项, 得分, 扣分原因, 符合…) — an item row whose label merely contains 结果 or says 符合 is no header."""
    own = {id(c): c for c in grid[r] if c is not None and c.row == r and flat(c.text)}
    if not own:
        return False
    texts = [c.text for c in own.values()]
    if any(len(flat(t)) > DEFAULT_SUBHEADER_CELL_MAX_CHARS or parse_number(t) is not None for t in texts):
        return False
    words = [t for t in texts if len(flat(t)) <= DEFAULT_HEADER_WORD_MAX_CHARS and _header_role(t, vocab, options)]
    return len(words) >= DEFAULT_SUBHEADER_SHARE * len(texts)


def table_to_columns(table: Table, vocab: Vocabulary, options: tuple[str, ...] = (),
                     grid: list[list[Cell | None]] | None = None) -> Columns | None:
    """Given a table, the vocabulary and the rubric's judgments (and the table's grid, when the caller has it),
    return its Columns if one of its first rows starts a score-table header (a score column and a label column),
    else None."""
    grid = grid if grid is not None else table.grid()
    opts = {flat(o) for o in options}
    for start in range(min(DEFAULT_HEADER_SEARCH_ROWS, table.n_rows)):
        texts = [c.text for c in row_cells(grid, start) if len(flat(c.text)) <= DEFAULT_HEADER_CELL_MAX_CHARS]
        if not any(vocab.role_of(t) in (SELF, INSPECTOR, SCORE) for t in texts):
            continue
        depth = 1
        while (depth < DEFAULT_MAX_HEADER_ROWS and start + depth < table.n_rows
               and is_subheader_row(grid, start + depth, vocab, opts)):
            depth += 1
        cols = _header_columns(table, grid, start, depth, vocab, opts)
        roles = {h.role for h in cols.header}
        if roles & {SELF, OPTION} and roles & set(LABEL_ROLES):
            return cols
    return None


def row_cells(grid: list[list[Cell | None]], r: int) -> list[Cell]:
    """The distinct cells covering row r, left to right."""
    out: list[Cell] = []
    seen: set[int] = set()
    for c in grid[r]:
        if c is not None and id(c) not in seen:
            seen.add(id(c))
            out.append(c)
    return out


def _header_columns(table: Table, grid, start: int, depth: int, vocab: Vocabulary, opts: set[str]) -> Columns:
    edges, unit = table_edges(table)
    chains: list[list[Cell]] = []
    for k in range(table.n_cols):
        chain: list[Cell] = []
        for r in range(start, start + depth):
            c = grid[r][k]
            if c is not None and flat(c.text) and all(c is not o for o in chain):
                chain.append(c)
        chains.append(chain)
    header: list[HeaderColumn] = []
    k = 0
    while k < table.n_cols:
        k1 = k + 1
        while k1 < table.n_cols and _same_chain(chains[k1], chains[k]):
            k1 += 1
        header.extend(_chain_to_columns(chains[k], k, k1, edges, vocab, opts))
        k = k1
    _resolve(header)
    roles: dict[str, int] = {}
    for h in header:
        if h.role in (*LABEL_ROLES, MAX, SELF, INSPECTOR) and h.role not in roles:
            roles[h.role] = h.k0
    return Columns(header=header, header_rows=start + depth, n_cols=table.n_cols, unit=unit, roles=roles,
                   header_start=start)


def _same_chain(a: list[Cell], b: list[Cell]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _chain_to_columns(chain: list[Cell], k0: int, k1: int, edges: list[float], vocab: Vocabulary,
                      opts: set[str]) -> list[HeaderColumn]:
    """Given the header cells over grid columns [k0, k1), top to bottom, return the header column(s) there."""
    text = " / ".join(c.text.strip() for c in chain)
    col = HeaderColumn(role=UNKNOWN, text=text, k0=k0, k1=k1, x0=edges[k0], x1=edges[k1])
    if not chain:
        return [col]
    leaf = chain[-1]
    role = _header_role(leaf.text, vocab, opts)
    side = None
    for c in reversed(chain):  # the nearest heading that names a side gives it
        if _header_role(c.text, vocab, opts) in (SELF, INSPECTOR, SCORE, DEDUCTION, "remark"):
            side = vocab.side_of(c.text)
            if side:
                break
    if role == OPTION:
        col.role, col.side, col.option = OPTION, side, next(o for o in opts if o == flat(leaf.text))
    elif role in (SELF, INSPECTOR, SCORE):
        col.role, col.side = (side or SCORE), side
    elif role == DEDUCTION:
        col.role, col.side = DEDUCTION, side
    elif role == "remark":
        col.role, col.side = (NOTE, side) if side else (IGNORE, None)
    elif role in ("index", "rules"):
        col.role = IGNORE
    elif role in (*LABEL_ROLES, MAX):
        col.role = role
    parts = _real_columns(k0, k1, edges) if col.role == CONTENT and len(chain) == 1 else []
    if len(parts) > 1:
        # One 督导检查内容 cell over several columns and no sub-headers: 大项, 中项, 小项 by position.
        n = len(parts)
        names = {2: (CATEGORY, LABEL), 3: (CATEGORY, SECTION, LABEL)}.get(n, (SECTION,) * (n - 1) + (LABEL,))
        return [HeaderColumn(role=names[i], text=text, k0=a, k1=b, x0=edges[a], x1=edges[b])
                for i, (a, b) in enumerate(parts)]
    return [col]


def _real_columns(k0: int, k1: int, edges: list[float]) -> list[tuple[int, int]]:
    """Given grid columns [k0, k1), return them as visible columns: a sliver (a hand-resized cell's 1-twip
    grid column) joins the column beside it, so it never counts as a column of its own."""
    widths = [edges[k + 1] - edges[k] for k in range(k0, k1)]
    wide = sorted(widths)[len(widths) // 2] or 1.0
    parts: list[list[int]] = []
    for k, w in zip(range(k0, k1), widths, strict=True):
        if parts and w < DEFAULT_SLIVER_SHARE * wide:
            parts[-1][1] = k + 1
        elif parts and edges[parts[-1][1]] - edges[parts[-1][0]] < DEFAULT_SLIVER_SHARE * wide:
            parts[-1][1] = k + 1  # a sliver on the left joins this column
        else:
            parts.append([k, k + 1])
    return [(a, b) for a, b in parts]


def _resolve(header: list[HeaderColumn]) -> None:
    """Settle what depends on the whole header: side-less score columns, label depth, side-less ticks."""
    has_self = any(h.role == SELF for h in header)
    has_insp = any(h.role == INSPECTOR for h in header)
    for h in header:
        if h.role == SCORE:
            # 得分 alone is the institution's own score; beside a 自评 column it is the inspectors'.
            if not has_self:
                h.role, h.side, has_self = SELF, SELF, True
            elif not has_insp:
                h.role, h.side, has_insp = INSPECTOR, INSPECTOR, True
            else:
                h.role = UNKNOWN
        elif h.role in (DEDUCTION, OPTION, NOTE) and h.side is None:
            h.side = SELF
    labels = [h for h in header if h.role == LABEL]
    for h in labels[:-1]:  # 二级指标 beside 三级指标: the deeper one is the item
        h.role = SECTION
