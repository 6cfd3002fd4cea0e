"""Table grids from a prepared page's rule masks: edges, cells, merged cells as spans (the PDF parser's idea,
on pixels)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..parsers.assemble import cluster_values
from .prepare import Prepared, components

DEFAULT_EDGE_TOLERANCE = 0.03  # inches: rules closer than this are the same grid edge
DEFAULT_RULE_CLEARANCE = 0.01  # inches: text crops stay this far inside a cell's rules
DEFAULT_RULE_COVER = 0.6  # share of a cell side a rule must cover to count as drawn
DEFAULT_MIN_TABLE = (0.8, 0.15)  # inches: width and height of the smallest table

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in pixels


@dataclass
class Text:
    """A piece of text: its box (pixels), the box a crop of it must stay inside (its cell without the
    rules), and what was read: text and confidence."""

    box: Box
    limit: Box | None = None
    text: str = ""
    confidence: float = 0.0
    alone: bool = False  # the only text of its cell (a score cell holds one short text)



@dataclass
class GridCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    box: Box  # pixels, rule to rule
    texts: list[Text] = field(default_factory=list)
    inside: Box | None = None  # the box without its rules


@dataclass
class Grid:
    """One ruled table on a page image: its edges (pixels) and cells."""

    x_edges: list[float]
    y_edges: list[float]
    cells: list[GridCell]
    owner: list[list[int]]  # grid position -> index in cells

    @property
    def box(self) -> Box:
        return (self.x_edges[0], self.y_edges[0], self.x_edges[-1], self.y_edges[-1])

    def cell_at(self, x: float, y: float) -> GridCell | None:
        if not (self.x_edges[0] <= x <= self.x_edges[-1] and self.y_edges[0] <= y <= self.y_edges[-1]):
            return None
        r = min(max(bisect_right(self.y_edges, y) - 1, 0), len(self.y_edges) - 2)
        c = min(max(bisect_right(self.x_edges, x) - 1, 0), len(self.x_edges) - 2)
        return self.cells[self.owner[r][c]]


def _segments(mask: np.ndarray, horizontal: bool) -> list[tuple[float, int, int]]:
    """Given a rule mask, return its rules as (position across, start, end along)."""
    n, _labels, stats = components(mask)
    out = []
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        out.append((y + h / 2, x, x + w) if horizontal else (x + w / 2, y, y + h))
    return out


def _covered(mask: np.ndarray, across: float, start: float, end: float, tolerance: int, horizontal: bool) -> bool:
    """Whether a rule in mask runs at `across` from start to end (pixels) over DEFAULT_RULE_COVER of the way."""
    a0, a1 = max(int(across) - tolerance, 0), int(across) + tolerance + 1
    s0, s1 = int(start), int(end)
    if s1 - s0 < 2:
        return True
    band = mask[a0:a1, s0:s1] if horizontal else mask[s0:s1, a0:a1]
    hits = band.any(axis=0) if horizontal else band.any(axis=1)
    return hits.size > 0 and float(hits.mean()) >= DEFAULT_RULE_COVER


def ink_to_grids(page: Prepared) -> list[Grid]:
    """Given a prepared page, return its ruled tables as Grids, top to bottom.

    A table is a connected group of rules; its x edges are its vertical rules, its y edges its horizontal
    rules (each clustered within DEFAULT_EDGE_TOLERANCE). A cell grows right while no vertical rule is drawn
    between two grid steps, then down while no horizontal rule is drawn under its whole width.
    """
    dpi = page.dpi
    tolerance = max(int(DEFAULT_EDGE_TOLERANCE * dpi), 3)
    joined = cv2.dilate(page.horizontal | page.vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    n, _labels, stats = components(joined)
    grids = []
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        if w < DEFAULT_MIN_TABLE[0] * dpi or h < DEFAULT_MIN_TABLE[1] * dpi:
            continue
        region = (slice(y, y + h), slice(x, x + w))
        hs = [(a + y, s + x, e + x) for a, s, e in _segments(page.horizontal[region], True)]
        vs = [(a + x, s + y, e + y) for a, s, e in _segments(page.vertical[region], False)]
        hs, vs = crossing_rules(hs, vs, tolerance)
        grid = segments_to_grid(hs, vs, page, tolerance)
        if grid is not None:
            grids.append(grid)
    return sorted(grids, key=lambda g: (g.y_edges[0], g.x_edges[0]))


def crossing_rules(hs: list[tuple[float, int, int]], vs: list[tuple[float, int, int]], tolerance: int
                   ) -> tuple[list[tuple[float, int, int]], list[tuple[float, int, int]]]:
    """Given a table's horizontal and vertical rule pieces (position across, start, end along; pixels), return
    them without the pieces that touch no rule of the other direction (within tolerance): a soft stroke of text,
    a dash or a signature's underline inside a cell, long enough for the rule mask, is no rule (it made a row
    edge of its own, and every cell of its row a span of two). A rule broken into pieces (by a seal, or a
    photo's soft line) keeps its edge by its pieces that reach a crossing rule; whether it is drawn over a cell
    is read from the rule mask, every piece of it. A table with no rule of one direction keeps all its pieces."""
    if not hs or not vs:
        return hs, vs

    def touches(a: tuple[float, int, int], b: tuple[float, int, int]) -> bool:  # a and b of the two directions
        return a[1] - tolerance <= b[0] <= a[2] + tolerance and b[1] - tolerance <= a[0] <= b[2] + tolerance

    return [h for h in hs if any(touches(h, v) for v in vs)], [v for v in vs if any(touches(v, h) for h in hs)]


def segments_to_grid(hs: list[tuple[float, int, int]], vs: list[tuple[float, int, int]], page: Prepared,
                     tolerance: int) -> Grid | None:
    """Given a table's horizontal and vertical rules, return its Grid (None when it has under two cells)."""
    y_edges = cluster_values([a for a, _, _ in hs], tolerance)
    x_edges = cluster_values([a for a, _, _ in vs], tolerance)
    n_rows, n_cols = len(y_edges) - 1, len(x_edges) - 1
    if n_rows < 1 or n_cols < 1 or n_rows * n_cols < 2:
        return None
    margin = tolerance + 1  # rules are looked for this far from the crossing ones
    edge = max(2, round(DEFAULT_RULE_CLEARANCE * page.dpi))  # a crop keeps this far from the rules

    def vertical_rule(r: int, j: int) -> bool:  # a rule at x_edges[j] beside row r
        return _covered(page.vertical, x_edges[j], y_edges[r] + margin, y_edges[r + 1] - margin, tolerance, False)

    def horizontal_rule(i: int, c: int) -> bool:  # a rule at y_edges[i] over column c
        return _covered(page.horizontal, y_edges[i], x_edges[c] + margin, x_edges[c + 1] - margin, tolerance, True)

    v_rule = [[j in (0, n_cols) or vertical_rule(r, j) for j in range(n_cols + 1)] for r in range(n_rows)]
    h_rule = [[i in (0, n_rows) or horizontal_rule(i, c) for c in range(n_cols)] for i in range(n_rows + 1)]
    owner = [[-1] * n_cols for _ in range(n_rows)]
    cells: list[GridCell] = []
    for r in range(n_rows):
        for c in range(n_cols):
            if owner[r][c] >= 0:
                continue
            c_end = c + 1
            while c_end < n_cols and not v_rule[r][c_end] and owner[r][c_end] < 0:
                c_end += 1
            r_end = r + 1
            while (r_end < n_rows and not any(h_rule[r_end][k] for k in range(c, c_end))
                   and not any(v_rule[r_end][k] for k in range(c + 1, c_end))
                   and all(owner[r_end][k] < 0 for k in range(c, c_end))):
                r_end += 1
            for rr in range(r, r_end):
                for cc in range(c, c_end):
                    owner[rr][cc] = len(cells)
            box = (x_edges[c], y_edges[r], x_edges[c_end], y_edges[r_end])
            inside = (box[0] + edge, box[1] + edge, box[2] - edge, box[3] - edge)
            cells.append(GridCell(r, c, r_end - r, c_end - c, box, inside=inside))
    return Grid(x_edges, y_edges, cells, owner)
