"""Red seals on colour scans (issue 13): lifted by their colour, and their ink recorded, so a reading under it that
is not certain goes to review (low_confidence_value) as under a grey seal, never a guess.

The page is tests/test_grey_seal.py's small ruled table, scanned in colour at 150 dpi by samples.scan with its red
seal stamped over a score cell (the scan maker says where). The truth of where the seal's ink lies is the seal
drawn again (samples.scan.draw_seal) at that centre on the deskewed page: a text crop the seal's ink covers has its
uncertain reading capped, one no seal ink comes near (beside the seal, or on the paper inside its ring) keeps it.

Needs the OCR extra; skipped without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from extractor.checks import DEFAULT_LOW_VALUE_CONFIDENCE  # noqa: E402
from extractor.ocr import prepare, seal  # noqa: E402
from extractor.ocr.grid import ink_to_grids  # noqa: E402
from extractor.ocr.text import ink_to_texts  # noqa: E402
from extractor.parsers.scan import ImageParser  # noqa: E402
from samples.scan import SEAL_FONT, draw_seal, make_scan  # noqa: E402

from .test_grey_seal import DPI, ROWS, _form_pdf  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(SEAL_FONT).exists(), reason="the Noto CJK font (seal text) is not installed")
UNSURE = 0.9  # a reading this sure is trusted off a seal, not under one (seal.DEFAULT_SEAL_TRUST)


@pytest.fixture(scope="module")
def form(tmp_path_factory) -> Path:
    return _form_pdf(tmp_path_factory.mktemp("red-seal") / "form.pdf")


def _seal_ink(page: prepare.Prepared, planted: dict, shape: tuple[int, ...]) -> np.ndarray:
    """Where the seal's ink lies on the prepared page: the seal drawn again (its shapes, no patchy ink) at the
    planted centre, turned with the page by its deskew (the scan's tilt and the deskew cancel on the seal)."""
    (centre,) = seal.rotate_seals([seal.Seal(planted["x"], planted["y"], planted["radius"])], shape, page.skew)
    alpha = np.asarray(draw_seal(DPI))[..., 3] > 0
    out = np.zeros(page.grey.shape, bool)
    x0, y0 = round(centre.x - alpha.shape[1] / 2), round(centre.y - alpha.shape[0] / 2)
    ys, xs = np.nonzero(alpha)
    keep = (ys + y0 >= 0) & (ys + y0 < out.shape[0]) & (xs + x0 >= 0) & (xs + x0 < out.shape[1])
    out[ys[keep] + y0, xs[keep] + x0] = True
    return out


def _share(mask: np.ndarray, box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = int(box[0]), int(box[1]), int(np.ceil(box[2])), int(np.ceil(box[3]))
    return float(mask[y0:y1, x0:x1].mean())


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_an_unsure_reading_is_capped_where_red_seal_ink_lay_on_its_digits(form, tmp_path, seed):
    planted: list[dict] = []
    path = make_scan(form, tmp_path / "colour.png", DPI, seal=True, rotate=1.0, seed=seed, seals=planted)
    bgr = cv2.imread(str(path))
    page = prepare.prepare(bgr, DPI)
    assert [s.red for s in page.seals] == [True]  # recorded by its red ink, not suppressed as a grey seal
    ink = _seal_ink(page, planted[0], bgr.shape)
    near = cv2.dilate(ink.astype(np.uint8), np.ones((2 * round(0.04 * DPI) + 1,) * 2, np.uint8)) > 0
    in_disc = np.zeros(ink.shape, np.uint8)
    (centre,) = seal.rotate_seals([seal.Seal(planted[0]["x"], planted[0]["y"], planted[0]["radius"])], bgr.shape,
                                  page.skew)
    cv2.circle(in_disc, (round(centre.x), round(centre.y)), round(centre.radius), 1, -1)
    grids = ink_to_grids(page)
    ink_to_texts(page, grids)
    covered = clear = clear_in_disc = 0
    for grid in grids:
        for cell in grid.cells:
            for text in cell.texts:
                got = seal.seal_confidence(UNSURE, cell.box, page.seals, [text.box])
                if _share(ink, text.box) >= 0.20:  # the seal's strokes lie over a fifth of the crop
                    assert got < DEFAULT_LOW_VALUE_CONFIDENCE, (cell.row, cell.col)
                    covered += 1
                elif _share(near, text.box) == 0.0:  # no seal ink within a millimetre of the crop
                    assert got == UNSURE, (cell.row, cell.col)
                    clear += 1
                    clear_in_disc += _share(in_disc, text.box) > 0.5  # ... though inside the seal's ring
                assert seal.seal_confidence(0.99, cell.box, page.seals, [text.box]) == 0.99  # read surely: kept
    assert covered >= 1 and clear >= 1, (covered, clear)
    if seed == 0:  # the seal stamped with two scores on the paper inside its ring, between star and rim text
        assert clear_in_disc >= 1


def test_the_red_seals_ink_turns_with_the_page():
    mask = np.zeros((40, 60), bool)
    mask[10:14, 5:55] = True  # a horizontal stroke
    (red,) = seal.rotate_seals([seal.red_seal(mask, (100, 200))], (600, 400), 0.0)
    assert red.inked((110, 210, 150, 214)) == 1.0 and red.inked((110, 220, 150, 230)) == 0.0
    (turned,) = seal.rotate_seals([seal.red_seal(mask, (100, 200))], (600, 400), 90.0)  # counter-clockwise
    # page (x, y) -> (y - 100, 500 - x) for a 400 x 600 page turned by 90 degrees about its centre
    assert turned.inked((110, 348, 114, 392)) > 0.9 and turned.inked((116, 345, 126, 395)) == 0.0


def test_the_scores_under_a_red_seal_read_right_or_are_flagged(form, tmp_path):
    path = make_scan(form, tmp_path / "colour.png", DPI, seal=True, rotate=1.0, seed=1)
    doc = ImageParser().path_to_document(path)
    cells = {(c.row, c.col): c for t in doc.tables for c in t.cells}
    for r, row in enumerate(ROWS[1:], 1):
        for k in (1, 2):
            cell = cells[(r, k)]
            sure = (cell.confidence or 0.0) >= DEFAULT_LOW_VALUE_CONFIDENCE
            assert cell.text.strip() == row[k] or not sure, (r, k, cell.text, cell.confidence)
