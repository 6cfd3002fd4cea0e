"""Where one scanned page's reading time goes: CPU seconds (process time, every thread) per stage, and cProfile's
top functions, for the reader of a checkout (this one, or a baseline worktree: --root).

Stages are timed by wrapping the reader's own functions where they exist: orientation (page_to_turn), prepare,
grid (ink_to_grids), detector (detect_boxes: the full-page detection pass of older readers), ink boxes
(ink_to_texts / add_missed_ink), recogniser first pass and voting crops (the first and second recognise call of
read_texts). The page is read once to warm the engine, then again under the timers and cProfile.

usage: python bench/ocr_profile.py SCAN.pdf [--root CHECKOUT] [--page 1] [--top 30]
The scan: e.g. python -m samples.scan FORM.pdf scan.pdf --dpi 150 (a generated form, samples.generate).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scan", type=Path)
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout whose reader is profiled")
    ap.add_argument("--page", type=int, default=1)
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from extractor.ocr import pipeline, read, sources

    stages: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            started = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                stages[name] = stages.get(name, 0.0) + time.process_time() - started
        return wrapper

    calls = {"n": 0}
    recognise = read.recognise

    def recognise_in_read_texts(*a, **k):
        calls["n"] += 1
        return timed("recogniser, first pass" if calls["n"] == 1 else "recogniser, voting crops", recognise)(*a, **k)

    def read_texts(*a, **k):
        calls["n"] = 0
        return original_read_texts(*a, **k)

    original_read_texts = read.read_texts
    read.recognise = recognise_in_read_texts
    pipeline.read_texts = read_texts
    for name, label in (("page_to_turn", "orientation"), ("prepare", "prepare"), ("ink_to_grids", "grid"),
                        ("detect_boxes", "detector (full page)"), ("ink_to_texts", "text boxes from ink"),
                        ("add_missed_ink", "text boxes from ink"), ("assign_boxes", "boxes to cells")):
        if hasattr(pipeline, name):
            setattr(pipeline, name, timed(label, getattr(pipeline, name)))
    engine = pipeline.load_engine()
    image = next(p for p in sources.pdf_pages(args.scan.read_bytes()) if p.number == args.page)
    pipeline.read_page(engine, image)
    stages.clear()
    profile = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    profile.enable()
    result = pipeline.read_page(engine, image)
    profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:
        import psutil

        peak = psutil.Process().memory_info().peak_wset / 2**20
    cells = sum(len(f.pieces) for f in result.fragments)
    print(f"reader: {args.root.resolve()}\nscan: {args.scan.name} page {args.page}, {image.pixels.shape[1]}x"
          f"{image.pixels.shape[0]} px at {image.dpi:.0f} dpi, {cells} cells\n"
          f"page: {cpu:.2f} CPU s (process time, every thread), {wall:.2f} s wall; peak RSS {peak:.0f} MB\n")
    print("| stage | CPU s | share |\n|---|---|---|")
    for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {seconds:.2f} | {100 * seconds / max(cpu, 1e-9):.0f}% |")
    rest = cpu - sum(stages.values())
    print(f"| rest (cells, strings, confidences) | {rest:.2f} | {100 * rest / max(cpu, 1e-9):.0f}% |\n")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print("cProfile (wall clock, cumulative):")
    print("\n".join(line.replace(str(Path.home()), "~") for line in out.getvalue().splitlines()[4:]))


if __name__ == "__main__":
    main()
