"""pdf_cells finds the tables pdfplumber's own table finder finds, cell for cell, in the same order."""

from __future__ import annotations

import random

import pdfplumber
import pytest
from pdfplumber.table import intersections_to_cells as plumber_cells

from extractor.parsers.pdf_cells import intersections_to_cells, page_to_tables
from samples.generate import form_spec
from samples.variant import Variant

pytest.importorskip("reportlab")
from reportlab.pdfgen import canvas  # noqa: E402

from samples.pdf_reportlab import render_pdf  # noqa: E402


def edge(x0: float, top: float, x1: float, bottom: float) -> dict:
    orientation = "h" if top == bottom else "v"
    return {"x0": x0, "top": top, "x1": x1, "bottom": bottom, "orientation": orientation}


def runs(coords: list[float], kept: list[bool]) -> list[tuple[float, float]]:
    """Given a rule's grid coordinates and which steps of it are drawn, return its edges: the maximal runs."""
    out, start = [], None
    for k, on in enumerate([*kept, False]):
        if on and start is None:
            start = k
        elif not on and start is not None:
            out.append((coords[start], coords[k]))
            start = None
    return out


def grid_intersections(xs: list[float], ys: list[float], gaps: set[tuple[str, int, int]]) -> dict:
    """Intersections of rules at xs and ys (as pdfplumber.table.edges_to_intersections makes them from merged
    edges), each rule drawn but for the grid steps named in gaps (("h", row, step) or ("v", col, step))."""
    h = {y: runs(xs, [("h", r, k) not in gaps for k in range(len(xs) - 1)]) for r, y in enumerate(ys)}
    v = {x: runs(ys, [("v", c, k) not in gaps for k in range(len(ys) - 1)]) for c, x in enumerate(xs)}
    inter: dict = {}
    for y in ys:
        for x in xs:
            through_h = [edge(a, y, b, y) for a, b in h[y] if a <= x <= b]
            through_v = [edge(x, a, x, b) for a, b in v[x] if a <= y <= b]
            if through_h and through_v:
                inter[(x, y)] = {"h": through_h, "v": through_v}
    return inter


@pytest.mark.parametrize(
    ("gaps", "n_cells"),
    [
        (set(), 9),  # a plain 3 x 3 grid
        ({("v", 1, 0)}, 8),  # a cell merged across (the rule between two columns missing in row 0)
        ({("h", 1, 0), ("h", 1, 1)}, 7),  # two cells merged down, side by side
        ({("v", 2, 1), ("h", 2, 2), ("v", 1, 2)}, 5),  # merges that leave an L: no box closes some corners
    ],
)
def test_cells_equal_pdfplumbers_on_grids_with_merged_cells(gaps, n_cells):
    inter = grid_intersections([10.0, 50.0, 90.0, 130.0], [5.0, 20.0, 35.0, 50.0], gaps)
    cells = intersections_to_cells(inter)
    assert cells == plumber_cells(inter)
    assert len(cells) == n_cells


def test_a_merged_cell_is_one_box_spanning_its_columns():
    inter = grid_intersections([10.0, 50.0, 90.0], [5.0, 20.0, 35.0], {("v", 1, 0)})
    assert intersections_to_cells(inter) == [(10.0, 5.0, 90.0, 20.0), (10.0, 20.0, 50.0, 35.0), (50.0, 20.0, 90.0, 35.0)]


def test_tables_equal_find_tables_on_a_generated_form(tmp_path):
    path = tmp_path / "qh.pdf"
    render_pdf(form_spec("qh", Variant(), random.Random(3)), path)
    settings = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
    compared = 0
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            mine, theirs = page_to_tables(page, settings), page.find_tables(settings)
            assert [(t.bbox, t.cells) for t in mine] == [(t.bbox, t.cells) for t in theirs]
            compared += sum(len(t.cells) for t in mine)
    assert compared > 100  # the form's table was found, not two empty lists compared


def test_two_tables_on_a_page_stay_two(tmp_path):
    path = tmp_path / "two.pdf"
    c = canvas.Canvas(str(path))
    for left in (60, 330):  # two 3 x 3 grids side by side, not touching
        for i in range(4):
            c.line(left, 700 - 20 * i, left + 180, 700 - 20 * i)
            c.line(left + 60 * i, 700, left + 60 * i, 640)
    c.save()
    settings = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        mine, theirs = page_to_tables(page, settings), page.find_tables(settings)
    assert [len(t.cells) for t in mine] == [9, 9]
    assert [(t.bbox, t.cells) for t in mine] == [(t.bbox, t.cells) for t in theirs]
