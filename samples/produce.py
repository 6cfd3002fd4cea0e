"""Write drawn forms (samples.variants) through their producers, with truth.json and axes.json.

usage: python -m samples.produce OUT_DIR [--n 300] [--seed 0] [--producers docx,rl_pdf]

Producers: python-docx (docx); LibreOffice round trip docx -> docx (lo_docx); RTF round trip docx -> rtf ->
docx (rtf); old Word docx -> odt -> doc (doc); LibreOffice PDF export (lo_pdf); reportlab drawing (rl_pdf). All LibreOffice
conversions of one kind run in one soffice call (one start-up for many files). Without soffice, forms of
the LibreOffice producers are skipped with a warning (and left out of truth.json / axes.json).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docx.document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from samples import wordxml
from samples.generate import save_docx
from samples.pdf import SOFFICE_TIMEOUT, normalize_pdf, set_landscape, soffice_path
from samples.render import build_form
from samples.variants import Drawn, draw_form

EXT = {"docx": ".docx", "lo_docx": ".docx", "rtf": ".docx", "doc": ".doc", "lo_pdf": ".pdf", "rl_pdf": ".pdf"}
SHORT = {"qinghai": "qh", "national_judgment": "natj", "national_points": "natp"}
SCORE_KEYS = ("self", "insp")


def word_document(d: Drawn, rng: random.Random) -> docx.document.Document:
    """Given a drawn form, return its python-docx Document with the Word-level edits applied."""
    spec = d.spec
    doc = build_form(spec)
    body = list(doc.tables)[-len(spec.tables):]  # after the cover table and the stats table, if any
    if spec.stats is not None:
        # a paragraph between the stats table and the body: without it an RTF round trip joins the two tables
        body[0]._tbl.addprevious(parse_xml(f"<w:p {nsdecls('w')}/>"))
    if d.axes["grid"] == "irregular":
        cols = spec.columns
        score = {c for c, k in enumerate(cols) if k.startswith(SCORE_KEYS) or k == "prelim"}
        for t, ts in zip(body, spec.tables, strict=True):
            bounds = [c for c in range(1, len(cols)) if c in score or rng.random() < 0.4]
            wordxml.irregular_grid(t, spec.header_rows if ts.header else 0, bounds)
    if d.axes["tracked"] == "yes":
        _tracked(d, body[0], rng)
    if d.axes["borders"] != "plain":
        style = d.word["borders"]
        for t in body:
            wordxml.set_borders(t, d.axes["borders"], style["word_val"], style["word_sz"], style["word_cells"])
    if d.axes["ticks"] in ("checkbox_inline", "checkbox_cols"):
        wordxml.checkboxes(doc)
    if d.axes["textbox"] == "yes":
        for n, t in enumerate(body, 1):
            wordxml.into_textbox(doc, t, n)
    if "page_header" in d.word:
        wordxml.page_header(doc, d.word["page_header"])
    return set_landscape(doc) if d.word.get("landscape") else doc


def _tracked(d: Drawn, table, rng: random.Random) -> None:
    """Insert a tracked-deleted copy of one item row of the first body table, its scores changed."""
    ts = d.spec.tables[0]
    nh = d.spec.header_rows if ts.header else 0
    at = rng.choice([i for i, r in enumerate(ts.rows) if r.kind == "item"])
    texts = {c: _other(ts.rows[at].cells.get(k, "")) for c, k in enumerate(d.spec.columns) if k.startswith(SCORE_KEYS)}
    wordxml.tracked_deleted_row(table, nh + at, texts, 7)


def _other(text: str) -> str:
    """A score text other than text: another judgment, another number, no tick where one was."""
    judgments = ("符合", "基本符合", "不符合")
    if text in judgments:
        return judgments[(judgments.index(text) + 1) % 3]
    if not text.strip() or len(text) == 1 and not text.isdigit():
        return ""
    return "0" if text != "0" else "1"


def form_name(seed: int, i: int, d: Drawn) -> str:
    """Given the seed, the form's number and the drawn form, return its file name (says family and producer)."""
    a = d.axes
    return f"v{seed}_{i:04d}_{SHORT[a['family']]}_{a['producer']}{EXT[a['producer']]}"


