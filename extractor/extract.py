"""The pipeline for one file: parse -> layout -> rubric choice and matching -> scores -> checks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from rubric import Rubric

from . import layout as L
from .checks import apply_checks
from .form import FAILED, ExtraRow, Finding, Form, ItemResult, PrintedTotal
from .header import document_to_header
from .matching.assign import Assignment, RowText, rows_to_assignment
from .matching.score import label_similarity
from .matching.segment import normalize_label
from .model import Cell, Document
from .parsers import ParseError, path_to_sheets
from .scores import clean_text, parse_number
from .values import row_to_side_value

if TYPE_CHECKING:
    from .parsers.xlsx import Sheet

# A form whose rows fit no rubric better than this (0-100) is refused, not forced.
DEFAULT_MIN_RUBRIC_SCORE = 45.0


class NotAForm(Exception):
    """The file was read but holds no self-evaluation table of a known rubric."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def path_to_form(path: Path, rubrics: dict[str, Rubric], source: str | None = None,
                 rubric_id: str | None = None, sha256: str | None = None) -> Form:
    """Given a file and the known rubrics, return its Form (a workbook's first; path_to_forms gives them all);
    a file that cannot be read is a failed Form."""
    return path_to_forms(path, rubrics, source, rubric_id, sha256)[0]


def path_to_forms(path: Path, rubrics: dict[str, Rubric], source: str | None = None,
                  rubric_id: str | None = None, sha256: str | None = None) -> list[Form]:
    """Given a file and the known rubrics, return its Forms: one, or one per worksheet of a workbook that holds
    a form (then each named source!sheet, all with the file's sha256); a file that cannot be read, or a workbook
    none of whose sheets is a form, is one failed Form."""
    source, sha = source or str(path), sha256 or file_sha256(path)
    form = Form(source=source, sha256=sha)
    try:
        sheets = path_to_sheets(path)
        form.kind = sheets[0].document.kind if sheets else None
        if len(sheets) == 1 and sheets[0].name is None:
            return [document_to_form(sheets[0].document, rubrics, form, rubric_id)]
        return sheets_to_forms(sheets, rubrics, form, rubric_id)
    except (ParseError, NotAForm) as e:
        form.status, form.error = FAILED, str(e)
    return [form]


def sheets_to_forms(sheets: list[Sheet], rubrics: dict[str, Rubric], blank: Form,
                    rubric_id: str | None = None) -> list[Form]:
    """Given a workbook's sheets and a blank Form (source, sha256), return the Form of every sheet that holds one,
    in sheet order; one alone keeps the workbook's source, several are named source!sheet. Hidden sheets count
    only when no visible sheet is a form (a template kept hidden is no second form). Raise NotAForm listing
    why each sheet is none."""
    why: list[str] = []
    for hidden in (False, True):
        forms = []
        for sheet in (s for s in sheets if s.hidden == hidden):
            form = Form(source=blank.source, sha256=blank.sha256, kind=sheet.document.kind)
            try:
                forms.append((sheet.name, document_to_form(sheet.document, rubrics, form, rubric_id)))
            except NotAForm as e:
                why.append(f"{sheet.name}: {str(e).split(' (')[0].split(':')[0]}")
        if forms:
            if len(forms) > 1:
                for name, f in forms:
                    f.source = f"{blank.source}!{name}"
            return [f for _, f in forms]
    if not sheets:
        raise NotAForm("the workbook has no worksheet: not a form")
    shown = "; ".join(why[:4]) + (f"; {len(why) - 4} more" if len(why) > 4 else "")
    raise NotAForm(f"no sheet holds a self-evaluation form ({shown})")


