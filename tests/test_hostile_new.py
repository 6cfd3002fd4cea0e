"""Hostile inputs against the code added on 2 December: the pdfium fast path (parsers/pdf_objects.py,
pdf_spaces.py), phone-photo rectification (ocr/photo.py) and photos of one form read together (pages_group.py,
its part of ingest.py). One regression test per defect found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
np = pytest.importorskip("numpy")

from extractor.ocr.photo import photo_to_page  # noqa: E402
from extractor.ocr.sources import PageImage  # noqa: E402

from .pdf_bytes import one_page_pdf  # noqa: E402


@pytest.mark.parametrize("shape", [(3, 20000), (20000, 2), (3, 20000, 3)])
def test_very_thin_image_is_no_photo_and_kept(shape):
    """A strip of an image (3 x 20000 pixels) shrunk for the page search would be 0 pixels high: cv2.resize
    raised and the batch said 'could not read the file (error: OpenCV ...); please report it'."""
    pixels = np.full(shape, 200, np.uint8)
    image = PageImage(pixels, 200.0, 1)
    assert photo_to_page(image) is image


# --- the pdfium fast path: wherever it reads a page, its chars are pdfminer's ----------------------------------


def ingest_cli(inbox: Path, db: Path) -> subprocess.CompletedProcess:
    """Run the real CLI's `ingest INBOX --db DB` in a process of its own; return what it did."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "ingest", str(inbox), "--db", str(db)],
        cwd=root, capture_output=True, text=True, timeout=300,
    )


def _pdf(content: str, fonts: list[str]) -> bytes:
    """Given a page's content stream and its font dicts (/F1, /F2, ...), return a one-page PDF (A4)."""
    names = " ".join(f"/F{i} {5 + i - 1} 0 R" for i in range(1, len(fonts) + 1))
    return one_page_pdf(f"<< /Font << {names} >> >>".encode(), content.encode("latin-1"),
                        [f.encode("latin-1") for f in fonts])


def _fast_or_refused(path):
    """Given a PDF, return ("refused", None) when the pdfium path refuses its page, else (its chars, pdfminer's
    chars) as (text, x0, x1) to 1e-3 pt."""
    import pdfplumber

    from extractor.parsers.pdf_objects import PdfiumObjects, Unsupported

    def rows(chars):
        return [(c["text"], round(c["x0"], 3), round(c["x1"], 3)) for c in chars]

    with pdfplumber.open(path) as ref, pdfplumber.open(path) as pdf, PdfiumObjects(path, pdf) as fast:
        try:
            objects = fast.page_objects(0, pdf.pages[0])
        except Unsupported:
            return "refused", None
        return rows(objects.get("char", [])), rows(ref.pages[0].chars)


def _font(base: str, extra: str = "") -> str:
    return f"<< /Type /Font /Subtype /Type1 /BaseFont /{base} {extra} >>"


def test_fonts_told_apart_by_their_widths(tmp_path):
    """Two subset fonts without a FontDescriptor (pdfminer names both 'unknown', pdfium both 'Helvetica') but with
    different /Widths: the fast path took the first for both, so the second line's chars were half as wide."""
    path = tmp_path / "two.pdf"
    content = "BT /F1 12 Tf 72 700 Td (AB) Tj ET BT /F2 12 Tf 72 650 Td (AB) Tj ET"
    widths = "/FirstChar 65 /LastChar 66 /Widths [{0} {0}]"
    path.write_bytes(
        _pdf(content, [_font("AAAAAA+Helvetica", widths.format(500)), _font("BBBBBB+Helvetica", widths.format(1000))])
    )
    fast, ref = _fast_or_refused(path)
    assert ref is None or fast == ref
    assert ref is None or ref == [("A", 72.0, 78.0), ("B", 78.0, 84.0), ("A", 72.0, 84.0), ("B", 84.0, 96.0)]


