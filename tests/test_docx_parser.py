"""The Word parser reads the real w:tc grid: spans, not repeated values."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from extractor.parsers import ParseError, path_to_document

from .conftest import SAMPLES, build_docx


def _cells(table):
    return {(c.row, c.col): (c.rowspan, c.colspan, c.text) for c in table.cells}


def test_merged_cells_come_out_once_with_their_span(tmp_path):
    p = build_docx(tmp_path / "m.docx", [{
        "rows": [["大项", "中项", "小项", "自评"], ["A", "a1", "x", "1"], ["", "a2", "y", "2"], ["", "", "z", "3"],
                 ["合计", "", "", "6"]],
        "merge": [((1, 0), (3, 0)), ((2, 1), (3, 1)), ((4, 0), (4, 2))],
    }])
    t = path_to_document(p).tables[0]
    cells = _cells(t)
    assert (t.n_rows, t.n_cols) == (5, 4)
    assert cells[(1, 0)] == (3, 1, "A")
    assert cells[(2, 1)] == (2, 1, "a2")
    assert cells[(4, 0)] == (1, 3, "合计")
    assert (2, 0) not in cells and (3, 1) not in cells and (4, 1) not in cells
    assert len(t.cells) == 4 + 4 + 3 + 2 + 2


def test_unmerged_repeated_text_stays_one_cell_per_position(tmp_path):
    p = build_docx(tmp_path / "u.docx", [{"rows": [["A", "x"], ["A", "y"]]}])
    t = path_to_document(p).tables[0]
    assert _cells(t) == {(0, 0): (1, 1, "A"), (0, 1): (1, 1, "x"), (1, 0): (1, 1, "A"), (1, 1): (1, 1, "y")}


def test_official_sample_spans_match_the_blank_form():
    # the generator's "merged" layout prints the official blank form's grid (samples/qinghai.py)
    t = path_to_document(SAMPLES / "qh_merged_01.docx").tables[1]
    cells = _cells(t)
    assert cells[(0, 0)] == (1, 3, "督导检查内容")
    assert cells[(0, 3)][:2] == (2, 1)  # 分值 over both header rows
    assert cells[(3, 0)] == (5, 1, "岗位设置情况\n\n（6分）")
    assert cells[(3, 3)] == (4, 1, "4")  # one 分值 cell over four 中项
    assert t.n_rows == 73


def test_paragraphs_outside_tables_are_lines(tmp_path):
    p = build_docx(tmp_path / "p.docx", [{"rows": [["a"]]}], paragraphs=["评价机构名称：某学校", "", "填报日期：2024年5月1日"])
    assert path_to_document(p).lines == ["评价机构名称：某学校", "填报日期：2024年5月1日"]


def test_nested_tables_are_read_as_tables_of_their_own(tmp_path):
    d = docx.Document()
    outer = d.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "outer"
    inner = outer.cell(0, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "in1"
    inner.cell(0, 1).text = "in2"
    d.save(tmp_path / "n.docx")
    doc = path_to_document(tmp_path / "n.docx")
    assert [len(t.cells) for t in doc.tables] == [2, 2]
    assert doc.tables[0].cells[1].text == ""  # the nested table's text is not the outer cell's
    assert [c.text for c in doc.tables[1].cells] == ["in1", "in2"]


def test_content_controls_and_tracked_changes_read_as_current_text(tmp_path):
    d = docx.Document()
    t = d.add_table(rows=1, cols=3)
    t.cell(0, 0).text = "x"
    # Cell 1: text inside a content control; cell 2: a tracked insertion and a tracked deletion.
    p1 = t.cell(0, 1).paragraphs[0]._p
    p1.append(parse_xml(f'<w:sdt {nsdecls("w")}><w:sdtPr/><w:sdtContent><w:r><w:t>4.5</w:t></w:r>'
                        f'</w:sdtContent></w:sdt>'))
    p2 = t.cell(0, 2).paragraphs[0]._p
    p2.append(parse_xml(f'<w:del {nsdecls("w")} w:id="1" w:author="a"><w:r><w:delText>3</w:delText></w:r></w:del>'))
    p2.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="2" w:author="a"><w:r><w:t>2</w:t></w:r></w:ins>'))
    d.save(tmp_path / "s.docx")
    cells = path_to_document(tmp_path / "s.docx").tables[0].cells
    assert [c.text for c in cells] == ["x", "4.5", "2"]


def test_grid_before_shifts_a_row_right(tmp_path):
    d = docx.Document()
    t = d.add_table(rows=2, cols=3)
    for r in range(2):
        for c in range(3):
            t.cell(r, c).text = f"{r}{c}"
    tr = t.rows[1]._tr
    tr.remove(tr.findall(qn("w:tc"))[0])
    trpr = tr.get_or_add_trPr()
    trpr.append(parse_xml(f'<w:gridBefore {nsdecls("w")} w:val="1"/>'))
    d.save(tmp_path / "g.docx")
    cells = _cells(path_to_document(tmp_path / "g.docx").tables[0])
    assert cells[(1, 1)] == (1, 1, "11") and cells[(1, 2)] == (1, 1, "12") and (1, 0) not in cells


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable Word file (not a .docx zip, or truncated)"),
    (b"hello, not a zip", "not a readable Word file (not a .docx zip, or truncated)"),
])
def test_unreadable_files_raise_a_clear_parse_error(tmp_path, content, message):
    p = tmp_path / "x.docx"
    p.write_bytes(content)
    with pytest.raises(ParseError) as e:
        path_to_document(p)
    assert str(e.value).startswith(message)


def test_truncated_docx_is_a_parse_error():
    with pytest.raises(ParseError, match="truncated"):
        path_to_document(SAMPLES / "broken_truncated_33.docx")


def test_a_zip_without_a_document_part_is_a_parse_error(tmp_path):
    import zipfile

    p = tmp_path / "z.docx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ParseError, match="missing part"):
        path_to_document(p)


def test_unknown_suffix_is_refused_with_the_known_ones(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("x")
    with pytest.raises(ParseError, match=r"unsupported file type '.txt': send the form as .docx"):
        path_to_document(Path(p))


