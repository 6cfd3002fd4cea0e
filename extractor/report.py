"""Report: stored forms -> one document (HTML, Markdown or Excel) for the whole database.

A summary table (one row per form; failed forms first, then flagged ones, most errors first),
then every form that needs a look with its discrepancies: the item, its canonical label, the
text as read and where in the file it was found. Totals and differences are exact (Decimal).
"""

from __future__ import annotations

import html
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlite_utils

from .checks import ERROR, INFO, WARNING
from .export import form_to_totals, is_formula_like
from .form import FAILED, FLAGGED, OK, Discrepancy, ExtraRow, Form, ItemResult, PrintedTotal
from .scores import fmt, to_json_number
from .store import form_ids, load_form
from .terminal import safe

FormRow = tuple[int, Form]

SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
STATUS_ORDER = {FAILED: 0, FLAGGED: 1, OK: 2}
STATUS_LABEL = {FAILED: "读取失败 failed", FLAGGED: "需复核 flagged", OK: "通过 ok"}
SEVERITY_LABEL = {ERROR: "错误 error", WARNING: "警告 warning", INFO: "提示 info"}
TOTAL_LABEL = {"total": "总分", "bonus": "加分项", "penalty": "减分项", "grand": "合计"}
KIND_LABEL = {
    "over_cap": "超出分值", "negative_score": "负分", "non_numeric": "非数值", "missing_score": "未填分",
    "self_inspector_diff": "自评督查不一致", "subtotal_mismatch": "小计不符", "max_mismatch": "分值不符",
    "total_mismatch": "总分不符", "missing_item": "缺项", "unmatched_row": "未匹配行", "duplicate_item": "重复项",
    "low_confidence_match": "匹配存疑", "low_confidence_value": "识别存疑", "header_missing": "表头缺失",
    "column_conflict": "列不对齐", "unknown_column": "未知列", "tick_ambiguous": "多选", "deduction": "扣分换算",
    "full_marks": "满分", "formula_uncached": "公式无缓存值", "read_failed": "读取失败",
}
SIDE_LABEL = {"self": "自评", "inspector": "督查"}
JUDGMENT_ORDER = ("符合", "基本符合", "不符合")
DASH = "—"

SUMMARY_HEADER = ["#", "来源 source", "机构 institution", "评分表 rubric", "自评总分 self", "督查总分 inspector",
                  "差值 difference", "错误 errors", "警告 warnings", "状态 status", "说明 note"]
FINDING_HEADER = ["严重程度 severity", "类型 kind", "项目 item", "标准条目 label", "表中原文 raw", "位置 where",
                  "说明 message"]
CORRECTION_HEADER = ["项目 item", "标准条目 label", "栏 field", "读取值 extracted", "更正值 corrected",
                     "更正人 who", "原因 why"]
XLSX_DISCREPANCY_HEADER = ["source", "institution", "item", "label", "kind", "severity", "message", "raw", "where",
                           "accepted", "kind_label", "side"]
XLSX_CORRECTION_HEADER = ["source", "institution", "item", "label", "field", "extracted", "corrected", "who", "at",
                          "why"]
XLSX_MAX_WIDTH = 60


# --- the report's rows, independent of the output format ------------------------------------------


@dataclass
class Summary:
    """One form's line in the summary table."""

    form_id: int
    source: str
    institution: str | None
    rubric: str | None
    fill_date: str | None
    status: str
    error: str | None
    self_total: Decimal | None  # printed total, else the items' sum
    inspector_total: Decimal | None
    self_computed: Decimal | None  # the items' sum
    inspector_computed: Decimal | None
    errors: int  # not accepted
    warnings: int
    infos: int
    accepted: int
    corrected: int

    @property
    def difference(self) -> Decimal | None:
        if self.self_total is None or self.inspector_total is None:
            return None
        return self.self_total - self.inspector_total

    @property
    def note(self) -> str:
        parts = [self.error] if self.error else []
        for total, computed, name in ((self.self_total, self.self_computed, "自评"),
                                      (self.inspector_total, self.inspector_computed, "督查")):
            if total is not None and computed is not None and total != computed:
                parts.append(f"{name}逐项合计 {fmt(computed)}")
        if self.corrected:
            parts.append(f"{self.corrected} 项已更正")
        if self.accepted:
            parts.append(f"{self.accepted} 条已接受")
        return "；".join(parts)


