"""Planted errors: change score values and body rows as a Variant's ``errors`` ask."""

from __future__ import annotations

import random
from decimal import Decimal

import rubric
from samples.official import EXTRA_ROW
from samples.spec import Row
from samples.variant import Variant

Values = dict[str, list]  # canonical label -> [self, inspector]: Decimal, literal text, or None (blank)
NON_NUMERIC = ("待定", "见附件", "未评")


def plant(v: Variant, rng: random.Random, r: rubric.Rubric, values: Values, rows: list[Row]) -> tuple[list[Row], str | None]:
    """Given a Variant, the rubric, drawn values and body rows, plant the variant's errors in place.

    Return the (possibly shortened or lengthened) rows and which printed total to get wrong: "total"
    (the 100 row), "grand" (合计 ≠ total + 加分项 − 减分项) or None.
    """
    used: set[str] = set()

    def pick(ok) -> rubric.Item:
        it = rng.choice([i for i in r.items if i.label not in used and ok(i)])
        used.add(it.label)
        return it

    for err in v.errors:
        if err == "over_cap":
            it = pick(lambda i: i.max <= 2)
            values[it.label][0] = it.max + rng.choice((1, 2))
            values[it.label][1] = None if v.no_inspector else it.max
        elif err == "negative_score":
            it = pick(lambda i: True)
            values[it.label][0] = -rng.choice((Decimal(1), Decimal("0.5"), Decimal(2)))
            values[it.label][1] = None if v.no_inspector else Decimal(0)
        elif err == "non_numeric":
            values[pick(lambda i: True).label][0] = rng.choice(NON_NUMERIC)
        elif err == "missing_score":
            values[pick(lambda i: True).label][0] = None
        elif err == "missing_item":
            it = pick(lambda i: len(r.group_items(i.group)) > 1)
            del values[it.label]
            rows = [row for row in rows if row.item != it.label]
        elif err == "unmatched_row":
            cat = rng.choice([c.code for c in r.categories[1:]])
            at = max(i for i, row in enumerate(rows) if row.region["cat"] == cat) + 1
            rows = rows[:at] + [extra_row(rows[at - 1])] + rows[at:]
    mismatch = "total" if "total_mismatch" in v.errors else "grand" if "grand_mismatch" in v.errors else None
    return rows, mismatch


def extra_row(like: Row) -> Row:
    """Given a body row, return an unmatched row ("其他工作情况") in the same category, scored 0."""
    cells = {"cat": like.cells["cat"], "sec": EXTRA_ROW[0], "label": EXTRA_ROW[1], "points": "", "method": ""}
    region = {"cat": like.region["cat"], "sec": "extra", "points": "extra", "method": "extra"}
    return Row(cells, item=None, kind="extra", region=region)
