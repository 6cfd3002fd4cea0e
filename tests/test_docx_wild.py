"""Word files as institutions really send them: irregular grids, RTF round trips, tables in text boxes,
tracked-deleted rows, checkboxes and symbol ticks, page headers. Every file is written by python-docx (with the
XML Word writes injected where python-docx has no API) or by LibreOffice."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import qn

from extractor.parsers import path_to_document
from extractor.parsers.legacy import LegacyWordParser, find_soffice, soffice_convert

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (f'xmlns:w="{W_NS}" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
      'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"')

needs_soffice = pytest.mark.skipif(find_soffice() is None,
                                   reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")


def cells(table):
    return [(c.row, c.col, c.rowspan, c.colspan, c.text) for c in table.cells]


def soffice(src: Path, target: str, tmp: Path, infilter: str = "MS Word 2007 XML") -> Path:
    """Convert src with LibreOffice (private profile, time limit) and return the converted file."""
    out = soffice_convert(find_soffice(), src, tmp, "form" + src.suffix, infilter, 120, src.suffix, target)
    assert out is not None, f"LibreOffice did not convert {src.name} to {target}"
    return out


def tc_xml(text: str, width: int, span: int = 1, vmerge: str | None = None, inner: str | None = None) -> str:
    pr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
    pr += f'<w:gridSpan w:val="{span}"/>' if span > 1 else ""
    pr += f'<w:vMerge w:val="{vmerge}"/>' if vmerge == "restart" else "<w:vMerge/>" if vmerge else ""
    body = inner if inner is not None else (f"<w:r><w:t>{text}</w:t></w:r>" if text else "")
    return f"<w:tc><w:tcPr>{pr}</w:tcPr><w:p>{body}</w:p></w:tc>"


def tbl_xml(grid: list[int], rows: list[list[str]], row_pr: list[str] | None = None) -> str:
    """A w:tbl as Word writes it: tblPr, tblGrid of these widths, then rows of tc_xml() strings."""
    trs = "".join(f"<w:tr>{f'<w:trPr>{row_pr[i]}</w:trPr>' if row_pr and row_pr[i] else ''}{''.join(r)}</w:tr>"
                  for i, r in enumerate(rows))
    cols = "".join(f'<w:gridCol w:w="{w}"/>' for w in grid)
    return (f'<w:tbl {NS}><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:tblBorders>'
            + "".join(f'<w:{s} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
                      for s in ("top", "left", "bottom", "right", "insideH", "insideV"))
            + f"</w:tblBorders></w:tblPr><w:tblGrid>{cols}</w:tblGrid>{trs}</w:tbl>")


def replace_table(d: docx.document.Document, index: int, xml: str) -> None:
    old = d.tables[index]._tbl
    old.addprevious(parse_xml(xml))
    old.getparent().remove(old)


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


# The grid of a real form that went through RTF and LibreOffice (shared irregular_grid.docx): the header's
# 督查结果 covers grid columns 7-8, each body row's 自评 cell 6-7 and its 督查 cell 8.
IRREGULAR = [1457, 1456, 1458, 1455, 1, 1458, 1455, 1, 1457]


def irregular_docx(path: Path) -> Path:
    d = docx.Document()
    d.add_paragraph("专项质量督导检查（自评）表")
    d.add_table(rows=1, cols=1)
    head = [tc_xml("督导检查内容", 4371, 3), tc_xml("分值", 1455, vmerge="restart"),
            tc_xml("督查方法和标准", 1459, 2, "restart"), tc_xml("自评结果", 1455, vmerge="restart"),
            tc_xml("督查结果", 1458, 2, "restart")]
    # The second header row continues the merges on the body's grid, not the first row's.
    head2 = [tc_xml("大项", 1457), tc_xml("中项", 1456), tc_xml("小项", 1458), tc_xml("", 1456, 2, "continue"),
             tc_xml("", 1458, vmerge="continue"), tc_xml("", 1456, 2, "continue"), tc_xml("", 1457, vmerge="continue")]
    body = [[tc_xml(a, 1457), tc_xml(b, 1456), tc_xml(c, 1458), tc_xml(m, 1456, 2), tc_xml("现场查看", 1458),
             tc_xml(s, 1456, 2), tc_xml(i, 1457)]
            for a, b, c, m, s, i in [("机构建设", "办公场地", "设有办公室", "5", "5", "4"),
                                     ("", "考务管理", "岗位职责明确", "1", "1", "0.5")]]
    replace_table(d, 0, tbl_xml(IRREGULAR, [head, head2, *body]))
    d.save(path)
    return path


def test_irregular_grid_gives_exact_edges_and_extents(tmp_path):
    t = path_to_document(irregular_docx(tmp_path / "irregular.docx")).tables[0]
    assert (t.n_rows, t.n_cols) == (4, 9)
    assert t.col_x == [sum(IRREGULAR[:k]) / 20 for k in range(10)]
    assert t.col_x[:6] == [0.0, 72.85, 145.65, 218.55, 291.3, 291.35]
    by_text = {c.text: c for c in t.cells if c.row in (0, 2)}
    head_self, head_insp = by_text["自评结果"], by_text["督查结果"]
    assert (head_self.col, head_self.colspan, head_insp.col, head_insp.colspan) == (6, 1, 7, 2)
    assert t.cell_extent(head_self) == (364.25, 437.0) and t.cell_extent(head_insp) == (437.0, 509.9)
    # Body row 2: 分值 3-4, 方法 5, 自评 6-7, 督查 8.
    row2 = [(c.col, c.colspan, c.text) for c in t.cells if c.row == 2]
    assert row2 == [(0, 1, "机构建设"), (1, 1, "办公场地"), (2, 1, "设有办公室"), (3, 2, "5"), (5, 1, "现场查看"),
                    (6, 2, "5"), (8, 1, "4")]
    body_self, body_insp = (c for c in t.cells if c.row == 2 and c.col in (6, 8))
    assert t.cell_extent(body_self) == (364.25, 437.05) and t.cell_extent(body_insp) == (437.05, 509.9)
    # By x-extent each body cell lies under the header it belongs to (by grid index 自评 would touch 督查结果).
    assert overlap(t.cell_extent(body_self), t.cell_extent(head_self)) == pytest.approx(72.75)
    assert overlap(t.cell_extent(body_self), t.cell_extent(head_insp)) == pytest.approx(0.05)
    assert overlap(t.cell_extent(body_insp), t.cell_extent(head_self)) == 0.0
    # The second header row's continuations extend the header cells they lie under: no stray empty cells.
    assert [(c.col, c.rowspan, c.text) for c in t.cells if c.row == 0] == [
        (0, 1, "督导检查内容"), (3, 2, "分值"), (4, 2, "督查方法和标准"), (6, 2, "自评结果"), (7, 2, "督查结果")]
    assert [c.text for c in t.cells if c.row == 1] == ["大项", "中项", "小项"]


def simple_docx(rows: int = 2, cols: int = 3) -> tuple[docx.document.Document, object]:
    """A python-docx table whose cells say their position ("01" = row 0, column 1)."""
    d = docx.Document()
    t = d.add_table(rows=rows, cols=cols)
    for r in range(rows):
        for c in range(cols):
            t.cell(r, c).text = f"{r}{c}"
    return d, t


def set_widths(t, widths: list[list[int]]) -> None:
    for tr, row in zip(t._tbl.tr_lst, widths, strict=True):
        for tc, w in zip(tr.tc_lst, row, strict=True):
            tc.get_or_add_tcPr().get_or_add_tcW().set(qn("w:w"), str(w))


def test_col_x_from_cell_widths_when_the_grid_says_nothing(tmp_path):
    d, t = simple_docx()
    set_widths(t, [[1000, 2000, 3000], [1000, 2000, 3000]])
    grid = t._tbl.tblGrid
    grid.getparent().remove(grid)  # no tblGrid at all
    d.save(tmp_path / "a.docx")
    assert path_to_document(tmp_path / "a.docx").tables[0].col_x == [0.0, 50.0, 150.0, 300.0]
    # A tblGrid with fewer columns than the rows use, or summing to 0: the cells' widths decide.
    d, t = simple_docx()
    set_widths(t, [[1000, 2000, 3000], [1010, 1995, 3000]])  # hand-resized: within a point
    grid = t._tbl.tblGrid
    grid.remove(grid.findall(qn("w:gridCol"))[-1])
    d.save(tmp_path / "b.docx")
    got = path_to_document(tmp_path / "b.docx").tables[0]
    assert got.n_cols == 3 and got.col_x == [0.0, 50.0, 150.0, 300.0]
    d, t = simple_docx()
    set_widths(t, [[1000, 2000, 3000], [1000, 2000, 3000]])
    for g in t._tbl.tblGrid.findall(qn("w:gridCol")):
        g.set(qn("w:w"), "0")
    d.save(tmp_path / "c.docx")
    assert path_to_document(tmp_path / "c.docx").tables[0].col_x == [0.0, 50.0, 150.0, 300.0]


def test_col_x_from_spanning_cell_widths(tmp_path):
    d = docx.Document()
    d.add_table(rows=1, cols=1)
    rows = [[tc_xml("项目", 3000, 2), tc_xml("自评", 1500)], [tc_xml("a", 1000), tc_xml("b", 2000), tc_xml("1", 1500)]]
    replace_table(d, 0, tbl_xml([], rows).replace("<w:tblGrid></w:tblGrid>", ""))
    d.save(tmp_path / "s.docx")
    t = path_to_document(tmp_path / "s.docx").tables[0]
    assert (t.n_cols, t.col_x) == (3, [0.0, 50.0, 150.0, 225.0])
    assert t.cell_extent(t.cells[0]) == (0.0, 150.0)


@pytest.mark.parametrize("widths", [
    [[1000, 2000, 3000], [1000, 2600, 3000]],  # rows disagree by 30 pt: they do not share a grid
    [[1000, 2000, 3000], [1000, None, 3000]],  # a row does not state a width
])
def test_col_x_is_none_rather_than_invented(tmp_path, widths):
    d, t = simple_docx()
    set_widths(t, [[w or 0 for w in row] for row in widths])
    for tr, row in zip(t._tbl.tr_lst, widths, strict=True):
        for tc, w in zip(tr.tc_lst, row, strict=True):
            if w is None:
                tc.tcPr.tcW.set(qn("w:type"), "auto")
    grid = t._tbl.tblGrid
    grid.getparent().remove(grid)
    d.save(tmp_path / "n.docx")
    got = path_to_document(tmp_path / "n.docx").tables[0]
    assert got.col_x is None
    assert got.cell_extent(got.cells[1]) == (1.0, 2.0)  # grid units, as before


def test_col_x_of_a_python_docx_table(tmp_path):
    d, t = simple_docx()
    d.save(tmp_path / "p.docx")
    assert path_to_document(tmp_path / "p.docx").tables[0].col_x == [0.0, 144.0, 288.0, 432.0]  # 2880 twips each


def round_trip_through_rtf(src: Path, tmp: Path) -> Path:
    """docx -> rtf -> docx with LibreOffice, as a form that went through an RTF editor."""
    rtf = soffice(src, "rtf", tmp / "to_rtf")
    assert rtf.read_bytes().startswith(b"{\\rtf")
    return soffice(rtf, "docx:MS Word 2007 XML", tmp / "to_docx", infilter="Rich Text Format")


@needs_soffice
def test_libreoffice_rtf_round_trip_keeps_edges_and_extents(tmp_path):
    src = irregular_docx(tmp_path / "irregular.docx")
    before = path_to_document(src).tables[0]
    after = path_to_document(round_trip_through_rtf(src, tmp_path)).tables[0]
    assert (after.n_rows, after.n_cols) == (4, 9)
    assert len(after.col_x) == after.n_cols + 1 and after.col_x[0] == 0.0
    assert all(a < b for a, b in zip(after.col_x, after.col_x[1:], strict=False))
    # Every cell with text lies where it lay before the round trip (LibreOffice rounds by a twip or two).
    for cell in (c for c in before.cells if c.text):
        twin = next(c for c in after.cells if (c.row, c.col, c.text) == (cell.row, cell.col, cell.text))
        assert twin.colspan == cell.colspan
        assert after.cell_extent(twin) == pytest.approx(before.cell_extent(cell), abs=0.5)
    heads = {c.text: after.cell_extent(c) for c in after.cells if c.row == 0}
    for r in (2, 3):
        self_cell, insp_cell = (c for c in after.cells if c.row == r and c.col in (6, 8))
        assert max(heads, key=lambda h: overlap(after.cell_extent(self_cell), heads[h])) == "自评结果"
        assert max(heads, key=lambda h: overlap(after.cell_extent(insp_cell), heads[h])) == "督查结果"


BOX_ROWS = [["项目", "分值", "自评得分"], ["办公场地", "5", "4.5"], ["档案管理", "3", "3"]]


def box_table_xml() -> str:
    rows = [[tc_xml(text, 2600) for text in row] for row in BOX_ROWS]
    return tbl_xml([2600, 2600, 2600], rows).replace(f" {NS}", "")


def text_box_run(inner: str) -> str:
    """A run holding a text box as Word 2010+ writes it: DrawingML (wps) in mc:Choice, the same content
    again as VML in mc:Fallback."""
    content = f"<w:txbxContent>{inner}<w:p/></w:txbxContent>"
    return (
        f'<w:r {NS}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="114300" distR="114300" simplePos="0" relativeHeight="251659264" '
        'behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
        '<wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset></wp:positionH>'
        '<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
        '<wp:extent cx="5400000" cy="1440000"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        '<wp:wrapTopAndBottom/><wp:docPr id="1" name="文本框 1"/><wp:cNvGraphicFramePr/>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        '<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="5400000" cy="1440000"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:solidFill><a:schemeClr val="lt1"/></a:solidFill>'
        '<a:ln w="6350"><a:solidFill><a:prstClr val="black"/></a:solidFill></a:ln></wps:spPr>'
        f'<wps:txbx>{content}</wps:txbx>'
        '<wps:bodyPr rot="0" vert="horz" wrap="square" lIns="91440" tIns="45720" rIns="91440" bIns="45720" '
        'anchor="t" anchorCtr="0"><a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic>'
        '</wp:anchor></w:drawing></mc:Choice><mc:Fallback><w:pict>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        '<v:shape id="文本框 1" o:spid="_x0000_s1026" type="#_x0000_t202" style="position:absolute;'
        'margin-left:0;margin-top:0;width:425.2pt;height:113.4pt;z-index:251659264" fillcolor="white [3201]" '
        f'strokeweight=".5pt"><v:textbox>{content}</v:textbox></v:shape></w:pict></mc:Fallback>'
        "</mc:AlternateContent></w:r>")


def text_box_docx(path: Path) -> Path:
    d = docx.Document()
    d.add_paragraph("专项质量督导检查（自评）表")
    anchor = d.add_paragraph("评价机构名称：某某培训学校")
    box_title = "<w:p><w:r><w:t>自评明细</w:t></w:r></w:p>"
    anchor._p.append(parse_xml(text_box_run(box_title + box_table_xml())))
    after = d.add_table(rows=1, cols=2)
    after.cell(0, 0).text, after.cell(0, 1).text = "合计", "7.5"
    d.save(path)
    return path


def test_a_table_in_a_text_box_is_read_once_in_document_order(tmp_path):
    doc = path_to_document(text_box_docx(tmp_path / "box.docx"))
    assert len(doc.tables) == 2  # the VML fallback copy is not a third table
    box, after = doc.tables
    assert (box.index, box.n_rows, box.n_cols) == (0, 3, 3)
    assert [[c.text for c in box.cells if c.row == r] for r in range(3)] == BOX_ROWS
    assert box.col_x == [0.0, 130.0, 260.0, 390.0]
    assert [c.text for c in after.cells] == ["合计", "7.5"] and after.index == 1
    # The text box's paragraph is a line once; its table's text is the table's, not lines.
    assert doc.lines == ["专项质量督导检查（自评）表", "评价机构名称：某某培训学校", "自评明细"]


def test_a_table_in_a_vml_text_box_and_in_a_cell_text_box(tmp_path):
    d = docx.Document()
    vml = (f'<w:r {NS}><w:pict><v:shape id="tb" type="#_x0000_t202" style="width:400pt;height:100pt">'
           f"<v:textbox><w:txbxContent>{box_table_xml()}<w:p/></w:txbxContent></v:textbox></v:shape></w:pict></w:r>")
    d.add_paragraph("旧版文本框")._p.append(parse_xml(vml))
    outer = d.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "外表"
    outer.cell(0, 1).paragraphs[0]._p.append(parse_xml(text_box_run(box_table_xml())))
    d.save(tmp_path / "vml.docx")
    doc = path_to_document(tmp_path / "vml.docx")
    assert [len(t.cells) for t in doc.tables] == [9, 2, 9]
    assert [c.text for c in doc.tables[1].cells] == ["外表", ""]
    assert [c.text for c in doc.tables[0].cells] == [c.text for c in doc.tables[2].cells] == sum(BOX_ROWS, [])


@needs_soffice
def test_libreoffice_reads_the_text_box_table_too(tmp_path):
    # The test's own check that the injected XML is what Word writes: LibreOffice shows the box's table.
    # (Its plain-text export leaves frames out, so look at the page it prints.)
    import pdfplumber

    pdf = soffice(text_box_docx(tmp_path / "box.docx"), "pdf", tmp_path / "pdf")
    with pdfplumber.open(pdf) as f:
        lines = "\n".join(page.extract_text() or "" for page in f.pages).splitlines()
    assert [" ".join(row) for row in BOX_ROWS] == [line for line in lines if line.startswith(("项目", "办公", "档案"))]
    assert "自评明细" in lines and "合计 7.5" in lines


DEL = '<w:del w:id="{}" w:author="审核人" w:date="2024-07-21T10:00:00Z"/>'
INS = '<w:ins w:id="{}" w:author="审核人" w:date="2024-07-21T10:00:00Z"/>'


def deleted_tc(text: str, width: int = 2000, vmerge: str | None = None) -> str:
    """A cell of a tracked-deleted row: Word marks its runs deleted too."""
    run = f'<w:del w:id="90" w:author="审核人"><w:r><w:delText>{text}</w:delText></w:r></w:del>' if text else ""
    return tc_xml("", width, vmerge=vmerge, inner=run)


def test_tracked_deleted_rows_are_gone_and_merges_run_across_them(tmp_path):
    d = docx.Document()
    d.add_table(rows=1, cols=1)
    rows = [
        [tc_xml("大项", 2000), tc_xml("小项", 2000), tc_xml("自评", 2000)],
        [tc_xml("机构建设", 2000, vmerge="restart"), tc_xml("办公场地", 2000), tc_xml("5", 2000)],
        [deleted_tc("", vmerge="continue"), deleted_tc("旧条目"), deleted_tc("2")],  # deleted inside a merge
        [tc_xml("", 2000, vmerge="continue"), tc_xml("档案管理", 2000), tc_xml("3", 2000)],
        [deleted_tc("岗位设置", vmerge="restart"), deleted_tc("旧岗位"), deleted_tc("1")],  # deleted merge start
        [tc_xml("", 2000, vmerge="continue"), tc_xml("考务岗位", 2000), tc_xml("1", 2000)],
        [tc_xml("新增", 2000), tc_xml("新增条目", 2000), tc_xml("2", 2000)],  # tracked insertion: stays
    ]
    pr = ["", "", DEL.format(1), "", DEL.format(2), "", INS.format(3)]
    replace_table(d, 0, tbl_xml([2000, 2000, 2000], rows, pr))
    d.save(tmp_path / "tracked.docx")
    t = path_to_document(tmp_path / "tracked.docx").tables[0]
    assert (t.n_rows, t.n_cols) == (5, 3)
    assert cells(t) == [
        (0, 0, 1, 1, "大项"), (0, 1, 1, 1, "小项"), (0, 2, 1, 1, "自评"),
        (1, 0, 2, 1, "机构建设"), (1, 1, 1, 1, "办公场地"), (1, 2, 1, 1, "5"),
        (2, 1, 1, 1, "档案管理"), (2, 2, 1, 1, "3"),
        (3, 0, 1, 1, ""), (3, 1, 1, 1, "考务岗位"), (3, 2, 1, 1, "1"),
        (4, 0, 1, 1, "新增"), (4, 1, 1, 1, "新增条目"), (4, 2, 1, 1, "2"),
    ]
    assert t.col_x == [0.0, 100.0, 200.0, 300.0]


def checkbox_sdt(checked: bool, glyph: str) -> str:
    """A Word 2010+ checkbox content control; glyph is the run Word shows (☒/☐ in MS Gothic, or a w:sym)."""
    shown = glyph if glyph.startswith("<w:sym") else f"<w:t>{glyph}</w:t>"
    return (f'<w:sdt {NS}><w:sdtPr><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic"/>'
            f'</w:rPr><w:id w:val="-1"/><w14:checkbox><w14:checked w14:val="{int(checked)}"/>'
            '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/><w14:uncheckedState w14:val="2610" '
            'w14:font="MS Gothic"/></w14:checkbox></w:sdtPr><w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" '
            f'w:eastAsia="MS Gothic" w:hAnsi="MS Gothic" w:hint="eastAsia"/></w:rPr>{shown}</w:r></w:sdtContent></w:sdt>')


def form_checkbox(checked: str | None, default: str | None) -> str:
    """A legacy form-field checkbox (FORMCHECKBOX): its state is w:checked, else w:default."""
    state = (f'<w:default w:val="{default}"/>' if default is not None else "") + (
        f'<w:checked w:val="{checked}"/>' if checked not in (None, "") else "<w:checked/>" if checked == "" else "")
    return (f'<w:r {NS}><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/><w:enabled/>'
            f'<w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/>{state}</w:checkBox></w:ffData></w:fldChar></w:r>'
            f'<w:r {NS}><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>'
            f'<w:r {NS}><w:fldChar w:fldCharType="separate"/></w:r><w:r {NS}><w:fldChar w:fldCharType="end"/></w:r>')


def sym(font: str, char: str) -> str:
    return f'<w:r {NS}><w:sym w:font="{font}" w:char="{char}"/></w:r>'


def text_run(text: str) -> str:
    return f'<w:r {NS}><w:t xml:space="preserve">{text}</w:t></w:r>'


def marks_docx(path: Path, cell_runs: list[list[str]]) -> Path:
    """One table row per entry; its single cell's paragraph holds the given run-level XML snippets."""
    d = docx.Document()
    t = d.add_table(rows=len(cell_runs), cols=1)
    for row, runs in zip(t.rows, cell_runs, strict=True):
        p = row.cells[0].paragraphs[0]._p
        for xml in runs:
            for el in parse_xml(f"<w:wrap {NS}>{xml}</w:wrap>"):
                p.append(el)
    d.save(path)
    return path


