"""What an .xlsx declares, checked before openpyxl builds it, and its formula cells.

openpyxl reads a workbook whole: every sheet's cells, every cell of a merged range (A1:XFD1048576 is 17 billion
of them), the shared strings in one piece. So before it opens the file, one streaming pass over the zip checks
what it would build against extractor.limits (sheets, cells, merged area, XML bytes, decompressed a chunk at a
time because declared sizes may lie) and refuses a DTD (an entity bomb). The same pass records every formula cell
and whether it has a saved (cached) value: openpyxl's data_only load gives a formula's cached value, but cannot
tell a formula saved without one (openpyxl itself writes those) from one whose value is an empty string.
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

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
    """One worksheet as declared: its name, state and part, and its formula cells: (row, col) 1-based ->
    (formula text, whether a value was saved with it)."""

    name: str
    state: str
    part: str
    cells: int = 0
    formulas: dict[tuple[int, int], tuple[str, bool]] = field(default_factory=dict)


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_SPREADSHEET_BYTES


def _stream(z: zipfile.ZipFile, name: str, budget: _Budget):
    """Yield the part's bytes a chunk at a time, refusing it (ParseError) past the part and workbook limits."""
    info = z.getinfo(name)
    if info.compress_type not in _ZIP_METHODS:
        raise ParseError(f"the workbook's part {name} is compressed with a method Excel never writes: {RESAVE}")
    too_large = (f"the workbook is too large to read (more than {MAX_SPREADSHEET_PART_BYTES // (1024 * 1024)} MB "
                 f"of XML in {name}, or {MAX_SPREADSHEET_BYTES // (1024 * 1024)} MB in all): send the form alone")
    if info.file_size > MAX_SPREADSHEET_PART_BYTES or info.file_size > budget.left:
        raise ParseError(too_large)
    seen = 0
    head = b""
    with z.open(info) as f:
        while chunk := f.read(READ_CHUNK):
            seen += len(chunk)
            budget.left -= len(chunk)
            if seen > MAX_SPREADSHEET_PART_BYTES or budget.left < 0:
                raise ParseError(too_large)
            if len(head) < 65536:
                head += chunk[:65536]
                flat = head.replace(b"\x00", b"").upper()
                if b"<!DOCTYPE" in flat or b"<!ENTITY" in flat:
                    raise ParseError(f"the workbook's part {name} declares a DTD, which Excel never writes: {RESAVE}")
            yield chunk


class _Feed:
    """A file-like view of a part's chunks for lxml's iterparse."""

    def __init__(self, chunks) -> None:
        self.chunks, self.buf = chunks, b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            nxt = next(self.chunks, None)
            if nxt is None:
                break
            self.buf += nxt
        if n < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out


def _parser_kwargs() -> dict:
    return {"resolve_entities": False, "no_network": True, "huge_tree": False, "load_dtd": False}


def _small_xml(z: zipfile.ZipFile, name: str, budget: _Budget) -> etree._Element:
    data = b"".join(_stream(z, name, budget))
    try:
        return etree.fromstring(data, etree.XMLParser(**_parser_kwargs()))
    except etree.XMLSyntaxError as e:
        raise ParseError(f"the workbook's {name} is broken ({e.msg}): {RESAVE}") from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _sheets(z: zipfile.ZipFile, budget: _Budget) -> list[SheetInfo]:
    """Given the open zip, return its worksheets in workbook order (chartsheets and dialog sheets left out)."""
    names = set(z.namelist())
    rels = _small_xml(z, "_rels/.rels", budget) if "_rels/.rels" in names else None
    book = next((r.get("Target", "").lstrip("/") for r in (rels if rels is not None else [])
                 if r.get("Type", "").endswith("/officeDocument")), "xl/workbook.xml")
    if book not in names:
        raise ParseError(f"not a readable Excel workbook (no {book}): {RESAVE}")
    root = _small_xml(z, book, budget)
    folder = posixpath.dirname(book)
    rel_name = posixpath.join(folder, "_rels", posixpath.basename(book) + ".rels")
    targets: dict[str, tuple[str, str]] = {}
    if rel_name in names:
        for r in _small_xml(z, rel_name, budget):
            target = r.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder,
                                                                                                         target))
            targets[r.get("Id", "")] = (target, r.get("Type", ""))
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


def _scan_sheet(z: zipfile.ZipFile, sheet: SheetInfo, budget: _Budget, total: list[int]) -> None:
    """Count the sheet's cells and merged area, record its formulas; raise ParseError over a limit."""
    row = col = 0
    merged = 0
    try:
        for _, el in etree.iterparse(_Feed(_stream(z, sheet.part, budget)), events=("end",), **_parser_kwargs()):
            tag = _local(el.tag)
            if tag == "row":
                row = int(el.get("r") or row + 1)
                col = 0
            elif tag == "c":
                ref = el.get("r")
                r, col = coordinate_to_tuple(ref) if ref else (row, col + 1)
                sheet.cells += 1
                total[0] += 1
                if sheet.cells > MAX_SHEET_CELLS or total[0] > MAX_WORKBOOK_CELLS:
                    raise ParseError(f"the sheet {sheet.name!r} holds more than {MAX_SHEET_CELLS} cells (or the "
                                     f"workbook more than {MAX_WORKBOOK_CELLS}): a form has a few thousand; delete "
                                     "what is not the form and send it again")
                f = next((x for x in el if _local(x.tag) == "f"), None)
                if f is not None:
                    v = next((x for x in el if _local(x.tag) == "v"), None)
                    cached = v is not None and (bool(v.text) or el.get("t") == "str")
                    sheet.formulas[(r, col)] = ((f.text or "").strip(), cached)
            elif tag == "mergeCell":
                c0, r0, c1, r1 = range_boundaries(el.get("ref") or "")
                merged += (r1 - r0 + 1) * (c1 - c0 + 1)
                if merged > MAX_SHEET_GRID:
                    raise ParseError(f"the sheet {sheet.name!r} merges more than {MAX_SHEET_GRID} cells: a form "
                                     "merges a few hundred; unmerge what is not the form and send it again")
            else:
                continue
            if tag != "c" or el.getparent() is None or _local(el.getparent().tag) != "row":
                el.clear()
            if tag == "row":
                el.clear()
                parent = el.getparent()
                while parent is not None and el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as e:
        raise ParseError(f"the sheet {sheet.name!r} is broken ({e.msg}): {RESAVE}") from None
    except (ValueError, TypeError) as e:
        raise ParseError(f"the sheet {sheet.name!r} has a broken cell address ({e}): {RESAVE}") from None


def path_to_sheet_infos(path: Path) -> list[SheetInfo]:
    """Given an .xlsx/.xlsm path, return its worksheets with their formula cells, or raise ParseError when it is
    no readable workbook or declares more than the limits allow."""
    budget = _Budget()
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as z:
            for part in ("xl/sharedStrings.xml", "xl/styles.xml"):
                if part in z.namelist():
                    for _ in _stream(z, part, budget):
                        pass
            sheets = _sheets(z, budget)
            total = [0]
            for s in sheets:
                _scan_sheet(z, s, budget, total)
    except zipfile.BadZipFile:
        raise ParseError(f"not a readable Excel workbook (not an .xlsx zip, or truncated): {RESAVE}") from None
    except (OSError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError, KeyError) as e:
        raise ParseError(f"not a readable Excel workbook ({e}): {RESAVE}") from None
    return sheets
