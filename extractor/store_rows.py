"""Stored rows -> the objects they were stored from: a forms, items or discrepancies row (a dict of its columns)
to its Form, ItemResult or Discrepancy. ``store.load_form`` (one form) and ``store_batch`` (200 at a time) build
their Forms with these, so the two cannot differ. A column an older schema lacks reads as None (``dict.get``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .form import Discrepancy, ExtraRow, Finding, Form, ItemResult, PrintedTotal


def _unval(v: Any) -> Decimal | str | None:
    if v is None or isinstance(v, str):
        return v
    return Decimal(str(v)).normalize() if v != int(v) else Decimal(int(v))


def json_to_findings(text: str | None) -> list[Finding]:
    """Given stored findings JSON (or None), return the findings."""
    return [Finding(f["kind"], f["message"], f.get("side")) for f in json.loads(text or "[]")]


# The store writes its JSON itself (json.dumps: no leading whitespace), so the C scanner reads it without
# json.loads' two whitespace matches per call; a few hundred thousand calls over 10,000 forms.
_scan = json.JSONDecoder().raw_decode
# A stored number -> its Decimal: scores repeat (0.5, 1, 2 …), and a Decimal is immutable, so one is shared.
_DECIMALS: dict[Any, Any] = {}


def json_text_to_value(text: str | None) -> Any:
    """Given JSON text the store wrote (or None or empty), return its value (None for none)."""
    return _scan(text)[0] if text else None


def _findings(text: str | None) -> list:
    return json_to_findings(text) if text else []


def _dec(v: Any) -> Any:
    """_unval, remembered per value (1 and 1.0 give the same Decimal there too)."""
    if v is None or isinstance(v, str):
        return v
    d = _DECIMALS.get(v)
    if d is None:
        if len(_DECIMALS) > 100_000:
            _DECIMALS.clear()
        d = _DECIMALS[v] = _unval(v)
    return d


def row_to_form(f: dict[str, Any]) -> Form:
    """Given a forms row (a dict), return its Form without items and discrepancies."""
    form = Form(
        source=f["source"],
        sha256=f["sha256"],
        status=f["status"],
        error=f["error"],
        rubric=f["rubric"],
        rubric_score=f["rubric_score"],
        institution=f["institution"],
        fill_date=f["fill_date"],
        header={k: f[k] for k in ("batches", "certified_total", "certified_passed")},
        has_inspector=bool(f["has_inspector"]),
        kind=f["kind"],
        findings=_findings(f.get("findings")),
        path=f.get("path"),
        tables=json_text_to_value(f.get("tables")) or [],
    )
    for p in json.loads(f["printed"] or "[]"):
        form.printed.append(
            PrintedTotal(
                kind=p["kind"],
                self=_unval(p["self"]),
                inspector=_unval(p["inspector"]),
                self_raw=p["self_raw"],
                inspector_raw=p["inspector_raw"],
                category=p.get("category"),
                provenance=p.get("provenance"),
            )
        )
    form.extra_rows = [ExtraRow(**e) for e in json.loads(f["extra_rows"] or "[]")]
    return form


_PROVENANCE = (
    ("table", "table_no"),
    ("row", "row_no"),
    ("col", "col_no"),
    ("page", "page"),
    ("confidence", "confidence"),
)


def row_to_item(r: dict[str, Any]) -> ItemResult:
    """Given an items row (a dict), return its ItemResult."""
    prov = {}
    for key, column in _PROVENANCE:
        v = r[column]
        if v is not None:
            prov[key] = v
    if r["bbox"]:
        prov["bbox"] = json_text_to_value(r["bbox"])
    return ItemResult(
        code=r["code"],
        category=r["category"],
        label=r["label"],
        max=_dec(r["max"]),
        scoring=r["scoring"],
        max_source=r["max_source"],
        printed_max=r["printed_max"],
        group_max=_dec(r["group_max"]),
        self=_dec(r["self"]),
        inspector=_dec(r["inspector"]),
        self_raw=r["self_raw"],
        inspector_raw=r["inspector_raw"],
        self_kind=r["self_kind"],
        inspector_kind=r["inspector_kind"],
        raw_label=r["raw_label"],
        match_score=r["match_score"],
        provenance=prov or None,
        self_note=r.get("self_note"),
        inspector_note=r.get("inspector_note"),
        findings=_findings(r.get("findings")),
        self_cell=json_text_to_value(r.get("self_cell")),
        inspector_cell=json_text_to_value(r.get("inspector_cell")),
        row_cells=json_text_to_value(r.get("row_cells")),
    )


def row_to_discrepancy(d: dict[str, Any]) -> Discrepancy:
    """Given a discrepancies row (a dict), return its Discrepancy."""
    return Discrepancy(
        d["item"],
        d["kind"],
        d["severity"],
        d["message"],
        {"accepted": True} if d["accepted"] else None,
        side=d.get("side"),
        row=json.loads(d["row"]) if d.get("row") else None,
        total=d.get("total"),
        category=d.get("category"),
    )
