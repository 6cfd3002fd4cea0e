"""OCR benchmark: scans by class and dpi -> values exact, wrong values flagged, silent wrong, s/page, peak MB,
for this checkout's reader and a baseline reader (a git revision, checked out in a temporary worktree) side by side.

The generated PDF samples (samples.generate; LibreOffice ones need soffice) and the shared filled_pdf.pdf
are scanned once with this checkout's samples.scan at each dpi (red seal over score cells, tilted 1-2 degrees,
paper noise), in classes:

- scan:       upright pages, image-only PDF (the class the benchmark always had);
- turned:     the same pages turned 90, 180 or 270 degrees clockwise (form by form in turn);
- searchable: a searchable PDF: the page images with an invisible text layer (the source's characters where the
  scan put them), two score numbers per form with a wrong digit in the layer ("layer digits flagged": how many of
  those the reader flagged text_layer_mismatch naming the layer's number).
- grey:       grayscale scans (the seal stamped, then the page recorded grey, as a grayscale scanner does): the
  seal a mid-grey ring over a score cell of every page, to be found by its shape.
- photo:      phone photos of the scanned pages (samples/photo.py): each page on a desk, keystoned 0, 3 or 6 %,
  rotated 4, 0 or 2 degrees (page by page in turn), light falling off to one side by 35 %, a PDF of the JPEG
  photos at quality 75.
- email:      the same photos, one JPEG per page named IMG_<page>.jpg, attached (last page first) to one .eml per
  form and read through ingest (extractor/pages_group.py: the photos of one mail that continue one table are one
  form); scored on the mail's form record (the one with the most items when a reader makes several, as a reader
  that reads each photo alone does), "records" in the stderr line says how many it made.

Each reader reads each class in a child process of its own (its peak RSS is the class's peak MB), and every
record is compared with the truth of its source form:

- values exact: self and inspector values equal to the truth, over every item of every form;
- wrong flagged: of the values that are not exact, the share the form flags for review: a warning or error
  on that item (low_confidence_value, over_cap, non_numeric, missing_score, ...) or a total_mismatch /
  subtotal_mismatch on that side that the text-layer reading of the same PDF does not have;
- right but low-confidence: items read exactly (both sides) that low_confidence_value still sends to review, of
  all items: the review work a cautious reader adds;
- silent wrong: values not exact that nothing flags;
- s/page: OCR wall seconds per page (rasterising included, scan generation not), median over forms; CPU s/page:
  the reading child's CPU seconds (process time, every thread) per page, median over forms: robust on a loaded
  machine, where wall time waits for other processes; peak MB: the reading child's peak resident memory.

usage: python bench/ocr.py [--dpi 150] [--classes scan,turned,searchable,grey,photo,email] [--only NAME,...] [--forms N]
                           [--seed 0] [--baseline REV] [--misses] [--keep DIR]
Needs the OCR extra (pip install 'selfeval[ocr]') and, for the baseline, git.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

import rubric  # noqa: E402
from extractor.checks import ERROR, WARNING  # noqa: E402
from extractor.export import form_to_json  # noqa: E402
from extractor.extract import path_to_form  # noqa: E402
from samples.photo import make_photos  # noqa: E402
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


CLASSES = ("scan", "turned", "searchable", "grey", "photo", "email")
BASELINE = "8b082a7"  # the reader before issue 13 (no turned pages, searchable scans fail as no form)
WRONG_DIGITS = 2  # per searchable form

# Run in a child with the reader's checkout first on sys.path: read every scan, print one JSON line per scan and
# the child's peak RSS last (Linux/macOS: resource; Windows: psutil when installed).
_READER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import rubric
from extractor.export import form_to_json
from extractor.extract import path_to_form
rubrics = rubric.load_all()
for path in json.loads(sys.stdin.read()):
    started, cpu = time.perf_counter(), time.process_time()
    record = form_to_json(path_to_form(__import__("pathlib").Path(path), rubrics))
    print(json.dumps({"path": path, "seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                      "record": record}, ensure_ascii=False), flush=True)
try:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
except ImportError:
    import psutil
    peak = psutil.Process().memory_info().peak_wset / 2**20
print(json.dumps({"peak_mb": peak}))
"""


# The email class's reader: every mail ingested (jobs 1) into a database of its own, its records printed; peak MB
# is the largest of the child and its workers (RUSAGE_CHILDREN: the workers it has waited for).
_EMAIL_READER = r"""
import json, sys, time, tempfile, pathlib
sys.path.insert(0, sys.argv[1])
import rubric
from extractor.export import form_to_json
from extractor.ingest import ingest
from extractor.store import load_form, open_db
rubrics = rubric.load_all()
for path in json.loads(sys.stdin.read()):
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(pathlib.Path(tmp) / "mail.db")
        started = time.perf_counter()
        ingest(db, [path], rubrics, jobs=1, timeout=3600)
        seconds = time.perf_counter() - started
        records = [form_to_json(load_form(db, row["id"])) for row in db["forms"].rows]
        db.close()
    import resource
    cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    print(json.dumps({"path": path, "seconds": seconds, "cpu_total": cpu, "records": records}, ensure_ascii=False),
          flush=True)
import resource
peak = max(resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
print(json.dumps({"peak_mb": peak}))
"""


