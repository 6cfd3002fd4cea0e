"""Word-level variations applied to a rendered python-docx Document, by editing its XML as Word would write it.

- ``irregular_grid``: rows that no longer share one grid (a hand-resized table, or one that went through
  RTF): 1-twip grid columns are inserted at column boundaries; header cells take the sliver on their left,
  body cells on their right, so that a header and the body cells below it start at different grid columns.
- ``into_textbox``: a table moved into a DrawingML text box (``wps:txbx/w:txbxContent``) with the VML
  ``mc:Fallback`` copy Word writes beside it.
- ``checkboxes``: every ☒/☐ glyph becomes a Word checkbox content control (``w:sdt`` with ``w14:checkbox``).
- ``set_borders``: doubled rulings, a thick outer border and column rulings, or a doubled rule at the table's
  foot, on the table (``w:tblBorders``) and optionally on every cell (``w:tcBorders``).
- ``page_header``: a line of text in the page header.
- ``tracked_deleted_row``: a copy of a body row with other scores, deleted with track changes (``w:trPr/w:del``,
  its text in ``w:delText``): Word shows it struck through, an accepted document has no such row.
"""

from __future__ import annotations

import copy

import docx.document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.table import Table

CHECKED, UNCHECKED = "☒", "☐"  # the glyphs Word shows for a checked / unchecked checkbox control
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
SLIVER = 1  # twips: the width of an inserted grid column
_NS = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
       "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
       "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
       "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
       "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
       "v": "urn:schemas-microsoft-com:vml", "o": "urn:schemas-microsoft-com:office:office"}


def _cells(tr) -> list:
    return tr.findall(qn("w:tc"))


def _span(tc) -> int:
    gs = tc.find(f"{qn('w:tcPr')}/{qn('w:gridSpan')}")
    return int(gs.get(qn("w:val"))) if gs is not None else 1


def _set_span(tc, n: int) -> None:
    pr = tc.get_or_add_tcPr()
    gs = pr.find(qn("w:gridSpan"))
    if n == 1:
        if gs is not None:
            pr.remove(gs)
        return
    if gs is None:
        gs = parse_xml(f'<w:gridSpan {nsdecls("w")} w:val="1"/>')
        tcw = pr.find(qn("w:tcW"))
        # schema order: tcW, gridSpan, vMerge, ...
        if tcw is not None:
            tcw.addnext(gs)
        else:
            pr.insert(0, gs)
    gs.set(qn("w:val"), str(n))


def irregular_grid(table: Table, header_rows: int, boundaries: list[int]) -> None:
    """Given a table, its number of header rows and grid boundaries (old column indexes ≥ 1), insert a
    1-twip grid column before each boundary: header cells starting there widen leftwards over it, body
    cells ending just before it widen rightwards; every row still covers the whole grid once.
    """
    tbl = table._tbl
    grid = tbl.find(qn("w:tblGrid"))
    cols = grid.findall(qn("w:gridCol"))
    bset = sorted({b for b in boundaries if 0 < b < len(cols)})
    if not bset:
        return

    def new(j: int) -> int:  # new index of old grid column j
        return j + sum(1 for b in bset if b <= j)

    for b in reversed(bset):
        sliver = parse_xml(f'<w:gridCol {nsdecls("w")} w:w="{SLIVER}"/>')
        cols[b].addprevious(sliver)
        w = int(cols[b].get(qn("w:w")))
        cols[b].set(qn("w:w"), str(max(SLIVER, w - SLIVER)))  # keep the table's width
    for r, tr in enumerate(tbl.findall(qn("w:tr"))):
        head = r < header_rows
        start = 0
        for tc in _cells(tr):
            span = _span(tc)
            end = start + span - 1
            lo, hi = new(start), new(end)
            if head and start in bset:
                lo -= 1
            if not head and end + 1 in bset:
                hi += 1
            _set_span(tc, hi - lo + 1)
            start = end + 1


def header_and_body_starts(table: Table, header_rows: int) -> tuple[list[int], list[int]]:
    """Given a table, return the grid start columns of the last header row's and first body row's cells."""
    rows = table._tbl.findall(qn("w:tr"))

    def starts(tr) -> list[int]:
        out, at = [], 0
        for tc in _cells(tr):
            out.append(at)
            at += _span(tc)
        return out

    return starts(rows[header_rows - 1]), starts(rows[header_rows])


