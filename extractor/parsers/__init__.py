"""Parsers, one module per input format, dispatched explicitly by file suffix.

The registry below is the one place that says which suffixes go to which parser. A parser's module is imported
at the first file that needs it, not with this package: a worker reading Word files never loads pdfplumber,
pdfminer or pypdfium2 (a tenth of a CPU second per process), and `import extractor.parsers.legacy` (the stamp's
LibreOffice check) loads only what legacy itself imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import logs  # noqa: F401 - importing it routes library logging: whichever parser a command then loads
from ..model import Document
from .base import ParseError, Parser

if TYPE_CHECKING:
    from .xlsx import Sheet

__all__ = ["ParseError", "Parser", "PARSERS", "Sheet", "parser_for", "path_to_document", "path_to_sheets"]


class Deferred(Parser):
    """A registry entry: the suffixes of one format and how to build its parser, built (its module imported) at
    the first file of that format."""

    def __init__(self, suffixes: tuple[str, ...], build: Callable[[], Parser]) -> None:
        self.suffixes = suffixes
        self._build = build
        self._parser: Parser | None = None

    def loaded(self) -> Parser:
        """Return the parser itself, importing its module the first time."""
        if self._parser is None:
            self._parser = self._build()
        return self._parser

    def path_to_document(self, path: Path) -> Document:
        return self.loaded().path_to_document(path)

    def __repr__(self) -> str:
        return f"Deferred({self.suffixes!r}, {'loaded' if self._parser is not None else 'not loaded'})"


# Each builder imports its module when called. A scanned PDF is handed to the scan parser: the PDF parser itself
# never imports OCR. Likewise an old Word or Excel file under a .docx or .xlsx name goes to the converting parser,
# handed in (the modules stay acyclic).
def _docx() -> Parser:
    from .docx import DocxParser
    from .legacy import LegacyWordParser

    return DocxParser(ole_reader=LegacyWordParser().path_to_document)


def _pdf() -> Parser:
    from .pdf import PdfParser
    from .scan import pdf_scan_to_document

    return PdfParser(scan_reader=pdf_scan_to_document)


def _legacy() -> Parser:
    from .legacy import LegacyWordParser

    return LegacyWordParser()


def _image() -> Parser:
    from .scan import ImageParser

    return ImageParser()


def _xlsx() -> Parser:
    from .sheets_convert import SpreadsheetConvertParser
    from .xlsx import XlsxParser

    return XlsxParser(ole_reader=SpreadsheetConvertParser().path_to_sheets)


def _sheets_convert() -> Parser:
    from .sheets_convert import SpreadsheetConvertParser

    return SpreadsheetConvertParser()


# In dispatch order. The suffixes are those each parser class also carries (tests/test_startup.py holds the two
# equal); they are spelt here so that choosing a parser imports none.
PARSERS: list[Parser] = [Deferred((".docx", ".docm"), _docx),
                         Deferred((".pdf",), _pdf),
                         Deferred((".doc", ".wps", ".rtf"), _legacy),
                         Deferred((".png", ".jpg", ".jpeg", ".tif", ".tiff"), _image),
                         Deferred((".xlsx", ".xlsm", ".xltx", ".xltm"), _xlsx),
                         Deferred((".xls", ".xlt", ".et", ".ett", ".ods", ".ots"), _sheets_convert)]


def __getattr__(name: str) -> Any:
    # Sheet lives with the workbook parser: `from extractor.parsers import Sheet` imports it then, not before.
    if name == "Sheet":
        return importlib.import_module(".xlsx", __name__).Sheet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parser_for(path: Path) -> Parser | None:
    """Given a file path, return the parser its suffix names (its module imported), or None."""
    suffix = path.suffix.lower()
    parser = next((p for p in PARSERS if suffix in p.suffixes), None)
    return parser.loaded() if isinstance(parser, Deferred) else parser


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
    read_sheets = getattr(parser, "path_to_sheets", None)  # the workbook parsers (xlsx, and the converted ones)
    if read_sheets is not None:
        return read_sheets(path)
    doc = path_to_document(path)
    from .xlsx import Sheet

    return [Sheet(None, False, doc)]