def document_to_form(doc: Document, rubrics: dict[str, Rubric], form: Form, rubric_id: str | None = None) -> Form:
    """Given a parsed Document, fill form with its header, items, totals and discrepancies."""
    layouts: dict[tuple, L.Layout] = {}
    said: dict[tuple, L.Layout] = {}
    words: list[frozenset[str]] = []

    def layout_for(r: Rubric) -> L.Layout:
        # Rubrics may name columns with their own words ([layout]) and judgments: read the form their way. A
        # judgment counts only where a cell says it (see document_to_cell_words), so rubrics whose judgments
        # differ only in words no cell says read the form alike: it is laid out once for them.
        key = (r.vocabulary, r.judgments)
        if key not in layouts:
            if not words:
                words.append(L.document_to_cell_words(doc))
            effective = (r.vocabulary, L.options_in(r.judgments, words[0]))
            if effective not in said:
                said[effective] = L.document_to_layout(doc, r.vocabulary, r.judgments)
            layouts[key] = said[effective]
        return layouts[key]

    rubric, assignment, layout = choose_rubric(layout_for, rubrics, rubric_id)
    rows = layout.items
    form.rubric, form.rubric_score = rubric.id, round(_rubric_fit(assignment, len(rows), rubric), 1)
    header = document_to_header(doc)
    form.institution, form.fill_date = header.institution, header.fill_date
    form.header = {"batches": header.batches, "certified_total": header.certified_total,
                   "certified_passed": header.certified_passed}
    form.has_inspector = layout.has_inspector
    form.findings = list(layout.findings)
    rows_to_items(rows, assignment, rubric, form)
    form.tables = layout_to_tables(layout)
    form.printed = layout_to_printed(layout, rubric)
    form.findings += uncached_totals(layout)
    return apply_checks(form)


def _rubric_fit(a: Assignment, n_rows: int, rubric: Rubric) -> float:
    """How well a rubric fits: matched score mass over the larger of rows and items (0-100)."""
    mass = sum(a.score_for_row[r] for r in a.item_for_row)
    return mass / max(n_rows, len(rubric.items), 1)


def fit_bound(n_rows: int, rubric: Rubric) -> float:
    """Given a form's item row count and a rubric, return the most _rubric_fit can be: every row matched (one
    to one, so at most the fewer of rows and items) with score 100."""
    return 100.0 * min(n_rows, len(rubric.items)) / max(n_rows, len(rubric.items), 1)


def _texts(rows: list[L.Row]) -> list[RowText]:
    return [RowText(r.label, r.category, r.section) for r in rows]


def choose_rubric(layout_for, rubrics: dict[str, Rubric],
                  rubric_id: str | None = None) -> tuple[Rubric, Assignment, L.Layout]:
    """Given a function giving the form's Layout as read for a rubric, return the best-fitting rubric, its
    assignment and layout (or the forced rubric's); raise NotAForm when none fits."""
    if rubric_id is not None:
        if rubric_id not in rubrics:
            raise NotAForm(f"unknown rubric {rubric_id!r}: see `selfeval rubric list`")
        r = rubrics[rubric_id]
        layout = layout_for(r)
        if not layout.items:
            raise NotAForm(_NO_TABLE)
        return r, rows_to_assignment(_texts(layout.items), r), layout
    # A rubric's fit is at most fit_bound (every row matched 100 sure); one that cannot beat a fit already found is
    # not matched at all (most of a form's matching time: a Qinghai form's 67 rows cannot fit the 33 national items
    # better than 49). Best bounds first, so the likely rubric is matched first; the choice is the same.
    candidates = []
    for r in rubrics.values():
        layout = layout_for(r)
        if layout.items:
            candidates.append((fit_bound(len(layout.items), r), r, layout))
    candidates.sort(key=lambda c: (-c[0], c[1].id))
    scored = []
    for bound, r, layout in candidates:
        if scored and bound < scored[0][0]:
            continue
        a = rows_to_assignment(_texts(layout.items), r)
        scored.append((_rubric_fit(a, len(layout.items), r), r.id, r, a, layout))
        scored.sort(key=lambda s: (-s[0], s[1]))
    if not scored:
        raise NotAForm(_NO_TABLE)
    fit, rid, best, assignment, layout = scored[0]  # kept sorted best first
    if fit < DEFAULT_MIN_RUBRIC_SCORE:
        raise NotAForm(f"no known rubric matches this form (best: {rid}, score {fit:.0f} of 100, "
                       f"needs {DEFAULT_MIN_RUBRIC_SCORE:.0f})")
    return best, assignment, layout


_NO_TABLE = "no self-evaluation table found (no table with a 自评 column and item rows): not a form"


