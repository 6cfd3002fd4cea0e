"""Issue 12 part 5: `selfeval list` says who each form is from and why it is not through; `show` and `review` find a
form by part of the institution's name and list the candidates of an ambiguous key; `show` marks the rows with
findings and gives their places, 1-based. All through the real CLI on a database ingested from bundled samples.

The forms (samples/truth.json), ingested one by one so their ids are 1-4:
1 qh_err_overcap_20.docx 格尔木市昆仑家政服务有限公司, flagged: over_cap 6.2.6 (自评 2, max 1), its only error;
2 qh_merged_01.docx 西宁市高原建筑工程有限公司, ok; 3 broken_truncated_33.docx, failed;
4 national_merged_30.docx 互助县昆仑职业技能培训学校, ok.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import docx
import pdfplumber
import pytest
from click.testing import CliRunner

from cli import main

from .conftest import SAMPLES, copy_database
from .forms import qinghai_form

FILES = ["qh_err_overcap_20.docx", "qh_merged_01.docx", "broken_truncated_33.docx", "national_merged_30.docx"]
BROKEN = "读取失败 not a readable Word file (not a .docx zip, or truncated): re-save it as .docx"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("list") / "ingested.db"
    for name in FILES:
        CliRunner().invoke(main, ["ingest", str(SAMPLES / name), "--db", str(path)])
    return path


@pytest.fixture()
def db(ingested: Path, tmp_path: Path) -> str:
    return str(copy_database(ingested, tmp_path / "s.db"))


def cli(db: str, *args: str):
    return CliRunner().invoke(main, [*args, "--db", db])


def width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def test_list_prints_one_line_per_form_with_status_counts_and_open_kinds(db):
    r = cli(db, "list")
    assert r.exit_code == 0 and r.stderr == "共 4 份表 4 form(s)\n"
    lines = r.stdout.splitlines()
    assert [re.split(r" {2,}", line) for line in lines] == [
        ["编号 id", "机构 institution", "状态 status", "错误 errors", "警告 warnings", "待处理 open kinds", "来源 source"],
        ["1", "格尔木市昆仑家政服务有限公司", "需复核 flagged", "1", "0", "超出分值 over_cap 6.2.6", str(SAMPLES / FILES[0])],
        ["2", "西宁市高原建筑工程有限公司", "通过 ok", "0", "0", "—", str(SAMPLES / FILES[1])],
        ["3", "—", "读取失败 failed", "—", "—", BROKEN, str(SAMPLES / FILES[2])],
        ["4", "互助县昆仑职业技能培训学校", "通过 ok", "0", "0", "—", str(SAMPLES / FILES[3])]]
    # Aligned for a terminal: every source starts in the same column, counted in display width.
    starts = {width(line[:line.rindex("  ") + 2]) for line in lines}
    assert len(starts) == 1


def test_list_filters_by_status_and_writes_json(db):
    r = cli(db, "list", "--status", "flagged", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == [{
        "id": 1, "institution": "格尔木市昆仑家政服务有限公司", "status": "flagged", "source": str(SAMPLES / FILES[0]),
        "fill_date": "2024-10-27", "superseded_by": None, "error": None, "errors": 1, "warnings": 0,
        "kinds": [{"kind": "over_cap", "label": "超出分值 over_cap", "count": 1, "items": ["6.2.6"]}]}]
    failed = cli(db, "list", "--status", "failed").stdout.splitlines()
    assert len(failed) == 2 and failed[1].startswith("3 ")
    assert cli(db, "list", "--status", "nonsense").exit_code == 2


def test_list_follows_a_review(db):
    assert cli(db, "review", "accept", "家政", "over_cap", "--item", "6.2.6", "--why", "agreed").exit_code == 0
    [row] = [r for r in json.loads(cli(db, "list", "--json").stdout) if r["id"] == 1]
    assert (row["status"], row["errors"], row["kinds"]) == ("ok", 0, [])


def test_show_and_review_find_a_form_by_part_of_the_institution_name(db):
    shown = cli(db, "show", "家政")
    assert shown.exit_code == 0 and shown.stdout.splitlines()[0] == f"form 1: {SAMPLES / FILES[0]}"
    assert cli(db, "show", "互助县昆仑职业技能培训学校").stdout.splitlines()[0] == f"form 4: {SAMPLES / FILES[3]}"
    r = cli(db, "review", "set", "高原建筑", "1.1.1", "--self", "4", "--why", "misread")
    assert r.exit_code == 0 and r.stderr.splitlines()[0] == "已更正 corrected: 1.1.1 自评 5 → 4"
    assert json.loads(cli(db, "review", "list").stdout)[0]["form_id"] == 2


def test_an_ambiguous_key_is_refused_with_its_candidates(db):
    expected = ("Error: '昆仑' 匹配 2 份表 matches 2 forms: give the id (or more of the source or the name)\n"
                f"  4  互助县昆仑职业技能培训学校  通过 ok  {SAMPLES / FILES[3]}\n"
                f"  1  格尔木市昆仑家政服务有限公司  需复核 flagged  {SAMPLES / FILES[0]}\n")
    for args in (["show", "昆仑"], ["review", "set", "昆仑", "1.1", "--self", "1", "--why", "x"],
                 ["review", "accept", "昆仑", "over_cap", "--item", "6.2.6", "--why", "x"]):
        r = cli(db, *args)
        assert (r.exit_code, r.stderr) == (1, expected), args
    assert json.loads(cli(db, "review", "list").stdout) == []
    missing = cli(db, "show", "海北州")
    assert (missing.exit_code, missing.stderr) == (
        1, "Error: 没有匹配的表 no form matches '海北州': see `selfeval list` for ids, institutions and sources\n")


def item_line(stdout: str, code: str) -> str:
    return next(line for line in stdout.splitlines() if line[2:].startswith(code + " "))


def test_show_marks_the_rows_with_findings_and_gives_their_places_1_based(db):
    out = cli(db, "show", "1").stdout
    # The place as python-docx sees the file: the second table, 0-based row 52 holds 6.2.6, its 自评 and 督查 cells
    # are the 0-based columns 5 and 6.
    row = docx.Document(str(SAMPLES / FILES[0])).tables[1].rows[52].cells
    assert (row[5].text, row[6].text) == ("2", "1")
    assert item_line(out, "6.2.6").startswith("! 6.2.6 ") and " 表2 行53 列6/7 " in item_line(out, "6.2.6")
    assert " 表2 行3 列6/7 " in item_line(out, "1.1.1")
    assert [line[2:8] for line in out.splitlines() if line.startswith("! ")] == ["6.2.6 "]
    assert "  error   over_cap             6.2.6    6.2.6 自评 2 超过分值 1  [表2 行53 列6/7]" in out
    assert "位置从 1 数起 (表/行/列 are 1-based here; JSON and SQLite count table/row/col from 0, pages from 1)" in out
    cli(db, "review", "accept", "1", "over_cap", "--item", "6.2.6", "--why", "agreed")
    after = cli(db, "show", "1").stdout
    assert not [line for line in after.splitlines() if line.startswith("! ")]
    assert "6.2.6 自评 2 超过分值 1 (已接受 accepted)  [表2 行53 列6/7]" in after


def test_show_gives_the_page_of_a_pdf_row(tmp_path):
    pdf = SAMPLES / "qh_pdf_lo_errors_41.pdf"
    db = str(tmp_path / "p.db")
    CliRunner().invoke(main, ["ingest", str(pdf), "--db", db])
    out = cli(db, "show", "1").stdout
    last = json.loads(cli(db, "export").stdout)[0]["items"][-1]
    # The page the last item's label is printed on, found by pdfplumber in the file itself.
    with pdfplumber.open(pdf) as doc:
        pages = [n for n, page in enumerate(doc.pages, 1) if last["raw_label"][:8] in (page.extract_text() or "")]
    assert len(pages) == 1 and pages[0] > 1
    assert f"第{pages[0]}页 表" in item_line(out, last["code"])


def test_list_leaves_superseded_forms_out_unless_all(tmp_path):
    cols = ["cat", "sec", "label", "max", "rules", "self", "insp"]
    header = [["大项", "中项", "小项", "分值", "督查方法和标准", "自评结果", "督查结果"]]
    db = str(tmp_path / "s.db")
    for name, when in (("old", "2024年5月20日"), ("new", "2024年6月20日")):
        path = qinghai_form(tmp_path / f"{name}.docx", cols, header,
                            cover=["评价机构名称：海东市乐都区职业技能培训学校", f"填 报 日 期：{when}"])
        assert CliRunner().invoke(main, ["ingest", str(path), "--db", db]).exit_code == 0
    assert [(r["id"], r["superseded_by"]) for r in json.loads(cli(db, "list", "--json").stdout)] == [(2, None)]
    assert [(r["id"], r["superseded_by"]) for r in json.loads(cli(db, "list", "--all", "--json").stdout)] == [
        (1, 2), (2, None)]
    # Both carry the name: the key is ambiguous, and the candidates say which one is superseded.
    r = cli(db, "show", "乐都区")
    assert r.exit_code == 1 and r.stderr.splitlines()[1:] == [
        f"  2  海东市乐都区职业技能培训学校  通过 ok  {tmp_path / 'new.docx'}",
        f"  1  海东市乐都区职业技能培训学校  通过 ok  {tmp_path / 'old.docx'}  （已被 2 取代 superseded by 2）"]


def test_list_without_a_database_says_to_ingest_and_creates_none(tmp_path):
    path = tmp_path / "none.db"
    r = CliRunner().invoke(main, ["list", "--db", str(path)])
    assert (r.exit_code, r.stderr) == (1, f"Error: no database at {path}: run `selfeval ingest PATH --db {path}` first\n")
    assert not path.exists()
