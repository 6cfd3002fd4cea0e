"""The spreadsheet reader on real workbooks written here with openpyxl (and, where a case needs bytes openpyxl
cannot write, such as a formula's saved value, the sheet XML patched as Excel writes it): spans, cached and
uncached formulas, number formats, dates, lines around the table, hidden rows and columns, several sheets, .xlsm,
sniffed .xls files, forms refused, and the limits."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from openpyxl.styles import Border, Side

from cli import main
from extractor.parsers import ParseError, path_to_sheets, sheets_convert
from extractor.parsers.sheet_values import number_to_text
from extractor.parsers.xlsx import XlsxParser
from samples.generate import form_spec
from samples.sheets import SheetOptions, spec_to_sheet, workbook_bytes
from samples.variant import Variant

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")


def save(wb: Workbook, path: Path) -> Path:
    path.write_bytes(workbook_bytes(wb))
    return path


def patch_sheet(path: Path, edit, part: str = "xl/worksheets/sheet1.xml") -> Path:
    """Rewrite one part of a workbook with edit(xml text) -> xml text (what Excel would have written)."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    parts[part] = edit(parts[part].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def cache_value(ref: str, value: str, kind: str = "n"):
    """An edit that gives the formula in cell ref the saved value Excel stores with it."""
    def edit(xml: str) -> str:
        pattern = rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v>(.*?)</v>'
        assert re.search(pattern, xml), ref
        return re.sub(pattern, rf'<c r="{ref}"\1 t="{kind}"><f>\2</f><v>{value}</v>', xml)
    return edit


def only_sheet(path: Path):
    sheets = path_to_sheets(path)
    assert len(sheets) == 1
    return sheets[0].document


def cell_at(doc, ref: str):
    return next(c for t in doc.tables for c in t.cells if c.ref == ref)


# --- grid: spans, lines, hidden, refs ---------------------------------------------------------------------


