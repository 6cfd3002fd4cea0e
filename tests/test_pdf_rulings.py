"""PDF rulings that are not columns (issue 10, point 6): a doubled or thick border is one rule, and a sliver
of border narrower than a character never makes a column or a row.

Every PDF is made under tmp_path by a real producer: reportlab (a platypus Table in the CID font STSong-Light,
as samples/pdf_reportlab.py draws forms, with extra rules drawn on its canvas) or python-docx + LibreOffice
(borders set in w:tblBorders / w:tcBorders, exported by ``soffice --headless --convert-to pdf``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from extractor.model import Table
from extractor.parsers.assemble import Piece, is_split_row
from extractor.parsers.pdf import PdfParser, ends_inside_bracket

pytest.importorskip("reportlab")
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from reportlab.platypus import (
    Paragraph,  # noqa: E402
    TableStyle,  # noqa: E402
)
from reportlab.platypus import Table as PlatypusTable  # noqa: E402

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11.5, wordWrap="CJK")

HEAD = ["督导检查内容", "分值", "督查方法和标准", "自评结果", "督查结果"]
ITEMS = [
    ["设有办公室、题库室、制卷室", "5", "查看现场", "5", "4.5"],
    ["机构负责人岗位职责明确", "1", "查阅文件", "1", "1"],
    ["考评人员应具有评价相关职业的资格条件", "2", "抽查档案", "2", "1.5"],
]
FORM = [HEAD, *ITEMS]
COLUMNS = [list(col) for col in zip(*FORM, strict=True)]
WIDTHS = [150, 40, 120, 60, 60]
LEFT, TOP = 60.0, 100.0  # where the table's top-left corner is drawn, in points from the page's top-left
PAGE_HEIGHT = A4[1]

# A 7-column form for the LibreOffice tests: every column of the Word table must come back, no more.
WORD_HEAD = ["序号", "督导检查内容", "分值", "督查方法和标准", "自评结果", "督查结果", "备注"]
WORD_FORM = [WORD_HEAD] + [[str(i), *row, "无"] for i, row in enumerate(ITEMS, start=1)]
WORD_COLUMNS = [list(col) for col in zip(*WORD_FORM, strict=True)]

Grid = tuple[list[float], list[float]]  # column x's, row tops (points from the page's top)
Rules = Callable[[canvas.Canvas, list[float], list[float]], None]  # draws on the canvas, in reportlab's y-up units


def parse(path: Path) -> list[Table]:
    return PdfParser().path_to_document(path).tables


def columns(table: Table) -> list[list[str]]:
    """Given a table, return its cell texts column by column, top to bottom."""
    return [[c.text for c in sorted(table.cells, key=lambda c: c.row) if c.col == k] for k in range(table.n_cols)]


def draw_form(path: Path, style: list, rules: Rules | None = None, grid: bool = True) -> Grid:
    """Given a path, TableStyle commands for the rules (none when grid is False) and extra rules to draw,
    write the 5-column form as a one-page PDF; return where its column and row boundaries lie."""
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    commands = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 4)]
    table = PlatypusTable(
        [[Paragraph(text, CELL) for text in row] for row in FORM], colWidths=WIDTHS,
        style=TableStyle(commands + (style if grid else [])),
    )  # fmt: skip
    _, height = table.wrapOn(c, sum(WIDTHS), PAGE_HEIGHT)
    bottom = PAGE_HEIGHT - TOP - height
    table.drawOn(c, LEFT, bottom)
    xs = [LEFT + p for p in table._colpositions]
    ys_up = [bottom + p for p in table._rowpositions]  # reportlab's y, top row first
    if rules is not None:
        rules(c, xs, ys_up)
    c.showPage()
    c.save()
    return xs, [PAGE_HEIGHT - y for y in ys_up]


def assert_form_read(tables: list[Table], grid: Grid, slack: float) -> None:
    """Given the parsed tables and the drawn grid, assert one 4 x 5 table with every text in its column,
    no span, no empty (phantom) column, and each cell's box on the drawn grid within slack points."""
    (table,) = tables
    assert (table.n_rows, table.n_cols, table.page) == (4, 5, 1)
    assert columns(table) == COLUMNS
    assert all(any(text for text in col) for col in columns(table))
    assert {(c.rowspan, c.colspan) for c in table.cells} == {(1, 1)}
    xs, tops = grid
    for cell in table.cells:
        want = (xs[cell.col], tops[cell.row], xs[cell.col + 1], tops[cell.row + 1])
        assert cell.page == 1 and cell.bbox is not None
        assert max(abs(a - b) for a, b in zip(cell.bbox, want, strict=True)) <= slack, (cell.text, cell.bbox, want)


THIN = [("GRID", (0, 0), (-1, -1), 0.5, colors.black)]


