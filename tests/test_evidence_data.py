"""What the store keeps for evidence: each side's cell, the row's cells with their roles, the header's own rows."""

from __future__ import annotations

import rubric
from extractor.extract import document_to_form
from extractor.form import Form
from extractor.parsers import path_to_document

from .conftest import build_docx


def _form(tmp_path, rows, merge=()):
    p = build_docx(tmp_path / "f.docx", [{"rows": rows, "merge": list(merge)}])
    return document_to_form(path_to_document(p), rubric.load_all(), Form(source="f.docx", sha256="0"),
                            "qinghai-2024")


ROWS = [
    ["2023年度认定批次数", "3", "发证人数", "2395", ""],  # cover statistics inside the table, above the header
    ["大项", "小项", "分值", "自评得分", "督查得分"],
    ["机构建设", "设有办公室", "5", "5", "4"],
    ["机构建设", "财务人员", "1", "1", "1"],
]


def test_header_cells_are_the_header_rows_only(tmp_path):
    form = _form(tmp_path, ROWS)
    (table,) = form.tables
    assert (table["header_start"], table["header_rows"]) == (1, 2)
    assert [c["text"] for c in table["header_cells"]] == ["大项", "小项", "分值", "自评得分", "督查得分"]


def test_each_side_keeps_its_own_cell_and_the_row_its_roles(tmp_path):
    form = _form(tmp_path, ROWS)
    it = next(i for i in form.items if i.raw_label == "设有办公室")
    assert it.self_cell == {"table": 0, "row": 2, "col": 3, "text": "5"}
    assert it.inspector_cell == {"table": 0, "row": 2, "col": 4, "text": "4"}
    assert [(c["col"], c["text"], c.get("role")) for c in it.row_cells] == [
        (0, "机构建设", "category"), (1, "设有办公室", "label"), (2, "5", "max"), (3, "5", "self"),
        (4, "4", "inspector")]
