"""Evidence pictures of a form read from several photos (extractor/pages_group.py, issue 13).

Pages 2 and 3 of filled_pdf.pdf (tests/fixtures/forms) are photographed (samples.photo: on a desk, keystoned,
rotated, lit from one side, JPEG; one self score of page 3 painted out, so that row is flagged) and attached to one e-mail as IMG_2.jpg (page 2) and IMG_1.jpg (page 3): the
names' order breaks the table, so the form is read as IMG_2.jpg+IMG_1.jpg and its page 2 is IMG_1.jpg. Ingested
and reported through the CLI: every flagged row gets its picture, and the row picture of an item on page 2 shows
what the source PDF's page 3 shows at the row's stored boxes (the photo found again, rectified as the OCR saw it);
the same photo taken as it was (not rectified) or the other photo would not.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")

from cli import main  # noqa: E402
from extractor import evidence_image  # noqa: E402
from extractor.evidence import form_to_evidence  # noqa: E402
from extractor.store import load_form, open_db  # noqa: E402

from .test_multi_photo import _norm  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FORM_PDF = FIXTURES / "forms" / "filled_pdf.pdf"  # Letter pages: 612 x 792 points
TRUTH = json.loads((FIXTURES / "scans" / "filled_scan_150.truth.json").read_text(encoding="utf-8"))
NUMBER = re.compile(r"^\d+(\.\d+)?$")
CARD = re.compile(r'<div class="card [^"]*" id="form-(\d+)-item-([^"]+)">(.*?)</div>', re.S)


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _blank_a_self_score(page: int, image: Image.Image, dpi: int) -> tuple[float, float]:
    """Paint out the self score of a row in the middle of a source page's rendering (its item then lacks a self
    score: a finding on a row of that page, whatever else the photos' reading finds); return the score's centre
    (x, y points from the page's top-left)."""
    import pdfplumber

    with pdfplumber.open(FORM_PDF) as pdf:
        p = pdf.pages[page - 1]
        words = p.extract_words()
        numbers = [w for w in words if NUMBER.match(w["text"]) and w["x0"] > p.width * 0.6]
        rows: dict[int, list[dict]] = {}
        for w in numbers:
            rows.setdefault(round(w["top"]), []).append(w)
        pairs = [sorted(r, key=lambda w: w["x0"]) for _top, r in sorted(rows.items()) if len(r) == 2]
        self_word = pairs[len(pairs) // 2][0]
    k = dpi / 72.0
    box = [(self_word["x0"] - 1) * k, (self_word["top"] - 1) * k, (self_word["x1"] + 1) * k,
           (self_word["bottom"] + 1) * k]
    ImageDraw.Draw(image).rectangle(box, fill=(255, 255, 255))
    return (self_word["x0"] + self_word["x1"]) / 2, (self_word["top"] + self_word["bottom"]) / 2


@pytest.fixture(scope="module")
def mailed(tmp_path_factory) -> tuple[Path, Path, tuple[float, float]]:
    """The e-mail of two photos ingested through the CLI: (its folder, the database, where on page 3 a self score
    was painted out)."""
    from samples.photo import photo_image, save_photo
    from samples.scan import rasterise, scan_page, score_spots

    folder = tmp_path_factory.mktemp("mailed")
    inbox = folder / "inbox"
    inbox.mkdir()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "school@example.cn", "office@example.cn", "自评表照片"
    msg.set_content("自评表见附件照片。")
    dpi, images, spots = 150, rasterise(FORM_PDF, 150), score_spots(FORM_PDF)
    blanked = _blank_a_self_score(3, images[2], dpi)
    for name, page, seed in (("IMG_2.jpg", 2, 7), ("IMG_1.jpg", 3, 8)):  # as samples.photo.make_photos makes them
        scanned = scan_page(images[page - 1], dpi, spots[page - 1], page, True, 0.0, True, seed, grain=3.0)
        photo, _corners = photo_image(scanned, seed * 1000 + page, keystone=0.04, rotation=2.0, shading=0.35)
        path = save_photo(photo, folder / f"page{page}.jpg", 75)
        msg.add_attachment(path.read_bytes(), maintype="image", subtype="jpeg", filename=name)
    (inbox / "mail.eml").write_bytes(bytes(msg))
    db = folder / "e.db"
    _run("ingest", str(inbox), "--db", str(db))
    return folder, db, blanked


def _strip(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("L")


def _pdf_of_pages(out: Path, pages: list[int]) -> Path:
    """The source PDF's 1-based pages as a PDF of their own, numbered from 1 as the photos' form numbers them."""
    import pypdfium2 as pdfium

    source, new = pdfium.PdfDocument(str(FORM_PDF)), pdfium.PdfDocument.new()
    try:
        new.import_pages(source, [p - 1 for p in pages])
        new.save(str(out))
    finally:
        new.close()
        source.close()
    return out


def _text_in(pdf: Path, page: int, box: tuple[float, float, float, float]) -> str:
    """The text the PDF prints inside a box (points from the page's top-left) of a 1-based page."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        p = doc[page - 1]
        height = p.get_height()
        text = p.get_textpage().get_text_bounded(box[0], height - box[3], box[2], height - box[1])
    finally:
        doc.close()
    return re.sub(r"\s+", "", text)


def test_every_flagged_row_of_a_form_read_from_several_photos_is_pictured(mailed):
    folder, db, blanked = mailed
    form = load_form(open_db(db, readonly=True), 1)
    assert form.source.endswith("mail.eml!IMG_2.jpg+IMG_1.jpg")  # read in the table's order, not the names'
    report = folder / "r.html"
    _run("report", "--db", str(db), "-o", str(report))
    with_rows = {i.code: i for i in form.items if i.present and (i.self_cell or i.inspector_cell)}
    found = {code: body for _fid, code, body in CARD.findall(report.read_text(encoding="utf-8"))}
    pictured = [code for code in found if code in with_rows]
    # The stored boxes are points of the rectified photo, which is the source page: the painted-out score's row.
    on_page_2 = [c for c in pictured if (cell := with_rows[c].inspector_cell) and cell["page"] == 2
                 and cell["bbox"][1] < blanked[1] < cell["bbox"][3]]
    assert len(on_page_2) == 1 and with_rows[on_page_2[0]].self is None, (blanked, sorted(found))
    for code in pictured:
        assert '<img src="data:image/png;base64,' in found[code], code
        assert "暂无行截图" not in found[code] and "压缩包" not in found[code], code
    assert "第2页" in found[on_page_2[0]]


def test_the_row_picture_of_a_page_2_item_is_cropped_from_its_own_photo_rectified(mailed, tmp_path):
    _folder, db, blanked = mailed
    form = load_form(open_db(db, readonly=True), 1)
    truth = {_norm(label): want for label, want in TRUTH["items"].items()}
    item = next(
        i for i in form.items
        if i.present and i.self_cell and i.self_cell["page"] == 2 and NUMBER.match(i.self_cell["text"] or "")
        and not i.self_cell["bbox"][1] < blanked[1] < i.self_cell["bbox"][3]  # the PDF prints that one's score
    )
    ev = form_to_evidence(1, form, items=[item.code])[item.code]
    assert (ev.page, ev.note) == (2, None) and ev.image
    # Page 2 of the form is IMG_1.jpg, the photo of the source's page 3: there its self cell's box holds the
    # item's self score, and its row's band the item's label.
    source = _pdf_of_pages(tmp_path / "pages23.pdf", [2, 3])
    assert _text_in(source, 2, tuple(item.self_cell["bbox"])) == str(truth[_norm(item.label)]["self"])
    assert _norm(item.label)[:6] in _norm(_text_in(source, 2, ev.box))
    printed = copy.deepcopy(form)
    printed.kind, printed.path, printed.source, printed.sha256 = "pdf", str(source), str(source), None
    want = _strip(form_to_evidence(1, printed, items=[item.code])[item.code].image)
    got = _strip(ev.image)
    # The same band of the page: the photo's strip at the rectified page's dpi, the PDF's at the evidence's.
    assert abs(got.height * want.width / got.width - want.height) <= 3, (got.size, want.size)
    with pytest.MonkeyPatch.context() as patch:  # the photo cropped as it was taken lands elsewhere
        patch.setattr(evidence_image, "rectified", lambda image, dpi: (image, dpi))
        raw = _strip(form_to_evidence(1, form, items=[item.code])[item.code].image)
    other = copy.deepcopy(form)  # the pages taken in the names' order: page 2 would be the other photo
    other.source = form.source.replace("IMG_2.jpg+IMG_1.jpg", "IMG_1.jpg+IMG_2.jpg")
    swapped = _strip(form_to_evidence(1, other, items=[item.code])[item.code].image)
    # Correlation, not a plain difference: the photo's light falls off to one side, the PDF's paper is white.
    # Measured: 0.86 for the strip, 0.25 as taken, 0.28 from the other photo.
    scores = [_correlation(strip.resize(want.size), want) for strip in (got, raw, swapped)]
    assert scores[0] > 0.7 and max(scores[1:]) < 0.5, scores


def _correlation(a: Image.Image, b: Image.Image) -> float:
    """The normalised cross-correlation of two greyscale images of one size (1: the same picture)."""
    import numpy as np

    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    x, y = x - x.mean(), y - y.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


def test_a_form_whose_photos_changed_is_not_pictured(mailed, tmp_path):
    _folder, db, _blanked = mailed
    form = load_form(open_db(db, readonly=True), 1)
    code = next(i.code for i in form.items if i.present and i.self_cell)
    changed = copy.deepcopy(form)
    changed.sha256 = "0" * 64
    ev = form_to_evidence(1, changed, items=[code])[code]
    assert ev.image is None
    assert ev.note == "原文件已更改 (the photos have changed since they were read: IMG_2.jpg+IMG_1.jpg)"
    gone = copy.deepcopy(form)
    gone.source = form.source.replace("IMG_1.jpg", "IMG_3.jpg")
    ev = form_to_evidence(1, gone, items=[code])[code]
    assert ev.image is None
    assert ev.note == "压缩包中已无此文件 (the archive no longer holds IMG_2.jpg+IMG_3.jpg)"
