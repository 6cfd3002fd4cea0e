"""Indexes added after the tables were first made reach existing, up-to-date databases too (the migration makes
them when missing), and the views' totals read items through them."""

from __future__ import annotations

import sqlite3

from extractor.store import LATER_INDEXES, open_db

NAME = "idx_items_form_id_code_self_inspector"


def _indexes(path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        con.close()


def test_an_existing_database_without_a_later_index_gets_it_when_opened(tmp_path):
    path = tmp_path / "s.db"
    open_db(path).conn.close()
    assert set(LATER_INDEXES) <= _indexes(path)
    con = sqlite3.connect(path)
    con.execute(f"DROP INDEX {NAME}")
    con.commit()
    con.close()
    assert NAME not in _indexes(path)  # as made by the version before the index: up to date otherwise
    db = open_db(path)
    plan = " ".join(r[3] for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT sum(self_total), sum(inspector_total) FROM effective_forms").fetchall())
    db.conn.close()
    assert NAME in _indexes(path)
    assert f"COVERING INDEX {NAME}" in plan
