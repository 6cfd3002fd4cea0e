"""The spreadsheet samples (samples.sheets) read through the real CLI: every value and header field exact against
the generator's truth, for openpyxl-made, LibreOffice-recalculated, .xls and .ods workbooks and the two-form
workbook; and the store keeping a workbook's forms together."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from extractor.form import Form, ItemResult
from extractor.store import open_db, replace_failed, save_form
from samples.sheets import BOOK_PLAN, SHEET_PLAN, generate_sheets

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
RUBRIC_IDS = {"qinghai": "qinghai-2024", "national": "national-2020"}
BOOK = f"book_{len(SHEET_PLAN) + 1:02d}.xlsx"


@pytest.fixture(scope="module")
def read(tmp_path_factory):
    """The generated spreadsheets, ingested: (truth, {truth key: export record}, ingest result, their folder)."""
    folder = tmp_path_factory.mktemp("sheets")
    truth = generate_sheets(folder / "forms", seed=0)
    db = folder / "s.db"
    result = CliRunner().invoke(main, ["ingest", str(folder / "forms"), "--db", str(db)])
    records = json.loads(CliRunner().invoke(main, ["export", "--db", str(db), "--all"]).stdout)
    by_key = {}
    for rec in records:
        rel = Path(rec["source"].split("!")[0]).name + "".join("!" + p for p in rec["source"].split("!")[1:])
        by_key[rel] = rec
    return truth, by_key, result, folder / "forms"


def _number(v):
    return Decimal(str(v)) if isinstance(v, (int, float)) else v


@needs_soffice
def test_the_generator_writes_every_producer_and_the_two_form_book(read):
    truth, _, _, _ = read
    producers = {p for *_, p in SHEET_PLAN}
    assert producers == {"openpyxl", "lo_xlsx", "xls", "ods"}
    assert len(truth) == len(SHEET_PLAN) + sum(len(sheets) for _, sheets in BOOK_PLAN) == 16
    assert {Path(k.split("!")[0]).suffix for k in truth} == {".xlsx", ".xls", ".ods"}
    assert [k for k in truth if "!" in k] == [f"{BOOK}!自评表", f"{BOOK}!国家指标"]


@needs_soffice
def test_every_value_and_header_field_is_read_exactly(read):
    truth, by_key, result, _ = read
    assert result.exit_code == 1  # truth.json beside the forms is no form
    assert sorted(by_key) == sorted([*truth, "truth.json"])
    wrong = []
    for key, t in truth.items():
        rec = by_key[key]
        assert rec["status"] != "failed", (key, rec["error"])
        assert rec["rubric"] == RUBRIC_IDS[t["rubric"]]
        by_label = {i["label"]: i for i in rec["items"]}
        for label, want in t["items"].items():
            for side in ("self", "inspector"):
                if _number(by_label[label][side]) != _number(want[side]):
                    wrong.append((key, label[:12], side, by_label[label][side], want[side]))
        assert (rec["institution"], rec["fill_date"]) == (t["institution"], t["fill_date"]), key
        if "stats" in t:
            assert rec["header"] == t["stats"], key
    assert wrong == []


@needs_soffice
def test_planted_errors_are_found_and_nothing_else_is_flagged_but_uncached_totals(read):
    truth, by_key, _, _ = read
    for key, t in truth.items():
        rec = by_key[key]
        codes = {i["label"]: i["code"] for i in rec["items"]}
        want = {(f["kind"], codes[f["label"]] if f["label"] else None) for f in t["flags"]
                if f["kind"] != "self_inspector_diff"}
        got = {(d["kind"], d["item"] if d["kind"] not in ("total_mismatch", "unmatched_row") else None)
               for d in rec["discrepancies"] if d["kind"] not in ("self_inspector_diff", "header_missing",
                                                                  "formula_uncached")}
        assert got == {(k, None if k in ("total_mismatch", "unmatched_row") else i) for k, i in want}, key


@needs_soffice
def test_openpyxl_totals_are_uncached_and_libreoffices_are_saved(read):
    _, by_key, _, _ = read
    uncached = {k for k, rec in by_key.items() if any(d["kind"] == "formula_uncached" for d in rec["discrepancies"])}
    # The openpyxl-made files whose totals are formulas (the two-form book's Qinghai sheet too; the national one
    # prints no total); LibreOffice saved every value.
    assert uncached == {"qh_sheet_merged_01.xlsx", f"{BOOK}!自评表"}
    recalc = by_key["qh_sheet_recalc_06.xlsx"]
    assert recalc["totals"]["self"] == recalc["totals"]["self_computed"]
    merged = by_key["qh_sheet_merged_01.xlsx"]
    assert [d["message"].split("：")[0] for d in merged["discrepancies"] if d["kind"] == "formula_uncached"
            ] == ["总分自评 自评表!F82", "总分督查 自评表!G82", "合计自评 自评表!F85", "合计督查 自评表!G85"]
    assert merged["totals"]["self"] is None


@needs_soffice
def test_every_item_carries_its_sheet_and_a1_address(read):
    _, by_key, _, _ = read
    for key in ("qh_sheet_xls_merged_09.xls", "national_sheet_ods_national_12.ods", f"{BOOK}!国家指标"):
        rec = by_key[key]
        sheet = key.split("!")[1] if "!" in key else None
        refs = [i["self_cell"]["ref"] for i in rec["items"] if i["self_cell"]]
        assert refs and all("!" in r for r in refs), key
        if sheet:
            assert all(r.startswith(sheet + "!") for r in refs)
    dec = by_key["qh_sheet_repeat_dec_03.xlsx"]
    assert {i["self_cell"].get("number_format") for i in dec["items"] if i["self_cell"]} == {"0.0"}


@needs_soffice
def test_a_wps_et_file_is_converted_as_an_xls(read, tmp_path):
    _, by_key, _, folder = read
    et = tmp_path / "自评表.et"
    shutil.copyfile(folder / "qh_sheet_xls_merged_09.xls", et)
    db = tmp_path / "e.db"
    CliRunner().invoke(main, ["ingest", str(et), "--db", str(db)])
    [rec] = json.loads(CliRunner().invoke(main, ["export", "--db", str(db)]).stdout)
    want = by_key["qh_sheet_xls_merged_09.xls"]
    assert (rec["format"], rec["status"]) == ("et", want["status"])
    assert [(i["self"], i["inspector"]) for i in rec["items"]] == [(i["self"], i["inspector"]) for i in want["items"]]


def _form(source: str, sha: str, code: str = "1.1.1") -> Form:
    item = ItemResult(code=code, category="机构建设", label="x", max=Decimal(3), self=Decimal(3), raw_label="x")
    return Form(source=source, sha256=sha, institution=source, rubric="qinghai-2024", items=[item])


def test_the_store_keeps_a_workbooks_forms_together_and_dedupes_them_by_the_files_bytes(tmp_path):
    db = open_db(tmp_path / "s.db")
    first = save_form(db, _form("b.xlsx!A", "aa"), siblings=[_form("b.xlsx!B", "aa")])
    assert first is not None
    assert save_form(db, _form("copy.xlsx!A", "aa"), siblings=[_form("copy.xlsx!B", "aa")]) is None
    assert [r["source"] for r in db["forms"].rows] == ["b.xlsx!A", "b.xlsx!B"]
    failed = save_form(db, Form(source="c.xlsx", sha256="cc", status="failed", error="x"))
    again = replace_failed(db, _form("c.xlsx!A", "cc"), [failed], siblings=[_form("c.xlsx!B", "cc")])
    assert again is not None
    assert [(r["source"], r["status"]) for r in db["forms"].rows if r["sha256"] == "cc"] == [
        ("c.xlsx!A", "ok"), ("c.xlsx!B", "ok")]




def test_libreoffice_without_calc_is_told_apart_and_the_stamp_records_it(tmp_path):
    from extractor.parsers.sheets_convert import has_calc
    from extractor.stamp import installed_extras

    program = tmp_path / "program"
    program.mkdir()
    (program / "soffice").write_bytes(b"")
    assert has_calc(str(program / "soffice")) is True  # nothing to tell by: LibreOffice decides
    (program / "libswlo.so").write_bytes(b"")  # Writer's library: this is the program folder, and Calc's is missing
    assert has_calc(str(program / "soffice")) is False
    (program / "libsclo.so").write_bytes(b"")
    assert has_calc(str(program / "soffice")) is True
    assert set(installed_extras()) >= {"libreoffice", "libreoffice_calc"}


@needs_soffice
def test_reports_and_show_name_a_spreadsheet_items_cell_by_its_sheet_and_address(read):
    _, by_key, _, forms = read
    db = str(forms.parent / "s.db")
    key, rec, item = next((k, r, i) for k, r in by_key.items() for i in r["items"]
                          if any(d["kind"] == "over_cap" and d["item"] == i["code"] for d in r["discrepancies"]))
    ref = item["self_cell"]["ref"]
    assert "!" in ref, ref
    md = CliRunner().invoke(main, ["report", "--db", db, "--format", "md", "--source", rec["source"]]).stdout
    row = next(line for line in md.splitlines() if "over_cap" in line and item["code"] in line)
    assert ref.replace("!", "\\!") in row, row  # Markdown escapes "!" so that no cell makes an image
    shown = CliRunner().invoke(main, ["show", str(rec["id"]), "--db", db]).stdout
    line = next(x for x in shown.splitlines() if x.lstrip("! ").startswith(item["code"] + " "))
    assert ref in line, line