def test_checkbox_content_controls_read_their_state_not_their_glyph(tmp_path):
    runs = [
        [checkbox_sdt(True, "☒")],
        [checkbox_sdt(False, "☐")],
        [checkbox_sdt(True, "☐")],  # a stale glyph: the state decides
        [checkbox_sdt(False, '<w:sym w:font="Wingdings" w:char="F0FE"/>')],
        [checkbox_sdt(True, "☒"), text_run("符合 "), checkbox_sdt(False, "☐"), text_run("基本符合 "),
         checkbox_sdt(False, "☐"), text_run("不符合")],
    ]
    t = path_to_document(marks_docx(tmp_path / "sdt.docx", runs)).tables[0]
    assert [c.text for c in t.cells] == ["☑", "☐", "☑", "☐", "☑符合 ☐基本符合 ☐不符合"]


def test_a_block_level_checkbox_control_in_a_cell(tmp_path):
    d = docx.Document()
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text = "符合"
    tc = t.cell(0, 1)._tc
    tc.remove(tc.findall(qn("w:p"))[0])
    block = checkbox_sdt(True, "☒").replace("<w:sdtContent><w:r>", "<w:sdtContent><w:p><w:r>").replace(
        "</w:r></w:sdtContent>", "</w:r></w:p></w:sdtContent>")
    tc.append(parse_xml(block))
    d.save(tmp_path / "block.docx")
    assert [c.text for c in path_to_document(tmp_path / "block.docx").tables[0].cells] == ["符合", "☑"]


