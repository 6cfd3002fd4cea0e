"""Safe output: CSV cells a spreadsheet would run, terminal escapes in names and cells, markdown that would make rows,
links or remote images, stdout in the console's code page, and a rubric saved with a BOM (issue 11, points 4 and 5).

Every test goes through a real SQLite file and the real CLI (click's CliRunner, or the installed `selfeval`)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

import rubric
from cli import main
from extractor.export import is_formula_like, json_to_csv, spreadsheet_text
from extractor.form import Discrepancy, Form, ItemResult
from extractor.report import forms_to_md, forms_to_xlsx, md_cell
from extractor.store import open_db, save_form
from extractor.terminal import safe, safe_json

INSTITUTION = "海北州高原职业培训中心"
CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
FORGED = "\r\nok       forged.docx"
BIDI = "\u202excod.exe"
CSI_C1 = "\x9b2J"
HOSTILE_SOURCE = f"inbox/{CLEAR}{TITLE}a{FORGED}{BIDI}.docx"
HOSTILE_INSTITUTION = f"海北州{CLIPBOARD}培训中心{CSI_C1}"
# What `safe` makes of them: every control, format and separator character written as a Python escape.
SAFE_SOURCE = "inbox/\\x1b[2J\\x1b]0;pwned\\x07a\\r\\nok       forged.docx\\u202excod.exe.docx"
SAFE_INSTITUTION = "海北州\\x1b]52;c;ZWNobyBwd25lZA==\\x07培训中心\\x9b2J"

CSV_PAYLOADS = ['=HYPERLINK("http://x","y")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx"]


def raw_controls(text: str) -> list[str]:
    """The characters of text a terminal would act on, other than the newlines that end our own lines."""
    return [ch for ch in text if ch != "\n" and safe(ch) != ch]


def item(code: str, **kw) -> ItemResult:
    base = {"category": "机构建设", "label": "条目", "max": Decimal(5), "self": Decimal(5), "inspector": Decimal(5),
            "self_raw": "5", "inspector_raw": "5", "raw_label": "条目", "self_kind": "number",
            "inspector_kind": "number", "match_score": 100.0}
    return ItemResult(code=code, **{**base, **kw})


def hostile_form() -> Form:
    return Form(source=HOSTILE_SOURCE, sha256="a" * 64, status="flagged", rubric="qinghai-2024",
                institution=HOSTILE_INSTITUTION, fill_date="2024-07-21", has_inspector=True,
                items=[item("1.1", label=f"标签{TITLE}", raw_label=f"原文{CLEAR}\r| forged |", self_raw=f"5{BIDI}",
                            self_note=f"备注{CLIPBOARD}")],
                discrepancies=[Discrepancy("1.1", "non_numeric", "warning", f"1.1 自评 '5{BIDI}' {CSI_C1}")])


def csv_form() -> Form:
    p = CSV_PAYLOADS
    return Form(source="inbox/=a.docx", sha256="b" * 64, status="flagged", rubric="qinghai-2024",
                institution=INSTITUTION, fill_date="2024-07-21", has_inspector=True,
                items=[item("1.1", self_raw=p[0], inspector_raw=p[1]), item("1.2", self_raw=p[2], inspector_raw=p[3]),
                       item("1.3", self_raw=p[4], inspector_raw=p[5]),
                       item("1.4", self=Decimal(-1), inspector=Decimal("2.5"), self_raw="-1", inspector_raw="2.5",
                            raw_label="+2.5", self_note="-", inspector_note="@")])


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def make_db(path: Path, *forms: Form) -> Path:
    db = open_db(path)
    for f in forms:
        save_form(db, f)
    db.conn.close()
    return path


# --- CSV ------------------------------------------------------------------------------------------------------------


def test_formula_like_text_is_told_from_plain_numbers():
    assert [is_formula_like(t) for t in CSV_PAYLOADS] == [True] * 6
    assert [is_formula_like(t) for t in ("-1", "+2.5", "2.5", "-0.5", "+1e3", "5", "海北州", "", "a=1", " =1")] == [
        False] * 10
    assert [is_formula_like(t) for t in ("-", "-1+1", "+", "@", "=", "-1分")] == [True] * 6
    assert [spreadsheet_text(v) for v in ("=1+1", "-1", -1, 2.5, None)] == ["'=1+1", "-1", -1, 2.5, None]


def test_csv_export_neutralises_formulas_and_has_a_bom_on_stdout_and_in_a_file(runner, tmp_path):
    db = make_db(tmp_path / "s.db", csv_form())
    out = tmp_path / "forms.csv"
    to_file = runner.invoke(main, ["export", "--db", str(db), "--format", "csv", "-o", str(out)])
    to_stdout = runner.invoke(main, ["export", "--db", str(db), "--format", "csv"])
    assert to_file.exit_code == 0 and to_stdout.exit_code == 0, (to_file.output, to_stdout.output)
    assert out.read_bytes() == to_stdout.stdout_bytes
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfform_id,source,")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [(r["code"], r["self_raw"], r["inspector_raw"]) for r in rows] == [
        ("1.1", '\'=HYPERLINK("http://x","y")', "'=1+1"), ("1.2", "'+cmd|' /C calc'!A0", "'@SUM(A1)"),
        ("1.3", "'\tx", "'\rx"), ("1.4", "-1", "2.5")]
    assert (rows[3]["self"], rows[3]["inspector"], rows[3]["raw_label"]) == ("-1", "2.5", "+2.5")
    assert (rows[3]["self_note"], rows[3]["inspector_note"]) == ("'-", "'@")
    assert {r["source"] for r in rows} == {"inbox/=a.docx"}  # an = inside the text makes no formula
    assert {r["institution"] for r in rows} == {INSTITUTION}


def test_csv_of_a_failed_form_is_one_neutralised_row():
    text = json_to_csv([{"id": 7, "source": "@evil.docx", "status": "failed", "rubric": None, "institution": None,
                         "fill_date": None, "items": []}])
    assert text.split("\r\n")[1:] == ["7,'@evil.docx,failed,,,,,,,,,,,,,,,,", ""]
    inside = json_to_csv([{"id": 1, "source": "a\rb", "status": "ok", "items": []}])
    assert inside.split("\r\n")[1] == '1,"a\rb",ok,,,,,,,,,,,,,,,,'  # a CR inside a cell is quoted: no new row


def test_xlsx_report_uses_the_same_rule_and_marks_formula_text_quote_prefixed(tmp_path):
    form = csv_form()
    form.institution = "=1+1"
    path = tmp_path / "r.xlsx"
    forms_to_xlsx([(1, form)], path)
    ws = openpyxl.load_workbook(path)["汇总表"]
    cell = ws["C2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)
    assert ws["D2"].quotePrefix is False  # qinghai-2024 is plain text


# --- stdout is UTF-8 whatever the console -------------------------------------------------------------------------


def _selfeval() -> list[str]:
    exe = shutil.which("selfeval")
    return [exe] if exe else [sys.executable, "-c", "from cli import main; main()"]


@pytest.mark.parametrize("encoding", ["cp1252", "cp936"])
def test_export_and_report_to_stdout_are_utf8_under_a_legacy_console_code_page(tmp_path, encoding):
    db = make_db(tmp_path / "s.db", Form(source="inbox/甲.docx", sha256="c" * 64, institution=INSTITUTION,
                                          rubric="qinghai-2024", items=[item("1.1")]))
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONUTF8": "0"}

    def run(*args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([*_selfeval(), *args, "--db", str(db)], capture_output=True, env=env, cwd=tmp_path,
                           timeout=120)
        assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr.decode("utf-8", "replace")
        return r

    records = json.loads(run("export").stdout.decode("utf-8"))
    assert [(r["institution"], r["source"]) for r in records] == [(INSTITUTION, "inbox/甲.docx")]
    csv_bytes = run("export", "--format", "csv").stdout
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and INSTITUTION in csv_bytes.decode("utf-8-sig")
    assert INSTITUTION in run("report").stdout.decode("utf-8")
    assert b'"form_id"' not in run("review", "list").stdout  # no corrections: an empty list, as UTF-8 JSON
    # A table for a person is in the console's encoding; what it cannot show is escaped, never a traceback.
    shown = run("show", "1").stdout.decode(encoding)
    assert "institution " + (INSTITUTION if encoding == "cp936" else "\\u6d77\\u5317") in shown


# --- terminal -------------------------------------------------------------------------------------------------------


def test_safe_escapes_controls_format_characters_and_separators_only():
    assert safe(HOSTILE_SOURCE) == SAFE_SOURCE
    assert safe(HOSTILE_INSTITUTION) == SAFE_INSTITUTION
    assert safe("a\tb\x00\x7f\x85\u2028\u2029\u200b\u2066\ufeff\U000e0041") == (
        "a\\tb\\x00\\x7f\\x85\\u2028\\u2029\\u200b\\u2066\\ufeff\\U000e0041")
    assert safe("C:\\收件箱\\自评表（2024）.docx") == "C:\\收件箱\\自评表（2024）.docx"
    assert safe(None) == "" and safe(3) == "3"
    assert safe(safe(HOSTILE_SOURCE)) == SAFE_SOURCE


def test_safe_json_is_the_same_json_with_nothing_raw():
    value = [{"why": f"{CSI_C1}{BIDI}{CLEAR}\x7f\U000e0041", "n": 1}]
    text = safe_json(value)
    assert raw_controls(text) == [] and json.loads(text) == value
    assert text == '[{"why": "\\u009b2J\\u202excod.exe\\u001b[2J\\u007f\\udb40\\udc41", "n": 1}]'


def test_show_and_report_print_file_text_escaped(runner, tmp_path):
    db = make_db(tmp_path / "s.db", hostile_form())
    shown = runner.invoke(main, ["show", "1", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert raw_controls(shown.stdout) == []
    lines = shown.stdout.splitlines()
    assert lines[0] == f"form 1: {SAFE_SOURCE}"
    assert f"institution {SAFE_INSTITUTION}" in lines[2]
    assert "标签\\x1b]0;pwned\\x07" in shown.stdout and "原文\\x1b[2J\\r| forged |" in shown.stdout
    assert "note     1.1 自评: 备注\\x1b]52;c;ZWNobyBwd25lZA==\\x07" in lines
    assert "1.1 自评 '5\\u202excod.exe' \\x9b2J" in shown.stdout
    assert not any(line.startswith("ok ") for line in lines)  # the forged line stays inside its own
    md = runner.invoke(main, ["report", "--db", str(db)])
    assert md.exit_code == 0 and raw_controls(md.stdout) == []
    # The source's CR LF is one space (no forged row), its escapes are markdown-escaped in turn.
    assert r"来源 inbox/\\x1b\[2J\\x1b\]0;pwned\\x07a ok       forged.docx\\u202excod.exe.docx · 评分表" in md.stdout
    page = runner.invoke(main, ["report", "--format", "html", "--db", str(db)])
    assert page.exit_code == 0 and raw_controls(page.stdout) == []
    assert f"<h3>{SAFE_INSTITUTION} " in page.stdout
    by_source = runner.invoke(main, ["show", "forged", "--db", str(db)])
    assert by_source.exit_code == 0 and by_source.stdout == shown.stdout


def test_ingest_progress_escapes_file_and_member_names(runner, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    names = [f"{TITLE}evil{FORGED}", f"{CLEAR}{BIDI}.docx", f"clip{CLIPBOARD}.pdf"]
    for n in names:
        (inbox / n).write_bytes(b"not a form at all")
    with zipfile.ZipFile(inbox / "mail.zip", "w") as z:
        z.writestr(f"m{CLEAR}\r\nread     x.docx", b"not a form either")
    r = runner.invoke(main, ["ingest", str(inbox), "--db", str(tmp_path / "s.db"), "--jobs", "1"])
    assert r.exit_code == 1, r.output
    assert raw_controls(r.stderr) == [] and "Traceback" not in r.stderr
    for n in names:
        assert safe(str(inbox / n)) in r.stderr
    assert "m\\x1b[2J\\r\\nread     x.docx" in r.stderr
    # A name's CR LF would have started a line of its own saying the forged file was read.
    assert not [line for line in r.stderr.splitlines() if line.startswith(("ok ", "read "))]


def test_review_list_json_has_no_raw_controls_and_round_trips(runner, tmp_path):
    db = make_db(tmp_path / "s.db", hostile_form())
    why = f"checked{CSI_C1}{BIDI}{CLEAR}"
    r = runner.invoke(main, ["review", "set", "1", "1.1", "--self", "4", "--why", why, "--who", f"li{TITLE}",
                             "--db", str(db)])
    assert r.exit_code == 0, r.output
    listed = runner.invoke(main, ["review", "list", "--db", str(db)])
    assert listed.exit_code == 0 and raw_controls(listed.stdout) == []
    rows = json.loads(listed.stdout_bytes.decode("utf-8"))
    assert [(c["item"], c["value"], c["why"], c["who"]) for c in rows] == [("1.1", "4", why, f"li{TITLE}")]
    bad = runner.invoke(main, ["review", "set", "1", f"9{CLEAR}", "--self", "1", "--why", "x", "--db", str(db)])
    assert bad.exit_code == 1 and raw_controls(bad.stderr) == [] and "9\\x1b[2J" in bad.stderr


RUBRIC = """\ufeffid = "hostile-2025"
title = "海东\\u001b]0;title\\u0007自查表"
scoring = "points"
total = 2

