"""SQL views that show the effective data, so that SQLite itself (sqlite3, sqlite-utils, Datasette) agrees with
every report.

- ``effective_items``: every column of ``items`` in its order, with ``self``/``inspector`` replaced by the latest
  active (not undone) correction's value (numbers REAL, judgments text, a blank correction NULL), then
  ``corrected`` (0/1), ``self_extracted`` and ``inspector_extracted`` (the values as read from the file).
- ``effective_forms``: every column of ``forms`` (``status`` as stored: the review module keeps it effective), then
  ``self_total``/``inspector_total`` (the sum of the effective numeric scores), ``open_errors``, ``open_warnings``
  (errors and warnings no reviewer accepted) and ``corrections`` (active corrections and acceptances).

As in the tables, table/row/col numbers are 0-based and page numbers 1-based. This module must not import the
store (the store calls `ensure_views` while it migrates).
"""

from __future__ import annotations

import sqlite_utils

from .scores import parse_number

VIEWS = ("effective_forms", "effective_items")  # dropped in this order: effective_forms reads effective_items


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _effective(side: str) -> str:
    c = f"c_{side}"
    return (f"CASE WHEN {c}.id IS NULL THEN i.{_q(side)} WHEN {c}.number IS NOT NULL THEN {c}.number "
            f"ELSE NULLIF({c}.value, '') END AS {_q(side)}")


def items_view_sql(columns: list[str]) -> str:
    """Given the columns of the items table in order, return the CREATE VIEW statement of effective_items."""
    select = [_effective(c) if c in ("self", "inspector") else f"i.{_q(c)}" for c in columns]
    select += ["CASE WHEN c_self.id IS NULL AND c_inspector.id IS NULL THEN 0 ELSE 1 END AS corrected",
               'i."self" AS self_extracted', "i.inspector AS inspector_extracted"]
    joins = "".join(
        f" LEFT JOIN corrections c_{side} ON c_{side}.id = (SELECT max(x.id) FROM corrections x WHERE "
        f"x.form_id = i.form_id AND x.item = i.code AND x.action = 'set' AND x.field = '{side}' "
        f"AND x.undone_at IS NULL)" for side in ("self", "inspector"))
    return f"CREATE VIEW effective_items AS SELECT {', '.join(select)} FROM items i{joins}"


def _total(side: str) -> str:
    return (f"(SELECT sum(e.{_q(side)}) FROM effective_items e WHERE e.form_id = f.id "
            f"AND typeof(e.{_q(side)}) IN ('integer', 'real')) AS {side}_total")


def _open(severity: str, name: str) -> str:
    return (f"(SELECT count(*) FROM discrepancies d WHERE d.form_id = f.id AND d.severity = '{severity}' "
            f"AND coalesce(d.accepted, 0) = 0) AS {name}")


FORMS_VIEW_SQL = ("CREATE VIEW effective_forms AS SELECT f.*, " + ", ".join([
    _total("self"), _total("inspector"), _open("error", "open_errors"), _open("warning", "open_warnings"),
    "(SELECT count(*) FROM corrections c WHERE c.form_id = f.id AND c.undone_at IS NULL) AS corrections"])
    + " FROM forms f")


def backfill_numbers(db: sqlite_utils.Database) -> None:
    """Give the corrections stored before `number` existed their value as a number, so the views read them as
    REAL like the new ones (a judgment keeps NULL)."""
    rows = db.execute("SELECT id, value FROM corrections WHERE action = 'set' AND number IS NULL "
                      "AND value IS NOT NULL AND value != ''").fetchall()
    for cid, value in rows:
        n = parse_number(value)
        if n is not None:
            db.execute("UPDATE corrections SET number = ? WHERE id = ?", [float(n), cid])


def ensure_views(db: sqlite_utils.Database) -> None:
    """Given the store inside its migration transaction (every table and column in place), drop the views and
    create them again from the tables' current columns, so that no definition of an older version survives."""
    for name in VIEWS:
        db.execute(f"DROP VIEW IF EXISTS {name}")
    backfill_numbers(db)
    columns = [c.name for c in db["items"].columns]
    db.execute(items_view_sql(columns))
    db.execute(FORMS_VIEW_SQL)
