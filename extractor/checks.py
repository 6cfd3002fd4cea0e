"""Checks: a Form's arithmetic, caps and completeness -> discrepancies of fixed kinds.

Every check runs on the effective values (extracted, or corrected by a reviewer) and
knows nothing of file formats. Arithmetic is Decimal, so sums are exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .form import FAILED, FLAGGED, OK, Discrepancy, Finding, Form, ItemResult
from .matching.assign import DEFAULT_LOW_CONFIDENCE
from .scores import fmt, parse_number

ERROR, WARNING, INFO = "error", "warning", "info"

SEVERITY = {
    "over_cap": ERROR,
    "negative_score": ERROR,
    "non_numeric": WARNING,
    "missing_score": WARNING,
    "self_inspector_diff": INFO,
    "subtotal_mismatch": ERROR,
    "max_mismatch": WARNING,
    "total_mismatch": ERROR,
    "missing_item": WARNING,
    "unmatched_row": WARNING,
    "duplicate_item": ERROR,
    "low_confidence_match": WARNING,
    "low_confidence_value": WARNING,
    "header_missing": WARNING,
    # Raised while reading (layout, extract) as Findings; the checks only turn them into discrepancies.
    "column_conflict": WARNING,  # a row's cells don't line up with the header, or two cells compete for a score
    "unknown_column": WARNING,  # form-level: a column with an unknown header holds numbers
    "tick_ambiguous": WARNING,  # more than one tick on one side of a judgment row
    "deduction": INFO,  # a value computed as the max minus a deduction (扣N分, a 扣分 column)
    "full_marks": INFO,  # 满分 read as the item's max
    "formula_uncached": WARNING,  # a spreadsheet's formula cell saved without its value: read blank
    "text_layer_mismatch": WARNING,  # a searchable scan's own text layer reads another number than the page image
    "pages_reordered": WARNING,  # photos of one form read in their table's order, not their names' (pages_group)
}
KINDS = tuple(SEVERITY)
# A kind this version does not know (a newer reader's finding) still flags the form rather than passing silently.
DEFAULT_SEVERITY = WARNING
# Kinds that flag a score cell's value as unread: on that side, missing_score/non_numeric would only repeat them.
_EXPLAINS_VALUE = frozenset({"column_conflict", "tick_ambiguous", "formula_uncached"})
# OCR values read with less confidence than this are flagged for review.
DEFAULT_LOW_VALUE_CONFIDENCE = 0.80

SIDES = (("self", "自评"), ("inspector", "督查"))
# Per side: its name and the ItemResult attributes of its kind and raw text, spelt once (asked of every item).
_SIDE_FIELDS = tuple((side, name, f"{side}_kind", f"{side}_raw") for side, name in SIDES)


def severity_of(kind: str) -> str:
    """Given a discrepancy kind, return its severity (warning for a kind this version does not know)."""
    return SEVERITY.get(kind, DEFAULT_SEVERITY)


def _d(kind: str, item: str | None, message: str, side: str | None = None, row: dict[str, Any] | None = None,
       total: str | None = None, category: str | None = None) -> Discrepancy:
    # The row is copied: a discrepancy outlives re-checks, and must not change with the record it points at.
    return Discrepancy(item, kind, severity_of(kind), message, side=side, row=dict(row) if row else None,
                       total=total, category=category)


def _num(v) -> Decimal | None:
    return v if isinstance(v, Decimal) else None


def finding_to_discrepancy(f: Finding, item: str | None) -> Discrepancy:
    """Given a Finding raised while reading and the code of its item (None: form-level), return its discrepancy."""
    return _d(f.kind, item, f.message, side=f.side)


def _explained_sides(it: ItemResult) -> set[str]:
    return {f.side for f in it.findings if f.side and f.kind in _EXPLAINS_VALUE}


def _confidence_side(it: ItemResult) -> str | None:
    """The side whose cell was read least confidently, when the provenance tells it (per-side confidences, or
    only a self cell read)."""
    prov = it.provenance or {}
    per_side = {side: prov[f"{side}_confidence"] for side, _ in SIDES if prov.get(f"{side}_confidence") is not None}
    if per_side:
        return min(per_side, key=lambda side: (per_side[side], side != "self"))
    if it.inspector_raw is None:
        return "self"
    return None


def item_to_discrepancies(it: ItemResult, has_inspector: bool) -> list[Discrepancy]:
    """Given one item's effective values, return its value-level discrepancies, then those of its findings."""
    out: list[Discrepancy] = []
    if not it.present:
        return [_d("missing_item", it.code, f"{it.code} {it.label}：表中没有这一行")] + [
            finding_to_discrepancy(f, it.code) for f in it.findings]
    explained = _explained_sides(it)
    for side, name, kind_field, raw_field in _SIDE_FIELDS:
        value, kind, raw = getattr(it, side), getattr(it, kind_field), getattr(it, raw_field)
        n = _num(value)
        if n is not None and n < 0:
            out.append(_d("negative_score", it.code, f"{it.code} {name} {fmt(n)} 为负数", side=side))
        elif n is not None and it.max is not None and n > it.max:
            out.append(_d("over_cap", it.code, f"{it.code} {name} {fmt(n)} 超过分值 {fmt(it.max)}",
                          side=side))
        if side in explained:
            continue  # a finding on this side already says why its value is not read
        if kind == "text":
            out.append(_d("non_numeric", it.code, f"{it.code} {name}栏为「{(raw or '').strip()}」，不是分数",
                          side=side))
        elif kind == "blank" and (side == "self" or has_inspector):
            out.append(_d("missing_score", it.code, f"{it.code} {name}未填分", side=side))
    a, b = it.self, it.inspector
    if a is not None and b is not None and a != b:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            msg = f"{it.code} 自评 {fmt(a)}，督查 {fmt(b)}（相差 {fmt(a - b)}）"
        else:
            msg = f"{it.code} 自评 {fmt(a)}，督查 {fmt(b)}"
        out.append(_d("self_inspector_diff", it.code, msg))
    if it.printed_max is not None and it.max_source == "rubric" and it.max is not None:
        printed = parse_number(it.printed_max)
        if printed is not None and printed not in (it.max, it.group_max):
            expect = it.group_max if it.group_max is not None else it.max
            out.append(_d("max_mismatch", it.code,
                          f"{it.code} 表上分值 {fmt(printed)}，评分细则为 {fmt(expect)}"))
    if it.match_score is not None and it.match_score < DEFAULT_LOW_CONFIDENCE:
        out.append(_d("low_confidence_match", it.code,
                      f"{it.code} 匹配到的行「{it.raw_label}」，相似度 {it.match_score:.0f}"))
    conf = (it.provenance or {}).get("confidence")
    if conf is not None and conf < DEFAULT_LOW_VALUE_CONFIDENCE:
        out.append(_d("low_confidence_value", it.code, f"{it.code} OCR 识别置信度 {conf:.2f}",
                      side=_confidence_side(it)))
    out += [finding_to_discrepancy(f, it.code) for f in it.findings]
    return out


