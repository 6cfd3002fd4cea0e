"""Export: stored forms -> the JSON contract (one object per ingested file) or CSV (one row per item).

Streamed: the forms are read in batches (store_batch) and each record is written as soon as it is made (the JSON
list opened, each object written as json.dumps(records, ensure_ascii=False, indent=2) would write it, then closed;
CSV row by row), so an export of 10,000 forms holds one batch, not the whole database, and its bytes are the same
as when the whole list was made first.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import sqlite_utils

from .export_json import value_to_json
from .form import Discrepancy, Form
from .scores import to_json_number
from .store import form_ids
from .store_batch import ids_to_forms

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


def db_to_records(db: sqlite_utils.Database, include_superseded: bool = False,
                  source: str | None = None) -> Iterator[dict]:
    """Given the store, yield the export records in ingest order, the forms read batch by batch (without the cells
    kept for evidence, which the contract does not carry)."""
    for fid, form, superseded_by in ids_to_forms(db, form_ids(db, include_superseded, source), cells=False):
        yield form_to_json(form, fid, superseded_by)


def db_to_json(db: sqlite_utils.Database, include_superseded: bool = False, source: str | None = None) -> list[dict]:
    """Given the store, return the export list in ingest order."""
    return list(db_to_records(db, include_superseded, source))


def records_to_json_chunks(records: Iterable[dict]) -> Iterator[str]:
    """Given export records, yield the text of json.dumps(records, ensure_ascii=False, indent=2) + newline, one
    record at a time."""
    first = True
    for rec in records:
        yield ("[\n  " if first else ",\n  ") + value_to_json(rec, "  ")
        first = False
    yield "[]\n" if first else "\n]\n"


def records_to_csv_chunks(records: Iterable[dict]) -> Iterator[str]:
    """Given export records, yield CSV text: the header, then one row per item per form (a failed form: one row),
    a form's rows at a time; every text cell a spreadsheet would run as a formula is neutralised (see
    spreadsheet_text)."""
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
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()  # the header alone when there is no record


def json_to_csv(records: Iterable[dict]) -> str:
    """Given export records, return CSV text: one row per item per form (a failed form: one row); every text cell
    a spreadsheet would run as a formula is neutralised (see spreadsheet_text)."""
    return "".join(records_to_csv_chunks(records))


def records_to_chunks(records: Iterable[dict], fmt: str) -> Iterator[bytes]:
    """Given export records and a format (json or csv), yield the bytes to write, file or stdout alike: UTF-8
    whatever the console's code page, and CSV with a BOM (as utf-8-sig writes it) so that Excel on a Chinese
    Windows reads it as UTF-8 instead of GBK."""
    if fmt == "csv":
        yield "\ufeff".encode()
        chunks = records_to_csv_chunks(records)
    else:
        chunks = records_to_json_chunks(records)
    for text in chunks:
        if text:
            yield text.encode("utf-8")


def records_to_bytes(records: Iterable[dict], fmt: str) -> bytes:
    """Given export records and a format (json or csv), return the bytes to write (see records_to_chunks)."""
    return b"".join(records_to_chunks(records, fmt))


class Counted:
    """An iterable of records that counts what went through it (the CLI says how many forms it wrote)."""

    def __init__(self, records: Iterable[dict]) -> None:
        self.records, self.n = records, 0

    def __iter__(self) -> Iterator[dict]:
        for rec in self.records:
            self.n += 1
            yield rec


def records_to_stream(records: Iterable[dict], fmt: str, out: BinaryIO) -> int:
    """Given export records, a format and a binary stream, write them as they are made; return how many."""
    counted = Counted(records)
    for chunk in records_to_chunks(counted, fmt):
        out.write(chunk)
    return counted.n


def records_to_file(records: Iterable[dict], fmt: str, path: str | os.PathLike) -> int:
    """Given export records, a format and a path, write them (see chunks_to_file); return how many."""
    counted = Counted(records)
    chunks_to_file(records_to_chunks(counted, fmt), path)
    return counted.n


def chunks_to_file(chunks: Iterable[bytes], path: str | os.PathLike) -> None:
    """Given bytes as they are made and a path, write them to a temporary file beside it, renamed to path when
    complete (a failure midway leaves no half file, and an existing file as it was)."""
    target = Path(path)
    # Written in place before, a folder or a read-only file refused the output: the rename must not replace it.
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    if target.exists() and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        mask = os.umask(0)  # mkstemp makes the file private; the output gets the mode a new file gets
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
