"""The HTML report: stored forms -> one self-contained page (inline style, no scripts, nothing fetched).

A summary table, then per form that needs a look its findings and, for every flagged item (open errors and
warnings), an evidence card: the row as the form printed it (a PNG data URI cropped from the page for PDFs and
scans, with the self cell outlined blue and the inspector cell orange; the row rendered from the stored cells for
Word forms), the raw text, the values and the max. Only flagged items get pictures, so the page stays small.

db_to_html reads the forms in batches, parsing only the row cells a card shows, makes each section as its form is
read (kept on disk), and yields the page's text in the summary's order: over 10,000 forms it holds the summary lines,
not the forms.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from .checks import ERROR, INFO, WARNING
from .evidence import Evidence, form_to_evidence
from .form import FAILED, Form, ItemResult
from .report_model import (
    CORRECTION_HEADER,
    DASH,
    FINDING_HEADER,
    KIND_LABEL,
    SEVERITY_LABEL,
    STATUS_LABEL,
    SUMMARY_HEADER,
    ZERO_BASED_NOTE,
    Finding,
    FormRow,
    Summary,
    correction_to_cells,
    counts_line,
    facts,
    form_to_corrections,
    form_to_findings,
    form_to_summary,
    forms_to_summaries,
    needs_detail,
    num_text,
    short_source,
    signed_text,
    sources_to_folder,
)
from .report_stream import EVIDENCE_CELLS, db_to_report
from .scores import fmt
from .terminal import safe

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
@media print { details { display: block; } .card { break-inside: avoid; } }
.cards { display: flex; flex-direction: column; gap: 10px; margin: 8px 0 12px; }
.card { border: 1px solid var(--line); border-left: 4px solid var(--warn); border-radius: 6px; padding: 8px 12px; }
.card.c-error { border-left-color: var(--err); }
.card h4 { margin: 0 0 4px; font-size: 14px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 4px 0 6px; font-size: 13px; }
.card dt { color: var(--muted); }
.card dd { margin: 0; }
.card img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); margin: 4px 0; }
.ev-title { font-weight: 600; margin: 12px 0 4px; }
.legend { font-size: 12px; color: var(--muted); }
.k-self { color: #005ce6; font-weight: 600; }
.k-inspector { color: #e65100; font-weight: 600; }
table.ev-row { table-layout: fixed; border: 1px solid #98a2b3; margin: 4px 0; font-size: 12px; }
table.ev-row th, table.ev-row td { border: 1px solid #98a2b3; padding: 3px 5px; white-space: normal; }
table.ev-row td.ev-gap, table.ev-row th.ev-gap { background: #f9fafb; }
table.ev-row .ev-self { outline: 3px solid #005ce6; outline-offset: -3px; }
table.ev-row .ev-inspector { outline: 3px solid #e65100; outline-offset: -3px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
"""


def esc(value: Any) -> str:
    """Given a value, return it html-escaped ('' for None), its control and bidi characters shown as escapes as in
    the terminal (the page may be printed to one, and a browser would hide them); line breaks stay line breaks."""
    text = "" if value is None else str(value)
    if text.isprintable():  # no control, format or separator character (what safe escapes): the common case
        return html.escape(text, quote=True)
    lines = text.replace("\r\n", "\n").split("\n")
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
             f'<td class="num">{esc(num_text(s.self_total))}{marks}</td>',
             f'<td class="num">{esc(num_text(s.inspector_total))}</td>',
             f'<td class="num diff">{esc(signed_text(s.difference))}</td>',
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


def _value_text(it: ItemResult, side: str) -> str:
    v = getattr(it, side)
    return DASH if v is None else fmt(v) if not isinstance(v, str) else v


