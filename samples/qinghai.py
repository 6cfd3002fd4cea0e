"""Build the FormSpec of a filled Qinghai 2024 form (qinghai-2024 rubric) from a Variant."""

from __future__ import annotations

import random
from decimal import Decimal
from functools import cache

import rubric
from samples import noise
from samples.official import METHODS, QH_COVER, QH_MAKER, QH_STATS, QH_TITLE, SECTION_TEXT
from samples.plant import Values, plant
from samples.spec import FormSpec, Row, TableSpec, link, plain
from samples.variant import Variant, columns, draw_inspector, draw_score

BASE = ["cat", "sec", "label", "points", "method", "self", "insp"]
HEADERS = {"seq": "序号", "cat": "大项", "sec": "中项", "label": "小项", "points": "分值", "method": "督查方法和标准",
           "note": "备注"}
SPAN = ("cat", "label")


@cache
def get_rubric(rid: str) -> rubric.Rubric:
    """Given a rubric id, return the bundled rubric (loaded once)."""
    return rubric.load_all()[rid]


def qinghai_spec(v: Variant, rng: random.Random) -> FormSpec:
    """Given a variant and a random generator, return the spec of one filled Qinghai form."""
    r = get_rubric("qinghai-2024")
    values: Values = {}
    for it in r.items:
        s = draw_score(rng, it.max)
        values[it.label] = [s, None if v.no_inspector else draw_inspector(rng, s, v.diff_rate)]
    rows = _item_rows(r, rng, v.layout == "merged")
    rows, mismatch = plant(v, rng, r, values, rows)
    if v.shuffle:
        rows = _shuffle(rows, rng)
    for n, row in enumerate(rows, 1):
        sv, iv = values[row.item] if row.item is not None else (Decimal(0), None if v.no_inspector else Decimal(0))
        row.cells["self"], row.cells["insp"] = noise.fmt_score(sv, v.fmt, rng), noise.fmt_score(iv, v.fmt, rng)
        if row.item is not None and rng.random() < v.noise:
            row.cells["label"] = noise.noisy_label(row.item, rng, v.noise_kinds)
        row.cells["seq"] = str(n)
        row.cells["note"] = "已整改" if rng.random() < 0.05 else ""
    link(rows)
    inst, when = noise.institution(rng), noise.fill_date(rng)
    total = rng.randint(100, 2500)
    stats = {"batches": rng.randint(2, 20), "certified_total": total,
             "certified_passed": int(total * rng.uniform(0.7, 0.98))}
    cover = QH_COVER + [noise.name_line(inst, v.name_style), noise.date_line(when, v.date_style), QH_MAKER, QH_TITLE]
    headers = HEADERS | {"self": v.self_header, "insp": v.insp_header}
    tables = split_tables(rows, _total_rows(v, rng, values, mismatch), v, rng)
    return FormSpec("qinghai", inst, when, columns(v, BASE), headers, tables, cover, stats, QH_STATS,
                    v.header_rows, v.layout)


def _item_rows(r: rubric.Rubric, rng: random.Random, official: bool) -> list[Row]:
    cat_style = "official" if official else rng.choice(("official", "inline", "bare"))
    flat_sections = not official and rng.random() < 0.5
    rows: list[Row] = []
    mtext, mregion = "", ""
    for it in r.items:
        cat = r.category(it.category)
        cat_text = {"official": f"{cat.name}\n\n（{plain(cat.max)}分）", "inline": f"{cat.name}（{plain(cat.max)}分）",
                    "bare": cat.name}[cat_style]
        if it.code == "7.1.1" and cat_style == "official":
            cat_text = cat_text.replace("\n\n", "\n")
        if METHODS[it.code] or mregion == "":
            mtext, mregion = METHODS[it.code], it.code
        sec = it.section or ""
        cells = {"cat": cat_text, "sec": sec if flat_sections else SECTION_TEXT.get(sec, sec), "label": it.label,
                 "points": plain(r.groups[it.group]), "method": mtext}
        region = {"cat": it.category, "sec": f"{it.category}/{sec}", "points": it.group, "method": mregion}
        rows.append(Row(cells, item=it.label, region=region))
    return rows


def _shuffle(rows: list[Row], rng: random.Random) -> list[Row]:
    out: list[Row] = []
    for cat in dict.fromkeys(r.region["cat"] for r in rows):
        part = [r for r in rows if r.region["cat"] == cat]
        rng.shuffle(part)
        out += part
    return out


def _total_rows(v: Variant, rng: random.Random, values: Values, mismatch: str | None) -> list[Row]:
    nums = [[x for x in col if isinstance(x, Decimal)] for col in zip(*values.values(), strict=True)]
    ts, ti = sum(nums[0], Decimal(0)), None if v.no_inspector else sum(nums[1], Decimal(0))
    delta = Decimal(rng.choice(("-5", "-2", "-1.5", "1", "2.5", "5")))
    if mismatch == "total" and (ti is None or rng.random() < 0.7):
        ts = ts + delta if ts + delta <= 100 else ts - abs(delta)
    elif mismatch == "total":
        ti = ti + delta if ti + delta <= 100 else ti - abs(delta)
    b = p = None
    if v.bonus or mismatch == "grand":
        b, p = Decimal(rng.choice((1, 2, 3))), rng.choice((Decimal("0.5"), Decimal(1), Decimal(2), None))
    bp = (b or 0) - (p or 0)
    gs = ts + bp + (delta if mismatch == "grand" else 0)
    gi = None if ti is None else ti + bp

    def fmt(x: Decimal | None, insp: bool = False) -> str:
        return "" if (insp and v.no_inspector) else noise.fmt_score(x, v.fmt, rng)

    return [Row({"cat": "", "points": "100", "self": fmt(ts), "insp": fmt(ti, True)}, kind="total", span=SPAN),
            Row({"cat": "加分项", "self": fmt(b), "insp": fmt(b, True)}, kind="bonus", span=SPAN),
            Row({"cat": "减分项", "self": fmt(p), "insp": fmt(p, True)}, kind="penalty", span=SPAN),
            Row({"cat": "合计", "self": fmt(gs), "insp": fmt(gi, True)}, kind="grand", span=SPAN)]


def split_tables(rows: list[Row], tail: list[Row], v: Variant, rng: random.Random) -> list[TableSpec]:
    """Given linked body rows, the total rows and the variant, return one or two tables."""
    if not v.split:
        return [TableSpec(rows + tail)]
    at = rng.randint(len(rows) // 3, 2 * len(rows) // 3)
    first = rows[at]
    if not v.split_carry:
        first.blank |= first.cont
    first.cont = set()
    return [TableSpec(rows[:at]), TableSpec(rows[at:] + tail, header=v.split_header, before=v.split_note)]