@dataclass
class Finding:
    """One discrepancy with what the form said and where."""

    severity: str
    kind: str
    item: str | None
    label: str
    raw_label: str | None
    self_raw: str | None
    inspector_raw: str | None
    where: str
    message: str
    accepted: dict[str, Any] | None = None
    corrected: str = ""
    self_note: str | None = None  # a remark written beside the score, shown beside the raw text
    inspector_note: str | None = None
    side: str | None = None  # self | inspector, when the discrepancy concerns one side

    @property
    def kind_label(self) -> str:
        return kind_to_label(self.kind)

    @property
    def raw_label_short(self) -> str | None:
        """The raw label, or ＝ when it reads exactly as the canonical label."""
        return "＝标准条目" if self.raw_label and self.raw_label == self.label else self.raw_label

    @property
    def raw(self) -> str:
        return self.raw_text(self.raw_label)

    def raw_sides(self) -> list[tuple[str, str, str | None]]:
        """The score cells as read: (side name, raw text, note) for each side that has a cell."""
        return [(name, raw, note) for name, raw, note in (("自评", self.self_raw, self.self_note),
                                                           ("督查", self.inspector_raw, self.inspector_note))
                if raw is not None]

    def raw_text(self, label: str | None) -> str:
        sides = "  ".join(f"{name}「{raw}」" + (f"（备注：{note}）" if note else "")
                          for name, raw, note in self.raw_sides())
        return "  ".join(p for p in (label, sides) if p)

    @property
    def accepted_text(self) -> str:
        return accepted_to_text(self.accepted)


@dataclass
class Correction:
    """A value a reviewer replaced: the extracted value beside the effective one."""

    item: str
    label: str
    field: str
    extracted: Any
    value: Any
    who: str
    at: str
    why: str


def kind_to_label(kind: str) -> str:
    """Given a discrepancy kind, return it named in Chinese beside its code ("超出分值 over_cap"); an unknown kind
    by its code alone."""
    label = KIND_LABEL.get(kind)
    return f"{label} {kind}" if label else kind


def accepted_to_text(accepted: dict[str, Any] | None) -> str:
    """Given a discrepancy's acceptance record, return it as text ('' when not accepted)."""
    if not accepted:
        return ""
    who, why = accepted.get("who"), accepted.get("why")
    return "已接受 accepted" + (f"（{who}：{why}）" if who or why else "")


def _dec(v: Any) -> Decimal | None:
    if isinstance(v, Decimal) or v is None:
        return v
    if isinstance(v, (int, float)):
        return Decimal(str(v))  # export's JSON numbers came from Decimals: str() gives them back exactly
    return None


def db_to_forms(db: sqlite_utils.Database, source: str | None = None, since: str | None = None,
                only_flagged: bool = False) -> list[FormRow]:
    """Given the store and filters, return (id, effective Form) pairs in ingest order; superseded forms left out,
    and with only_flagged, the forms that passed too."""
    forms = [(fid, load_form(db, fid)) for fid in form_ids(db, source=source, since=since)]
    return [(fid, f) for fid, f in forms if not only_flagged or f.status != OK]


def form_to_summary(form_id: int, form: Form) -> Summary:
    """Given a form, return its summary line: totals (printed, else computed), counts and status."""
    totals = form_to_totals(form) if form.items else {}
    live = Counter(d.severity for d in form.discrepancies if not d.accepted)
    self_computed, inspector_computed = _dec(totals.get("self_computed")), _dec(totals.get("inspector_computed"))
    self_printed, inspector_printed = _dec(totals.get("self")), _dec(totals.get("inspector"))
    return Summary(
        form_id=form_id, source=form.source, institution=form.institution, rubric=form.rubric,
        fill_date=form.fill_date, status=form.status, error=form.error,
        self_total=self_printed if self_printed is not None else self_computed,
        inspector_total=inspector_printed if inspector_printed is not None else inspector_computed,
        self_computed=self_computed, inspector_computed=inspector_computed,
        errors=live[ERROR], warnings=live[WARNING], infos=live[INFO],
        accepted=sum(1 for d in form.discrepancies if d.accepted),
        corrected=sum(1 for it in form.items if {"self", "inspector"} & set(it.corrected)))


def forms_to_summaries(forms: list[FormRow]) -> list[Summary]:
    """Given forms, return their summary lines: failed first, then flagged (most errors, then warnings,
    first), then ok; ingest order within each."""
    rows = [form_to_summary(fid, f) for fid, f in forms]
    return sorted(rows, key=lambda s: (STATUS_ORDER.get(s.status, 3), -s.errors, -s.warnings, s.form_id))


