"""Build the FormSpec of a filled national-indicator form (national-2020 rubric) from a Variant."""

from __future__ import annotations

import random
from decimal import Decimal

from samples import noise
from samples.official import NATIONAL_TITLE, NUMERALS
from samples.qinghai import get_rubric, split_tables
from samples.spec import FormSpec, Row, link, plain
from samples.variant import Variant, columns, draw_inspector, draw_score

BASE = ["cat", "label", "desc", "points", "self", "insp"]
HEADERS = {"seq": "序号", "cat": "一级指标", "label": "二级指标", "desc": "督导内容", "points": "分值",
           "self": "自评情况", "insp": "督查情况", "note": "备注"}


def cn_number(n: int) -> str:
    """Given 1..99, return the Chinese numeral (1 → 一, 12 → 十二)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else NUMERALS[tens - 1] + "十")
    return head + (NUMERALS[ones - 1] if ones else "")


def national_spec(v: Variant, rng: random.Random) -> FormSpec:
    """Given a variant (numbered, points, layout, no_inspector, missing_score/over_cap errors), return the spec."""
    r = get_rubric("national-2020")
    caps = _caps(rng, len(r.items)) if v.points else [None] * len(r.items)
    blank_self = rng.randrange(len(r.items)) if "missing_score" in v.errors else -1
    over = rng.randrange(len(r.items)) if "over_cap" in v.errors and v.points else -1
    sep = rng.choice(("．", ".", "、"))
    rows: list[Row] = []
    sums = [Decimal(0), Decimal(0)]
    for n, (it, cap) in enumerate(zip(r.items, caps, strict=True)):
        ci = int(it.category)
        cat = r.category(it.category).name
        sv, iv = _scores(rng, v, cap, r.judgments)
        if n == over:
            sv = cap + 1
        if n == blank_self:
            sv = None
        for k, x in enumerate((sv, iv)):
            sums[k] += x if isinstance(x, Decimal) else 0
        desc = "；".join(it.description.rstrip("。").split("；")[: rng.randint(1, 2)])
        cells = {"cat": f"{cn_number(ci)}、{cat}" if v.numbered else cat,
                 "label": f"{n + 1}{sep}{it.label}" if v.numbered else it.label,
                 "desc": desc, "points": "" if cap is None else plain(cap),
                 "self": noise.fmt_score(sv, v.fmt, rng), "insp": noise.fmt_score(iv, v.fmt, rng),
                 "seq": str(n + 1), "note": ""}
        rows.append(Row(cells, item=it.label, region={"cat": it.category}))
    link(rows)
    tail = []
    if v.points:
        ti = None if v.no_inspector else sums[1]
        tail = [Row({"cat": "合计", "points": "100", "self": noise.fmt_score(sums[0], v.fmt, rng),
                     "insp": noise.fmt_score(ti, v.fmt, rng)}, kind="total", span=("cat", "desc"))]
    inst, when = noise.institution(rng), noise.fill_date(rng)
    cover = [NATIONAL_TITLE, noise.name_line(inst, v.name_style), noise.date_line(when, v.date_style, "填报日期：")]
    base = BASE if v.points else [c for c in BASE if c != "points"]
    return FormSpec("national", inst, when, columns(v, base), dict(HEADERS), split_tables(rows, tail, v, rng),
                    cover, header_rows=1, layout=v.layout)


def _caps(rng: random.Random, n: int) -> list[Decimal]:
    caps = [Decimal(3)] * n
    for i in rng.sample(range(n), 100 - 3 * n):
        caps[i] += 1
    for _ in range(8):  # move points around, keeping the sum at 100
        i, j = rng.sample(range(n), 2)
        if caps[i] < 5 and caps[j] > 2:
            caps[i], caps[j] = caps[i] + 1, caps[j] - 1
    return caps


def _scores(rng: random.Random, v: Variant, cap: Decimal | None, judgments: tuple[str, ...]) -> tuple:
    if cap is not None:
        s = draw_score(rng, cap)
        return s, None if v.no_inspector else draw_inspector(rng, s, v.diff_rate)
    s = rng.choices(judgments, weights=(7, 2, 1))[0]
    if v.no_inspector:
        return s, None
    return s, s if rng.random() >= v.diff_rate else rng.choice([j for j in judgments if j != s])
