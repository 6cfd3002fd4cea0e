"""Page images for Word forms: a .docx (or .doc) -> PDF by LibreOffice, once per form -> the flagged rows cropped.

Opt-in (``selfeval report --page-images``): converting takes seconds per form. LibreOffice runs as the legacy
parser runs it (a private profile and temporary folder, a time limit, its whole process tree killed on a timeout).
The converted PDF is read by the PDF parser (pdfplumber); each flagged row is found there by its label text, and its
score cells by their place among the row's cells, since LibreOffice may lay the grid out with other column edges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .evidence_files import Evidence, add_note, add_strips, item_cells, item_table, label_key, original_file, table_of
from .evidence_image import Box, pdf_to_pages, union
from .form import Form, ItemResult
from .model import Cell, Document

DEFAULT_CONVERT_TIMEOUT = 90.0  # seconds for one form
NO_LIBREOFFICE = "未安装 LibreOffice，Word 表无页面图 (no page image: LibreOffice is not installed)"
_INFILTER = {".docx": "MS Word 2007 XML", ".docm": "MS Word 2007 XML", ".rtf": "Rich Text Format"}


def add_word_page_images(form: Form, items: list[ItemResult], out: dict[str, Evidence]) -> None:
    """Given a Word form and its flagged items, add to out each row's image cropped from the form converted to
    PDF (or a note saying why not)."""
    from .parsers.legacy import find_soffice, ole_to_attempts, soffice_convert
    from .parsers.pdf import PdfParser
    from .tempdirs import private_dir

    soffice = find_soffice()
    if soffice is None:
        for it in items:
            add_note(out[it.code], NO_LIBREOFFICE)
        return
    with original_file(form) as (path, why):
        if path is None:
            for it in items:
                add_note(out[it.code], why or "")
            return
        suffix = path.suffix.lower()
        infilter = _INFILTER.get(suffix) or (ole_to_attempts(path, suffix)[0][1] if suffix in (".doc", ".wps")
                                             else "MS Word 2007 XML")
        with private_dir("evidence-lo") as work:
            pdf = soffice_convert(soffice, path, work, "form" + (suffix or ".docx"), infilter,
                                  DEFAULT_CONVERT_TIMEOUT, suffix, "pdf")
            if pdf is None:
                for it in items:
                    add_note(out[it.code], "LibreOffice 未能转换此文件，无页面图 (LibreOffice could not convert the file)")
                return
            doc = PdfParser().path_to_document(pdf)
            plans = {it.code: document_row_plan(doc, it) for it in items}
            unruled = [it for it in items if plans[it.code] is None]
            if unruled:  # a table drawn without borders has no grid in the PDF: find the label's characters
                plans.update(chars_row_plans(pdf, unruled, table_of(form, item_table(unruled[0]))))
            for it in items:
                if plans[it.code] is None:
                    add_note(out[it.code], "在转换后的页面中未找到该行 (the row was not found in the converted pages)")
            pages = {p[0] for p in plans.values() if p}
            rendered = pdf_to_pages(pdf, pages) if pages else {}
    add_strips(rendered, plans, out)


def document_row_plan(doc: Document, it: ItemResult) -> tuple[int, Box, dict[str, Box]] | None:
    """Given the converted form's Document and an item, return (page, the row's band, the score cells' boxes) of
    the row whose label cell reads as the item's label, or None when no such row is found."""
    key = label_key(it.raw_label)
    if not key:
        return None
    for table in doc.tables:
        label = next((c for c in table.cells if label_key(c.text) == key and c.bbox), None)
        if label is None:
            continue
        row = [c for c in table.cells if c.covers(label.row, c.col) and c.row <= label.row and c.bbox]
        row = sorted({id(c): c for c in row}.values(), key=lambda c: c.col)
        page = label.page or 1
        on_page = [c for c in row if c.page == page]
        wide = union([c.bbox for c in on_page])
        # The height is the row's own cells' (a category cell merged over 18 rows would make the strip a page).
        tall = union([c.bbox for c in on_page if c.rowspan == 1 or c is label])
        if wide is None or tall is None:
            return None
        band = (wide[0], tall[1], wide[2], tall[3])
        return page, band, _score_boxes(it, on_page, label)
    return None