def sorted_forms(forms: list[FormRow]) -> list[FormRow]:
    """Given forms, return them in the summary's order."""
    by_id = dict(forms)
    return [(s.form_id, by_id[s.form_id]) for s in forms_to_summaries(forms)]


def forms_to_detailed(forms: list[FormRow]) -> list[FormRow]:
    """Given forms, return those that get a detail section, in the summary's order."""
    by_id = dict(forms)
    return [(s.form_id, by_id[s.form_id]) for s in forms_to_summaries(forms) if needs_detail(s)]


def needs_detail(s: Summary) -> bool:
    """Given a form's summary line, return whether it gets a detail section: not ok, or touched by a reviewer."""
    return s.status != OK or bool(s.accepted or s.corrected)


def provenance_to_where(prov: dict[str, Any] | None) -> str:
    """Given a provenance dict (0-based table/row/col, 1-based page, bbox), return it as readable text, 1-based."""
    if not prov:
        return ""
    parts = []
    if prov.get("page") is not None:
        parts.append(f"第{prov['page']}页")
    cells = [f"{name}{prov[k] + 1}" for k, name in (("table", "表"), ("row", "行"), ("col", "列"))
             if isinstance(prov.get(k), int)]
    if cells:
        parts.append(" ".join(cells))
    if prov.get("bbox"):
        parts.append("bbox " + ",".join(f"{x:g}" for x in prov["bbox"]))
    return " · ".join(parts)


def _row_key(prov: dict[str, Any] | None) -> tuple | None:
    """A row's identity in its file: table, row and page (a cell's col or bbox may differ within the row)."""
    if not prov:
        return None
    return prov.get("table"), prov.get("row"), prov.get("page")


def _the_one(candidates: list, row: dict[str, Any] | None, prov_of) -> Any:
    """The candidate whose provenance is the discrepancy's row; without a row, the only candidate, if one."""
    key = _row_key(row)
    if key is not None:
        return next((c for c in candidates if _row_key(prov_of(c)) == key), None)
    return candidates[0] if len(candidates) == 1 else None


def _extra_row(form: Form, d: Discrepancy) -> ExtraRow | None:
    kind = "duplicate" if d.kind == "duplicate_item" else "unmatched"
    rows = [r for r in form.extra_rows if r.kind == kind and (kind == "unmatched" or r.item == d.item)]
    return _the_one(rows, d.row, lambda r: r.provenance)


def _printed_total(form: Form, d: Discrepancy) -> PrintedTotal | None:
    if d.total == "subtotal" or d.kind == "subtotal_mismatch":
        subs = [p for p in form.printed if p.kind == "subtotal" and (d.category is None or p.category == d.category)]
        return _the_one(subs, d.row, lambda p: p.provenance)
    # A discrepancy stored by an earlier version has no total: it points at the printed total only if one exists.
    kinds = (d.total,) if d.total is not None else ("total", "grand")
    return _the_one([p for p in form.printed if p.kind in kinds], d.row, lambda p: p.provenance)


def _corrected_note(it: ItemResult) -> str:
    sides = [f"{name} {fmt(it.corrected[f])} → {fmt(getattr(it, f))}"
             for f, name in (("self", "自评"), ("inspector", "督查")) if f in it.corrected]
    if not sides:
        return ""
    by = (it.corrected.get("by") or [{}])[-1]
    who = f"（{by.get('who')}：{by.get('why')}）" if by.get("who") or by.get("why") else ""
    return "已更正 corrected: " + "，".join(sides) + who


def discrepancy_to_finding(form: Form, d: Discrepancy) -> Finding:
    """Given a form and one of its discrepancies, return it with the label, raw text and place it refers to."""
    it = next((i for i in form.items if i.code == d.item), None) if d.item else None
    f = Finding(d.severity, d.kind, d.item, it.label if it else "", None, None, None, "", d.message, d.accepted,
                side=d.side)
    if d.kind in ("unmatched_row", "duplicate_item"):
        row = _extra_row(form, d)
        if row is not None:
            f.raw_label, f.self_raw, f.inspector_raw = row.text, row.self_raw, row.inspector_raw
            f.where = provenance_to_where(row.provenance)
    elif d.kind in ("total_mismatch", "subtotal_mismatch") or d.total is not None:
        p = _printed_total(form, d)
        if p is not None:
            f.label = f"小计 {p.category}" if p.kind == "subtotal" else TOTAL_LABEL.get(p.kind, p.kind)
            f.self_raw, f.inspector_raw = p.self_raw, p.inspector_raw
            f.where = provenance_to_where(p.provenance)
    elif it is not None:
        f.raw_label, f.self_raw, f.inspector_raw = it.raw_label, it.self_raw, it.inspector_raw
        f.self_note, f.inspector_note = it.self_note, it.inspector_note
        f.where = provenance_to_where(it.provenance) if it.present else "表中无此行 not in the form"
    elif d.kind == "header_missing":
        f.where = "表头 header"
    if not f.where and d.row:
        f.where = provenance_to_where(d.row)
    if it is not None:
        f.corrected = _corrected_note(it)
    return f


