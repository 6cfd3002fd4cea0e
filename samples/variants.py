"""One form drawn over the variation axes (samples.axes): its FormSpec, its truth, and its Word-level edits.

The spec is first built by the existing generator (samples.qinghai / samples.national) with plain score texts;
blanks are punched and totals kept consistent; the truth is computed from those plain texts (values as a
correct reader must report them). Only then is the printing changed: header words, column order, extra
columns, sub-columns under group headings, tick columns, remarks / 扣N分 / 满分 in cells, footer rows, the
cover and the borders' widths.
So a remark, a deduction or a tick never changes the truth, only how hard it is to read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from samples import noise
from samples.axes import NA, draw_axes
from samples.national import national_spec
from samples.official import NATIONAL_TITLE, QH_TITLE
from samples.qinghai import get_rubric, qinghai_spec
from samples.render import WIDTHS_MM
from samples.spec import FormSpec, Row, parse_value, plain
from samples.truth import truth_of
from samples.variant import Variant
from samples.wordxml import CHECKED, UNCHECKED

JUDGMENTS = ("符合", "基本符合", "不符合")
REMARKS = ("（已整改）", "，缺少记录", " 现场核实", "(部分资料缺失)", "；资料不全", " 已补充")
REASONS = ("记录不全", "制度未上墙", "资料缺失", "未按时整改", "台账不规范")
EVIDENCE = ("见附件1", "会议记录", "制度汇编", "", "现场照片", "台账")
PEOPLE = ("张三", "李明", "王芳", "马海军", "韩秀英", "才让多杰")
NOTES = ("说明：1．自评得分由评价机构填写，督查结果由督导组填写；2．各项得分不得超过该项分值。",
         "注：本表一式两份，评价机构和督导组各留存一份。")
CELL_KEYS = ("评价机构名称", "单位名称")
PHONES = ("0971-6312345", "13897012345", "0970-8812306")
SIGNATURE = "评价机构负责人（签字）：                      督查组成员（签字）："
PLANTABLE = {"qinghai": ("over_cap", "negative_score", "non_numeric", "missing_score", "total_mismatch",
                         "missing_item", "unmatched_row"),
             "national_points": ("over_cap", "missing_score"), "national_judgment": ("missing_score",)}
SUB = {"reason": (("", "得分"), ("_why", "扣分原因")), "deduct": (("", "得分"), ("_ded", "扣分"), ("_rem", "备注"))}
WIDE_MM = 180  # a body table wider than this is printed on a landscape page


@dataclass
class Drawn:
    """One drawn form: its axes, spec, truth and the Word-level edits (see samples.wordxml)."""

    axes: dict[str, str]
    spec: FormSpec
    truth: dict
    word: dict = field(default_factory=dict)


def draw_form(rng: random.Random, force: dict[str, str] | None = None) -> Drawn:
    """Given a random generator (and axis values to force), return one drawn form."""
    a = draw_axes(rng, force)
    fam = a["family"]
    one = a["score_cols"] == "one"
    errors = (rng.choice(PLANTABLE[fam]),) if a["errors"] == "planted" else ()
    a["planted"] = errors[0] if errors else "none"
    extra = tuple(k for k in ("seq", "note") if a[k] == "yes")
    v = Variant(layout=a["layout"], split=a["split"] == "yes", split_note=rng.choice((None, "（续表）")),
                split_header=rng.random() < 0.8, header_rows=2 if rng.random() < 0.6 else 1, extra_cols=extra,
                no_inspector=one, errors=errors, points=fam == "national_points", numbered=rng.random() < 0.6,
                fmt=rng.choice(("plain", "plain", "plain", "fen", "dec")), name_style=rng.choice(noise.NAME_STYLES),
                date_style=rng.choice(noise.DATE_STYLES))
    spec = qinghai_spec(v, rng) if fam == "qinghai" else national_spec(v, rng)
    if a["blanks"] == "some":
        _punch_blanks(spec, rng, 0 if one else 1)
    truth = truth_of(spec)
    d = Drawn(a, spec, truth)
    _columns(d, rng)
    _cells(d, rng)
    _footers(d, rng)
    _cover(d, rng)
    _borders(d, rng)
    return d


def item_cap(spec: FormSpec, row: Row) -> Decimal | None:
    """Given a spec and one of its item rows, return the item's max (the rubric's, or the printed 分值)."""
    if spec.rubric == "qinghai":
        return next(i.max for i in get_rubric("qinghai-2024").items if i.label == row.item)
    return parse_value(row.cells.get("points", ""))[0]


def _punch_blanks(spec: FormSpec, rng: random.Random, insp_too: int) -> None:
    """Blank 1–3 score cells holding a plain in-range value, and move the printed totals so they still add up."""
    spots = []
    for row in spec.rows:
        if row.kind != "item":
            continue
        cap = item_cap(spec, row)
        for side in ("self", "insp")[: 1 + insp_too]:
            val, st = parse_value(row.cells.get(side, ""), JUDGMENTS)
            if st == "ok" and (isinstance(val, str) or cap is None or 0 <= val <= cap):
                spots.append((row, side, val))
    for row, side, val in rng.sample(spots, min(len(spots), rng.randint(1, 3))):
        row.cells[side] = ""
        if isinstance(val, Decimal):
            for tot in spec.rows:
                if tot.kind in ("total", "grand"):
                    t = parse_value(tot.cells.get(side, ""))[0]
                    if isinstance(t, Decimal):
                        tot.cells[side] = plain(t - val)


def _columns(d: Drawn, rng: random.Random) -> None:
    """Header words, column order, extra columns, sub-columns under group headings and tick columns."""
    spec, a = d.spec, d.axes
    cols = list(spec.columns)
    h = spec.headers
    if a["rules_header"] != NA:
        h["method"] = a["rules_header"]
    if a["max_header"] != NA:
        h["points"] = a["max_header"]
    if a["self_header"] != NA:
        h["self"] = a["self_header"]
    if a["insp_header"] != NA:
        h["insp"] = a["insp_header"]
    if a["single_header"] != NA:
        h["self"] = a["single_header"]
    if "insp" in cols and not any(r.cells.get("insp", "").strip() for r in spec.rows):
        cols.remove("insp")  # one score column: the empty inspector column is not printed at all
    if a["order"] == "rules_first" and "method" in cols:
        i, j = cols.index("points"), cols.index("method")
        cols[i], cols[j] = cols[j], cols[i]
    elif a["order"] == "scores_before_rules" and "method" in cols:
        cols.remove("method")
        cols.insert(max(cols.index(k) for k in ("self", "insp") if k in cols) + 1, "method")
    if a["evidence"] == "yes":
        cols.insert(cols.index("note") if "note" in cols else len(cols), "evid")
        h["evid"] = "佐证材料"
    if a["unknown_numeric"] in ("between", "after"):
        at = cols.index("insp") if a["unknown_numeric"] == "between" else cols.index(_last_score(cols)) + 1
        cols.insert(at, "prelim")
        h["prelim"] = rng.choice(("市州初审", "州级初审"))
    groups: list[tuple[str, str, str]] = []
    sides = [k for k in ("self", "insp") if k in cols]
    titles = {"self": rng.choice(("自评情况", "自评")), "insp": rng.choice(("督查情况", "督导情况", "复核情况"))}
    if a["group_header"] in SUB:
        for side in sides:
            keys = [side + suf for suf, _ in SUB[a["group_header"]]]
            h |= {side + suf: word for suf, word in SUB[a["group_header"]]}
            at = cols.index(side)
            cols[at:at + 1] = keys
            groups.append((keys[0], keys[-1], titles[side]))
    elif a["ticks"] in ("tick_cols", "checkbox_cols"):
        for side in sides:
            keys = [f"{side}_t{n}" for n in range(3)]
            h |= dict(zip(keys, JUDGMENTS, strict=True))
            at = cols.index(side)
            cols[at:at + 1] = keys
            groups.append((keys[0], keys[-1], ("自评情况", "督查情况")[side == "insp"]))
    if groups:
        if spec.header_rows == 2 and spec.rubric == "qinghai" and _contiguous(cols, ("cat", "sec", "label")):
            groups.insert(0, ("cat", "label", "督导检查内容"))  # keep the official heading beside the new ones
        spec.header_rows, spec.groups = 2, groups
    spec.columns = cols
    wide = sum(30 if k == "label" and "desc" in cols else WIDTHS_MM.get(k, 15) for k in cols) > WIDE_MM
    d.word["landscape"] = wide
    a["page"] = "landscape" if wide else "portrait"


def _last_score(cols: list[str]) -> str:
    return "insp" if "insp" in cols else "self"


def _contiguous(cols: list[str], keys: tuple[str, ...]) -> bool:
    at = [cols.index(k) for k in keys if k in cols]
    return len(at) == len(keys) and at == list(range(at[0], at[0] + len(keys)))


def _cells(d: Drawn, rng: random.Random) -> None:
    """Rewrite score cells as the filler wrote them: remarks, 扣N分, 满分, 扣分 sub-columns, ticks, extra columns."""
    spec, a = d.spec, d.axes
    rate = rng.uniform(0.2, 0.5)
    ded_only = rng.random() < 0.5  # 扣分 sub-column filled and the 得分 cell left blank
    rl = a["producer"] == "rl_pdf"
    for row in spec.rows:
        if row.kind != "item":
            continue
        cap = item_cap(spec, row)
        row.cells["evid"] = rng.choice(EVIDENCE)
        for side in ("self", "insp"):
            text = row.cells.get(side, "")
            val, st = parse_value(text, JUDGMENTS)
            if side == "self":
                row.cells["prelim"] = plain(max(Decimal(0), val - Decimal("0.5") * rng.randint(0, 1))) if (
                    isinstance(val, Decimal)) else ""
            if spec.rubric == "national" and cap is None:
                _ticks(row, side, val if st == "ok" else None, a["ticks"], a["tick_mark"], rl)
                continue
            fine = isinstance(val, Decimal) and cap is not None and 0 <= val <= cap
            if a["group_header"] == "reason":
                row.cells[side + "_why"] = rng.choice(REASONS) if fine and val < cap else ""
            if a["group_header"] == "deduct":
                row.cells[side + "_ded"] = plain(cap - val) if fine and val < cap else (
                    "0" if fine and rng.random() < 0.2 else "")
                row.cells[side + "_rem"] = "已整改" if rng.random() < 0.1 else ""
                if fine and val < cap and ded_only:
                    row.cells[side] = ""
                continue
            if fine and a["habit"] not in ("plain", NA) and rng.random() < rate:
                row.cells[side] = _habit(a["habit"], val, cap, rng) or text


def _habit(habit: str, val: Decimal, cap: Decimal, rng: random.Random) -> str | None:
    """Given a filling habit, a value and the item's max, return the cell text, or None when it does not apply."""
    if habit == "mixed":
        habit = rng.choice(("remarks", "deduct_cell", "fullmark"))
    if habit == "remarks":
        return plain(val) + rng.choice(REMARKS)
    if habit == "deduct_cell" and val < cap:
        return f"扣{plain(cap - val)}分"
    if habit == "fullmark" and val == cap:
        return "满分"
    return None


