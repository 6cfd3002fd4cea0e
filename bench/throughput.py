"""Throughput benchmark: CPU seconds of `selfeval ingest --jobs 1` against the floor of reading the same forms.

The set: N distinct generated forms (default 90), two thirds .docx and one third .pdf (LibreOffice exports
when soffice is installed, for half of the PDFs; reportlab drawings for the rest), each from its own seed.

- floor: python-docx alone (docx.Document, then every table's row.cells texts) and pdfplumber alone
  (extract_tables() on every page) reading the same files one after the other, in one fresh process;
- ingest: the whole `selfeval ingest DIR --db tmp.db --jobs 1` in one fresh process (its worker included).

Both are measured the same way, as CPU seconds (user + system) of the whole process tree, interpreter start
and imports included: CPU time does not depend on how many cores there are or how busy the machine is, so
the ratio measures the work, not the parallelism. Each is run on all the forms, on the .docx alone and on the
PDFs alone, and printed side by side with the ratio. Then wall time: `selfeval ingest --jobs N` against the
floor split over N processes run at once (N = cores), which does depend on a quiet machine.

CPU seconds of a tree are read portably with psutil: a small runner executes the command in-process, samples
its descendants' cpu_times every 50 ms (the last sample of each is kept), and at exit adds its own times; where
the OS reports reaped children's times (POSIX), those are used when larger (they include a worker's last 50 ms).

--kinds docx (or pdf, all; comma-separated) measures only those rows, and --no-wall skips the wall-time line.
--baseline REV measures `selfeval ingest` of that commit too (checked out in a temporary git worktree), beside
this tree's, in the same run on the same forms, --repeat N rounds of the floor and each tree's ingest, alternating, so that
all meet the same machine. Every figure is printed, and the ratio is that of the medians.

Imports are measured with compiled bytecode on both sides: the floor's libraries were compiled by pip when it
installed them, and selfeval's modules are compiled ahead (python -m compileall, into each tree's __pycache__, as
pip does on install, and as Python itself does at a user's first run). The project's sessions set
PYTHONDONTWRITEBYTECODE, so without that Python would compile selfeval's modules, and only those, on every start
(0.3-0.5 CPU s a run); --uncompiled measures that way.

usage: python bench/throughput.py [--forms 90] [--seed 0] [--jobs N] [--keep DIR] [--profile DIR] [--kinds K]
                                  [--baseline REV] [--repeat N] [--no-wall] [--uncompiled]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The floor: read every file given (or every file of a folder) with the bare libraries.
FLOOR = r"""
import sys
from pathlib import Path
import docx, pdfplumber
def files(args):
    for a in map(Path, args):
        yield from (sorted(a.rglob("*")) if a.is_dir() else [a])
cells = 0
for p in files(sys.argv[1:]):
    if p.suffix == ".docx":
        for table in docx.Document(str(p)).tables:
            for row in table.rows:
                cells += len([c.text for c in row.cells])
    elif p.suffix == ".pdf":
        with pdfplumber.open(p) as pdf:
            for page in pdf.pages:
                cells += sum(len(r) for t in page.extract_tables() for r in t)
