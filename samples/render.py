"""Render a FormSpec as a Word document with python-docx (real gridSpan / vMerge merges)."""

from __future__ import annotations

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from samples.spec import FormSpec, TableSpec

_PLAIN_LINES = ("附件", "评价机构名称", "填", "（续表）")
WIDTHS_MM = {"seq": 9, "cat": 20, "sec": 20, "label": 48, "desc": 60, "points": 10, "method": 36, "self": 15,
             "insp": 15, "note": 14,
             # variation columns (samples.variants): extra columns, group sub-columns, tick columns
             "evid": 14, "prelim": 12, "self_ded": 10, "insp_ded": 10, "self_why": 16, "insp_why": 16,
             "self_rem": 12, "insp_rem": 12, "self_t0": 9, "self_t1": 9, "self_t2": 9, "insp_t0": 9, "insp_t1": 9,
             "insp_t2": 9}


def build_form(spec: FormSpec) -> docx.document.Document:
    """Given a form spec, return the python-docx Document printing it (cover lines, stats table, body tables)."""
    doc = docx.Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "宋体", Pt(10.5)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for text in spec.cover:
        p = doc.add_paragraph(text)
        if not text.startswith(_PLAIN_LINES):
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if spec.cover_table:
        t = doc.add_table(rows=len(spec.cover_table), cols=max(map(len, spec.cover_table)))
        t.style = "Table Grid"
        for row, texts in zip(t.rows, spec.cover_table, strict=True):
            for cell, text in zip(row.cells, texts, strict=False):
                cell.text = text
        doc.add_paragraph()  # without a paragraph between them an RTF round trip joins two tables into one
    if spec.stats is not None:
        t = doc.add_table(rows=len(spec.stats_labels), cols=2)
        t.style = "Table Grid"
        for row, (key, label) in zip(t.rows, spec.stats_labels, strict=True):
            row.cells[0].text, row.cells[1].text = label, str(spec.stats[key])
    for ts in spec.tables:
        if ts.before:
            doc.add_paragraph(ts.before)
        _table(doc, spec, ts)
    return doc


def _table(doc: docx.document.Document, spec: FormSpec, ts: TableSpec) -> None:
    cols, rows = spec.columns, ts.rows
    nh = spec.header_rows if ts.header else 0
    t = doc.add_table(rows=nh + len(rows), cols=len(cols))
    t.style = "Table Grid"
    grid = [list(r.cells) for r in t.rows]  # before any merge: one distinct cell per grid position
    t.autofit = False
    for c, key in enumerate(cols):
        width = Mm(30 if key == "label" and "desc" in cols else WIDTHS_MM.get(key, 15))
        t.columns[c].width = width
        for line in grid:
            line[c].width = width
    merged = spec.layout == "merged"
    for r, row in enumerate(rows, nh):
        lo, hi = (cols.index(row.span[0]), cols.index(row.span[1])) if row.span else (-1, -1)
        for c, key in enumerate(cols):
            if lo < c <= hi or (merged and key in row.cont):
                continue
            blank = key in row.blank or (spec.layout == "blank" and key in row.cont)
            grid[r][c].text = "" if blank else row.cells.get(key, "")
    if nh:
        _header(grid, cols, spec)
    for r, row in enumerate(rows, nh):
        if row.span:
            grid[r][cols.index(row.span[0])].merge(grid[r][cols.index(row.span[1])])
    if merged:
        for c, key in enumerate(cols):
            r = 0
            while r < len(rows):
                end = r
                while end + 1 < len(rows) and key in rows[end + 1].cont:
                    end += 1
                if end > r:
                    grid[nh + r][c].merge(grid[nh + end][c])
                r = end + 1


def _header(grid: list, cols: list[str], spec: FormSpec) -> None:
    """Fill the header: one row of names, or the official two rows with 督导检查内容 over 大项/中项/小项."""
    if spec.groups:
        _group_header(grid, cols, spec)
        return
    group = [c for c, k in enumerate(cols) if k in ("cat", "sec", "label")]
    two = spec.header_rows == 2 and len(group) == 3 and group[2] - group[0] == 2
    for c, key in enumerate(cols):
        name = spec.headers.get(key, key)
        if not two:
            for r in range(spec.header_rows):
                grid[r][c].text = name
        elif c in group:
            grid[1][c].text = name
        else:
            grid[0][c].text = name  # the cell below stays untouched: merging keeps only this text
            grid[0][c].merge(grid[1][c])
    if two:
        grid[0][group[0]].text = "督导检查内容"
        grid[0][group[0]].merge(grid[0][group[2]])


def group_cells(cols: list[str], spec: FormSpec) -> tuple[dict[int, tuple[int, str]], set[int]]:
    """Given the columns and a spec with ``groups``, return {first col: (last col, title)} and the grouped cols."""
    spans = {cols.index(a): (cols.index(b), title) for a, b, title in spec.groups}
    inside = {c for lo, (hi, _) in spans.items() for c in range(lo, hi + 1)}
    return spans, inside


def _group_header(grid: list, cols: list[str], spec: FormSpec) -> None:
    """Two header rows: each group's title over its sub-columns' names; other names span both rows."""
    spans, inside = group_cells(cols, spec)
    for c, key in enumerate(cols):
        name = spec.headers.get(key, key)
        if c in inside:
            grid[1][c].text = name
        else:
            grid[0][c].text = name
            grid[0][c].merge(grid[1][c])
    for lo, (hi, title) in spans.items():
        grid[0][lo].text = title
        grid[0][lo].merge(grid[0][hi])
