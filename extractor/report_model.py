"""The report's rows, independent of the output format: stored forms -> summary lines, findings, corrections.

A summary line per form (failed forms first, then flagged ones, most errors first), then for every form that needs
a look its discrepancies: the item, its canonical label, the text as read and where in the file it was found.
Totals and differences are exact (Decimal). Places are 1-based wherever a person reads them (第2页 表1 行8 列6);
the JSON export and SQLite keep table/row/col 0-based (page is 1-based everywhere).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlite_utils

from .checks import ERROR, INFO, WARNING
from .export import form_to_totals
from .form import FAILED, FLAGGED, OK, STATUS_ZH, Discrepancy, ExtraRow, Form, ItemResult, PrintedTotal
from .scores import fmt
from .store import form_ids
from .store_batch import ids_to_forms

FormRow = tuple[int, Form]

SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
STATUS_ORDER = {FAILED: 0, FLAGGED: 1, OK: 2}
STATUS_LABEL = {status: f"{zh} {status}" for status, zh in STATUS_ZH.items()}  # "需复核 flagged"
SEVERITY_LABEL = {ERROR: "错误 error", WARNING: "警告 warning", INFO: "提示 info"}
TOTAL_LABEL = {"total": "总分", "bonus": "加分项", "penalty": "减分项", "grand": "合计"}
KIND_LABEL = {
    "over_cap": "超出分值", "negative_score": "负分", "non_numeric": "非数值", "missing_score": "未填分",
    "self_inspector_diff": "自评督查不一致", "subtotal_mismatch": "小计不符", "max_mismatch": "分值不符",
    "total_mismatch": "总分不符", "missing_item": "缺项", "unmatched_row": "未匹配行", "duplicate_item": "重复项",
    "low_confidence_match": "匹配存疑", "low_confidence_value": "识别存疑", "header_missing": "表头缺失",
    "column_conflict": "列不对齐", "unknown_column": "未知列", "tick_ambiguous": "多选", "deduction": "扣分换算",
    "full_marks": "满分", "formula_uncached": "公式无缓存值", "read_failed": "读取失败",
    "text_layer_mismatch": "文字层不符",
}
# The summary's note is a narrow column: each open kind by a short name, then its items ("超分 2.5.1；合计不符").
NOTE_LABEL = {"over_cap": "超分", "total_mismatch": "合计不符"}
NOTE_MAX_ITEMS = 6  # item codes listed per kind in the note; more are counted ("等 12 项"), never dropped unsaid
SIDE_LABEL = {"self": "自评", "inspector": "督查"}
JUDGMENT_ORDER = ("符合", "基本符合", "不符合")
DASH = "—"
# Said in every report's footer: people count from 1, the data from 0 (but pages from 1 everywhere).
ZERO_BASED_NOTE = ("表、行、列从 1 起数，第N页从 1 起数；JSON 导出和 SQLite 中 table/row/col 从 0 起数，page 从 1 起数。"
                   " (Tables, rows and columns count from 1 here; in the JSON export and SQLite table/row/col count "
                   "from 0, page from 1.)")

SUMMARY_HEADER = ["#", "来源 source", "机构 institution", "评分表 rubric", "自评总分 self", "督查总分 inspector",
                  "差值 difference", "错误 errors", "警告 warnings", "状态 status", "说明 note"]
FINDING_HEADER = ["严重程度 severity", "类型 kind", "项目 item", "标准条目 label", "表中原文 raw", "位置 where",
                  "说明 message"]
CORRECTION_HEADER = ["项目 item", "标准条目 label", "栏 field", "读取值 extracted", "更正值 corrected",
                     "更正人 who", "原因 why"]


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
    # Open (not accepted) errors and warnings: (kind, item codes in form order), errors first.
    open_kinds: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def difference(self) -> Decimal | None:
        if self.self_total is None or self.inspector_total is None:
            return None
        return self.self_total - self.inspector_total

    @property
    def note(self) -> str:
        """Why the form needs a look: its open kinds with their items, then totals that differ from the items'
        sum, corrections and acceptances; never empty for a flagged form."""
        parts = [self.error] if self.error else []
        parts += [open_kind_to_text(kind, codes) for kind, codes in self.open_kinds]
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


def open_kind_to_text(kind: str, codes: list[str]) -> str:
    """Given an open kind and the items it names, return the note's part for it ("超分 2.5.1、3.1.2"; a form-level
    kind by its name alone; past NOTE_MAX_ITEMS codes, how many more)."""
    name = NOTE_LABEL.get(kind) or KIND_LABEL.get(kind) or kind
    if not codes:
        return name
    shown = "、".join(codes[:NOTE_MAX_ITEMS])
    more = f" 等 {len(codes)} 项" if len(codes) > NOTE_MAX_ITEMS else ""
    return f"{name} {shown}{more}"


def form_to_open_kinds(form: Form) -> list[tuple[str, list[str]]]:
    """Given a form, return its open errors and warnings grouped by kind: errors first, then warnings, each in the
    order the form raised them, with the item codes (distinct, form order) each names."""
    found: dict[tuple[int, str], list[str]] = {}
    for d in form.discrepancies:
        if d.accepted or d.severity not in (ERROR, WARNING):
            continue
        codes = found.setdefault((SEVERITY_ORDER[d.severity], d.kind), [])
        if d.item and d.item not in codes:
            codes.append(d.item)
    order = {key: n for n, key in enumerate(found)}
    return [(kind, codes) for (_, kind), codes in sorted(found.items(), key=lambda kv: (kv[0][0], order[kv[0]]))]


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
                only_flagged: bool = False, ingested_since: str | None = None) -> list[FormRow]:
    """Given the store and filters (since: fill date on or after, YYYY-MM-DD; ingested_since: ingested on or after),
    return (id, effective Form) pairs in ingest order; superseded forms left out, and with only_flagged, the forms
    that passed too."""
    ids = form_ids(db, source=source, since=since, ingested_since=ingested_since)
    return [(fid, f) for fid, f, _ in ids_to_forms(db, ids) if not only_flagged or f.status != OK]


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
        corrected=sum(1 for it in form.items if {"self", "inspector"} & set(it.corrected)),
        open_kinds=form_to_open_kinds(form))


def forms_to_summaries(forms: list[FormRow]) -> list[Summary]:
    """Given forms, return their summary lines: failed first, then flagged (most errors, then warnings,
    first), then ok; ingest order within each."""
    return sorted((form_to_summary(fid, f) for fid, f in forms), key=summary_order)


def summary_order(s: Summary) -> tuple:
    """The summary's order: failed first, then flagged (most errors, then warnings, first), then ok; ingest order
    within each."""
    return STATUS_ORDER.get(s.status, 3), -s.errors, -s.warnings, s.form_id


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
    parts = [str(prov["ref"])] if prov.get("ref") else []  # a spreadsheet cell: "自评表!F12"
    if prov.get("page") is not None:
        parts.append(f"第{prov['page']}页")
    cells = [f"{name}{prov[k] + 1}" for k, name in (("table", "表"), ("row", "行"), ("col", "列"))
             if isinstance(prov.get(k), int)]
    if cells:
        parts.append(" ".join(cells))
    if prov.get("bbox"):
        parts.append("bbox " + ",".join(f"{x:g}" for x in prov["bbox"]))
    return " · ".join(parts)


def item_place(it: ItemResult) -> dict[str, Any]:
    """Given an item, return its row's provenance with the spreadsheet address of its score cells (ref), if any."""
    refs = [c["ref"] for c in (it.self_cell, it.inspector_cell) if c and c.get("ref")]
    return {**(it.provenance or {}), **({"ref": "、".join(refs)} if refs else {})}


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
        f.where = provenance_to_where(item_place(it)) if it.present else "表中无此行 not in the form"
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
        for side in ("self", "inspector"):
            if side in it.corrected:
                out.append(Correction(it.code, it.label, side, it.corrected[side], getattr(it, side),
                                      by.get("who") or "", by.get("at") or "", by.get("why") or ""))
    return out