def _score_boxes(it: ItemResult, row: list[Cell], label: Cell) -> dict[str, Box]:
    """The converted row's cells that hold the item's score cells: the one at the same place among the row's
    cells counted from the label cell (the columns before the label, a category or number, may be merged
    differently), else the one whose text is the score's raw text, alone in the row."""
    stored = item_cells(it)
    row_cells = sorted(getattr(it, "row_cells", None) or [], key=lambda c: c["col"])
    label_at = next((n for n, c in enumerate(row_cells) if c.get("role") == "label"), None)
    pdf_label_at = row.index(label) if label in row else None
    out: dict[str, Box] = {}
    for side, cell in stored.items():
        at = next((n for n, c in enumerate(row_cells) if c.get("col") == cell.get("col")), None)
        if at is not None and label_at is not None and pdf_label_at is not None:
            k = pdf_label_at + (at - label_at)
            if 0 <= k < len(row) and row[k].bbox:
                out[side] = row[k].bbox
                continue
        raw = getattr(it, f"{side}_raw", None)
        same = [c for c in row if raw and label_key(c.text) == label_key(raw)]
        if len(same) == 1 and same[0].bbox:
            out[side] = same[0].bbox
    return out


WORD_CELL_PAD = 5.4  # Word's default left cell margin (0.19 cm), between a cell's edge and its text
ROW_PAD = 2.0


def chars_row_plans(pdf: Path, items: list[ItemResult], table: dict[str, Any] | None
                    ) -> dict[str, tuple[int, Box, dict[str, Box]] | None]:
    """Given the converted PDF, items and their table's description (Word's column edges), return per item the
    crop of its row found by its label's characters (for a table drawn without borders): the band from the label's
    text and the text beside it, the columns placed from Word's grid widths, left of the label's text by the
    cell margin."""
    import pdfplumber

    out: dict[str, tuple[int, Box, dict[str, Box]] | None] = {it.code: None for it in items}
    edges = (table or {}).get("col_x")
    with pdfplumber.open(pdf) as doc:
        for number, page in enumerate(doc.pages, start=1):
            chars = [c for c in page.chars if c["text"].strip()]
            text = "".join(c["text"] for c in chars)
            for it in items:
                key = label_key(it.raw_label)
                if out[it.code] is not None or not key or key not in text:
                    continue
                at = text.index(key)
                label = chars[at:at + len(key)]
                out[it.code] = _chars_plan(number, label, chars, it, edges, page.width)
    return out


def _chars_plan(number: int, label: list[dict], chars: list[dict], it: ItemResult, edges: list[float] | None,
                page_width: float) -> tuple[int, Box, dict[str, Box]]:
    x0, top = min(c["x0"] for c in label), min(c["top"] for c in label)
    bottom = max(c["bottom"] for c in label)
    # Text of the row's other cells starts on the label's first line; a longer cell (wrapped rules) reaches lower.
    beside = [c for c in chars if top - 1 <= c["top"] <= bottom and c not in label]
    bottom = max([bottom] + [c["bottom"] for c in beside])
    band_top, band_bottom = top - ROW_PAD, bottom + ROW_PAD
    label_col = next((c["col"] for c in it.row_cells or [] if c.get("role") == "label"), None)
    if not edges or label_col is None:
        return number, (0.0, band_top, page_width, band_bottom), {}
    left = x0 - WORD_CELL_PAD - (edges[label_col] - edges[0])
    boxes: dict[str, Box] = {}
    for side, cell in item_cells(it).items():
        col, span = cell.get("col"), cell.get("colspan", 1) or 1
        if isinstance(col, int) and col + span < len(edges):
            boxes[side] = (left + edges[col] - edges[0], band_top, left + edges[col + span] - edges[0], band_bottom)
    return number, (left, band_top, left + edges[-1] - edges[0], band_bottom), boxes
