"""Review: reviewers' corrections and acceptances, stored beside (never over) extracted values.

Every change is a row in ``corrections``; nothing is ever deleted. An undo marks the row withdrawn (``undone_at``,
``undone_by``, ``undo_why``) and the checks run again. An acceptance is tied to one item (for kinds whose findings
name an item) and to the values it accepted (``accepted_values``): when a later correction or a re-read changes
them, the finding no longer matches the acceptance and comes back open. Every change says what it created and
resolved, so that no correction goes wrong quietly.
"""

from __future__ import annotations

import getpass
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import sqlite_utils

from .checks import ERROR, KINDS, WARNING
from .corrections import JUDGMENTS, _active, _finding_key, _item_values, _rows
from .form import FAILED, Discrepancy, Form, ItemResult
from .scores import fmt, normalize_decimal, text_to_score
from .store import _insert_discrepancies, immediate, load_form, now

SIDE_NAME = {"self": "自评", "inspector": "督查"}
SET_BACK_WHY = "set back to the extracted value"
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: a larger id names no row (and cannot be bound)


class ReviewError(ValueError):
    """A change that is refused; the message says why and how to go on (e.g. --force)."""


@dataclass
class Change:
    """What one review action did: the effective Form after it, the correction row it wrote (None when it wrote
    none), the open discrepancies it created and resolved, and one Chinese+English line saying what happened."""

    form: Form
    correction_id: int | None
    created: list[Discrepancy] = field(default_factory=list)
    resolved: list[Discrepancy] = field(default_factory=list)
    message: str = ""

    @property
    def status(self) -> str:
        return self.form.status


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def open_discrepancies(form: Form) -> list[Discrepancy]:
    """Given an effective Form, return its errors and warnings that no reviewer accepted."""
    return [d for d in form.discrepancies if d.severity in (ERROR, WARNING) and not d.accepted]


def _key(d: Discrepancy) -> tuple:
    return d.kind, d.item, d.side, d.total, d.category


def _difference(before: list[Discrepancy], after: list[Discrepancy]) -> list[Discrepancy]:
    """The discrepancies of `after` beyond those of `before`, counted by (kind, item, side, total, category)."""
    left = Counter(_key(d) for d in before)
    out = []
    for d in after:
        if left[_key(d)]:
            left[_key(d)] -= 1
        else:
            out.append(d)
    return out


def _write_checks(db: sqlite_utils.Database, form_id: int) -> Form:
    """Inside a write transaction: re-check the form on its effective values and store its discrepancies and status,
    so that the tables (and the views over them) agree with every report."""
    form = load_form(db, form_id)
    db.execute("DELETE FROM discrepancies WHERE form_id = ?", [form_id])
    _insert_discrepancies(db, form_id, form.discrepancies)
    db.execute("UPDATE forms SET status = ? WHERE id = ?", [form.status, form_id])
    return form


def _commit(db: sqlite_utils.Database, form_id: int, write, message: str) -> Change:
    """Run write(db) -> correction id and the re-check in one transaction; return the Change it made."""
    with immediate(db):  # a full disk or read-only file: one StoreError, nothing half-written
        # Read inside the transaction: another reviewer's change committed a moment ago is part of "before", so
        # what this change created and resolved is its own.
        before = load_form(db, form_id)
        cid = write(db)
        after = _write_checks(db, form_id)
    was, now_open = open_discrepancies(before), open_discrepancies(after)
    return Change(after, cid, _difference(was, now_open), _difference(now_open, was), message)


def refresh(db: sqlite_utils.Database, form_id: int) -> Form:
    """Given a form id, re-run the checks on the effective values and store the discrepancies and status;
    return the effective Form."""
    with immediate(db):
        return _write_checks(db, form_id)


def _item(form: Form, form_id: int, code: str) -> ItemResult:
    if form.status == FAILED:
        raise ReviewError(f"表 {form_id} 读取失败 form {form_id} failed to read ({form.error}); nothing to correct")
    it = next((i for i in form.items if i.code == code), None)
    if it is None:
        raise ReviewError(f"form {form_id} ({form.rubric}) has no item {code!r}: see `selfeval show {form_id}`")
    return it


