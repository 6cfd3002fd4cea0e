"""Throughput benchmark: `selfeval ingest` over a folder of forms against the floor of reading them.

The set: N distinct generated forms (default 90), two thirds .docx and one third .pdf (LibreOffice exports
when soffice is installed, for half of the PDFs; reportlab drawings for the rest), each from its own seed.

- floor: python-docx alone (docx.Document, then every table's row.cells texts) and pdfplumber alone
  (extract_tables() on every page) reading the same files one after the other, in one fresh process;
- ingest: the whole `selfeval ingest DIR --db tmp.db` as a subprocess (default jobs: all cores).

Both are timed as whole processes (interpreter start and imports included); the floor's reading time alone
is printed too. The goal is ingest < floor. When it is not met, a cProfile of a one-process ingest
(jobs=1) over the same set is printed, top lines by cumulative and by own time.

usage: python bench/throughput.py [--forms 90] [--seed 0] [--no-profile] [--keep DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The floor, run in a fresh process: read every file with the bare libraries, print the reading time.
FLOOR = r"""
import json, sys, time
from pathlib import Path
import docx, pdfplumber
start = time.perf_counter()
cells = 0
for p in sorted(Path(sys.argv[1]).iterdir()):
    if p.suffix == ".docx":
        for table in docx.Document(str(p)).tables:
            for row in table.rows:
                cells += len([c.text for c in row.cells])
    elif p.suffix == ".pdf":
        with pdfplumber.open(p) as pdf:
            for page in pdf.pages:
                cells += sum(len(r) for t in page.extract_tables() for r in t)
print(json.dumps({"read_seconds": time.perf_counter() - start, "cells": cells}))
"""


def random_variant(rng: random.Random):
    """Given a random generator, return (kind, Variant) for one distinct form."""
    from samples.noise import DATE_STYLES, NAME_STYLES, SCORE_STYLES
    from samples.variant import ERRORS, Variant

    if rng.random() < 0.12:
        return "national", Variant(layout=rng.choice(("merged", "repeat")), points=rng.random() < 0.5,
                                   numbered=rng.random() < 0.7, name_style=rng.choice(NAME_STYLES),
                                   date_style=rng.choice(DATE_STYLES))
    return "qh", Variant(layout=rng.choice(("merged", "repeat", "blank")), header_rows=rng.choice((1, 2)),
                         split=rng.random() < 0.3, fmt=rng.choice((*SCORE_STYLES, "mixed")),
                         noise=rng.choice((0, 0, 0.1, 0.3)), insp_first=rng.random() < 0.2,
                         no_inspector=rng.random() < 0.1, name_style=rng.choice(NAME_STYLES),
                         date_style=rng.choice(DATE_STYLES),
                         errors=tuple(rng.sample(ERRORS, rng.choice((0, 0, 1, 2)))))


def build_set(out: Path, n_forms: int, seed: int) -> dict[str, int]:
    """Given a folder, a form count and a seed, write the forms (2/3 .docx, 1/3 .pdf); return counts by kind."""
    from samples.generate import build_form, form_spec, save_docx
    from samples.pdf import convert_docx, set_landscape, soffice_path
    from samples.pdf_reportlab import render_pdf

    out.mkdir(parents=True, exist_ok=True)
    n_pdf = n_forms // 3
    n_lo = n_pdf // 2 if soffice_path() else 0
    counts = {"docx": 0, "pdf (LibreOffice)": 0, "pdf (reportlab)": 0}
    with tempfile.TemporaryDirectory() as tmp:
        to_convert = []
        for i in range(n_forms):
            rng = random.Random(f"throughput:{seed}:{i}")
            kind, variant = random_variant(rng)
            spec = form_spec(kind, variant, rng)
            if i < n_forms - n_pdf:
                save_docx(build_form(spec), out / f"form_{i:03d}.docx")
                counts["docx"] += 1
            elif i < n_forms - n_pdf + n_lo:
                doc = build_form(spec)
                to_convert.append(Path(tmp) / f"form_{i:03d}.docx")
                save_docx(set_landscape(doc) if rng.random() < 0.3 else doc, to_convert[-1])
            else:
                render_pdf(spec, out / f"form_{i:03d}.pdf", landscape_page=rng.random() < 0.3,
                           repeat_header=rng.random() < 0.5, split_rows=rng.random() < 0.7)
                counts["pdf (reportlab)"] += 1
        counts["pdf (LibreOffice)"] = len(convert_docx(to_convert, out))
    return counts


def run(cmd: list[str]) -> tuple[float, str]:
    """Given a command, run it; return (wall seconds, stdout). Raise with its stderr when it fails."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def profile_ingest(folder: Path, top: int = 25) -> str:
    """Given the folder, ingest it in this process with jobs=1 under cProfile; return the top lines."""
    import rubric
    from extractor.ingest import ingest
    from extractor.store import open_db

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "profile.db")
        prof = cProfile.Profile()
        prof.enable()
        ingest(db, [str(folder)], rubric.load_all(), jobs=1)
        prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=90)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-profile", action="store_true", help="no cProfile even when the goal is missed")
    ap.add_argument("--keep", type=Path, help="write the set to this folder (kept)")
    args = ap.parse_args()
    selfeval = shutil.which("selfeval")
    cli = [selfeval] if selfeval else [sys.executable, str(ROOT / "cli.py")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "forms"
        start = time.perf_counter()
        counts = build_set(folder, args.forms, args.seed)
        n = sum(counts.values())
        print(f"set: {n} forms ({', '.join(f'{v} {k}' for k, v in counts.items())}), "
              f"built in {time.perf_counter() - start:.1f} s; {os.cpu_count()} cores")
        floor_s, out = run([sys.executable, "-c", FLOOR, str(folder)])
        floor = json.loads(out.strip().splitlines()[-1])
        ingest_s, _ = run([*cli, "ingest", str(folder), "--db", str(Path(tmp) / "tmp.db")])
        print("| reader | wall time | forms/s |")
        print("|---|---|---|")
        print(f"| floor: python-docx + pdfplumber extract_tables, one process | {floor_s:.1f} s "
              f"(reading alone {floor['read_seconds']:.1f} s) | {n / floor_s:.1f} |")
        print(f"| selfeval ingest (all cores) | {ingest_s:.1f} s | {n / ingest_s:.1f} |")
        ratio = ingest_s / floor_s
        met = ingest_s < floor_s
        print(f"ratio ingest/floor: {ratio:.2f} - goal ingest < floor {'met' if met else 'NOT met'}")
        if not met and not args.no_profile:
            print("\ncProfile of one-process ingest (jobs=1) over the same set:")
            print(profile_ingest(folder))


if __name__ == "__main__":
    main()
