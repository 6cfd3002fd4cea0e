"""Layout finds the header and columns by name and geometry and turns the body into rows."""

from __future__ import annotations

import pytest

import rubric
from extractor import layout as L
from extractor.columns import CATEGORY, IGNORE, LABEL, MAX, SECTION, SELF
from extractor.parsers import path_to_document
from rubric.vocabulary import default_vocabulary

from .conftest import build_docx
from .forms import qinghai_form

INSPECTOR = L.INSPECTOR


@pytest.mark.parametrize("text, role", [
    # self
    ("自评结果", "self"), ("自评得分", "self"), ("自评分", "self"), ("自查得分", "self"), ("自我评分", "self"),
    ("自评情况", "self"),
    # inspector
    ("督查结果", "inspector"), ("督导得分", "inspector"), ("检查得分", "inspector"), ("评估得分", "inspector"),
    ("核查得分", "inspector"), ("复核得分", "inspector"), ("专家评分", "inspector"), ("实得分", "inspector"),
    ("督导组评分", "inspector"), ("督查情况", "inspector"),
    # rules and methods: never a score column although they contain 督查 or 评分
    ("评分标准", "rules"), ("评分细则", "rules"), ("评分办法", "rules"), ("考核方法", "rules"),
    ("督查方法和标准", "rules"),
    # deductions and remarks
    ("扣分", "deduction"), ("扣分原因", "remark"), ("备注", "remark"), ("说明", "remark"),
    # the rest
    ("得分", "score"), ("分值", "max"), ("标准分", "max"), ("序号", "index"), ("大项", "category"),
    ("一级指标", "category"), ("中项", "section"), ("小项", "label"), ("二级指标", "label"), ("督导内容", "content"),
    ("督导检查内容", "content"), ("市州初审", None),
])
def test_header_words_give_roles(text, role):
    assert default_vocabulary().role_of(text) == role


def test_a_rubric_extends_and_replaces_the_vocabulary_in_its_layout_section():
    base = {"id": "x", "categories": [{"code": "1", "name": "A"}], "items": [{"code": "1.1", "label": "a", "max": 1}]}
    r = rubric.parse({**base, "layout": {"extend": {"inspector": ["市州初审"]}, "replace": {"score": ["分数"]}}})
    assert r.vocabulary.role_of("市州初审") == "inspector"
    assert r.vocabulary.role_of("督查结果") == "inspector"  # extended, not replaced
    assert r.vocabulary.role_of("得分") is None  # replaced
    assert r.vocabulary.role_of("分数") == "score"
    with pytest.raises(rubric.RubricError, match=r"\[layout\]\.extend: unknown role 'judge'"):
        rubric.parse({**base, "layout": {"extend": {"judge": ["x"]}}})
    with pytest.raises(rubric.RubricError, match=r"unknown key 'add'"):
        rubric.parse({**base, "layout": {"add": {}}})


def test_columns_found_by_name_in_any_order_with_extra_columns(tmp_path):
    p = build_docx(tmp_path / "c.docx", [{"rows": [
        ["序号", "大项", "中项", "小项", "检查得分", "自评得分", "分值", "备注"],
        ["1", "机构建设", "办公场地", "设有办公室", "4", "5", "5", "无"],
    ]}])
    cols = L.table_to_columns(path_to_document(p).tables[0], default_vocabulary())
    assert cols.roles == {CATEGORY: 1, SECTION: 2, LABEL: 3, INSPECTOR: 4, SELF: 5, MAX: 6}
    assert [h.role for h in cols.header] == [IGNORE, CATEGORY, SECTION, LABEL, INSPECTOR, SELF, MAX, IGNORE]
    assert cols.header_rows == 1


def test_two_row_header_under_a_merged_content_cell(tmp_path):
    p = qinghai_form(tmp_path / "f.docx", ["cat", "sec", "label", "max", "rules", "self", "insp"], [
        ["督导检查内容", "", "", "分值", "督查方法和标准", "自评结果", "督查结果"],
        ["大项", "中项", "小项", "", "", "", ""]],
        merges=[((0, 0), (0, 2)), ((0, 3), (1, 3)), ((0, 4), (1, 4)), ((0, 5), (1, 5)), ((0, 6), (1, 6))])
    cols = L.table_to_columns(path_to_document(p).tables[0], default_vocabulary())
    assert cols.roles == {CATEGORY: 0, SECTION: 1, LABEL: 2, MAX: 3, SELF: 5, INSPECTOR: 6}
    assert cols.header_rows == 2