def num_text(v: Decimal | None) -> str:
    return DASH if v is None else fmt(v)


def signed_text(v: Decimal | None) -> str:
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


def counts_line(summaries: list[Summary]) -> str:
    c = Counter(s.status for s in summaries)
    return (f"共 {len(summaries)} 份表：读取失败 {c[FAILED]}，需复核 {c[FLAGGED]}，通过 {c[OK]}"
            f" ({len(summaries)} forms: {c[FAILED]} failed, {c[FLAGGED]} flagged, {c[OK]} ok)")


def summary_to_cells(s: Summary, n: int, folder: str = "") -> list[str]:
    """Given a summary line, its number and the shared folder, return its cells as text, in SUMMARY_HEADER order."""
    failed = s.status == FAILED
    return [str(n), short_source(s.source, folder), s.institution or DASH, s.rubric or DASH, num_text(s.self_total),
            num_text(s.inspector_total), signed_text(s.difference), DASH if failed else str(s.errors), DASH if failed else str(s.warnings),
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


def heading(s: Summary) -> str:
    return f"{s.institution or Path(s.source).name} — {STATUS_LABEL.get(s.status, s.status)}"


def facts(s: Summary) -> str:
    return (f"来源 {s.source} · 评分表 {s.rubric or DASH} · 填表日期 {s.fill_date or DASH} · "
            f"自评 {num_text(s.self_total)} · 督查 {num_text(s.inspector_total)} · 差值 {signed_text(s.difference)}")

