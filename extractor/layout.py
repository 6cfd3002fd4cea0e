"""Layout: find the score table's header and columns by name, and turn its body into rows.

Works on any Document (Word, PDF, OCR): a table whose header names a self-score
column and a label column is a body table; a following table with no header and a
compatible width continues it. Each body row becomes an item Row or a totals Row
(the "100" / 加分项 / 减分项 / 合计 rows, and 小计 subtotals).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .model import Cell, Document, Table

DEFAULT_HEADER_SEARCH_ROWS = 6  # the header must start within a table's first rows

# Roles a column can play. Label columns nest: category (大项) > section (中项) > label (小项).
CATEGORY, SECTION, LABEL, CONTENT, MAX, SELF, INSPECTOR, IGNORE = (
    "category", "section", "label", "content", "max", "self", "inspector", "ignore")

TOTAL, BONUS, PENALTY, GRAND, SUBTOTAL, ITEM = "total", "bonus", "penalty", "grand", "subtotal", "item"

_TOTAL_WORDS = ("总分", "得分合计", "分数合计", "总得分", "满分", "总计得分")
_BONUS_WORDS = ("加分项", "加分")
_PENALTY_WORDS = ("减分项", "扣分项", "减分", "扣分")
_GRAND_WORDS = ("合计", "总计", "最终得分", "综合得分")


def _flat(s: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s or ""))


def header_text_to_role(text: str) -> str | None:
    """Given a column's header text (all header rows joined), return its role, or None if it names none."""
    t = _flat(text)
    if not t:
        return None
    if any(k in t for k in ("序号", "备注", "说明", "编号", "佐证", "证明材料")):
        return IGNORE
    if "大项" in t or "一级指标" in t or t in ("一级", "类别", "项目类别"):
        return CATEGORY
    if "中项" in t:
        return SECTION
    if "小项" in t or "三级指标" in t:
        return LABEL
    if "二级指标" in t or t == "二级":
        return LABEL  # demoted to SECTION when a 三级 column exists
    if any(k in t for k in ("分值", "标准分", "满分", "配分", "应得分")):
        return MAX
    if any(k in t for k in ("自评", "自查", "自我评价", "机构评分", "单位评分")):
        return SELF
    if any(k in t for k in ("方法", "标准", "方式", "依据", "要求", "要点")):
        return IGNORE
    if any(k in t for k in ("内容", "项目", "指标", "检查事项")):
        return CONTENT
    if any(k in t for k in ("督查", "督导", "检查", "核查", "复核", "专家", "评估", "考核", "得分", "评分", "结果")):
        return INSPECTOR
    return None


@dataclass
class Columns:
    """Grid column of each role (label roles may be missing); ignore holds the rest."""

    roles: dict[str, int]
    header_rows: int  # how many rows the header takes
    n_cols: int

    def get(self, role: str) -> int | None:
        return self.roles.get(role)


@dataclass
class Row:
    """One body row: its label context, printed max and score cells, with provenance."""

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

    @property
    def self_text(self) -> str:
        return self.self_cell.text if self.self_cell else ""

    @property
    def inspector_text(self) -> str:
        return self.inspector_cell.text if self.inspector_cell else ""


@dataclass
class Layout:
    rows: list[Row] = field(default_factory=list)
    columns: list[Columns] = field(default_factory=list)
    has_inspector: bool = False
    has_max: bool = False

    @property
    def items(self) -> list[Row]:
        return [r for r in self.rows if r.kind == ITEM]


def _row_texts(grid: list[list[Cell | None]], r: int) -> list[str]:
    return [c.text if c is not None else "" for c in grid[r]]