def test_merged_content_header_without_subheader_splits_by_position(tmp_path):
    p = build_docx(tmp_path / "m.docx", [{"rows": [
        ["督导检查内容", "", "", "分值", "自评结果", "督查结果"],
        ["机构建设", "办公场地", "设有办公室", "5", "5", "5"],
    ], "merge": [((0, 0), (0, 2))]}])
    cols = L.table_to_columns(path_to_document(p).tables[0], default_vocabulary())
    assert cols.roles == {CATEGORY: 0, SECTION: 1, LABEL: 2, MAX: 3, SELF: 4, INSPECTOR: 5}


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


def test_totals_rows_are_recognised_not_items(tmp_path):
    footer = [["总分", "", "", "100", "", "95", "82"], ["加分项", "", "", "", "", "", ""],
              ["减分项", "", "", "", "", "", ""], ["合计", "", "", "", "", "95", "82"]]
    p = qinghai_form(tmp_path / "t.docx", ["cat", "sec", "label", "max", "rules", "self", "insp"],
                     [["大项", "中项", "小项", "分值", "督查方法和标准", "自评结果", "督查结果"]], footer=footer,
                     footer_merges=[((r, 0), (r, 2)) for r in range(4)])
    lay = L.document_to_layout(path_to_document(p))
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


def test_group_headings_give_the_side_of_their_sub_columns(tmp_path):
    p = build_docx(tmp_path / "g.docx", [{"rows": [
        ["大项", "小项", "分值", "自评情况", "", "督查情况", ""],
        ["", "", "", "得分", "扣分原因", "得分", "扣分原因"],
        ["机构建设", "设有办公室", "5", "4", "缺制卷室", "3", "缺阅卷室"],
    ], "merge": [((0, 3), (0, 4)), ((0, 5), (0, 6)), ((0, 0), (1, 0)), ((0, 1), (1, 1)), ((0, 2), (1, 2))]}])
    lay = L.document_to_layout(path_to_document(p))
    cols = lay.columns[0]
    assert [(h.role, h.side) for h in cols.header] == [
        (CATEGORY, None), (LABEL, None), (MAX, None), (SELF, "self"), ("note", "self"), (INSPECTOR, "inspector"),
        ("note", "inspector")]
    (row,) = lay.items
    assert (row.self_text, row.inspector_text) == ("4", "3")
    assert {k: c.text for k, c in row.notes.items()} == {"self": "缺制卷室", "inspector": "缺阅卷室"}


def test_tick_columns_under_each_side(tmp_path):
    p = build_docx(tmp_path / "k.docx", [{"rows": [
        ["一级指标", "二级指标", "自评情况", "", "", "督查情况", "", ""],
        ["", "", "符合", "基本符合", "不符合", "符合", "基本符合", "不符合"],
        ["机构信用", "评价机构基本信息", "", "✓", "", "√", "", ""],
    ], "merge": [((0, 2), (0, 4)), ((0, 5), (0, 7)), ((0, 0), (1, 0)), ((0, 1), (1, 1))]}])
    lay = L.document_to_layout(path_to_document(p), options=("符合", "基本符合", "不符合"))
    (row,) = lay.items
    assert {side: [(o, c.text) for o, c in marks] for side, marks in row.marks.items()} == {
        "self": [("符合", ""), ("基本符合", "✓"), ("不符合", "")],
        "inspector": [("符合", "√"), ("基本符合", ""), ("不符合", "")]}
    assert lay.has_inspector


def test_one_cell_across_the_self_and_inspector_columns_is_a_conflict_not_a_value(tmp_path):
    p = build_docx(tmp_path / "x.docx", [{"rows": [
        ["大项", "小项", "分值", "自评结果", "督查结果"],
        ["机构建设", "设有办公室", "5", "5 4", ""],
        ["机构建设", "财务人员", "1", "1", "1"],
    ], "merge": [((1, 3), (1, 4))]}])
    first, second = L.document_to_layout(path_to_document(p)).items
    assert (first.self_cell, first.inspector_cell) == (None, None)
    assert [(f.kind, f.side) for f in first.findings] == [("column_conflict", "inspector"), ("column_conflict", "self")]
    assert (second.self_text, second.inspector_text, second.findings) == ("1", "1", [])


def test_two_cells_under_one_score_header_compete(tmp_path):
    p = build_docx(tmp_path / "y.docx", [{"rows": [
        ["大项", "小项", "分值", "自评结果", "督查结果", ""],
        ["机构建设", "设有办公室", "5", "5", "4", "3"],
        ["机构建设", "财务人员", "1", "1", "1", ""],
    ], "merge": [((0, 4), (0, 5))]}])
    first, second = L.document_to_layout(path_to_document(p)).items
    assert [(f.kind, f.side) for f in first.findings] == [("column_conflict", "inspector")]
    assert first.findings[0].message == "2 个单元格（「4」、「3」）同属「督查结果」一栏：其值未定"
    assert (second.inspector_text, second.findings) == ("1", [])


