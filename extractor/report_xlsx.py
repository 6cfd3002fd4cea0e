"""The Excel report: stored forms -> one workbook (汇总表, a category sheet per rubric, 问题明细, 更正).

Every sheet has bilingual headers ("状态 status") repeated on every printed page, prints landscape and fit to one
page wide, and shows statuses in Chinese with a fill colour (通过 green, 需复核 amber, 读取失败 red), so the summary of
a few dozen forms prints on a few pages. Numbers stay numbers; text from a form never becomes a formula.

A write-only workbook (openpyxl streams each sheet to a temporary file): the sheets' rows are made while the
forms are read (db_to_xlsx: one batch at a time, the discrepancy and correction rows kept on disk until written in
the summary's order), their column widths counted as they are made, since a write-only sheet takes its widths,
frozen header and page setup before its first row.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import sqlite_utils

from .checks import ERROR, INFO, WARNING
from .export import FORMULA_STARTS, is_formula_like
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
)
from .report_stream import db_to_report
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


_WIDTHS: dict[str, int] = {}  # labels, kinds and messages repeat over thousands of forms: measured once each


def _width(text: str) -> int:
    """A text's width in a spreadsheet column: wide (CJK) characters count two."""
    if text.isascii():
        return len(text)
    w = _WIDTHS.get(text)
    if w is None:
        w = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
        if len(_WIDTHS) < 200_000:
            _WIDTHS[text] = w
    return w


class SheetRows:
    """A sheet's rows as they are made: each value as Excel wants it (xlsx_value) and the columns' widths so far.
    A write-only worksheet takes its column widths before its first row, so the rows are counted first and
    written after (rows_to_sheet)."""

    def __init__(self, header: list[str]) -> None:
        self.header, self.widths = header, [_width(h) for h in header]
        self.n = 0

    def add(self, row: list[Any]) -> list[Any]:
        """Given a row, return it converted, its widths counted."""
        out = [xlsx_value(v) for v in row]
        widths = self.widths
        for n, v in enumerate(out):
            w = _width("" if v is None else str(v))
            if n >= len(widths):
                widths.append(w)
            elif w > widths[n]:
                widths[n] = w
        self.n += 1
        return out


def rows_to_sheet(ws: Any, header: list[str], rows: Iterable[list[Any]], coloured: tuple[str, ...] = (),
                  sized: SheetRows | None = None) -> None:
    """Given a write-only worksheet, a header and rows (converted by sized, which then holds their widths;
    without it they are converted and measured here first), write them: bold frozen header repeated on every
    printed page, text kept as text, sized columns, the cells of the coloured columns (header names) filled by
    their value (XLSX_FILL), printed landscape and one page wide."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    if sized is None:
        sized = SheetRows(header)
        rows = [sized.add(row) for row in rows]
    # A write-only sheet writes its properties, view and columns before the first row: all of them first.
    ws.freeze_panes = "A2"
    for n, w in enumerate(sized.widths, 1):
        ws.column_dimensions[get_column_letter(n)].width = min(w + 2, XLSX_MAX_WIDTH)
    page_setup(ws)
    bold = Font(bold=True)
    cells = []
    for h in header:
        cell = WriteOnlyCell(ws, h)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    fill_cols = {header.index(h) for h in coloured}
    fills = {value: PatternFill("solid", fgColor=rgb) for value, rgb in XLSX_FILL.items()}
    for row in rows:
        # Most values go in as they are; a cell object only for a fill or text that must be kept text.
        ws.append([_cell(ws, n, v, fill_cols, fills) if type(v) is str and (n in fill_cols or v[:1] in _MARKED) else v
                   for n, v in enumerate(row)])
    if sized.n:
        ws.auto_filter.ref = f"A1:{get_column_letter(max(len(header), len(sized.widths)))}{sized.n + 1}"


_MARKED = set(FORMULA_STARTS) | {"#"}  # the first characters of formulas, formula-like text and error codes (#N/A)


def _cell(ws: Any, n: int, v: Any, fill_cols: set[int], fills: dict[str, Any]) -> Any:
    """A value as the sheet writes it: itself, or a styled cell (a fill, or text that must stay text)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    fill = fills.get(v) if n in fill_cols and isinstance(v, str) else None
    formula = isinstance(v, str) and is_formula_like(v)
    if fill is None and not (isinstance(v, str) and (v.startswith("=") or v in ERROR_CODES or formula)):
        return v
    cell = WriteOnlyCell(ws, v)
    if fill is not None:
        cell.fill = fill
    if isinstance(v, str):
        cell.data_type = "s"  # a form's text starting with "=" stays text, not a formula
        if formula:
            # The CSV export's rule: the quote prefix (Excel's leading apostrophe, not part of the value)
            # keeps it text even after someone edits the cell.
            cell.quotePrefix = True
    return cell


def page_setup(ws: Any) -> None:
    """Given a worksheet, make it print landscape, one page wide (as many pages long as it takes), its header row
    on every page and the numbering rule in the footer."""
    from openpyxl.worksheet.worksheet import Worksheet

    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
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


CategoryLine = tuple[int, str | None, str, dict[str, tuple[Any, Any]], Summary]  # id, institution, source, scores


def rubric_forms_to_rows(forms: list[FormRow]) -> tuple[list[str], list[list[Any]]]:
    """Given forms of one rubric, return the header and rows of its category sheet: per category the self and
    inspector scores, in rubric order, then the totals."""
    return category_lines_to_rows([(fid, f.institution, f.source, form_to_category_scores(f), form_to_summary(fid, f))
                                   for fid, f in forms])