[[categories]]
code = "1"
name = "机构\\u009b2J管理"
max = 2

[[items]]
code = "1.1"
label = "章程\\u202e健全"
max = 1

[[items]]
code = "1.2"
label = "人员\\r\\n1.9      1  伪造 / - / 行"
max = 1
"""


def test_rubric_commands_escape_rubric_text_and_file_names(runner, tmp_path):
    d = tmp_path / "rubrics"
    d.mkdir()
    (d / "hostile.toml").write_text(RUBRIC, encoding="utf-8")
    listed = runner.invoke(main, ["rubric", "list", "--rubric-dir", str(d)])
    assert listed.exit_code == 0, listed.output
    assert "hostile-2025\t1 categories, 2 items, 2 points\t海东\\x1b]0;title\\x07自查表" in listed.stdout.splitlines()
    shown = runner.invoke(main, ["rubric", "show", "hostile-2025", "--rubric-dir", str(d)])
    assert shown.exit_code == 0 and raw_controls(shown.stdout) == []
    assert shown.stdout.splitlines() == ["hostile-2025: 海东\\x1b]0;title\\x07自查表 (points)",
                                         "1.1         1  机构\\x9b2J管理 / - / 章程\\u202e健全",
                                         "1.2         1  机构\\x9b2J管理 / - / 人员\\r\\n1.9      1  伪造 / - / 行"]
    bad = d / f"bad{CLEAR}.toml"
    bad.write_text('id = "x"\ncolour = 1\n', encoding="utf-8")
    checked = runner.invoke(main, ["rubric", "check", str(d / "hostile.toml"), str(bad)])
    assert checked.exit_code == 1
    assert raw_controls(checked.stdout + checked.stderr) == []
    assert "bad bad\\x1b[2J.toml: unknown key 'colour'" in checked.stderr


# --- markdown -------------------------------------------------------------------------------------------------------


def test_md_cell_cannot_forge_rows_links_or_remote_images():
    cell = "x\r| 1 | forged |\r\n![](http://evil/p.png) [a](https://b) `c` <img src=y> www.evil.com\x1b[2J\\"
    assert md_cell(cell) == ("x \\| 1 \\| forged \\| \\!\\[\\]\\(http\\://evil/p.png\\) \\[a\\]\\(https\\://b\\) "
                             "\\`c\\` \\<img src=y> www\\.evil.com\\\\x1b\\[2J\\\\")
    assert md_cell("1.1 督查: two cells compete（备注：已整改）") == "1.1 督查: two cells compete（备注：已整改）"


def test_md_report_keeps_one_row_per_form_and_no_link_or_image():
    form = hostile_form()
    form.institution = "x\r| 2 | forged | row |\n![](http://evil/p.png)"
    md = forms_to_md([(1, form)])
    summary = md.split("## 汇总 Summary")[1].split("## 问题明细")[0]
    rows = [line for line in summary.splitlines() if line.startswith("|")]
    assert len(rows) == 3  # header, rule, the one form
    assert "| x \\| 2 \\| forged \\| row \\| \\!\\[\\]\\(http\\://evil/p.png\\) |" in rows[2]
    assert not re.search(r"(?<!\\)!\[|(?<!\\)\]\(", md)
    assert raw_controls(md) == []


# --- rubric TOML with a BOM --------------------------------------------------------------------------------------


def test_a_rubric_saved_by_notepad_with_a_bom_loads(tmp_path):
    path = tmp_path / "r.toml"
    text = RUBRIC.replace("\ufeff", "")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    r = rubric.load(path)
    assert (r.id, [i.code for i in r.items]) == ("hostile-2025", ["1.1", "1.2"])
    no_bom = tmp_path / "n.toml"
    no_bom.write_text(text, encoding="utf-8")
    assert rubric.load(no_bom).id == "hostile-2025"
