"""Printed-text variants: score formats, label noise, institution names and header lines."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from decimal import Decimal

from samples.official import KINDS, NAMES, PLACES
from samples.spec import plain

SCORE_STYLES = ("plain", "fen", "full", "dec", "pad")
NAME_STYLES = ("plain", "seal", "underscore", "spaces")
DATE_STYLES = ("cn", "cn_spaced", "dot", "dash")
LABEL_NOISE = ("typo", "prefix", "fen_drop", "fen_half", "space", "break", "comma")

# look-alike / homophone substitutions seen in hand-typed forms
TYPOS = {"保": "宝", "度": "渡", "制": "治", "管": "官", "理": "里", "评": "平", "试": "式", "题": "提", "档": "挡",
         "案": "按", "记": "纪", "情": "清", "核": "合", "职": "织", "审": "申", "训": "讯", "建": "健", "资": "姿",
         "卷": "券", "备": "被", "规": "归", "范": "犯", "督": "都", "确": "却"}
_FULL = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
_FEN = re.compile(r"（(\d+(?:\.\d+)?)分）$")


def fmt_score(value: Decimal | str | None, style: str, rng: random.Random) -> str:
    """Given a score (Decimal, literal text or None for blank) and a style, return the cell text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if style == "mixed":
        style = rng.choice(SCORE_STYLES)
    s = plain(value)
    if style == "fen":
        return s + "分"
    if style == "full":
        return s.translate(_FULL) if rng.random() < 0.5 else s.translate(_FULL).replace("．", ".")
    if style == "dec":
        return s if "." in s else s + ".0"
    if style == "pad":
        return f" {s} "
    return s


def noisy_label(label: str, rng: random.Random, kinds: tuple[str, ...] = LABEL_NOISE) -> str:
    """Given a canonical label and the allowed noise kinds, return the label as a careless filler typed it."""
    ok = [k for k in kinds if _applies(k, label)]
    if not ok:
        return label
    kind = rng.choice(ok)
    if kind == "typo":
        spots = [i for i, ch in enumerate(label) if ch in TYPOS]
        chars = list(label)
        for i in rng.sample(spots, min(len(spots), rng.choice((1, 1, 2)))):
            chars[i] = TYPOS[chars[i]]
        return "".join(chars)
    if kind == "prefix":
        return label.removeprefix("技能人才评价")
    if kind == "fen_drop":
        return _FEN.sub("", label)
    if kind == "fen_half":
        return _FEN.sub(r"(\1分)", label)
    if kind == "comma":
        return label.replace("，", ",").replace("、", ",")
    at = rng.randint(2, max(2, len(_FEN.sub("", label)) - 2))
    return label[:at] + ("\n" if kind == "break" else rng.choice((" ", "  ", " "))) + label[at:]


def _applies(kind: str, label: str) -> bool:
    if kind == "typo":
        return any(ch in TYPOS for ch in label)
    if kind == "prefix":
        return label.startswith("技能人才评价")
    if kind in ("fen_drop", "fen_half"):
        return bool(_FEN.search(label))
    if kind == "comma":
        return "，" in label or "、" in label
    return len(label) >= 6


def institution(rng: random.Random) -> str:
    """Given a random generator, return an institution name such as 海东市祁连职业技能培训学校."""
    return rng.choice(PLACES) + rng.choice(NAMES) + rng.choice(KINDS)


def fill_date(rng: random.Random) -> date:
    """Given a random generator, return a fill date in 2024."""
    return date(2024, 1, 2) + timedelta(days=rng.randint(0, 360))


def name_line(name: str, style: str) -> str:
    """Given the institution and a style, return the 评价机构名称 line."""
    body = {"seal": f"{name}（盖章）", "underscore": f"____{name}________", "spaces": f"    {name}          "}
    return "评价机构名称：" + body.get(style, name)


def date_line(d: date, style: str, label: str = "填 报 日 期：") -> str:
    """Given the fill date and a style, return the 填报日期 line."""
    text = {"cn_spaced": f"{d.year} 年 {d.month} 月 {d.day} 日", "dot": f"{d.year}.{d.month:02d}.{d.day:02d}",
            "dash": f"{d.year}-{d.month}-{d.day}"}.get(style, f"{d.year}年{d.month}月{d.day}日")
    return label + text
