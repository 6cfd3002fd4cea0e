"""SQLite store (sqlite-utils): forms, items, discrepancies and corrections.

One transaction per form. Values extracted from a file are never overwritten: a
reviewer's correction is a row in ``corrections``, applied when a Form is loaded.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from .form import Discrepancy, ExtraRow, Finding, Form, ItemResult, PrintedTotal

DEFAULT_DB = "selfeval.db"
DEFAULT_BUSY_TIMEOUT_MS = 30_000

FORMS_COLUMNS = {
    "id": int, "source": str, "sha256": str, "status": str, "error": str, "rubric": str, "rubric_score": float,
    "institution": str, "fill_date": str, "batches": int, "certified_total": int, "certified_passed": int,
    "has_inspector": int, "kind": str, "ingested_at": str, "superseded_by": int, "printed": str, "extra_rows": str,
    "findings": str,  # JSON list of {kind, message, side}: form-level doubts raised while reading
}
ITEMS_COLUMNS = {
    "id": int, "form_id": int, "position": int, "code": str, "category": str, "label": str, "max": float,
    "max_source": str, "printed_max": str, "group_max": float, "scoring": str, "self": float, "inspector": float,
    "self_raw": str, "inspector_raw": str, "self_kind": str, "inspector_kind": str, "raw_label": str,
    "match_score": float, "table_no": int, "row_no": int, "col_no": int, "page": int, "bbox": str,
    "confidence": float, "self_note": str, "inspector_note": str,
    "findings": str,  # JSON list of {kind, message, side}
}
DISCREPANCY_COLUMNS = {"id": int, "form_id": int, "item": str, "kind": str, "severity": str, "message": str,
                       "accepted": int, "side": str,
                       "row": str,  # JSON: provenance of the row it is about
                       "total": str, "category": str}
CORRECTION_COLUMNS = {"id": int, "form_id": int, "item": str, "action": str, "field": str, "value": str,
                      "previous": str, "kind": str, "who": str, "at": str, "why": str}


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Given a database path, return it opened (WAL, foreign keys, busy timeout) with the schema in place."""
    conn = sqlite3.connect(str(path), timeout=DEFAULT_BUSY_TIMEOUT_MS / 1000)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    try:
        db.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError:
        pass  # another writer holds it; WAL is already set by then
    ensure_schema(db)
    return db


TABLE_COLUMNS = {"forms": FORMS_COLUMNS, "items": ITEMS_COLUMNS, "discrepancies": DISCREPANCY_COLUMNS,
                 "corrections": CORRECTION_COLUMNS}


def _missing_columns(db: sqlite_utils.Database) -> dict[str, dict[str, type]]:
    """Given the store, return per existing table the columns this version writes that it lacks."""
    out = {}
    for table, columns in TABLE_COLUMNS.items():
        have = {c.name for c in db[table].columns}
        if have and set(columns) - have:
            out[table] = {k: t for k, t in columns.items() if k not in have}
    return out


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the tables and indexes that are missing, and add the columns that a database made by an earlier
    version lacks (idempotent; safe with concurrent openers)."""
    # The common case, an up-to-date database, costs one PRAGMA per table and no write lock.
    if set(TABLE_COLUMNS) <= set(db.table_names()) and not _missing_columns(db):
        return
    with immediate(db):
        # Checked again under the write lock: another opener may have migrated it meanwhile.
        for table, columns in _missing_columns(db).items():
            for name, col_type in columns.items():
                db[table].add_column(name, col_type)
        if "forms" not in db.table_names():
            db["forms"].create(FORMS_COLUMNS, pk="id", not_null={"source", "sha256", "status"})
            db["forms"].create_index(["sha256"])
            db["forms"].create_index(["source"])
            db["forms"].create_index(["institution", "rubric"])
        if "items" not in db.table_names():
            db["items"].create(ITEMS_COLUMNS, pk="id", foreign_keys=[("form_id", "forms", "id")])
            db["items"].create_index(["form_id", "position"])
            db["items"].create_index(["code"])
        if "discrepancies" not in db.table_names():
            db["discrepancies"].create(DISCREPANCY_COLUMNS, pk="id", foreign_keys=[("form_id", "forms", "id")])
            db["discrepancies"].create_index(["form_id"])
            db["discrepancies"].create_index(["kind"])
        if "corrections" not in db.table_names():
            db["corrections"].create(CORRECTION_COLUMNS, pk="id", foreign_keys=[("form_id", "forms", "id")])
            db["corrections"].create_index(["form_id"])


def _val(v: Decimal | str | None):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def _unval(v) -> Decimal | str | None:
    if v is None or isinstance(v, str):
        return v
    return Decimal(str(v)).normalize() if v != int(v) else Decimal(int(v))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _printed_to_json(form: Form) -> str:
    return json.dumps([{"kind": p.kind, "self": _val(p.self), "inspector": _val(p.inspector),
                        "self_raw": p.self_raw, "inspector_raw": p.inspector_raw, "category": p.category,
                        "provenance": p.provenance} for p in form.printed], ensure_ascii=False)


def _extras_to_json(form: Form) -> str:
    return json.dumps([e.__dict__ for e in form.extra_rows], ensure_ascii=False)


def findings_to_json(findings: list[Finding]) -> str | None:
    """Given findings, return them as a JSON list of {kind, message, side}, or None when there are none."""
    if not findings:
        return None
    return json.dumps([{"kind": f.kind, "message": f.message, "side": f.side} for f in findings], ensure_ascii=False)


def json_to_findings(text: str | None) -> list[Finding]:
    """Given stored findings JSON (or None), return the findings."""
    return [Finding(f["kind"], f["message"], f.get("side")) for f in json.loads(text or "[]")]


def _json_or_none(value: dict | None) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value else None


def sha_known(db: sqlite_utils.Database, sha256: str) -> int | None:
    """Given a file hash, return the id of the form already ingested with those bytes, or None."""
    row = db.execute("SELECT id FROM forms WHERE sha256 = ? ORDER BY id LIMIT 1", [sha256]).fetchone()
    return row[0] if row else None


@contextmanager
def immediate(db: sqlite_utils.Database):
    """One write transaction taken up front (BEGIN IMMEDIATE), so concurrent ingests queue on the
    busy timeout instead of deadlocking on a read-then-write upgrade."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        with db.atomic():  # sqlite-utils writes inside use savepoints of this transaction
            yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def save_form(db: sqlite_utils.Database, form: Form, dedupe: bool = True) -> int | None:
    """Given a Form, insert it with its items and discrepancies in one transaction; return its id,
    or None when a form with the same bytes is already stored (checked inside the transaction)."""
    with immediate(db):
        if dedupe and form.sha256 and sha_known(db, form.sha256) is not None:
            return None
        form_id = _insert_form(db, form)
        supersede(db, form_id)
        return form_id


