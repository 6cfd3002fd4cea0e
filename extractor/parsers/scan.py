"""Scan parser: forms that arrive as page images, read by OCR (extractor/ocr/, the optional extra selfeval[ocr]).

- image files (PNG, JPEG, TIFF: every frame a page): ``ImageParser``, checked from the header before anything
  is decoded (parsers/image.py);
- PDFs whose every page is an image (parsers/pdf.py's ``page_is_scan``: a plain scan, or a searchable scan
  whose text the scanner drew invisibly over the image): ``pdf_scan_to_document``, which the PDF parser is
  handed by the registry (parsers/__init__.py). A searchable scan is read from its image; its own text layer is
  a second opinion on every cell holding a number (extractor/ocr/layer.py): where the two agree the reading is
  surer, where they differ the image's reading is kept and the item gets a text_layer_mismatch finding.

OCR is imported only when a scan is read, so neither this module nor the PDF parser loads OpenCV or
onnxruntime; without the extra a scan is refused with MISSING_OCR.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..model import Document
from .base import ParseError, Parser
from .image import MISSING_OCR, check_image
from .pdf import TextLayer


def load_ocr() -> tuple[ModuleType, ModuleType]:
    """Return the OCR pipeline and page sources with the engine loaded; raise ParseError (MISSING_OCR) when the
    OCR extra is not installed."""
    try:
        from ..ocr import pipeline, sources
    except ImportError as error:
        raise ParseError(MISSING_OCR) from error
    pipeline.load_engine()
    return pipeline, sources


def pdf_scan_to_document(data: bytes, layer: TextLayer) -> Document:
    """Given a scanned PDF's bytes and its text layer (empty for a plain scan), return the Document read from its
    page images by OCR, the text layer's characters a second opinion; raise ParseError."""
    pipeline, sources = load_ocr()
    return pipeline.pages_to_document(sources.pdf_pages(data), kind="pdf-scan", layer=layer.chars or None)


class ImageParser(Parser):
    suffixes = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
    kind = "image"

    def path_to_document(self, path: Path) -> Document:
        """Given an image file, return the Document read from it by OCR, or raise ParseError."""
        check_image(path)  # refused before OCR is loaded, with or without the extra
        pipeline, sources = load_ocr()
        return pipeline.pages_to_document(sources.iter_image_file_pages(path), kind=self.kind)
