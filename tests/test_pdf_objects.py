"""The PDF parser's pdfium reading (parsers/pdf_objects.py) against pdfplumber's own objects.

pdfplumber (pdfminer interpreting the content streams in Python) is the independent reference: for PDFs made
by reportlab and by LibreOffice, every page pdfium reads must give pdfplumber's chars (same text and font
name; boxes within TOLERANCE points: pdfium keeps single-precision coordinates) but for the spaces of a run
pdfium folds, or lone spaces between two CJK chars (pdf_spaces: the parser reads either the same), and
pdfplumber's edges (the rulings' input). What pdfium does not read exactly - a rotated page, a form XObject, an
encrypted file, a text object pdfium's text page leaves out where it would be read (a lone space after a digit)
- must be refused (Unsupported). Either way the parser must read the document exactly as the pdfplumber path
does.
"""

from __future__ import annotations

import dataclasses
import random
import shutil

import pdfplumber
import pytest

from extractor.parsers.base import ParseError
from extractor.parsers.pdf import PdfParser, pdf_to_document
from extractor.parsers.pdf_objects import PdfiumObjects, Unsupported, subpaths_to_objects
from samples.generate import build_form, form_spec, save_docx
from samples.variant import Variant

pytest.importorskip("reportlab")
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from samples.pdf import convert_docx  # noqa: E402
from samples.pdf_reportlab import render_pdf  # noqa: E402

from .pdf_bytes import one_page_pdf  # noqa: E402

TOLERANCE = 1e-3  # points: pdfium's coordinates are single-precision, pdfminer's double
CHAR_KEYS = ("x0", "x1", "top", "bottom", "y0", "y1", "doctop", "size", "width", "height")


