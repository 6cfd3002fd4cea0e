"""Every CLI command through click's CliRunner, on a real SQLite file."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from cli import main

from .conftest import SAMPLES, truth, truth_flags, truth_items

# Bundled generated samples (samples/forms, truth in samples/truth.json), copied into the inbox under these names.
CLEAN, ERRORS, BROKEN, NATIONAL = ("qh_merged_01.docx", "qh_err_overcap_20.docx", "broken_truncated_33.docx",
                                   "national_merged_30.docx")
AS = {BROKEN: "broken_truncated.docx", CLEAN: "filled_clean.docx", ERRORS: "filled_errors.docx",
      NATIONAL: "national_filled.docx"}

CONTRACT_FIELDS = ["source", "sha256", "status", "error", "rubric", "institution", "fill_date", "header", "items",
                   "totals", "discrepancies"]
ITEM_FIELDS = ["code", "category", "label", "max", "self", "inspector", "self_raw", "inspector_raw", "raw_label",
               "match_score"]


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture()
def inbox(tmp_path):
    d = tmp_path / "inbox"
    d.mkdir()
    for name, as_name in AS.items():
        shutil.copy(SAMPLES / name, d / as_name)
    return d


def _ingest(runner, inbox, db):
    return runner.invoke(main, ["ingest", str(inbox), "--db", str(db)])


def test_ingest_reads_a_folder_and_exits_1_when_a_file_failed(runner, inbox, tmp_path):
    db = tmp_path / "s.db"
    r = _ingest(runner, inbox, db)
    assert r.exit_code == 1
    assert "failed   " + str(inbox / "broken_truncated.docx") in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("4 read, 1 flagged, 1 failed, 0 skipped in ")
    again = _ingest(runner, inbox, db)
    assert again.stderr.strip().splitlines()[-1].startswith("0 read, 0 flagged, 0 failed, 4 skipped in ")
    assert again.exit_code == 0


def test_ingest_of_good_files_exits_0(runner, tmp_path):
    r = runner.invoke(main, ["ingest", str(SAMPLES / CLEAN), "--db", str(tmp_path / "s.db")])
    assert r.exit_code == 0, r.output


def test_export_json_follows_the_contract(runner, inbox, tmp_path):
    db = tmp_path / "s.db"
    _ingest(runner, inbox, db)
    r = runner.invoke(main, ["export", "--db", str(db), "--format", "json"])
    assert r.exit_code == 0
    records = json.loads(r.stdout)
    assert [rec["source"].rsplit("/", 1)[-1] for rec in records] == [
        "broken_truncated.docx", "filled_clean.docx", "filled_errors.docx", "national_filled.docx"]
    for rec in records:
        assert list(rec)[:len(CONTRACT_FIELDS)] == CONTRACT_FIELDS
    failed, clean, errors, national = records
    assert failed["status"] == "failed" and failed["error"].startswith("not a readable Word file")
    t = truth(CLEAN)
    assert clean["status"] == "ok" and clean["rubric"] == "qinghai-2024" and clean["fill_date"] == t["fill_date"]
    assert clean["header"] == t["stats"]
    assert len(clean["items"]) == 67 and list(clean["items"][0])[:len(ITEM_FIELDS)] == ITEM_FIELDS
    first, want = clean["items"][0], truth_items(CLEAN)["1.1.1"]
    assert (first["code"], first["max"], first["self"], first["inspector"]) == (
        "1.1.1", want["cap"], want["self"], want["inspector"])
    assert clean["totals"]["self"] == t["totals"]["self"] and clean["totals"]["self_computed"] == t["totals"][
        "self_computed"]
    assert {(d["kind"], d["item"]) for d in errors["discrepancies"] if d["kind"] != "self_inspector_diff"} == (
        truth_flags(ERRORS)) == {("over_cap", "6.2.6")}
    assert errors["status"] == "flagged"
    second = national["items"][1]
    assert national["rubric"] == "national-2020" and second["self"] == truth_items(NATIONAL)[second["code"]]["self"]


def test_export_csv_and_output_file(runner, inbox, tmp_path):
    db = tmp_path / "s.db"
    _ingest(runner, inbox, db)
    out = tmp_path / "x.csv"
    r = runner.invoke(main, ["export", "--db", str(db), "--format", "csv", "-o", str(out)])
    assert r.exit_code == 0 and "wrote 4 form(s)" in r.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfform_id,source,status,rubric")  # the BOM Excel needs to read UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("form_id,source,status,rubric")
    assert len(lines) == 1 + 1 + 67 + 67 + 33


def test_show_prints_items_and_discrepancies(runner, inbox, tmp_path):
    db = tmp_path / "s.db"
    _ingest(runner, inbox, db)
    r = runner.invoke(main, ["show", "filled_errors", "--db", str(db)])
    assert r.exit_code == 0
    over = truth_items(ERRORS)["6.2.6"]  # the planted over_cap (truth: self 2, max 1)
    assert "institution " + truth(ERRORS)["institution"] in r.stdout
    assert "over_cap" in r.stdout and f"6.2.6 自评 {over['self']} 超过分值 {over['cap']}" in r.stdout
    missing = runner.invoke(main, ["show", "nothing-like-this", "--db", str(db)])
    assert missing.exit_code == 1 and "no form matches 'nothing-like-this'" in missing.stderr


def test_review_set_changes_the_effective_value_and_status(runner, tmp_path):
    db = tmp_path / "s.db"
    runner.invoke(main, ["ingest", str(SAMPLES / ERRORS), "--db", str(db)])
    # 6.2.6 holds self 2 over its max 1 (samples/truth.json); the printed total counts the 2, so correcting
    # it to 1 leaves the total one point off: over_cap goes, total_mismatch comes.
    r = runner.invoke(main, ["review", "set", "1", "6.2.6", "--self", "1", "--why", "misread", "--who", "li",
                             "--db", str(db)])
    assert r.exit_code == 0, r.output
    rec = json.loads(runner.invoke(main, ["export", "--db", str(db)]).stdout)[0]
    item = next(i for i in rec["items"] if i["code"] == "6.2.6")
    assert (item["self"], item["corrected"], item["extracted"]) == (1, True, {"self": 2})
    kinds = {(d["kind"], d["item"]) for d in rec["discrepancies"]}
    assert ("over_cap", "6.2.6") not in kinds and ("total_mismatch", None) in kinds
    assert rec["status"] == "flagged"
    acc = runner.invoke(main, ["review", "accept", "1", "total_mismatch", "--why", "agreed", "--db", str(db)])
    assert acc.exit_code == 0, acc.output
    exported = runner.invoke(main, ["export", "--db", str(db)])
    assert "2 correction(s) apply" in exported.stderr
    rec = json.loads(exported.stdout)[0]
    assert rec["status"] == "ok"
    assert [d["accepted"] for d in rec["discrepancies"] if d["kind"] == "total_mismatch"] == [True, True] or [
        d["accepted"] for d in rec["discrepancies"] if d["kind"] == "total_mismatch"] == [True]
    bad = runner.invoke(main, ["review", "set", "1", "9.9.9", "--self", "1", "--why", "x", "--db", str(db)])
    assert bad.exit_code == 1 and "has no item '9.9.9'" in bad.stderr


def test_rubric_list_show_and_check(runner, tmp_path):
    r = runner.invoke(main, ["rubric", "list"])
    assert r.exit_code == 0
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["national-2020", "qinghai-2024"]
    s = runner.invoke(main, ["rubric", "show", "qinghai-2024"])
    assert s.exit_code == 0 and len(s.stdout.splitlines()) == 68
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\ncolour = 1\n', encoding="utf-8")
    c = runner.invoke(main, ["rubric", "check", str(bad)])
    assert c.exit_code == 1 and "bad.toml: unknown key 'colour'" in c.stderr


def test_usage_errors_exit_2(runner, tmp_path):
    assert runner.invoke(main, ["ingest"]).exit_code == 2
    assert runner.invoke(main, ["export", "--format", "xml"]).exit_code == 2
    assert runner.invoke(main, ["ingest", str(SAMPLES), "--rubric", "nope", "--db",
                                str(tmp_path / "s.db")]).exit_code == 2


def test_export_without_a_database_says_what_to_do(runner, tmp_path):
    r = runner.invoke(main, ["export", "--db", str(tmp_path / "none.db")])
    assert r.exit_code == 1
    assert "no database at" in r.stderr and "selfeval ingest" in r.stderr
