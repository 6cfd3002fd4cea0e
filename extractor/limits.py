"""Limits on what one untrusted file may declare, checked before anything proportional to it is built.

Forms arrive by e-mail from outside: a few kilobytes can declare a Word table of 100 million columns, a
PNG of 13000 x 13000 pixels, a TIFF of 500 frames or a PDF page of 100 x 100 inches. The parsers compare
what a file declares (grid spans, pixels in the image header, page size in points, zip member sizes)
with these limits and refuse the file with one line (a ParseError) instead of building it.

The limits are generous for real forms: a self-evaluation form is one to a few tables of 30-150 rows and
5-20 columns on 1-10 A4 pages, scanned at 150-600 dpi (an A4 page at 600 dpi is 35 megapixels).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

# --- Word tables -------------------------------------------------------------------------------------
MAX_TABLE_COLUMNS = 200  # grid columns of one table (tblGrid, gridBefore + spans + gridAfter)
MAX_TABLE_ROWS = 5_000  # rows of one table
MAX_DOCUMENT_CELLS = 2_000_000  # grid positions (rows x columns) of all tables of one document together

# --- zip members (.docx parts) -------------------------------------------------------------------------
MAX_XML_BYTES = 64 * 1024 * 1024  # one XML part, decompressed
READ_CHUNK = 1024 * 1024  # zip members are inflated this much at a time, never all at once

# --- spreadsheets (.xlsx; .xls/.et/.ods after conversion) -----------------------------------------------
MAX_SHEETS = 50  # worksheets of one workbook (every one is parsed)
MAX_SHEET_CELLS = 200_000  # <c> elements of one sheet (a form fills a few thousand)
MAX_WORKBOOK_CELLS = 500_000  # <c> elements of all sheets together
MAX_SHEET_GRID = 250_000  # grid positions (rows x columns) of one sheet's tables, merged ranges included
MAX_SPREADSHEET_PART_BYTES = 16 * 1024 * 1024  # one XML part (sheet, shared strings, styles), decompressed
MAX_SPREADSHEET_BYTES = 100 * 1024 * 1024  # all parts together, decompressed

# --- images and pages rendered for OCR ----------------------------------------------------------------
MAX_PAGE_PIXELS = 60_000_000  # one page image (A3 at 600 dpi is 70 MP, A4 at 600 dpi 35 MP)
MAX_PAGES = 50  # pages of one scan (TIFF frames, PDF pages read by OCR)


def refuse_non_regular(path: Path, st: os.stat_result) -> None:
    """Given a path and its stat, raise ParseError unless it is a regular file (a FIFO would block the
    reader forever, a device such as /dev/zero never ends)."""
    from .parsers.base import ParseError

    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise ParseError(f"{Path(path).name} is {kind}, not a file: send the form itself")


def open_regular(path: Path) -> BinaryIO:
    """Given a path, return it opened for binary reading, or raise ParseError when it is no regular file or
    cannot be opened. The file is opened non-blocking and checked with fstat before anything reads it, so
    a FIFO never blocks (neither the open nor a read) and a file swapped after a check is still caught."""
    from .parsers.base import ParseError

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise ParseError(f"cannot read {Path(path).name}: {e.strerror or e}") from None
    try:
        refuse_non_regular(path, os.fstat(fd))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: Path) -> None:
    """Given a path, raise ParseError unless it names a regular file (see open_regular)."""
    open_regular(path).close()


def page_pixels_refusal(width: int, height: int, what: str = "the image") -> str | None:
    """Given a page image's declared width and height in pixels, return the one-line refusal when it is over
    MAX_PAGE_PIXELS, else None."""
    if width * height <= MAX_PAGE_PIXELS:
        return None
    return (f"{what} is {width} x {height} pixels ({width * height / 1e6:.0f} megapixels, at most "
            f"{MAX_PAGE_PIXELS // 1_000_000} are read): scan the form again at 300 dpi")


def pages_refusal(n_pages: int, what: str = "the scan", at_least: bool = False) -> str | None:
    """Given a scan's number of pages (or, with at_least, a number it has at least), return the one-line
    refusal when it is over MAX_PAGES, else None."""
    if n_pages <= MAX_PAGES:
        return None
    count = f"more than {MAX_PAGES}" if at_least else str(n_pages)
    return f"{what} has {count} pages (a form has at most {MAX_PAGES}): send each form as a file of its own"
