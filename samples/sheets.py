"""Spreadsheet samples: filled forms written as Excel workbooks by openpyxl, and passed through LibreOffice Calc.

usage: python -m samples.sheets OUT_DIR [--seed N]

A FormSpec (samples.spec) is laid out on a worksheet as people do it in Excel or WPS: cover lines in column A
(the title merged across the table), or a 填报日期 cell holding a real date, or no cover at all; the statistics
as label | number rows; the score table with real merged ranges (大项, 中项, 分值 down their rows, the totals
rows' label across), numbers as numbers, and totals as =SUM(…) formulas where the printed total is their sum.
Producers: ``openpyxl`` (formulas saved without values, as openpyxl writes them), ``lo_xlsx`` (the same file
recalculated and saved by LibreOffice), ``xls`` and ``ods`` (saved by LibreOffice as Excel 97 and
OpenDocument). LibreOffice variants are skipped with a warning when soffice is missing. The ground truth is
samples.truth's format; a form with no cover has no institution or fill date to find (null).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from samples.generate import form_spec
from samples.noise import DATE_STYLES, NAME_STYLES
from samples.pdf import soffice_path
from samples.spec import FormSpec, Row, TableSpec
from samples.truth import truth_of
from samples.variant import Variant

SOFFICE_TIMEOUT = 600
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_PLAIN_LINES = ("附件", "评价机构名称", "填", "（续表）")
_THIN = Side(style="thin")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
WIDTHS = {"seq": 5, "cat": 12, "sec": 12, "label": 30, "desc": 36, "points": 6, "method": 24, "self": 9, "insp": 9,
          "note": 9}
DATE_FORMAT = 'yyyy"年"m"月"d"日"'
TARGETS = {"lo_xlsx": ("xlsx", "xlsx:Calc MS Excel 2007 XML"), "xls": ("xls", "xls:MS Excel 97"),
           "ods": ("ods", "ods:calc8")}


@dataclass
class SheetOptions:
    """How one form is laid out on its sheet."""

    cover: str = "lines"  # lines | date_cell (填报日期 | a date cell) | none
    formulas: bool = True  # totals as =SUM(...) where the printed total is the sum
    number_format: str | None = None  # e.g. "0.0" on the score columns
    float_noise: bool = False  # scores written with binary noise (4.5 as 4.4999999999999964)
    hide: str | None = None  # a column key hidden (kept, marked)
    sheet: str = "自评表"


# (tag, kind, Variant options, SheetOptions options, producer); kind qh or national
SHEET_PLAN: list[tuple[str, str, dict, dict, str]] = [
    ("merged", "qh", {}, {}, "openpyxl"),
    ("merged_noformula", "qh", {"bonus": True}, {"formulas": False, "cover": "date_cell"}, "openpyxl"),
    ("repeat_dec", "qh", {"layout": "repeat", "header_rows": 1, "fmt": "dec"},
     {"number_format": "0.0", "float_noise": True}, "openpyxl"),
    ("nocover_errors", "qh", {"errors": ("over_cap", "missing_score", "total_mismatch")},
     {"cover": "none", "formulas": False}, "openpyxl"),
    ("hidden_method", "qh", {"layout": "blank", "extra_cols": ("seq",)}, {"hide": "method", "formulas": False},
     "openpyxl"),
    ("recalc", "qh", {"bonus": True}, {"cover": "date_cell"}, "lo_xlsx"),
    ("recalc_split", "qh", {"split": True, "split_note": "（续表）"}, {"number_format": "0.0"}, "lo_xlsx"),
    ("recalc_errors", "qh", {"errors": ("non_numeric", "missing_item", "unmatched_row"), "layout": "repeat"}, {},
     "lo_xlsx"),
    ("xls_merged", "qh", {"diff_rate": 0.2}, {"cover": "date_cell"}, "xls"),
    ("xls_national", "national", {"points": True, "layout": "repeat"}, {}, "xls"),
    ("ods_merged", "qh", {"extra_cols": ("note",)}, {}, "ods"),
    ("ods_national", "national", {"diff_rate": 0.12}, {"cover": "date_cell"}, "ods"),
    ("noise_fen", "qh", {"noise": 0.3, "noise_kinds": ("typo", "space", "break"), "fmt": "fen"}, {}, "openpyxl"),
    ("xls_noise_errors", "qh", {"noise": 0.2, "bonus": True, "errors": ("over_cap", "negative_score",
                                                                         "grand_mismatch")}, {}, "xls"),
]
# Two forms in one workbook (and a sheet of notes that is no form): (tag, [(sheet, kind, Variant options)])
BOOK_PLAN = [("book", [("自评表", "qh", {}), ("国家指标", "national", {"diff_rate": 0.12})])]


def _value(text: str, as_number: bool, noise: bool) -> object:
    """A score cell's value: a number where the text is one (binary noise added on request), else the text."""
    t = text.strip()
    if not as_number or not _NUMBER.match(t):
        return text
    if "." not in t:
        return int(t)
    v = float(t)
    return v - 4e-15 if noise and v > 0 else v


