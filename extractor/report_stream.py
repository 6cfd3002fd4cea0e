"""A report read from the store one batch of forms at a time: summary lines of every form, and what each writer
makes of a form (its rows, its section) kept on disk until it is written in the summary's order.

Over 10,000 forms a report held every Form (3.7 GB for the xlsx); here it holds the summary lines and one batch.
The output is the one the writers make from a list of forms (forms_to_html, forms_to_md, forms_to_xlsx).
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable
from typing import Any

import sqlite_utils

from .form import OK, Form
from .report_model import Summary, form_to_summary, summary_order
from .store import form_ids
from .store_batch import FLAGGED_CELLS, ids_to_forms

EVIDENCE_CELLS = FLAGGED_CELLS  # the cells the HTML report's evidence cards read


class Spill:
    """What a report makes per form while the forms are read (rows, a section), kept in a temporary file until
    it is written in the summary's order: the report holds one form at a time, not the database. Pickled: our
    own values, read back by this process only."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()
        self.at: dict[int, tuple[int, int]] = {}

    def put(self, form_id: int, value: Any) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self.file.seek(0, os.SEEK_END)
        self.at[form_id] = (self.file.tell(), len(data))
        self.file.write(data)

    def get(self, form_id: int, default: Any = None) -> Any:
        if form_id not in self.at:
            return default
        offset, size = self.at[form_id]
        self.file.seek(offset)
        return pickle.loads(self.file.read(size))

    def close(self) -> None:
        self.file.close()


def db_to_report(db: sqlite_utils.Database, per_form: Callable[[int, Form, Summary], Any],
                 source: str | None = None, since: str | None = None, only_flagged: bool = False,
                 ingested_since: str | None = None, cells: bool | str = False) -> tuple[list[Summary], Spill]:
    """Given the store, what to keep of each form (per_form(id, form, summary); None keeps nothing), the filters
    (as db_to_forms) and which cells the forms need (see store_batch: FLAGGED_CELLS for evidence cards), read the forms
    batch by batch; return their summary lines in the summary's order and the kept values (a Spill, by id)."""
    ids = form_ids(db, source=source, since=since, ingested_since=ingested_since)
    summaries, spill = [], Spill()
    try:
        for fid, form, _ in ids_to_forms(db, ids, cells=cells):
            if only_flagged and form.status == OK:
                continue
            s = form_to_summary(fid, form)
            summaries.append(s)
            value = per_form(fid, form, s)
            if value is not None:
                spill.put(fid, value)
    except BaseException:
        spill.close()
        raise
    return sorted(summaries, key=summary_order), spill