def _computed(form: Form, side: str) -> Decimal | None:
    vals = [_num(getattr(i, side)) for i in form.items if i.present]
    nums = [v for v in vals if v is not None]
    return sum(nums, Decimal(0)) if nums else None


def totals_to_discrepancies(form: Form) -> list[Discrepancy]:
    """Given a Form, return total_mismatch and subtotal_mismatch findings, per side, each naming the printed
    row it is about (row, total, category)."""
    out: list[Discrepancy] = []
    total, bonus, penalty, grand = (form.printed_total(k) for k in ("total", "bonus", "penalty", "grand"))
    for side, name in SIDES:
        computed = _computed(form, side)
        printed_total = _num(getattr(total, side)) if total else None
        if printed_total is not None and computed is not None and printed_total != computed:
            out.append(_d("total_mismatch", None,
                          f"{name}总分填 {fmt(printed_total)}，各项相加为 {fmt(computed)}",
                          side=side, row=total.provenance, total="total"))
        printed_grand = _num(getattr(grand, side)) if grand else None
        if printed_grand is not None:
            base = printed_total if printed_total is not None else computed
            b = (_num(getattr(bonus, side)) if bonus else None) or Decimal(0)
            p = (_num(getattr(penalty, side)) if penalty else None) or Decimal(0)
            if base is not None and printed_grand != base + b - p:
                out.append(_d("total_mismatch", None,
                              f"{name}合计填 {fmt(printed_grand)}，但总分 {fmt(base)} + 加分 {fmt(b)} "
                              f"- 减分 {fmt(p)} = {fmt(base + b - p)}", side=side, row=grand.provenance,
                              total="grand"))
        for sub in (s for s in form.printed if s.kind == "subtotal"):
            printed = _num(getattr(sub, side))
            if printed is None or not sub.category:
                continue
            members = [_num(getattr(i, side)) for i in form.items if i.present and i.category == sub.category]
            got = sum((v for v in members if v is not None), Decimal(0))
            if printed != got:
                out.append(_d("subtotal_mismatch", None,
                              f"{sub.category} {name}小计填 {fmt(printed)}，各项相加为 {fmt(got)}",
                              side=side, row=sub.provenance, total="subtotal", category=sub.category))
    return out


