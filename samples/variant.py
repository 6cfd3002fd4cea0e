"""Options that pick a form's layout, noise and planted errors; and the random score draw."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from samples.noise import LABEL_NOISE

HALF = Decimal("0.5")
ERRORS = ("over_cap", "negative_score", "non_numeric", "missing_score", "total_mismatch", "grand_mismatch",
          "missing_item", "unmatched_row")


@dataclass
class Variant:
    layout: str = "merged"  # merged (vMerge) | repeat (text on every row) | blank (empty continuation cells)
    header_rows: int = 2  # 2 = official two-row header; 1 = one row
    split: bool = False  # body continues in a second table
    split_header: bool = True  # the second table repeats the header
    split_note: str | None = None  # paragraph between the tables
    split_carry: bool = True  # the second table's first row repeats 大项/中项/分值 text
    self_header: str = "自评结果"
    insp_header: str = "督查结果"
    extra_cols: tuple[str, ...] = ()  # "seq" (序号, first) and/or "note" (备注, last)
    drop_method: bool = False
    insp_first: bool = False  # 督查 column before 自评
    noise: float = 0.0  # share of labels altered
    noise_kinds: tuple[str, ...] = LABEL_NOISE
    shuffle: bool = False  # rows shuffled within each category (implies layout repeat)
    fmt: str = "plain"  # plain | fen | full | dec | pad | mixed
    name_style: str = "plain"
    date_style: str = "cn"
    no_inspector: bool = False  # inspector column left empty
    bonus: bool = False  # 加分项/减分项 filled
    diff_rate: float = 0.1  # share of items where the inspector scored differently
    errors: tuple[str, ...] = ()  # planted errors, see ERRORS
    numbered: bool = True  # national: "一、机构信用" / "1．评价机构基本信息"
    points: bool = False  # national: print a 分值 column and score in points

    def __post_init__(self) -> None:
        unknown = set(self.errors) - set(ERRORS)
        if unknown:
            raise ValueError(f"unknown planted errors: {sorted(unknown)}")
        if self.shuffle and self.layout == "merged":
            self.layout = "repeat"


def draw_score(rng: random.Random, cap: Decimal) -> Decimal:
    """Given an item max, return a self score in 0.5 steps, mostly the full mark."""
    if rng.random() < 0.7:
        return cap
    steps = int(cap / HALF)
    return HALF * rng.randint(max(0, steps - 4), steps - 1)


def draw_inspector(rng: random.Random, self_score: Decimal, rate: float) -> Decimal:
    """Given the self score, return the inspector's: the same, or (with probability rate) 0.5–2 lower."""
    if rng.random() >= rate or self_score <= 0:
        return self_score
    return max(Decimal(0), self_score - HALF * rng.randint(1, 4))


def columns(v: Variant, base: list[str]) -> list[str]:
    """Given a variant and the base column keys, return the printed column order."""
    cols = [c for c in base if not (v.drop_method and c == "method")]
    if v.insp_first:
        i, j = cols.index("self"), cols.index("insp")
        cols[i], cols[j] = cols[j], cols[i]
    return (["seq"] if "seq" in v.extra_cols else []) + cols + (["note"] if "note" in v.extra_cols else [])