def check_value(it: ItemResult, name: str, value: str, why: str, force: bool = False) -> Decimal | str | None:
    """Given an item as extracted, a field (self|inspector), the value a reviewer typed and the reason, return the
    value parsed, or raise ReviewError: text that is no score always; a blank reason unless force; a value below 0
    or above the max unless force or it is the extracted value (setting that back is no correction)."""
    if name not in SIDE_NAME:
        raise ReviewError(f"field must be self or inspector, not {name!r}")
    if not (why or "").strip() and not force:
        raise ReviewError('更正须写明原因 a correction needs a reason: give --why "…" (or --force to record it '
                          'without one)')
    if not value.strip():
        return None
    parsed = text_to_score(value, JUDGMENTS if it.scoring != "points" else ())
    # A cell's "1（已整改）" is 1 with a remark, but a value typed with anything after the number ("1e999" read as
    # 1, "0x1" as 0) is no score: storing the number alone would be silently wrong.
    if parsed.kind not in ("number", "judgment") or parsed.note is not None:
        raise ReviewError(f"{value!r} is not a score for item {it.code}: give a number"
                          + (" or 符合/基本符合/不符合" if it.scoring != "points" else ""))
    n = parsed.value if parsed.kind == "number" else None
    if n is not None and it.scoring == "judgment":
        raise ReviewError(f"{it.code} 按等级评定 is scored by judgment: give 符合/基本符合/不符合, not {value!r}")
    if _same(n, getattr(it, name)):
        return n
    where = f"{it.code} {SIDE_NAME[name]}"
    if n is not None and n < 0 and not force:
        raise ReviewError(f"{where} {fmt(n)} 低于 0 is below zero: check the value, or give --force to record it")
    if n is not None and it.max is not None and n > it.max and not force:
        raise ReviewError(f"{where} {fmt(n)} 超出分值 {fmt(it.max)} is above the item's max {fmt(it.max)}: check the "
                          f"value, or give --force to record it")
    return parsed.value


def _same(a: Decimal | str | None, b: Decimal | str | None) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    return type(a) is type(b) and a == b


def set_value(db: sqlite_utils.Database, form_id: int, item: str, field: str, value: str, why: str,
              who: str | None = None, force: bool = False) -> Change:
    """Given a form, an item, a field (self|inspector) and the correct value with its reason, record the correction
    and return the Change. A value equal to the extracted one is no correction: it withdraws the item's active
    corrections of that field instead. Raise ReviewError for a refused value (see check_value)."""
    extracted_form = load_form(db, form_id, effective=False)
    it = _item(extracted_form, form_id, item)
    parsed = check_value(it, field, value, why, force)
    before = load_form(db, form_id)
    who = who or current_user()
    where = f"{item} {SIDE_NAME[field]}"
    extracted = getattr(it, field)
    mine = [r for r in _active(_rows(db, form_id)) if r["action"] == "set" and r["item"] == item
            and r["field"] == field]
    if _same(parsed, extracted):
        if not mine:
            return Change(before, None, message=f"无变化 no change: {where} {fmt(parsed)} equals the extracted value")
        ids = [r["id"] for r in mine]

        def withdraw(db: sqlite_utils.Database) -> None:
            _mark_undone(db, ids, who, (why or "").strip() or SET_BACK_WHY)

        return _commit(db, form_id, withdraw,
                       f"撤回更正 withdrawn: {where} is the extracted {fmt(extracted)} again; "
                       f"{len(ids)} correction(s) withdrawn (#{', #'.join(map(str, ids))})")
    current = next(i for i in before.items if i.code == item)
    if mine and _same(parsed, getattr(current, field)):
        return Change(before, None, message=f"无变化 no change: {where} is already corrected to {fmt(parsed)} "
                                            f"(#{mine[-1]['id']})")
    stored = "" if parsed is None else _plain(parsed)

    def insert(db: sqlite_utils.Database) -> int:
        return db["corrections"].insert({
            "form_id": form_id, "item": item, "action": "set", "field": field, "value": stored,
            "number": float(parsed) if isinstance(parsed, Decimal) else None,
            "previous": None if extracted is None else str(extracted), "who": who, "at": now(),
            "why": (why or "").strip()}).last_pk

    return _commit(db, form_id, insert,
                   f"已更正 corrected: {where} {fmt(extracted)} → {stored or fmt(None)}" + ("（--force）" if force else ""))


def _plain(v: Decimal | str) -> str:
    """A value as a correction stores it: a number in positional notation, as the reader reads it back (Decimal
    writes 0.0000001 as 1E-7, which reads as 1 with the remark E-7)."""
    return format(normalize_decimal(v), "f") if isinstance(v, Decimal) else fmt(v)


def accept(db: sqlite_utils.Database, form_id: int, kind: str, item: str | None, why: str,
           who: str | None = None) -> Change:
    """Given a form, a discrepancy kind, its item (required for kinds whose findings name an item; None for
    form-level ones) and the reason, record that a reviewer accepts the findings of that kind on that item as they
    now read (their values are stored with the acceptance) and return the Change."""
    if not (why or "").strip():
        raise ReviewError('接受须写明原因 an acceptance needs a reason: give --why "…"')
    before = load_form(db, form_id)
    if before.status == FAILED:
        raise ReviewError(f"表 {form_id} 读取失败 form {form_id} failed to read ({before.error}); nothing to accept")
    of_kind = [d for d in before.discrepancies if d.kind == kind]
    matches = [d for d in of_kind if d.item == item]
    if not matches:
        items = sorted({d.item for d in of_kind if d.item})
        if item is None and items:
            raise ReviewError(f"{kind} 是逐项问题 is about items: give --item CODE (one of {', '.join(items)})")
        # A kind this version does not list may be on the form all the same (a newer reader raised it), so the
        # list is only consulted to explain why nothing matched.
        if kind not in KINDS and not of_kind:
            raise ReviewError(f"unknown discrepancy kind {kind!r}: one of {', '.join(KINDS)}")
        where = f" on item {item}" if item else " at form level"
        also = f" (it has one on {', '.join(items)})" if items else ""
        raise ReviewError(f"form {form_id} has no {kind} discrepancy{where}{also}: see `selfeval show {form_id}`")
    what = f"{kind} {item}" if item else kind
    if all(d.accepted for d in matches):
        return Change(before, None, message=f"无变化 no change: {what} is already accepted")
    it = next((i for i in before.items if i.code == item), None) if item else None
    snapshot = {"item": _item_values(it), "findings": [_finding_key(d) for d in matches]}
    who = who or current_user()

    def insert(db: sqlite_utils.Database) -> int:
        return db["corrections"].insert({
            "form_id": form_id, "item": item, "action": "accept", "kind": kind, "who": who, "at": now(),
            "why": why.strip(), "accepted_values": json.dumps(snapshot, ensure_ascii=False)}).last_pk

    return _commit(db, form_id, insert, f"已接受 accepted: {what} as it now reads")


