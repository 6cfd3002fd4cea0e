"""SQLite store (sqlite-utils): forms, items, discrepancies and corrections.

One transaction per form. Values extracted from a file are never overwritten: a
reviewer's correction is a row in ``corrections``, applied when a Form is loaded.

A selfeval database carries ``PRAGMA application_id`` = APPLICATION_ID and ``PRAGMA user_version`` = its schema
version. `open_db` refuses any other SQLite file before writing a byte to it, migrates our own older files (also
those made before the marks existed, recognised by their tables and columns), and opens read-only when asked.
Write failures a person can fix (a full disk, a read-only file) are `StoreError`s with a one-line message.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from .form import Discrepancy, Finding, Form, ItemResult
from .stamp import current as reader_stamp
from .store_errors import DEFAULT_DB as DEFAULT_DB  # re-exported: the store's default file
from .store_errors import DiskFull, NoDatabase, NotSelfevalDatabase, StoreError
from .store_rows import row_to_discrepancy, row_to_form, row_to_item
from .views import VIEWS, ensure_views

DEFAULT_BUSY_TIMEOUT_MS = 30_000
APPLICATION_ID = 0x53454C46  # "SELF": what `PRAGMA application_id` says in every selfeval database
# 1: the first schema (commits 761ebdf to aa40187); 2: structured discrepancies, notes and findings (3f0c963);
# 3: evidence (each side's cell, the row's cells, the score tables, the file's path) and review history.
SCHEMA_VERSION = 3
SQLITE_HEADER = b"SQLite format 3\x00"

FORMS_COLUMNS = {
    "id": int, "source": str, "sha256": str, "status": str, "error": str, "rubric": str, "rubric_score": float,
    "institution": str, "fill_date": str, "batches": int, "certified_total": int, "certified_passed": int,
    "has_inspector": int, "kind": str, "ingested_at": str, "superseded_by": int, "printed": str, "extra_rows": str,
    "findings": str,  # JSON list of {kind, message, side}: form-level doubts raised while reading
    # What read it (extractor.stamp): a failed record is read again when these differ from the running selfeval's.
    "reader_version": str, "extras": str,
    "path": str,  # the file on disk at ingest time (absolute; an archive member: its container's)
    "tables": str,  # JSON list: each score table's shape and header cells (see Form.tables)
}
ITEMS_COLUMNS = {
    "id": int, "form_id": int, "position": int, "code": str, "category": str, "label": str, "max": float,
    "max_source": str, "printed_max": str, "group_max": float, "scoring": str, "self": float, "inspector": float,
    "self_raw": str, "inspector_raw": str, "self_kind": str, "inspector_kind": str, "raw_label": str,
    "match_score": float, "table_no": int, "row_no": int, "col_no": int, "page": int, "bbox": str,
    "confidence": float, "self_note": str, "inspector_note": str,
    "findings": str,  # JSON list of {kind, message, side}
    # JSON: where each side's value was read and the row's cells as printed (see ItemResult.self_cell)
    "self_cell": str, "inspector_cell": str, "row_cells": str,
}
DISCREPANCY_COLUMNS = {"id": int, "form_id": int, "item": str, "kind": str, "severity": str, "message": str,
                       "accepted": int, "side": str,
                       "row": str,  # JSON: provenance of the row it is about
                       "total": str, "category": str}
CORRECTION_COLUMNS = {"id": int, "form_id": int, "item": str, "action": str, "field": str, "value": str,
                      "previous": str, "kind": str, "who": str, "at": str, "why": str,
                      # Schema 3 (extractor.review): a set value as a number (NULL for a judgment or blank), a
                      # withdrawal (the row is kept), and the values an acceptance accepted (JSON).
                      "number": float, "undone_at": str, "undone_by": str, "undo_why": str, "accepted_values": str}

# Reviewer accounts of `selfeval serve` (extractor.accounts): scrypt hashes with a per-account salt, no passwords.
USER_COLUMNS = {"name": str, "password_hash": str, "created_at": str}


TABLE_COLUMNS = {"forms": FORMS_COLUMNS, "items": ITEMS_COLUMNS, "discrepancies": DISCREPANCY_COLUMNS,
                 "corrections": CORRECTION_COLUMNS, "users": USER_COLUMNS}


# The columns of schema 1, the oldest: a database without our marks is ours when its tables have (at least) these.
V1_COLUMNS = {
    "forms": {"id", "source", "sha256", "status", "error", "rubric", "rubric_score", "institution", "fill_date",
              "batches", "certified_total", "certified_passed", "has_inspector", "kind", "ingested_at",
              "superseded_by", "printed", "extra_rows"},
    "items": {"id", "form_id", "position", "code", "category", "label", "max", "max_source", "printed_max",
              "group_max", "scoring", "self", "inspector", "self_raw", "inspector_raw", "self_kind", "inspector_kind",
              "raw_label", "match_score", "table_no", "row_no", "col_no", "page", "bbox", "confidence"},
    "discrepancies": {"id", "form_id", "item", "kind", "severity", "message", "accepted"},
    "corrections": {"id", "form_id", "item", "action", "field", "value", "previous", "kind", "who", "at", "why"},
}
NEW_DATABASE = 0  # the schema version of an empty file: nothing in it yet


def _connect(target: str, uri: bool = False) -> sqlite3.Connection:
    """Given a path (or a file: URI), return a connection; the one place connections are made."""
    return sqlite3.connect(target, uri=uri, timeout=DEFAULT_BUSY_TIMEOUT_MS / 1000)


def path_to_uri(path: Path, **params: str) -> str:
    """Given a database path, return its SQLite file: URI with params (mode=ro…): absolute, percent-encoded, with
    an empty authority, so Windows drive letters (file:///C:/…) and UNC shares (file:////server/share/…) work."""
    text = str(path.resolve())
    if os.sep != "/":
        text = text.replace(os.sep, "/")
    if not text.startswith("/"):
        text = "/" + text  # C:/a.db -> /C:/a.db
    query = "?" + urllib.parse.urlencode(params) if params else ""
    return "file://" + urllib.parse.quote(text, safe="/:") + query


def _check_header(path: Path) -> None:
    """Given an existing path, raise NotSelfevalDatabase unless it is empty or starts with SQLite's header."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror or e}: choose another --db file") from None
    if head and head != SQLITE_HEADER:
        raise NotSelfevalDatabase(f"{path} is not a SQLite database: choose another --db file")


def _not_ours(path: Path, why: str) -> NotSelfevalDatabase:
    return NotSelfevalDatabase(f"{path} is not a selfeval database ({why}): choose another --db file")


def _legacy_version(db: sqlite_utils.Database) -> int | None:
    """Given a database without our marks, return the schema version its tables and columns are of (1 or 2), or
    None when its tables are not ours."""
    tables = set(db.table_names())
    if "forms" not in tables:
        return None
    version = SCHEMA_VERSION
    for table, columns in TABLE_COLUMNS.items():
        if table not in tables:
            version = 1
            continue
        have = {c.name for c in db[table].columns}
        if not V1_COLUMNS.get(table, set()) <= have:  # a table added after schema 1 may have any columns
            return None
        if set(columns) - have:
            version = 1
    return version


def schema_version(db: sqlite_utils.Database, path: Path) -> int:
    """Given an open database, return the selfeval schema version of its file (NEW_DATABASE when it is empty), or
    raise NotSelfevalDatabase; reads only."""
    try:
        app = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if app == APPLICATION_ID:
            return version
        if app != 0:
            raise _not_ours(path, f"its application_id is {app:#010x}")
        if not db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            return NEW_DATABASE
        legacy = None if version else _legacy_version(db)  # we never set user_version without application_id
        if legacy is None:
            tables = sorted(db.table_names())
            shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
            raise _not_ours(path, f"its tables are {shown}" if tables else "it has no tables of ours")
        return legacy
    except sqlite3.OperationalError:
        raise  # busy, locked, cannot open: about access to the file, not what it holds
    except sqlite3.DatabaseError as e:  # not a database, malformed, encrypted
        raise NotSelfevalDatabase(f"{path} is not a usable SQLite database ({e}): choose another --db file") from None


def _configure(db: sqlite_utils.Database) -> None:
    db.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")


def open_db(path: str | Path, readonly: bool = False) -> sqlite_utils.Database:
    """Given a database path, return it opened: for writing (WAL, foreign keys, busy timeout, the schema created
    or migrated), or with readonly=True through a mode=ro URI that can never write. Raise NotSelfevalDatabase for a
    file that is not ours (nothing written to it), NoDatabase for a read-only open of a missing or empty one."""
    p = Path(path)
    if readonly:
        return _open_readonly(p)
    if p.exists():
        _check_header(p)
    db = sqlite_utils.Database(_connect(str(p)))
    try:
        _configure(db)
        try:
            version = schema_version(db, p)  # before any write: another application's file is left as it was
        except sqlite3.OperationalError as e:
            if getattr(e, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise StoreError(f"{p} is locked by another program: close it and try again") from None
            raise StoreError(f"cannot open {p} ({e}): check that its folder exists and can be written, "
                             f"or choose another --db file") from None
        if version > SCHEMA_VERSION:
            raise StoreError(f"{p} was written by a newer selfeval (schema {version}; this one knows "
                             f"{SCHEMA_VERSION}): upgrade selfeval, or choose another --db file")
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass  # another writer holds it (WAL is set by then), or the file is read-only (a write will say so)
        ensure_schema(db)
    except BaseException:
        db.conn.close()
        raise
    return db


def _open_readonly(p: Path) -> sqlite_utils.Database:
    if not p.is_file():
        raise NoDatabase(f"no database at {p}: run `selfeval ingest PATH --db {p}` first")
    _check_header(p)
    try:
        db = _readonly_connection(p, immutable=False)
    except sqlite3.OperationalError as e:
        if getattr(e, "sqlite_errorcode", None) not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
            raise StoreError(f"cannot read {p} ({e}): check the file, or choose another --db file") from None
        # In a read-only folder SQLite cannot create a WAL database's -shm file. immutable=1 reads the file as it
        # lies, which is right there: nobody can be writing to it where no -wal file can be made.
        try:
            db = _readonly_connection(p, immutable=True)
        except sqlite3.OperationalError as e:
            raise StoreError(f"cannot read {p} ({e}): check the file, or choose another --db file") from None
    if "forms" not in db.table_names():
        db.conn.close()
        raise NoDatabase(f"no forms in {p} yet: run `selfeval ingest PATH --db {p}` first")
    return db


def _readonly_connection(p: Path, immutable: bool) -> sqlite_utils.Database:
    """Given a database file, return it opened through a mode=ro URI, after checking that it is ours."""
    params = {"mode": "ro", "immutable": "1"} if immutable else {"mode": "ro"}
    db = sqlite_utils.Database(_connect(path_to_uri(p, **params), uri=True))
    try:
        _configure(db)
        schema_version(db, p)
    except BaseException:
        db.conn.close()
        raise
    return db


def _missing_columns(db: sqlite_utils.Database) -> dict[str, dict[str, type]]:
    """Given the store, return per existing table the columns this version writes that it lacks."""
    out = {}
    for table, columns in TABLE_COLUMNS.items():
        have = {c.name for c in db[table].columns}
        if have and set(columns) - have:
            out[table] = {k: t for k, t in columns.items() if k not in have}
    return out


def _marked(db: sqlite_utils.Database) -> bool:
    return (db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
            and db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION)


# Indexes added after a table was first made: created wherever missing, an existing database's in its migration.
# effective_forms' totals and effective_items read an item's self/inspector from this one, not from the item row
# itself (kilobytes of row_cells JSON each): a third less time over 10,000 forms.
LATER_INDEXES = {"idx_items_form_id_code_self_inspector": ("items", ["form_id", "code", "self", "inspector"])}


def _missing_indexes(db: sqlite_utils.Database) -> list[str]:
    have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()}
    return [name for name in LATER_INDEXES if name not in have]


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create the tables and indexes that are missing, add the columns that a database made by an earlier
    version lacks, and mark the file as selfeval's at this schema version (idempotent; safe with concurrent
    openers). Call it only on a database `schema_version` accepted."""
    # The common case, an up-to-date database, costs a few PRAGMAs and no write lock.
    if (set(TABLE_COLUMNS) <= set(db.table_names()) and not _missing_columns(db) and _marked(db)
            and set(VIEWS) <= set(db.view_names()) and not _missing_indexes(db)):
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
        if "users" not in db.table_names():
            db["users"].create(USER_COLUMNS, pk="name", not_null={"password_hash"})
        for name in _missing_indexes(db):
            table, columns = LATER_INDEXES[name]
            db[table].create_index(columns, index_name=name, if_not_exists=True)
        ensure_views(db)  # dropped and made again: a view of an older version never survives a migration
        # Both header fields are written by this transaction, so a crash leaves either the old file or the new one.
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _val(v: Decimal | str | None):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# The store's JSON writers, each made once: json.dumps with any option builds a new JSONEncoder per call, and a
# form's items need four documents each (findings and the cells), a few hundred thousand over 10,000 forms. The
# text is json.dumps(value, ensure_ascii=False) (and with separators=(",", ":") for the compact one) exactly.
_to_json = json.JSONEncoder(ensure_ascii=False).encode
_to_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _printed_to_json(form: Form) -> str:
    return _to_json([{"kind": p.kind, "self": _val(p.self), "inspector": _val(p.inspector),
                      "self_raw": p.self_raw, "inspector_raw": p.inspector_raw, "category": p.category,
                      "provenance": p.provenance} for p in form.printed])


def _extras_to_json(form: Form) -> str:
    return _to_json([e.__dict__ for e in form.extra_rows])


def findings_to_json(findings: list[Finding]) -> str | None:
    """Given findings, return them as a JSON list of {kind, message, side}, or None when there are none."""
    if not findings:
        return None
    return _to_json([{"kind": f.kind, "message": f.message, "side": f.side} for f in findings])


def _json_or_none(value: dict | None) -> str | None:
    return _to_json(value) if value else None


def sha_known(db: sqlite_utils.Database, sha256: str) -> int | None:
    """Given a file hash, return the id of the form already ingested with those bytes, or None."""
    row = db.execute("SELECT id FROM forms WHERE sha256 = ? ORDER BY id LIMIT 1", [sha256]).fetchone()
    return row[0] if row else None


def db_path(db: sqlite_utils.Database) -> str:
    """Given an open database, return the path of its main file ('' for an in-memory one)."""
    try:
        return next((r[2] for r in db.conn.execute("PRAGMA database_list") if r[1] == "main"), "") or ""
    except sqlite3.Error:
        return ""


def _write_error(db: sqlite_utils.Database, e: BaseException) -> StoreError | None:
    """Given an exception raised by a write, return the StoreError a person can act on, or None for others."""
    code = getattr(e, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or (isinstance(e, OSError) and e.errno == errno.ENOSPC):
        try:
            stored = db.execute("SELECT count(*) FROM forms").fetchone()[0]
        except sqlite3.Error:
            stored = None
        return DiskFull(db_path(db), stored)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreError(f"{db_path(db)} stayed locked by another program for {DEFAULT_BUSY_TIMEOUT_MS // 1000} s: "
                          f"close it (a viewer holding a transaction open?) and run the command again")
    if code == sqlite3.SQLITE_READONLY:
        return StoreError(f"cannot write {db_path(db)}: the file or its folder is read-only: copy it to a writable "
                          f"folder, or choose another --db file")
    return None


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction taken up front (BEGIN IMMEDIATE), so concurrent ingests queue on the
    busy timeout instead of deadlocking on a read-then-write upgrade. A full disk or a read-only file rolls it
    back and raises DiskFull or StoreError: what was committed before stays."""
    try:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            with db.atomic():  # sqlite-utils writes inside use savepoints of this transaction
                yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
    except (sqlite3.OperationalError, OSError) as e:
        if db.conn.in_transaction:
            try:
                db.conn.execute("ROLLBACK")  # a failed COMMIT leaves the transaction open
            except sqlite3.Error:
                pass  # SQLite rolls back by itself when the connection closes
        err = _write_error(db, e)
        if err is None:
            raise
        raise err from None


def save_form(db: sqlite_utils.Database, form: Form, dedupe: bool = True,
              siblings: Sequence[Form] = ()) -> int | None:
    """Given a Form (and the other forms of the same file: a workbook's sheets), insert them with their items and
    discrepancies in one transaction; return the first's id, or None when a form with the same bytes is already
    stored (checked inside the transaction, so the file's forms are stored together or not at all)."""
    with immediate(db):
        if dedupe and form.sha256 and sha_known(db, form.sha256) is not None:
            return None
        return _insert_forms(db, form, siblings)


def _insert_forms(db: sqlite_utils.Database, form: Form, siblings: Sequence[Form]) -> int:
    form_id = _insert_form(db, form)
    supersede(db, form_id)
    for sibling in siblings:
        supersede(db, _insert_form(db, sibling))
    return form_id


def replace_failed(db: sqlite_utils.Database, form: Form | None, failed_ids: list[int],
                   siblings: Sequence[Form] = ()) -> int | None:
    """Given a Form read again (or None when its file is now represented by others), the other forms of its file,
    and the ids of the failed records of the same bytes it replaces, delete those and insert them in one
    transaction; return its id, or None when the bytes meanwhile have other records (another run read them again
    first)."""
    if not failed_ids:
        return save_form(db, form, siblings=siblings) if form is not None else None
    with immediate(db):
        marks = ",".join("?" * len(failed_ids))
        sha = form.sha256 if form is not None else None
        if sha is not None:
            rows = db.execute("SELECT id, status FROM forms WHERE sha256 = ?", [sha]).fetchall()
            if sorted(r[0] for r in rows) != sorted(failed_ids) or any(r[1] != "failed" for r in rows):
                return None
        for table in ("corrections", "discrepancies", "items"):
            db.execute(f"DELETE FROM {table} WHERE form_id IN ({marks})", failed_ids)
        db.execute(f"DELETE FROM forms WHERE id IN ({marks}) AND status = 'failed'", failed_ids)
        if form is None:
            return None
        return _insert_forms(db, form, siblings)


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
        "findings": findings_to_json(form.findings), **reader_stamp(),
        "path": form.path, "tables": _compact_json(form.tables) if form.tables else None,
        **{k: form.header.get(k) for k in ("batches", "certified_total", "certified_passed")},
    }
    form_id = _insert_rows(db, "forms", [row])
    if form.items:
        db.conn.executemany(_ITEMS_INSERT, [_item_values(form_id, n, it) for n, it in enumerate(form.items)])
    _insert_discrepancies(db, form_id, form.discrepancies)
    return form_id


def _sql_value(v):
    """A value as sqlite-utils' insert stores it: a Decimal as a float, a dict, list or tuple as JSON."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=repr, ensure_ascii=False)
    return v


def _insert_rows(db: sqlite_utils.Database, table: str, rows: list[dict]) -> int | None:
    """Given a table and rows with the same keys (its columns), insert them with one prepared statement
    (executemany, inside the caller's transaction); return the last row's id. sqlite-utils' insert_all would
    also inspect the table and build a statement per chunk, for every form."""
    if not rows:
        return None
    cols = list(rows[0])
    names = ", ".join(f"[{c}]" for c in cols)
    sql = f"INSERT INTO [{table}] ({names}) VALUES ({', '.join('?' * len(cols))})"

    def values(r: dict) -> list:
        return [v if v is None or type(v) in _PLAIN else _sql_value(v) for v in map(r.__getitem__, cols)]

    if len(rows) == 1:
        return db.conn.execute(sql, values(rows[0])).lastrowid
    db.conn.executemany(sql, map(values, rows))
    return None


_PLAIN = frozenset({str, int, float, bytes})  # stored as they are (bool is converted by sqlite3 itself)


# The items' columns in the order _item_values gives them: the one statement inserting every form's items.
_ITEM_COLUMNS = ("form_id", "position", "code", "category", "label", "max", "max_source", "printed_max", "group_max",
                 "scoring", "self", "inspector", "self_raw", "inspector_raw", "self_kind", "inspector_kind",
                 "raw_label", "match_score", "table_no", "row_no", "col_no", "page", "bbox", "confidence",
                 "self_note", "inspector_note", "findings", "self_cell", "inspector_cell", "row_cells")
_ITEMS_INSERT = (f"INSERT INTO [items] ({', '.join(f'[{c}]' for c in _ITEM_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(_ITEM_COLUMNS))})")


def _item_values(form_id: int, position: int, it: ItemResult) -> list:
    """Given an item, return its row's values in _ITEM_COLUMNS order, as _insert_rows would store them. A form has
    tens of items and a batch thousands: a list, not a dict of 30 keys looked up again for every column."""
    prov = it.provenance or {}
    row = [form_id, position, it.code, it.category, it.label, _val(it.max), it.max_source, it.printed_max,
           _val(it.group_max), it.scoring, _val(it.self), _val(it.inspector), it.self_raw, it.inspector_raw,
           it.self_kind, it.inspector_kind, it.raw_label, it.match_score, prov.get("table"), prov.get("row"),
           prov.get("col"), prov.get("page"), json.dumps(prov["bbox"]) if prov.get("bbox") else None,
           prov.get("confidence"), it.self_note, it.inspector_note,
           _to_json([{"kind": f.kind, "message": f.message, "side": f.side} for f in it.findings])
           if it.findings else None,
           None if it.self_cell is None else _to_compact_json(it.self_cell),
           None if it.inspector_cell is None else _to_compact_json(it.inspector_cell),
           None if it.row_cells is None else _to_compact_json(it.row_cells)]
    for i, v in enumerate(row):
        if v is not None and type(v) not in _PLAIN:
            row[i] = _sql_value(v)
    return row


def _compact_json(value) -> str | None:
    return None if value is None else _to_compact_json(value)


def _insert_discrepancies(db: sqlite_utils.Database, form_id: int, ds: list[Discrepancy]) -> None:
    _insert_rows(db, "discrepancies", [
        {"form_id": form_id, "item": d.item, "kind": d.kind, "severity": d.severity, "message": d.message,
         "accepted": 1 if d.accepted else 0, "side": d.side, "row": _json_or_none(d.row), "total": d.total,
         "category": d.category} for d in ds])


def replace_discrepancies(db: sqlite_utils.Database, form: Form, form_id: int) -> None:
    """Given a re-checked Form, replace its stored discrepancies and status in one transaction."""
    with immediate(db):
        db.execute("DELETE FROM discrepancies WHERE form_id = ?", [form_id])
        _insert_discrepancies(db, form_id, form.discrepancies)
        db.execute("UPDATE forms SET status = ? WHERE id = ?", [form.status, form_id])


def load_form(db: sqlite_utils.Database, form_id: int, effective: bool = True) -> Form:
    """Given a form id, return the Form as stored; with effective=True, reviewers' corrections applied.
    Columns a database of an older schema lacks read as None, so an older file opened read-only still loads."""
    form = row_to_form(db["forms"].get(form_id))
    form.items = [row_to_item(r) for r in db.execute_returning_dicts(
        "SELECT * FROM items WHERE form_id = ? ORDER BY position", [form_id])]
    form.discrepancies = [row_to_discrepancy(d) for d in db.execute_returning_dicts(
        "SELECT * FROM discrepancies WHERE form_id = ? ORDER BY id", [form_id])]
    if effective:
        from .corrections import apply_corrections  # the reviewers' changes: their own module, no cycle

        apply_corrections(db, form_id, form)
    return form


def form_ids(db: sqlite_utils.Database, include_superseded: bool = False, source: str | None = None,
             since: str | None = None, ingested_since: str | None = None) -> list[int]:
    """Return the ids of stored forms in ingest order, narrowed as asked: source (the whole source or a part of
    it), since (a YYYY-MM-DD date: the form's fill date, 填表日期, on or after it; a form with no fill date is left
    out), ingested_since (a YYYY-MM-DD date: ingested on or after it, UTC)."""
    where, args = [], []
    if not include_superseded:
        where.append("superseded_by IS NULL")
    if source:
        where.append("(source = ? OR source LIKE ?)")
        args += [source, f"%{source}%"]
    if since:
        where.append("fill_date >= ?")
        args.append(since)
    if ingested_since:
        # ingested_at is an ISO timestamp: a date compares as its midnight, so the whole day is included.
        where.append("ingested_at >= ?")
        args.append(ingested_since)
    sql = "SELECT id FROM forms" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    return [r[0] for r in db.execute(sql, args).fetchall()]


def find_form(db: sqlite_utils.Database, key: str) -> list[int]:
    """Given an id, a source, an institution, or a part of a source or of an institution's name, return the ids of
    the forms it names (newest first): the first of those kinds that matches any form decides."""
    # isdecimal, not isdigit: "²" is a digit int() cannot read; an id beyond 64 bits names no form
    if key.isdecimal() and int(key) < 2**63:
        row = db.execute("SELECT id FROM forms WHERE id = ?", [int(key)]).fetchone()
        if row:
            return [row[0]]
    for where in ("source = ?", "institution = ?",
                  # instr, not LIKE: a key holding % or _ is matched as typed
                  "instr(lower(source), lower(?)) > 0 OR instr(institution, ?) > 0"):
        rows = db.execute(f"SELECT id FROM forms WHERE {where} ORDER BY id DESC",
                          [key] * where.count("?")).fetchall()
        if rows:
            return [r[0] for r in rows]
    return []