def test_legacy_form_field_checkboxes(tmp_path):
    runs = [[form_checkbox("1", "0")], [form_checkbox("0", "1")], [form_checkbox(None, "1")],
            [form_checkbox(None, "0")], [form_checkbox("", None)], [form_checkbox(None, None)],
            [form_checkbox("1", None), text_run("符合"), form_checkbox("0", None), text_run("不符合")]]
    t = path_to_document(marks_docx(tmp_path / "ff.docx", runs)).tables[0]
    assert [c.text for c in t.cells] == ["☑", "☐", "☑", "☐", "☑", "☐", "☑符合☐不符合"]


@pytest.mark.parametrize("font, char, text", [
    ("Wingdings", "F0FE", "☑"), ("Wingdings", "F0FD", "☑"), ("Wingdings", "F0A8", "☐"), ("Wingdings", "F06F", "☐"),
    ("Wingdings", "F0FC", "✓"), ("Wingdings", "F0FB", "×"), ("Wingdings 2", "F052", "☑"), ("Wingdings 2", "F0A3", "☐"),
    ("Wingdings 2", "F050", "✓"), ("Symbol", "F0D6", "√"), ("Wingdings", "FE", "☑"),
    ("Wingdings", "F041", ""), ("Webdings", "F061", ""), ("Arial", "F0FE", ""),  # unknown: nothing, not garbage
    ("Segoe UI Symbol", "2611", "☑"), ("MS Gothic", "2713", "✓"), ("MS Gothic", "E001", ""), ("Wingdings", "zz", ""),
])
def test_symbol_font_ticks(tmp_path, font, char, text):
    t = path_to_document(marks_docx(tmp_path / "sym.docx", [[text_run("5"), sym(font, char), text_run("分")]])).tables[0]
    assert t.cells[0].text == f"5{text}分"


