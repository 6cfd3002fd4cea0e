"""Foreign files: ingest ../shared/foreign (393 Word, PDF, e-mail, archive and image files from other projects'
test suites, none of them a form) and report how each was refused.

Prints how many files were refused, each distinct one-line reason with its count, the wall time, any record
that is not failed (a file taken for a form: there should be none), any error that is not one line, and the
PDF parser's checks on pdfplumber's own test PDFs (encrypted, empty, a page turned sideways reads like the
upright one, doubled characters dropped).

usage: python bench/foreign.py [FOLDER] [--timeout 60] [--jobs N]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOREIGN = ROOT.parent / "shared" / "foreign"
CLI = [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); from cli import main; main()", str(ROOT)]


def reason_of(error: str) -> str:
    """An error with its file-specific parts (numbers, quoted names) blurred, so equal reasons count together."""
    return re.sub(r"\d+(\.\d+)?", "N", re.sub(r"'[^']*'|\([^()]*\.[A-Za-z0-9]{2,4}:[^()]*\)", "…", error))[:160]


def ingest(folder: Path, timeout: int, jobs: int | None) -> int:
    files = [p for p in folder.rglob("*") if p.is_file()]
    with tempfile.TemporaryDirectory(prefix="selfeval-bench-") as tmp:
        db = str(Path(tmp) / "foreign.db")
        args = CLI + ["ingest", str(folder), "--db", db, "--timeout", str(timeout)]
        if jobs:
            args += ["--jobs", str(jobs)]
        start = time.perf_counter()
        run = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", errors="replace")
        took = time.perf_counter() - start
        export = subprocess.run(CLI + ["export", "--db", db, "--all"], capture_output=True, text=True,
                                encoding="utf-8")
        recs = json.loads(export.stdout or "[]")
    skipped = [line for line in run.stderr.splitlines() if line.startswith("skipped")]
    failed = [r for r in recs if r["status"] == "failed"]
    taken = [r for r in recs if r["status"] != "failed"]
    multiline = [r for r in failed if not r["error"] or "\n" in r["error"]]
    print(f"{folder}: {len(files)} files; {len(recs)} records, {len(failed)} refused, {len(skipped)} skipped "
          f"lines on stderr; ingest exit {run.returncode} in {took:.1f} s")
    print(f"traceback on stderr: {'YES' if 'Traceback' in run.stderr else 'no'}")
    for line in skipped:
        print(f"  {line}")
    print("reasons (count  one-line reason):")
    for why, n in collections.Counter(reason_of(r["error"] or "") for r in failed).most_common():
        print(f"  {n:4d}  {why}")
    print(f"taken for a form: {len(taken)}")
    for r in taken:
        print(f"  {r['status']:8s} {r['source']} rubric={r['rubric']} institution={r['institution']}")
    if multiline:
        print(f"errors that are not one line: {len(multiline)}")
        for r in multiline:
            print(f"  {r['source']}: {r['error']!r}")
    return 0 if not taken and not multiline and "Traceback" not in run.stderr else 1


def pdf_checks(folder: Path) -> int:
    """The PDF parser on pdfplumber's test PDFs: a Document or a ParseError for every one."""
    import pdfplumber

    from extractor.parsers.base import ParseError
    from extractor.parsers.pdf import PdfParser, page_to_deduped_page

    pdfs = sorted(folder.glob("*.pdf"))
    if not pdfs:
        return 0
    outcomes = {}
    bad = []
    for path in pdfs:
        try:
            doc = PdfParser().path_to_document(path)
            if not (doc.pages and all(c.rowspan >= 1 and c.colspan >= 1 and c.page
                                      for t in doc.tables for c in t.cells)):
                bad.append(path.name)
            outcomes[path.name] = "ok"
        except ParseError as error:
            outcomes[path.name] = str(error)
        except Exception as error:  # noqa: BLE001 - what the bench is for
            outcomes[path.name] = f"UNCAUGHT {type(error).__name__}: {error}"
            bad.append(path.name)
    print(f"PDF parser on {len(pdfs)} pdfplumber test PDFs: "
          f"{sum(v == 'ok' for v in outcomes.values())} documents, "
          f"{sum(v != 'ok' and not v.startswith('UNCAUGHT') for v in outcomes.values())} parse errors, "
          f"{len(bad)} bad: {bad}")
    for name, want in (("password-example.pdf", "the PDF is encrypted"), ("empty.pdf", "not a readable PDF")):
        if name in outcomes:
            print(f"  {name}: {'ok' if outcomes[name].startswith(want) else 'WRONG'} ({outcomes[name][:80]})")
    upright, turned = folder / "nics-background-checks-2015-11.pdf", folder / "nics-background-checks-2015-11-rotated.pdf"
    if upright.exists() and turned.exists():
        def cells(p):
            return [(c.row, c.col, c.rowspan, c.colspan, c.text) for c in PdfParser().path_to_document(p).tables[0].cells]
        same = cells(upright) == cells(turned)
        print(f"  sideways page reads like the upright one: {'yes' if same else 'NO'}")
        bad += [] if same else [turned.name]
    doubled = folder / "issue-71-duplicate-chars.pdf"
    if doubled.exists():
        with pdfplumber.open(doubled) as pdf:
            page = pdf.pages[0]
            ok = (page_to_deduped_page(page).chars == page.dedupe_chars().chars
                  and len(page_to_deduped_page(page).chars) < len(page.chars))
        print(f"  doubled characters dropped as pdfplumber's dedupe_chars does: {'yes' if ok else 'NO'}")
        bad += [] if ok else [doubled.name]
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=FOREIGN)
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--jobs", type=int)
    a = ap.parse_args()
    if not a.folder.is_dir():
        print(f"{a.folder} is not a folder (the foreign files live in ../shared/foreign)", file=sys.stderr)
        return 2
    rc = ingest(a.folder, a.timeout, a.jobs)
    for sub in (a.folder / "pdfplumber", a.folder):
        if sub.is_dir() and any(sub.glob("*.pdf")):
            rc |= pdf_checks(sub)
            break
    return rc


if __name__ == "__main__":
    sys.exit(main())