def test_doubled_bottom_border_adds_no_column_or_row(tmp_path):
    """A doubled bottom border: a second rule 3.5 pt under the last one (just past pdfplumber's 3-pt snap),
    every column rule carried down to it and the side rules 3.5 pt further out, as a double frame's outer
    line runs. Read before: a 3.5-pt column on each side and an empty 5th row (5 x 7), every column shifted
    by one."""

    def second_rule(c: canvas.Canvas, xs: list[float], ys: list[float]) -> None:
        low, out = ys[-1] - 3.5, 3.5
        c.setLineWidth(0.5)
        c.line(xs[0] - out, low, xs[-1] + out, low)
        c.line(xs[0] - out, ys[-1], xs[0], ys[-1])
        c.line(xs[-1], ys[-1], xs[-1] + out, ys[-1])
        for x in (xs[0] - out, *xs, xs[-1] + out):
            c.line(x, ys[-1], x, low)

    path = tmp_path / "doubled_foot.pdf"
    grid = draw_form(path, THIN, second_rule)
    # The side rules and their outer lines at the foot are one rule at the middle of the pair: the outer
    # cells' sides may move by up to half its 3.5-pt spread.
    assert_form_read(parse(path), grid, slack=1.75)


def test_thick_bottom_border_drawn_as_a_filled_rectangle_adds_no_column(tmp_path):
    """A 4-pt bottom border drawn as a filled rectangle overhanging the table by 3.5 pt each side, the column
    rules carried down through it. Read before: a phantom column on each side and an empty 5th row (5 x 7)."""

    def thick_foot(c: canvas.Canvas, xs: list[float], ys: list[float]) -> None:
        c.setLineWidth(0.5)
        for x in xs:
            c.line(x, ys[-1], x, ys[-1] - 4)
        c.rect(xs[0] - 3.5, ys[-1] - 4, xs[-1] - xs[0] + 7, 4, stroke=0, fill=1)

    path = tmp_path / "thick_foot.pdf"
    grid = draw_form(path, THIN, thick_foot)
    assert_form_read(parse(path), grid, slack=2.5)


def test_double_rules_everywhere_are_single_rules(tmp_path):
    """Every rule doubled by platypus (two 0.5-pt lines 3.5 pt apart). Read before: 9 rows by 11 columns."""
    path = tmp_path / "double_grid.pdf"
    grid = draw_form(path, [("GRID", (0, 0), (-1, -1), 0.5, colors.black, None, None, None, 2, 3.5)])
    assert_form_read(parse(path), grid, slack=0.5)


def test_thick_rules_drawn_as_filled_rectangles_are_single_rules(tmp_path):
    """Every rule a filled 4-pt rectangle centred on the grid line (as Word/WPS export thick borders).
    Read before: a 4-pt column beside every column (11 columns) and a 4-pt row under every row."""

    def thick_grid(c: canvas.Canvas, xs: list[float], ys: list[float]) -> None:
        for x in xs:
            c.rect(x - 2, ys[-1] - 2, 4, ys[0] - ys[-1] + 4, stroke=0, fill=1)
        for y in ys:
            c.rect(xs[0] - 2, y - 2, xs[-1] - xs[0] + 4, 4, stroke=0, fill=1)

    path = tmp_path / "thick_grid.pdf"
    grid = draw_form(path, [], thick_grid, grid=False)
    assert_form_read(parse(path), grid, slack=2.5)


def test_text_between_two_close_rules_keeps_its_narrow_column(tmp_path):
    """Two rules 8 pt apart (less than a CJK char) with a digit between them: a narrow column, not a border.
    Its text must stay in a column of its own."""
    path = tmp_path / "narrow.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.setLineWidth(0.5)
    xs, tops = [60.0, 200.0, 208.0, 300.0], [700.0, 680.0, 660.0]
    for x in xs:
        c.line(x, tops[0], x, tops[-1])
    for y in tops:
        c.line(xs[0], y, xs[-1], y)
    c.setFont(FONT, 9)
    for y, texts in zip(
        (686.0, 666.0), (["督导检查内容", "1", "自评结果"], ["机构负责人岗位职责", "2", "5"]), strict=True
    ):
        c.drawString(xs[0] + 3, y, texts[0])
        c.drawString(xs[1] + 1.5, y, texts[1])
        c.drawString(xs[2] + 3, y, texts[2])
    c.showPage()
    c.save()
    (table,) = parse(path)
    assert (table.n_rows, table.n_cols) == (2, 3)
    assert columns(table) == [["督导检查内容", "机构负责人岗位职责"], ["1", "2"], ["自评结果", "5"]]


def test_numbers_on_both_sides_of_a_page_break_are_two_rows():
    """The split-row rule reads numbers with scores.parse_number: full-width "４．５分" and "1" are numbers,
    so the rows stay apart; "1 1" is no number (two values read as one), so it does not keep them apart."""

    def pair(old: str, new: str, other: str = "2") -> list[tuple[Piece, Piece]]:
        label_old = Piece("考评人员应具有评价相关职", 5, 0, 1, 1, 1, (0, 0, 1, 1), open_end=True)
        label_new = Piece("业的资格条件", 0, 0, 1, 1, 2, (0, 0, 1, 1))
        return [
            (label_new, label_old),
            (Piece(new, 0, 1, 1, 1, 2, (0, 0, 1, 1)), Piece(old, 5, 1, 1, 1, 1, (0, 0, 1, 1))),
            (Piece("", 0, 2, 1, 1, 2, (0, 0, 1, 1)), Piece(other, 5, 2, 1, 1, 1, (0, 0, 1, 1))),
        ]

    assert not is_split_row(pair("４．５分", "1"), 5)
    assert is_split_row(pair("1 1 现场核实", "2", other="见附件"), 5)
    # a value elsewhere above the break and one below are two rows' values, whatever the column
    assert not is_split_row(pair("1 1", "2"), 5)


