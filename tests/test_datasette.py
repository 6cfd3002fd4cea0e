"""Datasette metadata: `selfeval metadata` over a real database, served by the real Datasette."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
import urllib.parse
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

datasette_app = pytest.importorskip("datasette.app", reason="Datasette is in the dev extra")

FIXTURES = Path(__file__).parent / "fixtures" / "forms"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("ds")
    shutil.copy(FIXTURES / "filled_errors.docx", folder / "filled_errors.docx")
    db = folder / "审核库.db"  # Datasette names the database by the file's stem, Chinese too
    result = CliRunner().invoke(main, ["ingest", str(folder / "filled_errors.docx"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    out = folder / "metadata.json"
    result = CliRunner().invoke(main, ["metadata", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"datasette {db} -m {out}" in result.stderr
    return db, json.loads(out.read_text(encoding="utf-8"))


def _get(db: Path, meta: dict, path: str) -> str:
    ds = datasette_app.Datasette([str(db)], metadata=meta)

    async def fetch() -> str:
        r = await ds.client.get(urllib.parse.quote(path, safe="/?=&_"), follow_redirects=True)
        assert r.status_code == 200, (path, r.status_code)
        return r.text

    return asyncio.run(fetch())


def test_metadata_names_only_tables_and_columns_the_database_has(served):
    db, meta = served
    assert list(meta["databases"]) == ["审核库"]
    conn = sqlite3.connect(db)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    tables = meta["databases"]["审核库"]["tables"]
    assert {"forms", "items", "discrepancies", "corrections", "users", "effective_items", "effective_forms"} <= set(
        tables) <= names
    for table, conf in tables.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        assert set(conf.get("columns", {})) <= have, table
        assert set(conf.get("facets", [])) <= have, table
        if "label_column" in conf:
            assert conf["label_column"] in have
    css = urllib.parse.unquote(meta["extra_css_urls"][0].removeprefix("data:text/css,"))
    hidden = re.findall(r"\.table-(\w+) \.col-(\w+)", css)
    assert ("items", "row_cells") in hidden and ("forms", "printed") in hidden
    for table, column in hidden:
        assert column in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}, (table, column)


def test_items_are_labelled_by_institution_and_the_json_columns_hidden(served):
    db, meta = served
    (institution,) = sqlite3.connect(db).execute("SELECT institution FROM forms WHERE id = 1").fetchone()
    assert institution
    html = _get(db, meta, "/审核库/items?_size=2")
    assert f'<td class="col-form_id type-int"><a href="/审核库/forms/1">{institution}</a>' in html
    assert meta["extra_css_urls"][0] in html.replace("&#34;", '"')  # the hiding stylesheet is linked on the page
    assert "every cell of the row as printed" in _get(db, meta, "/审核库/items")


def test_the_users_table_is_hidden_and_the_views_are_described(served):
    db, meta = served
    index = _get(db, meta, "/审核库")
    assert "effective_items" in index and "/审核库/users" not in index
    page = _get(db, meta, "/审核库/effective_forms")
    assert "复核后的表" in page
