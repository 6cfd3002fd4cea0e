"""Evidence images: a page of the original file -> a small PNG strip of one row with its score cells outlined.

Pages are rendered once per form (pypdfium2 for PDFs, PIL for image files) and every flagged row of a page is
cropped from the same rendering. Coordinates are page points, as the parsers store them: PDF points for a PDF
(text layer or scanned), pixels x 72 / dpi for an image file (the OCR's dpi rule). A scanned page is turned back
by the skew the OCR finds, as the OCR turned it before reading, so the stored boxes fall on the same ink.

The strip is greyscale with two exact palette colours for the outlines (self blue, inspector orange), so a row of a
page is a few tens of kilobytes and a reader (or a test) finds the outlines by their exact colour.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

EVIDENCE_DPI = 130.0  # a row strip of an A4 page is about 1075 px wide: digits legible, the file small
MARGIN_PT = 4.0  # kept around the row's band, so the rules around its cells show
RULE_PT = 1.0  # within this of the band's edges the margin is the row's own rule: not faded
MAX_WIDTH_PX = 1200  # a wider strip (a landscape page) is scaled down to this
OUTLINE_PX = 3
SELF_COLOUR = (0, 92, 230)  # blue
INSPECTOR_COLOUR = (230, 81, 0)  # orange
_GREYS = 254  # palette entries 0..253 are greys, 254 and 255 the two outline colours
SELF_INDEX, INSPECTOR_INDEX = _GREYS, _GREYS + 1

Box = tuple[float, float, float, float]  # x0, top, x1, bottom


@dataclass
class PageImage:
    """One rendered page: the RGB image and its pixels per page point."""

    image: Image.Image
    scale: float


@dataclass
class Strip:
    """A cropped row: its PNG data URI, size in pixels, the crop in page points and the outlines' pixel boxes."""

    uri: str
    width: int
    height: int
    box: Box
    outlines: dict[str, tuple[int, int, int, int]]  # self | inspector -> (x0, y0, x1, y1) pixels, inclusive


def pdf_to_pages(path: Path, pages: set[int], deskew: bool = False,
                 turns: dict[int, int] | None = None) -> dict[int, PageImage]:
    """Given a PDF, the 1-based pages wanted and the quarter turns (degrees clockwise) the OCR gave some of them,
    return each rendered at EVIDENCE_DPI, turned so, and turned back by its skew when deskew (a scanned PDF); a page
    the file does not have is left out."""
    import pypdfium2 as pdfium

    out: dict[int, PageImage] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        for number in sorted(pages):
            if not 1 <= number <= len(pdf):
                continue
            page = pdf[number - 1]
            try:
                image = page.render(scale=EVIDENCE_DPI / 72.0).to_pil().convert("RGB")
            finally:
                page.close()
            image = turned(image, (turns or {}).get(number, 0))
            image, dpi = rectified(image, EVIDENCE_DPI) if deskew else (image, EVIDENCE_DPI)
            out[number] = PageImage(straighten(image, dpi) if deskew else image, dpi / 72.0)
    finally:
        pdf.close()
    return out


def turned(image: Image.Image, degrees: int) -> Image.Image:
    """Given a page image and a quarter turn clockwise (0, 90, 180, 270), return it turned so."""
    return image.rotate(-degrees, expand=True) if degrees % 360 else image


def image_file_to_pages(path: Path, pages: set[int], turns: dict[int, int] | None = None) -> dict[int, PageImage]:
    """Given an image file (every frame a page) and the 1-based pages wanted, return each at its own resolution,
    its scale from the dpi the OCR worked with (stated by the file, else as for an A4 page), turned back by its
    skew."""
    from PIL import ImageOps, ImageSequence

    out: dict[int, PageImage] = {}
    with Image.open(path) as im:
        for number, frame in enumerate(ImageSequence.Iterator(im), start=1):
            if number not in pages:
                continue
            upright = ImageOps.exif_transpose(frame) if number == 1 else frame
            rgb = turned(upright.convert("RGB"), (turns or {}).get(number, 0))
            stated = frame.info.get("dpi")
            dpi = image_dpi(rgb.size, float(stated[0]) if isinstance(stated, tuple) and stated and stated[0] else None)
            rgb, dpi = rectified(rgb, dpi)
            out[number] = PageImage(straighten(rgb, dpi), dpi / 72.0)
    return out


def image_files_to_pages(paths: list[Path], pages: set[int],
                         turns: dict[int, int] | None = None) -> dict[int, PageImage]:
    """Given the image files a form was read from, in the order read (one file, or the photos of one form read
    together: pages_group numbers their pages on from one photo's frames to the next's), the 1-based pages wanted
    and the pages' quarter turns, return each page rendered as image_file_to_pages renders a file's frame."""
    out: dict[int, PageImage] = {}
    first = 1  # the form's number of this file's first frame
    for path in paths:
        with Image.open(path) as im:
            frames = max(1, int(getattr(im, "n_frames", 1)))
        mine = {p - first + 1 for p in pages if first <= p < first + frames}
        if mine:
            own_turns = {p - first + 1: t for p, t in (turns or {}).items() if first <= p < first + frames}
            out.update({n + first - 1: page for n, page in image_file_to_pages(path, mine, own_turns).items()})
        first += frames
    return out


