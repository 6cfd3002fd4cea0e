"""Stored rows back to objects (extractor/store_rows.py): a Form read from committed fixtures, stored in a real
SQLite file and loaded back - one at a time (store.load_form) and in batches (store_batch) - is the Form that was
stored, field by field (Decimals, findings, provenance, cells and all)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from extractor.extract import path_to_form
from extractor.store import load_form, open_db, save_form
from extractor.store_batch import ids_to_forms

FIXTURES = Path(__file__).parent / "fixtures" / "forms"
NAMES = ("filled_errors.docx", "national_filled.docx", "filled_pdf.pdf", "broken_truncated.docx")


@pytest.fixture(scope="module")
def stored(tmp_path_factory, rubrics):
    db = open_db(tmp_path_factory.mktemp("rows") / "rows.db")
    forms = [path_to_form(FIXTURES / name, rubrics) for name in NAMES]
    ids = [save_form(db, form) for form in forms]
    return db, forms, ids


def as_stored(form) -> dict:
    """A Form as plain data, as the store keeps it: a form that failed has no header read, and its three header
    columns load as None."""
    out = dataclasses.asdict(form)
    if not out["header"]:
        out["header"] = {"batches": None, "certified_total": None, "certified_passed": None}
    return out


def test_a_stored_form_loads_back_as_it_was_stored(stored):
    db, forms, ids = stored
    assert [f.status for f in forms] == ["flagged", "ok", "ok", "failed"]
    for form, fid in zip(forms, ids, strict=True):
        back = load_form(db, fid, effective=False)
        assert dataclasses.asdict(back) == as_stored(form), form.source
        assert [type(i.self) for i in back.items] == [type(i.self) for i in form.items]  # Decimal stays Decimal


def test_batches_load_the_stored_forms_too(stored):
    db, forms, ids = stored
    got = {fid: form for fid, form, _ in ids_to_forms(db, ids, effective=False, batch=2)}
    assert [dataclasses.asdict(got[fid]) for fid in ids] == [as_stored(f) for f in forms]
