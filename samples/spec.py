"""The data model of one generated form: what is printed where, independent of python-docx.

A FormSpec holds every printed text. Body rows carry each column's *logical* text (a category's name on
every one of its rows) plus ``region`` ids; ``link`` marks a cell as continuing the cell above when its
region id equals the row above's, and the renderer then merges it (layout "merged"), repeats the text
("repeat") or leaves it blank ("blank").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

# column keys: seq 序号, cat 大项/一级指标, sec 中项, label 小项/二级指标, desc 督导内容, points 分值,
# method 督查方法和标准, self 自评, insp 督查, note 备注
MERGEABLE = ("cat", "sec", "points", "method")


@dataclass
class Row:
    cells: dict[str, str]
    item: str | None = None  # canonical rubric label; None for extra and total rows
    kind: str = "item"  # item | extra | total | bonus | penalty | grand
    region: dict[str, str] = field(default_factory=dict)
    cont: set[str] = field(default_factory=set)  # columns continuing the cell above
    blank: set[str] = field(default_factory=set)  # columns printed empty whatever the layout
    span: tuple[str, str] | None = None  # merge these columns (and those between) horizontally


@dataclass
class TableSpec:
    rows: list[Row]
    header: bool = True  # print the header row(s) on top
    before: str | None = None  # a paragraph printed just before the table


@dataclass
class FormSpec:
    rubric: str  # "qinghai" | "national"
    institution: str
    fill_date: date
    columns: list[str]
    headers: dict[str, str]
    tables: list[TableSpec]
    cover: list[str] = field(default_factory=list)  # paragraphs before the tables, header lines included
    stats: dict[str, int] | None = None
    stats_labels: list[tuple[str, str]] = field(default_factory=list)  # (key, printed label)
    header_rows: int = 1  # 2 = official "督导检查内容" over 大项/中项/小项
    layout: str = "merged"  # merged | repeat | blank
    # two-row group headings (first key, last key, title), e.g. ("self", "self_why", "自评情况"); empty = the
    # official header (督导检查内容 over 大项/中项/小项 when header_rows is 2)
    groups: list[tuple[str, str, str]] = field(default_factory=list)
    # a small table of cover fields printed after the cover lines and before every other table, one list of cell
    # texts per row, e.g. [["评价机构名称", "X"], ["填表人", "张三"]]; empty = none (the name is a cover line)
    cover_table: list[list[str]] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return [r for t in self.tables for r in t.rows]


def link(rows: list[Row]) -> None:
    """Given body rows in print order, set each row's ``cont`` from equal region ids with the row above."""
    prev: Row | None = None
    for row in rows:
        row.cont = set()
        if prev is not None and row.kind in ("item", "extra") and prev.kind in ("item", "extra"):
            row.cont = {k for k, v in row.region.items() if v is not None and prev.region.get(k) == v}
        prev = row


def parse_value(text: str, judgments: tuple[str, ...] = ()) -> tuple[Decimal | str | None, str]:
    """Given a printed score cell, return (value, status): status "ok", "blank" or "text" (not a number)."""
    t = "".join(unicodedata.normalize("NFKC", text).split())
    if not t:
        return None, "blank"
    if t in judgments:
        return t, "ok"
    try:
        return Decimal(t.removesuffix("分")), "ok"
    except InvalidOperation:
        return None, "text"


def plain(d: Decimal) -> str:
    """Given a Decimal, return it printed without exponent or trailing zeros ("89.5", "100")."""
    s = f"{d.normalize():f}"
    return "0" if s in ("-0", "") else s


def as_json(v: Decimal | str | None) -> int | float | str | None:
    """Given a Decimal (or judgment string or None), return the JSON value: int when whole, else float."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v