def image_dpi(size: tuple[int, int], stated: float | None) -> float:
    """Given an image's size (w, h) and the dpi its file states, return the dpi the OCR read it at."""
    try:
        from .ocr import estimate_dpi
    except ImportError:  # without the OCR extra the OCR's rule, written out: a stated dpi in range, else A4
        return stated if stated and 100.0 <= stated <= 600.0 else max(size) / 11.69
    return estimate_dpi((size[1], size[0]), stated)


def rectified(image: Image.Image, dpi: float) -> tuple[Image.Image, float]:
    """Given a scanned page and its dpi, return it as the OCR read it and its dpi: a phone photo of a page
    perspective-corrected (extractor/ocr/photo.py), anything else unchanged (also without the OCR extra)."""
    try:
        from .ocr.photo import picture_to_page
    except ImportError:
        return image, dpi
    return picture_to_page(image, dpi)


def straighten(image: Image.Image, dpi: float) -> Image.Image:
    """Given a scanned page and its dpi, return it turned back by the skew the OCR finds (unchanged without the
    OCR extra or when the page is straight)."""
    try:
        import numpy as np

        from . import ocr
    except ImportError:
        return image
    bgr = np.asarray(image)[:, :, ::-1].copy()
    _grey, ruled = ocr.unseal(bgr, dpi)
    skew = ocr.estimate_skew(ocr.binarize(ruled, dpi), dpi)
    if abs(skew) < ocr.DEFAULT_MIN_SKEW:
        return image
    return Image.fromarray(ocr.rotate(np.asarray(image), skew))


def crop_box(band: Box, page: PageImage) -> Box:
    """Given a row's band in page points, return it with MARGIN_PT around it, kept on the page."""
    w, h = page.image.size[0] / page.scale, page.image.size[1] / page.scale
    x0, top, x1, bottom = band
    return (max(0.0, x0 - MARGIN_PT), max(0.0, top - MARGIN_PT), min(w, x1 + MARGIN_PT), min(h, bottom + MARGIN_PT))


def page_to_strip(page: PageImage, band: Box, cells: dict[str, Box]) -> Strip:
    """Given a rendered page, a row's band and its score cells' boxes (self, inspector; page points), return the
    row cropped as a PNG strip (at most MAX_WIDTH_PX wide) with each cell outlined in its colour."""
    box = crop_box(band, page)
    px = [round(v * page.scale) for v in box]
    crop = page.image.crop((px[0], px[1], px[2], px[3]))
    factor = min(1.0, MAX_WIDTH_PX / max(crop.size[0], 1))
    if factor < 1.0:
        crop = crop.resize((round(crop.size[0] * factor), max(1, round(crop.size[1] * factor))), Image.LANCZOS)
    k = page.scale * factor
    # The margin shows the rules around the row; the neighbouring rows' text in it is faded, so the eye stays on the row.
    keep = (max(0, round((band[1] - box[1] - RULE_PT) * k)), round((band[3] - box[1] + RULE_PT) * k))
    strip = _greyscale_with_outline_colours(crop, keep)
    draw = ImageDraw.Draw(strip)
    outlines = {}
    for side, index in (("self", SELF_INDEX), ("inspector", INSPECTOR_INDEX)):
        cell = cells.get(side)
        if cell is None:
            continue
        x0, y0 = round((cell[0] - box[0]) * k), round((cell[1] - box[1]) * k)
        x1, y1 = round((cell[2] - box[0]) * k) - 1, round((cell[3] - box[1]) * k) - 1
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(strip.size[0] - 1, x1), min(strip.size[1] - 1, y1)
        if x1 - x0 < OUTLINE_PX or y1 - y0 < OUTLINE_PX:
            continue
        draw.rectangle((x0, y0, x1, y1), outline=index, width=OUTLINE_PX)
        outlines[side] = (x0, y0, x1, y1)
    buf = io.BytesIO()
    strip.save(buf, format="PNG", optimize=True)
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return Strip(uri, strip.size[0], strip.size[1], box, outlines)


def _greyscale_with_outline_colours(crop: Image.Image, keep: tuple[int, int] | None = None) -> Image.Image:
    grey = crop.convert("L")
    if keep is not None:
        faded = grey.point(lambda v: 255 - (255 - v) // 4)
        for top, bottom in ((0, keep[0]), (keep[1], grey.size[1])):
            if bottom > top:
                grey.paste(faded.crop((0, top, grey.size[0], bottom)), (0, top))
    grey = grey.point(lambda v: v * (_GREYS - 1) // 255)
    strip = Image.frombytes("P", grey.size, grey.tobytes())
    palette: list[int] = []
    for i in range(_GREYS):
        v = i * 255 // (_GREYS - 1)
        palette += [v, v, v]
    strip.putpalette(palette + list(SELF_COLOUR) + list(INSPECTOR_COLOUR))
    return strip


def union(boxes: list[Any]) -> Box | None:
    """Given boxes (x0, top, x1, bottom; None ones skipped), return the box around them all, or None."""
    real = [b for b in boxes if b]
    if not real:
        return None
    return (min(b[0] for b in real), min(b[1] for b in real), max(b[2] for b in real), max(b[3] for b in real))
