"""OCR benchmark: scanned samples per dpi -> values exact, wrong values flagged, seconds per page.

The generated PDF samples (samples.generate; LibreOffice ones need soffice) and the shared filled_pdf.pdf
are scanned with samples.scan at each dpi (red seal over score cells, tilted 1-2 degrees, paper noise),
read by OCR, and compared with the truth of their source form:

- values exact: self and inspector values equal to the truth, over every item of every form;
- wrong flagged: of the values that are not exact, the share the form flags for review: a warning or error
  on that item (low_confidence_value, over_cap, non_numeric, missing_score, ...) or a total_mismatch /
  subtotal_mismatch on that side that the text-layer reading of the same PDF does not have;
- right but low-confidence: items read exactly that low_confidence_value still sends to review;
- s/page: OCR seconds per page (rasterising included, scan generation not).

usage: python bench/ocr.py [--dpi 150,200,300] [--only NAME,...] [--seed 0] [--misses] [--keep DIR]
Needs the OCR extra (pip install 'selfeval[ocr]').
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

import rubric  # noqa: E402
from extractor.checks import ERROR, WARNING  # noqa: E402
from extractor.export import form_to_json  # noqa: E402
from extractor.extract import path_to_form  # noqa: E402
from samples.scan import make_scan  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from accuracy import load_scorer  # noqa: E402  (one loader of the shared scorer)

SIDE_NAMES = {"self": "自评", "inspector": "督查"}
FORM_LEVEL = ("total_mismatch", "subtotal_mismatch")


def sources(tmp: Path, seed: int, only: list[str] | None) -> list[tuple[str, Path, dict]]:
    """Return (name, pdf, truth) of every PDF sample to scan."""
    from samples.generate import generate

    gen = tmp / "gen"
    truth = generate(gen, seed=seed)
    out = [(name, gen / name, t) for name, t in sorted(truth.items()) if name.endswith(".pdf") and not t.get("bad")]
    shared = SHARED / "samples" / "forms" / "filled_pdf.pdf"
    if shared.exists():
        shared_truth = json.loads((SHARED / "samples" / "truth.json").read_text(encoding="utf-8"))
        out.append(("filled_pdf.pdf", shared, shared_truth["filled_pdf.pdf"]))
    return [s for s in out if not only or any(o in s[0] for o in only)]


def flagged_sides(record: dict, baseline: dict) -> tuple[set[tuple[str, str]], set[str]]:
    """Given an OCR record and the text-layer record of the same form, return the (item code, side) pairs
    with an item-level warning or error, and the sides with a form-level mismatch the baseline lacks."""
    items: set[tuple[str, str]] = set()
    for d in record.get("discrepancies", []):
        if d.get("item") and d.get("severity") in (ERROR, WARNING) and d["kind"] != "low_confidence_match":
            message = d.get("message", "")
            for side, name in SIDE_NAMES.items():
                # low_confidence_value without a side name is about the self cell (its confidence is the self's)
                if name in message or (d["kind"] == "low_confidence_value" and side == "self"
                                       and not any(n in message for n in SIDE_NAMES.values())):
                    items.add((d["item"], side))
    old = {(d["kind"], d["message"]) for d in baseline.get("discrepancies", [])}
    sides = {side for d in record.get("discrepancies", []) if d["kind"] in FORM_LEVEL
             and (d["kind"], d["message"]) not in old for side, name in SIDE_NAMES.items() if name in d["message"]}
    return items, sides


def compare(record: dict, baseline: dict, truth: dict, scorer) -> dict:
    """Given an OCR record, the text-layer record and the truth, count values exact / wrong / wrong flagged."""
    out = {"values": 0, "exact": 0, "wrong": 0, "flagged": 0, "needless": 0, "misses": []}
    if record.get("status") == "failed":
        n = 2 * len(truth["items"])
        out.update(values=n, wrong=n, flagged=n)  # a failed form is reported, not silently wrong
        out["misses"].append(f"failed: {record.get('error')}")
        return out
    items = {scorer.norm(i.get("label")): i for i in record.get("items", [])}
    flagged_items, flagged_sides_ = flagged_sides(record, baseline)
    low = {d.get("item") for d in record.get("discrepancies", []) if d["kind"] == "low_confidence_value"}
    for label, want in truth["items"].items():
        got = items.get(scorer.norm(label))
        if got is not None and got.get("code") in low and all(
                scorer.num_eq(got.get(side), want[side]) for side in ("self", "inspector")):
            out["needless"] += 1  # flagged low_confidence_value though read right
        for side in ("self", "inspector"):
            out["values"] += 1
            value = None if got is None else got.get(side)
            if got is not None and scorer.num_eq(value, want[side]):
                out["exact"] += 1
                continue
            out["wrong"] += 1
            code = got.get("code") if got else None
            hit = got is None or (code, side) in flagged_items or side in flagged_sides_
            out["flagged"] += hit
            out["misses"].append(f"{label[:24]} {side}: want {want[side]!r} got {value!r}"
                                 f"{'' if hit else '  (NOT FLAGGED)'}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dpi", default="150,200,300")
    ap.add_argument("--only", default="", help="only samples whose name contains one of these (comma separated)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--misses", action="store_true", help="print the values that were not exact")
    ap.add_argument("--keep", type=Path, help="keep the scans in this folder")
    args = ap.parse_args()
    scorer = load_scorer()
    rubrics = rubric.load_all()
    dpis = [int(d) for d in args.dpi.split(",") if d.strip()]
    only = [o for o in args.only.split(",") if o.strip()] or None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp_name:
        tmp = Path(tmp_name)
        plan = sources(tmp, args.seed, only)
        baselines = {name: form_to_json(path_to_form(pdf, rubrics)) for name, pdf, _t in plan}
        for dpi in dpis:
            total = {"values": 0, "exact": 0, "wrong": 0, "flagged": 0, "needless": 0, "pages": 0, "seconds": 0.0,
                     "forms": 0}
            for k, (name, pdf, truth) in enumerate(plan):
                scan = tmp / f"{dpi}" / f"scan_{Path(name).stem}.pdf"
                rotate = (1.0, 1.5, 2.0)[k % 3]
                make_scan(pdf, scan, dpi, seal=True, rotate=rotate, noise=True, seed=args.seed + k)
                started = time.perf_counter()
                form = path_to_form(scan, rubrics)
                seconds = time.perf_counter() - started
                pages = _pages(scan)
                result = compare(form_to_json(form), baselines[name], truth, scorer)
                for key in ("values", "exact", "wrong", "flagged", "needless"):
                    total[key] += result[key]
                total["pages"] += pages
                total["seconds"] += seconds
                total["forms"] += 1
                print(f"  {dpi} dpi {name}: {result['exact']}/{result['values']} exact, "
                      f"{result['flagged']}/{result['wrong']} wrong flagged, {result['needless']} right but "
                      f"low-confidence, {seconds / max(pages, 1):.1f} s/page", file=sys.stderr)
                if args.misses:
                    for m in result["misses"]:
                        print(f"      {m}", file=sys.stderr)
            rows.append((dpi, total))
            if args.keep:
                shutil.copytree(tmp / f"{dpi}", args.keep / f"{dpi}", dirs_exist_ok=True)
    print("| dpi | forms | pages | values exact | wrong values flagged | items right but low_confidence_value | s/page |")
    print("|---|---|---|---|---|---|---|")
    for dpi, t in rows:
        exact = 100.0 * t["exact"] / t["values"] if t["values"] else 100.0
        flagged = f"{t['flagged']}/{t['wrong']}" + (f" ({100.0 * t['flagged'] / t['wrong']:.0f}%)" if t["wrong"] else "")
        print(f"| {dpi} | {t['forms']} | {t['pages']} | {exact:.2f}% ({t['exact']}/{t['values']}) | {flagged} | "
              f"{t['needless']} | {t['seconds'] / max(t['pages'], 1):.1f} |")


def _pages(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


if __name__ == "__main__":
    main()
