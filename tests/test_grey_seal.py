"""Grey seals (issue 13): a red seal scanned in grayscale is found by its shape and suppressed before recognition.

The fixture is one small page drawn with reportlab (a ruled table of labels and scores, the scores in the
right-hand column), scanned in grey at 150 dpi by samples.scan with its seal stamped over a score cell; the scan
maker reports where it stamped the seal (the truth). A page without seal, and pages with a black circled mark of
a seal's size or grey seals far smaller or larger than an official seal, have no seal. The digits under the seal
are read right or flagged (confidence below the review threshold), never a guess.

Needs the OCR extra; skipped without it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from PIL import Image, ImageDraw  # noqa: E402
from reportlab.lib.units import inch  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from extractor.checks import DEFAULT_LOW_VALUE_CONFIDENCE  # noqa: E402
from extractor.ocr import prepare, seal  # noqa: E402
from extractor.parsers.scan import ImageParser  # noqa: E402
from samples.scan import SEAL_FONT, draw_seal, make_scan, stamp  # noqa: E402

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
DPI = 150
ROWS = [
    ("项目", "自评", "督查"),
    ("场地", "5", "4"),
    ("岗位", "6", "3"),
    ("制度", "7", "2"),
    ("档案", "8", "9"),
]
X_EDGES = [0.3, 1.6, 2.5, 3.9]  # inches: the table's columns
Y_TOP, ROW_HEIGHT = 0.4, 0.5  # inches from the top

pytestmark = pytest.mark.skipif(not Path(SEAL_FONT).exists(), reason="the Noto CJK font (seal text) is not installed")


def _form_pdf(path: Path) -> Path:
    """A 4.2 x 3.2 inch page with a ruled 5 x 3 table: labels, then self and inspector scores."""
    width, height = 4.2 * inch, 3.2 * inch
    c = canvas.Canvas(str(path), pagesize=(width, height))
    c.setFont(FONT, 12)
    c.setLineWidth(0.5)  # thin rules, as LibreOffice draws them: at 150 dpi as thin and grey as seal strokes
    ys = [height - (Y_TOP + k * ROW_HEIGHT) * inch for k in range(len(ROWS) + 1)]
    for y in ys:
        c.line(X_EDGES[0] * inch, y, X_EDGES[-1] * inch, y)
    for x in X_EDGES:
        c.line(x * inch, ys[0], x * inch, ys[-1])
    for r, row in enumerate(ROWS):
        for k, text in enumerate(row):
            c.drawString(X_EDGES[k] * inch + 8, ys[r] - ROW_HEIGHT * inch / 2 - 4, text)
    c.save()
    return path


@pytest.fixture(scope="module")
def form(tmp_path_factory) -> Path:
    return _form_pdf(tmp_path_factory.mktemp("grey-seal") / "form.pdf")


def _scan(form: Path, out: Path, seed: int, seal_on: bool = True) -> tuple[Path, list[dict]]:
    seals: list[dict] = []
    make_scan(form, out, DPI, seal=seal_on, rotate=1.0, seed=seed, grey=True, seals=seals)
    return out, seals


def _grey(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.mode == "L"  # the scan is greyscale: no colour to find the seal by
        return np.asarray(im).copy()


def _seals(grey: np.ndarray) -> list[seal.Seal]:
    return seal.grey_to_seals(grey, prepare.paper_level(grey, DPI), DPI)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_seal_on_a_grey_scan_is_found_where_it_was_stamped(form, tmp_path, seed):
    path, planted = _scan(form, tmp_path / "sealed.png", seed)
    assert len(planted) == 1
    found = _seals(_grey(path))
    assert len(found) == 1
    want = planted[0]
    assert math.hypot(found[0].x - want["x"], found[0].y - want["y"]) <= 0.02 * DPI  # half a millimetre
    assert abs(found[0].radius - want["radius"]) <= 0.02 * DPI
    assert 0.3 < found[0].ink < 0.6  # seal ink is mid-grey, neither print black nor paper


def test_a_grey_page_without_seal_has_none(form, tmp_path):
    path, planted = _scan(form, tmp_path / "clean.png", 0, seal_on=False)
    assert planted == []
    assert _seals(_grey(path)) == []


def test_a_circled_mark_or_a_grey_round_shape_of_another_size_is_no_seal(form, tmp_path):
    """A black ring of a seal's size (a circled mark) is print, not seal ink; grey seals of half and one and a
    half times an official seal's size are logos, not the institution's seal."""
    path, _ = _scan(form, tmp_path / "clean.png", 0, seal_on=False)
    page = Image.open(path).convert("RGB")
    radius = seal.DEFAULT_SEAL_DIAMETER * DPI / 2
    circled = page.copy()
    ImageDraw.Draw(circled).ellipse(
        (320 - radius, 240 - radius, 320 + radius, 240 + radius), outline=(15, 15, 15), width=3
    )
    for image in (
        circled,
        stamp(page, draw_seal(DPI // 2), (320, 240)),
        stamp(page, draw_seal(DPI * 3 // 2), (320, 240)),
    ):
        assert _seals(np.asarray(image.convert("L")).copy()) == []
    assert len(_seals(np.asarray(stamp(page, draw_seal(DPI), (320, 240)).convert("L")).copy())) == 1  # the control


def test_suppression_keeps_the_print_under_the_seal_and_drops_the_seal(form, tmp_path):
    """The sealed page, prepared, against the same page scanned without seal (prepared too): within the seal,
    the print is kept and the seal's ink is gone."""
    sealed, planted = _scan(form, tmp_path / "sealed.png", 1)
    clean, _ = _scan(form, tmp_path / "clean.png", 1, seal_on=False)
    raw = _grey(sealed)
    yy, xx = np.mgrid[: raw.shape[0], : raw.shape[1]]
    stamped = np.hypot(xx - planted[0]["x"], yy - planted[0]["y"]) < planted[0]["radius"]
    page, plain = prepare.prepare(raw, DPI), prepare.prepare(_grey(clean), DPI)
    found = page.seals[0]  # on the deskewed page
    disc = np.hypot(xx - found.x, yy - found.y) < found.radius
    print_ink = (prepare.binarize(plain.grey, DPI) > 0) & disc
    after = (prepare.binarize(page.grey, DPI) > 0) & disc
    grow = np.ones((3, 3), np.uint8)
    kept = (print_ink & (cv2.dilate(after.astype(np.uint8), grow) > 0)).sum() / print_ink.sum()
    stray = (after & ~(cv2.dilate(print_ink.astype(np.uint8), grow) > 0)).sum() / disc.sum()
    assert ((prepare.binarize(raw, DPI) > 0) & stamped).sum() > 0.15 * stamped.sum()  # the seal was ink ...
    assert stray < 0.01  # ... and is gone
    assert kept >= 0.9  # the print under it is kept


