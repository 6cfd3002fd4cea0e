"""Datasette metadata for a selfeval database: `selfeval metadata -o metadata.json`, then
`datasette selfeval.db -m metadata.json`.

The descriptions, labels and facets are data (metadata.json beside this module). Datasette has no setting that
hides a column by default, so the large JSON columns listed under ``hidden_columns`` are hidden by a stylesheet
given inline as a data: URL (nothing is fetched; ``?_nocol=`` and the CSV/JSON downloads still have them).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from importlib import resources
from pathlib import Path

_TEMPLATE_DB = "selfeval"


def _css_class(name: str) -> str:
    # Datasette's to_css_class keeps a name of letters, digits, _ and - as it is (our tables and columns all are).
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ValueError(f"{name!r} is not a plain table or column name")
    return name


def hidden_columns_to_css(hidden: dict[str, list[str]]) -> str:
    """Given table -> columns to hide, return the CSS that hides them on Datasette's table and row pages."""
    rules = [f".table-{_css_class(t)} .col-{_css_class(c)}" for t, cols in hidden.items() for c in cols]
    return ", ".join(rules) + " { display: none; }" if rules else ""


def database_to_metadata(db_path: str | Path) -> dict:
    """Given a database path, return Datasette metadata for it (Datasette names a database by its file's stem)."""
    data = json.loads(resources.files(__package__).joinpath("metadata.json").read_text(encoding="utf-8"))
    hidden = data.pop("hidden_columns", {})
    data["databases"] = {Path(db_path).stem: data["databases"][_TEMPLATE_DB]}
    css = hidden_columns_to_css(hidden)
    if css:
        data["extra_css_urls"] = ["data:text/css," + urllib.parse.quote(css)]
    return data
