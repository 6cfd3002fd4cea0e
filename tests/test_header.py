"""Cover fields: institution, fill date, statistics, however they are written."""

from __future__ import annotations

import pytest

from extractor.header import document_to_header, text_to_date
from extractor.model import Cell, Document, Table


@pytest.mark.parametrize("text", ["2024年5月20日", "2024 年 5 月 20 日", "2024.05.20", "2024-5-20", "2024/5/20",
                                  "二〇二四年五月二十日", "２０２４年５月２０日"])
def test_dates_in_every_written_form(text):
    assert text_to_date(text) == "2024-05-20"


@pytest.mark.parametrize("line, name", [
    ("评价机构名称：西宁市城东区职业培训学校", "西宁市城东区职业培训学校"),
    ("评价机构名称（盖章）：西宁市城东区职业培训学校", "西宁市城东区职业培训学校"),
    ("评价机构名称：＿＿西宁市某学校＿＿（公章）", "西宁市某学校"),
    ("评 价 机 构 名 称 ： 西宁市某学校   填报日期：2024年5月6日", "西宁市某学校"),
    ("评价机构名称：海东市某学校    联系人：张三", "海东市某学校"),
])
def test_institution_without_seal_marks_padding_or_neighbouring_fields(line, name):
    assert document_to_header(Document(lines=[line])).institution == name


def test_a_title_mentioning_evaluation_institutions_is_no_name():
    doc = Document(lines=["2024年青海省技能人才评价机构专项质量督导检查（自评）表"])
    assert document_to_header(doc).institution is None


def test_fields_in_table_cells_take_the_right_neighbour():
    cells = [Cell("评价机构名称", 0, 0), Cell("海南州某公司", 0, 1), Cell("填报日期", 1, 0), Cell("2024.3.7", 1, 1),
             Cell("2023年度认定批次数", 2, 0), Cell("8", 2, 1), Cell("2023年度认定总人数", 3, 0), Cell("1,520人", 3, 1),
             Cell("2023年度认定合格人数", 4, 0), Cell("1508", 4, 1)]
    h = document_to_header(Document(tables=[Table(0, cells, 5, 2)]))
    assert (h.institution, h.fill_date, h.batches, h.certified_total, h.certified_passed) == (
        "海南州某公司", "2024-03-07", 8, 1520, 1508)


def test_statistics_written_inline():
    h = document_to_header(Document(lines=["2023年度认定批次数：12次", "2023年度认定总人数：1300人",
                                           "2023年度认定合格人数：1200人"]))
    assert (h.batches, h.certified_total, h.certified_passed) == (12, 1300, 1200)


@pytest.mark.parametrize("line, name", [
    ("单位名称：海东市乐都区职业培训学校  填表人：张三", "海东市乐都区职业培训学校"),
    ("受检单位：西宁市城西区某学校 联系电话：0971-6123456", "西宁市城西区某学校"),
    ("被督导机构名称：格尔木市某培训中心", "格尔木市某培训中心"),
    ("被督导机构：玉树州某学校  负责人：李四", "玉树州某学校"),
    ("受检单位名称：果洛州某公司  审核人：王五", "果洛州某公司"),
    ("填报单位（盖章）：海南州某学校", "海南州某学校"),
    ("填报单位(盖章):海南州某学校   日期：2024年5月6日", "海南州某学校"),
    ("单位名称（盖章）：黄南州某学校", "黄南州某学校"),
    ("机构名称：海西州某学校  联系人：赵六  手机：13800000000", "海西州某学校"),
    ("评价机构名称：海北州某学校 邮箱：a@b.cn", "海北州某学校"),
    ("单位名称：西宁某学校 电话 0971-6123456", "西宁某学校"),
    ("单位名称：西宁某学校 填表日期：2024.5.6", "西宁某学校"),
    ("机构名称：西宁市手机维修职业培训学校", "西宁市手机维修职业培训学校"),
])
def test_more_institution_keys_and_more_fields_that_end_the_name(line, name):
    assert document_to_header(Document(lines=[line])).institution == name


@pytest.mark.parametrize("line", ["受检单位自查情况说明", "填报单位（盖章）：        填报日期：2024年5月6日",
                                  "单位名称：  填表人：张三"])
def test_a_key_without_a_name_is_no_name(line):
    assert document_to_header(Document(lines=[line])).institution is None


def test_an_empty_name_field_leaves_the_date_beside_it():
    h = document_to_header(Document(lines=["填报单位（盖章）：        填报日期：2024年5月6日"]))
    assert (h.institution, h.fill_date) == (None, "2024-05-06")


def test_the_name_in_a_page_header():
    doc = Document(lines=["2024年青海省技能人才评价机构专项质量督导检查（自评）表"],
                   page_lines=["受检单位：海东市某学校", "第 1 页"])
    assert document_to_header(doc).institution == "海东市某学校"


def test_free_lines_win_over_page_header_lines_which_win_over_table_cells():
    cells = [Cell("单位名称", 0, 0), Cell("表格里的学校", 0, 1)]
    table = Table(0, cells, 1, 2)
    both = Document(lines=["单位名称：正文里的学校"], page_lines=["单位名称：页眉里的学校"], tables=[table])
    assert document_to_header(both).institution == "正文里的学校"
    assert document_to_header(Document(page_lines=["单位名称：页眉里的学校"], tables=[table])).institution == "页眉里的学校"
    assert document_to_header(Document(tables=[table])).institution == "表格里的学校"


