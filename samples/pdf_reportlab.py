"""Render a FormSpec straight to PDF with reportlab: a ruled platypus Table in the CID font STSong-Light.

No Word step: the table is drawn with lines (GRID) and SPAN commands for merged cells, the cover lines
are paragraphs, the body table runs over pages with or without its header repeated, and with
``split_rows`` a row that does not fit at the bottom of a page is cut in two (platypus ``splitInRow``).
Output bytes depend only on the spec and the options (reportlab's invariant mode).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from samples.render import WIDTHS_MM, group_cells
from samples.spec import FormSpec, Row, TableSpec

FONT = "STSong-Light"
_PLAIN_LINES = ("附件", "评价机构名称", "填", "（续表）")
MARGIN = 15 * mm
RULE = 0.5  # line width of the grid
MAX_NUDGES = 12  # tries at cutting a row

pdfmetrics.registerFont(UnicodeCIDFont(FONT))
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11.5, wordWrap="CJK", alignment=TA_LEFT)
LINE = ParagraphStyle("line", fontName=FONT, fontSize=11, leading=16, wordWrap="CJK", alignment=TA_LEFT)
TITLE = ParagraphStyle("title", parent=LINE, alignment=TA_CENTER)


def render_pdf(spec: FormSpec, path: str | Path, *, landscape_page: bool = False, repeat_header: bool = True,
               split_rows: bool = True, open_splits: bool = False, borders: str = "plain") -> int:
    """Given a form spec and options, write the PDF to path; return how many table rows a page break cuts.

    landscape_page: A4 landscape (the table is widened to the page); repeat_header: the body table's
    header rows are printed again on top of every page; split_rows: rows break across pages, and the
    gap above the stats table is widened step by step (deterministically) until at least one row is cut;
    open_splits: no rule is drawn where a page break cuts the table (plain platypus), else one is;
    borders: plain, double (every ruling doubled), thick (4.5-pt outer border and column rulings) or foot (a 3-pt
    rule under the table's last row).
    """
    cuts = 0
    for step in range(MAX_NUDGES if split_rows else 1):
        cuts = _build(spec, path, landscape_page, repeat_header, split_rows, open_splits, (4 + 3 * step) * mm,
                      borders)
        if cuts:
            break
    return cuts


def _build(spec: FormSpec, path: str | Path, landscape_page: bool, repeat_header: bool, split_rows: bool,
           open_splits: bool, gap: float, borders: str = "plain") -> int:
    size = landscape(A4) if landscape_page else A4
    doc = SimpleDocTemplate(str(path), pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, invariant=True, title="专项质量督导检查（自评）表",
                            author="samples.pdf_reportlab", creator="samples.pdf_reportlab")
    width = size[0] - 2 * MARGIN - 12  # the frame keeps 6 pt of padding each side
    story: list = []
    for text in spec.cover:
        style = LINE if text.startswith(_PLAIN_LINES) else TITLE
        story.append(Paragraph(_markup(text) or "&nbsp;", style))
    story.append(Spacer(1, gap))
    if spec.stats is not None:
        data = [[Paragraph(_markup(label), CELL), Paragraph(str(spec.stats[key]), CELL)]
                for key, label in spec.stats_labels]
        story += [Table(data, colWidths=[width * 0.6, width * 0.4], style=_grid(), hAlign="LEFT"),
                  Spacer(1, 4 * mm)]
    tables = []
    for ts in spec.tables:
        if ts.before:
            story.append(Paragraph(_markup(ts.before), LINE))
        tables.append(_body_table(spec, ts, width, repeat_header, split_rows, open_splits, borders))
        story += [tables[-1], Spacer(1, 4 * mm)]
    doc.build(story)
    return sum(t.cuts[0] for t in tables)


def _markup(text: str) -> str:
    """Given printed text, return Paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(line) for line in text.split("\n"))