def small_book(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    ws["A1"] = "技能人才评价机构自评表"
    ws.merge_cells("A1:E1")
    ws["A2"] = "评价机构名称：海东市职业培训学校"
    ws["A4"], ws["B4"], ws["C4"], ws["D4"], ws["E4"] = "大项", "小项", "分值", "自评结果", "督查结果"
    ws["A5"] = "机构建设\n（5分）"
    ws.merge_cells("A5:A7")
    ws["C5"] = 5
    ws.merge_cells("C5:C6")
    for r, (label, s, i) in enumerate((("设有办公室", 3, 3), ("配备专职人员", 2, 1), ("制度健全", 0, 0)), 5):
        ws.cell(row=r, column=2, value=label)
        ws.cell(row=r, column=4, value=s)
        ws.cell(row=r, column=5, value=i)
    ws["A9"] = "说明：督查结果由督导组填写。"
    ws.row_dimensions[6].hidden = True
    ws.column_dimensions["E"].hidden = True
    return save(wb, path)


def test_merged_ranges_are_one_cell_with_spans_and_text_outside_the_table_is_lines(tmp_path):
    doc = only_sheet(small_book(tmp_path / "a.xlsx"))
    assert doc.lines == ["技能人才评价机构自评表", "评价机构名称：海东市职业培训学校", "说明：督查结果由督导组填写。"]
    assert len(doc.tables) == 1
    t = doc.tables[0]
    assert (t.n_rows, t.n_cols) == (4, 5)
    cat = cell_at(doc, "自评表!A5")
    assert (cat.text, cat.row, cat.col, cat.rowspan, cat.colspan) == ("机构建设\n（5分）", 1, 0, 3, 1)
    points = cell_at(doc, "自评表!C5")
    assert (points.text, points.rowspan) == ("5", 2)
    assert [c.ref for c in t.cells if c.row == 2] == ["自评表!B6", "自评表!D6", "自评表!E6"]  # A6, C6: merged above
    assert sum(1 for c in t.cells if c.text == "机构建设\n（5分）") == 1  # never repeated


def test_hidden_rows_and_columns_are_kept_and_marked(tmp_path):
    doc = only_sheet(small_book(tmp_path / "a.xlsx"))
    assert {c.ref for t in doc.tables for c in t.cells if c.hidden} == {
        "自评表!B6", "自评表!D6", "自评表!E4", "自评表!E5", "自评表!E6", "自评表!E7"}
    assert cell_at(doc, "自评表!D6").text == "2"  # read as any other
    assert cell_at(doc, "自评表!C5").hidden is False  # one of its two rows is visible


def test_a_sheet_name_that_is_no_single_word_is_quoted_in_refs(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "2024 自评"
    ws["A1"], ws["B1"], ws["C1"] = "小项", "自评得分", "备注"
    ws["A2"], ws["B2"] = "设有办公室", 3
    doc = only_sheet(save(wb, tmp_path / "q.xlsx"))
    assert cell_at(doc, "'2024 自评'!B2").text == "3"


# --- values: number formats, dates, formulas ----------------------------------------------------------------


@pytest.mark.parametrize("value, fmt, text, doubt", [
    (4.4999999999999, "0.0", "4.5", None),  # binary noise of 4.5: rounded as shown
    (4.4999999999999, "General", "4.5", None),
    (0.1 + 0.2, "General", "0.3", None),
    (5, "0.00", "5.00", None),
    (1417, "#,##0", "1417", None),
    (-2.5, "0.0;[Red]-0.0", "-2.5", None),
    (4.4, "0", "4", "按数字格式「0」显示为 4，单元格实际为 4.4 (the number format hides digits)"),
    (0.5, "0%", "50%", None),
])
def test_numbers_read_as_their_format_shows_them(value, fmt, text, doubt):
    assert number_to_text(value, fmt) == (text, doubt)


def test_a_date_cell_on_the_cover_is_a_date_and_formats_are_kept_in_provenance(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "填报日期："
    ws["B1"] = dt.datetime(2024, 7, 21)
    ws["B1"].number_format = 'yyyy"年"m"月"d"日"'
    ws["A3"], ws["B3"], ws["C3"] = "小项", "分值", "自评结果"
    ws["A4"], ws["B4"], ws["C4"] = "设有办公室", 3, 2.9999999999999996
    ws["C4"].number_format = "0.0"
    doc = only_sheet(save(wb, tmp_path / "d.xlsx"))
    assert [[c.text for c in t.cells] for t in doc.tables] == [["填报日期：", "2024年7月21日"],
                                                              ["小项", "分值", "自评结果", "设有办公室", "3", "3.0"]]
    c = cell_at(doc, "Sheet!C4")
    assert (c.number_format, c.doubt) == ("0.0", None)


def formula_book(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"] = "小项", "自评结果", "督查结果"
    ws["A2"], ws["B2"], ws["C2"] = "设有办公室", 3, "=3-1"
    ws["A3"], ws["B3"], ws["C3"] = "配备专职人员", 2, '=IF(B3>5,"",B3)'
    ws["A4"], ws["B4"], ws["C4"] = "合计", "=SUM(B2:B3)", "=SUM(C2:C3)"
    return save(wb, path)


def test_formulas_give_their_saved_values_and_a_formula_saved_without_one_is_a_doubt(tmp_path):
    p = formula_book(tmp_path / "f.xlsx")
    patch_sheet(p, cache_value("B4", "5"))
    patch_sheet(p, cache_value("C3", "", "str"))  # a saved empty string: blank, and no doubt
    doc = only_sheet(p)
    assert cell_at(doc, "Sheet!B4").text == "5"
    assert (cell_at(doc, "Sheet!C3").text, cell_at(doc, "Sheet!C3").doubt) == ("", None)
    unsaved = cell_at(doc, "Sheet!C2")
    assert (unsaved.text, unsaved.doubt_kind) == ("", "formula_uncached")
    assert unsaved.doubt == ("公式 =3-1 没有保存计算结果，读作空白：请用 Excel 或 WPS 打开、保存后重新发送 (the formula "
                             "was saved without its value)")
    assert cell_at(doc, "Sheet!C4").doubt_kind == "formula_uncached"


# --- whole forms through the CLI ------------------------------------------------------------------------------


def form_book(path: Path, seed: str = "x", opts: SheetOptions | None = None, kind: str = "qh",
              edit=None) -> Path:
    """A whole generated form on a sheet (samples.sheets); edit(ws, writer rows) changes cells before saving."""
    spec = form_spec(kind, Variant(), random.Random(seed))
    wb = Workbook()
    ws = wb.active
    ws.title = (opts or SheetOptions()).sheet
    spec_to_sheet(ws, spec, opts or SheetOptions(formulas=False))
    if edit:
        edit(ws)
    return save(wb, path)


ITEM_111 = next(i.label for i in __import__("rubric").load_all()["qinghai-2024"].items if i.code == "1.1.1")


def find(ws, text: str) -> tuple[int, int]:
    return next((c.row, c.column) for row in ws.iter_rows() for c in row if c.value == text)


def ingest_export(tmp_path: Path, *paths: Path) -> tuple[object, list[dict]]:
    db = tmp_path / "s.db"
    r = CliRunner().invoke(main, ["ingest", *map(str, paths), "--db", str(db), "--jobs", "1"])
    out = CliRunner().invoke(main, ["export", "--db", str(db), "--all"])  # superseded ones too
    return r, json.loads(out.stdout)


def test_an_item_score_formula_without_a_saved_value_is_formula_uncached_on_that_item(tmp_path):
    def edit(ws):
        r, _ = find(ws, ITEM_111)
        c = find(ws, "自评结果")[1]
        ws.cell(row=r, column=c, value="=1+1")
    p = form_book(tmp_path / "u.xlsx", edit=edit)
    r, [rec] = ingest_export(tmp_path, p)
    assert r.exit_code == 0, r.output
    found = [(d["item"], d["kind"], d["side"]) for d in rec["discrepancies"] if d["item"] == "1.1.1"]
    assert found == [("1.1.1", "formula_uncached", "self")]  # and no missing_score beside it
    item = next(i for i in rec["items"] if i["code"] == "1.1.1")
    assert item["self"] is None and item["self_cell"]["ref"].startswith("自评表!F")
    assert rec["status"] == "flagged"


def test_a_float_hidden_by_its_format_is_read_as_shown_and_flagged(tmp_path):
    def edit(ws):
        r, _ = find(ws, ITEM_111)
        c = find(ws, "自评结果")[1]
        ws.cell(row=r, column=c, value=0.4).number_format = "0"
    r, [rec] = ingest_export(tmp_path, form_book(tmp_path / "h.xlsx", edit=edit))
    item = next(i for i in rec["items"] if i["code"] == "1.1.1")
    assert (item["self"], item["self_cell"]["number_format"]) == (0, "0")
    assert [d["message"] for d in rec["discrepancies"] if d["item"] == "1.1.1" and d["kind"] == "low_confidence_value"
            ] == [f"1.1.1 自评 {item['self_cell']['ref']}「0」：按数字格式「0」显示为 0，单元格实际为 0.4 (the number "
                  "format hides digits)"]


def two_form_book(path: Path, hide_second: bool = False) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for n, (sheet, kind) in enumerate((("青海", "qh"), ("国家", "national"))):
        spec = form_spec(kind, Variant(), random.Random(f"book{n}"))
        ws = wb.create_sheet(sheet)
        spec_to_sheet(ws, spec, SheetOptions(formulas=False, sheet=sheet))
        if hide_second and n == 1:
            ws.sheet_state = "hidden"
    wb.create_sheet("说明")["A1"] = "填表说明：按实际情况填写。"
    return save(wb, path)


def test_every_sheet_that_holds_a_form_is_a_form_named_by_its_sheet_and_reingest_skips(tmp_path):
    p = two_form_book(tmp_path / "book.xlsx")
    r, recs = ingest_export(tmp_path, p)
    assert r.exit_code == 0, r.output
    assert [(x["source"], x["rubric"], x["rubric_score"]) for x in recs] == [
        (f"{p}!青海", "qinghai-2024", 100.0), (f"{p}!国家", "national-2020", 100.0)]
    assert len({x["sha256"] for x in recs}) == 1  # the file's, for both
    assert recs[1]["items"][0]["self_cell"]["ref"].startswith("国家!")
    again = CliRunner().invoke(main, ["ingest", str(p), "--db", str(tmp_path / "s.db")])
    assert again.stderr.strip().splitlines()[-1].startswith("0 read, 0 flagged, 0 failed, 1 skipped")


def test_a_hidden_sheet_counts_only_when_no_visible_sheet_is_a_form(tmp_path):
    r, recs = ingest_export(tmp_path, two_form_book(tmp_path / "book.xlsx", hide_second=True))
    assert [(x["source"], x["rubric"]) for x in recs] == [(str(tmp_path / "book.xlsx"), "qinghai-2024")]


def test_a_workbook_that_holds_no_form_is_refused_with_each_sheets_reason(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    for r, row in enumerate((("姓名", "单位", "电话"), ("张三", "某中心", "123")), 1):
        for c, v in enumerate(row, 1):
            ws.cell(row=r, column=c, value=v)
    wb.create_sheet("空表")
    r, [rec] = ingest_export(tmp_path, save(wb, tmp_path / "list.xlsx"))
    assert r.exit_code == 1
    assert rec["status"] == "failed"
    assert rec["error"] == ("no sheet holds a self-evaluation form (名单: no self-evaluation table found; 空表: no "
                            "self-evaluation table found)")


def test_an_xlsm_is_read_without_its_macros(tmp_path):
    p = form_book(tmp_path / "m.xlsx")
    macro = tmp_path / "m.xlsm"
    with zipfile.ZipFile(p) as z, zipfile.ZipFile(macro, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
                    b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                                 b"</Types>")
            out.writestr(info.filename, data)
        # A macro that would leave a trace if anything ran it: the reader never looks at it.
        out.writestr("xl/vbaProject.bin", b"Sub Auto_Open(): Kill \"C:\\*.*\": End Sub")
    r, recs = ingest_export(tmp_path, p, macro)
    assert [(x["format"], x["error"]) for x in recs] == [("xlsx", None), ("xlsm", None)]
    assert [i["self"] for i in recs[1]["items"]] == [i["self"] for i in recs[0]["items"]]


# --- .xls that is something else, and LibreOffice missing ----------------------------------------------------


def test_an_xls_that_is_really_csv_is_read_as_such(tmp_path):
    p = tmp_path / "export.xls"
    p.write_bytes("小项,自评结果,督查结果\r\n设有办公室,3,2\r\n".encode("gb18030"))
    doc = only_sheet(p)
    assert [(c.ref, c.text) for c in doc.tables[0].cells] == [
        ("A1", "小项"), ("B1", "自评结果"), ("C1", "督查结果"), ("A2", "设有办公室"), ("B2", "3"), ("C2", "2")]


@needs_soffice
def test_an_xls_that_is_really_html_is_converted_with_its_spans(tmp_path):
    p = tmp_path / "web.xls"
    p.write_text("<html><body><table border=1><tr><td>大项</td><td>小项</td><td>自评结果</td></tr>"
                 "<tr><td rowspan=2>机构建设</td><td>设有办公室</td><td>3</td></tr>"
                 "<tr><td>配备专职人员</td><td>2</td></tr></table></body></html>", encoding="utf-8")
    doc = only_sheet(p)
    cat = next(c for c in doc.tables[0].cells if c.text == "机构建设")
    assert (cat.rowspan, doc.kind) == (2, "xls")
    assert [c.text for c in doc.tables[0].cells if c.col == 2] == ["自评结果", "3", "2"]


@pytest.mark.parametrize("content, what", [
    (b"%PDF-1.4 ...", "not a spreadsheet: it is a PDF file (send it as .pdf); open it in Excel or WPS and save it "
                      "as .xlsx"),
    (b"\x00\x01\x02\x03garbage\xff\xfe\x00\x00", "not a spreadsheet: unknown content (starts with 00 01 02 03 67 61 "
                                                  "72 62); open it in Excel or WPS and save it as .xlsx"),
])
def test_an_xls_that_is_no_spreadsheet_is_refused(tmp_path, content, what):
    p = tmp_path / "x.xls"
    p.write_bytes(content)
    with pytest.raises(ParseError) as e:
        path_to_sheets(p)
    assert str(e.value) == what


def test_without_libreoffice_an_xls_is_refused_naming_the_package(tmp_path, monkeypatch):
    from extractor.parsers import legacy

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(legacy, "_MAC_SOFFICE", str(tmp_path / "no-such-soffice"))
    p = tmp_path / "old.xls"
    p.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504)
    with pytest.raises(ParseError) as e:
        path_to_sheets(p)
    assert str(e.value) == sheets_convert.NEEDS_CALC == ("reading .xls, .et and .ods needs LibreOffice Calc: apt-get "
                                                         "install libreoffice-calc-nogui, or open it in Excel or WPS "
                                                         "and save it as .xlsx")
    assert sheets_convert.calc_install_hint("win32").startswith("reading .xls, .et and .ods needs LibreOffice Calc: "
                                                                "install LibreOffice with the installer for Windows")


# --- limits ---------------------------------------------------------------------------------------------------


def refused(path: Path, seconds: float = 20.0) -> tuple[str, int]:
    """The refusal of a workbook, checked to come within seconds, and the peak Python memory reading took."""
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(ParseError) as e:
            XlsxParser().path_to_sheets(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < seconds
    assert "\n" not in str(e.value)
    return str(e.value), peak


def raw_book(path: Path, sheet_xml: bytes | None = None, chunks=None, shared: bytes | None = None) -> Path:
    """A minimal .xlsx whose sheet XML is given whole or streamed in chunks (so building it costs no memory)."""
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   b'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   b'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                   b'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   b'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   b'"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", b'<?xml version="1.0"?><workbook ' + ns + b' xmlns:r="http://schemas.'
                   b'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" '
                   b'r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", b'<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   b'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                   b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            if sheet_xml is not None:
                f.write(sheet_xml)
            else:
                f.write(b'<?xml version="1.0"?><worksheet ' + ns + b"><sheetData>")
                for chunk in chunks:
                    f.write(chunk)
                f.write(b"</sheetData></worksheet>")
    return path


def test_a_million_row_sheet_is_refused_quickly_in_little_memory(tmp_path):
    rows = (b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (r, r) for r in range(n, n + 1000))
            for n in range(1, 1_000_000, 1000))
    message, peak = refused(raw_book(tmp_path / "big.xlsx", chunks=rows))
    assert message == ("the workbook is too large to read (more than 16 MB of XML in xl/worksheets/sheet1.xml, or "
                       "100 MB in all): send the form alone")
    assert peak < 50 * 1024 * 1024


def test_a_sheet_of_more_cells_than_the_limit_is_refused_while_counting(tmp_path, monkeypatch):
    from extractor.parsers import xlsx_guard

    monkeypatch.setattr(xlsx_guard, "MAX_SHEET_CELLS", 5000)  # the count is the same at 200000, only slower
    rows = (b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>1</v></c>' % (col, r) for col in (b"A", b"B"))
                     + b"</row>" for r in range(n, n + 1000)) for n in range(1, 5_001, 1000))
    message, _ = refused(raw_book(tmp_path / "cells.xlsx", chunks=rows))
    assert message == ("the sheet 'S' holds more than 5000 cells (or the workbook more than 500000): a form has a "
                       "few thousand; delete what is not the form and send it again")


def test_a_merged_range_over_the_whole_sheet_is_refused_before_openpyxl_builds_it(tmp_path):
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    xml = (b'<?xml version="1.0"?><worksheet ' + ns + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t>'
           b'</is></c></row></sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>'
           b'</worksheet>')
    message, _ = refused(raw_book(tmp_path / "merge.xlsx", xml))
    assert message == ("the sheet 'S' merges more than 250000 cells: a form merges a few hundred; unmerge what is not "
                       "the form and send it again")


def test_a_zip_bomb_of_shared_strings_is_refused_unread(tmp_path):
    def zeros():
        for _ in range(40):
            yield b"<si><t>" + b"0" * (1024 * 1024) + b"</t></si>"
    p = raw_book(tmp_path / "bomb.xlsx", sheet_xml=b"<worksheet/>")
    with zipfile.ZipFile(p, "a", zipfile.ZIP_DEFLATED) as z, z.open("xl/sharedStrings.xml", "w") as f:
        for chunk in zeros():
            f.write(chunk)
    message, peak = refused(p)
    assert message == ("the workbook is too large to read (more than 16 MB of XML in xl/sharedStrings.xml, or 100 MB "
                       "in all): send the form alone")
    assert peak < 50 * 1024 * 1024


def test_a_dtd_is_refused(tmp_path):
    xml = (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
           b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')
    message, _ = refused(raw_book(tmp_path / "dtd.xlsx", xml))
    assert message == ("the workbook's part xl/worksheets/sheet1.xml declares a DTD, which Excel never writes: open it "
                       "in Excel or WPS and save it again as .xlsx")


def test_a_stray_cell_far_from_the_form_is_its_own_block_not_a_huge_table(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["A2"], ws["B2"] = "小项", "自评结果", "设有办公室", 3
    ws["Z60000"] = "x"
    doc = only_sheet(save(wb, tmp_path / "stray.xlsx"))
    assert [(t.n_rows, t.n_cols) for t in doc.tables] == [(2, 2)]
    assert doc.lines == ["x"]


def test_the_sheets_page_header_gives_page_lines(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.oddHeader.center.text = "评价机构名称：海东市职业培训学校"
    ws.oddFooter.right.text = "第&P页"
    ws["A1"], ws["B1"] = "小项", "自评结果"
    doc = only_sheet(save(wb, tmp_path / "h.xlsx"))
    assert doc.page_lines == ["评价机构名称：海东市职业培训学校", "第页"]


def test_an_ole2_file_under_a_spreadsheet_name_is_named_for_what_it_is(tmp_path):
    from tests.test_legacy import renamed_stream

    with pytest.raises(ParseError) as e:
        path_to_sheets(renamed_stream(tmp_path / "locked.xlsx", "WordDocument", "EncryptedPackage"))
    assert str(e.value) == "the workbook is password-protected: remove the password and send it again"
    with pytest.raises(ParseError) as e:
        path_to_sheets(renamed_stream(tmp_path / "word.xls", "WordDocument", "WordDocument"))
    assert str(e.value) == ("not a spreadsheet: it is a Word 97-2003 document (send it as .doc); open it in Excel or "
                            "WPS and save it as .xlsx")


@needs_soffice
def test_an_ole2_file_that_calc_cannot_convert_is_refused(tmp_path):
    from tests.test_legacy import renamed_stream

    with pytest.raises(ParseError) as e:
        path_to_sheets(renamed_stream(tmp_path / "odd.et", "WordDocument", "Workbook"))
    assert str(e.value) == ("LibreOffice could not convert this .et (damaged or password-protected?): open it in Excel "
                            "or WPS and save it as .xlsx")


def test_charts_chartsheets_images_and_comments_are_never_built(tmp_path):
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment

    def edit(ws):
        chart = BarChart()
        chart.add_data(Reference(ws, min_col=6, min_row=15, max_row=20))
        ws.add_chart(chart, "J2")
        ws["A1"].comment = Comment("批注", "张三")
    p = form_book(tmp_path / "c.xlsx", edit=edit)
    wb_path = tmp_path / "charts.xlsx"
    from openpyxl import load_workbook

    wb = load_workbook(p)
    wb.create_chartsheet("图表")  # openpyxl 3.1 cannot read back a chartsheet without relationships
    wb.save(wb_path)
    r, [rec] = ingest_export(tmp_path, wb_path)
    assert (rec["status"], rec["error"], rec["rubric_score"]) == ("ok", None, 100.0)


def test_a_value_hidden_under_a_merged_range_is_a_doubt_not_dropped(tmp_path):
    from openpyxl.utils import get_column_letter

    at = []

    def edit(ws):
        r, _ = find(ws, ITEM_111)
        c = find(ws, "自评结果")[1]
        ws.cell(row=r, column=c).value = None
        ws.cell(row=r, column=c + 1).value = 4  # a web system's merge of 自评|督查 with the value in its right cell
        at.append(f"{get_column_letter(c)}{r}:{get_column_letter(c + 1)}{r}")
    p = form_book(tmp_path / "m.xlsx", edit=edit)
    # openpyxl would move the value away when merging: the merge is written into the XML, as such a system does.
    patch_sheet(p, lambda xml: xml.replace("</mergeCells>", f'<mergeCell ref="{at[0]}"/></mergeCells>'))
    r, [rec] = ingest_export(tmp_path, p)
    item = next(i for i in rec["items"] if i["code"] == "1.1.1")
    assert (item["self"], item["inspector"]) == (None, None)  # the hidden 4 is never read as a value
    assert [(d["kind"], d["side"], d["message"]) for d in rec["discrepancies"] if d["item"] == "1.1.1"] == [
        ("missing_score", "self", "1.1.1 自评未填分"),
        ("low_confidence_value", "self", f"1.1.1 自评 自评表!{at[0].split(':')[0]}「」：合并单元格遮住了 "
                                         f"{at[0].split(':')[1]} 中的值，只读了左上角 (a value hidden under the merged "
                                         "cell)")]


def test_empty_rows_and_columns_at_the_edges_are_trimmed(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["C3"], ws["D3"], ws["E3"] = "小项", "自评结果", "督查结果"
    ws["C4"], ws["D4"] = "设有办公室", 3
    ws["H20"].border = Border(left=Side(style="thin"))  # a formatted but empty cell: no content, no extent
    ws.column_dimensions["A"].width = 30
    doc = only_sheet(save(wb, tmp_path / "t.xlsx"))
    [t] = doc.tables
    assert (t.n_rows, t.n_cols) == (2, 3)
    assert [(c.row, c.col, c.ref) for c in t.cells][:3] == [(0, 0, "Sheet!C3"), (0, 1, "Sheet!D3"), (0, 2, "Sheet!E3")]
    assert cell_at(doc, "Sheet!E4").text == ""  # an empty cell inside the table is kept
