"""Issue 12: a correction made on the CLI shows the same in every output — the views, JSON, CSV, Markdown, HTML and
Excel reports. The form: samples/forms/qh_err_overcap_20.docx: 6.2.6 holds 自评 2 over its max 1; the 自评 items
add up to 83, as its printed 总分 says. Corrected to 1, the over_cap goes and a total_mismatch (83 printed, 82
added) comes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from cli import main

from .conftest import SAMPLES

FORM = SAMPLES / "qh_err_overcap_20.docx"


def run(*args: str) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return r.stdout


def test_a_cli_correction_shows_in_every_output(tmp_path: Path):
    db = str(tmp_path / "s.db")
    run("ingest", str(FORM), "--db", db)
    run("review", "set", "1", "6.2.6", "--self", "1", "--why", "核对原件为1分", "--db", db)

    conn = sqlite3.connect(db)
    assert conn.execute("SELECT self, corrected, self_extracted FROM effective_items WHERE code = '6.2.6'").fetchone() \
        == (1.0, 1, 2.0)
    assert conn.execute("SELECT self FROM items WHERE code = '6.2.6'").fetchone() == (2.0,)  # the table keeps the read
    assert conn.execute("SELECT self_total, status, open_errors FROM effective_forms").fetchone() == (82.0, "flagged", 1)
    conn.close()

    (rec,) = json.loads(run("export", "--db", db))
    item = next(i for i in rec["items"] if i["code"] == "6.2.6")
    assert (item["self"], item["corrected"], item["extracted"], rec["status"]) == (1, True, {"self": 2}, "flagged")
    assert rec["totals"]["self_computed"] == 82
    assert [(d["kind"], d["item"]) for d in rec["discrepancies"] if d["severity"] != "info"] == [
        ("total_mismatch", None)]

    rows = list(csv.DictReader(io.StringIO(run("export", "--db", db, "--format", "csv").lstrip("\ufeff"))))
    row = next(r for r in rows if r["code"] == "6.2.6")
    assert (row["self"], row["corrected"], row["status"]) == ("1", "True", "flagged")

    md = run("report", "--db", db, "--format", "md")
    summary = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    # the summary shows the total as printed (83) and says what the corrected items add up to
    assert summary.endswith("| 需复核 flagged | 合计不符；自评逐项合计 82；1 项已更正 |"), summary

    html = run("report", "--db", db, "--format", "html")
    assert "核对原件为1分" in html  # the correction and its reason are listed

    out = tmp_path / "r.xlsx"
    run("report", "--db", db, "-o", str(out))
    ws = openpyxl.load_workbook(out).worksheets[0]
    header = [c.value for c in ws[1]]
    values = [c.value for c in ws[2]]
    assert values[header.index("自评总分 self total")] == 83
    assert values[header.index("自评逐项合计 self items")] == 82
    assert values[header.index("已更正 corrected")] == 1
    assert values[header.index("说明 note")] == "合计不符；自评逐项合计 82；1 项已更正"
    assert values[header.index("状态 status")] == "需复核"
