"""`selfeval report`: HTML, Markdown and Excel reports built from a real database via the real CLI."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cli import main
from extractor.checks import apply_checks
from extractor.form import Discrepancy, ExtraRow, Finding, Form, ItemResult, PrintedTotal
from extractor.report import forms_to_html, forms_to_md, kind_to_label, md_cell, provenance_to_where

FIXTURES = Path(__file__).parent / "fixtures"

# The forms the report's expectations were written for, committed under tests/fixtures (formerly the shared sample set).
REPORT_SAMPLES = ("broken_truncated.docx", "filled_clean.docx", "filled_errors.docx", "filled_noisy.docx",
                  "filled_pdf.pdf", "national_filled.docx")
SUMMARY_MD_HEADER = ("| # | 来源 source | 机构 institution | 评分表 rubric | 自评总分 self | 督查总分 inspector | "
                     "差值 difference | 错误 errors | 警告 warnings | 状态 status | 说明 note |")

def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("samples") / "forms"
    folder.mkdir()
    for name in REPORT_SAMPLES:
        src = FIXTURES / ("legacy" if name == "filled_clean.docx" else "forms") / name
        shutil.copy(src, folder / name)
    return folder


@pytest.fixture(scope="module")
def errors_docx(samples: Path) -> str:
    return str(samples / "filled_errors.docx")


@pytest.fixture(scope="module")
def db(tmp_path_factory, samples: Path) -> str:
    path = str(tmp_path_factory.mktemp("report") / "r.db")
    result = CliRunner().invoke(main, ["ingest", str(samples), "--db", path])
    assert result.exit_code == 1  # broken_truncated.docx fails to read; the rest are stored
    return path


@pytest.fixture(scope="module")
def records(db: str) -> list[dict]:
    return json.loads(run("export", "--db", db))


class Page(HTMLParser):
    """The parts of an HTML page the tests look at: text, tags with attributes, table rows' text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.chunks: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.chunks.append(data)
        if self._row is not None and data.strip():
            self._row.append(data.strip())

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def html_report(db: str, *extra: str) -> str:
    return run("report", "--db", db, "--format", "html", *extra)


def test_html_lists_every_flagged_form_and_its_findings(db, records):
    page = Page(html_report(db))
    flagged = [r["source"] for r in records if r["status"] != "ok"]
    assert sorted(Path(s).name for s in flagged) == ["broken_truncated.docx", "filled_errors.docx"]
    for source in flagged:
        assert f"来源 {source}" in page.text
    over_cap = [r for r in page.rows if "超出分值 over_cap" in r]
    assert len(over_cap) == 1
    assert over_cap[0][:3] == ["错误 error", "超出分值 over_cap", "3.1.2"]
    assert "3.1.2 自评 3 超过分值 1" in over_cap[0]
    assert "表2 行10 列6" in over_cap[0]
    total = [r for r in page.rows if "总分不符 total_mismatch" in r]
    assert total[0][:4] == ["错误 error", "总分不符 total_mismatch", "—", "总分"]
    assert "自评总分填 95，各项相加为 89.5" in total[0]


def test_html_is_self_contained_chinese_and_failed_first(db):
    text = html_report(db)
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "zh-CN"}) in page.tags
    assert ("meta", {"charset": "utf-8"}) in page.tags
    assert "http" not in text
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe")]
    # Pictures of flagged rows are data URIs; nothing is fetched.
    assert all(a["src"].startswith("data:image/png;base64,") for _, a in page.tags if "src" in a)
    assert all(a["href"].startswith("#") for _, a in page.tags if "href" in a)
    assert '"Noto Sans CJK SC", "Microsoft YaHei"' in text
    summary = [r for r in page.rows if r and r[0].isdigit()]
    assert [r[1] for r in summary] == ["broken_truncated.docx", "filled_errors.docx", "filled_clean.docx",
                                       "filled_noisy.docx", "filled_pdf.pdf", "national_filled.docx"]
    assert summary[1][2:10] == ["海北州高原职业培训中心", "qinghai-2024", "95", "82", "+13", "2", "0", "需复核 flagged"]
    assert "not a readable Word file" in summary[0][-1]