print(cells)
"""

# Runs `python -c FLOOR args` or `selfeval args` in this process and prints the tree's CPU seconds as JSON on
# the last line of stderr (stdout is the command's own).
RUNNER = r"""
import json, os, sys, threading, time
import psutil
me = psutil.Process()
seen = {}
def sample():
    while True:
        for p in me.children(recursive=True):
            try:
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
mode, args = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
code = 0
try:
    if mode == "floor":
        sys.argv = ["floor", *args]
        exec(compile(os.environ["THROUGHPUT_FLOOR"], "floor", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = ["selfeval", *args]
        import cli
        cli.main()
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
t = me.cpu_times()
polled = sum(seen.values())
reaped = getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
sys.stderr.write("\n" + json.dumps({"cpu": t.user + t.system + max(polled, reaped), "own": t.user + t.system,
                                    "children": max(polled, reaped), "wall": time.perf_counter() - start,
                                    "code": code}) + "\n")
sys.exit(code)
"""


def measure(mode: str, args: list[str], tree: Path = ROOT, compiled: bool = False) -> dict:
    """Given "floor" or "ingest", its arguments, the source tree whose selfeval runs and whether its bytecode is
    used, run it in a fresh process; return its CPU and wall seconds."""
    env = {**os.environ, "THROUGHPUT_FLOOR": FLOOR, "PYTHONIOENCODING": "utf-8"}
    if compiled:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable, "-c", RUNNER, mode, *args], cwd=tree, capture_output=True,
                          text=True, encoding="utf-8", env=env)
    lines = done.stderr.strip().splitlines()
    try:
        out = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise SystemExit(f"{mode} {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-2000:]}") from None
    if out["code"] not in (0, None):
        raise SystemExit(f"{mode} {' '.join(args[:2])} exited {out['code']}:\n{done.stderr[-2000:]}")
    return out


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
    """Given a folder, a form count and a seed, write the forms (2/3 .docx under docx/, 1/3 .pdf under pdf/);
    return counts by kind."""
    from samples.generate import build_form, form_spec, save_docx
    from samples.pdf import convert_docx, set_landscape, soffice_path
    from samples.pdf_reportlab import render_pdf

    (out / "docx").mkdir(parents=True, exist_ok=True)
    (out / "pdf").mkdir(parents=True, exist_ok=True)
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
                save_docx(build_form(spec), out / "docx" / f"form_{i:03d}.docx")
                counts["docx"] += 1
            elif i < n_forms - n_pdf + n_lo:
                doc = build_form(spec)
                to_convert.append(Path(tmp) / f"form_{i:03d}.docx")
                save_docx(set_landscape(doc) if rng.random() < 0.3 else doc, to_convert[-1])
            else:
                render_pdf(spec, out / "pdf" / f"form_{i:03d}.pdf", landscape_page=rng.random() < 0.3,
                           repeat_header=rng.random() < 0.5, split_rows=rng.random() < 0.7)
                counts["pdf (reportlab)"] += 1
        counts["pdf (LibreOffice)"] = len(convert_docx(to_convert, out / "pdf"))
    return counts


def parallel_floor(files: list[Path], jobs: int) -> float:
    """Given the files and a process count, run the floor over them split in `jobs` shards at once; return the
    wall seconds until the last shard is done."""
    env = {**os.environ, "THROUGHPUT_FLOOR": FLOOR}
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, "floor", *map(str, files[k::jobs])], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
             for k in range(jobs)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(f"a floor shard failed: exit codes {codes}")
    return time.perf_counter() - start


def profile_reading(files: list[Path], out: Path, top: int = 30) -> None:
    """Given files of one kind and an output file, read them in this process as a worker does (load_worker_state,
    then path_to_forms per file) under cProfile timed in CPU seconds; write the top lines by cumulative and by own
    time."""
    import io

    import rubric
    from extractor.extract import path_to_forms
    from extractor.ingest import load_worker_state

    rubrics = rubric.load_all()
    prof = cProfile.Profile(time.process_time)  # CPU seconds: a busy machine's waits are no part of the reading
    prof.enable()
    load_worker_state(rubrics)
    for f in files:
        path_to_forms(f, rubrics)
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text.getvalue(), encoding="utf-8")


def compile_tree(tree: Path) -> None:
    """Given a source tree, write the bytecode of selfeval's own modules into its __pycache__ folders."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "cli.py", "extractor", "rubric"], cwd=tree,
                   check=True, stdout=subprocess.DEVNULL, env={k: v for k, v in os.environ.items()
                                                               if k != "PYTHONDONTWRITEBYTECODE"})


def baseline_tree(rev: str, parent: Path) -> Path:
    """Given a commit and a folder, check the commit out there as a detached git worktree; return its path."""
    tree = parent / f"baseline-{rev}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev], check=True)
    return tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=90)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for the wall-time line")
    ap.add_argument("--keep", type=Path, help="write the set to this folder (kept; reused when it holds forms)")
    ap.add_argument("--profile", type=Path, help="also write cProfiles of a worker's reading (docx.txt, pdf.txt)")
    ap.add_argument("--kinds", default="all,docx,pdf", help="rows to measure: all, docx, pdf (comma-separated)")
    ap.add_argument("--baseline", metavar="REV", help="also measure the ingest of this commit, in the same run")
    ap.add_argument("--repeat", type=int, default=1, help="ingest runs per row (and per tree)")
    ap.add_argument("--no-wall", action="store_true", help="skip the wall-time line")
    ap.add_argument("--uncompiled", action="store_true",
                    help="let selfeval's modules compile as the environment makes them (see the module docstring)")
    args = ap.parse_args()
    kinds = {k.strip() for k in args.kinds.split(",")}
    if kinds - {"all", "docx", "pdf"}:
        ap.error(f"--kinds takes all, docx, pdf; not {', '.join(sorted(kinds - {'all', 'docx', 'pdf'}))}")
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_tree(args.baseline, Path(tmp)) if args.baseline else None
        try:
            run_bench(args, kinds, Path(tmp), base)
        finally:
            if base is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)


