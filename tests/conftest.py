"""Test helpers: real .docx files built with python-docx, the bundled generated samples and their truth."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import docx
import pytest

# The generated samples committed with the project (python -m samples.generate) and their ground truth.
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "forms"
TRUTH_FILE = SAMPLES.parent / "truth.json"


@cache
def truth(name: str) -> dict:
    """samples/truth.json's record of one bundled sample."""
    return json.loads(TRUTH_FILE.read_text(encoding="utf-8"))[name]


def truth_items(name: str) -> dict:
    """{item code: {"self", "inspector", "cap"}} of a bundled sample: truth.json names items by the rubric's
    canonical label, the rubric gives the code."""
    import rubric

    t = truth(name)
    rb = rubric.load_all()[{"qinghai": "qinghai-2024", "national": "national-2020"}[t["rubric"]]]
    by_label = {i.label: i.code for i in rb.items}
    return {by_label[label]: v for label, v in t["items"].items()}


def truth_flags(name: str) -> set[tuple[str, str | None]]:
    """{(kind, item code or None)} of a bundled sample's planted discrepancies, self_inspector_diff left out."""
    import rubric

    t = truth(name)
    rb = rubric.load_all()[{"qinghai": "qinghai-2024", "national": "national-2020"}[t["rubric"]]]
    by_label = {i.label: i.code for i in rb.items}
    return {(f["kind"], by_label[f["label"]] if f["label"] else None) for f in t["flags"]
            if f["kind"] != "self_inspector_diff"}


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


# --- skips in CI ----------------------------------------------------------------------------------------
# CI installs every extra and program the tests use (LibreOffice, OCR, fonts), so a skip there means a test
# silently did not run: with CI set in the environment, a skip fails unless the test is marked
# @pytest.mark.expected_skip("why") (an OS or kernel feature CI cannot have, e.g. a read-only mount namespace).


def _skip_reason(report) -> str:
    lr = report.longrepr
    return lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr)


def _fail_skip(report, what: str) -> None:
    reason = _skip_reason(report).removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = (f"{what} skipped in CI ({reason}); install what it needs, or mark it "
                       "@pytest.mark.expected_skip(reason) if the skip is expected")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("expected_skip") is None):
        _fail_skip(report, item.nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped:  # a module-level importorskip: the whole file did not run
        _fail_skip(report, collector.nodeid)


def copy_database(src: Path, target: Path) -> Path:
    """Copy a database made once per module for one test to change (SQLite's backup reads through the WAL)."""
    import sqlite3

    s, d = sqlite3.connect(src), sqlite3.connect(target)
    try:
        s.backup(d)
    finally:
        s.close()
        d.close()
    return target


WEB_FORMS = ("filled_errors.docx", "national_filled.docx", "filled_pdf.pdf")


def ingest_web_forms(tmp_path_factory) -> Path:
    """Ingest the review station's test forms (tests/fixtures/forms: filled_errors.docx flagged with over_cap on
    3.1.2, whose self cell reads 3 and max is 1, and total_mismatch; national_filled.docx; filled_pdf.pdf) into a
    database made once per module; return its path."""
    import shutil

    from click.testing import CliRunner

    from cli import main

    folder = tmp_path_factory.mktemp("inbox")
    for name in WEB_FORMS:
        shutil.copy(Path(__file__).parent / "fixtures" / "forms" / name, folder / name)
    db = tmp_path_factory.mktemp("db") / "template.db"
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db


def stop_process(proc) -> None:
    """Stop a server started by a test: terminate, and kill it when it does not end within 10 s."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
