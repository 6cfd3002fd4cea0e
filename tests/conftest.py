"""Shared test helpers: real .docx files built with python-docx, the shared samples, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_FORMS = SHARED / "samples" / "forms"


def build_docx(path: Path, tables: list[dict], paragraphs: list[str] = ()) -> Path:
    """Write a .docx with the given paragraphs, then tables. Each table: {"rows": [[text, ...], ...],
    "merge": [((r0, c0), (r1, c1)), ...]} — merged ranges get their top-left text only."""
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    for spec in tables:
        rows = spec["rows"]
        n_cols = max(len(r) for r in rows)
        t = d.add_table(rows=len(rows), cols=n_cols)
        for (r0, c0), (r1, c1) in spec.get("merge", []):
            t.cell(r0, c0).merge(t.cell(r1, c1))
        covered = {(r, c) for (r0, c0), (r1, c1) in spec.get("merge", [])
                   for r in range(r0, r1 + 1) for c in range(c0, c1 + 1) if (r, c) != (r0, c0)}
        for r, (row, tr) in enumerate(zip(rows, t.rows, strict=True)):
            cells = tr.cells  # once per row: python-docx's t.cell(r, c) rebuilds the grid on every call
            for c, text in enumerate(row):
                if (r, c) not in covered and text:
                    cells[c].text = text
        if spec.get("gap"):
            d.add_paragraph(spec["gap"])
    d.save(path)
    return path


@pytest.fixture(scope="session")
def rubrics():
    import rubric

    return rubric.load_all()


@pytest.fixture(scope="session")
def qinghai(rubrics):
    return rubrics["qinghai-2024"]
