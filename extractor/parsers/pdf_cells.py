"""A ruled page's tables, as pdfplumber's table finder finds them, with its cell search made linear.

pdfplumber's ``intersections_to_cells`` looks, for every intersection of rules, for the points below it and right
of it by scanning every point after it in sorted order, and compares edge sets it rebuilds at each comparison: on a
67-row form (about 500 intersections a page) that was a tenth of reading a PDF. ``intersections_to_cells`` here
walks the same points in the same order and makes the same tests, so it returns the same cells, in the same
order; it only finds a point's column and row once, and each point's edges once. The rest (edges, intersections,
grouping cells into tables) is pdfplumber's own.
"""

from __future__ import annotations

from typing import Any

from pdfplumber.table import Table, TableFinder, TableSettings, cells_to_tables, edges_to_intersections
from pdfplumber.utils import obj_to_bbox

Point = tuple[float, float]
Bbox = tuple[float, float, float, float]


def intersections_to_cells(intersections: dict[Point, dict[str, list[dict]]]) -> list[Bbox]:
    """Given pdfplumber's intersections ((x, top) -> the "v" and "h" edges through it), return the cells they
    make, exactly as pdfplumber.table.intersections_to_cells does: for each point in sorted order, the first
    point below it and the first right of it (nearest first) that its edges reach, whose corner closes the box."""
    points = sorted(intersections)
    vertical = {p: set(map(obj_to_bbox, e["v"])) for p, e in intersections.items()}
    horizontal = {p: set(map(obj_to_bbox, e["h"])) for p, e in intersections.items()}

    def connects(p1: Point, p2: Point) -> bool:
        if p1[0] == p2[0] and not vertical[p1].isdisjoint(vertical[p2]):
            return True
        return p1[1] == p2[1] and not horizontal[p1].isdisjoint(horizontal[p2])

    columns: dict[float, list[Point]] = {}
    rows: dict[float, list[Point]] = {}
    for p in points:  # in sorted order, so each column runs down and each row right
        columns.setdefault(p[0], []).append(p)
        rows.setdefault(p[1], []).append(p)
    in_column = {p: i for column in columns.values() for i, p in enumerate(column)}
    in_row = {p: i for row in rows.values() for i, p in enumerate(row)}
    cells: list[Bbox] = []
    for pt in points[:-1]:
        cell = _smallest_cell(pt, columns[pt[0]][in_column[pt] + 1:], rows[pt[1]][in_row[pt] + 1:],
                              intersections, connects)
        if cell is not None:
            cells.append(cell)
    return cells


def _smallest_cell(pt: Point, below: list[Point], right: list[Point], intersections: dict, connects: Any) -> Bbox | None:
    for below_pt in below:
        if not connects(pt, below_pt):
            continue
        for right_pt in right:
            if not connects(pt, right_pt):
                continue
            corner = (right_pt[0], below_pt[1])
            if corner in intersections and connects(corner, right_pt) and connects(corner, below_pt):
                return (pt[0], pt[1], corner[0], corner[1])
    return None


class _Finder(TableFinder):
    """pdfplumber's TableFinder, its steps in its order (0.11), with the cell search above."""

    def __init__(self, page: Any, settings: dict) -> None:  # noqa: D107 - no super().__init__: it would search too
        self.page = page
        self.settings = TableSettings.resolve(settings)
        self.edges = self.get_edges()
        self.intersections = edges_to_intersections(
            self.edges, self.settings.intersection_x_tolerance, self.settings.intersection_y_tolerance
        )
        self.cells = intersections_to_cells(self.intersections)
        self.tables = [Table(self.page, group) for group in cells_to_tables(self.cells)]


def page_to_tables(page: Any, settings: dict) -> list[Table]:
    """Given a pdfplumber page and table settings, return the tables page.find_tables(settings) finds."""
    return _Finder(page, settings).tables