def test_a_line_ending_in_a_number_just_after_an_opening_bracket_is_unfinished():
    """A label cut before its closing bracket ("……（2" / "分）"): the number after the bracket is read by
    scores.parse_number, full-width and with its unit too; two numbers or a closed bracket end the text."""
    assert [ends_inside_bracket(t) for t in ("更新（", "更新（2", "更新（２．５", "更新（2分")] == [True] * 4
    assert [ends_inside_bracket(t) for t in ("更新（2）", "更新（1 1", "更新2", "（.")] == [False] * 4


# --- LibreOffice ---------------------------------------------------------------------------------

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def border_element(tag: str, val: str, size: int):
    """Given a border tag (w:top, w:insideV…), its style and size (eighths of a point), return the element."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement(tag)
    for key, value in (("w:val", val), ("w:sz", str(size)), ("w:space", "0"), ("w:color", "000000")):
        element.set(qn(key), value)
    return element


def word_form(path: Path, table_borders: tuple[str, int] | None = None, cell_borders: tuple[str, int] | None = None):
    """Given a .docx path and the border (style, size) of the table (w:tblBorders) or of every cell
    (w:tcBorders), write the 7-column form there."""
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_paragraph("专项质量督导检查（自评）表")
    table = document.add_table(rows=len(WORD_FORM), cols=len(WORD_HEAD))
    for r, row in enumerate(WORD_FORM):
        for k, text in enumerate(row):
            table.cell(r, k).text = text
    if table_borders is not None:
        borders = OxmlElement("w:tblBorders")
        for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
            borders.append(border_element(f"w:{side}", *table_borders))
        table._tbl.tblPr.append(borders)
    if cell_borders is not None:
        for row in table.rows:
            for cell in row.cells:
                borders = OxmlElement("w:tcBorders")
                for side in ("top", "left", "bottom", "right"):
                    borders.append(border_element(f"w:{side}", *cell_borders))
                cell._tc.get_or_add_tcPr().append(borders)
    document.save(path)


def to_pdf(docx_path: Path) -> Path:
    """Given a .docx, export it to PDF with LibreOffice (a private profile, as samples/pdf.py does)."""
    profile = docx_path.parent / "lo-profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--convert-to", "pdf",
         "--outdir", str(docx_path.parent), str(docx_path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    pdf = docx_path.with_suffix(".pdf")
    assert pdf.exists(), "LibreOffice wrote no PDF"
    return pdf


def assert_word_form_read(tables: list[Table]) -> None:
    """Given the parsed tables, assert the Word table's 4 rows and 7 columns, every text in its column, and
    cell boxes side by side left to right, each wider than a char."""
    (table,) = tables
    assert (table.n_rows, table.n_cols) == (len(WORD_FORM), len(WORD_HEAD))
    assert columns(table) == WORD_COLUMNS
    assert {(c.rowspan, c.colspan, c.page) for c in table.cells} == {(1, 1, 1)}
    for row in range(table.n_rows):
        boxes = [c.bbox for c in sorted(table.cells, key=lambda c: c.col) if c.row == row]
        assert all(b is not None and b[2] - b[0] > 20 for b in boxes)
        assert all(a[2] <= b[0] + 0.5 for a, b in zip(boxes, boxes[1:], strict=False))


@needs_soffice
def test_libreoffice_double_table_borders(tmp_path):
    """w:tblBorders double, 1.5 pt (w:sz="12"): LibreOffice draws each side of a cell as two lines with mitred
    corners that stop short of each other. Read before: the outer rows and columns were lost (2 x 5 for 4 x 7)."""
    docx_path = tmp_path / "double.docx"
    word_form(docx_path, table_borders=("double", 12))
    assert_word_form_read(parse(to_pdf(docx_path)))


@needs_soffice
def test_libreoffice_thick_thin_cell_borders(tmp_path):
    """w:tcBorders thickThinLargeGap, 3 pt (w:sz="24") on every cell. Read before: 5 x 11, with 4-pt columns
    and rows of border between the others and the outer cells lost."""
    docx_path = tmp_path / "thick_thin.docx"
    word_form(docx_path, cell_borders=("thickThinLargeGap", 24))
    assert_word_form_read(parse(to_pdf(docx_path)))


@needs_soffice
def test_libreoffice_thick_single_table_borders(tmp_path):
    """w:tblBorders single, 3 pt (w:sz="24"): one stroked line per rule, read as drawn."""
    docx_path = tmp_path / "thick.docx"
    word_form(docx_path, table_borders=("single", 24))
    assert_word_form_read(parse(to_pdf(docx_path)))
