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
