"""Phone photos of a form page (issue 13): samples/photo.py makes them, extractor/ocr/photo.py rectifies them.

- the page's quadrilateral is found within a pixel of the corners the generator planted (keystone up to 6 %,
  rotation up to 4 degrees, light falling off to one side, JPEG quality 75), also through a JPEG whose EXIF says
  it is turned (a phone's photo, or a HEIC converted to JPEG);
- the rectified page lies on the source page: its pixels correlate with the page the photo was made from (a
  pixel's misplacement would show), at the photo's own resolution of the page and in its proportions;
- an ordinary scan (tilted, sealed, noisy, a black band along one edge, the committed fixtures) is returned
  unchanged, the very same object, so scans read exactly as before;
- one photographed page of filled_pdf.pdf (tests/fixtures/forms) read by OCR end to end: the tables of its text
  layer (tests/fixtures/scans/filled_pdf_pages.json), every number and empty cell exact; the evidence strip of
  one of its rows shows what the source PDF shows at the row's boxes (the photo is rectified for the evidence
  as for the OCR);
- a soft rule under a red seal on a photo stays a rule (the header cells beside it stay apart);
- a photo the paper fills (no desk: samples.photo's fill) is rectified by its table's outer frame, found within
  a pixel of where the generator put it, when keystoned; not keystoned it is kept as taken (deskew's job); read
  end to end, every value is the text layer's; a scan turned past the deskew's reach is turned upright by it.

Pages are small (75 dpi) except the end-to-end one (150 dpi, one page).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from PIL import Image, ImageChops, ImageStat  # noqa: E402

from extractor.ocr import pipeline, sources  # noqa: E402
from extractor.ocr.grid import ink_to_grids  # noqa: E402
from extractor.ocr.photo import (  # noqa: E402
    RectifiedPage,
    frame_is_askew,
    page_to_frame,
    page_to_quadrilateral,
    photo_to_page,
)
from extractor.ocr.prepare import prepare  # noqa: E402
from extractor.parsers.scan import ImageParser  # noqa: E402
from samples.photo import make_photo, make_photos, photo_image, save_photo  # noqa: E402
from samples.scan import SEAL_FONT, draw_seal, rasterise, scan_noise, scan_page, stamp  # noqa: E402

from .ocr_reads import cached_page_reads  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FORM_PDF = FIXTURES / "forms" / "filled_pdf.pdf"  # a Letter page: 8.5 x 11 inches
SCANS = FIXTURES / "scans"
PAGES = json.loads((SCANS / "filled_pdf_pages.json").read_text(encoding="utf-8"))["pages"]
NUMBER = re.compile(r"^\d+(\.\d+)?$")
DPI = 75


@pytest.fixture(scope="module")
def page() -> Image.Image:
    """Page 2 of filled_pdf.pdf at 75 dpi."""
    return rasterise(FORM_PDF, DPI)[1]


def _pixels(image: Image.Image) -> np.ndarray:
    return sources.pil_to_pixels(image)


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.mark.parametrize(
    ("seed", "keystone", "rotation", "shading"),
    [(0, 0.06, 4.0, 0.35), (1, 0.03, 2.0, 0.35), (2, 0.0, 0.0, 0.0), (3, 0.06, 4.0, 0.5), (4, 0.045, 3.0, 0.2)],
)
def test_the_page_is_found_within_a_pixel_of_its_planted_corners(page, tmp_path, seed, keystone, rotation, shading):
    truth = make_photo(page, tmp_path / "photo.jpg", seed, keystone, rotation, shading, quality=75)
    (photo,) = sources.image_file_pages(tmp_path / "photo.jpg")
    corners = page_to_quadrilateral(photo.pixels)
    assert corners is not None
    assert np.abs(corners - np.array(truth)).max() <= 1.0, (corners, truth)


def test_the_rectified_page_lies_on_the_source_page(page):
    image, _truth = photo_image(page, seed=5, keystone=0.06, rotation=4.0, shading=0.35)
    photo = sources.PageImage(_pixels(image), 90.0, 1)
    rectified = photo_to_page(photo)
    assert isinstance(rectified, RectifiedPage)
    assert rectified.photo_size == image.size and rectified.photo_dpi == 90.0 and len(rectified.corners) == 4
    assert abs(rectified.dpi - DPI) < 0.1  # the page's own resolution in the photo (under the 200 dpi cap)
    height, width = rectified.pixels.shape[:2]
    assert (abs(width - page.width) <= 1, abs(height - page.height) <= 1) == (True, True)  # Letter proportions
    grey = cv2.cvtColor(rectified.pixels, cv2.COLOR_BGR2GRAY).astype(np.float32)
    source = cv2.resize(np.asarray(page.convert("L"), np.float32), (width, height), interpolation=cv2.INTER_AREA)
    got, want = (cv2.GaussianBlur(a, (0, 0), 1.0)[6:-6, 6:-6] for a in (grey, source))
    assert _ncc(got, want) >= 0.97  # one pixel off gives 0.95 or less
    paper = grey[grey > 200]
    assert abs(float(np.median(paper)) - 245.0) <= 3  # the light evened out: paper alike on both sides
    left, right = (
        np.median(grey[:, : width // 4][grey[:, : width // 4] > 200]),
        np.median(grey[:, -width // 4 :][grey[:, -width // 4 :] > 200]),
    )
    assert abs(float(left) - float(right)) <= 4


def test_a_turned_jpeg_is_read_upright_by_its_exif_orientation(page, tmp_path):
    image, truth = photo_image(page, seed=6, keystone=0.05, rotation=3.0, shading=0.35)
    exif = Image.Exif()
    exif[0x0112] = 6  # the stored pixels are to be turned 90 degrees clockwise to show
    image.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "turned.jpg", "JPEG", quality=75, exif=exif)
    (photo,) = sources.image_file_pages(tmp_path / "turned.jpg")
    assert photo.pixels.shape[:2] == (image.height, image.width)
    corners = page_to_quadrilateral(photo.pixels)
    assert corners is not None and np.abs(corners - np.array(truth)).max() <= 1.0


def _scan(page: Image.Image, rotate: float, seed: int) -> sources.PageImage:
    return sources.PageImage(_pixels(scan_page(page, DPI, [(0.8, 0.3)], 1, True, rotate, True, seed)), DPI, 1)


@pytest.mark.parametrize(("rotate", "seed"), [(0.0, 0), (1.5, 1), (-2.0, 2)])
def test_an_ordinary_scan_is_returned_unchanged(page, rotate, seed):
    scan = _scan(page, rotate, seed)
    assert page_to_quadrilateral(scan.pixels) is None
    assert photo_to_page(scan) is scan


def test_a_scan_with_a_black_band_along_one_edge_is_no_photo(page):
    scan = _scan(page, 1.0, 3)
    scan.pixels[:, :40] = 20  # the scanner's lid left open along the left edge
    assert photo_to_page(scan) is scan


@pytest.mark.parametrize("name", ["page2_photo.jpg", "page4_grey.png", "filled_scan_150.pdf"])
def test_the_committed_scans_are_no_photos(name):
    path = SCANS / name
    pages = sources.pdf_pages(path.read_bytes()) if path.suffix == ".pdf" else sources.image_file_pages(path)
    for image in pages:
        assert photo_to_page(image) is image


SEAL_X = [0.3, 1.5, 2.1, 2.7]  # inches: the sealed table's columns (label, self, inspector)
SEAL_Y = [0.4, 0.58, 0.76, 1.26, 1.76, 2.26]  # inches from the top: a two-line header, then three score rows


def _sealed_table_pdf(path: Path) -> Path:
    """An A4 page with a small ruled table in its top left corner, drawn with thin (0.5 pt) rules as LibreOffice
    draws them: the header is two lines high, split in two only in the label column, so the rule between the
    自评结果 and 督查结果 header cells is 0.36 inch long (a rule is at least 0.30)."""
    from reportlab.lib.units import inch
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    top = 11.69 * inch
    c = canvas.Canvas(str(path), pagesize=(8.27 * inch, top))
    c.setFont("STSong-Light", 10)
    c.setLineWidth(0.5)
    for k, y in enumerate(SEAL_Y):
        c.line(SEAL_X[0] * inch, top - y * inch, (SEAL_X[1] if k == 1 else SEAL_X[-1]) * inch, top - y * inch)
    for x in SEAL_X:
        c.line(x * inch, top - SEAL_Y[0] * inch, x * inch, top - SEAL_Y[-1] * inch)
    for x, upper, lower in zip(SEAL_X, ("督查内容", "自评结", "督查结"), ("项目", "果", "果"), strict=False):
        c.drawString(x * inch + 4, top - 0.53 * inch, upper)
        c.drawString(x * inch + 4, top - 0.71 * inch, lower)
    for k, row in enumerate([("场地", "4.5", "4"), ("岗位", "1.0", "1"), ("制度", "2", "0.5")]):
        for x, text in zip(SEAL_X, row, strict=False):
            c.drawString(x * inch + 6, top - (SEAL_Y[2 + k] + 0.3) * inch, text)
    c.save()
    return path


def _cells(pixels: np.ndarray, dpi: float) -> list[list[tuple[int, int, int, int]]]:
    return [sorted((c.row, c.col, c.rowspan, c.colspan) for c in g.cells) for g in ink_to_grids(prepare(pixels, dpi))]


@pytest.mark.skipif(not Path(SEAL_FONT).exists(), reason="the Noto CJK font (seal text) is not installed")
@pytest.mark.parametrize(("dx", "dy"), [(0.0, 0.0), (-0.15, 0.2), (0.15, 0.35)])
def test_a_soft_rule_under_a_red_seal_on_a_photo_keeps_its_cells_apart(tmp_path, dx, dy):
    # Regression (qh_pdf_lo_landscape_repeat_43, page 1): on a photo the thin rules are soft (~0.6 of the paper);
    # the seal's red, divided out, left the header's split rule under the seal at the threshold's edge, in dashes
    # too short for a rule, and the 自评结果 and 督查结果 header cells were read as one.
    pdf = _sealed_table_pdf(tmp_path / "table.pdf")
    want = _cells(_pixels(rasterise(pdf, 200)[0]), 200.0)
    assert want == [[(0, 0, 1, 1), (0, 1, 2, 1), (0, 2, 2, 1), (1, 0, 1, 1)]
                    + [(r, c, 1, 1) for r in (2, 3, 4) for c in (0, 1, 2)]]
    page = rasterise(pdf, 150)[0]
    centre = ((SEAL_X[2] + dx) * 150, (SEAL_Y[1] + dy) * 150 + 60)  # over the header's split rule
    sealed = scan_noise(stamp(page, draw_seal(150, rng=np.random.RandomState(0)), centre), np.random.RandomState(1),
                        150, 3.0)
    image, _corners = photo_image(sealed, seed=3, keystone=0.0, rotation=0.0, shading=0.35)
    (photo,) = sources.image_file_pages(save_photo(image, tmp_path / "photo.jpg", 75))
    rectified = photo_to_page(photo)
    assert isinstance(rectified, RectifiedPage)
    assert _cells(rectified.pixels, rectified.dpi) == want


def _frame_in_photo(page: Image.Image, corners: list[tuple[float, float]]) -> np.ndarray:
    """Given a page and its corners in a photo of it, return where its largest table's outer frame (the clean
    page's grid box) lies in the photo (tl, tr, br, bl)."""
    grids = ink_to_grids(prepare(_pixels(page), DPI))
    x0, y0, x1, y1 = max((g.box for g in grids), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    w, h = page.size
    matrix = cv2.getPerspectiveTransform(
        np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32) - 0.5, np.array(corners, np.float32)
    )
    return cv2.perspectiveTransform(np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32), matrix)[0]


