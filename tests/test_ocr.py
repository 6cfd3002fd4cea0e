"""OCR of scanned and photographed forms (extractor/ocr/, extractor/parsers/scan.py).

Needs the OCR extra (pip install 'selfeval[ocr]'); skipped without it (tests/test_ocr_missing.py covers that case).
The fixtures in tests/fixtures/scans/ were made from filled_pdf.pdf (committed as tests/fixtures/forms/filled_pdf.pdf,
formerly in the shared sample set) with samples.scan:

    python -m samples.scan filled_pdf.pdf filled_scan_150.pdf --dpi 150 --seed 1 --quality 60
    python -m samples.scan filled_pdf.pdf page2_photo.jpg --dpi 200 --pages 2 --rotate 1.5 --seed 2
    python -m samples.scan filled_pdf.pdf page4_grey.png --dpi 200 --pages 4 --rotate 2 --seed 3 --grey --grain 0 --no-seal

(red seal over score cells, tilted, paper noise; the PNG is greyscale with uneven light); filled_scan_150.truth.json
is that form's truth (as the shared sample set's truth.json gave it) and filled_pdf_pages.json the tables of its pages 2 and 4 as
the PDF parser reads them from the text layer.

OCR is slow on two cores: the engine is loaded once per process, and a page already read is not read again
(``cached_reads``), so the blurred-digit test re-reads only the page it changed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from extractor.extract import document_to_form, path_to_form  # noqa: E402
from extractor.form import Form  # noqa: E402
from extractor.ocr import grid, pipeline, prepare, read, sources  # noqa: E402
from extractor.ocr.engine import load_engine  # noqa: E402
from extractor.parsers import path_to_document  # noqa: E402
from extractor.parsers.base import ParseError  # noqa: E402
from extractor.parsers.scan import ImageParser  # noqa: E402
from samples.scan import SEAL_FONT, draw_seal, stamp  # noqa: E402

from .ocr_reads import cached_page_reads  # noqa: E402

SCANS = Path(__file__).parent / "fixtures" / "scans"
SCANNED_PDF = SCANS / "filled_scan_150.pdf"
TRUTH = json.loads((SCANS / "filled_scan_150.truth.json").read_text(encoding="utf-8"))
PAGES = json.loads((SCANS / "filled_pdf_pages.json").read_text(encoding="utf-8"))["pages"]
NUMBER = re.compile(r"^\d+(\.\d+)?$")


def norm(label: str) -> str:
    """A label as the shared scorer compares them: width-folded, no (N分), no punctuation or spaces."""
    s = unicodedata.normalize("NFKC", label)
    s = re.sub(r"[（(]\s*\d+(\.\d+)?\s*分\s*[)）]", "", s)
    return re.sub(r"[\s，,、。．.：:；;（）()/]", "", s)


def number(value):
    return None if value is None else float(value)


@pytest.fixture(scope="module", autouse=True)
def cached_reads():
    """Read each distinct page image once per test run, whatever test asks for it."""
    with cached_page_reads() as cache:
        yield cache


@pytest.fixture(scope="module")
def scanned_form(rubrics) -> Form:
    return path_to_form(SCANNED_PDF, rubrics)


# --- a scanned PDF, end to end -------------------------------------------------------------------------


def test_a_scanned_pdf_reads_every_value_exactly(scanned_form):
    form = scanned_form
    assert form.status != "failed", form.error
    assert (form.kind, form.rubric, form.institution, form.fill_date) == (
        "pdf-scan", "qinghai-2024", TRUTH["institution"], TRUTH["fill_date"])
    assert form.header["batches"] == TRUTH["stats"]["batches"]
    assert form.header["certified_passed"] == TRUTH["stats"]["certified_passed"]
    items = {norm(i.label): i for i in form.items}
    wrong = [(label, side, want[side], getattr(items[norm(label)], side))
             for label, want in TRUTH["items"].items() for side in ("self", "inspector")
             if number(getattr(items[norm(label)], side)) != number(want[side])]
    assert wrong == []
    kinds = {d.kind for d in form.discrepancies}
    assert "total_mismatch" not in kinds and "non_numeric" not in kinds and "over_cap" not in kinds


def test_scanned_values_carry_page_bbox_and_the_engines_confidence(scanned_form):
    for item in scanned_form.items:
        prov = item.provenance
        assert 1 <= prov["page"] <= 6
        x0, top, x1, bottom = prov["bbox"]
        assert 0 <= x0 < x1 <= 612 and 0 <= top < bottom <= 792  # PDF points of a Letter page
        assert 0.0 < prov["confidence"] <= 1.0
    confident = [i for i in scanned_form.items if i.provenance["confidence"] >= 0.8]
    assert len(confident) >= 0.9 * len(scanned_form.items)


def test_empty_cells_have_no_confidence_and_others_one(rubrics):
    doc = path_to_document(SCANNED_PDF)
    assert doc.kind == "pdf-scan" and doc.pages == 6
    cells = [c for t in doc.tables for c in t.cells]
    assert any(not c.text for c in cells)
    assert all((c.confidence is None) == (not c.text) for c in cells)
    assert all(c.page and c.bbox for c in cells)


# --- photographed pages: structure and values as the text layer has them ----------------------------------


def _page_cells(doc):
    return [[(c.row, c.col, c.rowspan, c.colspan, c.text) for c in t.cells] for t in doc.tables]


@pytest.mark.parametrize(("name", "page"), [("page2_photo.jpg", "2"), ("page4_grey.png", "4")])
def test_a_photographed_page_has_the_tables_of_its_text_layer(name, page):
    doc = ImageParser().path_to_document(SCANS / name)
    assert (doc.kind, doc.pages) == ("image", 1)
    got, want = _page_cells(doc), [[tuple(cell) for cell in t] for t in PAGES[page]]
    assert [[cell[:4] for cell in t] for t in got] == [[cell[:4] for cell in t] for t in want]  # same grid, spans
    for got_table, want_table in zip(got, want, strict=True):
        for g, w in zip(got_table, want_table, strict=True):
            if NUMBER.match(w[4]) or not w[4]:
                assert g[4] == w[4], (g, w)  # numbers and empty cells exactly
    labels = [(g[4], w[4]) for t, u in zip(got, want, strict=True) for g, w in zip(t, u, strict=True)
              if w[4] and not NUMBER.match(w[4])]
    same = sum(norm(g) == norm(w) for g, w in labels)
    assert same >= 0.8 * len(labels), [x for x in labels if norm(x[0]) != norm(x[1])]


def test_image_pages_tiff_frames_and_dpi(tmp_path):
    from PIL import Image

    path = tmp_path / "two.tif"
    first = Image.new("L", (850, 1100), 255)
    first.save(path, "TIFF", save_all=True, append_images=[Image.new("RGB", (850, 1100), "white")], dpi=(100, 100))
    pages = sources.image_file_pages(path)
    assert [(p.number, p.dpi, p.pixels.ndim) for p in pages] == [(1, 100.0, 2), (2, 100.0, 3)]
    jpeg = tmp_path / "nodpi.jpg"
    Image.new("RGB", (1654, 2339), "white").save(jpeg, "JPEG")  # A4 at 200 dpi, no dpi stated
    assert round(sources.image_file_pages(jpeg)[0].dpi) == 200
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ParseError, match="not a readable image"):
        sources.image_file_pages(broken)


# --- seal, skew, grid ---------------------------------------------------------------------------------------


def _digit_cell(text: str = "8", dpi: int = 200):
    """A grey-paper cell with a black digit and ruled sides, as BGR, and the digit's box."""
    from PIL import Image, ImageDraw, ImageFont

    cell = Image.new("RGB", (300, 160), (228, 226, 220))
    draw = ImageDraw.Draw(cell)
    draw.rectangle((4, 4, 295, 155), outline=(20, 20, 20), width=2)
    font = ImageFont.truetype(SEAL_FONT, 40)
    draw.text((40, 50), text, fill=(25, 25, 25), font=font)
    box = draw.textbbox((40, 50), text, font=font)
    return cell, box