def form_to_findings(form: Form) -> list[Finding]:
    """Given a form, return its discrepancies as findings: errors, warnings, infos; accepted ones last
    within each severity; form order otherwise."""
    found = [discrepancy_to_finding(form, d) for d in form.discrepancies]
    return sorted(found, key=lambda f: (SEVERITY_ORDER.get(f.severity, 3), bool(f.accepted)))


def form_to_corrections(form: Form) -> list[Correction]:
    """Given an effective form, return every value a reviewer corrected."""
    out = []
    for it in form.items:
        by = (it.corrected.get("by") or [{}])[-1]
        for field in ("self", "inspector"):
            if field in it.corrected:
                out.append(Correction(it.code, it.label, field, it.corrected[field], getattr(it, field),
                                      by.get("who") or "", by.get("at") or "", by.get("why") or ""))
    return out


def _num(v: Decimal | None) -> str:
    return DASH if v is None else fmt(v)


def _signed(v: Decimal | None) -> str:
    return DASH if v is None else ("+" if v > 0 else "") + fmt(v)


def sources_to_folder(sources: list[str]) -> str:
    """Given sources, return the folder they all sit in ('' when none is shared), to print once."""
    parents = [str(Path(src).parent) for src in sources]
    try:
        folder = os.path.commonpath(parents) if parents else ""
    except ValueError:  # absolute and relative paths mixed
        return ""
    return "" if folder in ("", ".") else folder


def short_source(source: str, folder: str) -> str:
    """Given a source and the shared folder, return the source relative to it."""
    return os.path.relpath(source, folder) if folder else source


def _counts_line(summaries: list[Summary]) -> str:
    c = Counter(s.status for s in summaries)
    return (f"共 {len(summaries)} 份表：读取失败 {c[FAILED]}，需复核 {c[FLAGGED]}，通过 {c[OK]}"
            f" ({len(summaries)} forms: {c[FAILED]} failed, {c[FLAGGED]} flagged, {c[OK]} ok)")


def summary_to_cells(s: Summary, n: int, folder: str = "") -> list[str]:
    """Given a summary line, its number and the shared folder, return its cells as text, in SUMMARY_HEADER order."""
    failed = s.status == FAILED
    return [str(n), short_source(s.source, folder), s.institution or DASH, s.rubric or DASH, _num(s.self_total),
            _num(s.inspector_total), _signed(s.difference), DASH if failed else str(s.errors), DASH if failed else str(s.warnings),
            STATUS_LABEL.get(s.status, s.status), s.note]


def finding_to_cells(f: Finding) -> list[str]:
    """Given a finding, return its cells as text, in FINDING_HEADER order."""
    message = "；".join(p for p in (f.message, f.corrected, f.accepted_text) if p)
    return [SEVERITY_LABEL.get(f.severity, f.severity), f.kind_label, f.item or DASH, f.label or DASH,
            f.raw_text(f.raw_label_short) or DASH,
            f.where or DASH, message]


def correction_to_cells(c: Correction) -> list[str]:
    """Given a correction, return its cells as text, in CORRECTION_HEADER order."""
    return [c.item, c.label, "自评 self" if c.field == "self" else "督查 inspector", fmt(c.extracted), fmt(c.value),
            c.who, c.why]


def _heading(s: Summary) -> str:
    return f"{s.institution or Path(s.source).name} — {STATUS_LABEL.get(s.status, s.status)}"


def _facts(s: Summary) -> str:
    return (f"来源 {s.source} · 评分表 {s.rubric or DASH} · 填表日期 {s.fill_date or DASH} · "
            f"自评 {_num(s.self_total)} · 督查 {_num(s.inspector_total)} · 差值 {_signed(s.difference)}")


# --- Markdown ---------------------------------------------------------------------------------------