@pytest.mark.parametrize(
    ("seed", "keystone", "rotation"), [(0, 0.04, 2.0), (1, 0.04, 2.0), (2, 0.04, 1.5), (3, 0.05, 1.0), (4, 0.03, 0.0)]
)
def test_a_keystoned_photo_the_paper_fills_is_rectified_by_its_table_frame(page, seed, keystone, rotation):
    image, corners = photo_image(page, seed, keystone, rotation, shading=0.35, fill=0.01)
    assert min(x for x, _y in corners) < 0 and max(x for x, _y in corners) > image.width  # the paper's edge is out
    photo = sources.PageImage(_pixels(image), DPI, 1)
    assert page_to_quadrilateral(photo.pixels) is None  # no desk: no paper stands out
    frame = page_to_frame(photo.pixels)
    assert frame is not None
    assert np.abs(frame - _frame_in_photo(page, corners)).max() <= 1.0
    assert frame_is_askew(frame)
    rectified = photo_to_page(photo)
    assert isinstance(rectified, RectifiedPage) and rectified.by == "frame"
    assert np.allclose(rectified.corners, frame) and rectified.dpi == DPI
    again = page_to_frame(rectified.pixels)  # on the rectified page the frame is an upright rectangle
    assert again is not None and not frame_is_askew(again)
    assert np.abs(again[:, 1] - again[[1, 0, 3, 2], 1]).max() <= 1.0  # top and bottom level
    assert np.abs(again[:, 0] - again[[3, 2, 1, 0], 0]).max() <= 1.0  # left and right upright


