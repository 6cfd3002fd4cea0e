"""Evidence for findings (extractor/evidence.py): the row of every flagged item as the form printed it.

PDFs are drawn here with reportlab on a grid this file states (column edges X, row heights), so the test knows
where every cell is without asking the reader; scans are made from them with samples.scan; Word forms with
python-docx (tests/forms.py). Everything goes through the real CLI into a real database file.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

import rubric
from cli import main
from extractor.evidence import form_to_evidence
from extractor.evidence_image import EVIDENCE_DPI, INSPECTOR_COLOUR, MARGIN_PT, SELF_COLOUR
from extractor.store import load_form, open_db

from .forms import qinghai_form

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
X = [40.0, 340.0, 390.0, 460.0, 530.0]  # label | 分值 | 自评得分 | 督查得分, page points from the left
TOP, HEAD_H, ROW_H, PER_PAGE = 100.0, 18.0, 14.0, 40  # the table's top, header and item row heights (points)
PLANTED = {"3.1.2": "3", "2.5.1": "良好", "9.1.1": ""}  # over_cap, non_numeric, missing_score: all on the self side
SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
CARD = re.compile(r'<div class="card [^"]*" id="form-(\d+)-item-([^"]+)">(.*?)</div>', re.S)


def fmt(d: Decimal) -> str:
    return str(d.normalize()) if d != d.to_integral_value() else str(int(d))


def draw_pdf(path: Path, cells: dict[str, str] = PLANTED, institution: str = "海东市乐都区职业技能培训学校"
             ) -> dict[str, tuple[int, float, float]]:
    """Write a Qinghai form as a ruled PDF (40 items a page, the header repeated); return per item code its page
    and its row's top and bottom in points from the page's top."""
    items = rubric.load_all()["qinghai-2024"].items
    width, height = A4
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    rows_at: dict[str, tuple[int, float, float]] = {}
    for page, start in enumerate(range(0, len(items), PER_PAGE), start=1):
        c.setFont(FONT, 10)
        if page == 1:
            c.drawString(40, height - 50, f"评价机构名称：{institution}")
            c.drawString(40, height - 70, "填 报 日 期：2024年5月20日")
        chunk = items[start:start + PER_PAGE]
        rows = [("督导检查内容", "分值", "自评得分", "督查得分")]
        rows += [(it.label, fmt(it.max), cells.get(it.code, fmt(it.max)), fmt(it.max)) for it in chunk]
        y = TOP
        c.setLineWidth(0.5)
        c.setFont(FONT, 7)
        for r, row in enumerate(rows):
            h = HEAD_H if r == 0 else ROW_H
            for k, text in enumerate(row):
                c.rect(X[k], height - (y + h), X[k + 1] - X[k], h)
                c.drawString(X[k] + 2, height - (y + h - 4), text)
            if r:
                rows_at[chunk[r - 1].code] = (page, y, y + h)
            y += h
        c.showPage()
    c.save()
    return rows_at


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


def flagged_items(db: Path) -> dict[str, set[str]]:
    """Per source, the items with open errors or warnings, as the JSON export names them."""
    return {r["source"]: {d["item"] for d in r["discrepancies"]
                          if d["item"] and d["severity"] in ("error", "warning") and not d.get("accepted")}
            for r in json.loads(run("export", "--db", str(db)))}


def cards(html: str) -> dict[tuple[int, str], str]:
    return {(int(fid), code): body for fid, code, body in CARD.findall(html)}


def png_of(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data))


def colour_box(image: Image.Image, colour: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    a = np.asarray(image.convert("RGB"))
    ys, xs = np.nonzero((a == colour).all(axis=2))
    return (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())) if len(xs) else None


@pytest.fixture(scope="module")
def pdf_db(tmp_path_factory) -> tuple[Path, Path, dict]:
    folder = tmp_path_factory.mktemp("pdf")
    inbox = folder / "inbox"
    inbox.mkdir()
    rows_at = draw_pdf(inbox / "form.pdf")
    db = folder / "e.db"
    run("ingest", str(inbox), "--db", str(db))
    return db, inbox / "form.pdf", rows_at


def test_every_flagged_pdf_item_has_a_png_of_its_row_with_both_score_cells_outlined(pdf_db):
    db, _pdf, rows_at = pdf_db
    assert flagged_items(db) == {str(_pdf): set(PLANTED)}
    html = run("report", "--db", str(db), "-o", str(db.parent / "r.html")) or (db.parent / "r.html").read_text("utf-8")
    found = cards(html)
    assert sorted(code for _, code in found) == sorted(PLANTED)
    s = EVIDENCE_DPI / 72
    for (_, code), body in found.items():
        uri = re.search(r'<img src="(data:image/png;base64,[^"]+)" width="(\d+)" height="(\d+)"', body)
        assert uri, code
        image = png_of(uri[1])
        page, top, bottom = rows_at[code]
        # The crop: the row's band (the table's width) with MARGIN_PT around it, at EVIDENCE_DPI.
        x0, y0, x1, y1 = X[0] - MARGIN_PT, top - MARGIN_PT, X[-1] + MARGIN_PT, bottom + MARGIN_PT
        assert image.size == (round(x1 * s) - round(x0 * s), round(y1 * s) - round(y0 * s)) == (
            int(uri[2]), int(uri[3]))
        for colour, (a, b) in ((SELF_COLOUR, (X[2], X[3])), (INSPECTOR_COLOUR, (X[3], X[4]))):
            want = ((a - x0) * s, (top - y0) * s, (b - x0) * s, (bottom - y0) * s)
            got = colour_box(image, colour)
            assert got is not None, (code, colour)
            assert all(abs(g - w) <= 1.5 for g, w in zip(got, want, strict=True)), (code, got, want)
            centre = np.asarray(image.convert("RGB"))[round((want[1] + want[3]) / 2), round((want[0] + want[2]) / 2)]
            assert tuple(centre) != colour  # an outline, not a filled box: the digit stays readable
        assert f"第{page}页 表1 第" in body


def test_only_the_items_asked_for_get_evidence(pdf_db):
    db, _pdf, _ = pdf_db
    form = load_form(open_db(db, readonly=True), 1)
    ev = form_to_evidence(1, form, items=["1.1.1", "3.1.2"])
    assert set(ev) == {"1.1.1", "3.1.2"}
    assert ev["1.1.1"].image and ev["1.1.1"].page == 1 and ev["1.1.1"].where == "第1页 表1 第2行"
    assert form_to_evidence(1, form, items=["no.such"])["no.such"].note.startswith("无此项目")


def test_a_moved_original_gives_a_note_and_the_report_still_comes(pdf_db, tmp_path):
    db, pdf, _ = pdf_db
    moved = tmp_path / "moved.pdf"
    shutil.copy(pdf, moved)
    pdf.unlink()
    try:
        html = run("report", "--db", str(db), "--format", "html")
    finally:
        shutil.copy(moved, pdf)
    found = cards(html)
    assert sorted(code for _, code in found) == sorted(PLANTED)
    for body in found.values():
        assert "data:image/png" not in body
        assert f"原文件不在原处 (the original file is no longer at {pdf})" in body


def test_a_changed_original_is_not_pictured(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pdf = inbox / "form.pdf"
    draw_pdf(pdf)
    db = tmp_path / "c.db"
    run("ingest", str(inbox), "--db", str(db))
    draw_pdf(pdf, {**PLANTED, "1.1.1": "4"})  # another form at the same path
    ev = form_to_evidence(1, load_form(open_db(db, readonly=True), 1))
    assert sorted(ev) == sorted(PLANTED)
    assert all(e.image is None and e.note.startswith("原文件已更改") for e in ev.values())


def test_a_file_whose_name_holds_an_exclamation_mark_is_pictured(tmp_path):
    # "!" separates an archive's members in a source; in a plain file's name it is only a character.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    draw_pdf(inbox / "急!自评表.pdf")
    db = tmp_path / "x.db"
    run("ingest", str(inbox), "--db", str(db))
    ev = form_to_evidence(1, load_form(open_db(db, readonly=True), 1))
    assert sorted(ev) == sorted(PLANTED)
    assert all(e.image is not None and e.note is None for e in ev.values()), [e.note for e in ev.values()]


def zipped_form(tmp_path: Path):
    """Ingest a drawn PDF form zipped as mail.zip!自评表.pdf; return its stored Form."""
    pdf = tmp_path / "form.pdf"
    draw_pdf(pdf)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "mail.zip", "w") as z:
        z.write(pdf, "自评表.pdf")
    db = tmp_path / "z.db"
    run("ingest", str(inbox), "--db", str(db))
    return load_form(open_db(db, readonly=True), 1)


def test_an_archive_member_is_unpacked_again_for_its_picture(tmp_path):
    form = zipped_form(tmp_path)
    assert form.source.endswith("mail.zip!自评表.pdf")
    ev = form_to_evidence(1, form)
    assert sorted(ev) == sorted(PLANTED)
    assert all(e.image and e.note is None for e in ev.values())



def test_a_form_read_from_photos_its_archive_no_longer_holds_says_so(tmp_path):
    # Regression: a form read from photos of one mail (source mail.zip!A.jpg+B.jpg, pages_group) named no single
    # member, so its card said nothing useful; its photos are looked for one by one (tests/test_multi_photo_evidence.py
    # pictures such a form).
    form = zipped_form(tmp_path)
    form.source = form.source.replace("自评表.pdf", "IMG_1.jpg+IMG_2.jpg")
    ev = form_to_evidence(1, form)
    assert sorted(ev) == sorted(PLANTED)
    assert {e.note for e in ev.values()} == {"压缩包中已无此文件 (the archive no longer holds IMG_1.jpg+IMG_2.jpg)"}
    assert all(e.image is None for e in ev.values())


# --- Word forms: the row rendered from the stored cells ---------------------------------------------------------

WORD_COLS = ["cat", "sec", "label", "max", "rules", "self", "insp"]
WORD_HEADER = [["督导检查内容", "", "", "分值", "督查方法和标准", "自评结果", "督查结果"],
               ["大项", "中项", "小项", "", "", "", ""]]
WORD_MERGES = [((0, 0), (0, 2)), ((0, 3), (1, 3)), ((0, 4), (1, 4)), ((0, 5), (1, 5)), ((0, 6), (1, 6))]


def word_cell(n: int, item: rubric.Item, key: str) -> str:
    from .forms import default_cell

    if item.code == "3.1.2" and key == "self":
        return "3"  # over its max of 1
    if item.code == "2.5.1" and key == "insp":
        return "<b>良好</b>"  # no number; markup that must stay text
    return default_cell(n, item, key)


@pytest.fixture(scope="module")
def word_db(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("word")
    inbox = folder / "inbox"
    inbox.mkdir()
    docx = qinghai_form(inbox / "form.docx", WORD_COLS, WORD_HEADER, cell=word_cell, merges=WORD_MERGES)
    db = folder / "w.db"
    run("ingest", str(inbox), "--db", str(db))
    return db, docx


def test_a_word_row_is_rendered_with_every_column_its_spans_and_outlined_score_cells(word_db):
    db, docx = word_db
    assert flagged_items(db) == {str(docx): {"3.1.2", "2.5.1"}}
    found = cards(run("report", "--db", str(db), "--format", "html"))
    assert sorted(code for _, code in found) == ["2.5.1", "3.1.2"]
    body = found[(1, "3.1.2")]
    assert "data:image/png" not in body  # no --page-images
    table = re.search(r'<table class="ev-row">.*?</table>', body, re.S)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert len(rows) == 3  # the two header rows, then the item's row
    assert '<th data-col="1" colspan="3">督导检查内容</th>' in rows[0]
    assert '<th data-col="4" rowspan="2" data-rowspan="2" title="跨 2 行 (spans 2 rows)">分值</th>' in rows[0]
    assert [re.sub(r"<.*?>", "", c) for c in re.findall(r"<th[^>]*>.*?</th>", rows[1])] == ["大项", "中项", "小项"]
    label = rubric.load_all()["qinghai-2024"].items[7].label
    texts = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>.*?</td>", rows[2])]
    assert texts == ["规章制度情况", "工作场所相关制度/办法的情况", label, "1", "查阅资料", "3", "1"]
    assert re.search(r'<td data-col="6"[^>]*class="ev-self">3</td>', rows[2])
    assert re.search(r'<td data-col="7"[^>]*class="ev-inspector">1</td>', rows[2])
    other = found[(1, "2.5.1")]
    assert "&lt;b&gt;良好&lt;/b&gt;" in other and "<b>良好" not in other


@needs_soffice
def test_page_images_of_a_word_form_come_from_libreoffice(word_db):
    db, _docx = word_db
    found = cards(run("report", "--db", str(db), "--format", "html", "--page-images"))
    assert sorted(code for _, code in found) == ["2.5.1", "3.1.2"]
    for (_, code), body in found.items():
        uri = re.search(r'<img src="(data:image/png;base64,[^"]+)"', body)
        assert uri, (code, body[-400:])
        image = png_of(uri[1])
        assert image.size[0] <= 1200 and image.size[1] < 400  # a strip of the row, not the page (1430 px)
        assert colour_box(image, SELF_COLOUR) and colour_box(image, INSPECTOR_COLOUR)


def test_a_word_page_image_is_as_tall_as_the_row_not_its_merged_category_cell(tmp_path):
    # filled_errors.docx: 3.1.2's category cell (规章制度情况) is merged over 18 rows; the strip was once that tall.
    shutil.copy(Path(__file__).parent / "fixtures" / "forms" / "filled_errors.docx", tmp_path / "f.docx")
    run("ingest", str(tmp_path / "f.docx"), "--db", str(tmp_path / "f.db"))
    found = cards(run("report", "--db", str(tmp_path / "f.db"), "--format", "html", "--page-images"))
    body = next(body for (_, code), body in found.items() if code == "3.1.2")
    image = png_of(re.search(r'<img src="(data:image/png;base64,[^"]+)"', body)[1])
    assert image.size[1] < 150, image.size  # five lines of the label at 130 dpi; the merged cell is over 1000 px
    assert colour_box(image, SELF_COLOUR) and colour_box(image, INSPECTOR_COLOUR)


# --- the held-out style check: an inbox of a flagged .docx, PDF and scan ----------------------------------------


def scan_pdf(pdf: Path, out: Path, dpi: int) -> Path:
    """Scan a PDF as samples.scan does (a red seal over a score, tilted 1°, paper noise), its pages rasterised by
    pdfium: poppler draws no glyphs for reportlab's non-embedded STSong-Light, pdfium does."""
    import pypdfium2 as pdfium

    from samples.scan import scan_page, score_spots

    doc = pdfium.PdfDocument(str(pdf))
    images = [doc[n].render(scale=dpi / 72).to_pil().convert("RGB") for n in range(len(doc))]
    doc.close()
    spots = score_spots(pdf)
    pages = [scan_page(im, dpi, spots[n], n + 1, True, 1.0, True, 4, 6.0) for n, im in enumerate(images)]
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi), quality=70)
    return out