def table_to_columns(table: Table) -> Columns | None:
    """Given a table, return its Columns if one of its first rows is a score-table header, else None."""
    grid = table.grid()
    limit = min(DEFAULT_HEADER_SEARCH_ROWS, table.n_rows)
    for start in range(limit):
        roles_one = [header_text_to_role(t) for t in _row_texts(grid, start) if len(_flat(t)) <= 20]
        if SELF not in roles_one:
            continue
        # A second header row (大项/中项/小项 under 督导检查内容) joins the first when it names label roles.
        depth = 1
        if start + 1 < table.n_rows:
            nxt = [header_text_to_role(t) for t in _row_texts(grid, start + 1)]
            if any(r in (CATEGORY, SECTION, LABEL) for r in nxt) and not any(_is_number(t) for t in _row_texts(
                    grid, start + 1)):
                depth = 2
        texts = []
        for k in range(table.n_cols):
            parts: list[str] = []
            for r in range(start, start + depth):
                c = grid[r][k]
                if c is not None and c.text not in parts:
                    parts.append(c.text)
            texts.append(" ".join(parts))
        roles = _assign_roles(texts, grid, start, depth)
        if SELF in roles and (LABEL in roles or CONTENT in roles):
            return Columns(roles=roles, header_rows=start + depth, n_cols=table.n_cols)
    return None


def _assign_roles(texts: list[str], grid, start: int, depth: int) -> dict[str, int]:
    """Given each column's header text, return role -> column, resolving label columns by position."""
    # For a merged header, a deeper row's own text decides (大项 under 督导检查内容).
    per_col: list[str | None] = []
    for k, text in enumerate(texts):
        deepest = grid[start + depth - 1][k]
        role = header_text_to_role(deepest.text) if deepest is not None else None
        per_col.append(role or header_text_to_role(text))
    # Columns under one merged "内容" header with no sub-header: category, section, label by position.
    content = [k for k, r in enumerate(per_col) if r == CONTENT]
    has_label = any(r in (LABEL, CATEGORY, SECTION) for r in per_col)
    if content and not has_label:
        groups = {3: (CATEGORY, SECTION, LABEL), 2: (CATEGORY, LABEL), 1: (LABEL,)}
        first = _same_cell_run(grid, start, content)
        for k, role in zip(first, groups.get(len(first), (LABEL,)) if len(first) <= 3 else (), strict=False):
            per_col[k] = role
        if len(first) > 3:
            per_col[first[-1]] = LABEL
    labels = [k for k, r in enumerate(per_col) if r == LABEL]
    if len(labels) > 1:
        # 二级指标 + 三级指标: the deeper one is the label, the other a section.
        for k in labels[:-1]:
            per_col[k] = SECTION
    roles: dict[str, int] = {}
    for k, role in enumerate(per_col):
        if role and role != IGNORE and role not in roles:
            roles[role] = k
    return roles


def _same_cell_run(grid, start: int, cols: list[int]) -> list[int]:
    """The columns of the first run of columns that share one header cell (or are adjacent)."""
    run = [cols[0]]
    for k in cols[1:]:
        if k == run[-1] + 1:
            run.append(k)
        else:
            break
    return run


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[+-]?\d+(\.\d+)?分?", _flat(text)))


DEFAULT_HEADER_CELL_MAX_CHARS = 12  # header names are short; an item label that mentions 自评 is no header


def _looks_like_header(texts: list[str]) -> bool:
    roles = [header_text_to_role(t) for t in texts if len(_flat(t)) <= DEFAULT_HEADER_CELL_MAX_CHARS]
    return SELF in roles and len(set(roles) - {None, IGNORE}) >= 2 and not any(_is_number(t) for t in texts)


def document_to_layout(doc: Document) -> Layout:
    """Given a Document, return the Layout of its score table(s): item rows and totals rows in order."""
    layout = Layout()
    current: Columns | None = None
    prev_table: int | None = None
    for table in doc.tables:
        cols = table_to_columns(table)
        first_body = 0
        if cols is not None:
            current = cols
            first_body = cols.header_rows
        elif current is not None and prev_table == table.index - 1 and table.n_cols >= max(current.roles.values()) + 1:
            cols = Columns(current.roles, 0, table.n_cols)  # a continuation without its own header
        else:
            continue
        prev_table = table.index
        layout.columns.append(cols)
        layout.has_inspector |= INSPECTOR in cols.roles
        layout.has_max |= MAX in cols.roles
        table_to_rows(table, cols, first_body, layout)
    _carry_context(layout.rows)
    return layout


