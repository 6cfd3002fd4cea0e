"""One form as a readable terminal table (for `selfeval show`).

Every text from the file (source, institution, labels, cells, messages quoting them) goes through terminal.safe, so
a form cannot clear the screen, retitle the window, write the clipboard or forge a line of this output.
"""

from __future__ import annotations

import unicodedata

from .form import Form, ItemResult
from .listing import STATUS_TEXT
from .scores import fmt
from .terminal import safe


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _cut(s: str, n: int) -> str:
    out, w = "", 0
    for ch in s:
        cw = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if w + cw > n:
            return out + "…"
        out, w = out + ch, w + cw
    return out + " " * (n - w)


def cell_to_where(it: ItemResult) -> str:
    """Given an item, return where its row is on the form, 1-based as a person counts ("第2页 表1 行8 列6/7": the
    self cell's column, then the inspector cell's); '' when the form has no row for it."""
    # getattr: records of a reader before schema 3 carry no cells, only the row's provenance
    cells = [c for c in (getattr(it, "self_cell", None), getattr(it, "inspector_cell", None)) if c]
    first = cells[0] if cells else (it.provenance or {})
    if not first or not isinstance(first.get("row"), int):
        return ""
    refs = [str(c["ref"]) for c in cells if c.get("ref")]
    if refs:  # a spreadsheet: the sheet and A1 addresses of the score cells
        return "、".join(refs)
    parts = [f"第{first['page']}页"] if first.get("page") else []
    if isinstance(first.get("table"), int):
        parts.append(f"表{first['table'] + 1}")
    parts.append(f"行{first['row'] + 1}")
    cols = [str(c["col"] + 1) for c in cells if isinstance(c.get("col"), int)]
    if not cols and isinstance(first.get("col"), int):
        cols = [str(first["col"] + 1)]
    if cols:
        parts.append("列" + "/".join(dict.fromkeys(cols)))
    return " ".join(parts)


def _flagged(form: Form) -> dict[str, str]:
    """The items with open findings: code -> '!' for an error or warning no reviewer accepted."""
    return {d.item: "!" for d in form.discrepancies if d.item and d.severity in ("error", "warning")
            and not d.accepted}


def _right(s: str, n: int) -> str:
    """s right-aligned in n terminal columns (a judgment such as 基本符合 is twice as wide as it is long)."""
    return " " * max(0, n - _width(s)) + s


def form_to_text(form: Form, form_id: int | None = None) -> str:
    """Given a Form, return its header, items (those with open findings marked !, each with its place on the form)
    and discrepancies as aligned text."""
    lines = [f"form {form_id}: {form.source}",
             f"状态 status {STATUS_TEXT.get(form.status, form.status)}" + (f" — {form.error}" if form.error else ""),
             f"评分表 rubric {form.rubric or '-'} (fit {form.rubric_score if form.rubric_score is not None else '-'})  "
             f"机构 institution {form.institution or '-'}  填报日期 fill date {form.fill_date or '-'}",
             "header " + ", ".join(f"{k} {v if v is not None else '-'}" for k, v in form.header.items())]
    where = {it.code: cell_to_where(it) for it in form.items}
    if form.items:
        marks = _flagged(form)
        width = max([_width(w) for w in where.values()] + [_width("位置 where")])
        lines.append("")
        lines.append(f"  {_cut('项目 code', 10)} {_cut('标准条目 label', 40)} {'分值':>4} {'自评':>6} {'督查':>6}  "
                     f"{'匹配':>4}  {_cut('位置 where', width)}  原文 read as")
        for it in form.items:
            mark = "*" if {"self", "inspector"} & set(it.corrected) else " "
            mx = fmt(it.max) if it.max is not None else ""
            lines.append(f"{marks.get(it.code, ' ')} {safe(it.code):10} {_cut(safe(it.label), 40)} {mx:>6} "
                         f"{_right(fmt(it.self) if it.present else '', 8)}{mark}"
                         f"{_right(fmt(it.inspector) if it.present else '', 8)}  "
                         f"{it.match_score if it.match_score is not None else '':>6}  {_cut(where[it.code], width)}  "
                         f"{safe((it.raw_label or '(no row)').replace(chr(10), ' '))[:30]}")
        for it in form.items:
            # A remark beside a score is no part of the value, but a reviewer needs it to trust the value.
            for side, name in (("self", "自评"), ("inspector", "督查")):
                note = getattr(it, f"{side}_note")
                if note:
                    lines.append(f"note     {it.code} {name}: {note.replace(chr(10), ' ')}")
        if marks:
            lines.append("标记 ! 有待处理的错误或警告 (open error or warning on this item)")
        if any({"self", "inspector"} & set(it.corrected) for it in form.items):
            lines.append("标记 * 已由复核人更正 (corrected by a reviewer); `selfeval export` keeps the extracted value beside it")
        lines.append("位置从 1 数起 (表/行/列 are 1-based here; JSON and SQLite count table/row/col from 0, pages from 1)")
        for p in form.printed:
            lines.append(f"printed {p.kind:9} self {fmt(p.self) if p.self is not None else p.self_raw or '-'}  "
                         f"inspector {fmt(p.inspector) if p.inspector is not None else p.inspector_raw or '-'}")
    if form.discrepancies:
        lines.append("")
        lines.append("问题 discrepancies:")
        order = {"error": 0, "warning": 1, "info": 2}
        for d in sorted(form.discrepancies, key=lambda d: order.get(d.severity, 3)):
            acc = " (已接受 accepted)" if d.accepted else ""
            place = where.get(d.item or "", "")
            lines.append(f"  {d.severity:7} {d.kind:20} {d.item or '-':8} {d.message}{acc}"
                         + (f"  [{place}]" if place else ""))
    # Escaped once more line by line: whatever field a line quotes, no raw control reaches the terminal.
    return "\n".join(safe(line) for line in lines)