def provenance(row: L.Row, cell: Cell | None) -> dict:
    """Given a row and the cell that stands for it, return the row's provenance: table and row (0-based), and the
    cell's column, page, bbox, confidence and spreadsheet keys."""
    out: dict = {"table": row.table, "row": row.row}
    if cell is not None:
        where = cell_to_dict(cell)
        out["col"] = cell.col
        out.update({k: where[k] for k in ("page", "bbox", "confidence", "ref", "hidden", "number_format") if k in where})
    elif row.label_cell is not None and row.label_cell.page is not None:
        out["page"] = row.label_cell.page
    return out


def cell_to_dict(cell: Cell, role: str | None = None) -> dict:
    """Given a cell (and the column role it took), return its stored location: 0-based table grid position and
    spans, 1-based page, bbox in points, OCR confidence, text; keys without a value are left out."""
    out: dict = {"row": cell.row, "col": cell.col}
    if cell.rowspan != 1:
        out["rowspan"] = cell.rowspan
    if cell.colspan != 1:
        out["colspan"] = cell.colspan
    if cell.page is not None:
        out["page"] = cell.page
    if cell.bbox is not None:
        out["bbox"] = [round(x, 1) for x in cell.bbox]
    if cell.confidence is not None:
        out["confidence"] = round(cell.confidence, 3)
    if cell.rotation:
        out["rotation"] = cell.rotation  # a scanned page the OCR turned upright: bbox is on the turned page
    if cell.rectified:
        out["rectified"] = cell.rectified  # a photographed page: bbox is on the page as straightened
    if cell.ref is not None or cell.hidden or cell.number_format is not None:
        out.update(_sheet_keys(cell))  # a spreadsheet's cell (Word, PDF and OCR cells have none of these)
    out["text"] = cell.text
    if role:
        out["role"] = role
    return out


def _sheet_keys(cell: Cell) -> dict:
    """A spreadsheet cell's A1 address ("自评表!F12"), hidden mark and number format, where it has them."""
    if cell.ref is None and not cell.hidden and cell.number_format is None:
        return {}  # no spreadsheet cell (Word, PDF, OCR): nothing to add
    keys = {"ref": cell.ref, "hidden": cell.hidden or None, "number_format": cell.number_format}
    return {k: v for k, v in keys.items() if v is not None}


def side_cell(row: L.Row, cell: Cell | None) -> dict | None:
    """Given an item row and the cell one side's value was read from, return that cell's location with its table."""
    return None if cell is None else {"table": row.table, **cell_to_dict(cell)}


def layout_to_tables(layout: L.Layout) -> list[dict]:
    """Given the layout, return each score table's shape and header cells, so a row can be drawn as printed."""
    out = []
    for table, header_from, cols in layout.tables:
        own = header_from == table.index
        header = [cell_to_dict(c) for c in table.cells
                  if c.row < cols.header_rows and c.row + c.rowspan > cols.header_start] if own else []
        out.append({"table": table.index, "n_rows": table.n_rows, "n_cols": table.n_cols,
                    "col_x": [round(x, 1) for x in table.col_x] if table.col_x else None, "page": table.page,
                    "header_start": cols.header_start if own else 0, "header_rows": cols.header_rows if own else 0,
                    "header_cells": header,
                    "header_from": header_from})
    return out