@pytest.mark.parametrize(("seed", "rotation"), [(0, 0.0), (1, 2.0)])
def test_a_photo_the_paper_fills_without_keystone_is_kept_as_taken(page, seed, rotation):
    image, _corners = photo_image(page, seed, keystone=0.0, rotation=rotation, shading=0.35, fill=0.01)
    photo = sources.PageImage(_pixels(image), DPI, 1)
    frame = page_to_frame(photo.pixels)
    assert frame is not None and not frame_is_askew(frame)  # a turned rectangle: prepare's deskew undoes it
    assert photo_to_page(photo) is photo


@pytest.mark.parametrize(("rotate", "seed"), [(6.0, 0), (-7.0, 2)])
def test_a_page_turned_past_the_deskews_reach_is_turned_upright_by_its_frame(page, rotate, seed):
    scan = _scan(page, rotate, seed)  # prepare's deskew trusts no angle over DEFAULT_MAX_SKEW (5 degrees)
    rectified = photo_to_page(scan)
    assert isinstance(rectified, RectifiedPage) and rectified.by == "frame"
    again = page_to_frame(rectified.pixels)
    assert again is not None and not frame_is_askew(again)
    top = again[1] - again[0]
    assert abs(np.degrees(np.arctan2(top[1], top[0]))) < 0.1