@pytest.mark.parametrize(
    "extra", ["/FirstChar 65 /LastChar 66 /Widths [900 900]", "/FirstChar 65 /LastChar 66 /Widths [600 700]"]
)
def test_standard_font_with_its_own_widths(tmp_path, extra):
    """A standard font (Helvetica) with a /Widths array: pdfminer takes its widths from the font's metrics,
    pdfium draws with /Widths, so pdfium's origins were not pdfminer's (B at 82.8 pt instead of 80.004)."""
    path = tmp_path / "std.pdf"
    path.write_bytes(_pdf("BT /F1 12 Tf 72 700 Td (AB) Tj ET", [_font("Helvetica", extra)]))
    fast, ref = _fast_or_refused(path)
    assert ref is None or fast == ref
    assert ref is None or ref == [("A", 72.0, 80.004), ("B", 80.004, 88.008)]


@pytest.mark.parametrize("subtype", ["Type1", "TrueType"])
def test_font_without_widths(tmp_path, subtype):
    """A font neither standard nor embedded, without /Widths: pdfminer gives every char no width (all at the
    text's origin), pdfium spaces them with a stand-in font's widths: the fast path's chars were not pdfminer's."""
    path = tmp_path / "nowidths.pdf"
    path.write_bytes(
        _pdf("BT /F1 12 Tf 72 700 Td (HelloWorld) Tj ET", [f"<< /Type /Font /Subtype /{subtype} /BaseFont /Weird >>"])
    )
    fast, ref = _fast_or_refused(path)
    assert ref is None or fast == ref
    assert ref is None or ref == [(c, 72.0, 72.0) for c in "HelloWorld"]


def test_tiny_or_thin_images_fail_with_a_reason(tmp_path):
    """An image 1 x 1 or 20000 x 3 pixels (alone, or photos of one zip read together) reached OCR, whose shrunk
    copies were 0 pixels: 'could not read the file (error: OpenCV ...); please report it'. Real CLI and SQLite."""
    import io
    import sqlite3
    import zipfile
    from pathlib import Path

    from PIL import Image, PngImagePlugin

    def png(size):
        info = PngImagePlugin.PngInfo()
        info.add_text("pad", "x" * 45000)  # over the zip's smallest scanned page (40 KB)
        buffer = io.BytesIO()
        Image.new("L", size, 200).save(buffer, "PNG", pnginfo=info)
        return buffer.getvalue()

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "dot.png").write_bytes(png((1, 1)))
    with zipfile.ZipFile(inbox / "photos.zip", "w") as z:
        z.writestr("1.png", png((2, 5)))
        z.writestr("2.png", png((20000, 3)))
    db = tmp_path / "h.db"
    r = ingest_cli(inbox, db)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    with sqlite3.connect(db) as c:
        rows = {
            Path(s).name.split("!")[-1]: (st, e) for s, st, e in c.execute("SELECT source, status, error FROM forms")
        }
    assert rows == {
        "dot.png": ("failed", "the image is 1 x 1 pixels: too small to be a form page; scan the form again at 300 dpi"),
        "1.png": ("failed", "the image is 2 x 5 pixels: too small to be a form page; scan the form again at 300 dpi"),
        "2.png": (
            "failed",
            "the image is 20000 x 3 pixels: too small to be a form page; scan the form again at 300 dpi",
        ),
    }


def test_same_photo_twice_in_one_mail_is_one_page(tmp_path):
    """The same photo attached twice (same bytes) to photos of one form was read as two pages of it (its rows
    twice in one form, named a.png+b.png+c.png); now the repeat is skipped as any file with the same bytes."""
    import io
    import sqlite3
    import zipfile

    from PIL import Image, PngImagePlugin

    def png(width):
        info = PngImagePlugin.PngInfo()
        info.add_text("pad", "x" * 45000)  # over the zip's smallest scanned page (40 KB)
        buffer = io.BytesIO()
        Image.new("L", (width, 40), 255).save(buffer, "PNG", pnginfo=info)
        return buffer.getvalue()

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "photos.zip", "w") as z:
        z.writestr("a.png", png(60))
        z.writestr("b.png", png(61))
        z.writestr("c.png", png(60))
    db = tmp_path / "h.db"
    r = ingest_cli(inbox, db)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    assert "photos.zip!c.png: same bytes as another file in this batch" in r.stdout + r.stderr
    with sqlite3.connect(db) as c:
        rows = [(s.split("!")[-1], st) for s, st in c.execute("SELECT source, status FROM forms")]
    assert rows == [("a.png+b.png", "failed")]
