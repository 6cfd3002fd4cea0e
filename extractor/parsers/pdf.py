"""PDF parser (pdfplumber). Placeholder until the PDF parser lands."""

from __future__ import annotations

from pathlib import Path

from ..model import Document
from .base import ParseError, Parser


class PdfParser(Parser):
    suffixes = (".pdf",)
    kind = "pdf"

    def path_to_document(self, path: Path) -> Document:
        raise ParseError("PDF forms are not supported yet")