def test_only_flagged_leaves_out_ok_forms(db, records):
    page = Page(html_report(db, "--only-flagged"))
    summary = [r for r in page.rows if r and r[0].isdigit()]
    assert [r[1] for r in summary] == ["broken_truncated.docx", "filled_errors.docx"]
    for r in records:
        assert (r["source"] in page.text or Path(r["source"]).name in page.text) == (r["status"] != "ok")
    md = run("report", "--db", db, "--only-flagged")
    assert "filled_clean.docx" not in md and "filled_errors.docx" in md


def test_since_in_the_future_reports_nothing(db):
    md = run("report", "--db", db, "--since", "2999-01-01")
    assert "共 0 份表" in md
    assert "无需复核的表" in md


def test_xlsx_summary_categories_and_discrepancies(db, records, tmp_path, errors_docx):
    out = tmp_path / "r.xlsx"
    run("report", "--db", db, "--format", "xlsx", "-o", str(out))
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["汇总表", "汇总表 qinghai-2024", "汇总表 national-2020", "问题明细 discrepancies",
                             "更正 corrections"]
    for ws in wb:
        assert ws.freeze_panes == "A2"
    summary = wb["汇总表"]
    header = [c.value for c in summary[1]]
    assert header[:9] == ["id", "来源 source", "机构 institution", "评分表 rubric", "填表日期 fill date",
                          "状态 status", "自评总分 self total", "督查总分 inspector total", "差值 difference"]
    row = next(r for r in summary.iter_rows(min_row=2, values_only=True) if r[1] == errors_docx)
    assert row[6] == 95 and isinstance(row[6], int)
    assert (row[7], row[8], row[9]) == (82, 13, 89.5)

    cats = wb["汇总表 qinghai-2024"]
    cat_header = [c.value for c in cats[1]]
    assert cat_header[:5] == ["id", "机构 institution", "来源 source", "机构建设 自评 self", "机构建设 督查 inspector"]
    cat_row = next(r for r in cats.iter_rows(min_row=2, values_only=True) if r[2] == errors_docx)
    rec = next(r for r in records if r["source"] == errors_docx)
    items = [i for i in rec["items"] if i["category"] == "规章制度情况"]
    assert len(items) == 18
    expected = sum(Decimal(str(i["self"])) for i in items)
    got = cat_row[cat_header.index("规章制度情况 自评 self")]
    assert isinstance(got, (int, float)) and Decimal(str(got)) == expected == 19
    assert cat_row[cat_header.index("自评总分 self total")] == 95

    disc = wb["问题明细 discrepancies"]
    assert [c.value for c in disc[1]] == ["来源 source", "机构 institution", "项目 item", "标准条目 label", "类型 kind",
                                          "严重程度 severity", "说明 message", "表中原文 raw", "位置 where",
                                          "已接受 accepted", "类型名称 kind label", "栏 side"]
    over_cap = [r for r in disc.iter_rows(min_row=2, values_only=True) if r[4] == "over_cap"]
    assert over_cap == [(errors_docx, "海北州高原职业培训中心", "3.1.2", "技能人才评价设备设施管理制度及设备安全操作规程（1分）",
                         "over_cap", "错误", "3.1.2 自评 3 超过分值 1",
                         "技能人才评价设备设施管理制度及设备安全操作规程（1分）  自评「3」  督查「1」", "表2 行10 列6", None,
                         "超出分值", "自评")]
    failed = [r for r in disc.iter_rows(min_row=2, values_only=True) if r[4] == "read_failed"]
    assert [Path(r[0]).name for r in failed] == ["broken_truncated.docx"]