def supersede(db: sqlite_utils.Database, form_id: int) -> None:
    """Among the readable forms of one institution and rubric, mark all but the current one
    superseded: the current one has the latest fill date; for equal dates, the later ingested."""
    f = db.execute("SELECT institution, rubric FROM forms WHERE id = ?", [form_id]).fetchone()
    if not f or not f[0] or not f[1]:
        return
    rows = db.execute("SELECT id, fill_date FROM forms WHERE institution = ? AND rubric = ? AND status != 'failed'",
                      list(f)).fetchall()
    if len(rows) < 2:
        return
    current = max(rows, key=lambda r: (r[1] or "", r[0]))[0]
    db.execute("UPDATE forms SET superseded_by = NULL WHERE id = ?", [current])
    db.execute(f"UPDATE forms SET superseded_by = ? WHERE id IN ({','.join('?' * (len(rows) - 1))})",
               [current] + [r[0] for r in rows if r[0] != current])


def _insert_form(db: sqlite_utils.Database, form: Form) -> int:
    row = {
        "source": form.source, "sha256": form.sha256, "status": form.status, "error": form.error,
        "rubric": form.rubric, "rubric_score": form.rubric_score, "institution": form.institution,
        "fill_date": form.fill_date, "has_inspector": int(form.has_inspector), "kind": form.kind,
        "ingested_at": now(), "printed": _printed_to_json(form), "extra_rows": _extras_to_json(form),
        "findings": findings_to_json(form.findings),
        **{k: form.header.get(k) for k in ("batches", "certified_total", "certified_passed")},
    }
    form_id = db["forms"].insert(row).last_pk
    db["items"].insert_all(_item_row(form_id, n, it) for n, it in enumerate(form.items))
    _insert_discrepancies(db, form_id, form.discrepancies)
    return form_id


def _item_row(form_id: int, position: int, it: ItemResult) -> dict:
    prov = it.provenance or {}
    return {
        "form_id": form_id, "position": position, "code": it.code, "category": it.category, "label": it.label,
        "max": _val(it.max), "max_source": it.max_source, "printed_max": it.printed_max,
        "group_max": _val(it.group_max), "scoring": it.scoring, "self": _val(it.self),
        "inspector": _val(it.inspector), "self_raw": it.self_raw, "inspector_raw": it.inspector_raw,
        "self_kind": it.self_kind, "inspector_kind": it.inspector_kind, "raw_label": it.raw_label,
        "match_score": it.match_score, "table_no": prov.get("table"), "row_no": prov.get("row"),
        "col_no": prov.get("col"), "page": prov.get("page"),
        "bbox": json.dumps(prov["bbox"]) if prov.get("bbox") else None, "confidence": prov.get("confidence"),
        "self_note": it.self_note, "inspector_note": it.inspector_note, "findings": findings_to_json(it.findings),
    }


