"""Render a FormSpec straight to PDF with reportlab: a ruled platypus Table in the CID font STSong-Light.

No Word step: the table is drawn with lines (GRID) and SPAN commands for merged cells, the cover lines
are paragraphs, the body table runs over pages with or without its header repeated, and with
``split_rows`` a row that does not fit at the bottom of a page is cut in two (platypus ``splitInRow``).

Borders are drawn as the Word, WPS and LibreOffice PDF exporters draw them: a double border is two thin lines
3.5-5 pt apart (every rule, or the outer frame only); a thick border is a filled rectangle 4-5 pt wide (no
stroked line); a doubled foot is a second thin rule 3.5 pt under the table's last one, which leaves a sliver
3-4 pt high under the last row.
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
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle, paragraph

from samples.render import WIDTHS_MM, group_cells
from samples.spec import FormSpec, Row, TableSpec

FONT = "STSong-Light"
_PLAIN_LINES = ("附件", "评价机构名称", "填", "（续表）")
MARGIN = 15 * mm
RULE = 0.5  # line width of the grid
MAX_NUDGES = 12  # tries at cutting a row
THICK_MIN = 3.0  # a rule at least this wide is drawn as a filled rectangle, never as a stroked line

pdfmetrics.registerFont(UnicodeCIDFont(FONT))
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11.5, wordWrap="CJK", alignment=TA_LEFT)
LINE = ParagraphStyle("line", fontName=FONT, fontSize=11, leading=16, wordWrap="CJK", alignment=TA_LEFT)
TITLE = ParagraphStyle("title", parent=LINE, alignment=TA_CENTER)


def render_pdf(spec: FormSpec, path: str | Path, *, landscape_page: bool = False, repeat_header: bool = True,
               split_rows: bool = True, open_splits: bool = False, borders: str = "plain", gap: float = 4.0,
               outer_only: bool = False, thick: float = 4.5, foot_gap: float = 3.5) -> int:
    """Given a form spec and options, write the PDF to path; return how many table rows a page break cuts.

    landscape_page: A4 landscape (the table is widened to the page); repeat_header: the body table's
    header rows are printed again on top of every page; split_rows: rows break across pages, and the
    gap above the stats table is widened step by step (deterministically) until at least one row is cut;
    open_splits: no rule is drawn where a page break cuts the table (plain platypus), else one is;
    borders: plain, double (two thin lines ``gap`` pt apart, centre to centre, for every ruling or with
    outer_only for the outer frame), thick (the outer border and the column rulings filled rectangles ``thick`` pt
    wide) or foot (a second thin rule ``foot_gap`` pt under the table's last rule).
    """
    cuts = 0
    style = _Borders(borders, gap, outer_only, thick, foot_gap)
    for step in range(MAX_NUDGES if split_rows else 1):
        cuts = _build(spec, path, landscape_page, repeat_header, split_rows, open_splits, (4 + 3 * step) * mm, style)
        if cuts:
            break
    return cuts


class _Borders:
    """How the body tables' borders are drawn (see render_pdf)."""

    def __init__(self, kind: str = "plain", gap: float = 4.0, outer_only: bool = False, thick: float = 4.5,
                 foot_gap: float = 3.5) -> None:
        if kind not in ("plain", "double", "thick", "foot"):
            raise ValueError(f"unknown borders {kind!r}")
        self.kind, self.gap, self.outer_only, self.thick, self.foot_gap = kind, gap, outer_only, thick, foot_gap

    def close(self) -> tuple:
        """The (weight, color, cap, dash, join, count, space) of the rule closing a table's part at a page break:
        the rule between two rows (doubled only where every rule is), drawn where reportlab draws that rule when
        it splits between rows, so that no third line is added beside it."""
        if self.kind == "double" and not self.outer_only:
            return RULE, colors.black, None, None, None, 2, self.gap - RULE
        return (RULE, colors.black)

    def apply(self, style: TableStyle) -> None:
        """Add a body table's line commands to its style: each rule drawn once, as its border kind draws it (a
        thin line left under a doubled or thick rule would be a third line no exporter draws)."""
        double = (RULE, colors.black, None, None, None, 2, self.gap - RULE)  # count 2, (weight + space) apart
        if self.kind == "double":
            style.add("INNERGRID", (0, 0), (-1, -1), *((RULE, colors.black) if self.outer_only else double))
            style.add("BOX", (0, 0), (-1, -1), *double)
        elif self.kind == "thick":  # the outer border and the rulings between the columns, as WPS exports them
            style.add("LINEBELOW", (0, 0), (-1, -2), RULE, colors.black)
            style.add("BOX", (0, 0), (-1, -1), self.thick, colors.black)
            style.add("LINEAFTER", (0, 0), (-2, -1), self.thick, colors.black)
        else:
            style.add("GRID", (0, 0), (-1, -1), RULE, colors.black)


def _build(spec: FormSpec, path: str | Path, landscape_page: bool, repeat_header: bool, split_rows: bool,
           open_splits: bool, gap: float, borders: _Borders) -> int:
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
    if spec.cover_table:
        n = max(map(len, spec.cover_table))
        data = [[Paragraph(_markup(t), CELL) for t in row] + [""] * (n - len(row)) for row in spec.cover_table]
        story += [Table(data, colWidths=[width * 0.3, width * 0.7] if n == 2 else [width / n] * n, style=_grid(),
                        hAlign="LEFT"), Spacer(1, 4 * mm)]
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
    if borders.kind in ("double", "thick"):
        # reportlab hangs a CJK full stop or comma that cannot start a line past the text's right edge, into a
        # 3-pt cell padding and so between the two lines of a doubled rule or inside a thick one, which no Word or
        # WPS export does (their cell margins hold it); for these borders the character is wrapped instead
        hanging, paragraph.ALL_CANNOT_START = paragraph.ALL_CANNOT_START, ""
        try:
            doc.build(story)
        finally:
            paragraph.ALL_CANNOT_START = hanging
    else:
        doc.build(story)
    return sum(t.cuts[0] for t in tables)


def _markup(text: str) -> str:
    """Given printed text, return Paragraph markup: escaped, line breaks kept."""
    return "<br/>".join(escape(line) for line in text.split("\n"))


def _grid(lines: bool = True) -> TableStyle:
    """The cells' padding, and with lines a thin grid over every cell.

    The 3-pt side padding keeps text clear of a doubled rule's inner line (at most 2.5 pt off the cell's edge) and
    of a thick rule's edge, so that no character's centre lies between the two lines of one rule.
    """
    grid = [("GRID", (0, 0), (-1, -1), RULE, colors.black)] if lines else []
    return TableStyle([*grid, ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                       ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)])


