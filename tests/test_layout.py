"""Layout finds the header and columns by name and turns the body into rows."""

from __future__ import annotations

import pytest

from extractor import layout as L
from extractor.parsers import path_to_document

from .conftest import SHARED_FORMS, build_docx


@pytest.mark.parametrize("text, role", [
    ("自评结果", L.SELF), ("自评得分", L.SELF), ("自评分", L.SELF), ("自查得分", L.SELF), ("自评情况", L.SELF),
    ("督查结果", L.INSPECTOR), ("督查得分", L.INSPECTOR), ("检查得分", L.INSPECTOR), ("督导组评分", L.INSPECTOR),
    ("督查情况", L.INSPECTOR), ("分值", L.MAX), ("标准分", L.MAX), ("督查方法和标准", L.IGNORE), ("备注", L.IGNORE),
    ("序号", L.IGNORE), ("大项", L.CATEGORY), ("一级指标", L.CATEGORY), ("中项", L.SECTION), ("小项", L.LABEL),
    ("二级指标", L.LABEL), ("督导内容", L.CONTENT), ("督导检查内容", L.CONTENT),
])
def test_header_names_give_roles(text, role):
    assert L.header_text_to_role(text) == role


def test_columns_found_by_name_in_any_order_with_extra_columns(tmp_path):
    p = build_docx(tmp_path / "c.docx", [{"rows": [
        ["序号", "大项", "中项", "小项", "检查得分", "自评得分", "分值", "备注"],
        ["1", "机构建设", "办公场地", "设有办公室", "4", "5", "5", "无"],
    ]}])
    cols = L.table_to_columns(path_to_document(p).tables[0])
    assert cols.roles == {L.CATEGORY: 1, L.SECTION: 2, L.LABEL: 3, L.INSPECTOR: 4, L.SELF: 5, L.MAX: 6}
    assert cols.header_rows == 1


def test_two_row_header_under_a_merged_content_cell():
    t = path_to_document(SHARED_FORMS / "filled_clean.docx").tables[1]
    cols = L.table_to_columns(t)
    assert cols.roles == {L.CATEGORY: 0, L.SECTION: 1, L.LABEL: 2, L.MAX: 3, L.SELF: 5, L.INSPECTOR: 6}
    assert cols.header_rows == 2


def test_merged_content_header_without_subheader_splits_by_position(tmp_path):
    p = build_docx(tmp_path / "m.docx", [{"rows": [
        ["督导检查内容", "", "", "分值", "自评结果", "督查结果"],
        ["机构建设", "办公场地", "设有办公室", "5", "5", "5"],
    ], "merge": [((0, 0), (0, 2))]}])
    cols = L.table_to_columns(path_to_document(p).tables[0])
    assert cols.roles == {L.CATEGORY: 0, L.SECTION: 1, L.LABEL: 2, L.MAX: 3, L.SELF: 4, L.INSPECTOR: 5}


def test_body_continued_in_a_second_table_with_and_without_repeated_header(tmp_path):
    head = ["大项", "中项", "小项", "分值", "自评结果", "督查结果"]
    p = build_docx(tmp_path / "s.docx", [
        {"rows": [head, ["A", "a", "x1", "1", "1", "1"]], "gap": "（续表）"},
        {"rows": [["A", "a", "x2", "1", "0.5", "1"]]},
        {"rows": [head, ["B", "b", "x3", "1", "1", "0"], ["合计", "", "", "", "2.5", "2"]],
         "merge": [((2, 0), (2, 2))]},
    ])
    lay = L.document_to_layout(path_to_document(p))
    assert [(r.kind, r.label, r.self_text, r.table) for r in lay.rows] == [
        (L.ITEM, "x1", "1", 0), (L.ITEM, "x2", "0.5", 1), (L.ITEM, "x3", "1", 2), (L.GRAND, "合计", "2.5", 2)]


def test_totals_rows_are_recognised_not_items():
    lay = L.document_to_layout(path_to_document(SHARED_FORMS / "filled_errors.docx"))
    assert len(lay.items) == 67
    assert [(r.kind, r.self_text, r.inspector_text) for r in lay.rows if r.kind != L.ITEM] == [
        (L.TOTAL, "95", "82"), (L.BONUS, "", ""), (L.PENALTY, "", ""), (L.GRAND, "95", "82")]


def test_merged_context_fills_every_row_and_blank_context_is_carried(tmp_path):
    p = build_docx(tmp_path / "u.docx", [{"rows": [
        ["大项", "中项", "小项", "分值", "自评结果", "督查结果"],
        ["岗位设置情况", "领导岗位情况", "机构负责人岗位职责明确", "4", "1", "1"],
        ["", "考务管理岗位", "考务管理岗位职责明确", "", "1", "1"],
        ["", "", "试题管理岗位责任明确", "", "1", "1"],
    ]}])
    rows = L.document_to_layout(path_to_document(p)).items
    assert [(r.category, r.section) for r in rows] == [
        ("岗位设置情况", "领导岗位情况"), ("岗位设置情况", "考务管理岗位"), ("岗位设置情况", "考务管理岗位")]


def test_a_table_without_a_self_column_is_no_body(tmp_path):
    p = build_docx(tmp_path / "n.docx", [{"rows": [["姓名", "年龄"], ["张三", "30"]]}])
    assert L.document_to_layout(path_to_document(p)).rows == []
