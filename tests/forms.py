"""Whole filled forms for tests, written with python-docx from the bundled rubrics (nothing outside the checkout).

`qinghai_form` lays the 67 Qinghai items out under any header (one or more rows, merges) with any
column order; each body cell's text comes from a function of the item and the column key, so a test
states exactly what the form prints and what a correct reader must return.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import rubric

from .conftest import build_docx

COVER = ["评价机构名称：海东市乐都区职业技能培训学校", "填 报 日 期：2024年5月20日"]


def items(rubric_id: str = "qinghai-2024") -> list[rubric.Item]:
    return rubric.load_all()[rubric_id].items


def self_score(n: int, item: rubric.Item) -> Decimal:
    """A self score for the n-th item: the max, but half a point less on every fifth item."""
    return item.max - Decimal("0.5") if n % 5 == 4 else item.max


def insp_score(n: int, item: rubric.Item) -> Decimal:
    """The inspectors' score: the self score, but half a point less again on every seventh item."""
    s = self_score(n, item)
    return max(Decimal(0), s - Decimal("0.5")) if n % 7 == 3 else s


def fmt(d: Decimal) -> str:
    return str(d.normalize()) if d != d.to_integral_value() else str(int(d))


def default_cell(n: int, item: rubric.Item, key: str) -> str:
    cats = {c.code: c.name for c in rubric.load_all()["qinghai-2024"].categories}
    return {"cat": cats[item.category], "sec": item.section or "", "label": item.label, "max": fmt(item.max),
            "rules": "查阅资料", "self": fmt(self_score(n, item)), "insp": fmt(insp_score(n, item))}.get(key, "")


def qinghai_form(path: Path, columns: list[str], header: list[list[str]],
                 cell: Callable[[int, rubric.Item, str], str] = default_cell,
                 merges: list[tuple[tuple[int, int], tuple[int, int]]] = (), cover: list[str] = COVER,
                 footer: list[list[str]] = (), footer_merges: list[tuple[tuple[int, int], tuple[int, int]]] = ()
                 ) -> Path:
    """Write a Qinghai form: cover lines, then one table of the header rows, a row per item and the footer
    rows (merges in footer_merges are relative to the first footer row)."""
    body = [[cell(n, it, k) for k in columns] for n, it in enumerate(items())]
    rows = [*header, *body, *footer]
    first_footer = len(header) + len(body)
    all_merges = list(merges) + [((r0 + first_footer, c0), (r1 + first_footer, c1))
                                 for (r0, c0), (r1, c1) in footer_merges]
    return build_docx(path, [{"rows": rows, "merge": all_merges}], paragraphs=list(cover))


def expected(side: str) -> dict[str, Decimal]:
    """The values a correct reader returns for the default cells, by item code."""
    f = self_score if side == "self" else insp_score
    return {it.code: f(n, it) for n, it in enumerate(items())}
