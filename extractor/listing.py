"""`selfeval list`: one line per form saying who it is from, whether it passed and why not; and the candidates an
ambiguous KEY of `show`/`review` names.

Read from the tables, whose discrepancies and status the review module keeps effective after every change.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sqlite_utils

from .checks import ERROR, WARNING
from .form import FAILED, FLAGGED, OK, STATUS_ZH
from .terminal import safe

STATUS_TEXT = {status: f"{zh} {status}" for status, zh in STATUS_ZH.items()}  # "需复核 flagged"
STATUSES = (OK, FLAGGED, FAILED)


def status_to_text(status: str) -> str:
    """Given a form status, return it in Chinese beside the English ("需复核 flagged")."""
    return STATUS_TEXT.get(status, status)


def db_to_listing(db: sqlite_utils.Database, status: str | None = None,
                  include_superseded: bool = False) -> list[dict[str, Any]]:
    """Given the store (and a status to keep, or None), return one dict per form in ingest order: id, institution,
    status, errors, warnings (open: no reviewer accepted them), kinds (the open kinds, each with its count and item
    codes), source, fill_date, superseded_by, error."""
    from .report import kind_to_label  # the report names kinds; imported here so `show` needs no report

    where, args = [], []
    if not include_superseded:
        where.append("superseded_by IS NULL")
    if status:
        where.append("status = ?")
        args.append(status)
    sql = ("SELECT id, institution, status, source, fill_date, superseded_by, error FROM forms"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id")
    forms = [dict(r) for r in db.execute_returning_dicts(sql, args)]
    found: dict[int, list] = {}
    for fid, kind, severity, item in db.execute(
            "SELECT form_id, kind, severity, item FROM discrepancies WHERE coalesce(accepted, 0) = 0 "
            "AND severity IN (?, ?) ORDER BY id", [ERROR, WARNING]).fetchall():
        found.setdefault(fid, []).append((kind, severity, item))
    for f in forms:
        mine = found.get(f["id"], [])
        kinds: dict[str, dict] = {}
        for kind, _, item in mine:
            k = kinds.setdefault(kind, {"kind": kind, "label": kind_to_label(kind), "count": 0, "items": []})
            k["count"] += 1
            if item and item not in k["items"]:
                k["items"].append(item)
        f.update(errors=sum(1 for _, s, _ in mine if s == ERROR), warnings=sum(1 for _, s, _ in mine if s == WARNING),
                 kinds=list(kinds.values()))
    return forms


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, n: int) -> str:
    return s + " " * max(0, n - _width(s))


def _kinds_text(row: dict) -> str:
    if row["status"] == FAILED:
        return f"读取失败 {row['error'] or ''}".strip()
    parts = []
    for k in row["kinds"]:
        items = "、".join(k["items"][:5]) + ("…" if len(k["items"]) > 5 else "")
        parts.append(k["label"] + (f" {items}" if items else "") + (f" ×{k['count']}" if k["count"] > 1 else ""))
    return "；".join(parts) or "—"


LIST_HEADER = ("编号 id", "机构 institution", "状态 status", "错误 errors", "警告 warnings", "待处理 open kinds",
               "来源 source")


def listing_to_lines(rows: list[dict]) -> list[str]:
    """Given db_to_listing's rows, return the aligned lines a person reads: a header, then one line per form."""
    table = [LIST_HEADER] + [
        (str(r["id"]), safe(r["institution"] or "—"), status_to_text(r["status"]),
         "—" if r["status"] == FAILED else str(r["errors"]), "—" if r["status"] == FAILED else str(r["warnings"]),
         safe(_kinds_text(r)), safe(r["source"])) for r in rows]
    widths = [max(_width(row[i]) for row in table) for i in range(len(LIST_HEADER) - 1)]
    return ["  ".join(_pad(cell, widths[i]) if i < len(widths) else cell for i, cell in enumerate(row)).rstrip()
            for row in table]


def candidates_to_lines(db: sqlite_utils.Database, ids: list[int]) -> list[str]:
    """Given the ids an ambiguous key names, return one line per candidate: id, institution, status, source."""
    out = []
    for fid in ids:
        r = db.execute("SELECT institution, status, source, superseded_by FROM forms WHERE id = ?", [fid]).fetchone()
        if r is None:
            continue
        later = f"  （已被 {r[3]} 取代 superseded by {r[3]}）" if r[3] else ""
        out.append(safe(f"  {fid}  {r[0] or '—'}  {status_to_text(r[1])}  {r[2]}{later}"))
    return out