def test_page_header_and_footer_lines(tmp_path):
    d = docx.Document()
    section = d.sections[0]
    section.header.paragraphs[0].text = "评价机构名称：海北州高原职业培训中心"
    section.header.add_paragraph("")
    section.footer.paragraphs[0].text = "填报日期：2024年7月21日"
    box = section.header.add_table(rows=1, cols=2, width=docx.shared.Cm(15))
    box.cell(0, 0).text, box.cell(0, 1).text = "联系人：", "张三"
    section.different_first_page_header_footer = True
    section.first_page_header.paragraphs[0].text = "评价机构名称：海北州高原职业培训中心"  # the same again: once
    d.add_paragraph("专项质量督导检查（自评）表")
    d.save(tmp_path / "h.docx")
    doc = path_to_document(tmp_path / "h.docx")
    assert doc.page_lines == ["评价机构名称：海北州高原职业培训中心", "联系人： 张三", "填报日期：2024年7月21日"]
    assert doc.lines == ["专项质量督导检查（自评）表"]


def test_page_lines_from_the_zip_names_when_the_relationships_are_missing(tmp_path):
    d = docx.Document()
    d.sections[0].header.paragraphs[0].text = "受检单位：某某学校"
    d.sections[0].footer.paragraphs[0].text = "第 1 页"
    d.save(tmp_path / "h.docx")
    with zipfile.ZipFile(tmp_path / "h.docx") as src, zipfile.ZipFile(tmp_path / "norels.docx", "w") as dst:
        for item in src.infolist():
            if item.filename != "word/_rels/document.xml.rels":
                dst.writestr(item, src.read(item))
    assert path_to_document(tmp_path / "norels.docx").page_lines == ["受检单位：某某学校", "第 1 页"]
    assert path_to_document(tmp_path / "h.docx").page_lines == ["受检单位：某某学校", "第 1 页"]