# Every way a line ends in markdown (LF, CR, CRLF) or in a terminal showing it (VT, FF, NEL, U+2028/9): one space,
# so a cell can never end its row and start a forged one.
_MD_LINE_BREAK = re.compile(r"\s*(?:\r\n|[\n\r\v\f\x85\u2028\u2029])\s*")
# The characters that make markdown of text: | ends a cell; [ ] ( ) ! build links and remote images; ` code; < HTML
# and autolinks; \ itself, so the escapes stay escapes.
_MD_SPECIAL = re.compile(r"([\\|\[\]()!`<])")
# Bare URLs are links in GFM too (autolink extension): an escaped ":" or "." after the scheme or www leaves text.
_MD_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|xmpp|file)(:)|\b(www)(\.)")


def md_cell(value: Any) -> str:
    """Given a value, return it as inert text for a GitHub-flavoured markdown table cell or line: line breaks as one
    space, control characters escaped as in the terminal (a report may be printed to one), and every character
    that would make a row, a link, an image, code or HTML backslash-escaped."""
    text = _MD_LINE_BREAK.sub(" ", "" if value is None else str(value))
    text = _MD_SPECIAL.sub(r"\\\1", safe(text))
    return _MD_AUTOLINK.sub(lambda m: f"{m[1] or m[3]}\\{m[2] or m[4]}", text)


