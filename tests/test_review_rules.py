"""Issue 12 part 3: review that can't go wrong quietly. Every misbehaviour of the issue, through the real CLI on a real
SQLite file ingested from a real .docx.

The form: samples/forms/qh_err_overcap_20.docx (samples/truth.json): 6.2.6 holds 自评 2 over its max 1, the
printed 自评 total 83 counts the 2, and over_cap 6.2.6 is its only error or warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from cli import main
from extractor.store import open_db

from .conftest import SAMPLES, copy_database
from .test_store import make_old_db

FORM = SAMPLES / "qh_err_overcap_20.docx"
OVER_CAP = "解决 resolved over_cap 6.2.6 自评: 6.2.6 自评 2 超过分值 1"
TOTAL_82 = "新增 created total_mismatch — 自评: 自评总分填 83，各项相加为 82"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("review") / "ingested.db"
    r = CliRunner().invoke(main, ["ingest", str(FORM), "--db", str(path)])
    assert r.exit_code == 0, r.output
    return path


@pytest.fixture()
def db(ingested: Path, tmp_path: Path) -> str:
    """A fresh copy of the ingested database for each test (backup reads through the WAL)."""
    return str(copy_database(ingested, tmp_path / "s.db"))


def cli(db: str, *args: str):
    return CliRunner().invoke(main, [*args, "--db", db])


def ok(db: str, *args: str) -> list[str]:
    r = cli(db, *args)
    assert r.exit_code == 0, r.output
    return r.stderr.splitlines()


def record(db: str) -> dict:
    return json.loads(cli(db, "export").stdout)[0]


def open_findings(db: str) -> list[tuple]:
    return [(d["kind"], d["item"], d["side"], d["message"]) for d in record(db)["discrepancies"]
            if d["severity"] in ("error", "warning") and not d["accepted"]]


def corrections(db: str) -> int:
    return sqlite_utils.Database(db)["corrections"].count


def item(db: str, code: str) -> dict:
    return next(i for i in record(db)["items"] if i["code"] == code)


# --- acceptances -----------------------------------------------------------------------------------------------------


def test_accept_without_item_is_refused_for_an_item_kind(db):
    r = cli(db, "review", "accept", "1", "over_cap", "--why", "agreed")
    assert (r.exit_code, r.stderr) == (1, "Error: over_cap 是逐项问题 is about items: give --item CODE (one of 6.2.6)\n")
    assert corrections(db) == 0 and record(db)["status"] == "flagged"
    assert ok(db, "review", "accept", "1", "over_cap", "--item", "6.2.6", "--why", "agreed") == [
        "已接受 accepted: over_cap 6.2.6 as it now reads", OVER_CAP, "状态 status 通过 ok"]
    assert record(db)["status"] == "ok"


def test_an_accepted_item_finding_returns_when_its_value_changes(db):
    ok(db, "review", "accept", "1", "over_cap", "--item", "6.2.6", "--why", "agreed")
    lines = ok(db, "review", "set", "1", "6.2.6", "--self", "3", "--why", "the form says 3", "--force")
    # 3 is over the max as 2 was, but not the 2 that was accepted: the finding is open again.
    assert lines[1:] == ["新增 created over_cap 6.2.6 自评: 6.2.6 自评 3 超过分值 1",
                         "新增 created total_mismatch — 自评: 自评总分填 83，各项相加为 84",
                         "状态 status 需复核 flagged"]
    assert open_findings(db) == [("over_cap", "6.2.6", "self", "6.2.6 自评 3 超过分值 1"),
                                 ("total_mismatch", None, "self", "自评总分填 83，各项相加为 84")]


def test_an_accepted_total_mismatch_returns_when_the_sum_changes(db):
    assert ok(db, "review", "set", "1", "6.2.6", "--self", "1", "--why", "misread")[1:] == [
        TOTAL_82, OVER_CAP, "状态 status 需复核 flagged"]
    ok(db, "review", "accept", "1", "total_mismatch", "--why", "the total was agreed")
    assert record(db)["status"] == "ok"
    # Another item changes: the items now add up to 81, which nobody accepted.
    assert ok(db, "review", "set", "1", "1.1.1", "--self", "4", "--why", "misread")[1:] == [
        "新增 created total_mismatch — 自评: 自评总分填 83，各项相加为 81", "状态 status 需复核 flagged"]
    assert open_findings(db) == [("total_mismatch", None, "self", "自评总分填 83，各项相加为 81")]
    # Back to the sum that was accepted: accepted again.
    assert ok(db, "review", "set", "1", "1.1.1", "--self", "5", "--why", "the form says 5")[1:] == [
        "解决 resolved total_mismatch — 自评: 自评总分填 83，各项相加为 81", "状态 status 通过 ok"]
    assert open_findings(db) == []


def test_an_acceptance_without_a_reason_is_refused(db):
    r = cli(db, "review", "accept", "1", "over_cap", "--item", "6.2.6", "--why", "  ")
    assert (r.exit_code, r.stderr) == (1, 'Error: 接受须写明原因 an acceptance needs a reason: give --why "…"\n')
    assert corrections(db) == 0


def test_a_blanket_acceptance_of_an_earlier_version_covers_no_item(tmp_path):
    # Before, `review accept KEY over_cap` without --item stored item NULL and accepted every item's over_cap.
    path = tmp_path / "old.db"
    make_old_db(path)
    old = sqlite_utils.Database(path)
    old["corrections"].insert({"form_id": 1, "item": None, "action": "accept", "kind": "over_cap", "who": "li",
                               "at": "2024-06-01T00:00:00+00:00", "why": "all fine"})
    old.conn.close()
    open_db(path).conn.close()  # migrates to this schema
    rec = json.loads(cli(str(path), "export").stdout)[0]
    assert rec["status"] == "flagged"
    assert [(d["kind"], d["item"], d["accepted"]) for d in rec["discrepancies"] if d["kind"] == "over_cap"] == [
        ("over_cap", "1.1", False)]


# --- refusals --------------------------------------------------------------------------------------------------------


def test_a_value_above_the_max_is_refused_unless_forced(db):
    r = cli(db, "review", "set", "1", "2.5.1", "--self", "2.5", "--why", "misread")
    assert (r.exit_code, r.stderr) == (1, "Error: 2.5.1 自评 2.5 超出分值 2 is above the item's max 2: check the value, "
                                          "or give --force to record it\n")
    assert corrections(db) == 0
    assert ok(db, "review", "set", "1", "2.5.1", "--self", "2.5", "--why", "the form says 2.5", "--force") == [
        "已更正 corrected: 2.5.1 自评 1.5 → 2.5（--force）",
        "新增 created over_cap 2.5.1 自评: 2.5.1 自评 2.5 超过分值 2",
        "新增 created total_mismatch — 自评: 自评总分填 83，各项相加为 84", "状态 status 需复核 flagged"]
    assert item(db, "2.5.1")["self"] == 2.5


def test_a_negative_value_is_refused_unless_forced(db):
    r = cli(db, "review", "set", "1", "2.5.1", "--inspector", "-1", "--why", "misread")
    assert (r.exit_code, r.stderr) == (1, "Error: 2.5.1 督查 -1 低于 0 is below zero: check the value, or give --force "
                                          "to record it\n")
    assert corrections(db) == 0
    lines = ok(db, "review", "set", "1", "2.5.1", "--inspector", "-1", "--why", "as printed", "--force")
    assert lines[:2] == ["已更正 corrected: 2.5.1 督查 1.5 → -1（--force）",
                         "新增 created negative_score 2.5.1 督查: 2.5.1 督查 -1 为负数"]
    assert item(db, "2.5.1")["inspector"] == -1


def test_a_correction_without_a_reason_is_refused_unless_forced(db):
    for why in ([], ["--why", ""], ["--why", " \t "]):
        r = cli(db, "review", "set", "1", "2.5.1", "--self", "2", *why)
        assert (r.exit_code, r.stderr) == (1, 'Error: 更正须写明原因 a correction needs a reason: give --why "…" (or '
                                              '--force to record it without one)\n'), why
    assert corrections(db) == 0
    ok(db, "review", "set", "1", "2.5.1", "--self", "2", "--force")
    assert item(db, "2.5.1")["self"] == 2


def test_text_that_is_no_score_is_refused_even_forced(db):
    r = cli(db, "review", "set", "1", "2.5.1", "--self", "two", "--why", "x", "--force")
    assert (r.exit_code, r.stderr) == (1, "Error: 'two' is not a score for item 2.5.1: give a number\n")
    assert corrections(db) == 0


def test_a_refused_second_value_leaves_the_first_unwritten(db):
    r = cli(db, "review", "set", "1", "2.5.1", "--self", "2", "--inspector", "9", "--why", "misread")
    assert r.exit_code == 1 and "2.5.1 督查 9 超出分值 2" in r.stderr
    assert corrections(db) == 0


# --- what a change says ----------------------------------------------------------------------------------------------


def test_set_prints_the_discrepancies_it_creates_and_resolves(db):
    assert ok(db, "review", "set", "1", "6.2.6", "--self", "1", "--why", "misread") == [
        "已更正 corrected: 6.2.6 自评 2 → 1", TOTAL_82, OVER_CAP, "状态 status 需复核 flagged"]


def test_setting_the_extracted_value_back_is_no_correction(db):
    ok(db, "review", "set", "1", "6.2.6", "--self", "1", "--why", "misread", "--who", "张三")
    ok(db, "review", "set", "1", "6.2.6", "--self", "0.5", "--why", "misread again", "--who", "张三")
    # 2 is over the max, but it is what the form says: setting it back needs no --force.
    assert ok(db, "review", "set", "1", "6.2.6", "--self", "2", "--why", "the form was right", "--who", "李四") == [
        "撤回更正 withdrawn: 6.2.6 自评 is the extracted 2 again; 2 correction(s) withdrawn (#1, #2)",
        "新增 created over_cap 6.2.6 自评: 6.2.6 自评 2 超过分值 1",
        "解决 resolved total_mismatch — 自评: 自评总分填 83，各项相加为 81.5", "状态 status 需复核 flagged"]
    it = item(db, "6.2.6")
    assert (it["self"], it["corrected"], it["extracted"]) == (2, False, None)
    assert "correction(s) apply" not in cli(db, "export").stderr
    listed = json.loads(cli(db, "review", "list").stdout)
    assert [(c["id"], c["value"], c["undone_by"], c["undo_why"]) for c in listed] == [
        (2, "0.5", "李四", "the form was right"), (1, "1", "李四", "the form was right")]
    assert ok(db, "review", "set", "1", "6.2.6", "--self", "2", "--why", "again") == [
        "无变化 no change: 6.2.6 自评 2 equals the extracted value", "状态 status 需复核 flagged"]
    assert corrections(db) == 2


# --- undo ------------------------------------------------------------------------------------------------------------


def test_undo_withdraws_a_correction_and_keeps_its_row(db):
    ok(db, "review", "set", "1", "6.2.6", "--self", "1", "--why", "misread", "--who", "张三")
    assert ok(db, "review", "undo", "1", "--who", "王五", "--why", "wrong item") == [
        "已撤销 withdrawn: #1 更正 set 6.2.6 自评 = 1",
        "新增 created over_cap 6.2.6 自评: 6.2.6 自评 2 超过分值 1",
        "解决 resolved total_mismatch — 自评: 自评总分填 83，各项相加为 82", "状态 status 需复核 flagged"]
    assert (item(db, "6.2.6")["self"], item(db, "6.2.6")["corrected"]) == (2, False)
    [row] = json.loads(cli(db, "review", "list").stdout)
    assert (row["id"], row["who"], row["why"], row["undone_by"], row["undo_why"]) == (
        1, "张三", "misread", "王五", "wrong item")
    history = ok(db, "review", "history")  # a person's lines go to stdout; stderr stays empty
    assert history == []
    shown = cli(db, "review", "history", "1").stdout.splitlines()
    assert len(shown) == 1 and shown[0].startswith("#1  表 1 格尔木市昆仑家政服务有限公司  更正 set 6.2.6 自评 = 1  张三 ")
    assert shown[0].endswith("：misread  （已撤销 withdrawn " + row["undone_at"] + " 王五：wrong item）")
    again = cli(db, "review", "undo", "1")
    assert (again.exit_code, again.stderr) == (
        1, f"Error: #1 已撤销 was already withdrawn on {row['undone_at']} by 王五: nothing to undo\n")


def test_undo_withdraws_an_acceptance(db):
    ok(db, "review", "accept", "1", "over_cap", "--item", "6.2.6", "--why", "agreed")
    assert ok(db, "review", "undo", "1", "--why", "not agreed after all") == [
        "已撤销 withdrawn: #1 接受 accept over_cap 6.2.6",
        "新增 created over_cap 6.2.6 自评: 6.2.6 自评 2 超过分值 1", "状态 status 需复核 flagged"]
    assert record(db)["status"] == "flagged"


def test_undo_of_an_unknown_number_is_refused(db):
    r = cli(db, "review", "undo", "7")
    assert (r.exit_code, r.stderr) == (1, "Error: no correction #7: see `selfeval review history`\n")


def test_history_of_a_form_without_corrections_says_so(db):
    r = cli(db, "review", "history", "1")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "没有更正或接受 no corrections or acceptances\n")