def test_rows_that_are_not_items(tmp_path):
    p = build_docx(tmp_path / "f.docx", [{"rows": [
        ["大项", "小项", "分值", "自评结果", "督查结果"],
        ["机构建设", "设有办公室", "5", "5", "5"],
        ["", "", "", "", ""],
        ["（以下空白）", "", "", "", ""],
        ["说明：1. 自评得分由机构填写；2. 督查结果由督查组填写。", "", "", "", ""],
        ["注：分值栏为该项满分。", "", "", "", ""],
        ["评价机构负责人（签字）：", "", "督查组成员（签字）：", "", ""],
        ["大项", "小项", "分值", "自评结果", "督查结果"],
    ], "merge": [((4, 0), (4, 4)), ((5, 0), (5, 4))]}])
    lay = L.document_to_layout(path_to_document(p))
    assert [(r.kind, r.label) for r in lay.rows] == [(L.ITEM, "设有办公室")]


def test_a_numeric_column_with_an_unknown_header_is_reported_not_dropped(tmp_path):
    p = build_docx(tmp_path / "u.docx", [{"rows": [
        ["大项", "小项", "分值", "自评结果", "市州初审", "督查结果"],
        ["机构建设", "设有办公室", "5", "5", "4", "4"],
        ["机构建设", "财务人员", "1", "1", "1", "0.5"],
    ]}])
    lay = L.document_to_layout(path_to_document(p))
    assert [(f.kind, f.side) for f in lay.findings] == [("unknown_column", None)]
    assert lay.findings[0].message.startswith("栏目「市州初审」（表1 列5）有 2 个数字")
    assert [(r.self_text, r.inspector_text) for r in lay.items] == [("5", "4"), ("1", "0.5")]


def test_a_two_row_header_repeated_inside_the_table_is_skipped_whole(tmp_path):
    """LibreOffice joins a split table back into one: its repeated two-row header sits in the middle."""
    head = [["一级指标", "二级指标", "督导内容", "自评情况", "", ""], ["", "", "", "符合", "基本符合", "不符合"]]
    body = [["机构信用", "评价机构基本信息", "是否具有营业执照", "☑", "", ""],
            ["管理制度", "评价管理制度", "是否建立考务管理制度", "", "☑", ""]]
    merges = [((0, 3), (0, 5)), ((0, 0), (1, 0)), ((0, 1), (1, 1)), ((0, 2), (1, 2))]
    p = build_docx(tmp_path / "r.docx", [{"rows": head + body[:1] + head + body[1:],
                                          "merge": merges + [((a + 3, b), (c + 3, d)) for (a, b), (c, d) in merges]}])
    lay = L.document_to_layout(path_to_document(p), options=("符合", "基本符合", "不符合"))
    assert [r.label for r in lay.rows] == ["评价机构基本信息", "评价管理制度"]


def test_an_item_row_that_reads_like_header_words_is_kept(tmp_path):
    """专家 is an inspector word and 满分 a max word, but this row says none of the header's own texts."""
    p = build_docx(tmp_path / "e.docx", [{"rows": [
        ["大项", "小项", "分值", "自评结果", "督查结果"],
        ["题库建设", "专家培训情况（1分）", "1", "满分", "满分"],
        ["题库建设", "专家签订保密协议情况（1分）", "1", "1", "1"],
    ]}])
    lay = L.document_to_layout(path_to_document(p))
    assert [(r.label, r.self_text) for r in lay.items] == [("专家培训情况（1分）", "满分"), ("专家签订保密协议情况（1分）", "1")]


def test_an_item_right_after_a_repeated_header_is_kept_though_it_says_judgments(tmp_path):
    p = build_docx(tmp_path / "j.docx", [{"rows": [
        ["一级指标", "二级指标", "督导内容", "自评得分", "复核得分"],
        ["宣传和信息公开", "结果查询和投诉监督渠道", "评价结果是否方便查询", "符合", "符合"],
        ["一级指标", "二级指标", "督导内容", "自评得分", "复核得分"],
        ["考评实施", "报名资质审核", "是否有报名资质审核机制", "符合", "基本符合"],
    ]}])
    lay = L.document_to_layout(path_to_document(p), options=("符合", "基本符合", "不符合"))
    assert [(r.label, r.inspector_text) for r in lay.items] == [("结果查询和投诉监督渠道", "符合"), ("报名资质审核", "基本符合")]
