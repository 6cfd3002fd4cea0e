"""Report: stored forms -> one document (HTML, Markdown or Excel) for the whole database.

A summary table (one row per form; failed forms first, then flagged ones, most errors first), then every form
that needs a look with its discrepancies. The rows come from report_model, the same for every format; this module
writes Markdown and names the other writers (report_html, report_xlsx), so `from extractor.report import …` keeps
working for every public name. Places a person reads are 1-based (第2页 表1 行8 列6); the JSON export and SQLite
keep table/row/col 0-based and page 1-based.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlite_utils

from .form import Form
from .report_html import (  # noqa: F401
    db_to_html,
    esc,
    finding_to_html,
    form_to_cards,
    form_to_html,
    forms_to_html,
    item_to_card,
    summary_to_html,
)
from .report_model import (  # noqa: F401 - the public names of the report, importable from here
    CORRECTION_HEADER,
    DASH,
    FINDING_HEADER,
    JUDGMENT_ORDER,
    KIND_LABEL,
    NOTE_LABEL,
    SEVERITY_LABEL,
    SIDE_LABEL,
    STATUS_LABEL,
    SUMMARY_HEADER,
    TOTAL_LABEL,
    ZERO_BASED_NOTE,
    Correction,
    Finding,
    FormRow,
    Summary,
    accepted_to_text,
    correction_to_cells,
    counts_line,
    db_to_forms,
    discrepancy_to_finding,
    facts,
    finding_to_cells,
    form_to_corrections,
    form_to_findings,
    form_to_open_kinds,
    form_to_summary,
    forms_to_detailed,
    forms_to_summaries,
    heading,
    kind_to_label,
    needs_detail,
    open_kind_to_text,
    provenance_to_where,
    short_source,
    sorted_forms,
    sources_to_folder,
    summary_order,
    summary_to_cells,
)
from .report_stream import Spill, db_to_report  # noqa: F401
from .report_xlsx import (  # noqa: F401
    db_to_xlsx,
    form_to_category_scores,
    forms_to_xlsx,
    rows_to_sheet,
    rubric_forms_to_rows,
    sheet_title,
    xlsx_value,
)
from .terminal import safe

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
    lines = [f"### {md_cell(heading(s))}", "", md_cell(facts(s)), ""]
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
    by_id = dict(forms)
    return summaries_to_md(forms_to_summaries(forms), lambda s: form_to_md(s.form_id, by_id[s.form_id]))


def db_to_md(db: sqlite_utils.Database, **filters: Any) -> tuple[int, str]:
    """Given the store and db_to_forms' filters, return how many forms the report covers and the text of
    forms_to_md(db_to_forms(db, **filters)), the forms read batch by batch (each section kept on disk until the
    summary's order reaches it)."""
    summaries, spill = db_to_report(db, lambda fid, f, s: form_to_md(fid, f) if needs_detail(s) else None,
                                    **filters)
    try:
        return len(summaries), summaries_to_md(summaries, lambda s: spill.get(s.form_id))
    finally:
        spill.close()


def summaries_to_md(summaries: list[Summary], section_of: Callable[[Summary], list[str]]) -> str:
    """Given the summary lines in the summary's order and a function giving a line's section (its lines; called
    only for the forms that need a look, in that order), return the markdown report."""
    folder = sources_to_folder([s.source for s in summaries])
    lines = ["# 自评表检查报告 Self-evaluation report", "", counts_line(summaries), ""]
    lines += [f"目录 folder: {md_cell(folder)}", ""] if folder else []
    lines += ["## 汇总 Summary", ""]
    lines += rows_to_md_table(SUMMARY_HEADER, [summary_to_cells(s, n, folder) for n, s in enumerate(summaries, 1)])
    detail = [s for s in summaries if needs_detail(s)]
    lines += ["", "## 问题明细 Discrepancies", ""]
    if not detail:
        lines.append("无需复核的表 (no form needs a look)")
    for s in detail:
        lines += section_of(s)
    lines += ["", "---", "", md_cell(ZERO_BASED_NOTE)]
    return "\n".join(lines).rstrip() + "\n"
