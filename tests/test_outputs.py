"""Outputs that behave: -o's extension decides the format (a contradiction is refused), --since and
--ingested-since are checked dates with one meaning each, the summary's note says why a form is flagged, and the
xlsx prints landscape, one page wide, with Chinese statuses in colour and bilingual headers on every sheet.

Real forms (python-docx via tests/forms.py and the committed fixtures), the real CLI, a real database file;
the page count is LibreOffice's, from the workbook converted to PDF.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import rubric
from cli import main

from .forms import default_cell, qinghai_form

FIXTURES = Path(__file__).parent / "fixtures"
SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
COLS = ["cat", "sec", "label", "max", "rules", "self", "insp"]
HEADER = [["督导检查内容", "", "", "分值", "督查方法和标准", "自评结果", "督查结果"],
          ["大项", "中项", "小项", "", "", "", ""]]
MERGES = [((0, 0), (0, 2)), ((0, 3), (1, 3)), ((0, 4), (1, 4)), ((0, 5), (1, 5)), ((0, 6), (1, 6))]
N_FORMS = 30
CJK = re.compile(r"[\u4e00-\u9fff]")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def run(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def make_form(path: Path, n: int) -> Path:
    """The n-th form of the inbox: its own institution, filled on day n+1 of May 2024; every third one has 3.1.2's
    self score over its max and every fifth a blank inspector score on 2.5.1."""

    def cell(i: int, item: rubric.Item, key: str) -> str:
        if n % 3 == 0 and item.code == "3.1.2" and key == "self":
            return "3"
        if n % 5 == 0 and item.code == "2.5.1" and key == "insp":
            return ""
        return default_cell(i, item, key)

    cover = [f"评价机构名称：测试职业技能培训学校第{n + 1}分校", f"填 报 日 期：2024年5月{n + 1}日"]
    return qinghai_form(path, COLS, HEADER, cell=cell, merges=MERGES, cover=cover)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("outputs")
    inbox = folder / "inbox"
    inbox.mkdir()
    for n in range(N_FORMS):
        make_form(inbox / f"form{n:02d}.docx", n)
    path = folder / "o.db"
    run("ingest", str(inbox), "--db", str(path))
    return path


# --- -o decides the format ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, starts", [("r.md", b"# \xe8\x87\xaa\xe8\xaf\x84"), ("r.html", b"<!DOCTYPE html>"),
                                          ("r.htm", b"<!DOCTYPE html>"), ("r.xlsx", b"PK\x03\x04")])
def test_report_o_infers_the_format_from_the_extension(db, tmp_path, name, starts):
    out = tmp_path / name
    run("report", "--db", str(db), "-o", str(out))
    assert out.read_bytes().startswith(starts)


def test_export_o_infers_json_or_csv(db, tmp_path):
    run("export", "--db", str(db), "-o", str(tmp_path / "forms.csv"))
    assert (tmp_path / "forms.csv").read_bytes().startswith("\ufeffform_id,source,".encode())
    run("export", "--db", str(db), "-o", str(tmp_path / "forms.json"))
    assert len(json.loads((tmp_path / "forms.json").read_text(encoding="utf-8"))) == N_FORMS


@pytest.mark.parametrize("command, name, fmt", [("report", "report.xlsx", "md"), ("report", "report.md", "html"),
                                                ("export", "forms.csv", "json"), ("export", "forms.json", "csv")])
def test_a_contradiction_between_o_and_format_is_a_usage_error_naming_both(db, tmp_path, command, name, fmt):
    out = tmp_path / name
    result = invoke(command, "--db", str(db), "-o", str(out), "--format", fmt)
    assert result.exit_code == 2
    assert f"Error: -o {out} is a {out.suffix} file but --format is {fmt}: drop --format, or give -o a {fmt} file " \
           f"name" in result.output
    assert not out.exists()


def test_an_unknown_extension_needs_format(db, tmp_path):
    out = tmp_path / "report.txt"
    result = invoke("report", "--db", str(db), "-o", str(out))
    assert result.exit_code == 2
    assert (f"cannot tell the format of -o {out} from .txt: name it .md, .html, .htm, .xlsx, or add --format "
            "md|html|xlsx") in result.output
    assert not out.exists()
    run("report", "--db", str(db), "-o", str(out), "--format", "md")
    assert out.read_text(encoding="utf-8").startswith("# 自评表检查报告")
    result = invoke("export", "--db", str(db), "-o", str(tmp_path / "forms.xlsx"))
    assert result.exit_code == 2 and "name it .json, .csv, or add --format json|csv" in result.output


# --- --since and --ingested-since -----------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--since", "--ingested-since"])
@pytest.mark.parametrize("value", ["garbage", "2024-13-01", "2024-02-30", "20240501", "2024-5-1"])
def test_a_date_that_is_no_date_is_a_usage_error(db, option, value):
    result = invoke("report", "--db", str(db), option, value)
    assert result.exit_code == 2
    assert f"Error: Invalid value for '{option}': '{value}' is no date: give it as YYYY-MM-DD, e.g. 2024-05-01" \
           in result.output
    assert result.stdout == ""


def summary_sources(md: str) -> list[str]:
    return sorted(line.split(" | ")[1] for line in md.splitlines() if re.match(r"\| \d+ \| ", line))


def test_since_is_the_fill_date_and_ingested_since_the_ingest_date(db):
    md = run("report", "--db", str(db), "--since", "2024-05-25")
    # Forms n = 24..29 were filled on 2024-05-25..30: the day itself is included.
    assert summary_sources(md) == [f"form{n:02d}.docx" for n in range(24, N_FORMS)]
    today = datetime.datetime.now(datetime.UTC).date()
    assert len(summary_sources(run("report", "--db", str(db), "--ingested-since", today.isoformat()))) == N_FORMS
    tomorrow = (today + datetime.timedelta(days=1)).isoformat()
    assert "共 0 份表" in run("report", "--db", str(db), "--ingested-since", tomorrow)
    both = run("report", "--db", str(db), "--since", "2024-05-29", "--ingested-since", today.isoformat())
    assert summary_sources(both) == ["form28.docx", "form29.docx"]


def test_help_says_what_the_dates_mean():
    text = " ".join(run("report", "--help").split())
    assert "--since YYYY-MM-DD Only forms filled (填表日期, the fill date) on or after this date" in text
    assert "--ingested-since YYYY-MM-DD Only forms ingested on or after this date (UTC)." in text


# --- the summary's note says why ------------------------------------------------------------------------------


def test_the_summary_note_lists_open_kinds_and_their_items(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(FIXTURES / "forms" / "filled_errors.docx", inbox)
    make_form(inbox / "both.docx", 15)  # 3.1.2 over its max and 2.5.1's inspector score blank
    db = tmp_path / "n.db"
    run("ingest", str(inbox), "--db", str(db))
    md = run("report", "--db", str(db))
    notes = {row[1]: row[-1].strip() for row in (line.strip("|").split(" | ") for line in md.splitlines()
                                         if re.match(r"\| \d+ \| ", line))}
    assert notes == {"filled_errors.docx": "超分 3.1.2；合计不符；自评逐项合计 89.5", "both.docx": "超分 3.1.2；未填分 2.5.1"}
    html = run("report", "--db", str(db), "--format", "html")
    assert '<td class="note">超分 3.1.2；合计不符；自评逐项合计 89.5</td>' in html
    assert '<td class="note">超分 3.1.2；未填分 2.5.1</td>' in html
    run("report", "--db", str(db), "-o", str(tmp_path / "r.xlsx"))
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["汇总表"]
    header = [c.value for c in ws[1]]
    got = {Path(r[1]).name: r[header.index("说明 note")] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert got == {"filled_errors.docx": "超分 3.1.2；合计不符；自评逐项合计 89.5", "both.docx": "超分 3.1.2；未填分 2.5.1"}
    # Accepted, a finding leaves the note; the note says it was accepted instead.
    run("review", "accept", "both.docx", "missing_score", "--item", "2.5.1", "--why", "电话确认", "--db", str(db))
    md = run("report", "--db", str(db))
    assert "| 超分 3.1.2；1 条已接受 |" in md


def test_every_flagged_form_has_a_note(db):
    records = json.loads(run("export", "--db", str(db)))
    flagged = {r["source"] for r in records if r["status"] == "flagged"}
    assert len(flagged) == 14  # n % 3 == 0 or n % 5 == 0 for n < 30
    run("report", "--db", str(db), "-o", str(db.parent / "n.xlsx"))
    ws = openpyxl.load_workbook(db.parent / "n.xlsx")["汇总表"]
    header = [c.value for c in ws[1]]
    notes = {r[1]: r[header.index("说明 note")] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert all(notes[s] for s in flagged)
    assert notes[next(s for s in flagged if s.endswith("form15.docx"))] == "超分 3.1.2；未填分 2.5.1"


# --- the xlsx prints ------------------------------------------------------------------------------------------


def test_xlsx_statuses_are_chinese_in_colour_and_every_sheet_prints_landscape_one_page_wide(db, tmp_path):
    out = tmp_path / "r.xlsx"
    run("report", "--db", str(db), "-o", str(out))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总表", "汇总表 qinghai-2024", "问题明细 discrepancies", "更正 corrections"]
    for ws in wb:
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == "$1:$1"
        assert ws.freeze_panes == "A2"
        header = [c.value for c in ws[1]]
        bilingual = [h for h in header if h != "id"]
        assert bilingual and all(CJK.search(h) for h in bilingual), (ws.title, header)
        assert all(re.search(r"[A-Za-z]", h) for h in bilingual if " " in h), (ws.title, header)
    summary = wb["汇总表"]
    col = [c.value for c in summary[1]].index("状态 status") + 1
    fills = {summary.cell(r, col).value: summary.cell(r, col).fill.fgColor.rgb for r in range(2, summary.max_row + 1)}
    assert fills == {"通过": "00ECFDF3", "需复核": "00FFFAEB"}
    sev = wb["问题明细 discrepancies"]
    col = [c.value for c in sev[1]].index("严重程度 severity") + 1
    assert {sev.cell(r, col).value for r in range(2, sev.max_row + 1)} == {"错误", "警告", "提示"}


@needs_soffice
def test_the_summary_of_30_forms_prints_on_one_page(db, tmp_path):
    out = tmp_path / "r.xlsx"
    run("report", "--db", str(db), "-o", str(out))
    wb = openpyxl.load_workbook(out)
    for name in wb.sheetnames[1:]:
        del wb[name]
    only = tmp_path / "summary.xlsx"
    wb.save(only)
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
                    str(tmp_path), str(only)], check=True, capture_output=True, timeout=180)
    pdf = (tmp_path / "summary.pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2  # measured: 1 (the header row and 30 forms, landscape, one page wide)


def test_every_report_says_places_count_from_1_and_json_from_0(db, tmp_path):
    rule = "表、行、列从 1 起数，第N页从 1 起数；JSON 导出和 SQLite 中 table/row/col 从 0 起数，page 从 1 起数。"
    assert run("report", "--db", str(db)).rstrip().splitlines()[-1].startswith(rule)
    assert f"<footer>{rule}" in run("report", "--db", str(db), "--format", "html")
    run("report", "--db", str(db), "-o", str(tmp_path / "r.xlsx"))
    for ws in openpyxl.load_workbook(tmp_path / "r.xlsx"):
        assert ws.oddFooter.left.text == rule