def test_the_rules_under_a_grey_seal_stay_whole(form, tmp_path):
    """Regression: thin rules crossing a grey seal were lifted with it, and the grid merged the cells under it."""
    sealed, planted = _scan(form, tmp_path / "sealed.png", 2)
    clean, _ = _scan(form, tmp_path / "clean.png", 2, seal_on=False)
    pages = [prepare.prepare(_grey(p), DPI) for p in (sealed, clean)]
    assert len(pages[0].seals) == 1 and pages[1].seals == []
    found = pages[0].seals[0]  # where it lies on the deskewed page
    yy, xx = np.mgrid[: pages[0].grey.shape[0], : pages[0].grey.shape[1]]
    disc = np.hypot(xx - found.x, yy - found.y) < found.radius
    for rules in ("horizontal", "vertical"):
        got, want = ((getattr(p, rules) > 0) & disc for p in pages)
        near = cv2.dilate(want.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert (got & near).sum() >= 0.9 * want.sum(), rules


def test_a_colour_scan_keeps_the_red_ink_removal(form, tmp_path):
    seals: list[dict] = []
    path = make_scan(form, tmp_path / "colour.png", DPI, seal=True, rotate=1.0, seed=0, seals=seals)
    bgr = cv2.imread(str(path))
    grey, _gentle, found = prepare.unseal_page(bgr, DPI)
    assert [s.red for s in found] == [True]  # lifted by its red and recorded by its ink, not found by shape
    assert len(_seals(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))) == 1  # the same page in grey: found by shape
    yy, xx = np.mgrid[: grey.shape[0], : grey.shape[1]]
    disc = np.hypot(xx - seals[0]["x"], yy - seals[0]["y"]) < seals[0]["radius"] - 0.05 * DPI
    red = prepare.red_mask(bgr, DPI) & disc
    assert red.sum() > 0.05 * disc.sum()  # the seal is red ...
    raw = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    assert (prepare.binarize(raw, DPI) > 0)[red].mean() > 0.5  # ... ink when merely made grey ...
    assert (prepare.binarize(grey, DPI) > 0)[red].mean() < 0.1  # ... lifted by its red (what stays: print under it)


def test_a_cell_under_a_seal_read_without_certainty_goes_to_review():
    s = seal.Seal(100.0, 100.0, 50.0)
    assert seal.seal_confidence(0.9, (120.0, 90.0, 160.0, 110.0), [s]) < DEFAULT_LOW_VALUE_CONFIDENCE
    assert seal.seal_confidence(0.99, (120.0, 90.0, 160.0, 110.0), [s]) == 0.99  # read with certainty: kept
    assert seal.seal_confidence(0.9, (160.0, 90.0, 200.0, 110.0), [s]) == 0.9  # beside the seal: kept
    assert seal.seal_confidence(0.9, (120.0, 90.0, 160.0, 110.0), []) == 0.9
    assert seal.seal_confidence(None, (120.0, 90.0, 160.0, 110.0), [s]) is None


def test_the_scores_under_a_grey_seal_read_right_or_are_flagged(form, tmp_path):
    path, planted = _scan(form, tmp_path / "sealed.png", 1)
    doc = ImageParser().path_to_document(path)
    cells = {(c.row, c.col): c for t in doc.tables for c in t.cells}
    pt = 72.0 / DPI
    centre, radius = (planted[0]["x"] * pt, planted[0]["y"] * pt), planted[0]["radius"] * pt
    covered = 0
    for r, row in enumerate(ROWS[1:], 1):
        for k in (1, 2):
            cell = cells[(r, k)]
            assert cell.text.strip() == row[k] or (cell.confidence or 0.0) < DEFAULT_LOW_VALUE_CONFIDENCE, (
                r,
                k,
                cell.text,
            )
            x0, y0, x1, y1 = cell.bbox
            near = (min(max(centre[0], x0), x1), min(max(centre[1], y0), y1))
            covered += math.hypot(near[0] - centre[0], near[1] - centre[1]) < radius
    assert covered >= 2  # the seal lies over score cells
