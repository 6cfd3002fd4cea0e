"""Parsers, one module per input format, dispatched explicitly by file suffix."""

from __future__ import annotations

from pathlib import Path

from ..model import Document
from .base import ParseError, Parser
from .docx import DocxParser
from .legacy import LegacyWordParser
from .pdf import PdfParser
from .scan import ImageParser, pdf_scan_to_document
from .sheets_convert import SpreadsheetConvertParser
from .xlsx import Sheet, XlsxParser

__all__ = ["ParseError", "Parser", "PARSERS", "Sheet", "parser_for", "path_to_document", "path_to_sheets"]

# A scanned PDF is handed to the scan parser: the PDF parser itself never imports OCR.
# Likewise an old Word or Excel file under a .docx or .xlsx name goes to the converting parser, handed in.
PARSERS: list[Parser] = [DocxParser(ole_reader=LegacyWordParser().path_to_document),
                         PdfParser(scan_reader=pdf_scan_to_document), LegacyWordParser(), ImageParser(),
                         XlsxParser(ole_reader=SpreadsheetConvertParser().path_to_sheets), SpreadsheetConvertParser()]


def parser_for(path: Path) -> Parser | None:
    suffix = path.suffix.lower()
    return next((p for p in PARSERS if suffix in p.suffixes), None)


def path_to_document(path: Path) -> Document:
    """Given a file path, return its Document, or raise ParseError naming what is wrong."""
    parser = parser_for(path)
    if parser is None:
        known = ", ".join(s for p in PARSERS for s in p.suffixes)
        raise ParseError(f"unsupported file type {path.suffix or '(none)'!r}: send the form as {known}")
    return parser.path_to_document(path)


def path_to_sheets(path: Path) -> list[Sheet]:
    """Given a file path, return its sheets: every worksheet of a workbook, else the one Document (name None), or
    raise ParseError naming what is wrong."""
    parser = parser_for(path)
    if isinstance(parser, (XlsxParser, SpreadsheetConvertParser)):
        return parser.path_to_sheets(path)
    return [Sheet(None, False, path_to_document(path))]
