"""Image parser: scanned or photographed forms as PNG, JPEG or TIFF (every TIFF frame a page), read by OCR.

OCR is the optional extra ``selfeval[ocr]``; without it a scan is refused with a ParseError saying how to
install it. See extractor/ocr.py for the pipeline (seal removal, deskew, ruled grid, recognition).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..model import Document
from .base import ParseError, Parser

MISSING_OCR = "reading a scan needs OCR: pip install 'selfeval[ocr]'"


def load_ocr() -> ModuleType:
    """Return the OCR module with its engine loaded; raise ParseError when the OCR extra is not installed."""
    try:
        from .. import ocr
    except ImportError as error:
        raise ParseError(MISSING_OCR) from error
    ocr.load_engine()
    return ocr


class ImageParser(Parser):
    suffixes = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
    kind = "image"

    def path_to_document(self, path: Path) -> Document:
        """Given an image file, return the Document read from it by OCR, or raise ParseError."""
        ocr = load_ocr()
        return ocr.pages_to_document(ocr.image_file_pages(path), kind=self.kind)
