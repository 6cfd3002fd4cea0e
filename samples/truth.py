"""Ground truth of a FormSpec, in the format of the shared truth.json, computed from the printed texts."""

from __future__ import annotations

from decimal import Decimal

from samples.qinghai import get_rubric
from samples.spec import FormSpec, Row, as_json, parse_value

RUBRICS = {"qinghai": "qinghai-2024", "national": "national-2020"}


def truth_of(spec: FormSpec) -> dict:
    """Given a form spec, return its truth record: rubric, institution, fill_date, stats, items, totals, flags."""
    r = get_rubric(RUBRICS[spec.rubric])
    judg = r.judgments if spec.rubric == "national" else ()
    body = [row for row in spec.rows if row.kind == "item"]
    by_item = {row.item: row for row in body}
    insp_used = any(row.cells.get("insp", "").strip() for row in body)
    items: dict[str, dict] = {}
    flags: list[dict] = []
    sums = [Decimal(0), Decimal(0)]
    for it in r.items:
        row = by_item.get(it.label)
        cap = it.max if spec.rubric == "qinghai" or row is None else parse_value(row.cells.get("points", ""))[0]
        if row is None:
            items[it.label] = {"self": None, "inspector": None, "cap": as_json(cap)}
            flags.append({"label": it.label, "kind": "missing_item"})
            continue
        (sv, ss), (iv, si) = (parse_value(row.cells.get(k, ""), judg) for k in ("self", "insp"))
        kinds: list[str] = []
        for n, (val, st, used) in enumerate(((sv, ss, True), (iv, si, insp_used))):
            if isinstance(val, Decimal):
                sums[n] += val
                kinds += ["over_cap"] * (cap is not None and val > cap) + ["negative_score"] * (val < 0)
            kinds += ["non_numeric"] * (st == "text") + ["missing_score"] * (st == "blank" and used)
        if sv is not None and iv is not None and sv != iv:
            kinds.append("self_inspector_diff")
        flags += [{"label": it.label, "kind": k} for k in dict.fromkeys(kinds)]
        items[it.label] = {"self": as_json(sv), "inspector": as_json(iv), "cap": as_json(cap)}
    flags += [{"label": None, "kind": "unmatched_row"} for row in spec.rows if row.kind == "extra"]
    totals, bad_sum = _totals(spec.rows, sums)
    if bad_sum:
        flags.append({"label": None, "kind": "total_mismatch"})
    out = {"rubric": spec.rubric, "institution": spec.institution, "fill_date": spec.fill_date.isoformat()}
    if spec.stats is not None:
        out["stats"] = dict(spec.stats)
    return out | {"items": items, "totals": totals, "flags": flags}


def _totals(rows: list[Row], sums: list[Decimal]) -> tuple[dict, bool]:
    """Given all rows and the item sums (self, inspector), return (totals record, whether the sums disagree)."""
    printed = {row.kind: [parse_value(row.cells.get(k, ""))[0] for k in ("self", "insp")] for row in rows
               if row.kind in ("total", "bonus", "penalty", "grand")}
    if "total" not in printed:
        return {}, False
    (ts, ti), zero = printed["total"], [Decimal(0), Decimal(0)]
    (bs, bi), (ps, pi) = (printed.get(k, zero) for k in ("bonus", "penalty"))
    gs, gi = printed.get("grand", [ts, ti])
    bad = ts is not None and ts != sums[0]
    bad |= ti is not None and ti != sums[1]
    bad |= None not in (ts, gs) and gs != ts + (bs or 0) - (ps or 0)
    bad |= None not in (ti, gi) and gi != ti + (bi or 0) - (pi or 0)
    totals = {"self": ts, "self_computed": sums[0], "inspector": ti, "bonus": bs or 0, "penalty": ps or 0, "grand": gs}
    return {k: as_json(v) for k, v in totals.items()}, bad