@pytest.mark.skipif(not Path(SEAL_FONT).exists(), reason="the Noto CJK font is not installed")
def test_seal_removal_keeps_the_black_digit_under_it_and_drops_the_seal():
    from PIL import Image

    clean, box = _digit_cell()
    sealed = stamp(clean, draw_seal(200), (70, 80))  # the ring and star over the digit
    to_bgr = lambda im: cv2.cvtColor(np.asarray(im), cv2.COLOR_RGB2BGR)  # noqa: E731
    ink_clean = prepare.binarize(prepare.remove_seal(to_bgr(clean), 200), 200) > 0
    ink_sealed = prepare.binarize(prepare.remove_seal(to_bgr(sealed), 200), 200) > 0
    x0, y0, x1, y1 = box
    digit = np.zeros_like(ink_clean)
    digit[y0 - 3:y1 + 3, x0 - 3:x1 + 3] = True
    both = (ink_clean & ink_sealed & digit).sum()
    assert both / (ink_clean & digit).sum() > 0.85  # the digit's strokes are kept
    inner = np.zeros_like(ink_clean)
    inner[10:150, 10:290] = True
    stray = (ink_sealed & inner & ~digit).sum()
    assert stray < 0.01 * inner.sum()  # the seal is gone
    grey_sealed = cv2.cvtColor(to_bgr(sealed), cv2.COLOR_BGR2GRAY)
    assert (prepare.binarize(grey_sealed, 200) & inner.astype(np.uint8) * 255 & ~digit.astype(np.uint8) * 255).sum() > \
        20 * stray  # without seal removal the seal is ink
    engine = load_engine()
    page = prepare.Prepared(*(None,) * 4, prepare.remove_seal(to_bgr(sealed), 200), 200.0, 0.0)
    text = grid.Text((x0 - 6.0, y0 - 6.0, x1 + 6.0, y1 + 6.0))
    read.read_texts(engine, page, [text])
    assert text.text == "8" and text.confidence > 0.8
    assert isinstance(sealed, Image.Image)


