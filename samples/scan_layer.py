"""Searchable scans: the page images of a scan with the scanner's own OCR drawn invisibly over them (text render
mode 3), as office multifunction printers write them.

The "scanner's OCR" is the source PDF's own characters, placed where the scan put them (the page's tilt and turn
applied to each character's centre), except for `wrong` score numbers whose first digit is changed: the layer
then says another number than the image, as real scanner OCR does in exactly the digits that matter.
``write_searchable_pdf`` returns what it planted, page by page, so a benchmark can check that each was flagged.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
from PIL import Image

LAYER_FONT = "STSong-Light"  # invisible text needs no embedded glyphs; the CID font's CMap carries Unicode
_NUMBER = re.compile(r"^\d+(\.\d+)?分?$")

Char = tuple[str, float, float, float, float]  # text, x0, top, x1, bottom in points


def source_chars(pdf_path: Path) -> list[list[Char]]:
    """Given a PDF with a text layer, return per page its visible characters with their boxes (points)."""
    import pdfplumber

    out = []
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            out.append([(c["text"], float(c["x0"]), float(c["top"]), float(c["x1"]), float(c["bottom"]))
                        for c in page.chars if c["text"].strip()])
            page.close()
    return out


def score_numbers(pdf_path: Path) -> list[list[tuple[float, float, float, float]]]:
    """Given a PDF, return per page the boxes of the numbers in its rightmost numeric column (the last score
    column: 督查, or 自评 when the form has no inspector column), in its right half."""
    import pdfplumber

    out = []
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            words = [w for w in page.extract_words() if _NUMBER.match(w["text"]) and w["x0"] > page.width * 0.5]
            right = max((w["x0"] for w in words), default=0.0)
            out.append([(w["x0"], w["top"], w["x1"], w["bottom"]) for w in words if w["x0"] >= right - 12])
            page.close()
    return out


def plant(chars: list[list[Char]], numbers: list[list[tuple[float, float, float, float]]], wrong: int,
          seed: int) -> list[dict]:
    """Given the pages' characters (changed in place) and score number boxes, change the first digit of `wrong`
    numbers chosen by the seed; return {page, image, layer} for each (1-based page; the number as printed and as
    the layer now has it)."""
    rng = np.random.RandomState(seed)
    spots = [(p, box) for p, boxes in enumerate(numbers) for box in boxes]
    planted = []
    for k in sorted(rng.choice(len(spots), size=min(wrong, len(spots)), replace=False).tolist()) if spots else []:
        p, (x0, top, x1, bottom) = spots[k]
        inside = [i for i, c in enumerate(chars[p]) if x0 - 0.5 <= (c[1] + c[3]) / 2 <= x1 + 0.5
                  and top - 0.5 <= (c[2] + c[4]) / 2 <= bottom + 0.5]
        printed = "".join(chars[p][i][0] for i in inside)
        first = next((i for i in inside if chars[p][i][0].isdigit()), None)
        if first is None:
            continue
        c = chars[p][first]
        chars[p][first] = (str((int(c[0]) + 3) % 10), *c[1:])
        planted.append({"page": p + 1, "image": printed, "layer": "".join(chars[p][i][0] for i in inside)})
    return planted


def place(char: Char, size: tuple[int, int], dpi: int, tilt: float, turn: int) -> tuple[float, float]:
    """Given a character of the clean page, the page image's size (pixels, before the turn), its dpi, the tilt
    (degrees counter-clockwise, as PIL's rotate) and the turn (degrees clockwise), return its centre on the
    scanned page in pixels."""
    width, height = size
    x, y = (char[1] + char[3]) / 2 * dpi / 72, (char[2] + char[4]) / 2 * dpi / 72
    a = math.radians(tilt)
    dx, dy = x - width / 2, y - height / 2
    x, y = width / 2 + dx * math.cos(a) + dy * math.sin(a), height / 2 - dx * math.sin(a) + dy * math.cos(a)
    if turn == 90:
        x, y = height - y, x
    elif turn == 180:
        x, y = width - x, height - y
    elif turn == 270:
        x, y = y, width - x
    return x, y


def write_searchable_pdf(out_path: Path, pages: list[Image.Image], layers: list[list[tuple[str, float, float, float]]],
                         dpi: int, quality: int) -> None:
    """Given the scanned page images and per page its layer characters (text, centre x, centre y in pixels,
    height in points), write a PDF of JPEG pages with the characters drawn invisibly over them."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if LAYER_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(LAYER_FONT))
    c = canvas.Canvas(str(out_path), invariant=1)
    for image, layer in zip(pages, layers, strict=True):
        w, h = image.width * 72 / dpi, image.height * 72 / dpi
        c.setPageSize((w, h))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, dpi=(dpi, dpi))
        buffer.seek(0)
        c.drawImage(ImageReader(buffer), 0, 0, w, h)
        text = c.beginText()
        text.setTextRenderMode(3)  # invisible: the scanner's OCR layer
        for ch, cx, cy, size in layer:
            text.setFont(LAYER_FONT, max(size, 1.0))
            text.setTextOrigin(cx * 72 / dpi - size / 2, h - cy * 72 / dpi - 0.38 * size)
            text.textOut(ch)
        c.drawText(text)
        c.showPage()
    c.save()