def item_to_card(form_id: int, it: ItemResult, findings: list[Finding], ev: Evidence) -> str:
    """Given an item, its open findings and its evidence, return its card: code, label, kinds, the raw text, the
    values and the max, where, and the row's picture (the image, else the row rendered from the cells)."""
    worst = ERROR if any(f.severity == ERROR for f in findings) else WARNING
    kinds = " ".join(_badge(f.severity, KIND_LABEL.get(f.kind, f.kind)) for f in findings)
    facts_rows = [("表中原文 raw", esc(it.raw_label or DASH)),
                  ("自评 self", f'<span class="k-self">{esc(_value_text(it, "self"))}</span>'
                                f'　原文「{esc(it.self_raw or "")}」' + (f"（备注：{esc(it.self_note)}）" if it.self_note else "")),
                  ("督查 inspector", f'<span class="k-inspector">{esc(_value_text(it, "inspector"))}</span>'
                                     f'　原文「{esc(it.inspector_raw or "")}」'
                                     + (f"（备注：{esc(it.inspector_note)}）" if it.inspector_note else "")),
                  ("分值 max", esc(DASH if it.max is None else fmt(it.max))),
                  ("位置 where", esc(ev.where or DASH)),
                  ("说明 message", "<br>".join(esc(f.message) for f in findings))]
    parts = [f'<div class="card c-{worst}" id="form-{form_id}-item-{esc(it.code)}">',
             f"<h4>{esc(it.code)} {esc(it.label)} {kinds}</h4>",
             "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts_rows) + "</dl>"]
    if ev.image:
        alt = f"{it.code} 所在行的原文截图 (the row as printed)"
        parts.append(f'<img src="{ev.image}" width="{ev.width}" height="{ev.height}" alt="{esc(alt)}">')
    if ev.row_html and not ev.image:
        parts.append(ev.row_html)
    if ev.image or ev.row_html:
        parts.append('<p class="legend"><span class="k-self">■ 蓝框：自评</span>　'
                     '<span class="k-inspector">■ 橙框：督查</span></p>')
    if ev.note:
        parts.append(f'<p class="note">{esc(ev.note)}</p>')
    return "".join(parts) + "</div>"


def form_to_cards(form_id: int, form: Form, page_images: bool = False) -> str:
    """Given a form, return the evidence cards of its flagged items ('' when none), in form order."""
    evidence = form_to_evidence(form_id, form, page_images=page_images)
    if not evidence:
        return ""
    open_findings = {}
    for f in form_to_findings(form):
        if f.item and not f.accepted and f.severity != INFO:
            open_findings.setdefault(f.item, []).append(f)
    by_code = {it.code: it for it in form.items}
    cards = [item_to_card(form_id, by_code[code], open_findings.get(code, []), ev) for code, ev in evidence.items()
             if code in by_code]
    return ('<p class="ev-title">原文核对 evidence　<span class="note">每个待复核项目所在的行 (the row of every flagged '
            f'item)</span></p><div class="cards">{"".join(cards)}</div>')


def form_to_html(form_id: int, form: Form, page_images: bool = False) -> str:
    """Given a form that needs a look, return its <section>: facts, errors and warnings, infos folded, the flagged
    items' evidence cards, reviewer corrections."""
    s = form_to_summary(form_id, form)
    parts = [f'<section class="form {esc(s.status)}" id="form-{form_id}">',
             f"<h3>{esc(s.institution or Path(s.source).name)} {_badge(s.status, STATUS_LABEL[s.status])}</h3>",
             f'<p class="facts">{esc(facts(s))}</p>']
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
    cards = form_to_cards(form_id, form, page_images)
    if cards:
        parts.append(cards)
    corrections = form_to_corrections(form)
    if corrections:
        rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in correction_to_cells(x)) + "</tr>"
                       for x in corrections)
        parts.append(f"<p><b>更正 corrections</b></p><table>{_th(CORRECTION_HEADER)}{rows}</table>")
    return "\n".join(parts) + "\n</section>"


def forms_to_html(forms: list[FormRow], page_images: bool = False) -> str:
    """Given forms, return the report as one self-contained HTML page (inline style, no scripts, no links out;
    pictures as data URIs); with page_images, Word forms' flagged rows get page images too (LibreOffice)."""
    by_id = dict(forms)
    return "".join(summaries_to_html_chunks(forms_to_summaries(forms),
                                            lambda s: form_to_html(s.form_id, by_id[s.form_id], page_images)))


def db_to_html(db: sqlite_utils.Database, page_images: bool = False, **filters: Any) -> tuple[int, Iterator[str]]:
    """Given the store, page_images and db_to_forms' filters, read the forms batch by batch (each section made as
    its form is read and kept on disk); return how many forms the report covers and an iterator of the text of
    forms_to_html(db_to_forms(db, **filters), page_images), to write as it comes."""

    def section(fid: int, form: Form, s: Summary) -> str | None:
        return form_to_html(fid, form, page_images) if needs_detail(s) else None

    summaries, spill = db_to_report(db, section, cells=EVIDENCE_CELLS, **filters)

    def chunks() -> Iterator[str]:
        try:
            yield from summaries_to_html_chunks(summaries, lambda s: spill.get(s.form_id))
        finally:
            spill.close()

    return len(summaries), chunks()


def summaries_to_html_chunks(summaries: list[Summary], section_of: Callable[[Summary], str]) -> Iterator[str]:
    """Given the summary lines in the summary's order and a function giving a line's section (called only for the
    forms that need a look, in that order), yield the page's text."""
    folder = sources_to_folder([s.source for s in summaries])
    rows = "\n".join(summary_to_html(s, n, folder) for n, s in enumerate(summaries, 1))
    folder_line = f"<br>目录 folder: {esc(folder)}" if folder else ""
    yield f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>自评表检查报告</title>
<style>{CSS}</style>
</head>
<body>
<h1>自评表检查报告 <span class="note">Self-evaluation report</span></h1>
<p class="counts">{esc(counts_line(summaries))}{folder_line}</p>
<h2>汇总 Summary</h2>
<table>
{_th(SUMMARY_HEADER)}
{rows}
</table>
<h2>问题明细 Discrepancies</h2>
"""
    first = True
    for s in summaries:
        if needs_detail(s):
            yield ("" if first else "\n") + section_of(s)
            first = False
    if first:
        yield '<p class="counts">无需复核的表 (no form needs a look)</p>'
    yield f"""
<footer>{esc(ZERO_BASED_NOTE)}</footer>
</body>
</html>
"""