def category_lines_to_rows(lines: list[CategoryLine]) -> tuple[list[str], list[list[Any]]]:
    """Given forms of one rubric as (id, institution, source, category scores, summary line), return the header
    and rows of its category sheet (see rubric_forms_to_rows)."""
    cats = list(dict.fromkeys(name for _, _, _, cs, _ in lines for name in cs))
    header = ["id", "机构 institution", "来源 source"]
    header += [f"{c} {side}" for c in cats for side in ("自评 self", "督查 inspector")]
    header += ["自评总分 self total", "督查总分 inspector total", "差值 difference"]
    rows = []
    for fid, institution, source, cs, s in lines:
        row = [fid, institution, source]
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


def form_to_discrepancy_rows(f: Form) -> list[list[Any]]:
    """Given a form, return its rows of the discrepancies sheet: a failed form's error, then every finding."""
    rows = []
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


def forms_to_discrepancy_rows(forms: list[FormRow]) -> list[list[Any]]:
    """Given forms, return the discrepancies sheet's rows: failed forms' errors, then every finding."""
    return [row for _, f in forms for row in form_to_discrepancy_rows(f)]


def form_to_correction_rows(f: Form) -> list[list[Any]]:
    """Given a form, return its rows of the corrections sheet (extracted and corrected values side by side)."""
    return [[f.source, f.institution, c.item, c.label, c.field, c.extracted, c.value, c.who, c.at, c.why]
            for c in form_to_corrections(f)]


def forms_to_correction_rows(forms: list[FormRow]) -> list[list[Any]]:
    """Given forms, return the corrections sheet's rows (extracted and corrected values side by side)."""
    return [row for _, f in forms for row in form_to_correction_rows(f)]


class XlsxParts:
    """What the workbook needs of each form, gathered while the forms are read: the category sheets' lines (small,
    kept here), the discrepancy and correction rows (returned by add, to be kept on disk) with their sheets'
    column widths."""

    def __init__(self) -> None:
        self.categories: dict[int, tuple[str, CategoryLine]] = {}  # id -> (rubric, line), forms with items
        self.discrepancies = SheetRows(XLSX_DISCREPANCY_HEADER)
        self.corrections = SheetRows(XLSX_CORRECTION_HEADER)

    def add(self, fid: int, form: Form, s: Summary) -> tuple[list[list[Any]], list[list[Any]]] | None:
        """Given a form and its summary line, keep its category line; return its discrepancy and correction rows
        (converted), or None when it has neither."""
        if form.rubric and form.items:
            self.categories[fid] = (form.rubric, (fid, form.institution, form.source, form_to_category_scores(form),
                                                  s))
        found = [self.discrepancies.add(r) for r in form_to_discrepancy_rows(form)]
        fixed = [self.corrections.add(r) for r in form_to_correction_rows(form)]
        return (found, fixed) if found or fixed else None

    def to_xlsx(self, summaries: list[Summary], rows_of: Any, path: str | os.PathLike) -> None:
        """Given the summary lines in the summary's order and where each form's rows are (rows_of.get(id)), write
        the workbook to path (write-only: each sheet streamed to a temporary file, then zipped)."""
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        rows_to_sheet(wb.create_sheet("汇总表"), SUMMARY_SHEET_HEADER, summaries_to_rows(summaries),
                      coloured=("状态 status",))
        taken = {"汇总表", DISCREPANCY_SHEET, CORRECTION_SHEET}
        lines = [self.categories[s.form_id] for s in summaries if s.form_id in self.categories]
        for rubric_id in dict.fromkeys(rubric for rubric, _ in lines):
            header, rows = category_lines_to_rows([line for rubric, line in lines if rubric == rubric_id])
            title = sheet_title(f"汇总表 {rubric_id}", taken)
            taken.add(title)
            rows_to_sheet(wb.create_sheet(title), header, rows)
        for n, (title, header, sized, coloured) in enumerate((
                (DISCREPANCY_SHEET, XLSX_DISCREPANCY_HEADER, self.discrepancies, ("严重程度 severity",)),
                (CORRECTION_SHEET, XLSX_CORRECTION_HEADER, self.corrections, ()))):
            rows = (row for s in summaries for row in (rows_of.get(s.form_id) or ([], []))[n])
            rows_to_sheet(wb.create_sheet(title), header, rows, coloured=coloured, sized=sized)
        wb.save(path)


def forms_to_xlsx(forms: list[FormRow], path: str | os.PathLike) -> None:
    """Given forms, write the report workbook to path: 汇总表 (one row per form), one 汇总表 sheet per rubric
    with category scores, 问题明细 (discrepancies) and 更正 (corrections)."""
    parts = XlsxParts()
    summaries = forms_to_summaries(forms)
    by_id = dict(forms)
    rows = {s.form_id: parts.add(s.form_id, by_id[s.form_id], s) for s in summaries}
    parts.to_xlsx(summaries, rows, path)


def db_to_xlsx(db: sqlite_utils.Database, path: str | os.PathLike, **filters: Any) -> int:
    """Given the store, a path and db_to_forms' filters, write forms_to_xlsx(db_to_forms(db, **filters), path),
    the forms read batch by batch and their rows kept on disk until written; return how many forms."""
    parts = XlsxParts()
    summaries, spill = db_to_report(db, parts.add, **filters)
    try:
        parts.to_xlsx(summaries, spill, path)
    finally:
        spill.close()
    return len(summaries)
