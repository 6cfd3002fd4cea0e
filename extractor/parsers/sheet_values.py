"""Spreadsheet cell values -> the text a person sees in Excel or WPS.

A number is shown as its number format shows it: "0.0" rounds 4.4999999999 (binary noise of 4.5) to 4.5, so
the value read is the one printed and summed by eye. Only the format's decimals and percent signs are honoured;
its literal text ("分"), colours and conditions are not shown. When the rounding hides more than binary
noise (4.4 under "0" shows 4), the text is what is shown and the cell carries a doubt, so the value is flagged.
Dates become 2024年7月21日, so the cover's 填报日期 is read as in Word.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

GENERAL = "General"
# Excel's General format shows about ten significant digits in a default-width column.
GENERAL_DIGITS = 10
# A displayed value closer than this (relative) to the stored one differs by binary noise only.
NOISE = Decimal("1e-9")
_QUOTED = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def value_to_text(value: object, number_format: str | None) -> tuple[str, str | None]:
    """Given a cell's value as openpyxl reads it and its number format, return (the text shown, a doubt or
    None): numbers by their format, dates as 2024年7月21日, booleans TRUE/FALSE, text as written."""
    if value is None:
        return "", None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    if isinstance(value, (int, float)):
        return number_to_text(value, number_format or GENERAL)
    if isinstance(value, dt.datetime):
        day = f"{value.year}年{value.month}月{value.day}日"
        return (day if value.time() == dt.time(0) else f"{day} {value:%H:%M}"), None
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日", None
    if isinstance(value, dt.time):
        return f"{value:%H:%M}", None
    if isinstance(value, dt.timedelta):
        return str(value), None
    return str(value).replace("\r\n", "\n").replace("\r", "\n"), None


def _plain(d: Decimal) -> str:
    s = f"{d:f}"
    return "0" if s in ("-0", "") else s


def _significant(value: float, digits: int) -> Decimal:
    return Decimal(f"{value:.{digits}g}")


def format_decimals(number_format: str, negative: bool = False) -> tuple[int, int] | None:
    """Given a number format, return (decimals shown, percent signs) of the section that shows the number, or
    None when it shows it as General (General, text @, scientific, or no digit placeholder)."""
    sections = number_format.split(";")
    section = sections[1] if negative and len(sections) > 1 and sections[1] else sections[0]
    bare = _QUOTED.sub("", section)
    if GENERAL.lower() in bare.lower() or "@" in bare or re.search(r"[eE][+-]", bare) or not re.search(r"[0#?]",
                                                                                                          bare):
        return None
    point = bare.find(".")
    decimals = 0
    if point >= 0:
        m = re.match(r"[0#?]*", bare[point + 1:])
        decimals = len(m.group(0)) if m else 0
    return decimals, bare.count("%")


def number_to_text(value: float | int, number_format: str) -> tuple[str, str | None]:
    """Given a number and its cell's number format, return (the text Excel shows, a doubt when the format hides
    more than binary noise of the stored value)."""
    if isinstance(value, int) and format_decimals(number_format, value < 0) is None:
        return str(value), None
    try:
        stored = _significant(float(value), 15)  # Excel keeps 15 significant digits
    except (InvalidOperation, ValueError, OverflowError):
        return str(value), None
    if not stored.is_finite():
        return str(value), None
    shape = format_decimals(number_format, value < 0)
    if shape is None:
        shown = _significant(float(value), GENERAL_DIGITS)
        text, percent = _plain(shown.normalize()), 0
    else:
        decimals, percent = shape
        scaled = stored.scaleb(2 * percent)
        shown = scaled.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        text = _plain(shown) + "%" * percent
        shown = shown.scaleb(-2 * percent)
    doubt = None
    if abs(shown - stored) > NOISE * max(Decimal(1), abs(stored)):
        doubt = (f"按数字格式「{number_format}」显示为 {text}，单元格实际为 {_plain(stored.normalize())} (the number "
                 "format hides digits)")
    return text, doubt