def rounded(value):
    """Given a Document (or part of one), return it as plain data with floats to 1e-2 pt, to compare two reads."""
    if dataclasses.is_dataclass(value):
        return rounded(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return round(value, 2) if isinstance(value, float) else value


def plumber_document(path):
    """The pdfplumber path's Document (pdfminer reads every page)."""
    with pdfplumber.open(path) as pdf:
        return pdf_to_document(pdf)


def edges_of(page) -> list[tuple]:
    """A page's horizontal and vertical edges (what page_to_rulings reads), sorted, to 1e-3 pt."""
    return sorted(
        (e["orientation"], *(round(e[k], 3) for k in ("x0", "top", "x1", "bottom")))
        for e in page.edges
        if e["orientation"] in ("h", "v")
    )


def kept_chars(mine: list[dict], theirs: list[dict]) -> list[dict]:
    """Given pdfium's chars of a page and pdfplumber's, return pdfplumber's without the spaces pdfium's text page
    left out (asserting that every char it left out is a space, and that a char the two share comes in order)."""
    kept, k = [], 0
    for ch in theirs:
        if k < len(mine) and mine[k]["text"] == ch["text"] and abs(mine[k]["x0"] - ch["x0"]) <= TOLERANCE:
            kept.append(ch)
            k += 1
        else:
            assert ch["text"] == " ", ("left out", ch["text"], ch["x0"], ch["top"])
    assert k == len(mine)
    return kept


def assert_same_objects(path) -> int:
    """Assert every page pdfium reads gives pdfplumber's chars and edges; return how many pages it read."""
    read = 0
    with pdfplumber.open(path) as pdf:
        with PdfiumObjects(path, pdf) as fast:
            for index, page in enumerate(pdf.pages):
                try:
                    objects = fast.page_objects(index, page)
                except Unsupported:
                    continue
                read += 1
                mine, theirs = objects.get("char", []), kept_chars(objects.get("char", []), page.chars)
                assert [(c["text"], c["fontname"], c["upright"]) for c in mine] == [
                    (c["text"], c["fontname"], c["upright"]) for c in theirs
                ]
                for a, b in zip(mine, theirs, strict=True):
                    assert all(abs(a[k] - b[k]) <= TOLERANCE for k in CHAR_KEYS), (a, b)
                for kind in ("line", "rect", "curve", "image"):
                    assert len(objects.get(kind, [])) == len(page.objects.get(kind, [])), kind
                copy = page.filter(lambda obj: True)
                copy._objects = objects
                assert edges_of(copy) == edges_of(page)
    return read


@pytest.fixture(scope="module")
def reportlab_pdf(tmp_path_factory):
    path = tmp_path_factory.mktemp("rl") / "national.pdf"
    render_pdf(form_spec("national", Variant(), random.Random(0)), path)
    return path


def test_reportlab_chars_and_edges_equal_pdfplumbers(reportlab_pdf):
    with pdfplumber.open(reportlab_pdf) as pdf:
        n_pages = len(pdf.pages)
    assert assert_same_objects(reportlab_pdf) == n_pages  # this form is read by pdfium throughout


def test_reportlab_form_reads_as_the_pdfplumber_path(reportlab_pdf):
    assert rounded(PdfParser().path_to_document(reportlab_pdf)) == rounded(plumber_document(reportlab_pdf))


def test_reportlab_qh_form_with_lone_spaces_is_refused_and_reads_right(tmp_path):
    # reportlab draws a lone space as a text object of its own; pdfium's text page skips it (zero width).
    path = tmp_path / "qh.pdf"
    render_pdf(form_spec("qh", Variant(), random.Random(0)), path)
    with pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        with pytest.raises(Unsupported):
            for index, page in enumerate(pdf.pages):
                fast.page_objects(index, page)
    assert rounded(PdfParser().path_to_document(path)) == rounded(plumber_document(path))


def test_a_page_pdfium_refuses_is_read_alone_the_pdfplumber_way(tmp_path):
    # Regression: one refused page sent the whole document to pdfminer (7 of the 30 throughput PDFs, 37 pages
    # for 7 refused). Now only that page is: the document reads as the pdfplumber path's all the same.
    path = tmp_path / "qh.pdf"
    render_pdf(form_spec("qh", Variant(), random.Random(0)), path)
    read, refused = [], []
    with pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        for index, page in enumerate(pdf.pages):
            try:
                fast.page_objects(index, page)
                read.append(index)
            except Unsupported:
                refused.append(index)
    assert read and refused  # a mix: pages of both kinds
    with pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        given: list[int] = []

        def objects(index, page):
            result = fast.page_objects(index, page)
            given.append(index)  # reached only when pdfium read the page
            return result

        mixed = pdf_to_document(pdf, objects=objects)
    assert given == read
    assert rounded(mixed) == rounded(plumber_document(path))
    assert rounded(PdfParser().path_to_document(path)) == rounded(mixed)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_export_edges_equal_and_reads_as_the_pdfplumber_path(tmp_path):
    spec = form_spec("qh", Variant(split=True), random.Random(13))
    docx_path = tmp_path / "lo.docx"
    save_docx(build_form(spec), docx_path)
    (path,) = convert_docx([docx_path], tmp_path / "out")
    with pdfplumber.open(path) as pdf:
        n_pages = len(pdf.pages)
    assert assert_same_objects(path) == n_pages  # LibreOffice's runs of spaces (folded by pdfium) are read
    with pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        for index, page in enumerate(pdf.pages):
            shapes, _ = fast.shapes_of(index, page)
            copy = page.filter(lambda obj: True)
            copy._objects = shapes
            assert edges_of(copy) == edges_of(page)  # the rulings' input, whatever pdfium makes of the text
    assert rounded(PdfParser().path_to_document(path)) == rounded(plumber_document(path))


def draw_grid(c, text: str) -> None:
    """Draw a 2 x 2 ruled table with text in its cells."""
    c.setFont("STSong-Light", 11)
    for x in (100, 250, 400):
        c.line(x, 700, x, 640)
    for y in (700, 670, 640):
        c.line(100, y, 400, y)
    c.drawString(110, 680, text)
    c.drawString(260, 680, "95")
    c.drawString(110, 650, "合计")
    c.drawString(260, 650, "100")


@pytest.fixture
def cjk_font():
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def odd_pdf(path, kind: str) -> None:
    """Write a one-page PDF that pdfium does not read exactly: rotated, a form XObject, or a lone space."""
    c = canvas.Canvas(str(path), pagesize=A4, encrypt="secret" if kind == "encrypted" else None)
    if kind == "rotated":
        c.setPageRotation(90)
    if kind == "form":
        c.beginForm("grid")
        draw_grid(c, "项目名称")
        c.endForm()
        c.doForm("grid")
    else:
        draw_grid(c, "项目名称")
    if kind == "space":
        c.drawString(300, 650, " ")
    c.showPage()
    c.save()


@pytest.mark.parametrize("kind", ["rotated", "form", "space"])
def test_odd_pdf_is_refused_and_reads_as_the_pdfplumber_path(tmp_path, cjk_font, kind):
    path = tmp_path / f"{kind}.pdf"
    odd_pdf(path, kind)
    with pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        with pytest.raises(Unsupported):
            fast.page_objects(0, pdf.pages[0])
    document = PdfParser().path_to_document(path)
    assert rounded(document) == rounded(plumber_document(path))
    cells = [cell.text for table in document.tables for cell in table.cells]
    assert cells == ["项目名称", "95", "合计", "100"]


def test_encrypted_pdf_is_refused_by_pdfium_and_told_encrypted(tmp_path, cjk_font):
    path = tmp_path / "encrypted.pdf"
    odd_pdf(path, "encrypted")
    with pytest.raises(ParseError, match="encrypted"):
        PdfParser().path_to_document(path)


def test_plain_pdf_made_here_is_read_by_pdfium(tmp_path, cjk_font):
    path = tmp_path / "plain.pdf"
    odd_pdf(path, "plain")
    assert assert_same_objects(path) == 1
    document = PdfParser().path_to_document(path)
    assert [cell.text for table in document.tables for cell in table.cells] == ["项目名称", "95", "合计", "100"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ([("m", 0, 0), ("l", 10, 0)], "line"),
        ([("m", 0, 0), ("l", 10, 0), ("h",)], "line"),
        ([("m", 0, 0), ("l", 10, 0), ("l", 10, 5), ("l", 0, 5), ("h",)], "rect"),
        ([("m", 0, 0), ("l", 10, 0), ("l", 10, 5), ("l", 0, 5), ("l", 0, 0), ("h",)], "rect"),  # redundant "l"
        ([("m", 0, 0), ("l", 10, 0), ("l", 10, 5), ("l", 0, 5), ("l", 0, 0)], "rect"),
        ([("m", 0, 0), ("l", 10, 0), ("l", 10, 5), ("l", 1, 5), ("h",)], "curve"),  # not square
        ([("m", 0, 0), ("c", 10, 5)], "curve"),
        ([("m", 0, 0), ("l", 10, 0), ("l", 0, 0)], "curve"),
    ],
)
def test_subpaths_classified_as_pdfminer_does(path, kind):
    (shape,) = subpaths_to_objects([path], 1.0, True, False)
    assert shape["kind"] == kind


