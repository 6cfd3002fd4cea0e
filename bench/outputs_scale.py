"""Outputs at scale: `selfeval export` (json, csv) and `selfeval report` (html, xlsx) over a database of N forms
(default 10,000), a baseline commit's code beside this tree's, in one run.

The database is built without a long ingest, so this measures export and report, not ingest: the generated
sample set (`samples.generate`, 48 files: Word forms, LibreOffice and reportlab PDFs, 3 broken files) is ingested
once, then its forms are copied in SQL, with their items and discrepancies, up to N forms. Each copy gets a new
id, source, sha256 and institution of its own (so none supersedes another); as in bench/scale.py's set, every
50th copy is of a PDF form, and a PDF copy gets a file of its own (the original's bytes and a trailing PDF
comment, so its sha256 is its own and the HTML report's evidence crops its rows from it as from any PDF). The
broken files' failed forms are not copied.

Each command runs in its own process; reported: CPU seconds (user + system, the process and its children, from
os.wait4 where there is one, else psutil's last reading), wall seconds, peak resident memory (ru_maxrss, else
psutil sampled every 0.2 s) and the output's size. A run over --timeout seconds is stopped and said so.

usage: python bench/outputs_scale.py [--forms 10000] [--base c873e93] [--keep DIR] [--only before|after]
       [--timeout 900] [--commands export-json,export-csv,report-html,report-xlsx]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PDF_EVERY = 50
COMMANDS = {
    "export-json": ["export", "-o", "{out}/forms.json"],
    "export-csv": ["export", "-o", "{out}/forms.csv"],
    "report-html": ["report", "-o", "{out}/report.html"],
    "report-xlsx": ["report", "-o", "{out}/report.xlsx"],
}


def columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]


def build_db(base: Path, n: int) -> Path:
    """Given a folder and a form count, return a database of n forms: the generated samples ingested, then copied
    in SQL (see the module doc). Reused when base/outputs.db already holds n forms."""
    db = base / "outputs.db"
    if db.exists():
        with sqlite3.connect(db) as con:
            if con.execute("SELECT count(*) FROM forms").fetchone()[0] == n:
                print(f"database: {n} forms reused from {db}", flush=True)
                return db
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    from samples.generate import generate

    forms, copies = base / "forms", base / "copies"
    shutil.rmtree(forms, ignore_errors=True)
    shutil.rmtree(copies, ignore_errors=True)
    copies.mkdir(parents=True)
    t = time.perf_counter()
    generate(forms, seed=15)
    (forms / "truth.json").unlink()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, cli; sys.argv[0] = 'selfeval'; cli.main()",
            "ingest",
            str(forms),
            "--db",
            str(db),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"ingest failed: {done.stderr[-1500:]}")
    con = sqlite3.connect(db)
    bases = con.execute("SELECT id, kind, path, sha256, status FROM forms ORDER BY id").fetchall()
    # The broken files stay as ingested (failed forms in the report), but are not copied: scale.py's set has none.
    pdfs = [b[:4] for b in bases if b[1] == "pdf"]
    others = [b[:4] for b in bases if b[1] != "pdf" and b[4] != "failed"]
    form_cols = [c for c in columns(con, "forms") if c != "id"]
    item_cols = [c for c in columns(con, "items") if c not in ("id", "form_id")]
    disc_cols = [c for c in columns(con, "discrepancies") if c not in ("id", "form_id")]
    plain = [c for c in form_cols if c not in ("source", "sha256", "institution", "path", "superseded_by")]
    q = ", ".join
    with con:
        for k in range(n - len(bases)):
            fid, kind, path, sha = (
                pdfs[k // PDF_EVERY % len(pdfs)] if k % PDF_EVERY == 0 and pdfs else others[k % len(others)]
            )
            name = Path(path or f"form{fid}").name
            new_path = copies / f"copy{k:05d}_{name}"
            if kind == "pdf":  # a file of its own: the evidence reads it back and checks its sha256
                data = Path(path).read_bytes() + f"\n% copy {k}\n".encode()
                new_path.write_bytes(data)
                new_sha = hashlib.sha256(data).hexdigest()
            else:
                new_sha = hashlib.sha256(f"{sha}:{k}".encode()).hexdigest()
            cur = con.execute(
                f"INSERT INTO forms (source, sha256, institution, path, superseded_by, {q(plain)}) "
                f"SELECT ?, ?, CASE WHEN institution IS NULL THEN NULL ELSE institution || ? END, ?, NULL, "
                f"{q(plain)} FROM forms WHERE id = ?",
                [str(new_path), new_sha, f"第{k:05d}分校", str(new_path), fid],
            )
            new = cur.lastrowid
            con.execute(
                f"INSERT INTO items (form_id, {q(item_cols)}) SELECT ?, {q(item_cols)} FROM items "
                f"WHERE form_id = ? ORDER BY id",
                [new, fid],
            )
            con.execute(
                f"INSERT INTO discrepancies (form_id, {q(disc_cols)}) SELECT ?, {q(disc_cols)} "
                f"FROM discrepancies WHERE form_id = ? ORDER BY id",
                [new, fid],
            )
    counts = dict(con.execute("SELECT kind, count(*) FROM forms GROUP BY kind").fetchall())
    con.execute("VACUUM")
    con.close()
    size = db.stat().st_size
    print(
        f"database: {len(bases)} ingested forms copied to {n} {counts}, {size / 2**20:.0f} MB, built in "
        f"{time.perf_counter() - t:.0f} s",
        flush=True,
    )
    return db


def measure(tree: Path, args: list[str], timeout: float) -> dict:
    """Given a source tree and selfeval's arguments, run it in its own process; return cpu, wall, rss (bytes) and
    whether it was stopped at the timeout."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-c", "import sys, cli; sys.argv[0] = 'selfeval'; cli.main()", *args]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak, cpu, stop = [0], [0.0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], ps.memory_info().rss)
                c = ps.cpu_times()
                cpu[0] = c.user + c.system + c.children_user + c.children_system
            except psutil.Error:
                return
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stopped = False
    if hasattr(os, "wait4"):
        deadline = t + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() > deadline and not stopped:
                stopped = True
                proc.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - t
        stop.set()
        cpu_s = usage.ru_utime + usage.ru_stime
        rss = max(peak[0], usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024))
    else:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stopped = True
            proc.kill()
            proc.wait()
        wall = time.perf_counter() - t
        stop.set()
        cpu_s, rss = cpu[0], peak[0]
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    if not stopped and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:1])} failed ({proc.returncode}) in {tree}: {err[-1500:]}")
    return {"cpu": cpu_s, "wall": wall, "rss": rss, "stopped": stopped}