def test_a_page_footer_date_is_not_taken_for_the_fill_date():
    assert document_to_header(Document(page_lines=["2020年1月1日"])).fill_date is None
    assert document_to_header(Document(page_lines=["填报日期：2024年5月6日"])).fill_date == "2024-05-06"


@pytest.mark.parametrize("cells, name", [
    ([Cell("受检单位名称", 0, 0), Cell("海东市某学校", 0, 1)], "海东市某学校"),
    ([Cell("填报单位（盖章）", 0, 0), Cell("海东市某学校（盖章）", 0, 1)], "海东市某学校"),
    ([Cell("单位名称：海东市某学校  填表人：张三", 0, 0, colspan=2)], "海东市某学校"),
    ([Cell("单位名称", 0, 0), Cell("", 0, 1), Cell("被督导机构：海东市某学校", 1, 0, colspan=2)], "海东市某学校"),
    ([Cell("单位名称", 0, 0), Cell("填表人：张三", 0, 1)], None),
])
def test_the_name_in_a_table_cell(cells, name):
    n_rows = max(c.row for c in cells) + 1
    assert document_to_header(Document(tables=[Table(0, cells, n_rows, 2)])).institution == name


@pytest.mark.parametrize("value, count", [("：12次", 12), ("1,520人", 1520), ("1，520 人", 1520), ("８批", 8),
                                          ("：1300人。", 1300), ("共15批次", 15), ("12.5", None), ("无", None)])
def test_statistics_are_counts_read_by_the_one_number_reader(value, count):
    h = document_to_header(Document(lines=[f"2023年度认定批次数{value}"]))
    assert h.batches == count


def test_statistics_on_one_line_each_take_their_own_number():
    h = document_to_header(Document(lines=["2023年度认定批次数：12次  2023年度认定总人数：1,300人  认定合格人数：1200人"]))
    assert (h.batches, h.certified_total, h.certified_passed) == (12, 1300, 1200)


# --- end to end: real .docx files written by python-docx ---------------------------------------------------


def _docx(path, cover: list[str], header: list[str] = ()):
    import docx

    d = docx.Document()
    for line in header:
        d.sections[0].header.paragraphs[0].text = line
    d.add_paragraph("2024年青海省技能人才评价机构专项质量督导检查（自评）表")
    for line in cover:
        d.add_paragraph(line)
    table = d.add_table(rows=2, cols=4)
    for k, text in enumerate(["序号", "评价内容", "分值", "自评得分"]):
        table.rows[0].cells[k].text = text
    for k, text in enumerate(["1", "设有办公室", "5", "5"]):
        table.rows[1].cells[k].text = text
    d.save(path)
    return path


def test_docx_cover_line_with_the_filler_beside_the_name(tmp_path):
    from extractor.parsers import path_to_document

    doc = path_to_document(_docx(tmp_path / "a.docx", ["单位名称：海东市乐都区职业培训学校  填表人：张三",
                                                       "填报日期：2024年7月21日"]))
    h = document_to_header(doc)
    assert (h.institution, h.fill_date) == ("海东市乐都区职业培训学校", "2024-07-21")


def test_docx_seal_line_above_the_table_without_a_cover_page(tmp_path):
    from extractor.parsers import path_to_document

    doc = path_to_document(_docx(tmp_path / "b.docx", ["填报单位（盖章）：海北州高原职业培训中心    联系电话：0970-8612345"]))
    assert document_to_header(doc).institution == "海北州高原职业培训中心"


def test_docx_institution_only_in_the_page_header(tmp_path):
    from extractor.parsers import path_to_document

    doc = path_to_document(_docx(tmp_path / "c.docx", [], header=["被督导机构：黄南州某职业技能培训学校"]))
    assert document_to_header(doc).institution == "黄南州某职业技能培训学校"


def test_a_letterhead_name_alone_in_the_page_header(tmp_path):
    from extractor.parsers import path_to_document

    doc = path_to_document(_docx(tmp_path / "l.docx", [], header=["海北州昆仑家政服务有限公司"]))
    assert document_to_header(doc).institution == "海北州昆仑家政服务有限公司"


def test_a_line_repeated_on_every_pdf_page_is_its_page_header():
    lines = ["玉树州高原职业技术学院", "附件1", "青海省技能人才评价机构", "玉树州高原职业技术学院"]
    assert document_to_header(Document(lines=lines)).institution == "玉树州高原职业技术学院"
    # Once is no page header, and the title's 机构 is no name.
    assert document_to_header(Document(lines=lines[:3])).institution is None


def test_the_issuer_in_the_template_header_is_not_the_institution():
    doc = Document(lines=["附件1"], page_lines=["青海省职业技能评价指导中心"])
    assert document_to_header(doc).institution is None


def test_a_human_resources_company_in_the_letterhead_is_an_institution():
    doc = Document(lines=["附件1"], page_lines=["乐都区三江源人力资源服务有限公司"])
    assert document_to_header(doc).institution == "乐都区三江源人力资源服务有限公司"