def test_the_report_of_an_inbox_pictures_every_flagged_item_of_pdfs_and_scans_and_renders_word_rows(tmp_path):
    pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    qinghai_form(inbox / "word.docx", WORD_COLS, WORD_HEADER, cell=word_cell, merges=WORD_MERGES,
                 cover=["评价机构名称：德令哈市祁连职业技术学院", "填 报 日 期：2024年6月2日"])
    draw_pdf(inbox / "typed.pdf")
    made = tmp_path / "made.pdf"
    draw_pdf(made, {"3.1.2": "3", "1.1.1": "9"}, institution="海南州日月山餐饮管理有限公司")
    scan_pdf(made, inbox / "scan.pdf", 150)
    db = tmp_path / "inbox.db"
    # the time limits are the supervisor's business, tested elsewhere: here a busy machine must not fail the scan
    run("ingest", str(inbox), "--db", str(db), "--timeout", "1800", "--page-timeout", "600")
    records = {Path(r["source"]).name: r for r in json.loads(run("export", "--db", str(db)))}
    assert {name: r["format"] for name, r in records.items()} == {"word.docx": "docx", "typed.pdf": "pdf",
                                                                  "scan.pdf": "pdf-scan"}
    ids = {name: r["id"] for name, r in records.items()}
    flagged = {Path(source).name: items for source, items in flagged_items(db).items()}
    assert flagged["word.docx"] == {"3.1.2", "2.5.1"} and flagged["typed.pdf"] == set(PLANTED)
    assert {"3.1.2", "1.1.1"} <= flagged["scan.pdf"]  # the planted errors; OCR doubts may add more
    found = cards(run("report", "--db", str(db), "--format", "html"))
    assert set(found) == {(ids[name], code) for name, items in flagged.items() for code in items}
    for name, items in flagged.items():
        for code in items:
            body = found[(ids[name], code)]
            if name == "word.docx":
                assert '<table class="ev-row">' in body, code
                continue
            uri = re.search(r'<img src="(data:image/png;base64,[^"]+)"', body)
            assert uri, (name, code, body[-300:])
            assert colour_box(png_of(uri[1]), SELF_COLOUR), (name, code)