def _values(form) -> dict[str, tuple]:
    return {i.code: (i.self, i.inspector) for i in form.items if i.present}


def test_a_photo_the_paper_fills_reads_every_value_exactly(cached_reads, tmp_path, monkeypatch):
    # seed 1: read as taken, the inspector column of every row was lost (12 of 13 items)
    import pypdfium2 as pdfium

    import rubric
    from extractor.extract import path_to_form

    photo = tmp_path / "close.jpg"
    make_photos(FORM_PDF, photo, dpi=150, seed=1, keystone=0.04, rotation=2.0, quality=75, pages=[2], fill=0.01)
    source, one = pdfium.PdfDocument(str(FORM_PDF)), pdfium.PdfDocument.new()
    one.import_pages(source, [1])
    one.save(str(tmp_path / "page2.pdf"))
    one.close()
    source.close()
    rectified = []
    original = pipeline.photo_to_page

    def spy(image, *args, **kwargs):  # read_page hands it the page's grey too
        out = original(image, *args, **kwargs)
        rectified.append(getattr(out, "by", None))
        return out

    monkeypatch.setattr(pipeline, "photo_to_page", spy)
    rubrics = rubric.load_all()
    pdf_form = path_to_form(tmp_path / "page2.pdf", rubrics, rubric_id="qinghai-2024")
    photo_form = path_to_form(photo, rubrics, rubric_id="qinghai-2024")
    want, got = _values(pdf_form), _values(photo_form)
    assert rectified == ["frame"]
    # the straightening is on every cell the values came from (its bbox lies on the straightened page)
    assert {i.self_cell.get("rectified") for i in photo_form.items if i.self_cell} == {"frame"}
    assert {i.self_cell.get("rectified") for i in pdf_form.items if i.self_cell} == {None}
    assert len(want) == 13 and sum(v is not None for pair in want.values() for v in pair) == 26
    assert got == want