def baseline_tree(commit: str, where: Path) -> tuple[Path, bool]:
    """Given a commit, return a worktree of it at where (made unless there) and whether it was made here."""
    if (where / "cli.py").exists():
        return where, False
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(where), commit], cwd=ROOT, check=True, capture_output=True
    )
    return where, True


def cell(r: dict | None) -> str:
    if r is None:
        return "—"
    text = f"{r['cpu']:.1f} / {r['wall']:.1f} / {r['rss'] / 2**20:.0f}"
    return text + (" (stopped)" if r["stopped"] else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=10_000)
    ap.add_argument("--base", default="c873e93", help="the commit to compare with (its code in a git worktree)")
    ap.add_argument("--keep", type=Path, help="build the database here (reused when it has --forms forms)")
    ap.add_argument("--only", choices=("before", "after"), help="run one side only")
    ap.add_argument("--timeout", type=float, default=900, help="seconds after which a command is stopped")
    ap.add_argument("--commands", default=",".join(COMMANDS), help="comma-separated, of " + ", ".join(COMMANDS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        db = build_db(base, args.forms)
        sides = {"before": None, "after": ROOT}
        made = False
        if args.only != "after":
            sides["before"], made = baseline_tree(args.base, base / f"tree-{args.base}")
        if args.only == "before":
            del sides["after"]
        if args.only == "after":
            del sides["before"]
        load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
        print(f"{args.forms} forms; {os.cpu_count()} cores{load}", flush=True)
        results: dict[str, dict[str, dict]] = {}
        sizes: dict[str, dict[str, int]] = {}
        for name in args.commands.split(","):
            for side, tree in sides.items():
                out = base / f"out-{side}"
                out.mkdir(exist_ok=True)
                cmd = [a.format(out=out) for a in COMMANDS[name]] + ["--db", str(db)]
                r = measure(tree, cmd, args.timeout)
                results.setdefault(name, {})[side] = r
                target = Path(cmd[2])
                sizes.setdefault(name, {})[side] = target.stat().st_size if target.exists() else 0
                print(f"  {name} {side}: {cell(r)}, {sizes[name][side] / 2**20:.1f} MB", flush=True)
            if {"before", "after"} <= set(sides) and name.startswith("export"):
                a, b = (base / f"out-{s}" / Path(COMMANDS[name][2]).name for s in ("before", "after"))
                if a.exists() and b.exists():
                    print(f"  {name}: outputs {'identical' if files_equal(a, b) else 'DIFFER'}", flush=True)
        print(f"\nCPU s / wall s / peak RSS MB, {args.forms:,} forms (before: {args.base}, after: this tree)")
        print("| command | before | after | output MB (before, after) |")
        print("|---|---|---|---|")
        for name, rs in results.items():
            mb = ", ".join(f"{sizes[name][s] / 2**20:.1f}" for s in rs)
            print(f"| selfeval {name.replace('-', ' ')} | {cell(rs.get('before'))} | {cell(rs.get('after'))} | {mb} |")
        if made and not args.keep:  # a worktree in the temporary folder: unregistered before the folder goes
            subprocess.run(["git", "worktree", "remove", "--force", str(sides["before"])], cwd=ROOT, check=False)


def files_equal(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


if __name__ == "__main__":
    main()