def rows_to_items(rows: list[L.Row], a: Assignment, rubric: Rubric, form: Form) -> None:
    """Given the item rows, their assignment and the rubric, set form.items (rubric order) and extra rows."""
    cats = {c.code: c.name for c in rubric.categories}
    row_for_item = {i: r for r, i in a.item_for_row.items()}
    for idx, item in enumerate(rubric.items):
        res = ItemResult(code=item.code, category=cats[item.category], label=item.label, max=item.max,
                         scoring=item.scoring, max_source="rubric" if item.max is not None else None,
                         group_max=rubric.groups.get(item.group) if item.group else None)
        r = row_for_item.get(idx)
        if r is not None:
            row = rows[r]
            res.raw_label = row.label
            res.match_score = round(a.score_for_row[r], 1)
            res.printed_max = clean_text(row.max_text) or None
            if item.max is None and res.printed_max:
                # The rubric gives no points: the form's printed 分值 is the item's max.
                printed = parse_number(res.printed_max)
                if printed is not None and (row.max_cell is None or row.max_cell.rowspan == 1):
                    res.max, res.max_source = printed, "form"
            judgments = rubric.judgments if item.scoring != "points" else ()
            own = row_to_side_value(row, "self", res.max, judgments, rubric.judgment_aliases, item.code)
            insp = row_to_side_value(row, "inspector", res.max, judgments, rubric.judgment_aliases, item.code)
            sides = {"self": own, "inspector": insp}
            res.self, res.self_raw, res.self_kind, res.self_note = own.value, own.raw, own.kind, own.note
            res.inspector, res.inspector_raw, res.inspector_kind, res.inspector_note = (
                insp.value, insp.raw, insp.kind, insp.note)
            res.findings += own.findings
            res.findings += insp.findings
            if own.kind is None:
                res.self_raw, res.self_kind = "", "blank"  # no self cell on this row: a blank self score
            res.findings += [Finding(f.kind, f"{item.code} {f.message}", f.side) for f in row.findings]
            res.provenance = provenance(row, own.cell or insp.cell or row.label_cell)
            res.self_cell = side_cell(row, own.cell)
            res.inspector_cell = side_cell(row, insp.cell)
            res.row_cells = [cell_to_dict(c, role) for c, role in row.cells]
            # An OCR'd item is as trustworthy as its least certain score cell.
            confidences = {side: v.cell.confidence for side, v in sides.items()
                           if v.cell is not None and v.cell.confidence is not None}
            if confidences:
                res.provenance["confidence"] = min(confidences.values())
                res.provenance.update({f"{side}_confidence": c for side, c in confidences.items()})
        form.items.append(res)
    for r in sorted(set(a.duplicates) | set(a.unmatched)):
        row = rows[r]
        dup = a.duplicates.get(r)
        form.extra_rows.append(ExtraRow(
            kind="duplicate" if dup is not None else "unmatched", text=row.label.strip(),
            self_raw=row.self_text, inspector_raw=row.inspector_text, match_score=round(a.score_for_row[r], 1),
            item=rubric.items[dup].code if dup is not None else None, provenance=provenance(row, row.label_cell)))


def layout_to_printed(layout: L.Layout, rubric: Rubric) -> list[PrintedTotal]:
    """Given the layout, return the printed totals rows (first of each kind; every 小计)."""
    out: list[PrintedTotal] = []
    for row in layout.rows:
        if row.kind not in (L.TOTAL, L.BONUS, L.PENALTY, L.GRAND, L.SUBTOTAL):
            continue
        if row.kind != L.SUBTOTAL and any(p.kind == row.kind for p in out):
            continue
        pt = PrintedTotal(kind=row.kind, self=parse_number(row.self_text), inspector=parse_number(row.inspector_text),
                          self_raw=row.self_text,
                          inspector_raw=row.inspector_text, provenance=provenance(row, row.self_cell))
        if row.kind == L.SUBTOTAL:
            pt.category = _category_name(row.category, rubric)
        out.append(pt)
    return out


def uncached_totals(layout: L.Layout) -> list[Finding]:
    """Given the layout, return a form-level finding for each printed total whose spreadsheet formula has no saved
    value: it reads blank, and no arithmetic check would look at it."""
    out = []
    names = {L.TOTAL: "总分", L.BONUS: "加分", L.PENALTY: "减分", L.GRAND: "合计", L.SUBTOTAL: "小计"}
    for row in layout.rows:
        if row.kind in names:
            for side, name, cell in (("self", "自评", row.self_cell), ("inspector", "督查", row.inspector_cell)):
                if cell is not None and cell.doubt_kind == "formula_uncached":
                    out.append(Finding("formula_uncached", f"{names[row.kind]}{name} {cell.ref or ''}：{cell.doubt}",
                                       side))
    return out


def _category_name(text: str, rubric: Rubric) -> str | None:
    t = normalize_label(text)
    if not t:
        return None
    best = max(rubric.categories, key=lambda c: label_similarity(t, normalize_label(c.name)))
    return best.name if label_similarity(t, normalize_label(best.name)) >= 60 else None

