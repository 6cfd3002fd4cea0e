"""The .docx path's CPU savings keep results exact: a form is laid out once for rubrics whose judgments no cell
says, per-process caches are per vocabulary, and the store's executemany writes what sqlite-utils wrote."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import sys
import time
from decimal import Decimal

import psutil
import pytest
import sqlite_utils

import rubric
from extractor import extract
from extractor import layout as L
from extractor.form import Discrepancy, Form, ItemResult
from extractor.parsers import path_to_document
from extractor.store import open_db, save_form
from rubric.vocabulary import default_vocabulary
from samples.generate import build_form, form_spec, save_docx
from samples.variant import Variant

from .forms import qinghai_form

COLUMNS = ["cat", "sec", "label", "max", "rules", "self", "insp"]
HEADER = [["大项", "中项", "小项", "分值", "评分标准", "自评得分", "督查得分"]]


def _count_layouts(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    real = L.document_to_layout

    def counted(doc, vocab=None, options=()):
        calls.append(tuple(options))
        return real(doc, vocab, options)

    monkeypatch.setattr(L, "document_to_layout", counted)
    return calls


def _with_other_judgments(rubrics: dict) -> dict:
    """The bundled rubrics plus a copy of the national one whose judgments are other words (达标…)."""
    other = dataclasses.replace(rubrics["national-2020"], id="national-other", judgments=("达标", "基本达标", "不达标"))
    return {**rubrics, other.id: other}


def test_rubrics_whose_judgments_no_cell_says_share_one_layout(tmp_path, monkeypatch):
    rubrics = _with_other_judgments(rubric.load_all())
    doc = path_to_document(qinghai_form(tmp_path / "qh.docx", COLUMNS, HEADER))
    words = L.document_to_cell_words(doc)
    assert L.options_in(("达标", "基本达标", "不达标"), words) == frozenset()
    assert L.options_in(rubrics["qinghai-2024"].judgments, words) == frozenset()
    calls = _count_layouts(monkeypatch)
    form = extract.document_to_form(doc, rubrics, Form(source="qh.docx", sha256="0"))
    assert form.rubric == "qinghai-2024"
    assert calls == [("符合", "基本符合", "不符合")]  # one layout serves all three rubrics
    assert len(form.items) == len(rubrics["qinghai-2024"].items)
    assert all(i.self is not None for i in form.items)


def test_rubrics_whose_judgments_a_cell_says_get_their_own_layout(tmp_path, monkeypatch):
    spec = form_spec("national", Variant(), random.Random(3))
    p = tmp_path / "national.docx"
    save_docx(build_form(spec), p)
    doc = path_to_document(p)
    rubrics = _with_other_judgments(rubric.load_all())
    said = L.options_in(rubrics["national-2020"].judgments, L.document_to_cell_words(doc))
    assert said & {"符合", "基本符合", "不符合"}
    calls = _count_layouts(monkeypatch)
    form = extract.document_to_form(doc, rubrics, Form(source="national.docx", sha256="0"))
    assert form.rubric == "national-2020"
    # qinghai and national share their judgments (one layout), the copy with 达标… reads the form without them.
    assert sorted(calls) == [("符合", "基本符合", "不符合"), ("达标", "基本达标", "不达标")]


def test_options_no_cell_says_do_not_change_the_layout(tmp_path):
    doc = path_to_document(qinghai_form(tmp_path / "qh.docx", COLUMNS, HEADER))
    plain = L.document_to_layout(doc, None, ())
    other = L.document_to_layout(doc, None, ("达标", "基本达标", "不达标"))
    assert [(r.kind, r.label, r.self_text, r.inspector_text) for r in plain.rows] == \
        [(r.kind, r.label, r.self_text, r.inspector_text) for r in other.rows]
    assert len(plain.items) == len(rubric.load_all()["qinghai-2024"].items)


def test_role_cache_belongs_to_its_vocabulary():
    base = default_vocabulary()
    renamed = base.merged({"replace": {"self": ["机构打分"]}})
    assert base.role_of("自评得分") == "self"
    assert renamed.role_of("自评得分") in ("score", None)  # 自评 is no longer a self word; 得分 still names a score
    assert renamed.role_of("机构打分") == "self"
    assert base.role_of("机构打分") is None
    assert base.role_of("自评得分") == "self"  # asked again after the other vocabulary: still its own answer


def _form_with(items: list[ItemResult], discrepancies: list[Discrepancy]) -> Form:
    return Form(source="a.docx", sha256="ab" * 32, status="flagged", rubric="qinghai-2024", rubric_score=97.5,
                institution="某某职业技能培训学校", fill_date="2024-05-20", has_inspector=True, kind="docx",
                items=items, discrepancies=discrepancies, header={"batches": 3, "certified_total": None,
                                                                  "certified_passed": 12},
                tables=[{"table": 0, "header_cells": [{"row": 0, "col": 0, "text": "大项"}]}])


def test_store_rows_are_the_values_sqlite_utils_wrote(tmp_path):
    items = [ItemResult(code="1.1", category="机构", label="资质", max=Decimal("5"), scoring="points",
                        self=Decimal("4.5"), inspector=Decimal("4"), self_raw="4.5", inspector_raw="4分",
                        self_kind="number", inspector_kind="number", raw_label="资质（5分）", match_score=100.0,
                        provenance={"table": 0, "row": 3, "col": 5, "page": None},
                        self_cell={"table": 0, "row": 3, "col": 5, "text": "4.5"},
                        row_cells=[{"row": 3, "col": 0, "text": "机构", "role": "category"}]),
             ItemResult(code="1.2", category="机构", label="场地", max=None, scoring="judgment", self="符合")]
    ds = [Discrepancy("1.1", "self_over_inspector", "warning", "自评高于督查", side="self",
                      row={"table": 0, "row": 3})]
    db = open_db(tmp_path / "x.db")
    form_id = save_form(db, _form_with(items, ds))
    assert form_id == 1
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.row_factory = sqlite3.Row
    got = [dict(r) for r in conn.execute("SELECT * FROM items ORDER BY position")]
    assert [(r["id"], r["form_id"], r["position"], r["code"], r["max"], r["self"], r["inspector"], r["self_raw"],
             r["inspector_raw"], r["table_no"], r["row_no"], r["col_no"], r["page"]) for r in got] == [
        (1, 1, 0, "1.1", 5, 4.5, 4, "4.5", "4分", 0, 3, 5, None),
        (2, 1, 1, "1.2", None, "符合", None, None, None, None, None, None, None)]
    assert got[0]["self_cell"] == '{"table":0,"row":3,"col":5,"text":"4.5"}'
    assert got[0]["row_cells"] == '[{"row":3,"col":0,"text":"机构","role":"category"}]'
    f = dict(conn.execute("SELECT * FROM forms").fetchone())
    assert (f["id"], f["batches"], f["certified_total"], f["certified_passed"], f["has_inspector"]) == (1, 3, None, 12, 1)
    assert f["tables"] == '[{"table":0,"header_cells":[{"row":0,"col":0,"text":"大项"}]}]'
    d = dict(conn.execute("SELECT * FROM discrepancies").fetchone())
    assert (d["form_id"], d["item"], d["kind"], d["accepted"], d["side"], d["row"]) == (
        1, "1.1", "self_over_inspector", 0, "self", '{"table": 0, "row": 3}')
    # The same rows written by sqlite-utils' insert into a copy of the tables: the very same stored values.
    twin = sqlite_utils.Database(tmp_path / "twin.db")
    for table in ("forms", "items", "discrepancies"):
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
        twin.execute(sql.replace("REFERENCES [forms]([id])", ""))
        rows = [dict(r) for r in conn.execute(f"SELECT * FROM [{table}] ORDER BY id")]
        twin[table].insert_all(rows)
        assert [tuple(r) for r in twin.execute(f"SELECT * FROM [{table}] ORDER BY id").fetchall()] == \
            [tuple(r) for r in conn.execute(f"SELECT * FROM [{table}] ORDER BY id").fetchall()]
    conn.close()
    # A second form of the same bytes is still refused inside its transaction.
    assert save_form(db, _form_with(items, ds)) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the /proc children lists are Linux's")
def test_proc_children_lists_the_same_tree_as_psutil():
    import subprocess

    from extractor import supervisor

    code = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        me = psutil.Process()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(me.children(recursive=True)) < 2:
            time.sleep(0.05)
        want = sorted(p.pid for p in me.children(recursive=True))
        assert len(want) == 2 and child.pid in want
        got = supervisor._proc_children(me)
        if got is None:
            pytest.skip("this kernel has no /proc/PID/task/TID/children")
        assert sorted(p.pid for p in got) == want
        assert sorted(p.pid for p in supervisor._descendants(me)) == want
    finally:
        supervisor.kill_tree(child.pid)
