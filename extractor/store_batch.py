"""Stored forms read in batches: ids -> (id, Form, superseded_by), one query per table per batch.

`store.load_form` reads one form with a query per table (and its corrections); over 10,000 forms an export or a
report spent most of its time there. Here a batch of ids costs one query on forms, items and discrepancies each,
and one on corrections to find the few forms a reviewer touched (those get `apply_corrections`, the same code
`load_form` runs). Rows become objects with store_rows' converters, the ones `load_form` uses, so the Forms are
the ones `load_form(db, id)` returns (tests/test_export_stream.py compares them on a real database); with cells=False the items' row_cells and the forms' tables, kept only for evidence and
kilobytes of JSON each, are neither read nor parsed (None and [] instead); with cells=FLAGGED_CELLS only the rows of
items a discrepancy names are parsed (the HTML report's evidence cards show no other).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlite_utils

from .form import Form, ItemResult
from .store_rows import json_text_to_value, row_to_discrepancy, row_to_form, row_to_item

BATCH = 200  # forms per batch: a few MB of rows at a time, and few enough ids for one IN (...) list
EVIDENCE_ONLY = {"items": ("row_cells",), "forms": ("tables",)}
FLAGGED_CELLS = "flagged"  # cells=FLAGGED_CELLS: only the rows an evidence card may show (see batch_to_forms)
def _rows(
    db: sqlite_utils.Database, table: str, key: str, ids: Sequence[int], order: str, cells: bool
) -> list[dict[str, Any]]:
    """Given a table, its key column and ids, return its rows for those ids as dicts, in order; without cells, the
    evidence-only columns are not read. A column an older schema lacks is simply absent (read as None)."""
    names = [c.name for c in db[table].columns]
    if not cells:
        names = [n for n in names if n not in EVIDENCE_ONLY.get(table, ())]
    cols = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
    cur = db.execute(
        f"SELECT {cols} FROM {table} WHERE {key} IN ({','.join('?' * len(ids))}) ORDER BY {order}", list(ids)
    )
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _corrected_ids(db: sqlite_utils.Database, ids: Sequence[int]) -> set[int]:
    if "corrections" not in db.table_names():
        return set()
    marks = ",".join("?" * len(ids))
    return {
        r[0]
        for r in db.execute(
            f"SELECT DISTINCT form_id FROM corrections WHERE form_id IN ({marks})", list(ids)
        ).fetchall()
    }


def batch_to_forms(
    db: sqlite_utils.Database, ids: Sequence[int], effective: bool = True, cells: bool | str = True
) -> list[tuple[int, Form, int | None]]:
    """Given the store, a batch of form ids and which cells to read (True: all; False: none, no row_cells and no
    tables; FLAGGED_CELLS: the row_cells of the items a stored discrepancy names, every item's in a form a reviewer
    touched, since re-checking may flag others), return (id, Form, superseded_by) for each, in the ids' order: the
    Forms `load_form(db, id, effective)` returns, but for the row_cells not read."""
    if not ids:
        return []
    forms: dict[int, tuple[Form, int | None]] = {}
    for f in _rows(db, "forms", "id", ids, "id", bool(cells)):
        forms[f["id"]] = (row_to_form(f), f["superseded_by"])
    missing = [fid for fid in ids if fid not in forms]
    if missing:
        raise KeyError(f"no form with id {missing[0]}")  # as load_form: an id that names no form is an error
    corrected = _corrected_ids(db, ids) if effective or cells == FLAGGED_CELLS else set()
    named: dict[int, set[str]] = {}  # per form, the items its stored discrepancies name
    for d in _rows(db, "discrepancies", "form_id", ids, "form_id, id", bool(cells)):
        forms[d["form_id"]][0].discrepancies.append(row_to_discrepancy(d))
        named.setdefault(d["form_id"], set()).add(d["item"])
    # FLAGGED_CELLS: the row_cells (most of an item's bytes) are read afterwards for the rows a card may show.
    wanted: list[tuple[int, ItemResult]] = []
    for r in _rows(db, "items", "form_id", ids, "form_id, position", cells is True):
        fid = r["form_id"]
        it = row_to_item(r)
        forms[fid][0].items.append(it)
        if cells == FLAGGED_CELLS and (fid in corrected or it.code in named.get(fid, ())):
            wanted.append((r["id"], it))
    for n in range(0, len(wanted), 500):
        part = dict(wanted[n : n + 500])
        marks = ",".join("?" * len(part))
        for item_id, text in db.execute(f"SELECT id, row_cells FROM items WHERE id IN ({marks})", list(part)):
            part[item_id].row_cells = json_text_to_value(text)
    if effective:
        from .corrections import apply_corrections  # as in load_form: the reviewers' changes, their own module

        for fid in sorted(corrected):
            apply_corrections(db, fid, forms[fid][0])
    return [(fid, *forms[fid]) for fid in ids]


def ids_to_forms(
    db: sqlite_utils.Database, ids: Iterable[int], effective: bool = True, cells: bool = True, batch: int = BATCH
) -> Iterator[tuple[int, Form, int | None]]:
    """Given the store and form ids, yield (id, Form, superseded_by) in the ids' order, read batch by batch: at
    most one batch of forms is held here at a time."""
    chunk: list[int] = []
    for fid in ids:
        chunk.append(fid)
        if len(chunk) == batch:
            yield from batch_to_forms(db, chunk, effective, cells)
            chunk = []
    yield from batch_to_forms(db, chunk, effective, cells)