def _ruled_table(angle: float = 0.0):
    """A 4x4 ruled grid (pixels at 200 dpi) with a merged cell down rows 1-2 of column 0 and across columns
    1-2 of row 0, tilted by angle degrees (positive: the rules run down to the right)."""
    img = np.full((900, 1300), 235, np.uint8)
    xs, ys = [100, 400, 700, 1000, 1200], [100, 250, 400, 550, 700]
    for i, y in enumerate(ys):
        for c in range(4):
            if i == 2 and c == 0:
                continue  # no rule under row 1 of column 0: rows 1-2 merged
            cv2.line(img, (xs[c], y), (xs[c + 1], y), 30, 2)
    for j, x in enumerate(xs):
        for r in range(4):
            if j == 2 and r == 0:
                continue  # no rule between columns 1 and 2 in row 0
            cv2.line(img, (x, ys[r]), (x, ys[r + 1]), 30, 2)
    if angle:
        img = prepare.rotate(img, -angle)
    return img


@pytest.mark.parametrize("angle", [0.0, 1.5, -2.0])
def test_grid_from_rules_has_merged_cells_as_spans_and_deskews(angle):
    page = prepare.prepare(_ruled_table(angle), 200.0)
    assert page.skew == pytest.approx(angle, abs=0.15)
    grids = grid.ink_to_grids(page)
    assert len(grids) == 1
    cells = sorted((c.row, c.col, c.rowspan, c.colspan) for c in grids[0].cells)
    assert (0, 1, 1, 2) in cells and (1, 0, 2, 1) in cells
    assert len(cells) == 16 - 1 - 1


# --- digits are read as digits, never silently -------------------------------------------------------------


def test_look_alike_letters_in_a_number_become_digits_with_the_digits_own_confidence():
    engine = load_engine()
    chars = engine.characters
    index = {ch: i for i, ch in enumerate(chars)}

    def probs(*steps):
        p = np.full((len(steps) * 2, len(chars)), 1e-4, np.float32)
        for t, step in enumerate(steps):
            for ch, value in step.items():
                p[2 * t, index[ch] if ch else 0] = value
            p[2 * t + 1, 0] = 0.99  # a blank between characters
        return p

    assert read.decode(engine, probs({"1": 0.99}, {"O": 0.6, "0": 0.3})) == ("10", pytest.approx(0.3))
    assert read.decode(engine, probs({"l": 0.7, "1": 0.25}, {"5": 0.95}))[0] == "15"
    assert read.decode(engine, probs({"O": 0.9, "0": 0.05}))[0] == "O"  # nothing else a digit: left as read
    assert read.decode(engine, probs({"符": 0.9}, {"合": 0.9}))[0] == "符合"
    assert read.combine([("0", 0.95), ("O", 0.7), ("0", 0.9)]) == ("0", pytest.approx(0.9))
    text, confidence = read.combine([("3", 0.9), ("8", 0.8), ("8", 0.85)])
    assert text == "8" and confidence < 0.8  # crops disagree: kept, but flagged


