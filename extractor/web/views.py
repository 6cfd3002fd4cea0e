"""What the review station's pages show, computed from effective Forms: plain dicts and strings for templates.

Numbers a person reads are 1-based (第1页 表1 第8行 第6列); the stored cells keep 0-based table/row/col, page
1-based, as everywhere in selfeval.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlite_utils
from markupsafe import Markup

from ..checks import ERROR, KINDS, WARNING
from ..evidence import WORD_KINDS, Evidence, form_to_evidence
from ..form import Discrepancy, Form, ItemResult
from ..report import (
    SEVERITY_LABEL,
    STATUS_LABEL,
    form_to_summary,
    kind_to_label,
    provenance_to_where,
    short_source,
    sources_to_folder,
)
from ..scores import fmt
from ..store import form_ids, load_form
from ..terminal import escape_char

log = logging.getLogger("selfeval.web")

STATUSES = ("flagged", "ok", "failed")
SIDE_NAME = {"self": "自评", "inspector": "督查"}
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
EVIDENCE_CACHE_SIZE = 32


# What a page shows as an escape rather than obeys: controls other than line breaks and tabs, the bidi embeddings,
# overrides and isolates and other invisible format characters, and the line and paragraph separators.
_INERT_KEEP = frozenset("\n\r\t")
_INERT_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def value_to_inert(value: Any) -> Any:
    """Given what a template prints, return it with every control, bidi and format character written as an escape
    (\u202e), as the command line shows them (extractor.terminal); markup stays markup, other values as they are."""
    if not isinstance(value, str) or not any(_is_inert(ch) for ch in value):
        return value
    out = "".join(escape_char(ch) if _is_inert(ch) else ch for ch in value)
    return Markup(out) if isinstance(value, Markup) else out


def _is_inert(ch: str) -> bool:
    return ch not in _INERT_KEEP and unicodedata.category(ch) in _INERT_CATEGORIES


def value_to_text(v: Any) -> str:
    """Given a score (Decimal, judgment or None), return it as a person reads it: 空 for a blank."""
    return "空" if v is None else fmt(v)


def is_open(d: Discrepancy) -> bool:
    """Given a discrepancy, return whether it still needs a reviewer: an error or warning nobody accepted."""
    return d.severity in (ERROR, WARNING) and not d.accepted


def discrepancy_to_text(d: Discrepancy) -> str:
    """Given a discrepancy, return one line naming it in Chinese first: kind, item and message."""
    item = f" {d.item}" if d.item else ""
    return f"{kind_to_label(d.kind)}{item}：{d.message}"


# --- the forms list ---------------------------------------------------------------------------------


@dataclass
class ListFilter:
    """The forms list's filters as given in the query string; `problems` says what was not understood."""

    status: str = ""
    kind: str = ""
    institution: str = ""
    date_from: str = ""
    date_to: str = ""
    include_all: bool = False
    problems: list[str] = field(default_factory=list)


def query_to_filter(params: dict[str, str]) -> ListFilter:
    """Given the forms list's query parameters, return the filter; a value it cannot use is named in problems and
    not applied (the page says so)."""
    f = ListFilter(institution=params.get("institution", "").strip(), include_all=params.get("all") == "1")
    status, kind = params.get("status", ""), params.get("kind", "")
    if status and status not in STATUSES:
        f.problems.append(f"未知状态 {status!r}：可选 {', '.join(STATUSES)}")
    else:
        f.status = status
    if kind and kind not in KINDS:
        f.problems.append(f"未知问题类型 {kind!r}")
    else:
        f.kind = kind
    for key, label in (("from", "起始日期"), ("to", "截止日期")):
        value = params.get(key, "").strip()
        if value and not _is_date(value):
            f.problems.append(f"{label} {value!r} 不是日期：请用 YYYY-MM-DD，例如 2024-07-21")
            value = ""
        setattr(f, "date_from" if key == "from" else "date_to", value)
    return f


def _is_date(text: str) -> bool:
    if not DATE_RE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def form_to_row(form_id: int, form: Form) -> dict[str, Any]:
    """Given an effective form, return its line in the forms list: counts of open errors and warnings and the open
    kinds in Chinese."""
    s = form_to_summary(form_id, form)
    kinds = list(OrderedDict.fromkeys(d.kind for d in form.discrepancies if is_open(d)))
    return {"id": form_id, "source": form.source, "institution": form.institution or "", "rubric": form.rubric or "",
            "fill_date": form.fill_date or "", "status": form.status,
            "status_label": STATUS_LABEL.get(form.status, form.status), "errors": s.errors, "warnings": s.warnings,
            "kinds": kinds, "kind_labels": [kind_to_label(k) for k in kinds], "error": form.error or "",
            # what the kind filter matches: every finding nobody accepted, info ones (自评督查不一致…) included
            "unaccepted_kinds": {d.kind for d in form.discrepancies if not d.accepted},
            "self_total": value_to_text(s.self_total) if s.self_total is not None else "—",
            "inspector_total": value_to_text(s.inspector_total) if s.inspector_total is not None else "—"}