def test_md_has_summary_table_and_discrepancies(db, errors_docx):
    md = run("report", "--db", db)
    assert SUMMARY_MD_HEADER in md
    assert "| 2 | filled_errors.docx | 海北州高原职业培训中心 | qinghai-2024 | 95 | 82 | +13 | 2 | 0 | 需复核 flagged |" in md
    assert ("| 错误 error | 超出分值 over_cap | 3.1.2 | 技能人才评价设备设施管理制度及设备安全操作规程（1分） | "
            "＝标准条目  自评「3」  督查「1」 | 表2 行10 列6 | 3.1.2 自评 3 超过分值 1 |") in md
    assert "| 错误 error | 总分不符 total_mismatch | — | 总分 | 自评「95」  督查「82」 | 表2 行70 列6 |" in md
    assert f"来源 {errors_docx}" in md


def test_corrections_and_acceptances_are_marked(db, tmp_path, errors_docx):
    copy = str(tmp_path / "reviewed.db")
    src, dst = sqlite3.connect(db), sqlite3.connect(copy)
    src.backup(dst)  # reads through the WAL, which a plain file copy would miss
    src.close()
    dst.close()
    run("review", "set", errors_docx, "3.1.2", "--self", "1", "--why", "misread", "--who", "张三", "--db", copy)
    run("review", "accept", errors_docx, "total_mismatch", "--why", "bonus agreed", "--who", "李四", "--db", copy)
    md = run("report", "--db", copy)
    assert "自评逐项合计 87.5；1 项已更正；1 条已接受" in md
    assert "已接受 accepted（李四：bonus agreed）" in md
    assert "| 3.1.2 | 技能人才评价设备设施管理制度及设备安全操作规程（1分） | 自评 self | 3 | 1 | 张三 | misread |" in md
    page = Page(run("report", "--db", copy, "--format", "html"))
    total = next(r for r in page.rows if "总分不符 total_mismatch" in r)
    assert "已接受 accepted（李四：bonus agreed）" in total


def _form(**kw) -> Form:
    it = ItemResult(code="1.1", category="甲", label="条目", max=Decimal(5), self=Decimal("97.6"),
                    inspector=Decimal("0.1"), self_raw="97.6", inspector_raw="0.1", raw_label=kw.pop("raw", "条目"),
                    self_kind="number", inspector_kind="number", provenance={"table": 0, "row": 4, "col": 2})
    d = Discrepancy("1.1", "over_cap", "error", "1.1 自评 97.6 超过分值 5")
    return Form(source=kw.pop("source", "a.docx"), sha256="x", status="flagged", rubric="r", institution="机构",
                items=[it], discrepancies=[d], printed=[PrintedTotal("total", Decimal("97.6"), Decimal("0.1"))], **kw)


def test_differences_are_exact():
    md = forms_to_md([(1, _form())])
    assert "| 97.6 | 0.1 | +97.5 |" in md


def test_values_are_escaped():
    form = _form(source="<script>x</script>|a.docx", raw="条目 & <b>")
    form.institution = '<img src="http://x">'
    text = forms_to_html([(1, form)])
    page = Page(text)
    assert not [t for t, _ in page.tags if t in ("script", "img", "b")]
    assert '<img src="http://x">' in page.text and "条目 & <b>" in page.text
    assert "&lt;script&gt;x&lt;/script&gt;|a.docx" in text
    assert "\\<script>x\\</script>\\|a.docx" in forms_to_md([(1, form)])
    assert md_cell("a|b\nc\\") == "a\\|b c\\\\"


def test_where_is_one_based():
    prov = {"table": 1, "row": 2, "col": 5, "page": 2, "bbox": [409.9, 177.1, 482.7, 240.6]}
    assert provenance_to_where(prov) == "第2页 · 表2 行3 列6 · bbox 409.9,177.1,482.7,240.6"
    assert provenance_to_where({"table": 0, "row": 0}) == "表1 行1"
    assert provenance_to_where(None) == ""


def _finding_rows(md: str, kind: str) -> list[list[str]]:
    """The findings table rows of one kind, as cells."""
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in md.splitlines()
            if line.startswith("| ") and f" {kind} |" in line]