def write_variants(out_dir: str | Path, n: int = 300, seed: int = 0, force: dict[str, str] | None = None,
                   quiet: bool = False, meta_dir: str | Path | None = None) -> tuple[dict, dict]:
    """Given an output folder, a form count, a seed (and axis values to force), write the forms, and truth.json
    and axes.json (into meta_dir, default the output folder); return (truth, axes), both keyed by file name."""
    out = Path(out_dir)
    meta = Path(meta_dir) if meta_dir is not None else out
    out.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict] = {}
    axes: dict[str, dict] = {}
    jobs: dict[str, list[Path]] = {"lo_docx": [], "rtf": [], "doc": [], "lo_pdf": []}
    with tempfile.TemporaryDirectory(prefix="variants-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for i in range(1, n + 1):
            rng = random.Random(f"variants:{seed}:{i}")
            d = draw_form(rng, force)
            name = form_name(seed, i, d)
            prod = d.axes["producer"]
            if prod == "rl_pdf":
                from samples.pdf_reportlab import render_pdf  # reportlab is a dev dependency

                render_pdf(d.spec, out / name, landscape_page=bool(d.word.get("landscape")),
                           repeat_header=rng.random() < 0.7, split_rows=rng.random() < 0.2,
                           borders=d.axes["borders"], **d.word.get("borders", {}).get("pdf", {}))
            else:
                doc = word_document(d, rng)
                if prod == "docx":
                    save_docx(doc, out / name)
                else:
                    save_docx(doc, src / (Path(name).stem + ".docx"))
                    jobs[prod].append(src / (Path(name).stem + ".docx"))
            truth[name], axes[name] = d.truth, d.axes
        _convert_all(jobs, out, Path(tmp), quiet)
    for name in [k for k in truth if not (out / k).exists()]:
        del truth[name], axes[name]
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (meta / "axes.json").write_text(json.dumps(axes, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return truth, axes


def _convert_all(jobs: dict[str, list[Path]], out: Path, tmp: Path, quiet: bool) -> None:
    """Run the LibreOffice conversions, one soffice call per target format."""
    if not any(jobs.values()):
        return
    exe = soffice_path()
    if exe is None:
        print(f"warning: soffice not found: {sum(map(len, jobs.values()))} LibreOffice forms skipped", file=sys.stderr)
        return
    docx_filter = "docx:MS Word 2007 XML"
    _soffice(exe, jobs["lo_docx"], docx_filter, out, quiet)
    _soffice(exe, jobs["lo_pdf"], "pdf", out, quiet)
    for p in jobs["lo_pdf"]:
        if (out / (p.stem + ".pdf")).exists():
            normalize_pdf(out / (p.stem + ".pdf"))
    # two steps each: docx -> rtf -> docx; docx -> odt -> doc (LibreOffice's direct docx -> doc export of a
    # python-docx file flattens its tables into one paragraph)
    for job, mid, target in (("rtf", "rtf", docx_filter), ("doc", "odt", "doc")):
        _soffice(exe, jobs[job], mid, tmp / mid, quiet)
        _soffice(exe, [tmp / mid / (p.stem + f".{mid}") for p in jobs[job] if (tmp / mid / (p.stem + f".{mid}")).exists()],
                 target, out, quiet)


def _soffice(exe: str, paths: list[Path], target: str, out_dir: Path, quiet: bool) -> None:
    if not paths:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lo-") as profile:
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", target, "--outdir", str(out_dir), *map(str, paths)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=SOFFICE_TIMEOUT + 3 * len(paths))
        except (subprocess.SubprocessError, OSError) as e:
            print(f"warning: soffice --convert-to {target} failed ({e})", file=sys.stderr)
    if not quiet:
        print(f"  soffice -> {target.split(':')[0]}: {len(paths)} files in {time.monotonic() - t0:.0f} s",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Given command-line arguments, write the forms."""
    ap = argparse.ArgumentParser(prog="python -m samples.produce", description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--producers", default=None, help="comma-separated: draw only among these producers")
    a = ap.parse_args(argv)
    if a.producers:
        keep = a.producers.split(",")
        truth, _ = _filtered(a.out_dir, a.n, a.seed, keep)
    else:
        truth, _ = write_variants(a.out_dir, a.n, a.seed)
    print(f"wrote {len(truth)} forms, truth.json and axes.json to {a.out_dir}")


def _filtered(out_dir: str, n: int, seed: int, keep: list[str]) -> tuple[dict, dict]:
    """Forms whose producer is forced round-robin over keep (the other axes drawn as usual)."""
    out = Path(out_dir)
    truth: dict = {}
    axes: dict = {}
    for k, prod in enumerate(keep):
        part = out / f".part{k}"
        t, x = write_variants(part, -(-n // len(keep)), seed * 100 + k, {"producer": prod})
        for name in t:
            shutil.move(str(part / name), str(out / name))
        truth |= t
        axes |= x
        shutil.rmtree(part)
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "axes.json").write_text(json.dumps(axes, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return truth, axes


if __name__ == "__main__":
    main()