def db_to_rows(db: sqlite_utils.Database, f: ListFilter) -> tuple[list[dict[str, Any]], int, int]:
    """Given the store and a filter, return the matching forms' lines (flagged first, most errors first), how many
    forms there are in all, and how many a date filter left out for having no fill date."""
    if "effective_forms" in db.view_names():
        lines = sql_rows(db, f.include_all)  # a few queries, whatever the number of forms
    else:  # a database of an older schema opened read-only has no views: load every form
        lines = []
        for fid in form_ids(db, include_superseded=f.include_all):
            try:
                lines.append(form_to_row(fid, load_form(db, fid)))
            except (ValueError, TypeError, KeyError, ArithmeticError) as e:
                log.error("form %s cannot be loaded: %r", fid, e)
                lines.append(damaged_row(db, fid))
    rows, undated = [], 0
    for row in lines:
        if f.status and row["status"] != f.status:
            continue
        if f.institution and f.institution.casefold() not in row["institution"].casefold() \
                and f.institution.casefold() not in row["source"].casefold():
            continue
        if f.date_from or f.date_to:
            if not row["fill_date"]:
                undated += 1
                continue
            if (f.date_from and row["fill_date"] < f.date_from) or (f.date_to and row["fill_date"] > f.date_to):
                continue
        if f.kind and f.kind not in row["unaccepted_kinds"]:
            continue
        rows.append(row)
    order = {"failed": 0, "flagged": 1, "ok": 2}
    rows.sort(key=lambda r: (order.get(r["status"], 3), -r["errors"], -r["warnings"], r["id"]))
    return rows, len(lines), undated


def sql_rows(db: sqlite_utils.Database, include_superseded: bool) -> list[dict[str, Any]]:
    """Given the store, return every form's line in the forms list from the stored (effective) status and findings
    and the effective_forms view's totals, without loading the forms: the review module keeps forms.status and
    the discrepancies table effective after every change."""
    found: dict[int, list[tuple[str, str, int]]] = {}
    for fid, kind, severity, accepted in db.execute(
            "SELECT form_id, kind, severity, coalesce(accepted, 0) FROM discrepancies ORDER BY id").fetchall():
        found.setdefault(fid, []).append((kind, severity, accepted))
    where = "" if include_superseded else " WHERE superseded_by IS NULL"
    lines = []
    for r in db.execute_returning_dicts(
            "SELECT id, source, institution, rubric, fill_date, status, error, printed, self_total, inspector_total "
            f"FROM effective_forms{where} ORDER BY id"):
        try:
            lines.append(_sql_row(r, found.get(r["id"], [])))
        except (ValueError, TypeError, KeyError, ArithmeticError) as e:
            # A row damaged by hand (bad JSON in a cell, say) makes one failed line, not a list nobody can open.
            log.error("form %s cannot be listed: %r", r["id"], e)
            lines.append(damaged_row(db, r["id"]))
    return lines


def _sql_row(r: dict[str, Any], found: list[tuple[str, str, int]]) -> dict[str, Any]:
    printed = next((p for p in json.loads(r["printed"] or "[]") if p["kind"] == "total"), {})
    opened = [(k, sev) for k, sev, accepted in found if sev in (ERROR, WARNING) and not accepted]
    kinds = list(OrderedDict.fromkeys(k for k, _ in opened))
    totals = {}
    for side in ("self", "inspector"):
        value = printed.get(side)
        value = Decimal(str(value)) if value not in (None, "") else (
            Decimal(str(r[f"{side}_total"])) if r[f"{side}_total"] is not None and r["status"] != "failed" else None)
        totals[side] = value_to_text(value) if value is not None else "—"
    return {"id": r["id"], "source": r["source"], "institution": r["institution"] or "", "rubric": r["rubric"] or "",
            "fill_date": r["fill_date"] or "", "status": r["status"],
            "status_label": STATUS_LABEL.get(r["status"], r["status"]),
            "errors": sum(1 for _, sev in opened if sev == ERROR), "warnings": sum(1 for _, sev in opened if sev == WARNING),
            "kinds": kinds, "kind_labels": [kind_to_label(k) for k in kinds], "error": r["error"] or "",
            "unaccepted_kinds": {k for k, _, accepted in found if not accepted},
            "self_total": totals["self"], "inspector_total": totals["inspector"]}


