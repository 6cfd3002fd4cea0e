"""Variation benchmark: random forms drawn over independent axes (samples.axes), read by the current reader and
by a baseline (today's reader at a git ref), scored by ../shared/tools/score_export.py.

usage: python bench/variants.py [--n 300] [--seed 0] [--seeds 0,1,2] [--baseline REF|none] [--keep DIR] [--jobs N]

Each seed writes --n forms (samples.produce) into a temporary folder; each reader ingests the folder with
`selfeval ingest` as a subprocess (the current one through the installed console script, the baseline from
`git archive REF` unpacked in a temporary folder and put first on sys.path), exports JSON and is scored.
Prints one line per reader and seed (forms, values exact, flags recall, flags precision, silent wrong, header),
the same as a markdown table, then a breakdown of values exact and silent wrong per axis value.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import load_scorer  # noqa: E402

from samples.axes import AXES, NA  # noqa: E402
from samples.produce import write_variants  # noqa: E402

BASELINE = "aa40187"  # the last commit before issue 10's work


def materialise(ref: str, into: Path) -> Path:
    """Given a git ref and a folder, unpack the repository's tree at ref there (git archive); return the folder."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def ingest(reader: str, base: Path | None, forms: Path, work: Path, jobs: int | None) -> tuple[list[dict], float]:
    """Given a reader name, its tree (None = the installed current reader), the forms folder and a work folder,
    ingest and export; return (records, seconds the ingest took)."""
    db, out, log = work / f"{reader}.db", work / f"{reader}.json", work / f"{reader}.log"
    extra = ["--jobs", str(jobs)] if jobs else []
    if base is None:
        prefix, cwd, env = ["selfeval"], work, dict(os.environ)
    else:
        prefix = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(base)!r}); import cli; cli.main()"]
        cwd, env = base, dict(os.environ, PYTHONPATH=str(base))
    t0 = time.monotonic()
    with open(log, "w", encoding="utf-8") as fh:
        subprocess.run([*prefix, "ingest", str(forms), "--db", str(db), *extra], cwd=cwd, env=env, stdout=fh,
                       stderr=subprocess.STDOUT, check=False)
        took = time.monotonic() - t0
        # --all: two random forms may name the same institution, and the later one would hide the other
        export = ["export", "--db", str(db), "--all", "--format", "json", "-o", str(out)]
        subprocess.run([*prefix, *export], cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    records = json.loads(out.read_text(encoding="utf-8")) if out.exists() else []
    return records, took


def line(reader: str, label: str, r: dict) -> str:
    """Given a reader, a set label and a score, return the one-line summary."""
    return (f"{reader:<9} {label:<7} forms {r['found']}/{r['cases']}  values exact {r['values_pct']:.1f}%  "
            f"flags recall {r['recall_pct']:.1f}%  flags precision {r['precision_pct']:.1f}%  "
            f"silent wrong {r['silent']}  header {r['header_pct']:.1f}%")


def md_row(reader: str, label: str, r: dict, took: float | None) -> str:
    """Given a reader, a set label, a score and the ingest time, return the markdown table row."""
    secs = "" if took is None else f"{took:.0f} s"
    return (f"| {reader} | {label} | {r['found']}/{r['cases']} | {r['values_pct']:.1f}% | {r['recall_pct']:.1f}% | "
            f"{r['precision_pct']:.1f}% | {r['silent']} | {r['header_pct']:.1f}% | {secs} |")


def breakdown(scorer, truth: dict, axes: dict, records: dict[str, list[dict]]) -> tuple[list[str], list[str]]:
    """Given the truth, the axes of every form and each reader's records, return markdown rows (per axis value: the
    forms, then per reader values exact and silent wrong) and the first reader's weakest axis values."""
    out = []
    readers = list(records)
    head = " | ".join(f"{r} values | {r} silent" for r in readers)
    out += [f"| axis | value | forms | {head} |", "|---|---|---|" + "---|---|" * len(readers)]
    weak: list[tuple[int, float, str]] = []
    for axis in [*AXES, "planted", "page"]:
        for value in sorted({a.get(axis, NA) for a in axes.values()}):
            sub = {k: t for k, t in truth.items() if axes[k].get(axis, NA) == value}
            cells = []
            for n, reader in enumerate(readers):
                r = scorer.score(sub, records[reader])
                cells.append(f"{r['values_pct']:.1f}% | {r['silent']}")
                if n == 0 and value != NA and (r["values_pct"] < 99.5 or r["silent"]):
                    weak.append((r["silent"], r["values_pct"], f"{axis}={value} ({len(sub)} forms): values exact "
                                                              f"{r['values_pct']:.1f}%, silent wrong {r['silent']}"))
            out.append(f"| {axis} | {value} | {len(sub)} | {' | '.join(cells)} |")
    weak.sort(key=lambda w: (-w[0], w[1]))
    return out, [w[2] for w in weak[:15]]


def main(argv: list[str] | None = None) -> None:
    """Given command-line arguments, run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(prog="python bench/variants.py", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="forms per seed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (overrides --seed)")
    ap.add_argument("--baseline", default=BASELINE, help=f"git ref of the baseline reader (default {BASELINE}), or none")
    ap.add_argument("--keep", default=None, help="keep forms, truth, axes, databases and exports in this folder")
    ap.add_argument("--jobs", type=int, default=None, help="passed to selfeval ingest (default: its own)")
    a = ap.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else [a.seed]
    scorer = load_scorer()
    with tempfile.TemporaryDirectory(prefix="bench-variants-") as tmp:
        work = Path(a.keep) if a.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        readers: dict[str, Path | None] = {"current": None}
        if a.baseline.lower() != "none":
            readers["baseline"] = materialise(a.baseline, Path(tmp) / "baseline-tree")
        truth_all: dict = {}
        axes_all: dict = {}
        recs_all: dict[str, list[dict]] = {r: [] for r in readers}
        lines, rows, timings = [], [], []
        for seed in seeds:
            sd = work / f"seed{seed}"
            t0 = time.monotonic()
            truth, axes = write_variants(sd / "forms", a.n, seed, quiet=True, meta_dir=sd)
            timings.append(f"seed {seed}: generated {len(truth)} forms in {time.monotonic() - t0:.0f} s")
            print(timings[-1], file=sys.stderr)
            truth_all |= truth
            axes_all |= axes
            for reader, base in readers.items():
                recs, took = ingest(reader, base, sd / "forms", sd, a.jobs)
                recs_all[reader] += recs
                r = scorer.score(truth, recs)
                lines.append(line(reader, f"seed {seed}", r))
                rows.append(md_row(reader, f"seed {seed}", r, took))
                timings.append(f"seed {seed}: {reader} ingest {took:.0f} s ({len(truth) / max(took, 1e-9):.1f} forms/s)")
                print(timings[-1], file=sys.stderr)
        if len(seeds) > 1:
            for reader in readers:
                r = scorer.score(truth_all, recs_all[reader])
                lines.append(line(reader, "all", r))
                rows.append(md_row(reader, "all", r, None))
        print("\n".join(lines))
        print()
        print("| reader | set | forms | values exact | flags recall | flags precision | silent wrong | header | "
              "ingest |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
        print()
        table, weak = breakdown(scorer, truth_all, axes_all, recs_all)
        print("\n".join(table))
        print()
        if weak:
            print("weakest axis values for the current reader (values exact < 99.5% or silent wrong > 0):")
            print("\n".join("  " + w for w in weak))
            print()
        print("\n".join(timings))
        if a.baseline.lower() != "none":
            print(f"baseline: git {a.baseline}")


if __name__ == "__main__":
    main()