def form_to_discrepancies(form: Form) -> list[Discrepancy]:
    """Given a Form with its effective values, return every discrepancy, item by item then form-level."""
    if form.status == FAILED:
        return []
    has_inspector = form.has_inspector and any(
        i.inspector_kind not in (None, "blank") for i in form.items)
    out: list[Discrepancy] = []
    for it in form.items:
        out += item_to_discrepancies(it, has_inspector)
    out += totals_to_discrepancies(form)
    for row in form.extra_rows:
        where = _where(row.provenance)
        if row.kind == "duplicate":
            out.append(_d("duplicate_item", row.item,
                          f"行「{row.text}」{where}再次匹配 {row.item}（相似度 {row.match_score:.0f}），"
                          f"已保留匹配更好的一行", row=row.provenance))
        else:
            out.append(_d("unmatched_row", None,
                          f"行「{row.text}」{where}（自评 {row.self_raw.strip() or '空'}，"
                          f"督查 {row.inspector_raw.strip() or '空'}）对不上评分细则的任何条目", row=row.provenance))
    out += [finding_to_discrepancy(f, None) for f in form.findings]
    missing = [n for n, v in (("机构名称", form.institution), ("填表日期", form.fill_date)) if not v]
    if missing:
        out.append(_d("header_missing", None, f"表上没有找到{'和'.join(missing)}"))
    return out


def _where(prov: dict | None) -> str:
    if not prov:
        return ""
    if prov.get("page"):
        return f"（第{prov['page']}页）"
    return f"（表{prov.get('table', 0) + 1} 第{prov.get('row', 0) + 1}行）"


def apply_checks(form: Form) -> Form:
    """Given a Form, set its discrepancies and status from the effective values; return it.
    Accepted discrepancies (by a reviewer) stay listed but no longer flag the form."""
    if form.status == FAILED:
        return form
    accepted = {(d.item, d.kind, d.message): d.accepted for d in form.discrepancies if d.accepted}
    accepted_kinds = {(d.item, d.kind): d.accepted for d in form.discrepancies if d.accepted}
    form.discrepancies = form_to_discrepancies(form)
    for d in form.discrepancies:
        d.accepted = accepted.get((d.item, d.kind, d.message)) or accepted_kinds.get((d.item, d.kind))
    live = [d for d in form.discrepancies if d.severity in (ERROR, WARNING) and not d.accepted]
    form.status = FLAGGED if live else OK
    return form