def damaged_row(db: sqlite_utils.Database, form_id: int) -> dict[str, Any]:
    """Given the id of a form whose stored rows cannot be loaded, return its line in the forms list: failed, with
    what the forms table still says of it."""
    source, institution = db.execute("SELECT source, institution FROM forms WHERE id = ?", [form_id]).fetchone()
    return {"id": form_id, "source": source or "", "institution": institution or "", "rubric": "", "fill_date": "",
            "status": "failed", "status_label": STATUS_LABEL.get("failed", "failed"), "errors": 0, "warnings": 0,
            "kinds": [], "kind_labels": [], "unaccepted_kinds": set(), "self_total": "—", "inspector_total": "—",
            "error": "数据库中这份表的记录已损坏，无法读取（服务器日志有详情）：请管理员检查数据库"}


def rows_to_folder(rows: list[dict[str, Any]]) -> str:
    """Given the forms list's lines, return the folder all their sources share ('' when none), and set each line's
    short_source to its source relative to it: the folder is shown once above the table."""
    folder = sources_to_folder([r["source"] for r in rows])
    for r in rows:
        r["short_source"] = short_source(r["source"], folder)
    return folder


def kind_options() -> list[tuple[str, str]]:
    """Return (kind, Chinese label) for every discrepancy kind, for the kind filter."""
    return [(k, kind_to_label(k)) for k in KINDS]


# --- one form ---------------------------------------------------------------------------------------


def cell_to_where(cell: dict[str, Any] | None) -> str:
    """Given a stored cell (0-based table/row/col, 1-based page), return where it is, 1-based: 第1页 表2 第8行 第6列."""
    if not cell:
        return ""
    parts = [f"第{cell['page']}页"] if cell.get("page") is not None else []
    for key, fmt_ in (("table", "表{}"), ("row", "第{}行"), ("col", "第{}列")):
        if isinstance(cell.get(key), int):
            parts.append(fmt_.format(cell[key] + 1))
    return " ".join(parts)


def item_to_where(it: ItemResult) -> str:
    """Given an item, return where its row and each side's cell are, 1-based."""
    if not it.present:
        return "表中无此行"
    sides = [f"{SIDE_NAME[s]} {cell_to_where(c)}" for s, c in (("self", getattr(it, "self_cell", None)),
                                                                   ("inspector", getattr(it, "inspector_cell", None)))
             if c]
    if sides:
        return "；".join(sides)
    return provenance_to_where({k: v for k, v in (it.provenance or {}).items() if k != "bbox"})


def _corrected(it: ItemResult, side: str) -> dict[str, str] | None:
    if side not in it.corrected:
        return None
    by = (it.corrected.get("by") or [{}])[-1]
    return {"extracted": value_to_text(it.corrected[side]), "who": by.get("who") or "", "why": by.get("why") or ""}


def item_to_view(it: ItemResult, findings: list[Discrepancy]) -> dict[str, Any]:
    """Given an item and its discrepancies, return what its row and its card on the form page show."""
    sides = []
    for side in ("self", "inspector"):
        value, raw = getattr(it, side), getattr(it, f"{side}_raw")
        # A cell with text that is no score has no value, but it is not blank: say it was not read.
        shown = "未读出" if value is None and raw and raw.strip() else value_to_text(value)
        sides.append({"side": side, "name": SIDE_NAME[side], "value": shown, "raw": raw, "note": getattr(it, f"{side}_note"),
                      "corrected": _corrected(it, side)})
    open_ = [d for d in findings if is_open(d)]
    default_side = next((d.side for d in open_ if d.side in SIDE_NAME), "self")
    return {"code": it.code, "category": it.category, "label": it.label, "raw_label": it.raw_label,
            "max": value_to_text(it.max) if it.max is not None else "—", "sides": sides, "where": item_to_where(it),
            "present": it.present, "default_side": default_side, "scoring": it.scoring,
            "findings": [finding_to_view(d) for d in findings], "open": bool(open_),
            "worst": "error" if any(d.severity == ERROR for d in open_) else ("warning" if open_ else "")}


def finding_to_view(d: Discrepancy) -> dict[str, Any]:
    """Given a discrepancy, return what the page shows of it and the acceptance form's fields."""
    accepted = d.accepted or {}
    return {"kind": d.kind, "kind_label": kind_to_label(d.kind), "item": d.item, "severity": d.severity,
            "severity_label": SEVERITY_LABEL.get(d.severity, d.severity), "message": d.message,
            "side": SIDE_NAME.get(d.side or "", ""), "open": is_open(d), "accepted": bool(d.accepted),
            "accepted_by": accepted.get("who") or "", "accepted_why": accepted.get("why") or "",
            "where": cell_to_where(d.row) if d.row else ""}


