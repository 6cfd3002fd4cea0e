"""The Excel report: stored forms -> one workbook (汇总表, a category sheet per rubric, 问题明细, 更正).

Every sheet has bilingual headers ("状态 status") repeated on every printed page, prints landscape and fit to one
page wide, and shows statuses in Chinese with a fill colour (通过 green, 需复核 amber, 读取失败 red), so the summary of
a few dozen forms prints on a few pages. Numbers stay numbers; text from a form never becomes a formula.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from decimal import Decimal
from typing import Any

from .checks import ERROR, INFO, WARNING
from .export import is_formula_like
from .form import FAILED, STATUS_ZH, Form, ItemResult
from .report_model import (
    JUDGMENT_ORDER,
    KIND_LABEL,
    SIDE_LABEL,
    ZERO_BASED_NOTE,
    FormRow,
    Summary,
    form_to_corrections,
    form_to_findings,
    form_to_summary,
    forms_to_summaries,
    sorted_forms,
)
from .scores import to_json_number

XLSX_MAX_WIDTH = 60
XLSX_STATUS = STATUS_ZH
XLSX_SEVERITY = {ERROR: "错误", WARNING: "警告", INFO: "提示"}
# Fill colours (ARGB-less hex, as openpyxl takes them) of the status and severity cells: the HTML report's colours.
XLSX_FILL = {"通过": "ECFDF3", "需复核": "FFFAEB", "读取失败": "FEF3F2", "错误": "FEF3F2", "警告": "FFFAEB",
             "提示": "EFF8FF"}
DISCREPANCY_SHEET, CORRECTION_SHEET = "问题明细 discrepancies", "更正 corrections"
XLSX_DISCREPANCY_HEADER = ["来源 source", "机构 institution", "项目 item", "标准条目 label", "类型 kind",
                           "严重程度 severity", "说明 message", "表中原文 raw", "位置 where", "已接受 accepted",
                           "类型名称 kind label", "栏 side"]
XLSX_CORRECTION_HEADER = ["来源 source", "机构 institution", "项目 item", "标准条目 label", "栏 field",
                          "读取值 extracted", "更正值 corrected", "更正人 who", "时间 at", "原因 why"]



def xlsx_value(v: Any) -> Any:
    """Given a value, return it as an Excel cell wants it: numbers as int/float, text without control chars."""
    if isinstance(v, Decimal):
        return to_json_number(v)
    if isinstance(v, str):
        return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", v)
    return v


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rows_to_sheet(ws: Any, header: list[str], rows: list[list[Any]], coloured: tuple[str, ...] = ()) -> None:
    """Given a worksheet, a header and rows, write them: bold frozen header repeated on every printed page, text
    kept as text, sized columns, the cells of the coloured columns (header names) filled by their value
    (XLSX_FILL), printed landscape and one page wide."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    fill_cols = {header.index(h) for h in coloured}
    widths = [_width(h) for h in header]
    for row in rows:
        ws.append([xlsx_value(v) for v in row])
        for n, cell in enumerate(ws[ws.max_row]):
            if n in fill_cols and cell.value in XLSX_FILL:
                cell.fill = PatternFill("solid", fgColor=XLSX_FILL[cell.value])
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
    page_setup(ws)


def page_setup(ws: Any) -> None:
    """Given a written worksheet, make it print landscape, one page wide (as many pages long as it takes), its
    header row on every page and the numbering rule in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # 0: as many pages long as the rows need
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.left.text = ZERO_BASED_NOTE.split(" (")[0]
    ws.oddFooter.right.text = "第 &P 页 / 共 &N 页"


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
    return [[s.form_id, s.source, s.institution, s.rubric, s.fill_date, XLSX_STATUS.get(s.status, s.status),
             s.self_total, s.inspector_total,
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
    header += [f"{c} {side}" for c in cats for side in ("自评 self", "督查 inspector")]
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
            rows.append([f.source, f.institution, None, None, "read_failed", XLSX_SEVERITY[ERROR], f.error, None,
                         None, None, KIND_LABEL["read_failed"], None])
        for x in form_to_findings(f):
            message = "；".join(p for p in (x.message, x.corrected) if p)
            rows.append([f.source, f.institution, x.item, x.label or None, x.kind,
                         XLSX_SEVERITY.get(x.severity, x.severity), message,
                         x.raw or None, x.where or None, x.accepted_text or None, KIND_LABEL.get(x.kind),
                         SIDE_LABEL.get(x.side or "")])
    return rows


def forms_to_correction_rows(forms: list[FormRow]) -> list[list[Any]]:
    """Given forms, return the corrections sheet's rows (extracted and corrected values side by side)."""
    return [[f.source, f.institution, c.item, c.label, c.field, c.extracted, c.value, c.who, c.at, c.why]
            for _, f in forms for c in form_to_corrections(f)]


def forms_to_xlsx(forms: list[FormRow], path: str | os.PathLike) -> None:
    """Given forms, write the report workbook to path: 汇总表 (one row per form), one 汇总表 sheet per rubric
    with category scores, 问题明细 (discrepancies) and 更正 (corrections)."""
    from openpyxl import Workbook

    ordered = sorted_forms(forms)
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总表"
    rows_to_sheet(ws, SUMMARY_SHEET_HEADER, summaries_to_rows(forms_to_summaries(forms)), coloured=("状态 status",))
    taken = {ws.title, DISCREPANCY_SHEET, CORRECTION_SHEET}
    for rubric_id in dict.fromkeys(f.rubric for _, f in ordered if f.rubric and f.items):
        header, rows = rubric_forms_to_rows([(fid, f) for fid, f in ordered if f.rubric == rubric_id and f.items])
        title = sheet_title(f"汇总表 {rubric_id}", taken)
        taken.add(title)
        rows_to_sheet(wb.create_sheet(title), header, rows)
    rows_to_sheet(wb.create_sheet(DISCREPANCY_SHEET), XLSX_DISCREPANCY_HEADER, forms_to_discrepancy_rows(ordered),
                  coloured=("严重程度 severity",))
    rows_to_sheet(wb.create_sheet(CORRECTION_SHEET), XLSX_CORRECTION_HEADER, forms_to_correction_rows(ordered))
    wb.save(path)