def make_email(pdf: Path, out: Path, dpi: int, k: int, seed: int) -> int:
    """Given a source PDF and its index, write an .eml with a phone photo of each page attached as IMG_<page>.jpg
    (the last page first: the names give the order, not the attachments'); return its pages."""
    from email.message import EmailMessage

    import pypdfium2 as pdfium

    pdf_doc = pdfium.PdfDocument(str(pdf))
    n = len(pdf_doc)
    pdf_doc.close()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "school@example.cn", "office@example.cn", f"自评表照片 {pdf.stem}"
    msg.set_content("自评表的照片见附件。")
    for page in range(n, 0, -1):
        jpg = out.parent / f"{out.stem}_pages" / f"IMG_{page}.jpg"
        jpg.parent.mkdir(parents=True, exist_ok=True)
        make_photos(pdf, jpg, dpi, seed=seed + k + page, keystone=(0.0, 0.03, 0.06)[(k + page) % 3],
                    rotation=(4.0, 0.0, 2.0)[(k + page) % 3], shading=0.35, quality=75, pages=[page])
        msg.add_attachment(jpg.read_bytes(), maintype="image", subtype="jpeg", filename=jpg.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(msg))
    return n


def make_class_scan(kind: str, pdf: Path, out: Path, dpi: int, k: int, seed: int) -> list[dict]:
    """Given a class, a source PDF and its index, write its scan to out; return the planted layer digits."""
    planted: list[dict] = []
    if kind == "email":
        EMAIL_PAGES[str(out)] = make_email(pdf, out, dpi, k, seed)
        return planted
    if kind == "photo":  # page i of form k: keystone and rotation cycle through their ranges
        make_photos(pdf, out, dpi, seed=seed + k, keystone=[(0.0, 0.03, 0.06)[(k + i) % 3] for i in range(3)],
                    rotation=[(4.0, 0.0, 2.0)[(k + i) % 3] for i in range(3)], shading=0.35, quality=75)
        return planted
    make_scan(pdf, out, dpi, seal=True, rotate=(1.0, 1.5, 2.0)[k % 3], noise=True, seed=seed + k,
              turn=(90, 180, 270)[k % 3] if kind == "turned" else 0, text_layer=kind == "searchable",
              wrong_digits=WRONG_DIGITS if kind == "searchable" else 0, planted=planted, grey=kind == "grey")
    return planted