def table_to_rows(table: Table, cols: Columns, first: int, layout: Layout) -> None:
    """Given a body table and its Columns, append its body rows (from row `first`) to layout.rows."""
    grid = table.grid()

    def cell(r: int, role: str) -> Cell | None:
        k = cols.get(role)
        return grid[r][k] if k is not None and k < table.n_cols else None

    label_roles = [r for r in (CATEGORY, SECTION, LABEL, CONTENT) if r in cols.roles]
    prev_label: Cell | None = None
    for r in range(first, table.n_rows):
        texts = _row_texts(grid, r)
        if not any(_flat(t) for t in texts):
            continue
        if _looks_like_header(texts):
            continue  # a header repeated on a continuation page or table
        label_cell = cell(r, LABEL)
        self_cell, insp_cell, max_cell = cell(r, SELF), cell(r, INSPECTOR), cell(r, MAX)
        # Only the first row of a vertically merged score cell owns its value.
        if self_cell is not None and self_cell.row != r:
            self_cell = None
        if insp_cell is not None and insp_cell.row != r:
            insp_cell = None
        row = Row(kind=ITEM, table=table.index, row=r,
                  category=_text(cell(r, CATEGORY)), section=_text(cell(r, SECTION)),
                  label=_text(label_cell) if label_cell is not None and label_cell.row == r else "",
                  content=_text(cell(r, CONTENT)), max_text=_text(max_cell), max_cell=max_cell,
                  label_cell=label_cell, self_cell=self_cell, inspector_cell=insp_cell)
        if label_cell is not None and label_cell is prev_label and label_cell.row != r:
            continue  # the rest of a vertically merged label cell: not a new row
        prev_label = label_cell
        region = _region_text(grid, r, [cols.roles[x] for x in label_roles])
        row.kind = _row_kind(region, row)
        if row.kind == ITEM and not row.label:
            if not (row.self_text.strip() or row.inspector_text.strip()):
                # A heading row spanning the label columns (e.g. "一、机构信用"): context only.
                row.kind = "heading"
                row.category = row.category or region
            elif row.content:
                row.label = row.content
        layout.rows.append(row)


def _text(c: Cell | None) -> str:
    return c.text if c is not None else ""


def _region_text(grid, r: int, cols: list[int]) -> str:
    seen: list[Cell] = []
    for k in cols:
        c = grid[r][k]
        if c is not None and all(c is not s for s in seen):
            seen.append(c)
    return "".join(_flat(c.text) for c in seen if c.row == r or c.rowspan == 1)


def _row_kind(region: str, row: Row) -> str:
    """Given the text of a row's label region, return which kind of row it is."""
    t = re.sub(r"[（(][^）)]*[）)]", "", region)
    if "小计" in t:
        return SUBTOTAL
    if t in _BONUS_WORDS or t.startswith(_BONUS_WORDS) and len(t) <= 6:
        return BONUS
    if t in _PENALTY_WORDS or t.startswith(_PENALTY_WORDS) and len(t) <= 6:
        return PENALTY
    if t in _GRAND_WORDS or t.startswith(("合计", "总计")) and len(t) <= 6:
        return GRAND
    if t in _TOTAL_WORDS or _is_number(t) or (not t and _is_number(row.max_text)
                                             and (row.max_cell is None or row.max_cell.row == row.row)
                                             and not _flat(row.label)):
        return TOTAL if (t or row.self_text.strip() or row.inspector_text.strip() or row.max_text) else ITEM
    return ITEM


def _carry_context(rows: list[Row]) -> None:
    """Fill blank category/section cells from the row above (unmerged forms leave them blank)."""
    cat = sec = ""
    for row in rows:
        if row.kind == "heading":
            cat, sec = row.category, ""
            continue
        if row.kind != ITEM:
            continue
        if _flat(row.category):
            if _flat(row.category) != _flat(cat):
                sec = ""
            cat = row.category
        else:
            row.category = cat
        if _flat(row.section):
            sec = row.section
        else:
            row.section = sec