@pytest.fixture(scope="module")
def photo_page2(tmp_path_factory) -> Path:
    """A phone photo of page 2 of filled_pdf.pdf: 150 dpi, keystone 6 %, rotation 4 degrees, shading, JPEG q75."""
    photo = tmp_path_factory.mktemp("photo") / "page2.jpg"
    make_photos(FORM_PDF, photo, dpi=150, seed=1, keystone=0.06, rotation=4.0, shading=0.35, quality=75, pages=[2])
    return photo


@pytest.fixture(scope="module")
def cached_reads():
    """Read each distinct page image once in this module, whatever test asks for it."""
    with cached_page_reads() as cache:
        yield cache


def _page_cells(doc):
    return [[(c.row, c.col, c.rowspan, c.colspan, c.text) for c in t.cells] for t in doc.tables]


def test_a_photographed_page_reads_as_its_text_layer(photo_page2, cached_reads, monkeypatch):
    rectified = []
    original = pipeline.photo_to_page

    def spy(image, *args, **kwargs):  # read_page hands it the page's grey too
        out = original(image, *args, **kwargs)
        rectified.append(isinstance(out, RectifiedPage))
        return out

    monkeypatch.setattr(pipeline, "photo_to_page", spy)
    doc = ImageParser().path_to_document(photo_page2)
    assert rectified == [True]
    assert (doc.kind, doc.pages) == ("image", 1)
    assert {c.rectified for t in doc.tables for c in t.cells} == {"paper"}
    got, want = _page_cells(doc), [[tuple(cell) for cell in t] for t in PAGES["2"]]
    assert [[cell[:4] for cell in t] for t in got] == [[cell[:4] for cell in t] for t in want]  # same grid, spans
    numbers = [
        (g[4], w[4])
        for t, u in zip(got, want, strict=True)
        for g, w in zip(t, u, strict=True)
        if NUMBER.match(w[4]) or not w[4]
    ]
    assert len(numbers) == 36
    assert [(g, w) for g, w in numbers if g != w] == []


def _strip(evidence) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(evidence.image.split(",", 1)[1]))).convert("L")


def test_the_evidence_of_a_photographed_row_is_cropped_from_the_rectified_page(photo_page2, cached_reads, tmp_path):
    # The boxes are in points of the rectified page: the picture is rectified the same way before cropping, so a
    # row's strip shows what the source PDF shows at those boxes.
    import pypdfium2 as pdfium

    import rubric
    from extractor import evidence_image
    from extractor.evidence import form_to_evidence
    from extractor.extract import path_to_form

    form = path_to_form(photo_page2, rubric.load_all(), rubric_id="qinghai-2024")
    form.path = str(photo_page2)
    code = next(i.code for i in form.items if i.self_cell and NUMBER.match(i.self_cell["text"] or ""))
    photo = form_to_evidence(0, form, items=[code])[code]
    source_pdf = tmp_path / "page2.pdf"  # the photographed page alone, as page 1 of a PDF
    source, one = pdfium.PdfDocument(str(FORM_PDF)), pdfium.PdfDocument.new()
    one.import_pages(source, [1])
    one.save(str(source_pdf))
    one.close()
    source.close()
    printed = copy.deepcopy(form)
    printed.kind, printed.path, printed.sha256 = "pdf", str(source_pdf), None
    want = _strip(form_to_evidence(0, printed, items=[code])[code])
    got = _strip(photo)
    # the same band of the page: the photo's strip is at the rectified page's dpi, the PDF's at the evidence's
    assert abs(got.height * want.width / got.width - want.height) <= 3, (got.size, want.size)
    diff = ImageStat.Stat(ImageChops.difference(got.resize(want.size), want)).mean[0]
    with pytest.MonkeyPatch.context() as patch:  # the photo cropped as it was taken lands elsewhere
        patch.setattr(evidence_image, "rectified", lambda image, dpi: (image, dpi))
        raw = _strip(form_to_evidence(0, form, items=[code])[code])
    raw_diff = ImageStat.Stat(ImageChops.difference(raw.resize(want.size), want)).mean[0]
    assert diff < 25 < raw_diff, (diff, raw_diff)
