"""Evidence for a finding: a stored form -> per flagged item, a picture of its row as the form printed it.

- PDF forms and scans (kinds pdf, pdf-scan, image): the original file is found again (Form.path, else the source
  relative to the working folder; an archive member is unpacked again from its container; the photos of a form
  read from several, each in the order read), checked against the stored sha256, its pages rendered once, and
  each flagged row cropped with the self cell outlined in blue and the inspector cell in orange
  (``evidence_image``).
- Word forms (docx, doc): the row rendered as an HTML table from the stored cells (the table's header rows above
  it, every column with its spans, the score cells outlined). With ``page_images`` and LibreOffice installed, the
  file is also converted to PDF once per form and the row, found there by its label, cropped as for a PDF.

Nothing here raises into a report: every failure is an Evidence with a ``note`` saying why there is no image.
Places a person reads are 1-based ("第2页 表1 第8行"); the stored cells keep table/row/col 0-based, page 1-based.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from .checks import ERROR, WARNING
from .evidence_files import (
    NO_CELLS,
    SIDES,
    Evidence,
    add_note,
    add_strips,
    item_cells,
    item_table,
    original_files,
    table_of,
)
from .evidence_image import Box, image_files_to_pages, pdf_to_pages, union
from .form import Form, ItemResult
from .terminal import safe

__all__ = ["Evidence", "flagged_codes", "form_to_evidence", "row_to_html"]

log = logging.getLogger("selfeval.evidence")

IMAGE_KINDS = ("pdf", "pdf-scan", "image")
WORD_KINDS = ("docx", "doc")
NO_ROW = "表中无此行，无图 (the form has no row for this item)"


def flagged_codes(form: Form) -> list[str]:
    """Given a form, return the codes of the items with open (not accepted) errors or warnings, in form order."""
    codes: list[str] = []
    for d in form.discrepancies:
        if d.item and not d.accepted and d.severity in (ERROR, WARNING) and d.item not in codes:
            codes.append(d.item)
    return codes


def form_to_evidence(form_id: int, form: Form, items: list[str] | None = None, *,
                     page_images: bool = False) -> dict[str, Evidence]:
    """Given a stored form and item codes (default: the items with open errors or warnings), return each item's
    Evidence keyed by code; with page_images, Word forms also get a page image (LibreOffice, slow)."""
    codes = flagged_codes(form) if items is None else list(dict.fromkeys(items))
    by_code = {it.code: it for it in form.items}
    out: dict[str, Evidence] = {}
    wanted: list[ItemResult] = []
    for code in codes:
        it = by_code.get(code)
        if it is None:
            out[code] = Evidence(note=f"无此项目 {code} (no such item in the form)")
        elif not it.present:
            out[code] = Evidence(where="表中无此行 not in the form", note=NO_ROW)
        else:
            try:
                out[code] = item_to_text_evidence(form, it)
            except Exception as e:  # noqa: BLE001 - cells stored by another version: say so, keep the report
                log.debug("row of %s in form %s: %r", code, form_id, e)
                out[code] = Evidence(note=f"无法显示该行 (the row's stored cells cannot be shown: {safe(str(e))[:200]})")
            wanted.append(it)
    if not wanted:
        return out
    try:
        if form.kind in IMAGE_KINDS:
            _add_images(form, wanted, out)
        elif form.kind in WORD_KINDS and page_images:
            from .evidence_word import add_word_page_images

            add_word_page_images(form, wanted, out)
    except Exception as e:  # noqa: BLE001 - a picture is a help, never a reason for a report to fail
        log.debug("evidence for form %s: %r", form_id, e)
        for it in wanted:
            add_note(out[it.code], f"无法生成图片 (no image: {safe(str(e))[:200]})")
    return out


def item_to_text_evidence(form: Form, it: ItemResult) -> Evidence:
    """Given a form and one of its items with a row, return its Evidence without an image: where, and the row
    rendered from the stored cells (a note when no cells are stored)."""
    cells = item_cells(it)
    ev = Evidence(where=cell_to_where(cells.get("self") or cells.get("inspector") or it.provenance))
    row_cells = getattr(it, "row_cells", None) or []
    if row_cells:
        ev.row_html = row_to_html(table_of(form, item_table(it)), row_cells, cells)
    elif form.kind in WORD_KINDS:
        ev.note = NO_CELLS
    return ev


def cell_to_where(cell: dict[str, Any] | None) -> str:
    """Given a stored cell (0-based table/row, 1-based page), return its place as a person reads it, 1-based:
    "第2页 表1 第8行"."""
    if not cell:
        return ""
    parts = [f"第{cell['page']}页"] if cell.get("page") is not None else []
    if cell.get("ref"):  # a spreadsheet cell: its sheet and A1 address say more than a table number
        return " ".join([str(cell["ref"]), *parts])
    if isinstance(cell.get("table"), int):
        parts.append(f"表{cell['table'] + 1}")
    if isinstance(cell.get("row"), int):
        parts.append(f"第{cell['row'] + 1}行")
    return " ".join(parts)


# --- the row as HTML, from the stored cells ----------------------------------------------------------------------


def _same_cell(a: dict[str, Any], b: dict[str, Any] | None) -> bool:
    # Row cells are the item row's: its row and column name a cell (the table is the item's).
    return b is not None and a.get("row") == b.get("row") and a.get("col") == b.get("col")


def row_to_html(table: dict[str, Any] | None, row_cells: list[dict[str, Any]],
                score_cells: dict[str, dict[str, Any]]) -> str:
    """Given the table's description (header cells, column edges), the item row's cells and its score cells,
    return an HTML <table class="ev-row">: the header rows, then the row; every cell with its colspan, rowspans
    kept within the rows shown (the whole span in data-rowspan), the self cell classed ev-self and the inspector
    cell ev-inspector, positions no stored cell covers as ev-gap cells; all text escaped."""
    header = list((table or {}).get("header_cells") or [])
    item_row = max(c["row"] for c in row_cells)  # a cell spanning rows starts above the row; its own cells on it
    n_cols = (table or {}).get("n_cols") or max(c["col"] + c.get("colspan", 1) for c in row_cells + header)
    shown = sorted({r for c in header for r in range(c["row"], c["row"] + c.get("rowspan", 1)) if r < item_row})
    shown.append(item_row)
    taken: set[tuple[int, int]] = set()  # (shown row, column) positions a cell written above already covers
    lines = ['<table class="ev-row">', _colgroup(table, n_cols)]
    for r in shown:
        is_item = r == item_row
        starts = {c["col"]: c for c in (row_cells if is_item else header) if _starts_at(c, r, shown)}
        lines.append("<tr>" + _row_cells_html(starts, r, shown, n_cols, "td" if is_item else "th", score_cells,
                                              taken) + "</tr>")
    lines.append("</table>")
    return "".join(lines)


def _starts_at(cell: dict[str, Any], r: int, shown: list[int]) -> bool:
    """Whether a cell is written in shown row r: its own row, or the first shown row it covers."""
    covered = [x for x in shown if cell["row"] <= x < cell["row"] + cell.get("rowspan", 1)]
    return bool(covered) and covered[0] == r


def _row_cells_html(starts: dict[int, dict[str, Any]], r: int, shown: list[int], n_cols: int, tag: str,
                    score_cells: dict[str, dict[str, Any]], taken: set[tuple[int, int]]) -> str:
    out: list[str] = []
    col, gap = 0, 0
    while col < n_cols:
        c = starts.get(col)
        if c is None or (r, col) in taken:
            if (r, col) not in taken:
                gap += 1
            elif gap:
                out.append(_gap(tag, gap))
                gap = 0
            col += 1
            continue
        if gap:
            out.append(_gap(tag, gap))
            gap = 0
        span, width = c.get("rowspan", 1), max(1, c.get("colspan", 1))
        rows_here = [x for x in shown if r <= x < c["row"] + span]
        taken.update((x, k) for x in rows_here for k in range(col, col + width))
        out.append(_cell_html(c, tag, len(rows_here), score_cells))
        col += width
    if gap:
        out.append(_gap(tag, gap))
    return "".join(out)


def _gap(tag: str, n: int) -> str:
    span = f' colspan="{n}"' if n > 1 else ""
    return f'<{tag} class="ev-gap"{span}></{tag}>'


def _cell_html(c: dict[str, Any], tag: str, rows_here: int, score_cells: dict[str, dict[str, Any]]) -> str:
    span = c.get("rowspan", 1)
    attrs = [f'data-col="{c["col"] + 1}"']
    if c.get("colspan", 1) > 1:
        attrs.append(f'colspan="{c["colspan"]}"')
    if rows_here > 1:
        attrs.append(f'rowspan="{rows_here}"')
    if span > 1:
        attrs.append(f'data-rowspan="{span}" title="跨 {span} 行 (spans {span} rows)"')
    if c.get("role"):
        attrs.append(f'data-role="{html.escape(str(c["role"]), quote=True)}"')
    cls = [f"ev-{side}" for side in SIDES if _same_cell(c, score_cells.get(side))]
    if cls:
        attrs.append(f'class="{" ".join(cls)}"')
    return f"<{tag} {' '.join(attrs)}>{_cell_text(c.get('text'))}</{tag}>"


def _cell_text(text: Any) -> str:
    lines = ("" if text is None else str(text)).replace("\r\n", "\n").split("\n")
    return "<br>".join(html.escape(safe(line), quote=True) for line in lines)


def _colgroup(table: dict[str, Any] | None, n_cols: int) -> str:
    edges = (table or {}).get("col_x")
    if not edges or len(edges) != n_cols + 1 or edges[-1] <= edges[0]:
        return ""
    total = edges[-1] - edges[0]
    return "<colgroup>" + "".join(f'<col style="width:{(b - a) / total * 100:.1f}%">'
                                  for a, b in zip(edges, edges[1:], strict=False)) + "</colgroup>"


# --- the original file, and images cropped from it --------------------------------------------------------------


def _add_images(form: Form, items: list[ItemResult], out: dict[str, Evidence]) -> None:
    """Given a PDF or scanned form and its flagged items, add each row's image (or a note) to out."""
    plans = {it.code: row_plan(form, it) for it in items}
    for it in items:
        if plans[it.code] is None:
            add_note(out[it.code], "该行没有页面位置，无图 (the row has no place on a page)")
    pages = {p[0] for p in plans.values() if p}
    if not pages:
        return
    with original_files(form) as (paths, why):
        if paths is None:
            for it in items:
                if plans[it.code]:
                    add_note(out[it.code], why or "")
            return
        # A scanned page the OCR turned upright (Cell.rotation) is turned the same way, so its boxes fit.
        turns = {c["page"]: c["rotation"] for it in items for c in (it.self_cell, it.inspector_cell, *(it.row_cells or []))
                 if c and c.get("rotation") and c.get("page")}
        if form.kind == "image":  # one image file, or the photos of one form read together (pages_group)
            rendered = image_files_to_pages(paths, pages, turns)
        else:
            rendered = pdf_to_pages(paths[0], pages, deskew=form.kind == "pdf-scan", turns=turns)
    add_strips(rendered, plans, out)


