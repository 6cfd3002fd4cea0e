"""Page images to read: the frames of an image file, the pages of a scanned PDF rendered one at a time.

Limits (extractor.limits): an image's pixels are checked from its header before it is decoded, and a PDF page's
size in points before it is rendered (a page too large at its dpi is rendered at the largest dpi that fits
MAX_PAGE_PIXELS, down to the render range's lower end, else refused); a scan of more than MAX_PAGES pages is
refused; pages are decoded and rendered one at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..limits import MAX_PAGE_PIXELS, page_pixels_refusal, pages_refusal
from ..parsers.base import ParseError
from .prepare import DEFAULT_RENDER_DPI, estimate_dpi

DEFAULT_RENDER_DPI_RANGE = (200.0, 300.0)


@dataclass
class PageImage:
    """One page to read: its pixels (BGR or grey, uint8) and its resolution."""

    pixels: Any
    dpi: float
    number: int  # 1-based



def pil_to_pixels(image) -> np.ndarray:
    """Given a PIL image (any mode), return it as a BGR or grey uint8 array."""
    if image.mode in ("L", "1", "I;16", "I", "F"):
        return np.asarray(image.convert("L"))
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)


def image_file_pages(path) -> list[PageImage]:
    """Given an image file (PNG, JPEG, TIFF: every frame a page), return its pages; raise ParseError."""
    return list(iter_image_file_pages(path))


def iter_image_file_pages(path) -> Iterator[PageImage]:
    """Given an image file (PNG, JPEG, TIFF: every frame a page), yield its pages one at a time (a page is
    decoded only when the one before it has been read); raise ParseError when it is unreadable or declares
    more than MAX_PAGES pages or a page of more than MAX_PAGE_PIXELS (checked before decoding it)."""
    from PIL import ImageOps, ImageSequence, UnidentifiedImageError

    from ..parsers.image import open_image

    try:
        with open_image(path) as im:
            for number, frame in enumerate(ImageSequence.Iterator(im), start=1):
                if refusal := pages_refusal(number, at_least=True):  # open_image counted them; this is a backstop
                    raise ParseError(refusal)
                if refusal := page_pixels_refusal(*frame.size, what=_page_name(number)):
                    raise ParseError(refusal)
                upright = ImageOps.exif_transpose(frame) if number == 1 else frame
                stated = frame.info.get("dpi")
                dpi_value = float(stated[0]) if isinstance(stated, tuple) and stated and stated[0] else None
                pixels = pil_to_pixels(upright)
                yield PageImage(pixels, estimate_dpi(pixels.shape, dpi_value), number)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ParseError(f"not a readable image: {error}; scan it again") from error


def _page_name(number: int) -> str:
    return "the image" if number == 1 else f"page {number} of the image"


def pdf_pages(source, dpi: float | None = None):
    """Given a PDF (path, bytes or binary file), yield its pages rendered with pdfium as PageImages.

    Each page is rendered at its images' own dpi (the widest image's pixels over its printed width),
    clamped to DEFAULT_RENDER_DPI_RANGE, unless dpi is given.
    """
    import pypdfium2 as pdfium

    if hasattr(source, "read"):
        source.seek(0)
        source = source.read()
    pdf = pdfium.PdfDocument(source)
    try:
        if refusal := pages_refusal(len(pdf), "the scanned PDF"):
            raise ParseError(refusal)
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            try:
                images = _page_images(page, pdfium)
                for _width, width_px, height_px in images:  # pdfium decodes an image whole to render it
                    if refusal := page_pixels_refusal(width_px, height_px, what=f"an image on PDF page {number}"):
                        raise ParseError(refusal)
                page_dpi = fit_render_dpi(page.get_size(), dpi or _render_dpi(page, pdfium, images), number, dpi)
                bitmap = page.render(scale=page_dpi / 72.0)
                pixels = bitmap.to_numpy()
                if bitmap.mode in ("RGB", "RGBA", "RGBX"):
                    pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGR if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
                elif pixels.ndim == 3 and pixels.shape[2] == 4:
                    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
                pixels = np.ascontiguousarray(pixels)
                bitmap.close()
                yield PageImage(pixels, page_dpi, number)
            finally:
                page.close()
    finally:
        pdf.close()


def fit_render_dpi(size: tuple[float, float], dpi: float, number: int, requested: float | None = None) -> float:
    """Given a PDF page's size in points, the dpi chosen to render it and its number, return the dpi to render
    it at: the chosen one when the bitmap stays within MAX_PAGE_PIXELS, else the largest that does, down to
    the render range's lower end (or the requested dpi when lower); below that raise ParseError (before
    pdfium allocates anything)."""
    width_in, height_in = (abs(float(v)) / 72.0 for v in size)
    if not (math.isfinite(width_in) and math.isfinite(height_in)):
        raise ParseError(f"the PDF page {number} has no readable size: scan the form again")
    area = max(width_in * height_in, 1e-9)
    if area * dpi * dpi <= MAX_PAGE_PIXELS:
        return dpi
    floor = min(DEFAULT_RENDER_DPI_RANGE[0], requested or DEFAULT_RENDER_DPI_RANGE[0])
    fitting = math.floor(math.sqrt(MAX_PAGE_PIXELS / area))
    if fitting >= floor:
        return float(fitting)
    pixels = area * floor * floor
    raise ParseError(f"the PDF page {number} is {width_in:.0f} x {height_in:.0f} inches ({pixels / 1e6:.0f} "
                     f"megapixels at {floor:.0f} dpi, at most {MAX_PAGE_PIXELS // 1_000_000} are read): "
                     "scan the form again on A4 or A3 paper")


def _page_images(page, pdfium) -> list[tuple[float, int, int]]:
    """Given a pdfium page, return (printed width in points, width and height in pixels) of its images, from
    their dictionaries (nothing is decoded); [] when pdfium cannot list them."""
    out = []
    try:
        for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, _bottom, right, _top = obj.get_bounds()
            width_px, height_px = obj.get_px_size()
            out.append((float(right - left), int(width_px), int(height_px)))
    except Exception:  # noqa: BLE001 - an odd image object only loses the hint
        return []
    return out


def _render_dpi(page, pdfium, images: list[tuple[float, int, int]] | None = None) -> float:
    """The dpi to render a PDF page at: its images' own resolution, clamped to DEFAULT_RENDER_DPI_RANGE."""
    low, high = DEFAULT_RENDER_DPI_RANGE
    images = _page_images(page, pdfium) if images is None else images
    best = max((width_px / (width / 72.0) for width, width_px, _h in images if width > 36), default=0.0)
    return min(max(best or DEFAULT_RENDER_DPI, low), high)
