"""Review: reviewers' corrections and acceptances, stored beside (never over) extracted values."""

from __future__ import annotations

import getpass
import os
from decimal import Decimal

import sqlite_utils

from .checks import KINDS, apply_checks
from .form import FAILED, Form
from .scores import text_to_score
from .store import immediate, now, replace_discrepancies


class ReviewError(ValueError):
    """A correction that cannot be applied; the message says why."""


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def _corrections(db: sqlite_utils.Database, form_id: int) -> list[dict]:
    if "corrections" not in db.table_names():
        return []
    return list(db.execute_returning_dicts("SELECT * FROM corrections WHERE form_id = ? ORDER BY id", [form_id]))


def apply_corrections(db: sqlite_utils.Database, form_id: int, form: Form) -> int:
    """Given a loaded Form, apply its stored corrections (latest wins) and re-run the checks if any.
    Return how many corrections apply."""
    rows = _corrections(db, form_id)
    if not rows or form.status == FAILED:
        return 0
    items = {i.code: i for i in form.items}
    for c in rows:
        if c["action"] == "set" and c["item"] in items:
            it = items[c["item"]]
            field = c["field"]
            if field not in it.corrected:
                it.corrected[field] = getattr(it, field)
            setattr(it, field, _parse_value(c["value"], it))
            setattr(it, f"{field}_kind", "blank" if c["value"] in (None, "") else (
                "number" if isinstance(getattr(it, field), Decimal) else "judgment"))
            it.corrected.setdefault("by", []).append({"who": c["who"], "at": c["at"], "why": c["why"]})
    apply_checks(form)
    accepted = [(c["item"], c["kind"], c) for c in rows if c["action"] == "accept"]
    for d in form.discrepancies:
        for item, kind, c in accepted:
            if d.kind == kind and (item is None or d.item == item):
                d.accepted = {"who": c["who"], "at": c["at"], "why": c["why"]}
    live = [d for d in form.discrepancies if d.severity in ("error", "warning") and not d.accepted]
    form.status = "flagged" if live else "ok"
    return len(rows)


def _parse_value(value: str | None, it) -> Decimal | str | None:
    if value in (None, ""):
        return None
    s = text_to_score(value, ("符合", "基本符合", "不符合") if it.scoring != "points" else ())
    if s.kind == "number":
        return s.value
    return s.value if s.kind == "judgment" else value


def set_value(db: sqlite_utils.Database, form_id: int, item: str, field: str, value: str, why: str,
              who: str | None = None) -> Form:
    """Record a corrected value for one item's self or inspector score; return the effective Form."""
    from .store import load_form

    if field not in ("self", "inspector"):
        raise ReviewError(f"field must be self or inspector, not {field!r}")
    form = load_form(db, form_id, effective=False)
    if form.status == FAILED:
        raise ReviewError(f"form {form_id} failed to read ({form.error}); nothing to correct")
    it = next((i for i in form.items if i.code == item), None)
    if it is None:
        raise ReviewError(f"form {form_id} ({form.rubric}) has no item {item!r}: see `selfeval show {form_id}`")
    if value.strip():
        parsed = text_to_score(value, ("符合", "基本符合", "不符合") if it.scoring != "points" else ())
        if parsed.kind not in ("number", "judgment"):
            raise ReviewError(f"{value!r} is not a score for item {item}: give a number"
                              + (" or 符合/基本符合/不符合" if it.scoring != "points" else ""))
    previous = getattr(it, field)
    with immediate(db):  # a full disk or read-only file: one StoreError, nothing half-written
        db["corrections"].insert({"form_id": form_id, "item": item, "action": "set", "field": field,
                                  "value": value.strip(), "previous": None if previous is None else str(previous),
                                  "who": who or current_user(), "at": now(), "why": why})
    return refresh(db, form_id)


def accept(db: sqlite_utils.Database, form_id: int, kind: str, item: str | None, why: str,
           who: str | None = None) -> Form:
    """Record that a reviewer accepts a discrepancy (kind, on item or form-level); return the effective Form."""
    from .store import load_form

    form = load_form(db, form_id)
    if not any(d.kind == kind and (item is None or d.item == item) for d in form.discrepancies):
        # A kind this version does not list may be on the form all the same (a newer reader raised it), so the
        # list is only consulted to explain why nothing matched.
        if kind not in KINDS:
            raise ReviewError(f"unknown discrepancy kind {kind!r}: one of {', '.join(KINDS)}")
        where = f" on item {item}" if item else ""
        raise ReviewError(f"form {form_id} has no {kind} discrepancy{where}: see `selfeval show {form_id}`")
    with immediate(db):  # a full disk or read-only file: one StoreError, nothing half-written
        db["corrections"].insert({"form_id": form_id, "item": item, "action": "accept", "kind": kind,
                                  "who": who or current_user(), "at": now(), "why": why})
    return refresh(db, form_id)


def refresh(db: sqlite_utils.Database, form_id: int) -> Form:
    """Re-run the checks on the effective values and store the discrepancies and status; return the Form."""
    from .store import load_form

    form = load_form(db, form_id)
    replace_discrepancies(db, form, form_id)
    return form


def correction_count(db: sqlite_utils.Database, form_ids: list[int] | None = None) -> int:
    if "corrections" not in db.table_names():
        return 0
    if form_ids is None:
        return db["corrections"].count
    if not form_ids:
        return 0
    marks = ",".join("?" * len(form_ids))
    return db.execute(f"SELECT count(*) FROM corrections WHERE form_id IN ({marks})", form_ids).fetchone()[0]