def _ticks(row: Row, side: str, val: str | None, ticks: str, mark: str, rl: bool) -> None:
    if ticks in ("tick_cols", "checkbox_cols"):
        for n, j in enumerate(JUDGMENTS):
            on = j == val
            row.cells[f"{side}_t{n}"] = (CHECKED if on else UNCHECKED) if ticks == "checkbox_cols" else (
                mark if on else "")
    elif ticks in ("inline", "checkbox_inline"):
        yes, no = (CHECKED, UNCHECKED) if ticks == "checkbox_inline" else ("■" if rl else "☑", "□")
        row.cells[side] = " ".join((yes if j == val else no) + j for j in JUDGMENTS)


def _borders(d: Drawn, rng: random.Random) -> None:
    """Draw how wide the border axis's rules are, per form, as the Word/WPS/LibreOffice exports vary them.

    double: the reportlab PDF's two lines 3.5-5 pt apart, on every rule or the outer frame only; Word's
    w:val="double" at w:sz 8 or 12, on the table and maybe on every cell. thick: filled rules 4-5 pt wide;
    Word's w:sz 24-36, single or thickThinLargeGap. foot: the second rule 3.5 pt under the last one; Word's
    doubled bottom border. Nothing is drawn for plain borders, so the other forms' later draws stay put.
    """
    kind = d.axes["borders"]
    if kind == "plain":
        return
    if kind == "double":
        pdf = {"gap": round(rng.uniform(3.5, 5), 1), "outer_only": rng.random() < 0.3}
        word = ("double", rng.choice((8, 12)), rng.random() < 0.5)
        detail = f"gap {pdf['gap']} pt{' outer' if pdf['outer_only'] else ''}, w:sz {word[1]}{' tc' * word[2]}"
    elif kind == "thick":
        pdf = {"thick": round(rng.uniform(4, 5), 1)}
        word = (rng.choice(("single", "single", "thickThinLargeGap")), rng.choice((24, 36)), rng.random() < 0.3)
        detail = f"{pdf['thick']} pt, {word[0]} w:sz {word[1]}{' tc' * word[2]}"
    else:
        pdf = {"foot_gap": 3.5}
        word = ("thickThinSmallGap", 24, False)
        detail = "3.5 pt"
    d.word["borders"] = {"pdf": pdf, "word_val": word[0], "word_sz": word[1], "word_cells": word[2]}
    d.axes["border_detail"] = detail


