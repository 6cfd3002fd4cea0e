"""Export: stored forms -> the JSON contract (one object per ingested file) or CSV (one row per item)."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

import sqlite_utils

from .form import Discrepancy, Form
from .scores import to_json_number
from .store import form_ids, load_form

CSV_COLUMNS = ["form_id", "source", "status", "rubric", "institution", "fill_date", "code", "category", "label",
               "max", "self", "inspector", "self_raw", "inspector_raw", "raw_label", "match_score", "corrected",
               # Columns added later, always at the end:
               "self_note", "inspector_note"]


# A spreadsheet takes a cell starting with one of these for a formula (= + - @; Excel runs +cmd|' /C calc'!A0 as
# DDE), and TAB or CR at the start are how CSV injection hides the sign behind a blank look.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_formula_like(text: str) -> bool:
    """Given a cell's text, return whether a spreadsheet would act on it: it starts with = + - @ TAB or CR and is no
    plain number (-1 and +2.5 are numbers, =1+1 and -1+cmd are not)."""
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text)


def spreadsheet_text(value: Any) -> Any:
    """Given a cell value, return it neutralised for a spreadsheet: formula-like text gets a leading apostrophe
    (Excel's own mark for "this is text"); numbers and other text unchanged."""
    return "'" + value if isinstance(value, str) and is_formula_like(value) else value


def _n(v):
    return to_json_number(v) if isinstance(v, Decimal) else v


def form_to_totals(form: Form) -> dict:
    """Given a Form, return its totals: printed (self, inspector, bonus, penalty, grand) and computed sums."""
    out: dict = {}
    for side in ("self", "inspector"):
        nums = [getattr(i, side) for i in form.items if isinstance(getattr(i, side), Decimal)]
        prefix = "" if side == "self" else "inspector_"
        for kind in ("total", "bonus", "penalty", "grand"):
            p = form.printed_total(kind)
            key = side if kind == "total" else f"{prefix}{kind}"
            out[key] = _n(getattr(p, side)) if p else None
        out[f"{side}_computed"] = _n(sum(nums, Decimal(0))) if nums else None
    return out


def discrepancy_to_json(d: Discrepancy) -> dict:
    """Given a discrepancy, return its export object: the first contract's fields, then the structured ones
    (side, row, total, category) so that no reader needs to parse the message."""
    return {"item": d.item, "kind": d.kind, "severity": d.severity, "message": d.message, "accepted": bool(d.accepted),
            "side": d.side, "row": d.row, "total": d.total, "category": d.category}


def form_to_json(form: Form, form_id: int | None = None, superseded_by: int | None = None) -> dict:
    """Given a Form, return its JSON export object (the documented contract; fields are only ever added)."""
    items = []
    for it in form.items:
        items.append({
            "code": it.code, "category": it.category, "label": it.label, "max": _n(it.max),
            "self": _n(it.self), "inspector": _n(it.inspector), "self_raw": it.self_raw,
            "inspector_raw": it.inspector_raw, "raw_label": it.raw_label, "match_score": it.match_score,
            "max_source": it.max_source, "corrected": bool({"self", "inspector"} & set(it.corrected)),
            "extracted": {f: _n(it.corrected[f]) for f in ("self", "inspector") if f in it.corrected} or None,
            "provenance": it.provenance,
            # Fields added later: always after the ones above.
            "self_note": it.self_note, "inspector_note": it.inspector_note,
            "self_cell": it.self_cell, "inspector_cell": it.inspector_cell,
        })
    return {
        "source": form.source, "sha256": form.sha256, "status": form.status, "error": form.error,
        "rubric": form.rubric, "institution": form.institution,
        "fill_date": form.fill_date, "header": dict(form.header) if form.header else
        {"batches": None, "certified_total": None, "certified_passed": None},
        "items": items, "totals": form_to_totals(form) if form.items else {},
        "discrepancies": [discrepancy_to_json(d) for d in form.discrepancies],
        # Fields added after the first contract: always at the end.
        "id": form_id, "rubric_score": form.rubric_score, "superseded_by": superseded_by, "format": form.kind,
        "path": form.path,
    }


def db_to_json(db: sqlite_utils.Database, include_superseded: bool = False, source: str | None = None) -> list[dict]:
    """Given the store, return the export list in ingest order."""
    out = []
    for fid in form_ids(db, include_superseded, source):
        sup = db.execute("SELECT superseded_by FROM forms WHERE id = ?", [fid]).fetchone()[0]
        out.append(form_to_json(load_form(db, fid), fid, sup))
    return out


def json_to_csv(records: list[dict]) -> str:
    """Given export records, return CSV text: one row per item per form (a failed form: one row); every text cell
    a spreadsheet would run as a formula is neutralised (see spreadsheet_text)."""
    buf = io.StringIO()
    # CRLF, as RFC 4180 and Excel write it: with it, Python's csv quotes a cell holding a lone CR, which Excel would
    # otherwise take for the end of the row.
    w = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for rec in records:
        base = {k: rec.get(k) for k in ("source", "status", "rubric", "institution", "fill_date")}
        base["form_id"] = rec.get("id")
        rows = [{**base, **{k: it.get(k) for k in CSV_COLUMNS if k in it}} for it in rec["items"]] or [base]
        for row in rows:
            w.writerow({k: spreadsheet_text(v) for k, v in row.items()})
    return buf.getvalue()


def records_to_bytes(records: list[dict], fmt: str) -> bytes:
    """Given export records and a format (json or csv), return the bytes to write, file or stdout alike: UTF-8
    whatever the console's code page, and CSV with a BOM (utf-8-sig) so that Excel on a Chinese Windows reads it
    as UTF-8 instead of GBK."""
    if fmt == "csv":
        return json_to_csv(records).encode("utf-8-sig")
    return (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
