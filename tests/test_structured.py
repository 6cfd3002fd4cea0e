"""Structured discrepancy fields (side, row, total, category), findings raised while reading, and their way
through the store, a review and the export: Forms built from extractor.form dataclasses, real SQLite files."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from extractor.checks import SEVERITY, apply_checks
from extractor.export import CSV_COLUMNS, form_to_json, json_to_csv
from extractor.form import Discrepancy, ExtraRow, Finding, Form, ItemResult, PrintedTotal
from extractor.review import accept, set_value
from extractor.show import form_to_text
from extractor.store import load_form, open_db, save_form

D = Decimal
TOTAL_ROW = {"table": 0, "row": 9, "col": 4}
GRAND_ROW = {"table": 0, "row": 12, "col": 4}


def item(code: str, self: str | None = "1", inspector: str | None = "1", category: str = "甲", max: str = "2",
         **kw) -> ItemResult:
    """An item read from a row: numbers for the given texts, blank for "", text otherwise."""
    def read(text: str | None) -> tuple:
        if text is None:
            return None, None, None
        if text == "":
            return None, "", "blank"
        try:
            return D(text), text, "number"
        except ArithmeticError:
            return None, text, "text"

    (s, s_raw, s_kind), (i, i_raw, i_kind) = read(self), read(inspector)
    fields = dict(code=code, category=category, label=f"条目{code}", max=D(max), self=s, inspector=i, self_raw=s_raw,
                  inspector_raw=i_raw, self_kind=s_kind, inspector_kind=i_kind, raw_label=f"条目{code}",
                  match_score=100.0, provenance={"table": 0, "row": int(code.split(".")[-1]), "col": 4})
    fields.update(kw)
    return ItemResult(**fields)


def form(items: list[ItemResult], **kw) -> Form:
    fields = dict(source="a.docx", sha256="a" * 64, rubric="r", institution="某学校", fill_date="2024-05-20",
                  has_inspector=True, items=items)
    fields.update(kw)
    return Form(**fields)


def structured(f: Form, ignore: tuple[str, ...] = ("self_inspector_diff",)) -> list[tuple]:
    return [(d.kind, d.item, d.severity, d.side, d.row, d.total, d.category) for d in f.discrepancies
            if d.kind not in ignore]


@pytest.mark.parametrize("values, want", [
    (("3", "1"), [("over_cap", "1.1", "error", "self", None, None, None)]),
    (("1", "3"), [("over_cap", "1.1", "error", "inspector", None, None, None)]),
    (("-1", "1"), [("negative_score", "1.1", "error", "self", None, None, None)]),
    (("1", "-0.5"), [("negative_score", "1.1", "error", "inspector", None, None, None)]),
    (("待定", "1"), [("non_numeric", "1.1", "warning", "self", None, None, None)]),
    (("1", "见附件"), [("non_numeric", "1.1", "warning", "inspector", None, None, None)]),
    (("", "1"), [("missing_score", "1.1", "warning", "self", None, None, None)]),
    (("1", ""), [("missing_score", "1.1", "warning", "inspector", None, None, None)]),
])
def test_value_discrepancies_name_their_side(values, want):
    f = apply_checks(form([item("1.1", *values), item("1.2")]))
    assert structured(f) == want


def test_low_confidence_value_names_its_side_only_when_it_can_tell():
    only_self = item("1.1", inspector=None, provenance={"table": 0, "row": 1, "col": 4, "confidence": 0.5})
    both = item("1.2", provenance={"table": 0, "row": 2, "col": 4, "confidence": 0.5})
    per_side = item("1.3", provenance={"table": 0, "row": 3, "col": 4, "confidence": 0.5,
                                       "self_confidence": 0.97, "inspector_confidence": 0.5})
    f = apply_checks(form([only_self, both, per_side], has_inspector=False))
    assert [(d.kind, d.item, d.side) for d in f.discrepancies] == [
        ("low_confidence_value", "1.1", "self"), ("low_confidence_value", "1.2", None),
        ("low_confidence_value", "1.3", "inspector")]


def test_total_mismatch_carries_the_total_its_side_and_the_printed_row():
    printed = [PrintedTotal("total", D(5), D(2), "5", "2", provenance=TOTAL_ROW),
               PrintedTotal("bonus", D(1), D(1), "1", "1", provenance={"table": 0, "row": 10}),
               PrintedTotal("grand", D(3), D(4), "3", "4", provenance=GRAND_ROW)]
    f = apply_checks(form([item("1.1"), item("1.2")], printed=printed))
    assert [(d.kind, d.message) for d in f.discrepancies] == [
        ("total_mismatch", "自评总分填 5，各项相加为 2"),
        ("total_mismatch", "自评合计填 3，但总分 5 + 加分 1 - 减分 0 = 6"),
        ("total_mismatch", "督查合计填 4，但总分 2 + 加分 1 - 减分 0 = 3")]
    assert structured(f) == [("total_mismatch", None, "error", "self", TOTAL_ROW, "total", None),
                             ("total_mismatch", None, "error", "self", GRAND_ROW, "grand", None),
                             ("total_mismatch", None, "error", "inspector", GRAND_ROW, "grand", None)]


def test_subtotal_mismatch_carries_subtotal_its_category_side_and_row():
    sub_row = {"table": 0, "row": 3, "col": 4}
    printed = [PrintedTotal("subtotal", D(2), D(9), "2", "9", category="乙", provenance=sub_row),
               PrintedTotal("subtotal", D(2), D(2), "2", "2", category="甲", provenance={"table": 0, "row": 6})]
    f = apply_checks(form([item("1.1"), item("1.2"), item("2.1", "1", "1", category="乙"),
                           item("2.2", "1", "1", category="乙")], printed=printed))
    assert [d.message for d in f.discrepancies] == ["乙 督查小计填 9，各项相加为 2"]
    assert structured(f) == [("subtotal_mismatch", None, "error", "inspector", sub_row, "subtotal", "乙")]


def test_unmatched_and_duplicate_rows_carry_their_rows_provenance():
    extra = [ExtraRow("unmatched", "其他", "1", "", 20.0, provenance={"table": 0, "row": 7, "col": 2}),
             ExtraRow("duplicate", "条目1.1", "1", "1", 90.0, item="1.1", provenance={"table": 1, "row": 2, "page": 2})]
    f = apply_checks(form([item("1.1")], extra_rows=extra))
    assert structured(f) == [
        ("unmatched_row", None, "warning", None, {"table": 0, "row": 7, "col": 2}, None, None),
        ("duplicate_item", "1.1", "error", None, {"table": 1, "row": 2, "page": 2}, None, None)]


def test_a_discrepancy_row_is_a_copy_of_the_provenance():
    prov = {"table": 0, "row": 7}
    f = apply_checks(form([item("1.1")], extra_rows=[ExtraRow("unmatched", "其他", "", "", 20.0, provenance=prov)]))
    prov["row"] = 99
    assert f.discrepancies[0].row == {"table": 0, "row": 7}


@pytest.mark.parametrize("kind, severity, status", [
    ("column_conflict", "warning", "flagged"), ("unknown_column", "warning", "flagged"),
    ("tick_ambiguous", "warning", "flagged"), ("deduction", "info", "ok"), ("full_marks", "info", "ok"),
    ("formula_uncached", "warning", "flagged"), ("a_kind_from_a_newer_reader", "warning", "flagged"),
])
def test_findings_become_discrepancies_of_their_severity(kind, severity, status):
    it = item("1.1", findings=[Finding(kind, f"1.1 says {kind}", "inspector")])
    f = apply_checks(form([it, item("1.2")], findings=[Finding(kind, f"form says {kind}")]))
    assert [(d.item, d.kind, d.severity, d.message, d.side) for d in f.discrepancies] == [
        ("1.1", kind, severity, f"1.1 says {kind}", "inspector"), (None, kind, severity, f"form says {kind}", None)]
    assert f.status == status


def test_the_new_kinds_and_their_severities():
    assert {k: SEVERITY[k] for k in ("column_conflict", "unknown_column", "tick_ambiguous", "deduction",
                                      "full_marks", "formula_uncached")} == {
        "column_conflict": "warning", "unknown_column": "warning", "tick_ambiguous": "warning",
        "deduction": "info", "full_marks": "info", "formula_uncached": "warning"}


def test_an_item_finding_comes_after_its_value_discrepancies_and_a_missing_items_findings_survive():
    over = item("1.1", "3", "1", findings=[Finding("deduction", "1.1 自评 2 - 扣1分", "self")])
    missing = ItemResult(code="1.2", category="甲", label="条目1.2", max=D(2),
                         findings=[Finding("column_conflict", "1.2 row found but cells do not line up")])
    f = apply_checks(form([over, missing]))
    assert [(d.kind, d.item) for d in f.discrepancies] == [
        ("over_cap", "1.1"), ("self_inspector_diff", "1.1"), ("deduction", "1.1"), ("missing_item", "1.2"),
        ("column_conflict", "1.2")]


def test_a_side_whose_value_a_finding_left_unread_gets_no_missing_score_too():
    # column_conflict: the value was not guessed, so the blank is the conflict's, not the filler's.
    conflict = item("1.1", "", "", findings=[Finding("column_conflict", "1.1 自评: two cells compete", "self")])
    ticks = item("1.2", "1", "x", findings=[Finding("tick_ambiguous", "1.2 督查: two ticks", "inspector")])
    f = apply_checks(form([conflict, ticks]))
    assert [(d.kind, d.item, d.side) for d in f.discrepancies] == [
        ("missing_score", "1.1", "inspector"), ("column_conflict", "1.1", "self"),
        ("tick_ambiguous", "1.2", "inspector")]


def test_printed_max_is_read_by_the_one_number_reader():
    # Full-width digits and point: parse_number reads 6, which the rubric's 5 contradicts.
    f = apply_checks(form([item("1.1", max="5", printed_max="６．０分"), item("1.2", printed_max="2分"),
                           item("1.3", printed_max="1 1")]))
    assert [(d.kind, d.item, d.message) for d in f.discrepancies] == [
        ("max_mismatch", "1.1", "1.1 表上分值 6，评分细则为 5")]


def rich_form() -> Form:
    """A form with every new field set: notes, item and form findings, structured discrepancies."""
    a = item("1.1", "5", "4", max="5", self_raw="5（已整改）", self_note="已整改", inspector_raw="4，缺少记录",
             inspector_note="缺少记录", findings=[Finding("deduction", "1.1 督查 5 - 扣1分 = 4", "inspector")])
    b = item("1.2", "", "1", findings=[Finding("column_conflict", "1.2 自评: two cells compete", "self")])
    printed = [PrintedTotal("total", D(9), D(5), "9", "5", provenance=TOTAL_ROW)]
    extra = [ExtraRow("unmatched", "其他", "1", "", 20.0, provenance={"table": 0, "row": 7, "page": 1,
                                                                        "bbox": [1.5, 2.0, 30.25, 40.0]})]
    return apply_checks(form([a, b], printed=printed, extra_rows=extra,
                             findings=[Finding("unknown_column", "column 市州初审 holds numbers")]))


def test_every_new_field_round_trips_through_a_real_sqlite_file(tmp_path):
    f = rich_form()
    path = tmp_path / "s.db"
    fid = save_form(open_db(path), f)
    back = load_form(open_db(path), fid)
    assert [(i.self_note, i.inspector_note, i.findings) for i in back.items] == [
        ("已整改", "缺少记录", [Finding("deduction", "1.1 督查 5 - 扣1分 = 4", "inspector")]),
        (None, None, [Finding("column_conflict", "1.2 自评: two cells compete", "self")])]
    assert back.findings == [Finding("unknown_column", "column 市州初审 holds numbers", None)]
    assert back.discrepancies == f.discrepancies
    assert [(d.kind, d.side, d.row, d.total) for d in back.discrepancies if d.row] == [
        ("total_mismatch", "self", TOTAL_ROW, "total"),
        ("unmatched_row", None, {"table": 0, "row": 7, "page": 1, "bbox": [1.5, 2.0, 30.25, 40.0]}, None)]
    # Re-checking the loaded form raises the same findings again.
    assert apply_checks(back).discrepancies == f.discrepancies


def test_findings_survive_a_correction_round_trip(tmp_path):
    path = tmp_path / "s.db"
    db = open_db(path)
    f = rich_form()
    fid = save_form(db, f)
    before = [(d.item, d.kind, d.side) for d in f.discrepancies]
    corrected = set_value(db, fid, "1.2", "self", "1", "two cells competed; the form says 1", who="张三").form
    after = [(d.item, d.kind, d.side) for d in corrected.discrepancies]
    # The correction fills 1.2's self: its findings stay, the totals now add up differently.
    assert ("1.2", "column_conflict", "self") in after and ("1.1", "deduction", "inspector") in after
    assert (None, "unknown_column", None) in after
    assert [x for x in before if x not in after] == []
    stored = open_db(path).execute(
        "SELECT item, kind, side FROM discrepancies WHERE form_id = ? AND kind IN "
        "('column_conflict', 'deduction', 'unknown_column') ORDER BY id", [fid]).fetchall()
    assert stored == [("1.1", "deduction", "inspector"), ("1.2", "column_conflict", "self"),
                      (None, "unknown_column", None)]
    reloaded = load_form(open_db(path), fid)
    assert reloaded.items[1].self == D(1) and reloaded.items[1].findings == f.items[1].findings
    accepted = accept(db, fid, "column_conflict", "1.2", "checked on paper", who="李四").form
    conflict = next(d for d in accepted.discrepancies if d.kind == "column_conflict")
    assert conflict.accepted == {"who": "李四", "at": conflict.accepted["at"], "why": "checked on paper"}


def test_a_kind_unknown_to_this_version_can_be_accepted_when_the_form_has_it(tmp_path):
    db = open_db(tmp_path / "s.db")
    fid = save_form(db, apply_checks(form([item("1.1")], findings=[Finding("from_the_future", "new doubt")])))
    assert load_form(db, fid).status == "flagged"
    assert accept(db, fid, "from_the_future", None, "seen", who="李四").status == "ok"


ITEM_FIELDS = ["code", "category", "label", "max", "self", "inspector", "self_raw", "inspector_raw", "raw_label",
               "match_score", "max_source", "corrected", "extracted", "provenance", "self_note", "inspector_note",
               "self_cell", "inspector_cell"]
DISCREPANCY_FIELDS = ["item", "kind", "severity", "message", "accepted", "side", "row", "total", "category"]


def test_json_export_keeps_the_old_fields_first_then_the_new_ones():
    rec = form_to_json(rich_form(), 1)
    assert list(rec) == ["source", "sha256", "status", "error", "rubric", "institution", "fill_date", "header",
                         "items", "totals", "discrepancies", "id", "rubric_score", "superseded_by", "format", "path"]
    assert [list(i) for i in rec["items"]] == [ITEM_FIELDS, ITEM_FIELDS]
    assert (rec["items"][0]["self_note"], rec["items"][0]["inspector_note"]) == ("已整改", "缺少记录")
    assert {tuple(d) for d in rec["discrepancies"]} == {tuple(DISCREPANCY_FIELDS)}
    total = next(d for d in rec["discrepancies"] if d["kind"] == "total_mismatch")
    assert total == {"item": None, "kind": "total_mismatch", "severity": "error",
                     "message": "自评总分填 9，各项相加为 5", "accepted": False, "side": "self",
                     "row": TOTAL_ROW, "total": "total", "category": None}


def test_json_export_of_a_subtotal_mismatch_names_its_category():
    printed = [PrintedTotal("subtotal", D(1), D(2), "1", "2", category="甲", provenance={"table": 0, "row": 3})]
    rec = form_to_json(apply_checks(form([item("1.1"), item("1.2")], printed=printed)))
    assert [(d["total"], d["category"], d["side"], d["row"]) for d in rec["discrepancies"]] == [
        ("subtotal", "甲", "self", {"table": 0, "row": 3})]


def test_csv_gains_the_notes_at_the_end():
    assert CSV_COLUMNS[-3:] == ["corrected", "self_note", "inspector_note"]
    rows = list(csv.DictReader(io.StringIO(json_to_csv([form_to_json(rich_form(), 1)]))))
    assert [(r["code"], r["self_note"], r["inspector_note"]) for r in rows] == [("1.1", "已整改", "缺少记录"),
                                                                                ("1.2", "", "")]


def test_discrepancy_defaults_keep_old_callers_working():
    d = Discrepancy("1.1", "over_cap", "error", "m")
    assert (d.side, d.row, d.total, d.category) == (None, None, None, None)


def test_show_prints_the_notes_and_the_finding_discrepancies():
    text = form_to_text(rich_form(), 1)
    assert "note     1.1 自评: 已整改" in text.splitlines() and "note     1.1 督查: 缺少记录" in text.splitlines()
    assert "  warning unknown_column       -        column 市州初审 holds numbers" in text.splitlines()
