"""Column geometry of Word tables: widths in twips, the grid's column edges, and which cell above a
vMerge continuation continues when rows do not share one grid (hand-resized tables, RTF round trips)."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import accumulate

from lxml import etree

from ..model import Cell

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_w = f"{{{W}}}"

# Rows' stated cell widths (twips) closer than this are the same edge: Word rounds resized widths.
TCW_TOLERANCE = 20

_MEASURE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mm|cm|in|pt|pc|pi)?\s*$")
_TWIPS_PER = {None: 1.0, "pt": 20.0, "pc": 240.0, "pi": 240.0, "in": 1440.0, "cm": 1440 / 2.54, "mm": 144 / 2.54}


@lru_cache(maxsize=4096)
def twips(value: str | None) -> float | None:
    """Given a Word measure (twips, or a universal measure such as "2.5cm"), return twips, or None. Cached: a
    table states the same few widths on every cell."""
    m = _MEASURE.match(value or "")
    return float(m.group(1)) * _TWIPS_PER[m.group(2)] if m else None


def cell_width(el: etree._Element | None) -> float | None:
    """Given a w:tcW/w:wBefore/w:wAfter, return its width in twips when stated in dxa, else None."""
    if el is None or el.get(_w + "type", "dxa") != "dxa":
        return None
    return twips(el.get(_w + "w"))


def grid_edges(grid: list[float | None], stretches: list[list[tuple[int, float | None]]],
               n_cols: int) -> list[float] | None:
    """Given the tblGrid column widths (twips), the rows' stretches and the grid width, return the n_cols + 1
    column edges in points: from tblGrid when it covers the grid, else from the cells' widths when every row
    states them and rows agree on every edge, else None."""
    if n_cols == 0:
        return None
    known = [w for w in grid[:n_cols] if w is not None]
    if len(known) == n_cols and sum(known) > 0:
        return [x / 20 for x in accumulate(known, initial=0.0)]
    stated: dict[int, list[float]] = {0: [0.0]}
    for row in stretches:
        x = 0.0
        for k, w in row:
            if w is None:
                return None
            x += w
            stated.setdefault(k, []).append(x)
    edges = []
    for k in range(n_cols + 1):
        xs = sorted(stated.get(k, ()))
        if not xs or xs[-1] - xs[0] > TCW_TOLERANCE:
            return None
        edges.append(xs[(len(xs) - 1) // 2])  # the lower median: a stated edge, not an average
    if any(b < a for a, b in zip(edges, edges[1:], strict=False)):
        return None
    return [x / 20 for x in edges]


def merged_above(open_above: dict[int, Cell], col: int, span: int, r: int, col_w: list[float]) -> Cell | None:
    """Given a vMerge continuation at grid columns col..col+span-1 of row r, return the cell it continues: of
    the cells ending just above it, the one over most of its width (by grid column widths when known), or
    None when no cell ends above it."""
    widths = col_w if col + span <= len(col_w) else None  # a grid too short to weigh by: count columns
    weight: dict[int, float] = {}
    cells: dict[int, Cell] = {}
    for k in range(col, col + span):
        above = open_above.get(k)
        if above is not None and above.row + above.rowspan == r:
            cells[id(above)] = above
            weight[id(above)] = weight.get(id(above), 0.0) + (widths[k] if widths else 1.0)
    if not cells:
        return None
    return cells[max(weight, key=lambda i: (weight[i], -cells[i].col))]
