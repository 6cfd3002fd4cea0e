"""The variation axes of generated forms, their values and probabilities, and the per-form draw.

Every form draws every axis from its own ``random.Random`` in one fixed order, so that one axis never shifts
another's draw; an axis that does not apply to the form's family or producer is then recorded as ``n/a``
(ticks only on national judgment forms, 扣分 only on points forms, text boxes only where a Word file is
read, ...). ``draw_axes`` returns the recorded values, which samples.variants turns into a form.
"""

from __future__ import annotations

import random

NA = "n/a"

# axis -> ((value, weight), ...): weights need not add up to 1
AXES: dict[str, tuple[tuple[str, float], ...]] = {
    "family": (("qinghai", 0.6), ("national_judgment", 0.25), ("national_points", 0.15)),
    "producer": (("docx", 0.3), ("lo_docx", 0.14), ("rtf", 0.14), ("doc", 0.08), ("lo_pdf", 0.17),
                 ("rl_pdf", 0.17)),
    "grid": (("regular", 0.6), ("irregular", 0.4)),
    "layout": (("merged", 0.6), ("repeat", 0.2), ("blank", 0.2)),
    "split": (("no", 0.85), ("yes", 0.15)),
    "self_header": tuple((w, 1.0) for w in ("自评结果", "自评得分", "自评分", "自查得分", "自我评分", "自评情况", "自评")),
    "insp_header": tuple((w, 1.0) for w in ("督查结果", "督导得分", "检查得分", "评估得分", "核查得分", "复核得分",
                                            "专家评分", "实得分")),
    "rules_header": tuple((w, 1.0) for w in ("督查方法和标准", "评分标准", "评分细则", "评分办法", "考核方法")),
    "max_header": (("分值", 0.6), ("标准分", 0.2), ("配分", 0.2)),
    "order": (("standard", 0.6), ("rules_first", 0.2), ("scores_before_rules", 0.2)),
    "seq": (("no", 0.75), ("yes", 0.25)),
    "note": (("no", 0.8), ("yes", 0.2)),
    "evidence": (("no", 0.85), ("yes", 0.15)),
    "unknown_numeric": (("no", 0.85), ("between", 0.07), ("after", 0.08)),
    "score_cols": (("two", 0.82), ("one", 0.18)),
    "single_header": (("得分", 0.5), ("自查得分", 0.5)),
    "group_header": (("none", 0.7), ("reason", 0.15), ("deduct", 0.15)),
    "habit": (("plain", 0.35), ("remarks", 0.2), ("deduct_cell", 0.15), ("fullmark", 0.15), ("mixed", 0.15)),
    "ticks": (("text", 0.25), ("tick_cols", 0.35), ("inline", 0.2), ("checkbox_inline", 0.1), ("checkbox_cols", 0.1)),
    "tick_mark": tuple((m, 1.0) for m in ("✓", "√", "☑", "■")),
    "blanks": (("none", 0.8), ("some", 0.2)),
    "textbox": (("no", 0.8), ("yes", 0.2)),
    "borders": (("plain", 0.55), ("double", 0.15), ("thick", 0.15), ("foot", 0.15)),
    "footer": (("none", 0.4), ("note", 0.15), ("signature", 0.15), ("blank_rows", 0.1), ("below_blank", 0.1),
               ("all", 0.1)),
    "cover": (("standard", 0.26), ("supervised", 0.12), ("inspected", 0.12), ("above_table", 0.12),
              ("one_line", 0.12), ("page_header", 0.12), ("cell", 0.14)),  # cell: the name in a cover table
    "errors": (("none", 0.85), ("planted", 0.15)),
    "tracked": (("no", 0.7), ("yes", 0.3)),  # a tracked-deleted copy of an item row, other scores in it
}

# producers whose output is a Word file the reader opens (text boxes and checkbox controls survive there)
WORD_OUT = ("docx", "lo_docx", "rtf", "doc")
# producers that go through a python-docx .docx (the Word-level axes apply)
FROM_DOCX = ("docx", "lo_docx", "rtf", "doc", "lo_pdf")
# producers that keep a tracked deletion (RTF and .doc conversions accept or drop it on the way)
TRACKED = ("docx", "lo_docx")
# glyphs the reportlab CID font STSong-Light draws (GB 2312): ✓ and ☑ are not among them
RL_MARKS = ("√", "■")


def pick(rng: random.Random, axis: str) -> str:
    """Given a random generator and an axis name, return one value drawn by the axis's weights."""
    values, weights = zip(*AXES[axis], strict=True)
    return rng.choices(values, weights=weights)[0]


def draw_axes(rng: random.Random, force: dict[str, str] | None = None) -> dict[str, str]:
    """Given a random generator (and values to force), return every axis's value for one form, n/a where moot."""
    a = {axis: pick(rng, axis) for axis in AXES}  # all drawn, always in the same order
    a |= force or {}
    fam, prod = a["family"], a["producer"]
    moot: set[str] = set()
    if fam != "qinghai":
        moot |= {"rules_header", "order"}  # the national forms print no methods column
    if fam == "national_judgment":
        moot |= {"max_header", "habit", "group_header", "unknown_numeric", "single_header"}
        if a["ticks"] in ("tick_cols", "checkbox_cols"):
            moot |= {"self_header", "insp_header"}  # the tick groups are titled 自评情况 / 督查情况
    else:
        moot |= {"ticks", "tick_mark"}
    if a["score_cols"] == "one":
        moot |= {"insp_header", "group_header"}
        if fam != "national_judgment":
            moot.add("self_header")  # the single column is headed by single_header
        if a["unknown_numeric"] == "between":
            a["unknown_numeric"] = "after"
    else:
        moot.add("single_header")
    if a["group_header"] not in ("none", NA) and "group_header" not in moot:
        moot |= {"self_header", "insp_header"} | ({"habit"} if a["group_header"] == "deduct" else set())
    if prod not in FROM_DOCX:  # reportlab draws the spec: no Word file, no page header, GB 2312 glyphs only
        if a["cover"] == "page_header":
            a["cover"] = "standard"
        a["ticks"] = {"checkbox_cols": "tick_cols", "checkbox_inline": "inline"}.get(a["ticks"], a["ticks"])
        if a["tick_mark"] not in RL_MARKS:
            a["tick_mark"] = RL_MARKS[a["tick_mark"] == "☑"]
    if prod not in WORD_OUT:
        moot |= {"grid", "textbox"}  # a 1-twip grid column or a text box leaves no trace in a PDF's geometry
    if a["ticks"] != "tick_cols":
        moot.add("tick_mark")
    if prod not in TRACKED or a["layout"] == "merged":
        moot.add("tracked")  # a deleted row inside vertical merges would re-cut them; PDFs print no deletions
    for axis in moot:
        a[axis] = NA
    return a
