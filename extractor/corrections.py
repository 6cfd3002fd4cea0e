"""Corrections applied: a loaded Form with its reviewers' active corrections and acceptances, the checks re-run.

The store calls it to load a form as it now stands (effective values), and the review module to record and undo
changes; it reads the corrections table with plain SQL and imports neither, so neither imports the other.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlite_utils

from .checks import ERROR, WARNING, apply_checks
from .form import FAILED, Discrepancy, Form, ItemResult
from .scores import fmt, text_to_score

JUDGMENTS = ("符合", "基本符合", "不符合")


def _rows(db: sqlite_utils.Database, form_id: int) -> list[dict]:
    if "corrections" not in db.table_names():
        return []
    return list(db.execute_returning_dicts("SELECT * FROM corrections WHERE form_id = ? ORDER BY id", [form_id]))


def _active(rows: list[dict]) -> list[dict]:
    # A database of schema 2 (opened read-only, never migrated) has no undone_at: all its rows are active.
    return [r for r in rows if not r.get("undone_at")]


def _snap(v: Any) -> str | None:
    """A value as an acceptance records it: exact text (Decimal normalised), None for blank."""
    return None if v is None else fmt(v)


def _item_values(it: ItemResult | None) -> dict[str, str | None] | None:
    return None if it is None else {"self": _snap(it.self), "inspector": _snap(it.inspector)}


def _finding_key(d: Discrepancy) -> list:
    return [d.side, d.total, d.category, d.message]


def _accepts(c: dict, d: Discrepancy, items: dict[str, ItemResult]) -> bool:
    """Whether acceptance row c covers discrepancy d as the form now reads."""
    if d.kind != c["kind"] or d.item != c["item"]:
        return False
    snapshot = c.get("accepted_values")
    if not snapshot:
        # Accepted by an earlier version, which recorded no values: it covers exactly its (kind, item), and an
        # item-less row only the form-level findings, never every item of the kind.
        return True
    snapshot = json.loads(snapshot)
    if _finding_key(d) not in snapshot.get("findings", []):
        return False  # the sum, the value or the row it was about is no longer the same
    return snapshot.get("item") is None or snapshot["item"] == _item_values(items.get(d.item))


def _parse_value(value: str | None, it: ItemResult) -> Decimal | str | None:
    if value in (None, ""):
        return None
    s = text_to_score(value, JUDGMENTS if it.scoring != "points" else ())
    return s.value if s.kind in ("number", "judgment") else value


def apply_corrections(db: sqlite_utils.Database, form_id: int, form: Form) -> int:
    """Given a loaded Form, apply its active corrections (latest wins), re-run the checks and mark the findings
    that an active acceptance still covers. Return how many active corrections and acceptances apply."""
    rows = _rows(db, form_id)
    if not rows or form.status == FAILED:
        return 0
    active = _active(rows)
    items = {i.code: i for i in form.items}
    for c in active:
        if c["action"] == "set" and c["item"] in items:
            it = items[c["item"]]
            name = c["field"]
            if name not in it.corrected:
                it.corrected[name] = getattr(it, name)
            setattr(it, name, _parse_value(c["value"], it))
            setattr(it, f"{name}_kind", "blank" if c["value"] in (None, "") else (
                "number" if isinstance(getattr(it, name), Decimal) else "judgment"))
            it.corrected.setdefault("by", []).append({"who": c["who"], "at": c["at"], "why": c["why"],
                                                      "id": c["id"]})
    # Acceptances are decided here from the corrections table alone: a flag stored with an earlier check must not
    # carry over to a finding whose values have changed since.
    for d in form.discrepancies:
        d.accepted = None
    apply_checks(form)
    acceptances = [c for c in active if c["action"] == "accept"]
    for d in form.discrepancies:
        c = next((c for c in reversed(acceptances) if _accepts(c, d, items)), None)
        if c is not None:
            d.accepted = {"who": c["who"], "at": c["at"], "why": c["why"]}
    live = [d for d in form.discrepancies if d.severity in (ERROR, WARNING) and not d.accepted]
    form.status = "flagged" if live else "ok"
    return len(active)