def rows_to_md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Given a header and rows of text, return the lines of a GFM table."""
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]


def form_to_md(form_id: int, form: Form) -> list[str]:
    """Given a form that needs a look, return its markdown section: facts, discrepancies, corrections."""
    s = form_to_summary(form_id, form)
    lines = [f"### {md_cell(_heading(s))}", "", md_cell(_facts(s)), ""]
    if s.error:
        lines += [f"**读取失败 failed:** {md_cell(s.error)}", ""]
    findings = form_to_findings(form)
    if findings:
        lines += rows_to_md_table(FINDING_HEADER, [finding_to_cells(f) for f in findings]) + [""]
    corrections = form_to_corrections(form)
    if corrections:
        lines += ["更正 corrections:", ""]
        lines += rows_to_md_table(CORRECTION_HEADER, [correction_to_cells(c) for c in corrections]) + [""]
    return lines


def forms_to_md(forms: list[FormRow]) -> str:
    """Given forms, return the report as GitHub-flavoured markdown: summary table, then each form needing a look."""
    summaries = forms_to_summaries(forms)
    folder = sources_to_folder([s.source for s in summaries])
    lines = ["# 自评表检查报告 Self-evaluation report", "", _counts_line(summaries), ""]
    lines += [f"目录 folder: {md_cell(folder)}", ""] if folder else []
    lines += ["## 汇总 Summary", ""]
    lines += rows_to_md_table(SUMMARY_HEADER, [summary_to_cells(s, n, folder) for n, s in enumerate(summaries, 1)])
    detail = forms_to_detailed(forms)
    lines += ["", "## 问题明细 Discrepancies", ""]
    if not detail:
        lines.append("无需复核的表 (no form needs a look)")
    for fid, f in detail:
        lines += form_to_md(fid, f)
    return "\n".join(lines).rstrip() + "\n"


# --- HTML -------------------------------------------------------------------------------------------

CSS = """
:root { --err: #b42318; --err-bg: #fef3f2; --warn: #b54708; --warn-bg: #fffaeb; --info: #175cd3;
  --info-bg: #eff8ff; --ok: #067647; --ok-bg: #ecfdf3; --muted: #667085; --line: #eaecf0; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; color: #101828;
  margin: 24px 32px; font-size: 14px; line-height: 1.55; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 16px; margin: 0 0 4px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.counts { color: var(--muted); margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; font-size: 13px; white-space: nowrap; }
.nowrap { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.src { overflow-wrap: break-word; }
td.where { color: var(--muted); font-size: 12px; min-width: 110px; }
td.raw { max-width: 360px; }
.raw-side { color: var(--muted); font-size: 12px; display: block; }
td.diff { font-weight: 600; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  white-space: nowrap; line-height: 20px; }
.s-error, .s-failed { color: var(--err); background: var(--err-bg); }
.s-warning, .s-flagged { color: var(--warn); background: var(--warn-bg); }
.s-info { color: var(--info); background: var(--info-bg); }
.s-ok { color: var(--ok); background: var(--ok-bg); }
.s-accepted { color: var(--muted); background: #f2f4f7; }
.s-corrected { color: #6941c6; background: #f4f3ff; }
tr.r-failed td:first-child, tr.f-error td:first-child { border-left: 4px solid var(--err); }
tr.r-flagged td:first-child, tr.f-warning td:first-child { border-left: 4px solid var(--warn); }
tr.r-ok td:first-child, tr.f-info td:first-child { border-left: 4px solid var(--line); }
tr.r-failed { background: var(--err-bg); }
tr.accepted td { color: var(--muted); }
td.bad { color: var(--err); font-weight: 600; }
.form { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 0 0 16px; }
.form.failed { border-color: var(--err); }
.facts { color: var(--muted); font-size: 13px; margin: 0 0 8px; word-break: break-all; }
.error-box { color: var(--err); background: var(--err-bg); padding: 8px 12px; border-radius: 6px; }
.note { color: var(--muted); font-size: 12px; }
.mark { color: #6941c6; font-size: 12px; }
a { color: inherit; }
details summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
@media print { details { display: block; } }
"""


def esc(value: Any) -> str:
    """Given a value, return it html-escaped ('' for None), its control and bidi characters shown as escapes as in
    the terminal (the page may be printed to one, and a browser would hide them); line breaks stay line breaks."""
    lines = ("" if value is None else str(value)).replace("\r\n", "\n").split("\n")
    return html.escape("\n".join(safe(line) for line in lines), quote=True)


def _badge(cls: str, text: str) -> str:
    return f'<span class="badge s-{esc(cls)}">{esc(text)}</span>'


def _th(header: list[str]) -> str:
    return "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"


def summary_to_html(s: Summary, n: int, folder: str = "") -> str:
    """Given a summary line, its number and the shared folder, return its <tr>."""
    failed = s.status == FAILED
    name = esc(short_source(s.source, folder))
    if needs_detail(s):
        name = f'<a href="#form-{s.form_id}">{name}</a>'
    marks = f' <span class="mark" title="含更正 corrected">✎{s.corrected}</span>' if s.corrected else ""
    cells = [f'<td class="num">{n}</td>',
             f'<td class="src" title="{esc(s.source)}">{name}</td>',
             f"<td>{esc(s.institution or DASH)}</td>", f'<td class="nowrap">{esc(s.rubric or DASH)}</td>',
             f'<td class="num">{esc(_num(s.self_total))}{marks}</td>',
             f'<td class="num">{esc(_num(s.inspector_total))}</td>',
             f'<td class="num diff">{esc(_signed(s.difference))}</td>',
             f'<td class="num{" bad" if s.errors else ""}">{DASH if failed else s.errors}</td>',
             f'<td class="num">{DASH if failed else s.warnings}</td>',
             f"<td>{_badge(s.status, STATUS_LABEL.get(s.status, s.status))}</td>",
             f'<td class="note">{esc(s.note)}</td>']
    return f'<tr class="r-{esc(s.status)}">' + "".join(cells) + "</tr>"


def finding_to_html(f: Finding) -> str:
    """Given a finding, return its <tr>: severity badge, item, label, raw text, place, message."""
    raw_sides = "  ".join(f"{name}「{esc(raw)}」" + (f"（备注：{esc(note)}）" if note else "")
                          for name, raw, note in f.raw_sides())
    raw = esc(f.raw_label_short or "") + (f'<span class="raw-side">{raw_sides}</span>' if raw_sides else "")
    extra = "".join(f"<br>{_badge(cls, text)}" for cls, text in (("corrected", f.corrected),
                                                                   ("accepted", f.accepted_text)) if text)
    cls = f"f-{esc(f.severity)}" + (" accepted" if f.accepted else "")
    return (f'<tr class="{cls}"><td>{_badge(f.severity, SEVERITY_LABEL.get(f.severity, f.severity))}</td>'
            f"<td>{esc(f.kind_label)}</td><td>{esc(f.item or DASH)}</td><td>{esc(f.label or DASH)}</td>"
            f'<td class="raw">{raw or DASH}</td><td class="where">{esc(f.where or DASH)}</td>'
            f"<td>{esc(f.message)}{extra}</td></tr>")


def _findings_table(findings: list[Finding]) -> str:
    return "<table>" + _th(FINDING_HEADER) + "".join(finding_to_html(f) for f in findings) + "</table>"


def form_to_html(form_id: int, form: Form) -> str:
    """Given a form that needs a look, return its <section>: facts, errors and warnings, infos folded,
    reviewer corrections."""
    s = form_to_summary(form_id, form)
    parts = [f'<section class="form {esc(s.status)}" id="form-{form_id}">',
             f"<h3>{esc(s.institution or Path(s.source).name)} {_badge(s.status, STATUS_LABEL[s.status])}</h3>",
             f'<p class="facts">{esc(_facts(s))}</p>']
    if s.error:
        parts.append(f'<p class="error-box">读取失败 failed: {esc(s.error)}</p>')
    findings = form_to_findings(form)
    main = [f for f in findings if f.severity != INFO or f.accepted or f.corrected]
    infos = [f for f in findings if f not in main]
    if main:
        parts.append(_findings_table(main))
    if infos:
        parts.append(f"<details><summary>{len(infos)} 条提示 info (自评与督查不一致等)</summary>"
                     f"{_findings_table(infos)}</details>")
    corrections = form_to_corrections(form)
    if corrections:
        rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in correction_to_cells(x)) + "</tr>"
                       for x in corrections)
        parts.append(f"<p><b>更正 corrections</b></p><table>{_th(CORRECTION_HEADER)}{rows}</table>")
    return "\n".join(parts) + "\n</section>"


def forms_to_html(forms: list[FormRow]) -> str:
    """Given forms, return the report as one self-contained HTML page (inline style, no scripts, no links out)."""
    summaries = forms_to_summaries(forms)
    folder = sources_to_folder([s.source for s in summaries])
    rows = "\n".join(summary_to_html(s, n, folder) for n, s in enumerate(summaries, 1))
    folder_line = f"<br>目录 folder: {esc(folder)}" if folder else ""
    detail = [form_to_html(fid, f) for fid, f in forms_to_detailed(forms)]
    body = "\n".join(detail) if detail else '<p class="counts">无需复核的表 (no form needs a look)</p>'
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>自评表检查报告</title>
<style>{CSS}</style>
</head>
<body>
<h1>自评表检查报告 <span class="note">Self-evaluation report</span></h1>
<p class="counts">{esc(_counts_line(summaries))}{folder_line}</p>
<h2>汇总 Summary</h2>
<table>
{_th(SUMMARY_HEADER)}
{rows}
</table>
<h2>问题明细 Discrepancies</h2>
{body}
</body>
</html>
"""


# --- Excel ------------------------------------------------------------------------------------------


def xlsx_value(v: Any) -> Any:
    """Given a value, return it as an Excel cell wants it: numbers as int/float, text without control chars."""
    if isinstance(v, Decimal):
        return to_json_number(v)
    if isinstance(v, str):
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", v)
    return v


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rows_to_sheet(ws: Any, header: list[str], rows: list[list[Any]]) -> None:
    """Given a worksheet, a header and rows, write them: bold frozen header, text kept as text, sized columns."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [_width(h) for h in header]
    for row in rows:
        ws.append([xlsx_value(v) for v in row])
        for n, cell in enumerate(ws[ws.max_row]):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a form's text starting with "=" stays text, not a formula
                if is_formula_like(cell.value):
                    # The CSV export's rule: the quote prefix (Excel's leading apostrophe, not part of the value)
                    # keeps it text even after someone edits the cell.
                    cell.quotePrefix = True
            widths[n] = max(widths[n], _width("" if cell.value is None else str(cell.value)))
    ws.freeze_panes = "A2"
    for n, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(n)].width = min(w + 2, XLSX_MAX_WIDTH)
    if rows:
        ws.auto_filter.ref = ws.dimensions


def form_to_category_scores(form: Form) -> dict[str, tuple[Any, Any]]:
    """Given a form, return per category (in rubric order) its (self, inspector) score: the sum of its items'
    points, else a tally of its judgments ('符合 3 · 不符合 1'), else None."""
    cats: dict[str, list[ItemResult]] = {}
    for it in form.items:
        cats.setdefault(it.category, []).append(it)
    return {name: (_category_value(items, "self"), _category_value(items, "inspector")) for name, items in cats.items()}


def _category_value(items: list[ItemResult], side: str) -> Decimal | str | None:
    values = [getattr(i, side) for i in items]
    nums = [v for v in values if isinstance(v, Decimal)]
    if nums:
        return sum(nums, Decimal(0))
    tally = Counter(v for v in values if isinstance(v, str))
    known = {j: n for n, j in enumerate(JUDGMENT_ORDER)}
    ordered = sorted(tally.items(), key=lambda kv: (known.get(kv[0], len(known)), kv[0]))
    return " · ".join(f"{k} {n}" for k, n in ordered) or None


def summaries_to_rows(summaries: list[Summary]) -> list[list[Any]]:
    """Given summary lines, return the 汇总表 sheet's rows (numbers as numbers)."""
    return [[s.form_id, s.source, s.institution, s.rubric, s.fill_date, s.status, s.self_total, s.inspector_total,
             s.difference, s.self_computed, s.inspector_computed, None if s.status == FAILED else s.errors,
             None if s.status == FAILED else s.warnings, s.corrected, s.accepted, s.note] for s in summaries]


SUMMARY_SHEET_HEADER = ["id", "来源 source", "机构 institution", "评分表 rubric", "填表日期 fill date", "状态 status",
                        "自评总分 self total", "督查总分 inspector total", "差值 difference", "自评逐项合计 self items",
                        "督查逐项合计 inspector items", "错误 errors", "警告 warnings", "已更正 corrected",
                        "已接受 accepted", "说明 note"]


def rubric_forms_to_rows(forms: list[FormRow]) -> tuple[list[str], list[list[Any]]]:
    """Given forms of one rubric, return the header and rows of its category sheet: per category the self and
    inspector scores, in rubric order, then the totals."""
    scores = [(fid, f, form_to_category_scores(f)) for fid, f in forms]
    cats = list(dict.fromkeys(name for _, _, cs in scores for name in cs))
    header = ["id", "机构 institution", "来源 source"]
    header += [f"{c} {side}" for c in cats for side in ("自评", "督查")]
    header += ["自评总分 self total", "督查总分 inspector total", "差值 difference"]
    rows = []
    for fid, f, cs in scores:
        s = form_to_summary(fid, f)
        row = [fid, f.institution, f.source]
        row += [v for c in cats for v in cs.get(c, (None, None))]
        rows.append(row + [s.self_total, s.inspector_total, s.difference])
    return header, rows


def sheet_title(text: str, taken: set[str]) -> str:
    """Given a wished sheet name and the names taken, return a valid unused Excel sheet name (<= 31 chars)."""
    base = re.sub(r"[\[\]:*?/\\]", "_", text)[:31]
    title, n = base, 2
    while title.lower() in {t.lower() for t in taken}:
        title = f"{base[:28]}~{n}"
        n += 1
    return title


def forms_to_discrepancy_rows(forms: list[FormRow]) -> list[list[Any]]:
    """Given forms, return the discrepancies sheet's rows: failed forms' errors, then every finding."""
    rows = []
    for _, f in forms:
        if f.status == FAILED:
            rows.append([f.source, f.institution, None, None, "read_failed", ERROR, f.error, None, None, None,
                         KIND_LABEL["read_failed"], None])
        for x in form_to_findings(f):
            message = "；".join(p for p in (x.message, x.corrected) if p)
            rows.append([f.source, f.institution, x.item, x.label or None, x.kind, x.severity, message,
                         x.raw or None, x.where or None, x.accepted_text or None, KIND_LABEL.get(x.kind),
                         SIDE_LABEL.get(x.side or "")])
    return rows


def forms_to_correction_rows(forms: list[FormRow]) -> list[list[Any]]:
    """Given forms, return the corrections sheet's rows (extracted and corrected values side by side)."""
    return [[f.source, f.institution, c.item, c.label, c.field, c.extracted, c.value, c.who, c.at, c.why]
            for _, f in forms for c in form_to_corrections(f)]


def forms_to_xlsx(forms: list[FormRow], path: str | os.PathLike) -> None:
    """Given forms, write the report workbook to path: 汇总表 (one row per form), one 汇总表 sheet per rubric
    with category scores, discrepancies and corrections."""
    from openpyxl import Workbook

    ordered = sorted_forms(forms)
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总表"
    rows_to_sheet(ws, SUMMARY_SHEET_HEADER, summaries_to_rows(forms_to_summaries(forms)))
    taken = {ws.title, "discrepancies", "corrections"}
    for rubric_id in dict.fromkeys(f.rubric for _, f in ordered if f.rubric and f.items):
        header, rows = rubric_forms_to_rows([(fid, f) for fid, f in ordered if f.rubric == rubric_id and f.items])
        title = sheet_title(f"汇总表 {rubric_id}", taken)
        taken.add(title)
        rows_to_sheet(wb.create_sheet(title), header, rows)
    rows_to_sheet(wb.create_sheet("discrepancies"), XLSX_DISCREPANCY_HEADER, forms_to_discrepancy_rows(ordered))
    rows_to_sheet(wb.create_sheet("corrections"), XLSX_CORRECTION_HEADER, forms_to_correction_rows(ordered))
    wb.save(path)