def test_the_report_finds_extra_rows_and_printed_totals_by_their_row_not_by_message_text():
    # Two unmatched rows of the same text: each one's text is in the other's message, so message parsing gave
    # both findings the first row. Two 小计 rows of one category (a subtotal repeated after a page break)
    # likewise; and the 合计 row must be found as the grand total without reading 合计 in the message.
    items = [ItemResult(code="1.1", category="甲", label="条目", max=Decimal(5), self=Decimal(5), inspector=Decimal(5),
                        self_raw="5", inspector_raw="5", raw_label="条目", self_kind="number",
                        inspector_kind="number", provenance={"table": 0, "row": 1, "col": 4})]
    extra = [ExtraRow("unmatched", "其他", "1", "", 10.0, provenance={"table": 0, "row": 5}),
             ExtraRow("unmatched", "其他", "2", "", 10.0, provenance={"table": 1, "row": 3, "page": 2})]
    printed = [PrintedTotal("subtotal", Decimal(4), None, "4", "", category="甲", provenance={"table": 0, "row": 2}),
               PrintedTotal("subtotal", Decimal(3), None, "3", "", category="甲",
                            provenance={"table": 1, "row": 1, "page": 2}),
               PrintedTotal("total", Decimal(5), Decimal(5), "5", "5", provenance={"table": 1, "row": 6}),
               PrintedTotal("grand", Decimal(6), Decimal(5), "6", "5", provenance={"table": 1, "row": 7})]
    form = apply_checks(Form(source="a.docx", sha256="x", rubric="r", institution="机构", fill_date="2024-05-20",
                             has_inspector=True, items=items, extra_rows=extra, printed=printed))
    md = forms_to_md([(1, form)])
    assert [r[4:6] for r in _finding_rows(md, "unmatched_row")] == [["其他  自评「1」  督查「」", "表1 行6"],
                                                                    ["其他  自评「2」  督查「」", "第2页 · 表2 行4"]]
    assert [r[3:6] for r in _finding_rows(md, "subtotal_mismatch")] == [
        ["小计 甲", "自评「4」  督查「」", "表1 行3"], ["小计 甲", "自评「3」  督查「」", "第2页 · 表2 行2"]]
    assert [r[3:6] for r in _finding_rows(md, "total_mismatch")] == [["合计", "自评「6」  督查「5」", "表2 行8"]]


def test_new_kinds_are_named_in_chinese_and_notes_shown_beside_the_raw_text():
    it = ItemResult(code="1.1", category="甲", label="条目", max=Decimal(5), self=Decimal(5), inspector=Decimal(4),
                    self_raw="5（已整改）", inspector_raw="扣1分", self_note="已整改", raw_label="条目",
                    self_kind="number", inspector_kind="number", provenance={"table": 0, "row": 1, "col": 4},
                    findings=[Finding("column_conflict", "1.1 督查: two cells compete", "inspector"),
                              Finding("deduction", "1.1 督查 5 - 扣1分 = 4", "inspector")])
    form = apply_checks(Form(source="a.docx", sha256="x", rubric="r", institution="机构", fill_date="2024-05-20",
                             has_inspector=True, items=[it],
                             findings=[Finding("unknown_column", "市州初审 holds numbers")]))
    md = forms_to_md([(1, form)])
    assert ("| 警告 warning | 列不对齐 column_conflict | 1.1 | 条目 | ＝标准条目  自评「5（已整改）」（备注：已整改）  督查「扣1分」 | "
            "表1 行2 列5 | 1.1 督查: two cells compete |") in md
    assert "| 提示 info | 扣分换算 deduction | 1.1 |" in md
    assert "| 警告 warning | 未知列 unknown_column | — |" in md
    page = Page(forms_to_html([(1, form)]))
    row = next(r for r in page.rows if "列不对齐 column_conflict" in r)
    assert "自评「5（已整改）」（备注：已整改）  督查「扣1分」" in row
    assert [kind_to_label(k) for k in ("tick_ambiguous", "full_marks", "formula_uncached", "brand_new")] == [
        "多选 tick_ambiguous", "满分 full_marks", "公式无缓存值 formula_uncached", "brand_new"]
