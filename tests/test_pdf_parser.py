"""The PDF parser: real spans from cell boxes, tables over pages, split rows joined, clean CJK text, errors.

Test PDFs are drawn with reportlab (CID font STSong-Light) under tmp_path; one filled form is committed under
fixtures/forms. pdfplumber's own test PDFs are checked by bench/foreign.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from extractor.parsers import path_to_document
from extractor.parsers.assemble import Piece, is_split_row, join_fragment, wrap_join
from extractor.parsers.base import ParseError
from extractor.parsers.pdf import line_to_text, lines_end_open

reportlab = pytest.importorskip("reportlab")
from reportlab.lib import pdfencrypt  # noqa: E402
from reportlab.lib.pagesizes import A4, landscape  # noqa: E402
from reportlab.lib.utils import ImageReader  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

FILLED_PDF = Path(__file__).parent / "fixtures" / "forms" / "filled_pdf.pdf"

FONT = "STSong-Light"
SIZE = 9
LEADING = 12
PAD = 5
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

# Columns of the test form: 大项, 中项, 小项, 自评, 督查.
X = [50, 130, 210, 330, 390, 450]


def parse(path: Path):
    return path_to_document(path)  # the registry's PdfParser: it hands scanned PDFs to the scan parser


def draw_table(c: canvas.Canvas, page_height: float, top: float, heights: list[float], cells: list[tuple]) -> None:
    """Draw ruled cells (row, col, rowspan, colspan, [lines]) on a grid of X columns and row heights from top."""
    y = [top]
    for h in heights:
        y.append(y[-1] + h)
    c.setLineWidth(0.5)
    for row, col, rowspan, colspan, lines in cells:
        x0, x1, t, b = X[col], X[col + colspan], y[row], y[row + rowspan]
        c.rect(x0, page_height - b, x1 - x0, b - t)
        for i, line in enumerate(lines):
            c.drawString(x0 + PAD, page_height - (t + 3 + SIZE + i * LEADING), line)


def item(row: int, label: list[str], self_: str, insp: str) -> list[tuple]:
    return [(row, 2, 1, 1, label), (row, 3, 1, 1, [self_] if self_ else []), (row, 4, 1, 1, [insp] if insp else [])]


def build_form(path: Path) -> Path:
    """A 5-page form: a table over pages 1-3 (a row split at the 1/2 break, a clean break at 2/3),
    a landscape page 4 and a /Rotate page 5."""
    w, h = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(FONT, 12)
    c.drawString(50, h - 50, "附件1")
    c.drawString(50, h - 70, "评价机构名称：测试机构")
    c.drawString(50, h - 90, "填 报 日 期：2024年5月19日")
    c.drawString(50, h - 110, "专项质量督导检查（自评）表")
    c.drawString(50.3, h - 110, "专项质量督导检查（自评）表")  # fake bold: the same text drawn twice
    c.setFont(FONT, SIZE)

    # Page 1: header (merged both ways), three plain items, 17 items under 认定实施要求/试卷管理, then the
    # first half of a split row at the bottom (label cut at a full line, scores on this side).
    cells = [
        (0, 0, 1, 3, ["督导检查内容"]),
        (0, 3, 2, 1, ["自评结果"]),
        (0, 4, 2, 1, ["督查结果"]),
        (1, 0, 1, 1, ["大项"]),
        (1, 1, 1, 1, ["中项"]),
        (1, 2, 1, 1, ["小项"]),
        (2, 0, 2, 1, ["机构建设", "（5分）"]),
        (2, 1, 2, 1, ["办公场地"]),
        *item(2, ["设有办公室、题库室、制卷", "室、阅卷室"], "5", "4.5"),
        *item(3, ["机构负责人岗", "位职 责明确（1分）"], "1", "1"),
        (4, 0, 1, 1, ["Quality", "check"]),
        (4, 1, 1, 1, ["Latin"]),
        *item(4, ["ISO 9001"], "2", "2"),
        (5, 0, 18, 1, ["认定实施要求"]),
        (5, 1, 17, 1, ["试卷管理"]),
    ]
    for i in range(17):
        cells += item(5 + i, [f"试卷管理第{i + 1}项"], "1", "1")
    cells += [(22, 1, 1, 1, ["考评人员"]), *item(22, ["考评人员应具有评价相关职"], "1", "0.5")]
    draw_table(c, h, 120, [20, 20, 30, 30, 30] + [30] * 17 + [24], cells)
    c.showPage()

    # Page 2: the rest of the split row (no scores), the rest of the 大项 and 中项 spans, then a new group
    # running to the bottom; its last row is complete.
    c.setFont(FONT, SIZE)
    cells = [
        (0, 0, 3, 1, []),
        (0, 1, 2, 1, []),
        *item(0, ["业的资格条件（1分）"], "", ""),
        *item(1, ["评价工作中应按照有关规定"], "2", "2"),
        (2, 1, 1, 1, ["阅卷评分"]),
        *item(2, ["阅卷评分的差错率控制情况"], "2", "1.5"),
        (3, 0, 21, 1, ["能力建设情况"]),
        (3, 1, 21, 1, ["信息建设"]),
    ]
    for i in range(20):
        cells += item(3 + i, [f"信息建设第{i + 1}项"], "1", "1")
    cells += item(23, ["视频监控设备配备齐全"], "2", "2")
    draw_table(c, h, 60, [18, 30, 30] + [30] * 21, cells)
    c.showPage()

    # Page 3: a fresh row (scores filled on both sides of the break: no split), spans continuing, totals.
    c.setFont(FONT, SIZE)
    cells = [
        (0, 0, 2, 1, []),
        (0, 1, 2, 1, []),
        *item(0, ["考务督导一体化平台使用"], "2", "1"),
        *item(1, ["题库专用机配备情况"], "", ""),
        (2, 0, 1, 3, ["合计"]),
        (2, 3, 1, 1, ["80"]),
        (2, 4, 1, 1, ["70"]),
    ]
    draw_table(c, h, 60, [30, 30, 20], cells)
    c.drawString(50, h - 170, "备注：无")
    c.showPage()

    # Page 4: landscape.
    lw, lh = landscape(A4)
    c.setPageSize((lw, lh))
    c.setFont(FONT, SIZE)
    c.drawString(50, lh - 50, "横向页面")
    draw_table(
        c,
        lh,
        80,
        [20, 20],
        [(0, 0, 1, 1, ["项目"]), (0, 1, 1, 1, ["得分"]), (1, 0, 1, 1, ["加分项"]), (1, 1, 1, 1, ["3"])],
    )
    c.showPage()

    # Page 5: /Rotate 90, content drawn turned so it reads upright when displayed.
    c.setPageSize(A4)
    c.setPageRotation(90)
    c.translate(w, 0)
    c.rotate(90)
    c.setFont(FONT, SIZE)
    c.drawString(50, w - 50, "旋转页面 Rotated page")
    draw_table(c, w, 80, [20], [(0, 0, 1, 1, ["甲"]), (0, 1, 1, 1, ["1"])])
    c.showPage()
    c.save()
    return path


@pytest.fixture(scope="module")
def form(tmp_path_factory):
    return parse(build_form(tmp_path_factory.mktemp("pdf") / "form.pdf"))


@pytest.fixture(scope="module")
def main(form):
    return form.tables[0]


def at(table, row, col):
    cell = table.grid()[row][col]
    assert cell is not None, (row, col)
    return cell


# --- spans, text, provenance --------------------------------------------------------------------


def test_document_basics(form, main):
    assert form.kind == "pdf" and form.pages == 5
    assert [(t.n_rows, t.n_cols, t.page) for t in form.tables] == [(49, 5, 1), (2, 2, 4), (1, 2, 5)]
    assert (main.n_rows, main.n_cols) == (49, 5)


def test_merged_header_cells_have_their_spans(main):
    head = at(main, 0, 0)
    assert (head.row, head.col, head.rowspan, head.colspan, head.text) == (0, 0, 1, 3, "督导检查内容")
    self_head = at(main, 1, 3)
    assert (self_head.row, self_head.rowspan, self_head.text) == (0, 2, "自评结果")
    # A merged cell is one Cell, never repeated.
    assert sum(1 for c in main.cells if c.text == "督导检查内容") == 1
    assert at(main, 3, 0) is at(main, 2, 0) and at(main, 2, 0).rowspan == 2


def test_wrapped_and_spaced_text(main):
    assert at(main, 2, 0).text == "机构建设（5分）"
    assert at(main, 2, 2).text == "设有办公室、题库室、制卷室、阅卷室"
    assert at(main, 3, 2).text == "机构负责人岗位职责明确（1分）"  # stray space between CJK dropped
    assert at(main, 4, 0).text == "Quality check"  # a wrap between Latin words is a space
    assert at(main, 4, 2).text == "ISO 9001"


def test_provenance(main):
    cell = at(main, 3, 2)
    assert cell.page == 1
    assert cell.bbox == pytest.approx((210, 190, 330, 220), abs=1)
    later = at(main, 46, 2)
    assert later.text == "考务督导一体化平台使用"
    assert later.page == 3 and later.bbox == pytest.approx((210, 60, 330, 90), abs=1)


# --- tables over pages --------------------------------------------------------------------------


def test_row_split_by_page_break_is_one_row(main):
    row = [at(main, 22, col) for col in range(5)]
    assert [c.text for c in row[1:]] == ["考评人员", "考评人员应具有评价相关职业的资格条件（1分）", "1", "0.5"]
    assert all(c.row == 22 for c in row[1:])
    assert row[2].page == 1 and row[2].rowspan == 1
    assert at(main, 23, 2).text == "评价工作中应按照有关规定"
    assert [at(main, 24, col).text for col in (1, 2, 3, 4)] == ["阅卷评分", "阅卷评分的差错率控制情况", "2", "1.5"]


def test_spans_continue_across_page_breaks(main):
    group = at(main, 5, 0)
    assert (group.text, group.row, group.rowspan, group.page) == ("认定实施要求", 5, 20, 1)
    assert at(main, 24, 0) is group
    assert at(main, 23, 1).text == "考评人员" and at(main, 23, 1).rowspan == 2
    capacity = at(main, 47, 0)
    assert (capacity.text, capacity.row, capacity.rowspan) == ("能力建设情况", 25, 23)
    assert at(main, 47, 1).text == "信息建设"


def test_clean_page_break_keeps_rows_apart(main):
    assert [at(main, 45, col).text for col in (2, 3, 4)] == ["视频监控设备配备齐全", "2", "2"]
    assert [at(main, 46, col).text for col in (2, 3, 4)] == ["考务督导一体化平台使用", "2", "1"]
    assert [at(main, 47, col).text for col in (2, 3, 4)] == ["题库专用机配备情况", "", ""]
    total = at(main, 48, 0)
    assert (total.text, total.colspan, at(main, 48, 3).text) == ("合计", 3, "80")


def test_rows_are_numbered_continuously(main):
    grid = main.grid()
    assert all(cell is not None for row in grid for cell in row)
    starts = {(c.row, c.col) for c in main.cells}
    assert len(starts) == len(main.cells)


# --- free text, orientation, dedupe -------------------------------------------------------------


def test_lines_outside_tables(form):
    assert form.lines[:4] == [
        "附件1",
        "评价机构名称：测试机构",
        "填报日期：2024年5月19日",
        "专项质量督导检查（自评）表",
    ]
    assert "备注：无" in form.lines
    assert not any("督导检查内容" in line for line in form.lines)


def test_doubled_chars_are_deduplicated(form):
    assert form.lines.count("专项质量督导检查（自评）表") == 1


def test_landscape_and_rotated_pages(form):
    assert "横向页面" in form.lines and "旋转页面 Rotated page" in form.lines
    landscape_table, rotated_table = form.tables[1], form.tables[2]
    assert [c.text for c in landscape_table.cells] == ["项目", "得分", "加分项", "3"]
    assert landscape_table.cells[0].bbox == pytest.approx((50, 80, 130, 100), abs=1)
    assert [c.text for c in rotated_table.cells] == ["甲", "1"]


# --- the split-row rule on its own ----------------------------------------------------------------


def piece(text: str, row: int, col: int, rowspan: int = 1, open_end: bool = False) -> Piece:
    return Piece(text, row, col, rowspan, 1, 1, (0, 0, 1, 1), open_end)


def test_split_rule():
    cut = [
        (piece("业的资格条件", 0, 2), piece("考评人员应具", 9, 2, open_end=True)),
        (piece("", 0, 3), piece("1", 9, 3)),
        (piece("", 0, 4), piece("0.5", 9, 4)),
    ]
    assert is_split_row(cut, 9)
    finished = [(piece("新项目", 0, 2), piece("完整的项目（1分）", 9, 2)), (piece("", 0, 3), piece("1", 9, 3))]
    assert not is_split_row(finished, 9)  # unfilled scores after a complete label: a new row
    full_row = [
        (piece("新项目", 0, 2), piece("考评人员应具", 9, 2, open_end=True)),
        (piece("2", 0, 3), piece("1", 9, 3)),
    ]
    assert not is_split_row(full_row, 9)  # every column filled on both sides: a new row
    new_group = cut + [(piece("新大项", 0, 0), piece("旧大项", 3, 0, rowspan=7))]
    assert not is_split_row(new_group, 9)  # text under a span from above starts a new group


def test_split_rule_ticks_are_values():
    # a tick on both sides is two rows' values (a judgment form with one side left blank), never one cut row
    ticks = [(piece("30.要情报告工作落实情况", 0, 1), piece("29.满意度调查处理", 9, 1, open_end=True)),
             (piece("✓", 0, 3), piece("", 9, 3)),
             (piece("✓", 0, 6), piece("✓", 9, 6))]
    assert not is_split_row(ticks, 9)
    # values on both sides in different columns (符合 ticked above the break, 不符合 below) are two rows too
    apart = [(piece("30.要情报告工作落实情况", 0, 1), piece("29.满意度调查处理", 9, 1, open_end=True)),
             (piece("", 0, 3), piece("√", 9, 3)), (piece("√", 0, 5), piece("", 9, 5))]
    assert not is_split_row(apart, 9)
    # two inline tick lists, or two short judgments, one above and one below: two rows
    lists = [(piece("16.评价机构和评价宣传", 0, 1), piece("15.方案落实和保障措施", 9, 1, open_end=True)),
             (piece("□符合 ■基本符合 □不符合", 0, 3), piece("■符合 □基本符合 □不符合", 9, 3)), (piece("", 0, 5), piece("1", 9, 5))]
    assert not is_split_row(lists, 9)
    lists[1][1].open_end = True  # a narrow cell: the list above fills its lines, yet it is whole
    assert not is_split_row(lists, 9)
    words = [(piece("19.报名资质审核", 0, 1), piece("18.评价活动的策划与实施方", 9, 1, open_end=True)),
             (piece("符合", 0, 3), piece("基本符合", 9, 3)), (piece("", 0, 5), piece("见附件", 9, 5))]
    assert not is_split_row(words, 9)
    # a label and a remark both cut mid-line, nothing filled on one side only: one row
    two_cut = [(piece("题保密规定（1分）", 0, 2), piece("技能人才评价考试试卷/试", 9, 2, open_end=True)),
               (piece("核实", 0, 3), piece("1 现场", 9, 3, open_end=True)), (piece("", 0, 4), piece("", 9, 4))]
    assert is_split_row(two_cut, 9)
    # an inline list cut by the break (its line full above) is one cell's text
    cut_list = [(piece("", 0, 1), piece("15.方案落实和保障措施", 9, 1)),
                (piece("□不符合", 0, 3), piece("☑符合 □基本符合", 9, 3, open_end=True)), (piece("", 0, 5), piece("1", 9, 5))]
    assert is_split_row(cut_list, 9)
    cut_list[1][1].open_end = False  # whether or not its line was measured full
    assert is_split_row(cut_list, 9)
    # only list tails below the break, the label finished above: the lists were cut, one row
    tails = [(piece("", 0, 1), piece("10.考评队伍建设", 9, 1)), (piece("□不符合", 0, 3), piece("☑符合□基本符合", 9, 3)),
             (piece("□不符合", 0, 4), piece("□符合□基本符合", 9, 4))]
    assert is_split_row(tails, 9)
    # a score cut before its unit ("1" / "分") is one value
    unit = [(piece("关规定（1分）", 0, 2), piece("技能人才评价工作相", 9, 2, open_end=True)),
            (piece("分", 0, 3), piece("1", 9, 3)), (piece("", 0, 4), piece("见附件", 9, 4))]
    assert is_split_row(unit, 9)


def test_split_rule_numbers_and_line_breaks():
    # numbers on both sides are two values: a new group row after a label that only looks cut
    new_group = [
        (piece("认定实施要求", 0, 0), piece("", 9, 0)),
        (piece("个人申报表填写规范", 0, 2), piece("现场视频及影像资料（2分", 9, 2, open_end=True)),
        (piece("1.5分", 0, 3), piece("2", 9, 3)),
    ]
    assert not is_split_row(new_group, 9)
    # a line break typed in the label fell on the page break: L's last line is short, F holds the rest only
    typed_break = [
        (piece("处理预案（1分）", 0, 2), piece("突发严重事件的应急", 9, 2)),
        (piece("", 0, 3), piece("0.5", 9, 3)),
        (piece("", 0, 4), piece("0.5", 9, 4)),
    ]
    assert is_split_row(typed_break, 9)
    finished = [
        (piece("题库专用机配备情况", 0, 2), piece("视频监控设备配备齐全", 9, 2)),
        (piece("", 0, 3), piece("2", 9, 3)),
        (piece("1", 0, 4), piece("", 9, 4)),
    ]
    assert not is_split_row(finished, 9)  # F brings a value of its own: a new row (one score missing above)


def header_piece(text: str, col: int) -> Piece:
    return piece(text, 0, col)


def test_rest_of_a_cut_row_after_a_repeated_header_is_joined():
    # page 1: header, a group row spanning two rows (rows 1-2), the cut row 2; page 2: the header again,
    # the rest of the cut row (under the group span: empty, spanning on), then a new row
    cells = [
        header_piece("大项", 0),
        header_piece("小项", 2),
        header_piece("自评", 3),
        piece("机构建设", 1, 0, rowspan=2),
        piece("", 1, 2),
        piece("1", 1, 3),
        piece("考评人员应具", 2, 2, open_end=True),
        piece("1", 2, 3),
    ]
    new = [
        header_piece("大项", 0),
        header_piece("小项", 2),
        header_piece("自评", 3),
        piece("", 1, 0, rowspan=2),
        piece("有资格（1分）", 1, 2),
        piece("", 1, 3),
        piece("新项目（1分）", 2, 2),
        piece("0.5", 2, 3),
    ]
    assert join_fragment(cells, 3, new, 3) == 5
    rows = {(p.row, p.col): (p.text, p.rowspan) for p in cells}
    assert rows[(2, 2)] == ("考评人员应具有资格（1分）", 1) and rows[(2, 3)] == ("1", 1)
    assert [rows[(3, c)][0] for c in (0, 2, 3)] == ["大项", "小项", "自评"]  # the repeated header is kept
    assert rows[(4, 0)] == ("", 1)  # the group span goes on below the header as an empty cell
    assert rows[(4, 2)] == ("新项目（1分）", 1) and rows[(4, 3)] == ("0.5", 1)
    assert rows[(1, 0)] == ("机构建设", 2)
    assert len(rows) == len(cells)

    # a fresh row after the header (its label finished above) stays a row of its own
    cells = [header_piece("小项", 2), header_piece("自评", 3), piece("完整的项目（1分）", 1, 2), piece("1", 1, 3)]
    new = [header_piece("小项", 2), header_piece("自评", 3), piece("新项目", 1, 2), piece("", 1, 3)]
    assert join_fragment(cells, 2, new, 2) == 4


def test_a_value_found_only_below_a_page_break_is_joined_with_a_doubt():
    # L: a cut label with its 自评 cell blank; F: the rest of the label and a score. Joined, as a cut row,
    # but the score may be the next row's with this row's left blank: the cell says so.
    cells = [header_piece("小项", 2), header_piece("自评", 3), header_piece("督查", 4),
             piece("考评人员应具", 1, 2, open_end=True), piece("", 1, 3), piece("", 1, 4)]
    new = [piece("有资格（1分）", 0, 2), piece("0.5", 0, 3), piece("", 0, 4)]
    new[1].page = 2
    assert join_fragment(cells, 2, new, 1) == 2
    by = {(p.row, p.col): p for p in cells}
    assert (by[(1, 2)].text, by[(1, 2)].doubt) == ("考评人员应具有资格（1分）", None)
    assert (by[(1, 3)].text, by[(1, 3)].doubt) == ("0.5", "taken from the top of page 2, where the page break cut "
                                                   "the row")


def chars_of(text: str, x: float, top: float, size: float = 10.5) -> list[dict]:
    """One line of chars from x: CJK one em wide, ASCII half an em."""
    line = []
    for ch in text:
        width = size / 2 if ch.isascii() else size
        line.append({"text": ch, "x0": x, "x1": x + width, "top": top, "bottom": top + size, "size": size})
        x += width
    return line


def test_label_cut_before_a_closing_bracket_pushed_to_the_next_line():
    # LibreOffice moved "分）" down together (a closing bracket cannot start a line): the line ending in "（2"
    # leaves 1.4 em free, more than a full line's 1 em, yet the text is certainly unfinished
    box = (198.0, 743.8, 334.0, 768.8)

    def cell(last: str) -> list[list[dict]]:
        return [chars_of("考务督导一体化平台使用", 203.5, 746.0), chars_of(last, 203.5, 757.0)]

    assert lines_end_open(cell("是否规范，及时更新（2"), box)
    assert lines_end_open(cell("是否规范，及时更新（"), box)
    assert not lines_end_open(cell("是否规范，及时更新"), box)  # short and unbracketed: finished
    assert not lines_end_open(cell("是否规范，及时（2"), box)  # 2.4 em free: "分）" would have fitted
    assert not lines_end_open(cell("是否规范，更新（2分）"), box)


def test_text_joining_helpers():
    assert wrap_join("考评人员应具", "有评价") == "考评人员应具有评价"
    assert wrap_join("Long", "Gun") == "Long Gun"
    assert wrap_join("（1", "分）") == "（1分）"
    # A number wrapped in a narrow 分值 cell (LibreOffice breaks "100" as "10" / "0") is one number.
    assert wrap_join("10", "0") == "100"
    assert wrap_join("0.", "5（已整改）") == "0.5（已整改）"
    chars = [{"text": t, "x0": x, "x1": x + 9, "size": 9} for t, x in (("职", 0), (" ", 9), ("责", 14))]
    assert line_to_text(chars) == "职责"


# --- a row cut without a rule at the page break ----------------------------------------------------


def draw_open_table(
    c: canvas.Canvas,
    page_height: float,
    rules: list[float],
    span: tuple[float, float],
    texts: list[tuple[float, int, str]],
) -> None:
    """Draw horizontal rules across the X columns, vertical rules over span (top, bottom), and texts (top, col)."""
    c.setLineWidth(0.5)
    for y in rules:
        c.line(X[0], page_height - y, X[-1], page_height - y)
    for x in X:
        c.line(x, page_height - span[0], x, page_height - span[1])
    for top, col, text in texts:
        c.drawString(X[col] + PAD, page_height - (top + SIZE), text)


def build_open_cut(path: Path, continued: bool) -> Path:
    """Page 1: a table whose last row is cut with no rule under it (the vertical rules run on to 790 around
    its text), and a page number below; page 2: its rest above the first rule (continued) or free text."""
    w, h = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(FONT, SIZE)
    rules = [60, 80] + [80 + 30 * i for i in range(1, 23)] + [760]
    texts = [(63, col, name) for col, name in enumerate(["大项", "中项", "小项", "自评", "督查"])]
    texts += [(y + 3, 2, f"试卷管理第{i + 1}项") for i, y in enumerate(rules[1:-1])]
    texts += [(y + 3, 3, "1") for y in rules[1:-1]]
    texts += [(763, 2, "考评人员应具有评价相关职"), (763, 3, "1"), (763, 4, "0.5")]
    draw_open_table(c, h, rules, (60, 790), texts)
    c.drawString(280, h - 815, "第1页")
    c.showPage()
    c.setFont(FONT, SIZE)
    if continued:
        draw_open_table(
            c,
            h,
            [60, 90, 120],
            (40, 120),
            [
                (43, 2, "业的资格条件（1分）"),
                (63, 2, "评价工作中应按照有关规定"),
                (63, 3, "2"),
                (93, 2, "阅卷评分的差错率控制情况"),
                (93, 3, "2"),
            ],
        )
    else:
        c.drawString(50, h - 60, "备注：无")
    c.showPage()
    c.save()
    return path


def test_row_cut_without_a_rule_at_the_page_break_is_read(tmp_path):
    doc = parse(build_open_cut(tmp_path / "open.pdf", continued=True))
    (table,) = doc.tables
    assert table.n_rows == 27
    assert [at(table, 24, col).text for col in (2, 3, 4)] == ["考评人员应具有评价相关职业的资格条件（1分）", "1", "0.5"]
    assert at(table, 24, 2).bbox == pytest.approx((210, 760, 330, 790), abs=1)
    assert [at(table, 25, col).text for col in (2, 3)] == ["评价工作中应按照有关规定", "2"]
    assert doc.lines == ["第1页"]  # the cut row's text is no free line; the page number below the rules is


def test_open_table_bottom_without_a_continuation_is_left_alone(tmp_path):
    doc = parse(build_open_cut(tmp_path / "alone.pdf", continued=False))
    (table,) = doc.tables
    assert table.n_rows == 24 and at(table, 23, 2).text == "试卷管理第23项"
    assert doc.lines[0].startswith("考评人员应具有评价相关职") and doc.lines[1:] == ["第1页", "备注：无"]


# --- errors ---------------------------------------------------------------------------------------


def test_scan_without_text_layer(tmp_path):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buffer, format="PNG")
    buffer.seek(0)
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(buffer), 50, 500, 300, 200)
    c.showPage()
    c.save()
    try:
        import extractor.ocr  # noqa: F401
    except ImportError:  # without the OCR extra a scan fails, naming the extra to install
        with pytest.raises(ParseError, match=r"^reading a scan needs OCR: pip install 'selfeval\[ocr\]'$"):
            parse(path)
    else:  # with it, the page image is read by OCR: a blank image holds no table
        assert parse(path).tables == []


def test_encrypted(tmp_path):
    path = tmp_path / "locked.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=pdfencrypt.StandardEncryption("user", "owner"))
    c.setFont(FONT, 12)
    c.drawString(50, 700, "机密")
    c.showPage()
    c.save()
    with pytest.raises(ParseError, match="^the PDF is encrypted: remove its password and send it again$"):
        parse(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 this is a zip, not a pdf", b"%PDF-1.4\n1 0 obj <<"])
def test_not_a_pdf(tmp_path, content):
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(ParseError, match="^not a readable PDF: .*; re-export it$"):
        parse(path)


def test_missing_file(tmp_path):
    with pytest.raises(ParseError, match="cannot read"):
        parse(tmp_path / "nowhere.pdf")


# --- real files ----------------------------------------------------------------------------------


def test_filled_pdf_sample():
    doc = parse(FILLED_PDF)
    assert doc.pages == 6
    assert "评价机构名称：海南州日月山餐饮管理有限公司" in doc.lines
    assert "填报日期：2024年3月27日" in doc.lines
    stats, main = doc.tables
    assert [c.text for c in stats.cells] == [
        "2023年度认定批次数",
        "8",
        "2023年度认定总人数",
        "520",
        "2023年度认定合格人数",
        "508",
    ]
    assert (main.n_rows, main.n_cols, main.page) == (73, 7, 2)

    def row(r):
        return [at(main, r, col).text for col in range(7)]

    assert row(3)[2:] == [
        "机构负责人岗位职责明确（1分）",
        "4",
        "查阅文件或会议记录，现场提问其岗位工作职责。",
        "0",
        "0",
    ]
    # Row 53 was split by the page 4/5 break: label and method joined, scores from page 4.
    assert row(53)[1:] == ["考评人员", "考评人员应具有评价相关职业的资格条件", "5", "查阅记录和档案", "1", "1"]
    assert at(main, 53, 2).page == 4 and at(main, 53, 1).rowspan == 3
    group = at(main, 44, 0)
    assert (group.row, group.rowspan, group.text) == (44, 15, "认定实施要求\n（25分）")
    assert [row(r)[0] for r in (70, 71, 72)] == ["加分项", "减分项", "合计"]
    assert row(72)[5:] == ["85.5", "77.5"]


# --- files that are no forms, drawn here (pdfplumber's own test PDFs: bench/foreign.py) --------------------


def _plain_text_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(FONT, 12)
    c.drawString(72, 770, "关于召开年度工作会议的通知 Notice of the annual meeting")
    c.showPage()
    c.save()
    return path


def _image_only_pdf(path: Path) -> Path:
    from PIL import Image, ImageDraw

    im = Image.new("L", (600, 400), 255)
    ImageDraw.Draw(im).rectangle((50, 50, 550, 350), outline=0, width=3)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 50, 300, 500, 333)
    c.showPage()
    c.save()
    return path


def _sideways_table_pdf(path: Path, turned: bool) -> Path:
    """A ruled table, on an upright page or on a /Rotate 90 page whose content is drawn turned (as
    pdfplumber's nics-background-checks-2015-11-rotated.pdf is): displayed, both look the same."""
    w, h = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    if turned:
        c.setPageRotation(90)
        c.translate(w, 0)
        c.rotate(90)
        w, h = h, w
    c.setFont(FONT, SIZE)
    draw_table(c, h, 80, [20, 20, 20], [(0, 0, 1, 2, ["月份 month"]), (0, 2, 1, 2, ["数量 count"]),
                                        (1, 0, 1, 2, ["十一月"]), (1, 2, 1, 2, ["1"]),
                                        (2, 0, 1, 2, ["十二月"]), (2, 2, 1, 2, ["2"])])
    c.showPage()
    c.save()
    return path


def test_pdfs_that_are_no_forms_give_a_document_or_a_parse_error(tmp_path):
    encrypted = tmp_path / "password.pdf"
    c = canvas.Canvas(str(encrypted), pagesize=A4, encrypt=pdfencrypt.StandardEncryption("user", "owner"))
    c.drawString(72, 770, "secret")
    c.showPage()
    c.save()
    (tmp_path / "empty.pdf").write_bytes(b"")
    pdfs = [encrypted, tmp_path / "empty.pdf", _plain_text_pdf(tmp_path / "text.pdf"),
            _image_only_pdf(tmp_path / "scan.pdf"), _sideways_table_pdf(tmp_path / "table.pdf", True)]
    outcomes = {}
    for path in pdfs:
        try:
            doc = parse(path)
            assert doc.pages and doc.pages > 0
            for table in doc.tables:
                assert all(c.rowspan >= 1 and c.colspan >= 1 and c.page for c in table.cells)
            outcomes[path.name] = "ok"
        except ParseError as error:
            outcomes[path.name] = str(error)
    assert outcomes["password.pdf"].startswith("the PDF is encrypted")
    assert outcomes["empty.pdf"].startswith("not a readable PDF")
    assert outcomes["text.pdf"] == "ok" and outcomes["table.pdf"] == "ok"
    if outcomes["scan.pdf"] != "ok":  # a scan: read by OCR, or refused without it
        assert outcomes["scan.pdf"].startswith("reading a scan needs OCR")


def test_sideways_page_reads_like_the_upright_one(tmp_path):
    def cells(path):
        return [(c.row, c.col, c.rowspan, c.colspan, c.text) for c in parse(path).tables[0].cells]

    upright = cells(_sideways_table_pdf(tmp_path / "upright.pdf", False))
    assert cells(_sideways_table_pdf(tmp_path / "rotated.pdf", True)) == upright
    assert upright[0] == (0, 0, 1, 1, "月份 month") and len(upright) == 6


def test_doubled_chars_are_dropped_as_pdfplumber_drops_them(tmp_path):
    import pdfplumber

    from extractor.parsers.pdf import page_to_deduped_page

    path = tmp_path / "bold.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont(FONT, 12)
    c.drawString(72, 770, "专项质量督导检查（自评）表")
    c.drawString(72.3, 770, "专项质量督导检查（自评）表")  # fake bold: the same text drawn twice
    c.showPage()
    c.save()
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        assert page_to_deduped_page(page).chars == page.dedupe_chars().chars
        assert len(page_to_deduped_page(page).chars) < len(page.chars)