_TXBX = """<w:r {ns}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>
<wp:anchor distT="0" distB="0" distL="114300" distR="114300" simplePos="0" relativeHeight="{rid}" behindDoc="0"
 locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>
<wp:positionH relativeFrom="column"><wp:posOffset>0</wp:posOffset></wp:positionH>
<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>
<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapTopAndBottom/>
<wp:docPr id="{rid}" name="文本框 {rid}"/><wp:cNvGraphicFramePr/>
<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>
<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>
<wps:txbx><w:txbxContent/></wps:txbx><wps:bodyPr rot="0" vert="horz" wrap="square" lIns="0" tIns="0" rIns="0"
 bIns="0" anchor="t"><a:spAutoFit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>
</mc:Choice><mc:Fallback><w:pict><v:shape id="文本框 {rid}" o:spid="_x0000_s{rid}" type="#_x0000_t202"
 style="position:absolute;margin-left:0;margin-top:0;width:{wpt}pt;height:{hpt}pt;z-index:{rid}" stroked="f">
<v:textbox inset="0,0,0,0"><w:txbxContent/></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"""


def into_textbox(doc: docx.document.Document, table: Table, rid: int) -> None:
    """Given a document and one of its body tables, move the table into a text box anchored where it stood."""
    tbl = table._tbl
    width_mm = 180
    height_mm = 12 * max(1, len(tbl.findall(qn("w:tr"))))  # a tall box: the whole table, as pasted in
    emu = 36000
    run = parse_xml(_TXBX.format(ns=" ".join(f'xmlns:{k}="{v}"' for k, v in _NS.items()), rid=rid, cx=width_mm * emu,
                                 cy=height_mm * emu, wpt=round(width_mm * 2.835), hpt=round(height_mm * 2.835)))
    anchor_p = parse_xml(f"<w:p {nsdecls('w')}/>")
    anchor_p.append(run)
    tbl.addprevious(anchor_p)
    contents = run.findall(f".//{qn('w:txbxContent')}")
    body = [tbl, parse_xml(f"<w:p {nsdecls('w')}/>")]  # a text box's content ends with a paragraph
    tbl.getparent().remove(tbl)
    contents[0].extend(body)
    contents[1].extend(copy.deepcopy(e) for e in body)


def checkboxes(doc: docx.document.Document) -> int:
    """Given a document, turn every ☒/☐ glyph in its runs into a checkbox content control; return how many."""
    n = 0
    for run in list(doc.element.body.iter(qn("w:r"))):
        t = run.find(qn("w:t"))
        if t is None or t.text is None or not (CHECKED in t.text or UNCHECKED in t.text):
            continue
        text, at = t.text, run
        pieces: list[str] = []
        buf = ""
        for ch in text:
            if ch in (CHECKED, UNCHECKED):
                pieces += [buf, ch] if buf else [ch]
                buf = ""
            else:
                buf += ch
        if buf:
            pieces.append(buf)
        rpr = run.find(qn("w:rPr"))
        for piece in pieces:
            el = _checkbox(piece == CHECKED, rpr) if piece in (CHECKED, UNCHECKED) else _run(piece, rpr)
            at.addnext(el)
            at = el
            n += piece in (CHECKED, UNCHECKED)
        run.getparent().remove(run)
    return n


def _run(text: str, rpr) -> object:
    r = parse_xml(f'<w:r {nsdecls("w")}><w:t xml:space="preserve"></w:t></w:r>')
    if rpr is not None:
        r.insert(0, copy.deepcopy(rpr))
    r.find(qn("w:t")).text = text
    return r


def _checkbox(checked: bool, rpr) -> object:
    glyph = CHECKED if checked else UNCHECKED
    sdt = parse_xml(
        f'<w:sdt {nsdecls("w")} xmlns:w14="{W14}"><w:sdtPr><w:id w:val="{1000 + ord(glyph)}"/>'
        f'<w14:checkbox><w14:checked w14:val="{int(checked)}"/>'
        '<w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
        '<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
        '<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic" w:hAnsi="MS Gothic"'
        f' w:hint="eastAsia"/></w:rPr><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>')
    return sdt


# kind -> the (w:val, w:sz) of its distinctive rules when the caller names none (w:sz in eighths of a point)
BORDER_DEFAULTS = {"double": ("double", 8), "thick": ("single", 36), "foot": ("thickThinSmallGap", 24)}


def _put(pr, el, after: tuple[str, ...]) -> None:
    """Given a properties element, put el in place of its namesake, right after the first of `after` present
    (the schema's order), else first."""
    old = pr.find(el.tag)
    if old is not None:
        pr.remove(old)
    anchor = next((e for e in (pr.find(qn(f"w:{k}")) for k in after) if e is not None), None)
    if anchor is not None:
        anchor.addnext(el)
    else:
        pr.insert(0, el)


