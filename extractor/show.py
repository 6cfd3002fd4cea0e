"""One form as a readable terminal table (for `selfeval show`).

Every text from the file (source, institution, labels, cells, messages quoting them) goes through terminal.safe, so
a form cannot clear the screen, retitle the window, write the clipboard or forge a line of this output.
"""

from __future__ import annotations

import unicodedata

from .form import Form
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


def form_to_text(form: Form, form_id: int | None = None) -> str:
    """Given a Form, return its header, items and discrepancies as aligned text."""
    lines = [f"form {form_id}: {form.source}",
             f"status {form.status}" + (f" — {form.error}" if form.error else ""),
             f"rubric {form.rubric or '-'} (fit {form.rubric_score if form.rubric_score is not None else '-'})  "
             f"institution {form.institution or '-'}  fill date {form.fill_date or '-'}",
             "header " + ", ".join(f"{k} {v if v is not None else '-'}" for k, v in form.header.items())]
    if form.items:
        lines.append("")
        lines.append(f"{'code':8} {_cut('label', 40)} {'max':>4} {'self':>6} {'insp':>6}  match  read as")
        for it in form.items:
            mark = "*" if {"self", "inspector"} & set(it.corrected) else " "
            mx = fmt(it.max) if it.max is not None else ""
            lines.append(f"{safe(it.code):8} {_cut(safe(it.label), 40)} {mx:>4} "
                         f"{fmt(it.self) if it.present else '':>6}{mark}{fmt(it.inspector) if it.present else '':>6}  "
                         f"{it.match_score if it.match_score is not None else '':>5}  "
                         f"{safe((it.raw_label or '(no row)').replace(chr(10), ' '))[:30]}")
        for it in form.items:
            # A remark beside a score is no part of the value, but a reviewer needs it to trust the value.
            for side, name in (("self", "自评"), ("inspector", "督查")):
                note = getattr(it, f"{side}_note")
                if note:
                    lines.append(f"note     {it.code} {name}: {note.replace(chr(10), ' ')}")
        if any(it.corrected for it in form.items):
            lines.append("* corrected by a reviewer; `selfeval export` keeps the extracted value beside it")
        for p in form.printed:
            lines.append(f"printed {p.kind:9} self {fmt(p.self) if p.self is not None else p.self_raw or '-'}  "
                         f"inspector {fmt(p.inspector) if p.inspector is not None else p.inspector_raw or '-'}")
    if form.discrepancies:
        lines.append("")
        lines.append("discrepancies:")
        order = {"error": 0, "warning": 1, "info": 2}
        for d in sorted(form.discrepancies, key=lambda d: order.get(d.severity, 3)):
            acc = " (accepted)" if d.accepted else ""
            lines.append(f"  {d.severity:7} {d.kind:20} {d.item or '-':8} {d.message}{acc}")
    # Escaped once more line by line: whatever field a line quotes, no raw control reaches the terminal.
    return "\n".join(safe(line) for line in lines)