def _mark_undone(db: sqlite_utils.Database, ids: list[int], who: str, why: str) -> None:
    # A row withdrawn meanwhile keeps who withdrew it first and why.
    marks = ",".join("?" * len(ids))
    db.execute(f"UPDATE corrections SET undone_at = ?, undone_by = ?, undo_why = ? WHERE id IN ({marks}) "
               "AND undone_at IS NULL", [now(), who, why, *ids])


def _already_withdrawn(c: dict) -> ReviewError:
    return ReviewError(f"#{c['id']} 已撤销 was already withdrawn on {c['undone_at']} by {c['undone_by']}: "
                       f"nothing to undo")


def row_to_text(c: dict) -> str:
    """Given a correction row, return what it did in one line ("更正 set 2.5.1 自评 = 1", "接受 accept over_cap 2.5.1")."""
    if c["action"] == "set":
        return f"更正 set {c['item']} {SIDE_NAME.get(c['field'], c['field'])} = {c['value'] or 'blank'}"
    return f"接受 accept {c['kind']}" + (f" {c['item']}" if c["item"] else "")


def undo(db: sqlite_utils.Database, correction_id: int, who: str | None = None, why: str = "") -> Change:
    """Given a correction or acceptance id, withdraw it (the row is kept, marked undone), re-run the checks and
    return the Change. Undoing a withdrawn row is refused."""
    row = db.execute_returning_dicts("SELECT * FROM corrections WHERE id = ?", [correction_id]) \
        if correction_id <= MAX_ROW_ID else []
    if not row:
        raise ReviewError(f"no correction #{correction_id}: see `selfeval review history`")
    c = row[0]
    if c.get("undone_at"):
        raise _already_withdrawn(c)
    form_id = c["form_id"]
    who = who or current_user()

    def withdraw(db: sqlite_utils.Database) -> int:
        # Checked again inside the transaction: two reviewers undoing one row at once, the second is refused.
        now_row = db.execute_returning_dicts("SELECT * FROM corrections WHERE id = ?", [correction_id])[0]
        if now_row.get("undone_at"):
            raise _already_withdrawn(now_row)
        _mark_undone(db, [correction_id], who, (why or "").strip())
        return correction_id

    return _commit(db, form_id, withdraw, f"已撤销 withdrawn: #{correction_id} {row_to_text(c)}")


def history(db: sqlite_utils.Database, form_id: int | None = None) -> list[dict]:
    """Given the store (and a form id, or None for all), return every correction and acceptance row, newest first,
    withdrawn ones included (undone_at/undone_by/undo_why set), each with its form's source and institution."""
    if "corrections" not in db.table_names():
        return []
    where = " WHERE c.form_id = ?" if form_id is not None else ""
    rows = db.execute_returning_dicts(
        "SELECT c.*, f.source AS source, f.institution AS institution FROM corrections c "
        f"LEFT JOIN forms f ON f.id = c.form_id{where} ORDER BY c.id DESC", [form_id] if form_id is not None else [])
    out = []
    for r in rows:
        r = dict(r)
        for k in ("number", "undone_at", "undone_by", "undo_why", "accepted_values"):
            r.setdefault(k, None)  # a schema-2 file opened read-only lacks them
        if r["accepted_values"]:
            r["accepted_values"] = json.loads(r["accepted_values"])
        out.append(r)
    return out


def correction_count(db: sqlite_utils.Database, form_ids: list[int] | None = None) -> int:
    """Given the store (and form ids, or None for all), return how many active corrections and acceptances apply."""
    if "corrections" not in db.table_names():
        return 0
    active = "undone_at IS NULL" if "undone_at" in {c.name for c in db["corrections"].columns} else "1"
    if form_ids is None:
        return db.execute(f"SELECT count(*) FROM corrections WHERE {active}").fetchone()[0]
    if not form_ids:
        return 0
    marks = ",".join("?" * len(form_ids))
    return db.execute(f"SELECT count(*) FROM corrections WHERE {active} AND form_id IN ({marks})",
                      form_ids).fetchone()[0]
