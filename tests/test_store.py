"""The store: schema, foreign keys, one transaction per form, round-trip of a Form."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from extractor.extract import path_to_form
from extractor.form import Form, ItemResult
from extractor.store import load_form, open_db, save_form

from .conftest import SHARED_FORMS


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
    form = path_to_form(SHARED_FORMS / "filled_errors.docx", rubrics)
    fid = save_form(db, form)
    back = load_form(db, fid)
    assert [(i.code, i.self, i.inspector, i.self_raw) for i in back.items] == [
        (i.code, i.self, i.inspector, i.self_raw) for i in form.items]
    assert [(d.kind, d.item) for d in back.discrepancies] == [(d.kind, d.item) for d in form.discrepancies]
    assert back.printed_total("total").self == Decimal(95)
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
    fid = save_form(db, path_to_form(SHARED_FORMS / "national_filled.docx", rubrics))
    rows = list(db.query("select code, self, typeof(self) t from items where form_id = ? order by position", [fid]))
    assert rows[0] == {"code": "1.1", "self": "符合", "t": "text"}
    assert rows[1]["self"] == "不符合"
