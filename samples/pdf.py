"""PDF samples: filled forms exported to PDF by LibreOffice (from the generated .docx) or drawn by reportlab.

LibreOffice is optional: ``soffice_path()`` is None when it is not installed, and ``convert_docx`` then
converts nothing. Many files are converted in one soffice call (one start-up) with a private profile.
Exported bytes are made deterministic by blanking the creation dates and the document id.

``split_cells(pdf, spec)`` tells which printed texts of the spec a page break cuts in two (a table row
that breaks across pages), read straight from the ruled tables with pdfplumber: the generator's own
check, independent of the extractor.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docx.document
from docx.enum.section import WD_ORIENT
from docx.shared import Mm

from samples.spec import FormSpec

SOFFICE_TIMEOUT = 600  # seconds for one conversion batch
_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(D:[^)]*\)")
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")
_CHECKSUM = re.compile(rb"/DocChecksum\s*/([0-9A-Fa-f]+)")


def soffice_path() -> str | None:
    """Return the LibreOffice executable (soffice or libreoffice), or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def set_landscape(doc: docx.document.Document) -> docx.document.Document:
    """Given a Document, turn every section to A4 landscape (orientation set, width and height swapped)."""
    for section in doc.sections:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    return doc


def convert_docx(paths: list[Path], out_dir: Path) -> list[Path]:
    """Given .docx files, export them to PDF in out_dir with one soffice call; return the PDFs written.

    Returns [] with a warning on stderr when LibreOffice is missing or fails; a file it could not
    convert is left out (warned too).
    """
    exe = soffice_path()
    if not paths:
        return []
    if exe is None:
        print(f"warning: soffice not found: {len(paths)} LibreOffice PDF sample(s) skipped", file=sys.stderr)
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-") as profile:
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, paths)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=SOFFICE_TIMEOUT)
        except (subprocess.SubprocessError, OSError) as e:
            print(f"warning: soffice failed ({e}): LibreOffice PDF samples skipped", file=sys.stderr)
            return []
    done = []
    for p in paths:
        pdf = out_dir / (p.stem + ".pdf")
        if pdf.exists():
            normalize_pdf(pdf)
            done.append(pdf)
        else:
            print(f"warning: soffice did not convert {p.name}", file=sys.stderr)
    return done


def normalize_pdf(path: Path) -> None:
    """Given a PDF, blank its dates, document id and checksum in place, keeping every byte offset (same length)."""
    data = path.read_bytes()
    data = _DATE.sub(lambda m: m.group(0)[: m.group(0).index(b"(") + 1] + b"D:20240101000000"
                     + b" " * (len(m.group(0)) - m.group(0).index(b"(") - 18) + b")", data)
    data = _ID.sub(lambda m: m.group(0).replace(m.group(1), b"0" * len(m.group(1)))
                   .replace(m.group(2), b"0" * len(m.group(2))), data)
    data = _CHECKSUM.sub(lambda m: m.group(0).replace(m.group(1), b"0" * len(m.group(1))), data)
    path.write_bytes(data)


def _squash(text: str | None) -> str:
    return "".join((text or "").split())


def split_cells(pdf_path: str | Path, spec: FormSpec) -> list[str]:
    """Given a PDF and the spec it prints, return the cell texts a page break cuts in two.

    For every page break, the last row of the page's last table and the first row of the next page's
    first table (after a repeated header row) are compared column by column: a cell is cut when the two
    texts, joined, are a printed text of the spec and the upper part alone is not.
    """
    import pdfplumber

    printed = {_squash(t) for r in spec.rows for t in r.cells.values() if _squash(t)}
    headers = {_squash(t) for t in spec.headers.values()} | {"督导检查内容"}
    cut: list[str] = []
    last: list[str | None] | None = None
    settings = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            tables = [t.extract() for t in page.find_tables(settings)]
            tables = [t for t in tables if t and len(t[0]) > 2]
            page.close()
            if not tables:
                last = None
                continue
            first_rows = [r for r in tables[0] if not all(_squash(c) in headers for c in r if _squash(c))]
            if last is not None and first_rows and len(first_rows[0]) == len(last):
                for a, b in zip(last, first_rows[0], strict=True):
                    a, b = _squash(a), _squash(b)
                    if a and b and a + b in printed and a not in printed:
                        cut.append(a + b)
            last = tables[-1][-1]
    return cut
