"""Word (.docx) parser: every table from the real w:tc grid, plus the text outside tables.

python-docx repeats a merged cell as the same ``_Cell`` in ``row.cells``; we read the
XML grid instead (gridSpan, vMerge, hMerge, gridBefore/gridAfter) so a merged cell is one
Cell with a span. Content controls (w:sdt), tracked insertions (w:ins) and
smart tags/custom XML wrappers are read through; deleted text (w:delText) and tracked-deleted
rows are not. Tables in text boxes are tables too, checkboxes read as ☑/☐ (docx_marks), each
table carries its column edges (Table.col_x, docx_grid), and page headers/footers give Document.page_lines.

What a file declares is checked before it is built (extractor.limits): zip parts are inflated a chunk at a
time up to MAX_XML_BYTES, and a table whose gridBefore/gridSpan/gridAfter or rows run past MAX_TABLE_COLUMNS
or MAX_TABLE_ROWS is refused, so a few kilobytes cannot make us build a grid of 100 million cells. An OLE2
file under a .docx name is named for what it is: password-protected (an EncryptedPackage stream) or a Word
97-2003 document, which the legacy parser converts.

Why one module of some 490 lines: the package's parts, the body walk and the grid are one reading of one XML
tree, and a cell's fast path (plain runs read in one pass) sits beside the general walk it must equal
(tests/test_reading_fast_paths.py); the checkbox marks and the column edges are modules of their own.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from lxml import etree

from .. import logs  # noqa: F401 - importing it routes library logging (every worker imports the parsers)
from ..limits import MAX_DOCUMENT_CELLS, MAX_TABLE_COLUMNS, MAX_TABLE_ROWS, MAX_XML_BYTES, READ_CHUNK, open_regular
from ..model import Cell, Document, Table
from .base import ParseError, Parser
from .docx_grid import cell_width, grid_edges, merged_above, twips
from .docx_marks import fldchar_checkbox_mark, sdt_checkbox_mark, sym_text
from .ole import ENCRYPTED_OOXML, OLE2_MAGIC, PASSWORD_PROTECTED, path_to_ole_info

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_w = f"{{{W}}}"

# Elements that only wrap content and must be looked through.
_WRAPPERS = {_w + "sdt", _w + "sdtContent", _w + "customXml", _w + "smartTag", _w + "ins", _w + "moveTo"}
# Elements whose content is not current text. mc:Fallback repeats mc:Choice (a text box is written twice,
# DrawingML and VML): reading both would give its text and tables twice.
_SKIP = {_w + "del", _w + "moveFrom", _w + "sdtPr", _w + "rPr", _w + "pPr", _w + "instrText", _w + "delText",
         f"{{{MC}}}Fallback"}

DEFAULT_MAX_XML_BYTES = MAX_XML_BYTES  # an XML part larger than this is refused (zip bomb guard)
# Word writes its parts deflated or stored; bzip2 and LZMA members would be inflated in one piece by zipfile.
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_PAGE_PART = re.compile(r"^word/(header|footer)(\d*)\.xml$")
# Tag names spelled once: every element of a document is compared with them. Children are walked as
# el.getchildren(), a list lxml builds in C: about half the cost of iterating the element itself, and the same
# nodes (comments and processing instructions included) in the same order.
_P, _TBL, _TR, _TC, _T, _SDT, _TXBX = (_w + t for t in ("p", "tbl", "tr", "tc", "t", "sdt", "txbxContent"))
_BLOCK_TAGS = (_P, _TBL)
# What a run's simple children read as (w:t is its own text; w:sym, w:fldChar, w:sdt ask docx_marks).
_RUN_TEXT = {_w + "br": "\n", _w + "cr": "\n", _w + "tab": " ", _w + "noBreakHyphen": "-"}
_SYM, _FLDCHAR = _w + "sym", _w + "fldChar"
_VAL = _w + "val"
_TRPR, _TCPR, _R, _RPR, _PPR = _w + "trPr", _w + "tcPr", _w + "r", _w + "rPr", _w + "pPr"
_GRIDSPAN, _TCW, _VMERGE, _HMERGE = (_w + t for t in ("gridSpan", "tcW", "vMerge", "hMerge"))


class DocxParser(Parser):
    """Word .docx. An old Word file under a .docx name goes to ole_reader (the registry passes the legacy parser's,
    which itself reads its converted output with this parser: handing it in keeps the two modules acyclic)."""

    suffixes = (".docx", ".docm")
    kind = "docx"

    def __init__(self, ole_reader: Callable[[Path], Document] | None = None) -> None:
        self.ole_reader = ole_reader

    def path_to_document(self, path: Path) -> Document:
        """Given a .docx path, return its tables, lines and page lines, or raise ParseError."""
        with open_regular(path) as f:
            ole = f.read(len(OLE2_MAGIC)) == OLE2_MAGIC
        if ole:
            return ole_to_document(Path(path), self.ole_reader)
        body, page_parts = path_to_parts(path)
        doc = Document(kind=self.kind)
        body_to_document(body, doc)
        doc.page_lines = page_parts_to_lines(page_parts)
        return doc


def ole_to_document(path: Path, ole_reader: Callable[[Path], Document] | None = None) -> Document:
    """Given an OLE2 file under a .docx name and the reader of old Word files, return its Document when it is a Word
    97-2003 or 6.0/95 file, else raise ParseError naming what it is."""
    info = path_to_ole_info(path)
    if info is not None and (info.kind == ENCRYPTED_OOXML or info.encrypted):
        raise ParseError(PASSWORD_PROTECTED)
    if info is not None and info.kind is not None:
        if ole_reader is None:
            raise ParseError("an old Word (.doc) file under a .docx name: open it in Word or WPS and save it as .docx")
        return ole_reader(path)
    what = info.what if info is not None else "a damaged OLE2 file"
    raise ParseError(f"not a readable Word file: it is {what}, not a .docx; open it in Word or WPS and save it "
                     "as .docx")


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, huge_tree=False, no_network=True))


def _read_part(z: zipfile.ZipFile, name: str, limit: int = DEFAULT_MAX_XML_BYTES) -> bytes:
    """Given the open zip and a part name, return the part's bytes, inflated a chunk at a time and refused
    (ParseError) once over limit (DEFAULT_MAX_XML_BYTES): the sizes a zip declares may lie, and zipfile's
    read() inflates a whole member in one call."""
    info = z.getinfo(name)
    if info.compress_type not in _ZIP_METHODS:
        raise ParseError(f"the Word file's part {name} is compressed with a method Word never writes "
                         f"({info.compress_type}): re-save it as .docx")
    too_large = f"the Word document is too large to read (more than {limit} bytes of XML in {name})"
    if info.file_size > limit:
        raise ParseError(too_large)
    out = bytearray()
    with z.open(info) as f:
        while chunk := f.read(READ_CHUNK):
            out += chunk
            if len(out) > limit:
                raise ParseError(too_large)
    return bytes(out)


def path_to_parts(path: Path) -> tuple[etree._Element, list[etree._Element]]:
    """Given a .docx path, return its w:body and its header/footer roots (w:hdr, w:ftr) in the order the
    sections name them, or raise ParseError saying what is wrong with the main part."""
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as z:
            name = _main_part_name(z)
            xml = _read_part(z, name)
            try:
                root = _xml(xml)
            except etree.XMLSyntaxError as e:
                raise ParseError(f"the Word document's XML is broken ({e.msg}): re-save it as .docx") from None
            body = root.find(_w + "body")
            if body is None:
                raise ParseError("the Word document has no body: re-save it as .docx")
            pages = []
            budget = DEFAULT_MAX_XML_BYTES  # for all headers and footers together: their trees are all kept
            for part in _page_part_names(z, name, body):
                try:  # a damaged header costs its lines, not the form
                    data = _read_part(z, part, min(budget, DEFAULT_MAX_XML_BYTES))
                    budget -= len(data)
                    pages.append(_xml(data))
                except (KeyError, ParseError, etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError,
                        NotImplementedError, RuntimeError):
                    continue
    except zipfile.BadZipFile:
        raise ParseError("not a readable Word file (not a .docx zip, or truncated): re-save it as .docx") from None
    except KeyError as e:
        raise ParseError(f"not a readable Word file (missing part {e}): re-save it as .docx") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as e:
        raise ParseError(f"not a readable Word file ({e}): re-save it as .docx") from None
    return body, pages


def _main_part_name(z: zipfile.ZipFile) -> str:
    """The main document part, from [Content_Types].xml when it names one, else word/document.xml."""
    try:
        ct = _xml(_read_part(z, "[Content_Types].xml"))
    except (KeyError, ParseError, etree.XMLSyntaxError):
        return "word/document.xml"
    for o in ct:
        if str(o.get("ContentType", "")).endswith(("document.main+xml", "document.macroEnabled.main+xml")):
            return o.get("PartName", "/word/document.xml").lstrip("/")
    return "word/document.xml"


def _page_part_names(z: zipfile.ZipFile, main: str, body: etree._Element) -> list[str]:
    """Given the zip, its main part name and body, return the header/footer part names: from the main part's
    relationships (in the order the sections reference them), else the zip's word/header*.xml, footer*.xml."""
    folder = posixpath.dirname(main)
    try:
        rels = _xml(_read_part(z, posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels")))
    except (KeyError, ParseError, etree.XMLSyntaxError):
        found = [(m.group(1) != "header", int(m.group(2) or 0), n) for n in z.namelist() if (m := _PAGE_PART.match(n))]
        return [n for *_, n in sorted(found)]
    targets: dict[str, str] = {}
    for rel in rels:
        target = rel.get("Target") or ""
        if str(rel.get("Type", "")).rsplit("/", 1)[-1] in ("header", "footer") and rel.get("TargetMode") != "External":
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            targets[rel.get("Id", "")] = name
    refs = [ref.get(f"{{{R}}}id", "") for ref in body.iter(_w + "headerReference", _w + "footerReference")]
    ordered = [targets[i] for i in refs if i in targets] + list(targets.values())
    return list(dict.fromkeys(ordered))


def page_parts_to_lines(parts: list[etree._Element]) -> list[str]:
    """Given header/footer roots, return their text lines once each: paragraphs, and table rows as their
    cells' texts joined by a space."""
    lines: list[str] = []
    for root in parts:
        scratch = Document()
        for el in _blocks(root):
            tables: list[etree._Element] = [el] if el.tag == _w + "tbl" else []
            if el.tag == _w + "p":
                lines.extend(line.strip() for line in paragraph_to_text(el, tables).split("\n"))
            for tbl in tables:
                start = len(scratch.tables)
                table_to_tables(tbl, scratch)
                for t in scratch.tables[start:]:
                    by_row: dict[int, list[str]] = {}
                    for c in t.cells:  # cells are in row order: one pass, not one per row
                        by_row.setdefault(c.row, []).append(" ".join(c.text.split()))
                    for r in range(t.n_rows):
                        lines.append(" ".join(x for x in by_row.get(r, ()) if x))
    return [line for line in dict.fromkeys(lines) if line]


def body_to_document(body: etree._Element, doc: Document) -> None:
    """Given a w:body (or any block container), append its tables and free text lines to doc."""
    for el in _blocks(body):
        if el.tag == _w + "p":
            boxed: list[etree._Element] = []
            text = paragraph_to_text(el, boxed)
            if text.strip():
                doc.lines.extend(line for line in text.split("\n") if line.strip())
            for tbl in boxed:
                table_to_tables(tbl, doc)
        elif el.tag == _w + "tbl":
            table_to_tables(el, doc)


def _blocks(container: etree._Element) -> Iterator[etree._Element]:
    """Yield the w:p and w:tbl blocks of a container, looking through wrappers."""
    for el in container.getchildren():
        tag = el.tag
        if tag in _BLOCK_TAGS:
            yield el
        elif tag == _SDT and (mark := sdt_checkbox_mark(el)) is not None:
            yield _mark_paragraph(mark)  # its state, not the glyph its content shows
        elif tag in _WRAPPERS:
            yield from _blocks(el)


def _mark_paragraph(mark: str) -> etree._Element:
    p = etree.Element(_w + "p")
    etree.SubElement(etree.SubElement(p, _w + "r"), _w + "t").text = mark
    return p


def paragraph_to_text(p: etree._Element, boxed: list[etree._Element] | None = None) -> str:
    """Given a w:p, return its current text (insertions in, deletions out; breaks as newlines; checkboxes
    and symbol ticks as marks). Text boxes' paragraphs become lines of it; their tables are appended to
    boxed (dropped when boxed is None)."""
    out: list[str] = []
    _walk(p, out, boxed)
    return "".join(out)


def _walk(el: etree._Element, out: list[str], boxed: list[etree._Element] | None) -> None:
    """Append the current text of el's children to out (paragraph_to_text's walk, one function for all)."""
    for ch in el.getchildren():
        tag = ch.tag
        if tag == _T:
            out.append(ch.text or "")
        elif tag == _R:
            # Most runs hold only w:t (and w:rPr): read them here; any other child reads the run the general way.
            start = len(out)
            for sub in ch.getchildren():
                sub_tag = sub.tag
                if sub_tag == _T:
                    out.append(sub.text or "")
                elif sub_tag != _RPR:
                    del out[start:]
                    _walk(ch, out, boxed)
                    break
        elif not isinstance(tag, str) or tag in _SKIP:
            continue
        elif tag in _RUN_TEXT:
            out.append(_RUN_TEXT[tag])
        elif tag == _SYM:
            out.append(sym_text(ch))
        elif tag == _FLDCHAR:
            out.append(fldchar_checkbox_mark(ch) or "")
        elif tag == _SDT and (mark := sdt_checkbox_mark(ch)) is not None:
            out.append(mark)
        elif tag == _TXBX:
            for inner in _blocks(ch):
                if inner.tag == _P:
                    out.append("\n" + paragraph_to_text(inner, boxed))
                elif boxed is not None:
                    boxed.append(inner)
        elif len(ch):
            _walk(ch, out, boxed)


def _cell_text(tc: etree._Element, nested: list[etree._Element]) -> str:
    """Given a w:tc, return its paragraphs' texts joined by newlines (paragraph_to_text's, walked into one list),
    appending the tables in it to nested. Most cells hold only paragraphs of plain runs (w:r of w:rPr and w:t):
    those are read here in one pass; a cell with anything else is read again the general way (_blocks, _walk)."""
    out: list[str] = []
    paragraphs = 0
    tables = len(nested)
    for b in tc.getchildren():
        tag = b.tag
        if tag == _P:
            if paragraphs:
                out.append("\n")
            paragraphs += 1
            for ch in b.getchildren():
                tag = ch.tag
                if tag == _R:
                    for sub in ch.getchildren():
                        tag = sub.tag
                        if tag == _T:
                            out.append(sub.text or "")
                        elif tag != _RPR:
                            return _cell_text_walked(tc, nested, tables)
                elif tag != _PPR:
                    return _cell_text_walked(tc, nested, tables)
        elif tag == _TBL:
            nested.append(b)
        elif tag != _TCPR:
            return _cell_text_walked(tc, nested, tables)
    return "".join(out).strip("\n")


def _cell_text_walked(tc: etree._Element, nested: list[etree._Element], tables: int) -> str:
    """_cell_text the general way, for a cell not of plain runs only: the tables it appended are dropped first
    (from index tables on), so each is appended once, in the order the walk finds them."""
    del nested[tables:]
    out: list[str] = []
    paragraphs = 0
    for b in _blocks(tc):
        if b.tag == _P:
            if paragraphs:
                out.append("\n")
            paragraphs += 1
            _walk(b, out, nested)
        else:
            nested.append(b)
    return "".join(out).strip("\n")


def _int_attr(el: etree._Element | None, default: int = 0) -> int:
    if el is None:
        return default
    try:
        return int(el.get(_VAL, default))
    except ValueError:
        return default


def _children(el: etree._Element, tag: str) -> Iterator[etree._Element]:
    """Yield el's children with this tag (w:tr of a table, w:tc of a row), looking through wrappers."""
    for ch in el.getchildren():
        if ch.tag == tag:
            yield ch
        elif ch.tag in _WRAPPERS:
            yield from _children(ch, tag)


def _props(el: etree._Element | None) -> dict[str, etree._Element]:
    """Given a w:trPr or w:tcPr (or None), return its children by local name, the first of each (as find would
    give): one pass over the properties instead of one search per property."""
    out: dict[str, etree._Element] = {}
    if el is not None:
        for ch in el:
            tag = ch.tag
            if isinstance(tag, str) and tag.startswith(_w):
                out.setdefault(tag[len(_w):], ch)
    return out


def _grid_covers(grid_w: list[float | None], n_cols: int) -> bool:
    """Whether tblGrid states every column's width (grid_edges then takes the edges from it alone)."""
    known = [w for w in grid_w[:n_cols] if w is not None]
    return n_cols > 0 and len(known) == n_cols and sum(known) > 0


def table_to_tables(tbl: etree._Element, doc: Document) -> None:
    """Given a w:tbl, append it to doc.tables as a span grid, then any tables nested in its cells."""
    index = len(doc.tables)
    table = Table(index=index, cells=[], n_rows=0, n_cols=0)
    doc.tables.append(table)
    nested: list[etree._Element] = []
    # Per grid column, the cell that a vMerge="continue" below would extend.
    open_above: dict[int, Cell] = {}
    # Per row, (grid edge, the element stating its width or None) of each stretch: gridBefore, cells, gridAfter.
    # The widths are read only when tblGrid does not give the edges (it nearly always does).
    stretches: list[list[tuple[int, etree._Element | None]]] = []
    grid = tbl.find(_w + "tblGrid")
    grid_cols = grid.findall(_w + "gridCol") if grid is not None else []
    _check_columns(len(grid_cols))
    grid_w = [twips(g.get(_w + "w")) for g in grid_cols]
    # Grid column widths to weigh a vMerge continuation that straddles cells above (rows not sharing one grid).
    col_w = [w or 0.0 for w in grid_w] if grid_w and None not in grid_w and sum(grid_w) > 0 else []
    r = -1
    for tr in _children(tbl, _TR):
        trpr = _props(tr.find(_TRPR))
        if "del" in trpr:
            _forget_deleted_row(tr, open_above)
            continue
        r += 1
        if r >= MAX_TABLE_ROWS:
            raise ParseError(f"the Word table has more than {MAX_TABLE_ROWS} rows: not a form")
        col = _check_columns(_int_attr(trpr.get("gridBefore")))
        row_stretches = [(col, trpr.get("wBefore"))] if col > 0 else []
        stretches.append(row_stretches)
        for tc in _children(tr, _TC):
            span_el = width_el = vm = hm = None
            first = tc[0] if len(tc) else None  # Word writes w:tcPr first: no search for it then
            tcpr = first if first is not None and first.tag == _TCPR else tc.find(_TCPR)
            if tcpr is not None:
                # Its first w:gridSpan, w:tcW, w:vMerge and w:hMerge (as find would give), in one pass: the four a
                # cell's place in the grid depends on.
                for ch in tcpr.getchildren():
                    tag = ch.tag
                    if tag == _TCW:
                        if width_el is None:
                            width_el = ch
                    elif tag == _VMERGE:
                        if vm is None:
                            vm = ch
                    elif tag == _GRIDSPAN:
                        if span_el is None:
                            span_el = ch
                    elif tag == _HMERGE and hm is None:
                        hm = ch
            span = 1 if span_el is None else max(1, _int_attr(span_el, 1))  # most cells state no gridSpan
            if col + span > MAX_TABLE_COLUMNS:
                _check_columns(col + span)
            row_stretches.append((col + span, width_el))
            if hm is not None and hm.get(_VAL) != "restart" and col - 1 in open_above:
                # Legacy horizontal merge: widen the cell to the left.
                left = open_above[col - 1]
                if left.row + left.rowspan - 1 == r:
                    left.colspan += span
                    for k in range(col, col + span):
                        open_above[k] = left
                    col += span
                    continue
            text = _cell_text(tc, nested)
            if vm is not None and vm.get(_VAL) != "restart":
                above = merged_above(open_above, col, span, r, col_w)
                if above is not None:
                    above.rowspan += 1
                    if text.strip():  # Word keeps stray text of continued cells; don't lose it
                        above.text = (above.text + "\n" + text).strip("\n")
                    col += span
                    continue
            cell = Cell(text, r, col, 1, span)
            table.cells.append(cell)
            if span == 1:
                open_above[col] = cell
            else:
                for k in range(col, col + span):
                    open_above[k] = cell
            col += span
        after = _int_attr(trpr.get("gridAfter"))
        _check_columns(col + max(after, 0))
        if after > 0:
            row_stretches.append((col + after, trpr.get("wAfter")))
        table.n_cols = max(table.n_cols, col + after)
    table.n_rows = r + 1
    table.n_cols = max(table.n_cols, len(grid_w))
    widths = [] if _grid_covers(grid_w, table.n_cols) else [
        [(k, cell_width(el)) for k, el in row] for row in stretches]
    table.col_x = grid_edges(grid_w, widths, table.n_cols)
    # A running total on the Document: many small tables can declare as much as one large one.
    declared = getattr(doc, "_declared_cells", 0) + table.n_rows * table.n_cols
    doc._declared_cells = declared  # type: ignore[attr-defined]
    if declared > MAX_DOCUMENT_CELLS:
        raise ParseError(f"the Word tables declare more than {MAX_DOCUMENT_CELLS} cells together: not a form")
    for inner in nested:
        table_to_tables(inner, doc)


def _check_columns(n: int) -> int:
    """Given a table's declared grid width so far, return it, or raise ParseError when it is over
    MAX_TABLE_COLUMNS (checked before anything per column is built)."""
    if n > MAX_TABLE_COLUMNS:
        raise ParseError(f"the Word table declares {n} columns (at most {MAX_TABLE_COLUMNS} are read): not a form")
    return n


def _forget_deleted_row(tr: etree._Element, open_above: dict[int, Cell]) -> None:
    """Given a tracked-deleted row, close the merges it starts: a vMerge continued below it begins anew,
    while one it only continues runs on across it."""
    col = _check_columns(_int_attr(_props(tr.find(_TRPR)).get("gridBefore")))
    for tc in _children(tr, _TC):
        tcpr = _props(tc.find(_TCPR))
        span = max(1, _int_attr(tcpr.get("gridSpan"), 1))
        _check_columns(col + span)
        vm = tcpr.get("vMerge")
        if vm is None or vm.get(_VAL) == "restart":
            for k in range(col, col + span):
                open_above.pop(k, None)
        col += span