def _footers(d: Drawn, rng: random.Random) -> None:
    """Append the footer rows (notes, signatures, （以下空白）, blank rows) to the last table: none is an item."""
    kind, cols = d.axes["footer"], d.spec.columns
    span = (cols[0], cols[-1])
    rows: list[Row] = []
    if kind in ("note", "all"):
        rows += [Row({cols[0]: t}, kind="footer", span=span) for t in NOTES[: rng.randint(1, 2)]]
    if kind in ("signature", "all"):
        rows.append(Row({cols[0]: SIGNATURE}, kind="footer", span=span))
    if kind in ("below_blank", "all"):
        rows.append(Row({cols[0]: "（以下空白）"}, kind="footer", span=span))
    if kind in ("blank_rows", "all"):
        rows += [Row({}, kind="footer") for _ in range(rng.randint(1, 2))]
    d.spec.tables[-1].rows.extend(rows)


def _cover(d: Drawn, rng: random.Random) -> None:
    """Replace the 评价机构名称 line as the cover variant asks."""
    spec, kind = d.spec, d.axes["cover"]
    inst = spec.institution
    at = next(i for i, t in enumerate(spec.cover) if t.startswith("评价机构名称"))
    line = {"supervised": rng.choice(("被督导机构名称：", "被督导机构：")) + inst, "inspected": "受检单位：" + inst,
            "one_line": f"单位名称：{inst}  填表人：{rng.choice(PEOPLE)}"}.get(kind)
    if line is not None:
        spec.cover[at] = line
    elif kind == "cell":
        # the name only in a cover table's cell: beside a key cell, or after the key inside one cell
        del spec.cover[at]
        key, person = rng.choice(CELL_KEYS), rng.choice(PEOPLE)
        name = inst + rng.choice(("", "", "（盖章）"))
        if rng.random() < 0.5:
            spec.cover_table = [[key, name], ["填表人", person], ["联系电话", rng.choice(PHONES)]]
        else:
            spec.cover_table = [[f"{key}：{name}", f"填表人：{person}"]]
        d.axes["cover_cell"] = "key_cell" if len(spec.cover_table) > 1 else "inline"
    elif kind == "above_table":
        title = QH_TITLE if spec.rubric == "qinghai" else NATIONAL_TITLE
        when = noise.date_line(spec.fill_date, rng.choice(noise.DATE_STYLES), "填报日期：")
        spec.cover = [title, f"填报单位（盖章）：{inst}      {when}"]
    elif kind == "page_header":
        del spec.cover[at]
        d.word["page_header"] = inst