def _insert_discrepancies(db: sqlite_utils.Database, form_id: int, ds: list[Discrepancy]) -> None:
    db["discrepancies"].insert_all(
        {"form_id": form_id, "item": d.item, "kind": d.kind, "severity": d.severity, "message": d.message,
         "accepted": 1 if d.accepted else 0, "side": d.side, "row": _json_or_none(d.row), "total": d.total,
         "category": d.category} for d in ds)


def replace_discrepancies(db: sqlite_utils.Database, form: Form, form_id: int) -> None:
    """Given a re-checked Form, replace its stored discrepancies and status in one transaction."""
    with immediate(db):
        db.execute("DELETE FROM discrepancies WHERE form_id = ?", [form_id])
        _insert_discrepancies(db, form_id, form.discrepancies)
        db.execute("UPDATE forms SET status = ? WHERE id = ?", [form.status, form_id])


def load_form(db: sqlite_utils.Database, form_id: int, effective: bool = True) -> Form:
    """Given a form id, return the Form as stored; with effective=True, reviewers' corrections applied."""
    f = db["forms"].get(form_id)
    form = Form(source=f["source"], sha256=f["sha256"], status=f["status"], error=f["error"], rubric=f["rubric"],
                rubric_score=f["rubric_score"], institution=f["institution"], fill_date=f["fill_date"],
                header={k: f[k] for k in ("batches", "certified_total", "certified_passed")},
                has_inspector=bool(f["has_inspector"]), kind=f["kind"], findings=json_to_findings(f["findings"]))
    for p in json.loads(f["printed"] or "[]"):
        form.printed.append(PrintedTotal(kind=p["kind"], self=_unval(p["self"]), inspector=_unval(p["inspector"]),
                                         self_raw=p["self_raw"], inspector_raw=p["inspector_raw"],
                                         category=p.get("category"), provenance=p.get("provenance")))
    form.extra_rows = [ExtraRow(**e) for e in json.loads(f["extra_rows"] or "[]")]
    for r in db.execute_returning_dicts(
            "SELECT * FROM items WHERE form_id = ? ORDER BY position", [form_id]):
        prov = {k: v for k, v in (("table", r["table_no"]), ("row", r["row_no"]), ("col", r["col_no"]),
                                  ("page", r["page"]), ("confidence", r["confidence"])) if v is not None}
        if r["bbox"]:
            prov["bbox"] = json.loads(r["bbox"])
        form.items.append(ItemResult(
            code=r["code"], category=r["category"], label=r["label"], max=_unval(r["max"]),
            scoring=r["scoring"], max_source=r["max_source"], printed_max=r["printed_max"],
            group_max=_unval(r["group_max"]), self=_unval(r["self"]), inspector=_unval(r["inspector"]),
            self_raw=r["self_raw"], inspector_raw=r["inspector_raw"], self_kind=r["self_kind"],
            inspector_kind=r["inspector_kind"], raw_label=r["raw_label"], match_score=r["match_score"],
            provenance=prov or None, self_note=r["self_note"], inspector_note=r["inspector_note"],
            findings=json_to_findings(r["findings"])))
    for d in db.execute_returning_dicts("SELECT * FROM discrepancies WHERE form_id = ? ORDER BY id", [form_id]):
        form.discrepancies.append(Discrepancy(d["item"], d["kind"], d["severity"], d["message"],
                                              {"accepted": True} if d["accepted"] else None, side=d["side"],
                                              row=json.loads(d["row"]) if d["row"] else None, total=d["total"],
                                              category=d["category"]))
    if effective:
        from .review import apply_corrections  # corrections are the review module's concept

        apply_corrections(db, form_id, form)
    return form


def form_ids(db: sqlite_utils.Database, include_superseded: bool = False, source: str | None = None,
             since: str | None = None) -> list[int]:
    """Return the ids of stored forms in ingest order, narrowed as asked."""
    where, args = [], []
    if not include_superseded:
        where.append("superseded_by IS NULL")
    if source:
        where.append("(source = ? OR source LIKE ?)")
        args += [source, f"%{source}%"]
    if since:
        where.append("(ingested_at >= ? OR fill_date >= ?)")
        args += [since, since]
    sql = "SELECT id FROM forms" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    return [r[0] for r in db.execute(sql, args).fetchall()]


def find_form(db: sqlite_utils.Database, key: str) -> list[int]:
    """Given an id, a source, or a part of a source, return the ids of the forms it names (newest first)."""
    if key.isdigit():
        row = db.execute("SELECT id FROM forms WHERE id = ?", [int(key)]).fetchone()
        if row:
            return [row[0]]
    rows = db.execute("SELECT id FROM forms WHERE source = ? ORDER BY id DESC", [key]).fetchall()
    if not rows:
        rows = db.execute("SELECT id FROM forms WHERE source LIKE ? ORDER BY id DESC",
                          [f"%{key}%"]).fetchall()
    return [r[0] for r in rows]