def _header_cells(spec: FormSpec, cols: list[str]) -> list[tuple[int, int, str, int, int]]:
    """The header as (row, col, text, rowspan, colspan), 0-based, as samples.render prints it."""
    out = []
    if spec.groups:
        spans = {cols.index(a): (cols.index(b), title) for a, b, title in spec.groups}
        inside = {c for lo, (hi, _) in spans.items() for c in range(lo, hi + 1)}
        for c, key in enumerate(cols):
            name = spec.headers.get(key, key)
            out.append((1, c, name, 1, 1) if c in inside else (0, c, name, 2, 1))
        out += [(0, lo, title, 1, hi - lo + 1) for lo, (hi, title) in spans.items()]
        return out
    group = [c for c, k in enumerate(cols) if k in ("cat", "sec", "label")]
    two = spec.header_rows == 2 and len(group) == 3 and group[2] - group[0] == 2
    for c, key in enumerate(cols):
        name = spec.headers.get(key, key)
        if not two:
            out += [(r, c, name, 1, 1) for r in range(spec.header_rows)]
        elif c in group:
            out.append((1, c, name, 1, 1))
        else:
            out.append((0, c, name, 2, 1))
    if two:
        out.append((0, group[0], "督导检查内容", 1, 3))
    return out


class _Writer:
    def __init__(self, ws: Worksheet, spec: FormSpec, opts: SheetOptions) -> None:
        self.ws, self.spec, self.opts = ws, spec, opts
        self.cols = spec.columns
        self.r = 1
        self.item_rows: list[int] = []  # sheet rows of body rows (items and extras), for SUM
        self.total_cells: dict[str, dict[str, tuple[str, object]]] = {}  # kind -> key -> (text, value written)
        self.positions: list[tuple[Row, int]] = []  # every body row with its sheet row

    def put(self, r: int, c: int, value: object, border: bool = True, rowspan: int = 1, colspan: int = 1) -> None:
        cell = self.ws.cell(row=r, column=c + 1, value=value)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if border:
            for rr in range(r, r + rowspan):
                for cc in range(c, c + colspan):
                    self.ws.cell(row=rr, column=cc + 1).border = BORDER
        if rowspan > 1 or colspan > 1:
            self.ws.merge_cells(start_row=r, start_column=c + 1, end_row=r + rowspan - 1, end_column=c + colspan)

    def cover(self) -> None:
        if self.opts.cover == "none":
            return
        width = len(self.cols)
        for text in self.spec.cover:
            if self.opts.cover == "date_cell" and "日期" in text:
                key = text[: text.index("期") + 1]
                self.put(self.r, 0, key + "：", border=False)
                self.put(self.r, 1, dt.datetime.combine(self.spec.fill_date, dt.time()), border=False)
                self.ws.cell(row=self.r, column=2).number_format = DATE_FORMAT
            elif text.startswith(_PLAIN_LINES):
                self.put(self.r, 0, text, border=False)
            else:  # a title: merged across the table, as people centre it
                self.put(self.r, 0, text, border=False, colspan=width)
            self.r += 1
        self.r += 1
        for row in self.spec.cover_table:
            for c, text in enumerate(row):
                self.put(self.r, c, text)
            self.r += 1
        if self.spec.stats is not None:
            for key, label in self.spec.stats_labels:
                self.put(self.r, 0, label)
                self.put(self.r, 1, self.spec.stats[key])
                self.r += 1
        self.r += 1

    def table(self, ts: TableSpec) -> None:
        spec, cols = self.spec, self.cols
        if ts.before:
            self.put(self.r, 0, ts.before, border=False)
            self.r += 1
        nh = spec.header_rows if ts.header else 0
        if nh:
            for r, c, text, rs, cs in _header_cells(spec, cols):
                self.put(self.r + r, c, text, rowspan=rs, colspan=cs)
        top = self.r + nh
        rows = ts.rows
        merged = spec.layout == "merged"
        for i, row in enumerate(rows):
            r = top + i
            lo, hi = (cols.index(row.span[0]), cols.index(row.span[1])) if row.span else (-1, -1)
            self.positions.append((row, r))
            if row.kind in ("item", "extra"):
                self.item_rows.append(r)
            for c, key in enumerate(cols):
                if lo < c <= hi or (merged and key in row.cont):
                    continue
                blank = key in row.blank or (spec.layout == "blank" and key in row.cont)
                text = "" if blank else row.cells.get(key, "")
                span = 1
                if merged and row.kind in ("item", "extra"):
                    while i + span < len(rows) and key in rows[i + span].cont:
                        span += 1
                value = self._cell_value(row, key, text)
                self.put(r, c, value, rowspan=span, colspan=(hi - lo + 1) if c == lo else 1)
                if key in ("self", "insp") and self.opts.number_format and isinstance(value, (int, float)):
                    self.ws.cell(row=r, column=c + 1).number_format = self.opts.number_format
        self.r = top + len(rows) + 1

    def _cell_value(self, row: Row, key: str, text: str) -> object:
        if key not in ("self", "insp", "points"):
            return text or None
        value = _value(text, True, self.opts.float_noise and key != "points")
        if row.kind in ("total", "bonus", "penalty", "grand") and key in ("self", "insp"):
            self.total_cells.setdefault(row.kind, {})[key] = (text, value)
        return value if value != "" else None

    def formulas(self) -> None:
        """Replace printed totals by formulas where the formula gives the printed value."""
        if not self.opts.formulas or "total" not in self.total_cells:
            return
        cols = self.cols
        at: dict[str, int] = {}
        for row, r in self.positions:
            if row.kind in ("total", "bonus", "penalty", "grand"):
                at.setdefault(row.kind, r)
        for key in ("self", "insp"):
            c = cols.index(key) + 1
            letter = get_column_letter(c)
            nums = [self.ws.cell(row=r, column=c).value for r in self.item_rows]
            text, printed = self.total_cells["total"].get(key, ("", None))
            if not nums or any(not isinstance(v, (int, float)) for v in nums) or not isinstance(printed,
                                                                                                 (int, float)):
                continue
            if sum(Decimal(str(v)) for v in nums) != Decimal(text.strip()):
                continue
            ranges = ",".join(f"{letter}{a}:{letter}{b}" for a, b in _runs(self.item_rows))
            self.ws.cell(row=at["total"], column=c, value=f"=SUM({ranges})")
            if "grand" in at:
                g_text = self.total_cells.get("grand", {}).get(key, ("", None))[0]
                parts = [self.ws.cell(row=at[k], column=c).value if k in at else None for k in ("bonus", "penalty")]
                if all(p is None or isinstance(p, (int, float)) for p in parts) and _NUMBER.match(g_text.strip()):
                    want = Decimal(text.strip()) + sum(Decimal(str(p or 0)) * s for p, s in zip(parts, (1, -1),
                                                                                                    strict=True))
                    if want == Decimal(g_text.strip()):
                        terms = f"{letter}{at['total']}" + "".join(
                            f"{sign}{letter}{at[k]}" for k, sign in (("bonus", "+"), ("penalty", "-")) if k in at)
                        self.ws.cell(row=at["grand"], column=c, value=f"={terms}")


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for r in rows:
        if out and out[-1][1] == r - 1:
            out[-1][1] = r
        else:
            out.append([r, r])
    return [(a, b) for a, b in out]