def run_bench(args: argparse.Namespace, kinds: set[str], tmp: Path, base: Path | None) -> None:
    """Given the options, the rows to measure, a scratch folder and the baseline's tree (or None), build or reuse
    the set and print the tables."""
    folder = args.keep or tmp / "forms"
    start = time.perf_counter()
    if args.keep and any(folder.glob("*/*.*")):
        counts = {k: len(list((folder / k).iterdir())) for k in ("docx", "pdf")}
        print(f"set: {sum(counts.values())} forms reused from {folder}")
    else:
        counts = build_set(folder, args.forms, args.seed)
        print(f"set: {sum(counts.values())} forms ({', '.join(f'{v} {k}' for k, v in counts.items())}), "
              f"built in {time.perf_counter() - start:.1f} s")
    n_docx = len(list((folder / "docx").iterdir()))
    n_pdf = len(list((folder / "pdf").iterdir()))
    n_pages = 0
    import pdfplumber

    for f in (folder / "pdf").iterdir():
        with pdfplumber.open(f) as pdf:
            n_pages += len(pdf.pages)
    trees = [("this tree", ROOT)] + ([(f"baseline {args.baseline}", base)] if base is not None else [])
    if not args.uncompiled:
        for _name, tree in trees:
            compile_tree(tree)
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg")
          else f"{os.cpu_count()} cores")
    print("imports: " + ("compiled bytecode, as pip installs it" if not args.uncompiled else
                         "as the environment makes them" + (" (PYTHONDONTWRITEBYTECODE is set: selfeval's modules "
                                                            "compile on every start)"
                                                            if os.environ.get("PYTHONDONTWRITEBYTECODE") else "")))
    rows = []
    for kind, name, sub, count in (("all", f"all {n_docx + n_pdf} forms", folder, n_docx + n_pdf),
                                   ("docx", f"{n_docx} .docx", folder / "docx", n_docx),
                                   ("pdf", f"{n_pdf} PDFs ({n_pages} pages)", folder / "pdf", n_pdf)):
        if not count or kind not in kinds:
            continue
        floors: list[dict] = []
        runs: dict[str, list[dict]] = {label: [] for label, _tree in trees}
        for i in range(args.repeat):
            # The floor too, once per round beside the ingests: on a shared machine a figure measured once can be
            # a third off the next one, and the ratio would follow it.
            floors.append(measure("floor", [str(sub)]))
            for label, tree in trees if i % 2 == 0 else trees[::-1]:  # alternate who goes first
                db = tmp / f"{sub.name}-{len(rows)}-{i}-{label.split()[0]}.db"
                runs[label].append(measure("ingest", ["ingest", str(sub), "--db", str(db), "--jobs", "1"], tree,
                                           not args.uncompiled))
        rows.append((name, floors, runs))
    print("\nCPU seconds (user+sys of the whole process tree, start-up included), one core each" +
          (f"; {args.repeat} rounds, each figure in round order, then the medians' ratio:" if args.repeat > 1
           else ":"))
    print("| | floor: python-docx row.cells + pdfplumber extract_tables | " +
          " | ".join(f"selfeval ingest --jobs 1 ({label}) | ratio" for label, _tree in trees) + " |")
    print("|---|---|" + "---|---|" * len(trees))
    for name, floors, runs in rows:
        floor_cpu = [f["cpu"] for f in floors]
        cells = [" / ".join(f"{c:.2f}" for c in floor_cpu)]
        for label, _tree in trees:
            cpu = [r["cpu"] for r in runs[label]]
            cells.append(" / ".join(f"{c:.2f}" for c in cpu))
            cells.append(f"**{statistics.median(cpu) / statistics.median(floor_cpu):.2f}**")
        print(f"| {name} | " + " | ".join(cells) + " |")
        if args.repeat > 1:
            medians = [f"{statistics.median(floor_cpu):.2f}"]
            for label, _tree in trees:
                medians += [f"{statistics.median([r['cpu'] for r in runs[label]]):.2f}", ""]
            print("| (medians) | " + " | ".join(medians) + " |")
    if not args.no_wall:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        floor_wall = parallel_floor(files, args.jobs)
        db = tmp / "parallel.db"
        ingest = measure("ingest", ["ingest", str(folder), "--db", str(db), "--jobs", str(args.jobs)],
                         compiled=not args.uncompiled)
        print(f"\nwall seconds, {args.jobs} processes (depends on how busy the machine is):")
        print(f"| floor split over {args.jobs} processes | selfeval ingest --jobs {args.jobs} | ratio |")
        print("|---|---|---|")
        print(f"| {floor_wall:.2f} | {ingest['wall']:.2f} (CPU {ingest['cpu']:.2f}) | "
              f"{ingest['wall'] / floor_wall:.2f} |")
    if args.profile:
        for kind in ("docx", "pdf"):
            profile_reading(sorted((folder / kind).iterdir()), args.profile / f"{kind}.txt")
        print(f"\nprofiles written to {args.profile}")


if __name__ == "__main__":
    main()