def read_scans(root: Path, scans: list[Path]) -> tuple[dict[str, dict], float]:
    """Given a reader's checkout and scans, return {path: {seconds, record}} and the reading child's peak MB."""
    email = bool(scans) and all(p.suffix == ".eml" for p in scans)
    done = subprocess.run([sys.executable, "-c", _EMAIL_READER if email else _READER, str(root)],
                          input=json.dumps([str(p) for p in scans]), capture_output=True, text=True, cwd=root,
                          timeout=24 * 3600, encoding="utf-8")
    if done.returncode != 0:
        raise SystemExit(f"the reader at {root} failed: {done.stderr[-2000:]}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if email:  # the mail's form: its record with the most items read (CPU: the child's and its workers', per mail)
        cpu_before = 0.0
        for line in lines:
            if "path" in line:
                line["record"] = max(line["records"], key=lambda r: (len([i for i in r.get("items", [])
                                                                          if i.get("raw_label") is not None]),
                                                                     r.get("status") != "failed"),
                                     default={"status": "failed", "error": "no record"})
                line["cpu"], cpu_before = line["cpu_total"] - cpu_before, line["cpu_total"]
    return {line["path"]: line for line in lines if "path" in line}, lines[-1]["peak_mb"]


def layer_flagged(record: dict, planted: list[dict]) -> int:
    """How many planted layer digits the record flags text_layer_mismatch naming the layer's number."""
    messages = [d["message"] for d in record.get("discrepancies", []) if d["kind"] == "text_layer_mismatch"]
    return sum(any(f"文字层为 {p['layer']}" in m for m in messages) for p in planted)


def baseline_worktree(rev: str, tmp: Path) -> Path:
    """Check rev out in a temporary git worktree under tmp and return its path."""
    path = tmp / f"baseline-{rev}"
    subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True, capture_output=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dpi", default="150")
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--only", default="", help="only samples whose name contains one of these (comma separated)")
    ap.add_argument("--forms", type=int, default=0, help="only the first N forms (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", default=BASELINE, help="git revision of the baseline reader ('' for none)")
    ap.add_argument("--misses", action="store_true", help="print the values that were not exact")
    ap.add_argument("--keep", type=Path, help="keep the scans in this folder")
    args = ap.parse_args()
    scorer = load_scorer()
    rubrics = rubric.load_all()
    dpis = [int(d) for d in args.dpi.split(",") if d.strip()]
    classes = [c for c in args.classes.split(",") if c.strip()]
    only = [o for o in args.only.split(",") if o.strip()] or None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp_name:
        tmp = Path(tmp_name)
        plan = sources(tmp, args.seed, only)
        plan = plan[:args.forms] if args.forms else plan
        baselines = {name: form_to_json(path_to_form(pdf, rubrics)) for name, pdf, _t in plan}
        readers = [("current", ROOT)]
        if args.baseline:
            readers.append((f"baseline ({args.baseline})", baseline_worktree(args.baseline, tmp)))
        try:
            for dpi in dpis:
                for kind in classes:
                    scans, planted = [], {}
                    for k, (name, pdf, _truth) in enumerate(plan):
                        scan = tmp / f"{dpi}" / kind / f"scan_{Path(name).stem}.{'eml' if kind == 'email' else 'pdf'}"
                        planted[str(scan)] = make_class_scan(kind, pdf, scan, dpi, k, args.seed)
                        scans.append(scan)
                    for reader, root in readers:
                        results, peak = read_scans(root, scans)
                        rows.append((dpi, kind, reader, tally(plan, scans, results, planted, baselines, scorer,
                                                              args.misses), peak))
                if args.keep:
                    shutil.copytree(tmp / f"{dpi}", args.keep / f"{dpi}", dirs_exist_ok=True)
        finally:
            for _reader, root in readers[1:]:
                subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=ROOT, capture_output=True)
    print("| dpi | class | reader | forms | pages | values exact | wrong values flagged | silent wrong | "
          "layer digits flagged | right but low-confidence | s/page (median) | CPU s/page (median) | peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for dpi, kind, reader, t, peak in rows:
        exact = 100.0 * t["exact"] / t["values"] if t["values"] else 100.0
        flagged = f"{t['flagged']}/{t['wrong']}"
        layer = f"{t['layer_flagged']}/{t['planted']}" if kind == "searchable" else "–"
        per_page = statistics.median(t["per_page"]) if t["per_page"] else 0.0
        cpu_page = statistics.median(t["cpu_page"]) if t["cpu_page"] else 0.0
        print(f"| {dpi} | {kind} | {reader} | {t['forms']} | {t['pages']} | {exact:.2f}% ({t['exact']}/{t['values']}) | "
              f"{flagged} | {t['wrong'] - t['flagged']} | {layer} | {t['needless']}/{t['items']} items | {per_page:.1f} | {cpu_page:.1f} | {peak:.0f} |")


def tally(plan, scans, results, planted, baselines, scorer, misses: bool) -> dict:
    """Given the forms, their scans, a reader's results and the planted layer digits, return the class's totals."""
    total = {"values": 0, "exact": 0, "wrong": 0, "flagged": 0, "pages": 0, "forms": 0, "per_page": [],
             "cpu_page": [], "planted": 0, "layer_flagged": 0, "needless": 0, "items": 0}
    for (name, _pdf, truth), scan in zip(plan, scans, strict=True):
        got = results[str(scan)]
        result = compare(got["record"], baselines[name], truth, scorer)
        for key in ("values", "exact", "wrong", "flagged", "needless"):
            total[key] += result[key]
        total["items"] += len(truth["items"])
        pages = _pages(scan)
        total["pages"] += pages
        total["forms"] += 1
        total["per_page"].append(got["seconds"] / max(pages, 1))
        total["cpu_page"].append(got.get("cpu", 0.0) / max(pages, 1))
        total["planted"] += len(planted[str(scan)])
        total["layer_flagged"] += layer_flagged(got["record"], planted[str(scan)])
        records = f", {len(got['records'])} records ({got['record'].get('source', '')})" if "records" in got else ""
        print(f"  {scan.parent.name} {name}: {result['exact']}/{result['values']} exact, {result['flagged']}/"
              f"{result['wrong']} wrong flagged, {got['seconds'] / max(pages, 1):.1f} s/page, "
              f"{got.get('cpu', 0.0) / max(pages, 1):.1f} CPU s/page{records}", file=sys.stderr)
        if misses:
            for m in result["misses"]:
                print(f"      {m}", file=sys.stderr)
    return total


EMAIL_PAGES: dict[str, int] = {}  # an .eml's pages (one photo each), as make_email wrote them


def _pages(path: Path) -> int:
    if str(path) in EMAIL_PAGES:
        return EMAIL_PAGES[str(path)]
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


if __name__ == "__main__":
    main()
