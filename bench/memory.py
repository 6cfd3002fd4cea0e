"""Memory benchmark: peak RSS of reading a 50-page PDF with the PDF parser, beside pdfplumber's naive way.

A 50-page form is drawn with reportlab (one long ruled table: a Qinghai form's 67 item rows repeated,
header repeated on every page, rows cut by page breaks). Each reader then runs in a fresh Python
process, which reports its own peak RSS (getrusage ru_maxrss) and its RSS after the imports:

- the parser: extractor.parsers.pdf.PdfParser().path_to_document (closes each page once read);
- the baseline: pdfplumber.open, then page.extract_tables() on every page, all pages kept open.

usage: python bench/memory.py [--pages 50] [--keep FILE.pdf]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MB = 300

# Run in the child: imports, RSS after imports, the read, peak RSS.
CHILD = r"""
import json, resource, sys, time
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20
mode, path = sys.argv[1], sys.argv[2]
import pdfplumber
from extractor.parsers.pdf import PdfParser
after_imports = rss_mb()
start = time.perf_counter()
if mode == "parser":
    doc = PdfParser().path_to_document(path)
    what = {"pages": doc.pages, "tables": len(doc.tables), "rows": sum(t.n_rows for t in doc.tables)}
else:
    pdf = pdfplumber.open(path)
    pages = pdf.pages
    tables = [page.extract_tables() for page in pages]  # pages stay open: their objects stay cached
    what = {"pages": len(pages), "tables": sum(len(t) for t in tables), "rows": sum(len(x) for t in tables for x in t)}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
print(json.dumps({"peak_mb": peak, "after_imports_mb": after_imports, "seconds": seconds, **what}))
"""


def long_form(path: Path, pages: int, seed: int = 0) -> int:
    """Given a path and a page count, draw a form whose body table runs over exactly that many pages
    (the smallest row count that fills them); return the page count drawn."""
    from reportlab.platypus import SimpleDocTemplate

    from samples.generate import form_spec
    from samples.pdf_reportlab import render_pdf
    from samples.spec import TableSpec
    from samples.variant import Variant

    spec = form_spec("qh", Variant(layout="repeat"), random.Random(seed))
    body = [r for r in spec.rows if r.kind in ("item", "extra")]
    tail = [r for r in spec.rows if r.kind not in ("item", "extra")]

    drawn: dict[int, int] = {}

    def draw(n_rows: int) -> int:
        if n_rows in drawn:
            return drawn[n_rows]
        rows = (body * (n_rows // len(body) + 1))[:n_rows]
        long = dataclasses.replace(spec, tables=[TableSpec(rows + tail)])
        counts: list[int] = []
        original = SimpleDocTemplate.afterPage

        def after_page(doc):  # count pages as they are finished
            counts.append(doc.page)
            return original(doc)

        SimpleDocTemplate.afterPage = after_page
        try:
            render_pdf(long, path, split_rows=True)
        finally:
            SimpleDocTemplate.afterPage = original
        drawn[n_rows] = max(counts)
        return drawn[n_rows]

    # pages grow by one every `slope` rows: estimate from two short drafts, then bisect around the estimate
    small, large = 4 * len(body), 8 * len(body)
    slope = (large - small) / max(draw(large) - draw(small), 1)
    guess = large + round((pages - draw(large)) * slope)
    lo, hi = max(1, guess - round(slope)), guess + round(slope)
    while draw(lo) >= pages and lo > 1:
        lo = max(1, lo - round(slope))
    while draw(hi) < pages:
        hi += round(slope)
    while hi - lo > 1:  # draw(lo) < pages <= draw(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if draw(mid) < pages else (lo, mid)
    drawn.clear()  # the file on disk is the last one drawn: draw the answer again
    return draw(hi)


def measure(mode: str, path: Path) -> dict:
    """Given "parser" or "baseline" and a PDF, run the reader in a fresh process; return its figures."""
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=50)
    ap.add_argument("--keep", type=Path, help="also write the long PDF here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "long.pdf"
        start = time.perf_counter()
        n = long_form(path, args.pages)
        print(f"built a {n}-page form ({path.stat().st_size / 2**20:.1f} MB) in {time.perf_counter() - start:.1f} s")
        parser, naive = measure("parser", path), measure("baseline", path)
    print(f"peak RSS for a {n}-page PDF: {parser['peak_mb']:.0f} MB (target < {TARGET_MB} MB) "
          f"{'- met' if parser['peak_mb'] < TARGET_MB else '- NOT met'}")
    print("| reader | peak RSS | RSS after imports | read time | what it read |")
    print("|---|---|---|---|---|")
    for name, r in (("extractor PdfParser (pages closed as read)", parser),
                    ("pdfplumber extract_tables(), pages kept open (naive)", naive)):
        print(f"| {name} | {r['peak_mb']:.0f} MB | {r['after_imports_mb']:.0f} MB | {r['seconds']:.1f} s | "
              f"{r['pages']} pages, {r['tables']} tables, {r['rows']} rows |")


if __name__ == "__main__":
    main()
