"""Issue 12 part 4: one truth in SQLite. The views effective_items and effective_forms, read with plain sqlite3 and
with sqlite-utils, agree with the corrections made through the real CLI, and undone ones leave no trace in them.

The form: samples/forms/qh_err_overcap_20.docx (samples/truth.json): 6.2.6 holds 自评 2 over its max 1, 督查 1;
the 自评 items add up to 83, the 督查 items to 76.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from cli import main
from extractor.form import Form, ItemResult
from extractor.review import ReviewError, set_value
from extractor.store import ITEMS_COLUMNS, load_form, open_db, save_form

from .conftest import SAMPLES
from .test_store import make_old_db

FORM = SAMPLES / "qh_err_overcap_20.docx"


def cli(db: Path, *args: str) -> None:
    r = CliRunner().invoke(main, [*args, "--db", str(db)])
    assert r.exit_code == 0, r.output


def ingested(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    cli(db, "ingest", str(FORM))
    return db


def item_sql(db: Path, code: str) -> tuple:
    c = sqlite3.connect(db)
    try:
        return c.execute('SELECT "self", inspector, corrected, self_extracted, inspector_extracted, typeof("self") '
                         "FROM effective_items WHERE code = ?", [code]).fetchone()
    finally:
        c.close()


def form_sql(db: Path) -> tuple:
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT status, self_total, inspector_total, open_errors, open_warnings, corrections "
                         "FROM effective_forms").fetchone()
    finally:
        c.close()


def test_a_cli_correction_shows_in_the_views_and_an_undone_one_does_not(tmp_path):
    db = ingested(tmp_path)
    assert item_sql(db, "6.2.6") == (2.0, 1.0, 0, 2.0, 1.0, "real")
    assert form_sql(db) == ("flagged", 83.0, 76.0, 1, 0, 0)
    cli(db, "review", "set", "1", "6.2.6", "--self", "1", "--inspector", "0.5", "--why", "misread")
    assert item_sql(db, "6.2.6") == (1.0, 0.5, 1, 2.0, 1.0, "real")
    # over_cap is gone; both printed totals (83, 76) are now off their items: two total_mismatch, still flagged.
    assert form_sql(db) == ("flagged", 82.0, 75.5, 2, 0, 2)
    lite = sqlite_utils.Database(db)
    [row] = lite["effective_items"].rows_where("code = ?", ["6.2.6"])
    assert (row["self"], row["inspector"], row["corrected"], row["self_extracted"]) == (1.0, 0.5, 1, 2.0)
    [form] = lite["effective_forms"].rows
    assert (form["institution"], form["self_total"], form["open_errors"]) == ("格尔木市昆仑家政服务有限公司", 82.0, 2)
    assert [r["code"] for r in lite.query("SELECT code FROM effective_items WHERE corrected = 1")] == ["6.2.6"]
    lite.conn.close()
    cli(db, "review", "undo", "2")  # the inspector's correction
    assert item_sql(db, "6.2.6") == (1.0, 1.0, 1, 2.0, 1.0, "real")
    cli(db, "review", "undo", "1")
    assert item_sql(db, "6.2.6") == (2.0, 1.0, 0, 2.0, 1.0, "real")
    assert form_sql(db) == ("flagged", 83.0, 76.0, 1, 0, 0)


def test_an_acceptance_shows_in_effective_forms_and_the_items_table_keeps_the_value_read(tmp_path):
    db = ingested(tmp_path)
    cli(db, "review", "accept", "1", "over_cap", "--item", "6.2.6", "--why", "agreed")
    assert form_sql(db) == ("ok", 83.0, 76.0, 0, 0, 1)
    cli(db, "review", "set", "1", "6.2.6", "--self", "1", "--why", "misread")
    c = sqlite3.connect(db)
    assert c.execute("SELECT \"self\" FROM items WHERE code = '6.2.6'").fetchone() == (2.0,)
    c.close()
    assert form_sql(db) == ("flagged", 82.0, 76.0, 1, 0, 2)


def test_effective_items_has_every_items_column_in_order_then_three_more(tmp_path):
    db = open_db(tmp_path / "s.db")
    assert [c.name for c in db["effective_items"].columns] == [
        *ITEMS_COLUMNS, "corrected", "self_extracted", "inspector_extracted"]
    assert [c.name for c in db["effective_forms"].columns] == [
        *(c.name for c in db["forms"].columns), "self_total", "inspector_total", "open_errors", "open_warnings",
        "corrections"]


def test_judgments_stay_text_and_a_blank_correction_is_null(tmp_path):
    db = open_db(tmp_path / "s.db")
    judged = ItemResult(code="1.1", category="甲", label="条目", max=None, scoring="judgment", self="符合",
                        inspector="符合", self_raw="符合", inspector_raw="符合", self_kind="judgment",
                        inspector_kind="judgment", raw_label="条目", match_score=100.0)
    points = ItemResult(code="1.2", category="甲", label="条目二", max=Decimal(5), self=Decimal(4),
                        inspector=Decimal(4), self_raw="4", inspector_raw="4", self_kind="number",
                        inspector_kind="number", raw_label="条目二", match_score=100.0)
    fid = save_form(db, Form(source="a.docx", sha256="a" * 64, rubric="r", institution="某学校",
                             fill_date="2024-05-20", has_inspector=True, items=[judged, points]))
    set_value(db, fid, "1.1", "self", "基本符合", "ticked 基本符合", who="张三")
    set_value(db, fid, "1.2", "inspector", "", "the cell is empty", who="张三")
    rows = db.execute('SELECT code, "self", typeof("self"), inspector, typeof(inspector), corrected '
                      "FROM effective_items ORDER BY position").fetchall()
    assert rows == [("1.1", "基本符合", "text", "符合", "text", 1), ("1.2", 4.0, "real", None, "null", 1)]
    assert db.execute("SELECT self_total, inspector_total FROM effective_forms").fetchone() == (4.0, None)
    assert load_form(db, fid).items[1].inspector is None
    with pytest.raises(ReviewError) as refused:
        set_value(db, fid, "1.1", "self", "1", "a number", who="张三")
    assert str(refused.value) == "1.1 按等级评定 is scored by judgment: give 符合/基本符合/不符合, not '1'"


def test_an_old_database_gains_the_views_and_its_corrections_read_as_numbers(tmp_path):
    path = tmp_path / "old.db"
    make_old_db(path)  # schema 2: over_cap on 1.1 (自评 3, max 1)
    old = sqlite_utils.Database(path)
    old["corrections"].insert({"form_id": 1, "item": "1.1", "action": "set", "field": "self", "value": "0.5",
                               "previous": "3", "who": "li", "at": "2024-06-01T00:00:00+00:00", "why": "misread"})
    # A view of that name made by anyone before: the migration must replace it, not keep it.
    old.execute("CREATE VIEW effective_items AS SELECT 1 AS stale")
    old.conn.close()
    db = open_db(path)
    assert db.execute('SELECT code, "self", typeof("self"), corrected, self_extracted FROM effective_items'
                      ).fetchall() == [("1.1", 0.5, "real", 1, 3.0)]
    assert db.execute("SELECT number, undone_at FROM corrections").fetchall() == [(0.5, None)]
    db.conn.close()
    ro = open_db(path, readonly=True)
    assert ro.execute("SELECT self_total FROM effective_forms").fetchone() == (0.5,)


def test_a_dropped_view_comes_back_when_the_database_is_opened(tmp_path):
    from extractor.store import open_db

    path = tmp_path / "v.db"
    open_db(path).conn.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP VIEW effective_forms")
    conn.commit()
    conn.close()
    db = open_db(path)
    assert {"effective_items", "effective_forms"} <= set(db.view_names())