def set_borders(table: Table, kind: str, val: str | None = None, sz: int | None = None, cells: bool = False) -> None:
    """Given a table, a border kind (plain, double, thick, foot), the w:val and w:sz of its distinctive rules
    (BORDER_DEFAULTS when None) and whether every cell carries them too, set the table's w:tblBorders (and each
    cell's w:tcBorders) as Word writes them.

    double: every rule doubled (w:val="double"; Word's 1- or 1.5-pt double is w:sz 8 or 12, which LibreOffice
    prints as two lines about 2-3 pt apart); thick: the outer border and the rulings between the columns 3-4.5 pt
    wide (w:sz 24-36, single or thickThinLargeGap), as WPS forms draw them; foot: the rule under the last row
    doubled (thickThinSmallGap), the rest single.
    """
    if kind == "plain":
        return
    dv, dsz = BORDER_DEFAULTS[kind]
    special = (val or dv, sz or dsz)
    thin = ("single", 4)
    sides = {s: thin for s in ("top", "left", "bottom", "right", "insideH", "insideV")}
    if kind == "double":
        sides = dict.fromkeys(sides, special)
    elif kind == "thick":
        sides |= dict.fromkeys(("top", "left", "bottom", "right", "insideV"), special)
    else:
        sides["bottom"] = special
    # schema order inside tblPr: ... tblW, jc, tblCellSpacing, tblInd, tblBorders, shd, tblLayout, tblCellMar, tblLook
    _put(table._tbl.tblPr, parse_xml(f'<w:tblBorders {nsdecls("w")}>{_border_xml(sides)}</w:tblBorders>'),
         ("tblInd", "tblCellSpacing", "jc", "tblW", "tblStyle"))
    if cells:
        _cell_borders(table, sides)


def _border_xml(sides: dict[str, tuple[str, int]]) -> str:
    return "".join(f'<w:{s} w:val="{v}" w:sz="{sz}" w:space="0" w:color="000000"/>' for s, (v, sz) in sides.items())


def _cell_borders(table: Table, sides: dict[str, tuple[str, int]]) -> None:
    """Give every cell a w:tcBorders: a cell's outer sides take the table's outer border, the others the inside
    ones (what Word writes when borders are applied to a selection of cells rather than to the table)."""
    rows = table._tbl.findall(qn("w:tr"))
    n_grid = len(table._tbl.findall(f"{qn('w:tblGrid')}/{qn('w:gridCol')}"))
    for r, tr in enumerate(rows):
        at = 0
        for tc in _cells(tr):
            span = _span(tc)
            own = {"top": sides["top" if r == 0 else "insideH"], "left": sides["left" if at == 0 else "insideV"],
                   "bottom": sides["bottom" if r == len(rows) - 1 else "insideH"],
                   "right": sides["right" if at + span >= n_grid else "insideV"]}
            at += span
            # schema order inside tcPr: cnfStyle, tcW, gridSpan, hMerge, vMerge, tcBorders, shd, ...
            _put(tc.get_or_add_tcPr(), parse_xml(f'<w:tcBorders {nsdecls("w")}>{_border_xml(own)}</w:tcBorders>'),
                 ("vMerge", "hMerge", "gridSpan", "tcW", "cnfStyle"))


def page_header(doc: docx.document.Document, text: str) -> None:
    """Given a document and a line, print the line in every page's header."""
    header = doc.sections[0].header
    header.is_linked_to_previous = False
    header.paragraphs[0].text = text


_DEL = 'w:id="{id}" w:author="审核人" w:date="2024-01-01T00:00:00Z"'


def tracked_deleted_row(table: Table, at: int, texts: dict[int, str], rid: int) -> None:
    """Given a table, a row index, {cell index: text} and a revision id, insert before row ``at`` a tracked-deleted
    copy of it whose cells ``texts`` names print those texts."""
    rows = table._tbl.findall(qn("w:tr"))
    row = copy.deepcopy(rows[at])
    for n, tc in enumerate(_cells(row)):
        if n in texts:
            for p in tc.findall(qn("w:p"))[1:]:
                tc.remove(p)
            p = tc.find(qn("w:p"))
            for r in p.findall(qn("w:r")):
                p.remove(r)
            p.append(_run(texts[n], None))
    for n, r in enumerate(list(row.iter(qn("w:r")))):
        for t in r.findall(qn("w:t")):
            t.tag = qn("w:delText")
        wrapper = parse_xml(f"<w:del {nsdecls('w')} {_DEL.format(id=rid * 100 + n + 1)}/>")
        r.addprevious(wrapper)
        wrapper.append(r)
    trpr = row.find(qn("w:trPr"))
    if trpr is None:
        trpr = parse_xml(f"<w:trPr {nsdecls('w')}/>")
        row.insert(0 if row.find(qn("w:tblPrEx")) is None else 1, trpr)
    trpr.append(parse_xml(f"<w:del {nsdecls('w')} {_DEL.format(id=rid * 100)}/>"))
    rows[at].addprevious(row)