def _widths(cols: list[str], width: float) -> list[float]:
    raw = [30 if k == "label" and "desc" in cols else WIDTHS_MM.get(k, 15) for k in cols]
    return [w * width / sum(raw) for w in raw]


def _body_table(spec: FormSpec, ts: TableSpec, width: float, repeat_header: bool, split_rows: bool,
                open_splits: bool, borders: _Borders) -> _BodyTable:
    cols, rows = spec.columns, ts.rows
    nh = spec.header_rows if ts.header else 0
    texts: list[list[str]] = [[""] * len(cols) for _ in range(nh + len(rows))]
    style = _grid(lines=False)
    borders.apply(style)
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
    table.cuts, table.open, table.borders = [0], open_splits, borders
    return table


class _BodyTable(Table):
    """A Table that counts the rows page breaks cut and (unless open) closes its parts with a rule at every
    break, as Word and LibreOffice draw them; draws rules THICK_MIN wide or more as filled rectangles, and the
    doubled foot under its last part.

    Plain platypus leaves a row cut by splitInRow open (no rule under its upper part, none over the rest);
    its 'splitlast'/'splitfirst' style rows only apply to the first break.
    """

    open = False  # leave the breaks open
    last = True  # the table's last part (the one the doubled foot is drawn under)
    borders = _Borders()
    cuts: list[int]  # rows a page break cuts with text on both sides, shared by the parts of one table

    def draw(self) -> None:
        """Draw the table, then the foot's second rule foot_gap under its last rule (its last part only)."""
        super().draw()
        if self.borders.kind == "foot" and self.last:
            y = self._rowpositions[-1] - self.borders.foot_gap
            self.canv.saveState()
            self.canv.setLineWidth(RULE)
            self.canv.line(self._colpositions[0], y, self._colpositions[-1], y)
            self.canv.restoreState()

    def _drawLines(self) -> None:
        """Draw the style's lines, those THICK_MIN wide or more as filled rectangles.

        Word's and WPS's PDF exporters fill a thick border's outline rather than stroke a wide line, so the PDF
        carries a rectangle 4-5 pt across whose two long sides are two rules; reportlab strokes it. Its line
        machinery (spans, blocks, splits) is kept: only canvas.line is swapped while it runs.
        """
        if self.borders.kind != "thick":
            super()._drawLines()  # nothing to fill: the content stream stays as plain reportlab writes it
            return
        canv = self.canv
        stroke = canv.line

        def line(x0: float, y0: float, x1: float, y1: float) -> None:
            w = self._curweight or RULE
            if w < THICK_MIN:
                stroke(x0, y0, x1, y1)
            elif x0 == x1:  # a vertical rule ends on the middle of the rule it meets
                canv.rect(x0 - w / 2, min(y0, y1), w, abs(y1 - y0), fill=1, stroke=0)
            else:  # a horizontal one reaches half a width past its ends, to fill the frame's corners
                canv.rect(min(x0, x1) - w / 2, y0 - w / 2, abs(x1 - x0) + w, w, fill=1, stroke=0)

        canv.saveState()
        canv.setFillColor(colors.black)
        canv.line = line  # an instance attribute shadowing the method, removed below
        try:
            super()._drawLines()
        finally:
            del canv.line
            canv.restoreState()

    def split(self, availWidth: float, availHeight: float) -> list:
        parts = super().split(availWidth, availHeight)
        if len(parts) == 2:
            top, rest = parts
            k = len(rest.repeatRows) if isinstance(rest.repeatRows, (list, tuple)) else rest.repeatRows
            rest.cuts, rest.open, rest.borders, rest.last = self.cuts, self.open, self.borders, self.last
            top.borders, top.last = self.borders, False
            in_row = len(top._cellvalues) + len(rest._cellvalues) - k > len(self._cellvalues)
            self.cuts[0] += in_row and any(a and b for a, b in zip(top._cellvalues[-1], rest._cellvalues[k], strict=True))
            if self.open:
                return parts
            close = self.borders.close()
            top.setStyle([("LINEBELOW", (0, -1), (-1, -1), *close)])
            rest.setStyle([("LINEABOVE", (0, k), (-1, k), *close)])
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