def form_to_page(form_id: int, form: Form, evidence: dict[str, Any]) -> dict[str, Any]:
    """Given an effective form and the evidence of its flagged items, return the form page's content: facts, the
    flagged items (those with open errors or warnings) in form order, the form-level findings, every item."""
    by_item: dict[str, list[Discrepancy]] = {}
    codes = {it.code for it in form.items}
    form_level = []
    for d in form.discrepancies:
        if d.item in codes:
            by_item.setdefault(d.item, []).append(d)
        else:
            form_level.append(d)  # null item, or an item this rubric no longer has: still shown, never dropped
    items = [item_to_view(it, by_item.get(it.code, [])) for it in form.items]
    for v in items:
        v["seen"] = seen_token(form, v["code"])
        for f in v["findings"]:
            f["seen"] = seen_token(form, f["item"], f["kind"])
    flagged = [v for v in items if v["open"]]
    for v in flagged:
        v["evidence"] = evidence.get(v["code"])
        v["page_image"] = form.kind in WORD_KINDS and v["present"]  # fetched apart: LibreOffice is slow
    s = form_to_summary(form_id, form)
    facts = [("机构", form.institution or "—"), ("填表日期", form.fill_date or "—"), ("评分表", form.rubric or "—"),
             ("来源文件", form.source),
             ("自评总分", value_to_text(s.self_total) if s.self_total is not None else "—"),
             ("督查总分", value_to_text(s.inspector_total) if s.inspector_total is not None else "—")]
    labels = {"batches": "评价批次", "certified_total": "发证人数", "certified_passed": "合格人数"}
    facts += [(labels[k], str(v)) for k, v in form.header.items() if v is not None and k in labels]
    return {"id": form_id, "form": form, "title": form.institution or form.source, "status": form.status,
            "status_label": STATUS_LABEL.get(form.status, form.status), "facts": facts, "errors": s.errors,
            "warnings": s.warnings, "flagged": flagged, "all_items": items,
            "form_level": [{**finding_to_view(d), "seen": seen_token(form, d.item, d.kind)} for d in form_level],
            "open_form_level": sum(1 for d in form_level if is_open(d))}


def seen_token(form: Form, item: str | None, kind: str | None = None) -> str:
    """Given an effective form, an item (None: form level) and, for an acceptance, the kind, return a token of what
    the page shows of them: the item's values and the findings of that kind. A change posted with a token that no
    longer matches was made on a page someone else changed since (see changes.stale)."""
    it = next((i for i in form.items if i.code == item), None) if item else None
    values = [value_to_text(it.self), value_to_text(it.inspector)] if it else None
    findings = sorted(d.message for d in form.discrepancies if kind and d.kind == kind and d.item == item)
    text = json.dumps([values, findings], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def flagged_codes(form: Form) -> list[str]:
    """Given a form, return the codes of its items with open errors or warnings, in form order."""
    codes = {d.item for d in form.discrepancies if is_open(d) and d.item}
    return [it.code for it in form.items if it.code in codes]


class EvidenceCache:
    """Evidence of recently viewed forms: rendering a page image can take a LibreOffice conversion, and a form's
    evidence depends only on its stored file and cells, never on corrections (keyed by id, bytes and items). One
    lock per key, so two images of one form asked for at once convert the file once."""

    def __init__(self, size: int = EVIDENCE_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}

    def get(self, form_id: int, form: Form, codes: list[str], page_images: bool = False) -> dict[str, Any]:
        """Given a form and the codes of its flagged items, return {code: evidence}; with page_images, Word forms
        get their page image too (LibreOffice: slow, so the page asks for it apart, see pages.evidence_image).
        When making evidence fails, each item's evidence says so: the page still shows raw text and location."""
        if not codes:
            return {}
        key = (form_id, form.sha256, tuple(codes), page_images)
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
            try:
                found = form_to_evidence(form_id, form, codes, page_images=page_images)
            except Exception as e:  # noqa: BLE001 — a page must still show the values when an image cannot be made
                log.warning("evidence for form %s failed: %s", form_id, e)
                found = {code: Evidence(note=f"无法生成证据图 no evidence image: {e}") for code in codes}
            with self._lock:
                self._items[key] = found
                while len(self._items) > self.size:
                    old, _ = self._items.popitem(last=False)
                    self._key_locks.pop(old, None)
        return found


def image_to_png(data_uri: str | None) -> bytes | None:
    """Given an evidence image (a data:image/png;base64 URI), return the PNG bytes, or None when it is none."""
    prefix = "data:image/png;base64,"
    if not data_uri or not data_uri.startswith(prefix):
        return None
    try:
        return base64.b64decode(data_uri[len(prefix):], validate=True)
    except ValueError:
        return None