def test_a_document_without_headers_has_no_page_lines(tmp_path):
    d, _ = simple_docx()
    d.save(tmp_path / "x.docx")
    assert path_to_document(tmp_path / "x.docx").page_lines == []


@needs_soffice
def test_a_form_saved_as_rtf_is_read(tmp_path):
    d = docx.Document()
    d.add_paragraph("专项质量督导检查（自评）表")
    rows = [["项目", "分值", "自评得分", "督查得分"], ["办公场地", "5", "4.5", "4"], ["合计", "5", "4.5", "4"]]
    t = d.add_table(rows=3, cols=4)
    t.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            t.cell(r, c).text = text
    d.save(tmp_path / "form.docx")
    rtf = soffice(tmp_path / "form.docx", "rtf", tmp_path / "lo")
    saved = tmp_path / "自评表.rtf"
    shutil.copyfile(rtf, saved)
    doc = path_to_document(saved)
    assert doc.kind == "doc" and doc.lines == ["专项质量督导检查（自评）表"]
    (table,) = doc.tables
    assert cells(table) == [(r, c, 1, 1, text) for r, row in enumerate(rows) for c, text in enumerate(row)]
    assert len(table.col_x) == 5 and table.col_x == pytest.approx([0.0, 108.0, 216.0, 324.0, 432.0], abs=0.5)
    assert ".rtf" in LegacyWordParser.suffixes
