"""Word (.docx) parser: every table from the real w:tc grid, plus the text outside tables.

python-docx repeats a merged cell as the same ``_Cell`` in ``row.cells``; we read the
XML grid instead (gridSpan, vMerge, gridBefore/gridAfter) so a merged cell is one
Cell with a span. Content controls (w:sdt), tracked insertions (w:ins) and
smart tags/custom XML wrappers are read through; deleted text (w:delText) is not.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from ..model import Cell, Document, Table
from .base import ParseError, Parser

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_w = f"{{{W}}}"

# Elements that only wrap content and must be looked through.
_WRAPPERS = {_w + "sdt", _w + "sdtContent", _w + "customXml", _w + "smartTag", _w + "ins", _w + "moveTo"}
# Elements whose content is not current text.
_SKIP = {_w + "del", _w + "moveFrom", _w + "sdtPr", _w + "rPr", _w + "pPr", _w + "instrText", _w + "delText",
         f"{{{MC}}}Fallback"}

DEFAULT_MAX_XML_BYTES = 64 * 1024 * 1024  # document.xml larger than this is refused (zip bomb guard)


class DocxParser(Parser):
    suffixes = (".docx", ".docm")
    kind = "docx"

    def path_to_document(self, path: Path) -> Document:
        root = path_to_body(path)
        doc = Document(kind=self.kind)
        body_to_document(root, doc)
        return doc


def path_to_body(path: Path) -> etree._Element:
    """Given a .docx path, return its w:body element, or raise ParseError saying what is wrong."""
    try:
        with zipfile.ZipFile(path) as z:
            name = _main_part_name(z)
            info = z.getinfo(name)
            if info.file_size > DEFAULT_MAX_XML_BYTES:
                raise ParseError(f"the Word document is too large to read ({info.file_size} bytes of XML)")
            xml = z.read(name)
    except zipfile.BadZipFile:
        raise ParseError("not a readable Word file (not a .docx zip, or truncated): re-save it as .docx") from None
    except KeyError as e:
        raise ParseError(f"not a readable Word file (missing part {e}): re-save it as .docx") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as e:
        raise ParseError(f"not a readable Word file ({e}): re-save it as .docx") from None
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, huge_tree=False, no_network=True))
    except etree.XMLSyntaxError as e:
        raise ParseError(f"the Word document's XML is broken ({e.msg}): re-save it as .docx") from None
    body = root.find(_w + "body")
    if body is None:
        raise ParseError("the Word document has no body: re-save it as .docx")
    return body


def _main_part_name(z: zipfile.ZipFile) -> str:
    """The main document part, from [Content_Types].xml when it names one, else word/document.xml."""
    try:
        ct = etree.fromstring(z.read("[Content_Types].xml"))
    except (KeyError, etree.XMLSyntaxError):
        return "word/document.xml"
    for o in ct:
        if str(o.get("ContentType", "")).endswith(("document.main+xml", "document.macroEnabled.main+xml")):
            return o.get("PartName", "/word/document.xml").lstrip("/")
    return "word/document.xml"


def body_to_document(body: etree._Element, doc: Document) -> None:
    """Given a w:body (or any block container), append its tables and free text lines to doc."""
    for el in _blocks(body):
        if el.tag == _w + "p":
            text = paragraph_to_text(el)
            if text.strip():
                doc.lines.extend(line for line in text.split("\n") if line.strip())
        elif el.tag == _w + "tbl":
            table_to_tables(el, doc)


def _blocks(container: etree._Element):
    """Yield the w:p and w:tbl blocks of a container, looking through wrappers."""
    for el in container:
        if el.tag in (_w + "p", _w + "tbl"):
            yield el
        elif el.tag in _WRAPPERS:
            yield from _blocks(el)


def paragraph_to_text(p: etree._Element) -> str:
    """Given a w:p, return its current text (insertions in, deletions out; breaks as newlines)."""
    out: list[str] = []

    def walk(el: etree._Element) -> None:
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            if tag == _w + "t":
                out.append(ch.text or "")
            elif tag in (_w + "br", _w + "cr"):
                out.append("\n")
            elif tag == _w + "tab":
                out.append(" ")
            elif tag == _w + "noBreakHyphen":
                out.append("-")
            elif tag == _w + "txbxContent":
                # Text boxes: their paragraphs, each on its own line.
                for inner in _blocks(ch):
                    if inner.tag == _w + "p":
                        out.append("\n" + paragraph_to_text(inner))
            else:
                walk(ch)

    walk(p)
    return "".join(out)


def _int_attr(el: etree._Element | None, default: int = 0) -> int:
    if el is None:
        return default
    try:
        return int(el.get(_w + "val", default))
    except ValueError:
        return default


def _children(el: etree._Element, tag: str):
    """Yield el's children with this tag (w:tr of a table, w:tc of a row), looking through wrappers."""
    for ch in el:
        if ch.tag == tag:
            yield ch
        elif ch.tag in _WRAPPERS:
            yield from _children(ch, tag)


def table_to_tables(tbl: etree._Element, doc: Document) -> None:
    """Given a w:tbl, append it to doc.tables as a span grid, then any tables nested in its cells."""
    index = len(doc.tables)
    table = Table(index=index, cells=[], n_rows=0, n_cols=0)
    doc.tables.append(table)
    nested: list[etree._Element] = []
    # Per grid column, the cell that a vMerge="continue" below would extend.
    open_above: dict[int, Cell] = {}
    r = -1
    for tr in _children(tbl, _w + "tr"):
        r += 1
        trpr = tr.find(_w + "trPr")
        col = _int_attr(trpr.find(_w + "gridBefore") if trpr is not None else None)
        for tc in _children(tr, _w + "tc"):
            tcpr = tc.find(_w + "tcPr")
            span = max(1, _int_attr(tcpr.find(_w + "gridSpan") if tcpr is not None else None, 1))
            vm = tcpr.find(_w + "vMerge") if tcpr is not None else None
            hm = tcpr.find(_w + "hMerge") if tcpr is not None else None
            if hm is not None and hm.get(_w + "val") != "restart" and col - 1 in open_above:
                # Legacy horizontal merge: widen the cell to the left.
                left = open_above[col - 1]
                if left.row + left.rowspan - 1 == r:
                    left.colspan += span
                    for k in range(col, col + span):
                        open_above[k] = left
                    col += span
                    continue
            text = "\n".join(paragraph_to_text(p) for p in _blocks(tc) if p.tag == _w + "p").strip("\n")
            nested.extend(b for b in _blocks(tc) if b.tag == _w + "tbl")
            if vm is not None and vm.get(_w + "val") != "restart" and col in open_above:
                above = open_above[col]
                if above.row + above.rowspan == r and above.col == col:
                    above.rowspan += 1
                    if text.strip():  # Word keeps stray text of continued cells; don't lose it
                        above.text = (above.text + "\n" + text).strip("\n")
                    col += span
                    continue
            cell = Cell(text=text, row=r, col=col, colspan=span)
            table.cells.append(cell)
            for k in range(col, col + span):
                open_above[k] = cell
            col += span
        table.n_cols = max(table.n_cols, col + _int_attr(trpr.find(_w + "gridAfter") if trpr is not None else None))
    table.n_rows = r + 1
    grid = tbl.find(_w + "tblGrid")
    if grid is not None:
        table.n_cols = max(table.n_cols, len(grid.findall(_w + "gridCol")))
    for inner in nested:
        table_to_tables(inner, doc)
