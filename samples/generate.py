"""Generate filled self-evaluation forms (.docx and .pdf) and their ground truth (truth.json).

usage: python -m samples.generate OUT_DIR [--seed N] [--count N]

The default set (no --count) holds every layout variant, planted error, national style and broken file at
least once; file names say the variant (qh_merged_01.docx, qh_err_overcap_23.docx, broken_empty_34.docx),
then PDFs (qh_pdf_lo_merged_36.pdf exported by LibreOffice, skipped with a warning without soffice;
qh_pdf_rl_portrait_splitrows_45.pdf drawn by reportlab), see samples.pdf.
With --count N the first N entries of that set are written, then random combinations.
Output is deterministic for a given seed (also byte-for-byte: zip entries get a fixed timestamp, PDF dates
and ids are fixed).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import zipfile
from pathlib import Path

import docx.document

from samples.national import national_spec
from samples.noise import DATE_STYLES, NAME_STYLES, SCORE_STYLES
from samples.pdf import convert_docx, set_landscape
from samples.qinghai import qinghai_spec
from samples.render import build_form
from samples.spec import FormSpec
from samples.truth import truth_of
from samples.variant import ERRORS, Variant

__all__ = ["PLAN", "build_form", "form_spec", "generate", "save_docx", "truth_of"]

_SPLIT = {"split": True, "split_note": "（续表）"}
_LO = {"via": "soffice"}  # PDF options: via soffice | reportlab, landscape, repeat_header, split_rows
_RL = {"via": "reportlab", "landscape": False, "repeat_header": True, "split_rows": True}
# (tag, kind, Variant options); kind is qh, national or broken
PLAN: list[tuple[str, str, dict]] = [
    ("merged", "qh", {}),
    ("merged_bonus", "qh", {"bonus": True, "diff_rate": 0.15}),
    ("unmerged_repeat", "qh", {"layout": "repeat", "header_rows": 1}),
    ("unmerged_blank", "qh", {"layout": "blank"}),
    ("split_header", "qh", _SPLIT),
    ("split_noheader", "qh", {"split": True, "split_header": False, "split_carry": False, "layout": "repeat",
                              "header_rows": 1}),
    ("split_merged_nocarry", "qh", _SPLIT | {"split_header": False, "split_carry": False}),
    ("renamed_defen", "qh", {"self_header": "自评得分", "insp_header": "督查得分", "fmt": "pad"}),
    ("renamed_inspfirst", "qh", {"self_header": "自查得分", "insp_header": "检查得分", "insp_first": True,
                                 "layout": "repeat"}),
    ("extracols", "qh", {"self_header": "自评分", "insp_header": "督导组评分", "extra_cols": ("seq", "note")}),
    ("nomethod", "qh", {"drop_method": True, "header_rows": 1, "layout": "blank"}),
    ("noise_typo", "qh", {"noise": 0.3, "noise_kinds": ("typo", "space", "break")}),
    ("noise_prefix", "qh", {"noise": 0.4, "noise_kinds": ("prefix", "fen_drop", "fen_half", "comma")}),
    ("shuffled", "qh", {"shuffle": True, "noise": 0.1}),
    ("fmt_fen_seal", "qh", {"fmt": "fen", "name_style": "seal", "date_style": "cn_spaced"}),
    ("fmt_fullwidth_underscore", "qh", {"fmt": "full", "name_style": "underscore", "date_style": "dot"}),
    ("fmt_decimal_dash", "qh", {"fmt": "dec", "name_style": "spaces", "date_style": "dash"}),
    ("fmt_mixed", "qh", {"fmt": "mixed", "layout": "repeat"}),
    ("noinsp", "qh", {"no_inspector": True}),
    ("err_overcap", "qh", {"errors": ("over_cap",)}),
    ("err_negative", "qh", {"errors": ("negative_score",), "layout": "repeat"}),
    ("err_nonnumeric", "qh", {"errors": ("non_numeric",)}),
    ("err_missingscore", "qh", {"errors": ("missing_score",), "layout": "blank"}),
    ("err_totalmismatch", "qh", {"errors": ("total_mismatch",)}),
    ("err_grandmismatch", "qh", {"errors": ("grand_mismatch",)}),
    ("err_missingitem", "qh", {"errors": ("missing_item",)}),
    ("err_unmatched", "qh", {"errors": ("unmatched_row",), "layout": "repeat"}),
    ("combo_split_noise_errors", "qh", {"split": True, "split_header": False, "self_header": "自评得分",
                                        "insp_header": "检查得分", "noise": 0.2, "fmt": "mixed",
                                        "extra_cols": ("seq",), "errors": ("over_cap", "missing_item",
                                                                           "non_numeric", "total_mismatch")}),
    ("combo_noinsp_errors", "qh", {"no_inspector": True, "layout": "blank", "header_rows": 1,
                                   "errors": ("missing_score", "unmatched_row", "negative_score")}),
    ("merged", "national", {"diff_rate": 0.12}),
    ("plain_noinsp", "national", {"numbered": False, "layout": "repeat", "no_inspector": True}),
    ("points", "national", {"points": True, "layout": "repeat", "errors": ("over_cap", "missing_score")}),
    ("truncated", "broken", {}),
    ("empty", "broken", {}),
    ("textfile", "broken", {}),
    # PDFs (written as .pdf; opts["pdf"] picks the producer, see samples.pdf): LibreOffice exports of the
    # .docx (skipped with a warning when soffice is missing), then reportlab drawings of the spec.
    ("pdf_lo_merged", "qh", {"pdf": _LO}),
    ("pdf_lo_unmerged", "qh", {"layout": "repeat", "header_rows": 1, "pdf": _LO}),
    ("pdf_lo_split", "qh", _SPLIT | {"pdf": _LO}),
    ("pdf_lo_renamed", "qh", {"self_header": "自评得分", "insp_header": "督查得分", "fmt": "pad", "pdf": _LO}),
    ("pdf_lo_noise", "qh", {"noise": 0.3, "noise_kinds": ("typo", "space", "break"), "pdf": _LO}),
    ("pdf_lo_errors", "qh", {"errors": ("over_cap", "missing_score", "non_numeric", "total_mismatch"),
                             "layout": "blank", "pdf": _LO}),
    ("pdf_lo_landscape", "qh", {"pdf": _LO | {"landscape": True}}),
    ("pdf_lo_landscape_repeat", "qh", {"layout": "repeat", "fmt": "mixed", "pdf": _LO | {"landscape": True}}),
    ("pdf_lo_merged", "national", {"diff_rate": 0.12, "pdf": _LO}),
    ("pdf_rl_portrait_splitrows", "qh", {"layout": "blank", "noise": 0.5, "noise_kinds": ("break",), "pdf": _RL}),
    ("pdf_rl_landscape_noheader", "qh", {"layout": "repeat", "header_rows": 1,
                                         "pdf": _RL | {"landscape": True, "repeat_header": False}}),
    ("pdf_rl_merged_rowbreaks", "qh", {"bonus": True, "pdf": _RL | {"split_rows": False}}),
    ("pdf_rl_merged_splitspans", "qh", {"fmt": "fen", "pdf": _RL}),
]


def form_spec(kind: str, variant: Variant, rng: random.Random) -> FormSpec:
    """Given a kind ("qh" or "national"), a variant and a random generator, return the form spec."""
    return qinghai_spec(variant, rng) if kind == "qh" else national_spec(variant, rng)


def save_docx(doc: docx.document.Document, path: str | Path) -> None:
    """Given a Document, write it to path with fixed zip timestamps (same bytes for the same content)."""
    Path(path).write_bytes(_docx_bytes(doc))


def _docx_bytes(doc: docx.document.Document) -> bytes:
    raw, out = io.BytesIO(), io.BytesIO()
    doc.save(raw)
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(zipfile.ZipInfo(info.filename, (2024, 1, 1, 0, 0, 0)), zin.read(info.filename),
                          compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _broken(tag: str, rng: random.Random) -> bytes:
    if tag == "empty":
        return b""
    if tag == "textfile":
        return "这不是Word文件。\n评价机构名称：\n自评结果见附件。\n".encode()
    data = _docx_bytes(build_form(qinghai_spec(Variant(), rng)))
    return data[: int(len(data) * rng.uniform(0.3, 0.6))]


def _random_entry(rng: random.Random) -> tuple[str, str, dict]:
    opts = {"layout": rng.choice(("merged", "repeat", "blank")), "split": rng.random() < 0.3,
            "fmt": rng.choice((*SCORE_STYLES, "mixed")), "noise": rng.choice((0, 0, 0.1, 0.3)),
            "insp_first": rng.random() < 0.2, "no_inspector": rng.random() < 0.1,
            "errors": tuple(rng.sample(ERRORS, rng.choice((0, 0, 1, 2))))}
    return "random", "qh", opts


def generate(out_dir: str | Path, seed: int = 0, count: int | None = None) -> dict:
    """Given an output folder, a seed and an optional file count, write the forms and truth.json; return the truth."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = list(PLAN) if count is None else PLAN[:count]
    extra = random.Random(f"{seed}:extra")
    plan += [_random_entry(extra) for _ in range((count or 0) - len(plan))]
    truth: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="samples-") as tmp:
        to_convert: list[Path] = []
        for i, (tag, kind, opts) in enumerate(plan, 1):
            name = f"{kind}_{tag}_{i:02d}.docx"
            rng = random.Random(f"{seed}:{i}:{kind}:{tag}")
            if kind == "broken":
                (out / name).write_bytes(_broken(tag, rng))
                truth[name] = {"bad": True}
                continue
            pdf = opts.get("pdf")
            opts = {"name_style": rng.choice(NAME_STYLES), "date_style": rng.choice(DATE_STYLES)} | opts
            opts.pop("pdf", None)
            spec = form_spec(kind, Variant(**opts), rng)
            if pdf is None:
                save_docx(build_form(spec), out / name)
            elif pdf["via"] == "soffice":  # exported all at once below
                doc = build_form(spec)
                save_docx(set_landscape(doc) if pdf.get("landscape") else doc, Path(tmp) / name)
                to_convert.append(Path(tmp) / name)
            else:
                from samples.pdf_reportlab import render_pdf  # reportlab is a dev dependency

                render_pdf(spec, out / Path(name).with_suffix(".pdf"), landscape_page=pdf["landscape"],
                           repeat_header=pdf["repeat_header"], split_rows=pdf["split_rows"])
            truth[Path(name).with_suffix(".pdf").name if pdf else name] = truth_of(spec)
        done = {p.name for p in convert_docx(to_convert, out)}
        for p in to_convert:
            if p.with_suffix(".pdf").name not in done:
                del truth[p.with_suffix(".pdf").name]
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    """Given command-line arguments (OUT_DIR [--seed N] [--count N]), generate the forms."""
    ap = argparse.ArgumentParser(prog="python -m samples.generate", description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=None, help=f"number of files (default {len(PLAN)})")
    a = ap.parse_args(argv)
    truth = generate(a.out_dir, a.seed, a.count)
    bad = sum(1 for t in truth.values() if t.get("bad"))
    print(f"wrote {len(truth)} files ({len(truth) - bad} forms, {bad} broken) and truth.json to {a.out_dir}")


if __name__ == "__main__":
    main()