def spec_to_sheet(ws: Worksheet, spec: FormSpec, opts: SheetOptions) -> None:
    """Given a worksheet, a form spec and the sheet options, lay the form out on the worksheet."""
    w = _Writer(ws, spec, opts)
    w.cover()
    for ts in spec.tables:
        w.table(ts)
    w.formulas()
    for c, key in enumerate(spec.columns, 1):
        ws.column_dimensions[get_column_letter(c)].width = WIDTHS.get(key, 10)
        if opts.hide == key:
            ws.column_dimensions[get_column_letter(c)].hidden = True


def workbook_bytes(wb: Workbook) -> bytes:
    """Given a workbook, return its .xlsx bytes with fixed dates (same bytes for the same content)."""
    fixed = dt.datetime(2024, 1, 1)
    wb.properties.created = wb.properties.modified = fixed
    raw, out = io.BytesIO(), io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", data)
            zout.writestr(zipfile.ZipInfo(info.filename, (2024, 1, 1, 0, 0, 0)), data,
                          compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def sheet_truth(spec: FormSpec, opts: SheetOptions) -> dict:
    """Given a spec and how it was laid out, return its truth record (no cover: no institution or date)."""
    t = truth_of(spec)
    if opts.cover == "none":
        t["institution"], t["fill_date"] = None, None
        t.pop("stats", None)
    return t


def convert(paths: list[Path], producer: str, out_dir: Path) -> list[Path]:
    """Given .xlsx files, save them with LibreOffice Calc as the producer's format in out_dir (one soffice call);
    return the files written ([] with a warning when soffice is missing or fails)."""
    exe = soffice_path()
    if not paths:
        return []
    if exe is None:
        print(f"warning: soffice not found: {len(paths)} LibreOffice spreadsheet sample(s) skipped", file=sys.stderr)
        return []
    ext, target = TARGETS[producer]
    with tempfile.TemporaryDirectory(prefix="lo-") as profile, tempfile.TemporaryDirectory(prefix="lo-out-") as tmp:
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", tmp, *map(str, paths)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=SOFFICE_TIMEOUT)
        except (subprocess.SubprocessError, OSError) as e:
            print(f"warning: soffice failed ({e}): LibreOffice spreadsheet samples skipped", file=sys.stderr)
            return []
        done = []
        for p in paths:
            got = Path(tmp) / f"{p.stem}.{ext}"
            if got.exists():
                shutil.move(str(got), out_dir / got.name)
                done.append(out_dir / got.name)
            else:
                print(f"warning: soffice did not convert {p.name}", file=sys.stderr)
    return done


def generate_sheets(out_dir: str | Path, seed: int = 0) -> dict:
    """Given an output folder and a seed, write the spreadsheet samples; return their truth (also truth.json)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict] = {}
    pending: dict[str, list[tuple[Path, str, dict]]] = {}
    with tempfile.TemporaryDirectory(prefix="sheets-") as tmp:
        for i, (tag, kind, vopts, sopts, producer) in enumerate(SHEET_PLAN, 1):
            rng = random.Random(f"{seed}:sheet:{i}:{kind}:{tag}")
            vopts = {"name_style": rng.choice(NAME_STYLES), "date_style": rng.choice(DATE_STYLES)} | vopts
            spec = form_spec(kind, Variant(**vopts), rng)
            opts = SheetOptions(**sopts)
            wb = Workbook()
            ws = wb.active
            ws.title = opts.sheet
            spec_to_sheet(ws, spec, opts)
            name = f"{kind}_sheet_{tag}_{i:02d}"
            record = sheet_truth(spec, opts)
            if producer == "openpyxl":
                (out / f"{name}.xlsx").write_bytes(workbook_bytes(wb))
                truth[f"{name}.xlsx"] = record
            else:
                src = Path(tmp) / producer / f"{name}.xlsx"
                src.parent.mkdir(exist_ok=True)
                src.write_bytes(workbook_bytes(wb))
                pending.setdefault(producer, []).append((src, TARGETS[producer][0], record))
        for j, (tag, sheets) in enumerate(BOOK_PLAN, len(SHEET_PLAN) + 1):
            wb = Workbook()
            wb.remove(wb.active)
            name = f"{tag}_{j:02d}.xlsx"
            for sheet, kind, vopts in sheets:
                rng = random.Random(f"{seed}:book:{j}:{sheet}")
                spec = form_spec(kind, Variant(**vopts), rng)
                opts = SheetOptions(sheet=sheet)
                spec_to_sheet(wb.create_sheet(sheet), spec, opts)
                truth[f"{name}!{sheet}"] = sheet_truth(spec, opts)
            notes = wb.create_sheet("填表说明")
            for r, text in enumerate(("填表说明：", "1．自评结果填写得分。", "2．督查结果由督导组填写。"), 1):
                notes.cell(row=r, column=1, value=text)
            (out / name).write_bytes(workbook_bytes(wb))
        for producer, items in pending.items():
            done = {p.name for p in convert([src for src, _, _ in items], producer, out)}
            for src, ext, record in items:
                if f"{src.stem}.{ext}" in done:
                    truth[f"{src.stem}.{ext}"] = record
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    """Given command-line arguments (OUT_DIR [--seed N]), write the spreadsheet samples."""
    ap = argparse.ArgumentParser(prog="python -m samples.sheets", description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    truth = generate_sheets(a.out_dir, a.seed)
    print(f"wrote {len(truth)} spreadsheet forms and truth.json to {a.out_dir}")


if __name__ == "__main__":
    main()