def test_lone_move_is_no_object():
    assert subpaths_to_objects([[("m", 0, 0)], [("m", 1, 1), ("l", 2, 1)]], 1.0, True, False)[0]["kind"] == "line"


def hand_written_pdf(path, base_font: bytes) -> None:
    """Write a one-page PDF drawing "Seal 1" in a Type1 font whose /BaseFont is base_font (raw name bytes)."""
    content = b"BT /F1 12 Tf 72 720 Td (Seal 1) Tj ET"
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /" + base_font + b" >>"
    path.write_bytes(one_page_pdf(b"<< /Font << /F1 5 0 R >> >>", content, [font], size=(612, 792)))


def test_a_font_name_that_is_no_utf8_is_read_not_a_crash(tmp_path):
    # Regression: pdfminer keeps such a /BaseFont as bytes, and the fast path's font matching raised TypeError
    # ("could not read the file") on two of pdfplumber's own test PDFs (issue-336, issue-842).
    path = tmp_path / "latin1-font.pdf"
    hand_written_pdf(path, b"Helv#E9tica")
    with pdfplumber.open(path) as pdf:
        assert [c["text"] for c in pdf.pages[0].chars] == list("Seal 1")
    document = PdfParser().path_to_document(path)
    assert (document.pages, document.tables) == (1, [])
    assert document.lines == ["Seal 1"]


def spaced_pdf(path, left: str, right: str, between: str = " ") -> None:
    """Write a one-page ruled table whose first cell holds left, then `between` drawn as a text object of its own
    (reportlab draws each string so), then right."""
    c = canvas.Canvas(str(path), pagesize=A4)
    draw_grid(c, "")
    x = 110 + c.stringWidth(left, "STSong-Light", 11)
    c.drawString(110, 680, left)
    c.drawString(x, 680, between)
    c.drawString(x + c.stringWidth(between, "STSong-Light", 11), 680, right)
    c.showPage()
    c.save()


def read_by_pdfium(path) -> bool:
    with pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        try:
            fast.page_objects(0, pdf.pages[0])
        except Unsupported:
            return False
    return True


@pytest.mark.parametrize(
    ("left", "between", "right", "pdfium", "text"),
    [
        ("管理", " ", "岗位", True, "管理岗位"),  # a lone space between CJK chars: the parser drops it anyway
        ("2024年", " ", "3月", False, "2024年 3月"),  # beside a digit it is read: pdfium would lose it
        ("1", " ", "1", False, "1 1"),  # never eleven
        ("1", "   ", "1", True, "1 1"),  # a run of spaces pdfium folds to its first: one word break still
    ],
)
def test_spaces_pdfium_leaves_out_are_read_only_where_the_parser_reads_them_alike(
    tmp_path, cjk_font, left, between, right, pdfium, text
):
    path = tmp_path / "spaced.pdf"
    spaced_pdf(path, left, right, between)
    assert read_by_pdfium(path) is pdfium
    if pdfium:
        assert assert_same_objects(path) == 1
    document = PdfParser().path_to_document(path)
    assert rounded(document) == rounded(plumber_document(path))
    assert [cell.text for table in document.tables for cell in table.cells] == [text, "95", "合计", "100"]
