"""Values: one side (自评 or 督查) of a body row -> the value it gives its item, with what was doubtful.

A side's value comes from its score cell (a number, a judgment, 扣N分, 满分, a number with a remark), from
tick columns (符合 | 基本符合 | 不符合), or from a 扣分 column when the score cell is blank. Anything read by
derivation is noted (deduction, full_marks: info); anything that cannot be read with certainty is a
finding on the item, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .form import Finding
from .layout import Row
from .model import Cell
from .scores import fmt, text_to_mark, text_to_score

SIDE_NAMES = {"self": "自评", "inspector": "督查"}


@dataclass
class SideValue:
    value: Decimal | str | None
    raw: str | None  # the cell text as printed (tick columns: the marked judgments)
    kind: str | None  # number | judgment | blank | text | ambiguous; None when the form has no such column
    note: str | None = None
    cell: Cell | None = None  # where the value was read
    findings: list[Finding] = field(default_factory=list)


def row_to_side_value(row: Row, side: str, max_: Decimal | None, judgments: tuple[str, ...],
                      aliases: dict[str, str], code: str) -> SideValue:
    """Given a body row, a side, the item's max and its judgments, return the side's value and findings."""
    name = SIDE_NAMES[side]
    marks = row.marks.get(side)
    if marks:
        out = _marks_to_value(marks, name, code)
        if out.cell is not None and out.cell.doubt and out.kind == "judgment":
            out.findings.append(Finding("low_confidence_value", f"{code} {name}的勾选：{out.cell.doubt}"))
        for f in out.findings:
            f.side = side
        return out
    cell = row.score_cell(side)
    ded = row.deductions.get(side)
    note_cell = row.notes.get(side)
    if cell is None and ded is None:
        return SideValue(None, None, None)
    s = text_to_score(cell.text if cell is not None else "", judgments, aliases)
    out = SideValue(s.value, cell.text if cell is not None else "", s.kind, s.note, cell)
    if s.kind == "deduction":
        _deduct(out, max_, s.value, f"{code} {name}「{cell.text.strip()}」")
    elif s.kind == "full":
        if max_ is None:
            out.kind, out.value = "text", None
        else:
            out.kind, out.value = "number", max_
            out.findings.append(Finding("full_marks", f"{code} {name}「满分」按分值 {fmt(max_)} 计", side))
    elif s.kind == "ambiguous":
        out.findings.append(Finding("tick_ambiguous", f"{code} {name}栏「{cell.text.strip()}」勾选了不止一项", side))
    if ded is not None:
        d = text_to_score(ded.text)
        if s.kind == "blank" and d.is_number:
            out.raw = ded.text if cell is None else f"{cell.text}（扣分 {ded.text.strip()}）"
            _deduct(out, max_, d.value, f"{code} {name}扣分「{ded.text.strip()}」")
            out.cell = ded
        elif (s.is_number and d.is_number and max_ is not None and isinstance(s.value, Decimal)
              and s.value != max_ - d.value):
            out.findings.append(Finding("column_conflict", f"{code} {name}得分 {fmt(s.value)}，但分值 {fmt(max_)} 扣 "
                                        f"{fmt(d.value)} 分应为 {fmt(max_ - d.value)}", side))
    if out.cell is not None and out.cell.doubt and (out.kind not in (None, "blank") or out.cell.doubt_kind):
        c = out.cell
        message = (f"{code} {name} {c.ref}「{c.text.strip()}」：{c.doubt}" if c.ref  # a spreadsheet cell
                   else f"{code} {name}「{c.text.strip()}」：{c.doubt}")
        out.findings.append(Finding(c.doubt_kind or "low_confidence_value", message, side))
    for f in out.findings:
        f.side = side
    if note_cell is not None and note_cell.text.strip() and not out.note:
        out.note = note_cell.text.strip()
    return out


def _deduct(out: SideValue, max_: Decimal | None, deducted, what: str) -> None:
    """Turn a deduction into the value max - deduction, noted; without a max it cannot be read."""
    if max_ is None or not isinstance(deducted, Decimal):
        out.kind, out.value = "text", None
        return
    out.kind, out.value = "number", max_ - deducted
    out.findings.append(Finding("deduction", f"{what}：{fmt(max_)} − {fmt(deducted)} = {fmt(max_ - deducted)}"))


def _marks_to_value(marks: list[tuple[str, Cell]], name: str, code: str) -> SideValue:
    """Given one side's tick cells (judgment, cell), return the ticked judgment, or blank/ambiguous/text."""
    read = [(option, text_to_mark(c.text), c) for option, c in marks]
    ticked = [(o, c) for o, m, c in read if m == "tick"]
    others = [(o, c) for o, m, c in read if m == "text"]
    raw = "；".join(f"{o} {c.text.strip()}" for o, m, c in read if m != "blank") or ""
    if len(ticked) == 1 and not others:
        return SideValue(ticked[0][0], raw, "judgment", cell=ticked[0][1])
    if len(ticked) > 1:
        shown = "、".join(o for o, _ in ticked)
        return SideValue(None, raw, "ambiguous", cell=ticked[0][1],
                         findings=[Finding("tick_ambiguous", f"{code} {name}勾选了 {shown}：不止一项")])
    if others:
        return SideValue(None, raw, "text", cell=others[0][1])
    return SideValue(None, raw, "blank", cell=marks[0][1])
