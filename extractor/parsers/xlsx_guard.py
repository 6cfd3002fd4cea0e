"""What an .xlsx declares, checked before openpyxl builds it, and its formula cells.

openpyxl reads a workbook whole: every sheet's cells, every cell of a merged range (A1:XFD1048576 is 17 billion
of them), the shared strings in one piece. So before it opens the file, one streaming pass over the zip checks
what it would build against extractor.limits (sheets, cells, merged area, XML bytes, decompressed a chunk at a
time because declared sizes may lie) and refuses a DTD (an entity bomb). The same pass records every formula cell
and whether it has a saved (cached) value: openpyxl's data_only load gives a formula's cached value, but cannot
tell a formula saved without one (openpyxl itself writes those) from one whose value is an empty string.
openpyxl then reads a copy holding only the parts checked (cells, styles, shared strings, theme, tables,
hyperlinks): drawings, charts, chartsheets, images, comments, pivot tables and macros hold no form, and are
never built (a chartsheet without relationships even crashes openpyxl 3.1).
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..limits import (
    MAX_SHEET_CELLS,
    MAX_SHEET_GRID,
    MAX_SHEETS,
    MAX_SPREADSHEET_BYTES,
    MAX_SPREADSHEET_PART_BYTES,
    MAX_WORKBOOK_CELLS,
    READ_CHUNK,
    open_regular,
)
from .base import ParseError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
RESAVE = "open it in Excel or WPS and save it again as .xlsx"


@dataclass
class SheetInfo:
    """One worksheet as declared: its name, state and part, its formula cells: (row, col) 1-based -> (formula
    text, whether a value was saved with it), and the cells that hold a value."""

    name: str
    state: str
    part: str
    cells: int = 0
    formulas: dict[tuple[int, int], tuple[str, bool]] = field(default_factory=dict)
    valued: set[tuple[int, int]] = field(default_factory=set)  # cells holding a value (openpyxl drops those a
    # merged range covers but its top-left cell: they are hidden under the merge, and must not vanish silently)


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_SPREADSHEET_BYTES


class _Part:
    """One zip part opened for reading, refused (ParseError) once past the part or workbook limits or when it
    declares a DTD; a file-like object for lxml, so nothing is held beyond what the parser keeps."""

    def __init__(self, z: zipfile.ZipFile, name: str, budget: _Budget, keep: dict[str, bytearray] | None = None
                 ) -> None:
        info = z.getinfo(name)
        if info.compress_type not in _ZIP_METHODS:
            raise ParseError(f"the workbook's part {name} is compressed with a method Excel never writes: {RESAVE}")
        self.name, self.budget, self.seen, self.head = name, budget, 0, b""
        if info.file_size > MAX_SPREADSHEET_PART_BYTES or info.file_size > budget.left:
            raise ParseError(self._too_large())
        self.f = z.open(info)
        self.kept = None if keep is None else keep.setdefault(name, bytearray())

    def _too_large(self) -> str:
        return (f"the workbook is too large to read (more than {MAX_SPREADSHEET_PART_BYTES // (1024 * 1024)} MB "
                f"of XML in {self.name}, or {MAX_SPREADSHEET_BYTES // (1024 * 1024)} MB in all): send the form alone")

    def read(self, n: int = -1) -> bytes:
        chunk = self.f.read(READ_CHUNK if n is None or n < 0 else min(n, READ_CHUNK))
        self.seen += len(chunk)
        self.budget.left -= len(chunk)
        if self.seen > MAX_SPREADSHEET_PART_BYTES or self.budget.left < 0:
            raise ParseError(self._too_large())
        if len(self.head) < 65536:
            self.head += chunk[:65536]
            flat = self.head.replace(b"\x00", b"").upper()
            if b"<!DOCTYPE" in flat or b"<!ENTITY" in flat:
                raise ParseError(f"the workbook's part {self.name} declares a DTD, which Excel never writes: {RESAVE}")
        if self.kept is not None:
            self.kept += chunk
        return chunk

    def drain(self) -> bytes:
        out = bytearray()
        try:
            while chunk := self.read():
                out += chunk
        finally:
            self.close()
        return bytes(out)

    def close(self) -> None:
        self.f.close()


def _parser_kwargs() -> dict:
    return {"resolve_entities": False, "no_network": True, "huge_tree": False, "load_dtd": False}


def _small_xml(z: zipfile.ZipFile, name: str, budget: _Budget, keep: dict[str, bytearray] | None = None
               ) -> etree._Element:
    part = _Part(z, name, budget, keep)
    try:
        data = part.drain()
    finally:
        part.close()
    try:
        return etree.fromstring(data, etree.XMLParser(**_parser_kwargs()))
    except etree.XMLSyntaxError as e:
        raise ParseError(f"the workbook's {name} is broken ({e.msg}): {RESAVE}") from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _target(folder: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))


def _rels_name(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _sheets(z: zipfile.ZipFile, budget: _Budget, keep: dict[str, bytearray]) -> list[SheetInfo]:
    """Given the open zip, return its worksheets in workbook order (chartsheets and dialog sheets left out),
    keeping (in keep) the package, workbook, styles, shared strings and theme parts openpyxl reads."""
    names = set(z.namelist())
    rels = _small_xml(z, "_rels/.rels", budget, keep) if "_rels/.rels" in names else None
    book = next((r.get("Target", "").lstrip("/") for r in (rels if rels is not None else [])
                 if r.get("Type", "").endswith("/officeDocument")), "xl/workbook.xml")
    if book not in names:
        raise ParseError(f"not a readable Excel workbook (no {book}): {RESAVE}")
    root = _small_xml(z, book, budget, keep)
    folder = posixpath.dirname(book)
    targets: dict[str, tuple[str, str]] = {}
    if _rels_name(book) in names:
        for r in _small_xml(z, _rels_name(book), budget, keep):
            targets[r.get("Id", "")] = (_target(folder, r.get("Target", "")), r.get("Type", ""))
    for target, kind in targets.values():
        if kind.endswith(("/styles", "/sharedStrings", "/theme")) and target in names:
            _Part(z, target, budget, keep).drain()
    out = []
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        target, kind = targets.get(el.get(f"{{{REL}}}id") or el.get("{http://purl.oclc.org/ooxml/officeDocument/"
                                                                    "relationships}id") or "", ("", ""))
        if not kind.endswith("/worksheet") or target not in names:
            continue
        out.append(SheetInfo(el.get("name") or "", el.get("state") or "visible", target))
    if len(out) > MAX_SHEETS:
        raise ParseError(f"the workbook has {len(out)} sheets (at most {MAX_SHEETS} are read): send the form alone")
    return out


def _sheet_rels(z: zipfile.ZipFile, sheet: SheetInfo, budget: _Budget, keep: dict[str, bytearray]) -> None:
    """Keep the sheet's hyperlink and table relationships (and its tables), which openpyxl resolves; drawings,
    charts, images, comments and pivot tables hold no form and are left out, so openpyxl never builds them."""
    name = _rels_name(sheet.part)
    if name not in z.namelist():
        return
    root = _small_xml(z, name, budget)
    for r in list(root):
        kind = r.get("Type", "")
        target = _target(posixpath.dirname(sheet.part), r.get("Target", ""))
        if kind.endswith("/hyperlink"):
            continue
        if kind.endswith("/table") and target in z.namelist():
            _Part(z, target, budget, keep).drain()
            continue
        root.remove(r)
    keep[name] = bytearray(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _tags(name: str) -> tuple[str, str]:
    return f"{{{MAIN}}}{name}", f"{{{STRICT}}}{name}"


_ROW, _C, _MERGE, _F, _V = (_tags(n) for n in ("row", "c", "mergeCell", "f", "v"))


def _scan_sheet(z: zipfile.ZipFile, sheet: SheetInfo, budget: _Budget, total: list[int],
                keep: dict[str, bytearray]) -> None:
    """Count the sheet's cells and merged area, record its formulas; raise ParseError over a limit."""
    # Imported here, not with the module: openpyxl (0.2 s) is no part of reading a .docx or a PDF.
    from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

    row = col = 0
    merged = 0
    part = _Part(z, sheet.part, budget, keep)
    try:
        for event, el in etree.iterparse(part, events=("start", "end"), tag=(*_ROW, *_C, *_MERGE),
                                         **_parser_kwargs()):
            tag = el.tag
            if event == "start":
                if tag in _ROW:  # a cell without an address takes the next column of this row
                    row, col = int(el.get("r") or row + 1), 0
                continue
            if tag in _C:
                ref = el.get("r")
                r, col = coordinate_to_tuple(ref) if ref else (row, col + 1)
                sheet.cells += 1
                total[0] += 1
                if sheet.cells > MAX_SHEET_CELLS or total[0] > MAX_WORKBOOK_CELLS:
                    raise ParseError(f"the sheet {sheet.name!r} holds more than {MAX_SHEET_CELLS} cells (or the "
                                     f"workbook more than {MAX_WORKBOOK_CELLS}): a form has a few thousand; delete "
                                     "what is not the form and send it again")
                if any(x.tag in _V and x.text or _local(x.tag) == "is" for x in el):
                    sheet.valued.add((r, col))
                f = next((x for x in el if x.tag in _F), None)
                if f is not None:
                    v = next((x for x in el if x.tag in _V), None)
                    cached = v is not None and (bool(v.text) or el.get("t") == "str")
                    sheet.formulas[(r, col)] = ((f.text or "").strip(), cached)
                continue
            if tag in _MERGE:
                c0, r0, c1, r1 = range_boundaries(el.get("ref") or "")
                merged += (r1 - r0 + 1) * (c1 - c0 + 1)
                if merged > MAX_SHEET_GRID:
                    raise ParseError(f"the sheet {sheet.name!r} merges more than {MAX_SHEET_GRID} cells: a form "
                                     "merges a few hundred; unmerge what is not the form and send it again")
            el.clear()  # a row's cells go with it: nothing read stays in memory
            parent = el.getparent()
            while parent is not None and el.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as e:
        raise ParseError(f"the sheet {sheet.name!r} is broken ({e.msg}): {RESAVE}") from None
    except (ValueError, TypeError) as e:
        raise ParseError(f"the sheet {sheet.name!r} has a broken cell address ({e}): {RESAVE}") from None
    finally:
        part.close()


def path_to_guarded(path: Path) -> tuple[list[SheetInfo], bytes]:
    """Given an .xlsx/.xlsm path, return its worksheets with their formula cells and a copy of the workbook with
    only the parts a form can be in (cells, styles, shared strings, theme, tables, hyperlinks), each checked
    against the limits; raise ParseError when it is no readable workbook or declares more than they allow."""
    budget = _Budget()
    keep: dict[str, bytearray] = {}
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as z:
            for name in ("[Content_Types].xml", "docProps/core.xml", "docProps/app.xml"):
                if name in z.namelist():
                    _Part(z, name, budget, keep).drain()
            sheets = _sheets(z, budget, keep)
            total = [0]
            for s in sheets:
                _scan_sheet(z, s, budget, total, keep)
                _sheet_rels(z, s, budget, keep)
    except zipfile.BadZipFile:
        raise ParseError(f"not a readable Excel workbook (not an .xlsx zip, or truncated): {RESAVE}") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError, KeyError) as e:
        raise ParseError(f"not a readable Excel workbook ({e}): {RESAVE}") from None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, data in keep.items():
            z.writestr(name, bytes(data))
    return sheets, out.getvalue()
