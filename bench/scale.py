"""Scale benchmark: a batch of N distinct forms (default 10,000) ingested into one database.

The set: every 50th form a PDF (reportlab drawing of its own generated form), the first --bases forms .docx
each generated from its own seed, and the rest .docx made from one of those by giving the institution a
name of its own (the document's XML edited, so no two files share bytes or an institution). Generated in
--jobs processes.

Then one `selfeval ingest DIR --db DB --jobs N` (N = cores) runs while this process
- samples the resident memory of the ingest process and of each worker (psutil, every 0.5 s);
- every --poll seconds counts the stored forms (for the time per 1,000 forms at 1k, 5k and 10k) and runs a
  reader's query on effective_forms (count and totals over every form) through its own read-only
  connection, and keeps the worst latency: the database stays queryable while the ingest writes.
Afterwards: the database's size, and the time of `selfeval export` (json), `selfeval report` (html, xlsx) and
a query over effective_items of every form.

usage: python bench/scale.py [--forms 10000] [--bases 1000] [--jobs N] [--keep DIR] [--poll 2]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PDF_EVERY = 50
READER_SQL = ("SELECT count(*), sum(self_total), sum(inspector_total), sum(open_errors), sum(open_warnings) "
              "FROM effective_forms")
ITEMS_SQL = ("SELECT code, count(*), sum(\"self\"), sum(inspector), sum(corrected) FROM effective_items "
             "GROUP BY code")


def _spec(i: int, seed: int):
    from throughput import random_variant

    from samples.generate import form_spec

    rng = random.Random(f"scale:{seed}:{i}")
    kind, variant = random_variant(rng)
    return form_spec(kind, variant, rng), rng


def _renamed(data: bytes, old: str, new: str) -> bytes | None:
    """Given a .docx's bytes and an institution name, return the file with the name replaced, or None when the
    name is not found whole in the document's XML."""
    src = zipfile.ZipFile(io.BytesIO(data))
    xml = src.read("word/document.xml").decode("utf-8")
    if old not in xml:
        return None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = xml.replace(old, new).encode("utf-8") if info.filename == "word/document.xml" else src.read(info)
            dst.writestr(info, body)
    return out.getvalue()


def make_form(job: tuple[int, int, int, str]) -> str:
    """Given (index, seed, bases, folder), write form number index; return its kind (pdf, docx, derived)."""
    from samples.generate import build_form, save_docx
    from samples.pdf_reportlab import render_pdf

    i, seed, bases, folder = job
    out = Path(folder)
    if i % PDF_EVERY == 0:
        spec, rng = _spec(i, seed)
        render_pdf(spec, out / f"form_{i:05d}.pdf", landscape_page=rng.random() < 0.3,
                   repeat_header=rng.random() < 0.5, split_rows=rng.random() < 0.7)
        return "pdf"
    if i >= bases:
        base = 1 + (i % (bases - 1)) if bases > 1 else 1
        base += base % PDF_EVERY == 0  # a PDF index has no .docx
        path = out / f"form_{base:05d}.docx"
        for _ in range(600):  # the base is written by another process; wait for it
            if path.exists() and path.stat().st_size:
                break
            time.sleep(0.1)
        spec, _ = _spec(base, seed)
        name = spec.institution
        new = f"{name[:-2]}第{i:05d}分{name[-2:]}"
        data = _renamed(path.read_bytes(), name, new)
        if data is not None:
            (out / f"form_{i:05d}.docx").write_bytes(data)
            return "derived"
    spec, _ = _spec(i, seed)
    save_docx(build_form(spec), out / f"form_{i:05d}.docx")
    return "docx"