def row_plan(form: Form, it: ItemResult) -> tuple[int, Box, dict[str, Box]] | None:
    """Given a form and an item with a row, return where to crop: (1-based page, the row's band in points, the
    score cells' boxes by side on that page); None when the row has no box on a page. The band is the union of
    the row's cells on the page (the score cells' without them), as wide as the table when its columns are known,
    else as wide as the page."""
    cells = item_cells(it)
    anchor = cells.get("self") or cells.get("inspector")
    row_cells = getattr(it, "row_cells", None) or []
    page = (anchor or {}).get("page") or next((c.get("page") for c in row_cells if c.get("bbox")), None)
    if page is None:
        return None
    on_page = [c for c in row_cells if c.get("page") == page and c.get("bbox")]
    boxes = {side: tuple(c["bbox"]) for side, c in cells.items() if c.get("bbox") and c.get("page") == page}
    # The band's height is the row's own cells' (a category cell spanning 18 rows would make it a page); its width
    # every cell's, spanning ones included.
    own = [c["bbox"] for c in on_page if c.get("rowspan", 1) == 1] + list(boxes.values())
    tall = union(own) or union([c["bbox"] for c in on_page])
    wide = union([c["bbox"] for c in on_page] + list(boxes.values()))
    if tall is None or wide is None:
        return None
    band = (wide[0], tall[1], wide[2], tall[3])
    edges = (table_of(form, item_table(it)) or {}).get("col_x")
    if edges:
        band = (min(band[0], edges[0]), band[1], max(band[2], edges[-1]), band[3])
    elif not on_page:
        band = (0.0, band[1], 1e6, band[3])  # only the score cells are known: the page's width shows the label
    return page, band, boxes