def _grid() -> TableStyle:
    return TableStyle([("GRID", (0, 0), (-1, -1), RULE, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                       ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])


def _widths(cols: list[str], width: float) -> list[float]:
    raw = [30 if k == "label" and "desc" in cols else WIDTHS_MM.get(k, 15) for k in cols]
    return [w * width / sum(raw) for w in raw]


def _body_table(spec: FormSpec, ts: TableSpec, width: float, repeat_header: bool, split_rows: bool,
                open_splits: bool, borders: str = "plain") -> _BodyTable:
    cols, rows = spec.columns, ts.rows
    nh = spec.header_rows if ts.header else 0
    texts: list[list[str]] = [[""] * len(cols) for _ in range(nh + len(rows))]
    style = _grid()
    if borders == "double":  # (weight, color, cap, dash, join, count, space): two rulings 1.5 pt apart
        style.add("INNERGRID", (0, 0), (-1, -1), RULE, colors.black, None, None, None, 2, 1.5)
        style.add("BOX", (0, 0), (-1, -1), RULE, colors.black, None, None, None, 2, 1.5)
    elif borders == "thick":  # 4.5-pt outer border and rulings between the columns, as WPS exports them
        style.add("BOX", (0, 0), (-1, -1), 4.5, colors.black)
        style.add("LINEAFTER", (0, 0), (-2, -1), 4.5, colors.black)
    elif borders == "foot":
        style.add("LINEBELOW", (0, -1), (-1, -1), 3, colors.black)
    if nh:
        _header(texts, style, cols, spec)
    merged = spec.layout == "merged"
    for r, row in enumerate(rows, nh):
        for c, key in enumerate(cols):
            blank = key in row.blank or (key in row.cont and spec.layout == "blank")
            texts[r][c] = "" if blank else row.cells.get(key, "")
        if row.span:
            lo, hi = cols.index(row.span[0]), cols.index(row.span[1])
            style.add("SPAN", (lo, r), (hi, r))
    if merged:
        for c, key in enumerate(cols):
            _vertical_spans(rows, key, c, nh, style)
    # cells are flowable lists, empty ones too: platypus refuses to cut a row holding a "" cell
    data = [[[Paragraph(_markup(t), CELL)] if t.strip() else [] for t in line] for line in texts]
    table = _BodyTable(data, colWidths=_widths(cols, width), style=style, repeatRows=nh if repeat_header else 0,
                       splitByRow=0 if split_rows else 1, splitInRow=1 if split_rows else 0, hAlign="LEFT")
    table.cuts, table.open = [0], open_splits
    return table


class _BodyTable(Table):
    """A Table that counts the rows page breaks cut and (unless open) closes its parts with a rule at every
    break, as Word and LibreOffice draw them.

    Plain platypus leaves a row cut by splitInRow open (no rule under its upper part, none over the rest);
    its 'splitlast'/'splitfirst' style rows only apply to the first break.
    """

    open = False  # leave the breaks open
    cuts: list[int]  # rows a page break cuts with text on both sides, shared by the parts of one table

    def split(self, availWidth: float, availHeight: float) -> list:
        parts = super().split(availWidth, availHeight)
        if len(parts) == 2:
            top, rest = parts
            k = len(rest.repeatRows) if isinstance(rest.repeatRows, (list, tuple)) else rest.repeatRows
            rest.cuts, rest.open = self.cuts, self.open
            in_row = len(top._cellvalues) + len(rest._cellvalues) - k > len(self._cellvalues)
            self.cuts[0] += in_row and any(a and b for a, b in zip(top._cellvalues[-1], rest._cellvalues[k], strict=True))
            if self.open:
                return parts
            top.setStyle([("LINEBELOW", (0, -1), (-1, -1), RULE, colors.black)])
            rest.setStyle([("LINEABOVE", (0, k), (-1, k), RULE, colors.black)])
        return parts


def _vertical_spans(rows: list[Row], key: str, c: int, nh: int, style: TableStyle) -> None:
    r = 0
    while r < len(rows):
        end = r
        while end + 1 < len(rows) and key in rows[end + 1].cont:
            end += 1
        if end > r:
            style.add("SPAN", (c, nh + r), (c, nh + end))
        r = end + 1


def _header(texts: list[list[str]], style: TableStyle, cols: list[str], spec: FormSpec) -> None:
    """Fill the header rows: one row of names, or the official two rows with 督导检查内容 over 大项/中项/小项."""
    if spec.groups:
        spans, inside = group_cells(cols, spec)
        for c, key in enumerate(cols):
            texts[1 if c in inside else 0][c] = spec.headers.get(key, key)
            if c not in inside:
                style.add("SPAN", (c, 0), (c, 1))
        for lo, (hi, title) in spans.items():
            texts[0][lo] = title
            style.add("SPAN", (lo, 0), (hi, 0))
        return
    group = [c for c, k in enumerate(cols) if k in ("cat", "sec", "label")]
    two = spec.header_rows == 2 and len(group) == 3 and group[2] - group[0] == 2
    for c, key in enumerate(cols):
        name = spec.headers.get(key, key)
        if not two:
            for r in range(spec.header_rows):
                texts[r][c] = name
        elif c in group:
            texts[1][c] = name
        else:
            texts[0][c] = name
            style.add("SPAN", (c, 0), (c, 1))
    if two:
        texts[0][group[0]] = "督导检查内容"
        style.add("SPAN", (group[0], 0), (group[2], 0))
