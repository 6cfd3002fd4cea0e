"""The store: schema, foreign keys, one transaction per form, round-trip of a Form."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pytest
import sqlite_utils

from extractor import store
from extractor.extract import path_to_form
from extractor.form import Finding, Form, ItemResult
from extractor.store import DISCREPANCY_COLUMNS, ITEMS_COLUMNS, load_form, open_db, save_form

from .conftest import SAMPLES, truth, truth_items


def test_schema_has_tables_foreign_keys_and_indexes(tmp_path):
    db = open_db(tmp_path / "s.db")
    assert set(db.table_names()) >= {"forms", "items", "discrepancies", "corrections"}
    assert [(fk.column, fk.other_table, fk.other_column) for fk in db["items"].foreign_keys] == [
        ("form_id", "forms", "id")]
    assert [(fk.column, fk.other_table) for fk in db["discrepancies"].foreign_keys] == [("form_id", "forms")]
    assert {tuple(i.columns) for i in db["items"].indexes} >= {("form_id", "position"), ("code",)}
    assert {tuple(i.columns) for i in db["forms"].indexes} >= {("sha256",), ("source",)}
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_form_round_trips_exactly(tmp_path, rubrics):
    db = open_db(tmp_path / "s.db")
    form = path_to_form(SAMPLES / "qh_err_overcap_20.docx", rubrics)
    fid = save_form(db, form)
    back = load_form(db, fid)
    assert [(i.code, i.self, i.inspector, i.self_raw) for i in back.items] == [
        (i.code, i.self, i.inspector, i.self_raw) for i in form.items]
    assert [(d.kind, d.item) for d in back.discrepancies] == [(d.kind, d.item) for d in form.discrepancies]
    assert back.printed_total("total").self == Decimal(str(truth("qh_err_overcap_20.docx")["totals"]["self"]))
    assert db["items"].count == 67 and db["forms"].count == 1


def test_one_transaction_per_form_leaves_nothing_of_a_form_that_fails_midway(tmp_path):
    db = open_db(tmp_path / "s.db")
    bad = Form(source="x.docx", sha256="0" * 64, items=[
        ItemResult(code="1", category="A", label="a", max=Decimal(1), self=Decimal(1)),
        ItemResult(code="2", category="A", label="b", max=Decimal(1), self=object()),  # unstorable value
    ])
    with pytest.raises(sqlite3.ProgrammingError):
        save_form(db, bad)
    assert db["forms"].count == 0 and db["items"].count == 0
    good = Form(source="y.docx", sha256="1" * 64)
    save_form(db, good)
    assert [r["source"] for r in db["forms"].rows] == ["y.docx"]


def test_judgments_and_numbers_share_the_score_columns(tmp_path, rubrics):
    db = open_db(tmp_path / "s.db")
    fid = save_form(db, path_to_form(SAMPLES / "national_merged_30.docx", rubrics))
    want = truth_items("national_merged_30.docx")
    rows = list(db.query("select code, self, typeof(self) t from items where form_id = ? order by position", [fid]))
    assert rows[0] == {"code": "1.1", "self": want["1.1"]["self"], "t": "text"} and want["1.1"]["self"] == "符合"
    assert rows[1]["self"] == want["1.2"]["self"] == "基本符合"


# The schema as the previous version made it (git show aa40187:extractor/store.py): no structured discrepancy
# fields, no notes, no findings.
OLD_FORMS_COLUMNS = {
    "id": int, "source": str, "sha256": str, "status": str, "error": str, "rubric": str, "rubric_score": float,
    "institution": str, "fill_date": str, "batches": int, "certified_total": int, "certified_passed": int,
    "has_inspector": int, "kind": str, "ingested_at": str, "superseded_by": int, "printed": str, "extra_rows": str,
}
OLD_ITEMS_COLUMNS = {
    "id": int, "form_id": int, "position": int, "code": str, "category": str, "label": str, "max": float,
    "max_source": str, "printed_max": str, "group_max": float, "scoring": str, "self": float, "inspector": float,
    "self_raw": str, "inspector_raw": str, "self_kind": str, "inspector_kind": str, "raw_label": str,
    "match_score": float, "table_no": int, "row_no": int, "col_no": int, "page": int, "bbox": str,
    "confidence": float,
}
OLD_DISCREPANCY_COLUMNS = {"id": int, "form_id": int, "item": str, "kind": str, "severity": str, "message": str,
                           "accepted": int}
OLD_CORRECTION_COLUMNS = {"id": int, "form_id": int, "item": str, "action": str, "field": str, "value": str,
                          "previous": str, "kind": str, "who": str, "at": str, "why": str}


def make_old_db(path) -> None:
    """Write a database as the previous version left it: its four tables and one flagged form."""
    db = sqlite_utils.Database(path)
    db["forms"].create(OLD_FORMS_COLUMNS, pk="id", not_null={"source", "sha256", "status"})
    for table, columns in (("items", OLD_ITEMS_COLUMNS), ("discrepancies", OLD_DISCREPANCY_COLUMNS),
                           ("corrections", OLD_CORRECTION_COLUMNS)):
        db[table].create(columns, pk="id", foreign_keys=[("form_id", "forms", "id")])
    db["forms"].insert({"id": 1, "source": "old.docx", "sha256": "0" * 64, "status": "flagged", "rubric": "r",
                        "institution": "某学校", "fill_date": "2024-05-20", "has_inspector": 1, "kind": "docx",
                        "printed": "[]", "extra_rows": "[]"})
    db["items"].insert({"form_id": 1, "position": 0, "code": "1.1", "category": "甲", "label": "条目", "max": 1,
                        "max_source": "rubric", "scoring": "points", "self": 3, "inspector": 1, "self_raw": "3",
                        "inspector_raw": "1", "self_kind": "number", "inspector_kind": "number",
                        "raw_label": "条目", "match_score": 100.0, "table_no": 0, "row_no": 1, "col_no": 4})
    db["discrepancies"].insert({"form_id": 1, "item": "1.1", "kind": "over_cap", "severity": "error",
                                "message": "1.1 自评 3 超过分值 1", "accepted": 0})
    db.conn.close()


NEW_COLUMNS = {"forms": ["findings", "reader_version", "extras", "path", "tables"],
               "items": ["self_note", "inspector_note", "findings", "self_cell", "inspector_cell", "row_cells"],
               "discrepancies": ["side", "row", "total", "category"]}


def test_open_db_adds_the_new_columns_to_a_database_of_the_previous_version(tmp_path):
    path = tmp_path / "old.db"
    make_old_db(path)
    db = open_db(path)
    for table, columns in NEW_COLUMNS.items():
        assert [c.name for c in db[table].columns][-len(columns):] == columns
    form = load_form(db, 1)
    assert [(i.code, i.self, i.inspector, i.self_note, i.inspector_note, i.findings) for i in form.items] == [
        ("1.1", Decimal(3), Decimal(1), None, None, [])]
    assert form.findings == []
    assert [(d.kind, d.item, d.message, d.side, d.row, d.total, d.category) for d in form.discrepancies] == [
        ("over_cap", "1.1", "1.1 自评 3 超过分值 1", None, None, None, None)]
    # A migrated database takes the new fields, and opening it again changes nothing.
    fid = save_form(db, Form(source="new.docx", sha256="1" * 64, findings=[Finding("unknown_column", "市州初审")]))
    again = open_db(path)
    assert [c.name for c in again["discrepancies"].columns] == list(DISCREPANCY_COLUMNS)
    assert load_form(again, fid).findings == [Finding("unknown_column", "市州初审")]


def test_concurrent_openers_of_an_old_database_migrate_it_once(tmp_path):
    path = tmp_path / "old.db"
    make_old_db(path)
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_db(path).conn.close()
        except BaseException as e:  # noqa: BLE001 - reported to the test thread
            errors.append(e)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [c.name for c in open_db(path)["items"].columns] == list(ITEMS_COLUMNS)


def test_opening_an_up_to_date_database_takes_no_write_lock(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    open_db(path).conn.close()
    writer = sqlite3.connect(str(path))
    writer.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(store, "DEFAULT_BUSY_TIMEOUT_MS", 100)  # a write would fail with "database is locked"
    try:
        assert "discrepancies" in open_db(path).table_names()
    finally:
        writer.rollback()
        writer.close()
