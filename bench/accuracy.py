"""Accuracy benchmark: ingest sample sets, export, score against their truth.

Scoring is ../shared/tools/score_export.py, the same scoring unseen forms get. Each set is
also run with a baseline matcher (exact normalized-label equality, no fuzzy scoring, no
context) so the figures show what jieba + rapidfuzz matching buys, side by side, in one run.

usage: python bench/accuracy.py [--seed N] [--markdown]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

import rubric  # noqa: E402
from extractor.export import db_to_json  # noqa: E402
from extractor.ingest import ingest  # noqa: E402
from extractor.store import open_db  # noqa: E402


def load_scorer():
    path = SHARED / "tools" / "score_export.py"
    if not path.exists():
        raise SystemExit(f"{path} not found: the benchmark scores with the shared scorer")
    spec = importlib.util.spec_from_file_location("score_export", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@contextmanager
def baseline_matcher():
    """Swap in exact-equality label matching for the baseline run."""
    import numpy as np

    from extractor.matching import assign

    original = assign.matrix

    def exact(labels, categories, sections, item_labels, item_categories, item_sections):
        return np.array([[100.0 if a == b else 0.0 for b in item_labels] for a in labels]).reshape(
            len(labels), len(item_labels))

    assign.matrix = exact
    try:
        yield
    finally:
        assign.matrix = original


def run_set(folder: Path, truth: dict, names: list[str] | None, scorer) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "b.db")
        paths = [str(folder / n) for n in names] if names else [str(folder)]
        ingest(db, paths, rubric.load_all())
        records = db_to_json(db)
    sub = {k: v for k, v in truth.items() if not names or k in names}
    r = scorer.score(sub, records)
    items = sum(1 for rec in records for i in rec.get("items", []) if i.get("raw_label") is not None)
    want = sum(len(t["items"]) - sum(1 for f in t["flags"] if f["kind"] == "missing_item")
               for t in sub.values() if not t.get("bad"))
    r["matched_pct"] = 100.0 * items / want if want else 100.0
    return r


def fmt_row(name: str, r: dict) -> str:
    return (f"| {name} | {r['found']}/{r['cases']} | {r['values_pct']:.1f}% | {r['header_pct']:.1f}% | "
            f"{r['matched_pct']:.1f}% | {r['recall_pct']:.1f}% | {r['precision_pct']:.1f}% | "
            f"{r['bad_ok']}/{r['bad']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--misses", action="store_true", help="print what was missed")
    args = ap.parse_args()
    scorer = load_scorer()
    from samples.generate import generate

    sets: list[tuple[str, Path, dict, list[str] | None]] = []
    with tempfile.TemporaryDirectory() as gen:
        truth = generate(Path(gen), seed=args.seed)
        by_ext: dict[str, list[str]] = {}
        for name in truth:
            by_ext.setdefault(Path(name.split("!")[0]).suffix.lower(), []).append(name)
        for ext, names in sorted(by_ext.items()):
            sets.append((f"generated {ext}", Path(gen), truth, names))
        from samples.sheets import generate_sheets  # openpyxl, LibreOffice-recalculated, .xls and .ods workbooks

        sheets = Path(gen) / "sheets"
        sheet_truth = generate_sheets(sheets, seed=args.seed)
        (sheets / "truth.json").unlink()
        sets.append(("generated spreadsheets (.xlsx, .xls, .ods)", sheets, sheet_truth, None))
        if (SHARED / "samples" / "truth.json").exists():
            shared_truth = json.loads((SHARED / "samples" / "truth.json").read_text(encoding="utf-8"))
            sets.append(("shared samples", SHARED / "samples" / "forms", shared_truth, None))
        print("| set | forms | item values exact | header fields exact | items matched | flags recall | "
              "flags precision | bad inputs failed |")
        print("|---|---|---|---|---|---|---|---|")
        for name, folder, t, names in sets:
            r = run_set(folder, t, names, scorer)
            with baseline_matcher():
                b = run_set(folder, t, names, scorer)
            print(fmt_row(name, r))
            print(fmt_row(f"{name} — baseline (exact labels)", b))
            print(f"    {name}: silent wrong {r['silent']} (baseline {b['silent']})", file=sys.stderr)
            if args.misses:
                for m in r["misses"][:30]:
                    print("   ", m, file=sys.stderr)


if __name__ == "__main__":
    main()
