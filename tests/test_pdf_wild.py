"""PDF cells as real producers print them: punctuation hanging past a cell's border (reportlab, Word's
允许标点溢出边界) belongs to the cell it hangs out of."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from extractor.parsers.pdf import PdfParser


def _table_pdf(path: Path) -> Path:
    """A ruled 3-column table whose first column's line ends in 、 drawn across the border into column 2."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("STSong-Light", 9)
    xs, ys = [50, 230, 300, 370], [700, 680, 660]
    for x in xs:
        c.line(x, ys[-1], x, ys[0])
    for y in ys:
        c.line(xs[0], y, xs[-1], y)
    for x, text in ((52, "督导内容"), (232, "自评结果"), (302, "督查结果")):
        c.drawString(x, 686, text)
    c.drawString(52, 666, "是否具有营业执照证书")
    c.drawString(226.5, 666, "、")  # a full line's punctuation: it starts 3.5 pt before the border at 230
    c.drawString(232, 666, "符合")
    c.drawString(302, 666, "基本符合")
    c.save()
    return path


def test_punctuation_hanging_past_a_border_stays_in_its_cell(tmp_path):
    doc = PdfParser().path_to_document(_table_pdf(tmp_path / "h.pdf"))
    (table,) = doc.tables
    body = sorted((c for c in table.cells if c.row == 1), key=lambda c: c.col)
    assert [c.text for c in body] == ["是否具有营业执照证书、", "符合", "基本符合"]
