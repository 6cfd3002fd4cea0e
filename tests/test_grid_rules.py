"""Rules of a scanned table (extractor/ocr/grid.py): a stroke inside a cell is no rule (issue 13).

On a photo, soft text (a dash, a strike-through, a long stroke of a character) is long enough for the rule mask; a
horizontal piece that touched no vertical rule became a row edge of its own, and every cell of its row a span of
two rows. Generated here: a ruled 4 x 4 table at 150 dpi drawn with PIL, with such strokes inside cells (one
horizontal, one vertical, each crossing no rule), and a rule broken into pieces around a piece that reaches no
crossing rule (as a seal or a photo's soft line breaks one): the strokes make no edge, the broken rule stays whole.
"""

from __future__ import annotations

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
np = pytest.importorskip("numpy")

from PIL import Image, ImageDraw  # noqa: E402

from extractor.ocr import prepare  # noqa: E402
from extractor.ocr.grid import crossing_rules, ink_to_grids  # noqa: E402

DPI = 150
X = [0.3, 1.8, 2.8, 3.8, 4.7]  # inches: the columns' rules
Y = [0.4, 0.9, 1.4, 1.9, 2.4]  # inches: the rows' rules


def _px(inches: float) -> int:
    return round(inches * DPI)


def _table(strokes: bool, broken: bool) -> Image.Image:
    """The table; strokes: a soft horizontal stroke in row 2 column 1, a soft vertical one in row 3 column 2;
    broken: the rule under row 3 broken twice within column 2."""
    image = Image.new("L", (_px(5.0), _px(3.0)), 250)
    d = ImageDraw.Draw(image)
    for k, y in enumerate(Y):
        if broken and k == 3:  # gaps at 2.0-2.1 and 2.6-2.7 in: the piece between reaches no vertical rule
            for a, b in ((X[0], 2.0), (2.1, 2.6), (2.7, X[-1])):
                d.line((_px(a), _px(y), _px(b), _px(y)), fill=30, width=2)
        else:
            d.line((_px(X[0]), _px(y), _px(X[-1]), _px(y)), fill=30, width=2)
    for x in X:
        d.line((_px(x), _px(Y[0]), _px(x), _px(Y[-1])), fill=30, width=2)
    if strokes:
        y = _px((Y[1] + Y[2]) / 2)
        d.line((_px(X[0] + 0.15), y, _px(X[0] + 0.65), y), fill=110, width=3)  # 0.5 in, clear of both sides
        x = _px((X[2] + X[3]) / 2)
        d.line((x, _px(Y[2] + 0.07), x, _px(Y[2] + 0.42)), fill=110, width=3)  # 0.35 in, clear of top and bottom
    return image


def _grid(image: Image.Image):
    grids = ink_to_grids(prepare.prepare(np.asarray(image), DPI))
    assert len(grids) == 1
    return grids[0]


@pytest.mark.parametrize("broken", [False, True])
def test_strokes_inside_cells_make_no_rule_and_a_broken_rule_stays_whole(broken):
    grid = _grid(_table(strokes=True, broken=broken))
    assert [round(v / DPI, 2) for v in grid.x_edges] == pytest.approx(X, abs=0.02)
    assert [round(v / DPI, 2) for v in grid.y_edges] == pytest.approx(Y, abs=0.02)
    assert [(c.row, c.col, c.rowspan, c.colspan) for c in grid.cells] == [
        (r, c, 1, 1) for r in range(4) for c in range(4)
    ]


def test_the_table_without_strokes_reads_the_same():
    assert [(c.row, c.col, c.rowspan, c.colspan) for c in _grid(_table(strokes=False, broken=True)).cells] == [
        (r, c, 1, 1) for r in range(4) for c in range(4)
    ]


def test_rules_of_a_table_with_no_rule_of_one_direction_are_all_kept():
    hs = [(10.0, 0, 100), (50.0, 20, 60)]  # a table ruled only across (no vertical rule found): nothing to cross
    assert crossing_rules(hs, [], 3) == (hs, [])
    vs = [(0.0, 8, 52), (100.0, 8, 52)]
    assert crossing_rules(hs, vs, 3) == ([(10.0, 0, 100)], vs)  # the piece at 50 crosses neither vertical