def _blur_digit(pixels, bbox_points, dpi, sigma=2.6):
    """Blur the digit inside a cell (its box in points, from a reading of the page) and keep it dark."""
    s = dpi / 72
    x0, y0, x1, y1 = (int(round(v * s)) for v in bbox_points)
    x0, y0, x1, y1 = x0 + 8, y0 + 8, x1 - 8, y1 - 8
    grey = cv2.cvtColor(pixels[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((grey < 100).astype(np.uint8))
    glyphs = [i for i in range(1, n) if stats[i][2] < 0.075 * dpi and stats[i][3] < 0.075 * dpi and stats[i][4] > 5]
    ys, xs = np.nonzero(np.isin(labels, glyphs))
    a, b, c, d = xs.min() + x0 - 6, ys.min() + y0 - 6, xs.max() + x0 + 7, ys.max() + y0 + 7
    blurred = cv2.GaussianBlur(pixels[b:d, a:c], (0, 0), sigma).astype(np.float32)
    low, high = blurred.min(), np.percentile(blurred, 95)
    pixels[b:d, a:c] = np.clip((blurred - low) / (high - low) * (high - 30) + 30, 0, 255).astype(np.uint8)


def test_a_blurred_digit_raises_low_confidence_value(scanned_form, rubrics):
    item = next(i for i in scanned_form.items if i.code == "1.1.1")
    assert item.self is not None and "confidence" in item.provenance
    pages = list(sources.pdf_pages(SCANNED_PDF))
    page = pages[item.provenance["page"] - 1]
    _blur_digit(page.pixels, item.provenance["bbox"], page.dpi)
    form = document_to_form(pipeline.pages_to_document(pages, kind="pdf-scan"), rubrics,
                            Form(source="blurred.pdf", sha256="0"))
    blurred = next(i for i in form.items if i.code == "1.1.1")
    assert blurred.provenance["confidence"] < 0.8
    assert ("1.1.1", "low_confidence_value") in {(d.item, d.kind) for d in form.discrepancies}
    assert form.status == "flagged"
    others = {i.code: i.self for i in form.items if i.code != "1.1.1"}
    assert others == {i.code: i.self for i in scanned_form.items if i.code != "1.1.1"}  # only that cell changed


# --- image-only files that are no forms ----------------------------------------------------------------------


def _image_only_pdf(path: Path, kind: str) -> Path:
    """An image-only PDF that is no form: a scanned table of figures with no 自评 column (as pdfplumber's
    issue-203-decimalize.pdf), or a picture with no text at all (as its image_structure.pdf)."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    im = Image.new("L", (1240, 1754), 255)
    d = ImageDraw.Draw(im)
    if kind == "table":
        font = ImageFont.load_default(size=36)
        rows = [["Month", "Checks", "Permits"], ["January", "1,204", "331"], ["February", "1,377", "402"],
                ["March", "1,519", "388"], ["Total", "4,100", "1,121"]]
        for r, row in enumerate(rows):
            for col, text in enumerate(row):
                x0, y0 = 120 + col * 340, 200 + r * 90
                d.rectangle((x0, y0, x0 + 340, y0 + 90), outline=0, width=3)
                d.text((x0 + 20, y0 + 25), text, fill=0, font=font)
    else:
        d.ellipse((300, 400, 900, 1000), outline=0, width=12)
        d.rectangle((200, 1200, 1000, 1400), fill=80)
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(im), 0, 0, *A4)
    c.showPage()
    c.save()
    return path


@pytest.mark.parametrize("kind", ["table", "picture"])
def test_image_pdfs_that_are_no_forms_are_refused(kind, rubrics, tmp_path):
    path = _image_only_pdf(tmp_path / f"{kind}.pdf", kind)
    form = path_to_form(path, rubrics)
    assert form.status == "failed"
    assert form.error.startswith(("no self-evaluation table", "no known rubric"))


# --- onnxruntime: no telemetry in the home folder, no bare log lines ---------------------------------------------

_OCR_READ = """
import sys
from pathlib import Path
from extractor.parsers import path_to_document
doc = path_to_document(Path(sys.argv[1]))
print(sum(1 for t in doc.tables for c in t.cells if c.text.strip()))
"""


def test_a_scan_read_leaves_the_home_folder_empty_and_stderr_clean(tmp_path):
    import os
    import subprocess
    import sys

    from PIL import Image

    scan = tmp_path / "scan.png"
    with Image.open(SCANS / "page4_grey.png") as im:
        im.crop((0, 0, im.width, im.height // 3)).save(scan)
    home, work, tmp = (tmp_path / n for n in ("home", "work", "tmp"))
    for d in (home, work, tmp):
        d.mkdir()
    # Nothing that would suppress onnxruntime's telemetry for us: only our own code may do it.
    drop = {"CI", "ORT_TELEMETRY_DISABLED", "ORT_RUNNING_UNIT_TESTS", "XDG_CACHE_HOME", "SELFEVAL_LOG"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), USERPROFILE=str(home), TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    done = subprocess.run([sys.executable, "-c", _OCR_READ, str(scan)], capture_output=True, text=True, env=env,
                          cwd=work, timeout=600)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 5  # the scan was read by OCR
    # Before: ~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid and onnxruntime.db on every run.
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == []
    assert sorted(p.name for p in work.iterdir()) == []
    assert done.stderr == ""