def build_set(folder: Path, n: int, bases: int, seed: int, jobs: int) -> dict[str, int]:
    """Given a folder, a form count, how many .docx to generate from scratch, a seed and processes, write the
    set; return counts by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    order = list(range(min(n, bases))) + list(range(min(n, bases), n))  # bases first: the derived read them
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        for kind in pool.imap(make_form, [(i, seed, bases, str(folder)) for i in order], chunksize=20):
            counts[kind] = counts.get(kind, 0) + 1
    return counts


class Watch:
    """Samples the ingest's process tree and queries the database while it runs (see the module doc)."""

    def __init__(self, proc: psutil.Process, db: Path, poll: float) -> None:
        self.proc, self.db, self.poll = proc, db, poll
        self.rss: dict[int, int] = {}  # pid -> peak resident bytes
        self.counts: list[tuple[float, int]] = []  # (seconds since start, forms stored)
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.start = time.perf_counter()
        self.done = threading.Event()

    def memory(self) -> None:
        while not self.done.is_set():
            try:
                for p in [self.proc, *self.proc.children(recursive=True)]:
                    try:
                        self.rss[p.pid] = max(self.rss.get(p.pid, 0), p.memory_info().rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            time.sleep(0.5)

    def reader(self) -> None:
        con = None
        while not self.done.is_set():
            time.sleep(self.poll)
            try:
                if con is None:
                    if not self.db.exists():
                        continue
                    con = sqlite3.connect(f"{self.db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
                t = time.perf_counter()
                n = con.execute("SELECT count(*) FROM forms").fetchone()[0]
                con.execute(READER_SQL).fetchall()
                self.latencies.append(time.perf_counter() - t)
                self.counts.append((time.perf_counter() - self.start, n))
            except sqlite3.Error as e:
                self.errors.append(str(e))
        if con is not None:
            con.close()

    def at(self, k: int) -> float | None:
        """Return the seconds since start when the k-th form was stored (linear between two polls), or None."""
        previous = (0.0, 0)
        for t, n in self.counts:
            if n >= k:
                (t0, n0) = previous
                return t0 + (t - t0) * (k - n0) / max(n - n0, 1)
            previous = (t, n)
        return None


def timed(cmd: list[str]) -> float:
    """Given a command, run it; return its wall seconds (raise with its stderr when it fails)."""
    t = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, encoding="utf-8")
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[1:3])} failed ({done.returncode}): {done.stderr[-1500:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=10_000)
    ap.add_argument("--bases", type=int, default=1000, help="forms generated from scratch (the rest derived)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--poll", type=float, default=2.0, help="seconds between the reader's queries")
    ap.add_argument("--keep", type=Path, help="write the set and the database here (the set is reused)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        folder, db = base / "forms", base / "scale.db"
        t = time.perf_counter()
        if folder.exists() and len(list(folder.iterdir())) >= args.forms:
            print(f"set: {args.forms} forms reused from {folder}", flush=True)
        else:
            counts = build_set(folder, args.forms, args.bases, args.seed, args.jobs)
            print(f"set: {args.forms} forms {counts}, built in {time.perf_counter() - t:.0f} s", flush=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        selfeval = [sys.executable, "-c", "import sys, cli; sys.argv[0] = 'selfeval'; cli.main()"]
        load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
        print(f"ingest --jobs {args.jobs} on {os.cpu_count()} cores{load}", flush=True)
        log = open(base / "ingest.log", "w+", encoding="utf-8")  # a file, never a pipe nobody reads while it runs
        popen = psutil.Popen([*selfeval, "ingest", str(folder), "--db", str(db), "--jobs", str(args.jobs)],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        watch = Watch(popen, db, args.poll)
        threads = [threading.Thread(target=f, daemon=True) for f in (watch.memory, watch.reader)]
        for th in threads:
            th.start()
        cpu = 0.0
        children: dict[int, float] = {}
        reported = 0
        while popen.poll() is None:
            try:
                for p in popen.children(recursive=True):
                    c = p.cpu_times()
                    children[p.pid] = c.user + c.system
                c = popen.cpu_times()
                cpu = c.user + c.system
            except psutil.Error:
                pass
            if watch.counts and watch.counts[-1][1] >= reported + 1000:
                reported = watch.counts[-1][1] // 1000 * 1000
                workers = [v for k, v in watch.rss.items() if k != popen.pid]
                print(f"  {watch.counts[-1][1]} stored at {watch.counts[-1][0]:.0f} s; peak RSS so far: ingest "
                      f"{watch.rss.get(popen.pid, 0) / 2**20:.0f} MB, largest worker "
                      f"{max(workers, default=0) / 2**20:.0f} MB; reader worst "
                      f"{max(watch.latencies, default=0):.2f} s", flush=True)
            time.sleep(0.5)
        total = time.perf_counter() - watch.start
        watch.done.set()
        for th in threads:
            th.join(timeout=60)
        con = sqlite3.connect(db)  # the end is a point too: the last forms land between two polls
        watch.counts.append((total, con.execute("SELECT count(*) FROM forms").fetchone()[0]))
        con.close()
        log.seek(0)
        summary = log.read().strip().splitlines()[-1:]
        log.close()
        print(f"ingest: {total:.0f} s wall, about {cpu + sum(children.values()):.0f} CPU s; {' '.join(summary)}")
        print("| forms stored | time for the last 1,000 | forms/s |")
        print("|---|---|---|")
        for k in sorted({k for k in (1000, 5000, 10_000) if k <= args.forms} | {args.forms}):
            step = min(1000, k)
            end, begin = watch.at(k), watch.at(k - step) if k > step else 0.0
            if end is None or begin is None:
                continue
            print(f"| {k:,} | {end - begin:.0f} s (for {step:,}) | {step / max(end - begin, 1e-9):.1f} |")
        main_pid = popen.pid
        workers = {pid: rss for pid, rss in watch.rss.items() if pid != main_pid}
        print(f"peak RSS: ingest process {watch.rss.get(main_pid, 0) / 2**20:.0f} MB; {len(workers)} worker "
              f"processes (and their children), the largest {max(workers.values(), default=0) / 2**20:.0f} MB")
        lat = watch.latencies
        print(f"reader while ingesting: {len(lat)} queries of effective_forms, worst {max(lat, default=0):.2f} s, "
              f"median {sorted(lat)[len(lat) // 2] if lat else 0:.2f} s; {len(watch.errors)} failed"
              + (f" ({watch.errors[0]})" if watch.errors else ""))
        size = sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())
        print(f"database: {size / 2**20:.0f} MB ({size / max(args.forms, 1) / 1024:.1f} KB per form)")
        out = base / "out"
        out.mkdir(exist_ok=True)
        print("| after the ingest | seconds |")
        print("|---|---|")
        print(f"| selfeval export (json) | {timed([*selfeval, 'export', '--db', str(db), '-o', str(out / 'a.json')]):.1f} |")
        print(f"| selfeval report (html) | {timed([*selfeval, 'report', '--db', str(db), '-o', str(out / 'a.html')]):.1f} |")
        print(f"| selfeval report (xlsx) | {timed([*selfeval, 'report', '--db', str(db), '-o', str(out / 'a.xlsx')]):.1f} |")
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        for name, sql in (("effective_items, every item grouped by code", ITEMS_SQL),
                          ("effective_forms, totals over every form", READER_SQL)):
            t = time.perf_counter()
            con.execute(sql).fetchall()
            print(f"| query {name} | {time.perf_counter() - t:.2f} |")
        con.close()


if __name__ == "__main__":
    main()
