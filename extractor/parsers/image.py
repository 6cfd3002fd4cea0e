"""Image files (PNG, JPEG, TIFF: every TIFF frame a page) opened and checked before anything is decoded.

The scan parser (parsers/scan.py) reads them by OCR, the optional extra ``selfeval[ocr]``; without it a scan is
refused with MISSING_OCR, a ParseError saying how to install it. This module needs only Pillow.

Before anything is decoded, the file's header is checked against extractor.limits: only a regular file is
opened, a page of more than MAX_PAGE_PIXELS (from the declared width and height) and a file of more than
MAX_PAGES frames are refused with one line, and PIL's DecompressionBombError is such a refusal too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..limits import MAX_PAGE_PIXELS, MAX_PAGES, open_regular, page_pixels_refusal, pages_refusal
from .base import ParseError

MISSING_OCR = "reading a scan needs OCR: pip install 'selfeval[ocr]'"
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


@contextmanager
def open_image(path: Path) -> Iterator:
    """Given an image file, yield it opened by PIL (header read, nothing decoded; closed after), or raise
    ParseError when it is no regular file, unreadable, or declares more pixels than PIL's decompression-bomb
    limit."""
    from PIL import Image, UnidentifiedImageError

    with open_regular(path) as f:
        try:
            with warnings.catch_warnings():  # PIL warns above 89 MP; over our limit it is refused anyway
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(f)
        except Image.DecompressionBombError as error:
            m = _BOMB_PIXELS.search(str(error))
            pixels = f"{int(m.group(1)) / 1e6:.0f} megapixels" if m else "too many pixels"
            raise ParseError(f"the image declares {pixels} (at most {MAX_PAGE_PIXELS // 1_000_000} are read): "
                             "scan the form again at 300 dpi") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise ParseError(f"not a readable image: {error}; scan it again") from error
        with im:
            yield im


MIN_PAGE_SIDE = 16  # pixels: a form page is hundreds of pixels on a side even at 50 dpi


def check_image(path: Path) -> None:
    """Given an image file, raise ParseError when its header declares a first page of more than MAX_PAGE_PIXELS
    or more than MAX_PAGES frames; nothing is decoded (TIFF frames are counted by seeking at most MAX_PAGES
    frame headers on)."""
    with open_image(path) as im:
        if refusal := page_pixels_refusal(*im.size):
            raise ParseError(refusal)
        if min(im.size) < MIN_PAGE_SIDE:  # the OCR's shrunk copies of it would be empty (cv2.resize raises)
            raise ParseError(f"the image is {im.size[0]} x {im.size[1]} pixels: too small to be a form page; "
                             "scan the form again at 300 dpi")
        declared = getattr(im, "n_frames", 1) if im.format in ("PNG", "GIF") else None  # stated in a header
        if declared is not None:
            refusal = pages_refusal(declared)
        else:
            try:
                im.seek(MAX_PAGES)  # a frame past the limit exists
            except (EOFError, ValueError, OSError):
                refusal = None
            else:
                refusal = pages_refusal(MAX_PAGES + 1, at_least=True)
        if refusal:
            raise ParseError(refusal)
