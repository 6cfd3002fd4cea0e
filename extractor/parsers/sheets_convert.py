"""Old and other spreadsheets (.xls, .et, .ods): sniffed, converted to .xlsx by LibreOffice Calc, read as .xlsx.

The first bytes decide what the file is, whatever its name says: an OLE2 compound file (Excel 97-2003 or 95,
WPS 表格), an .xlsx zip (read directly), an OpenDocument spreadsheet, an HTML page or an Excel 2003 XML file that
a web system saved as ".xls" (converted too), or CSV/TSV text (web systems export those as well; read here
directly, in UTF-8 or GB18030). Anything else is refused before LibreOffice sees it. LibreOffice runs as for
legacy Word files (legacy.soffice_convert: headless, a private profile, under a time limit, its process tree
killed on a timeout) with the import filter forced, so a damaged file is never "imported" as text.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import sys
import zipfile
from pathlib import Path

from ..limits import MAX_SHEET_CELLS, open_regular
from ..model import Document
from ..tempdirs import private_dir
from .base import ParseError, Parser
from .legacy import DEFAULT_CONVERT_TIMEOUT, DEFAULT_MAX_BYTES, OLE2_MAGIC, describe, find_soffice, soffice_convert
from .xlsx import PASSWORD_PROTECTED_BOOK, Sheet, XlsxParser, _Grid, _Info, grid_to_document

XLSX_TARGET = "xlsx:Calc MS Excel 2007 XML"
SAVE_AS = "open it in Excel or WPS and save it as .xlsx"
# The Calc library beside soffice: LibreOffice packaged without Calc (Debian's libreoffice-writer-nogui) has none.
_CALC_LIBS = ("libsclo.so", "libsclo.dylib", "sclo.dll")


def calc_install_hint(platform: str = sys.platform) -> str:
    """Given the OS (sys.platform), return the one-line message saying how to install LibreOffice Calc there."""
    what = "reading .xls, .et and .ods needs LibreOffice Calc"
    if platform.startswith("win"):
        return (f"{what}: install LibreOffice with the installer for Windows (libreoffice.org), or {SAVE_AS}")
    if platform == "darwin":
        return f"{what}: brew install --cask libreoffice, or {SAVE_AS}"
    if shutil.which("apt-get") or os.path.exists("/etc/debian_version"):
        return f"{what}: apt-get install libreoffice-calc-nogui, or {SAVE_AS}"
    return f"{what}: install the libreoffice-calc package of your system, or {SAVE_AS}"


NEEDS_CALC = calc_install_hint()


def has_calc(soffice: str) -> bool:
    """Given the soffice executable, return False when its installation plainly has no Calc (program libraries
    are there, the Calc one is not); True otherwise, including when it cannot tell."""
    program = Path(os.path.realpath(soffice)).parent
    for folder in (program, program.parent / "Frameworks"):
        try:
            names = set(os.listdir(folder))
        except OSError:
            continue
        if any(n.startswith(("libswlo", "swlo")) for n in names):  # Writer's library: this is the program folder
            return any(lib in names for lib in _CALC_LIBS)
    return True


def sniff_sheet(head: bytes) -> str | None:
    """What the first bytes say the spreadsheet is: 'ole' (OLE2), 'zip', 'html', 'xml2003', 'text', or None."""
    if head.startswith(OLE2_MAGIC):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in text[:4096]:
        return "xml2003"
    if text.startswith((b"<html", b"<!doctype html", b"<table", b"<meta")) or (
            text.startswith(b"<") and (b"<html" in text[:2048] or b"<table" in text[:2048])):
        return "html"
    if head.startswith((b"%PDF", b"{\\rtf")):  # text-like, but no table of values
        return None
    if head and _decode(head[:4096], partial=True) is not None:
        return "text"
    return None


def _decode(data: bytes, partial: bool = False) -> str | None:
    """Given text bytes, return them decoded (UTF-8 with or without a BOM, else GB18030) when they are text."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(enc)().decode(data, final=not partial)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        if text and printable >= 0.98 * len(text) and "\x00" not in text:
            return text
    return None


class SpreadsheetConvertParser(Parser):
    suffixes = (".xls", ".xlt", ".et", ".ett", ".ods", ".ots")
    kind = "xls"

    def __init__(self, timeout: float = DEFAULT_CONVERT_TIMEOUT) -> None:
        self.timeout = timeout

    def path_to_document(self, path: Path) -> Document:
        sheets = self.path_to_sheets(path)
        return next((s.document for s in sheets if s.document.tables), sheets[0].document if sheets else Document(
            kind=self.kind))

    def path_to_sheets(self, path: Path) -> list[Sheet]:
        """Given a spreadsheet of an old or other format, return its sheets, or raise ParseError."""
        path = Path(path)
        suffix = path.suffix.lower() or ".xls"
        try:
            with open_regular(path) as f:
                size = os.fstat(f.fileno()).st_size
                head = f.read(8192)
        except OSError as e:
            raise ParseError(f"cannot read the file: {e.strerror or e}") from None
        if size > DEFAULT_MAX_BYTES:
            raise ParseError(f"the {suffix} file is too large to convert ({size // (1024 * 1024)} MB)")
        fmt = sniff_sheet(head)
        kind = suffix.lstrip(".")
        if fmt == "text":
            return [Sheet(None, False, csv_to_document(path, kind))]
        if fmt is None:
            raise ParseError(f"not a spreadsheet: {describe(head)}; {SAVE_AS}")
        if fmt == "zip":
            zkind = _zip_kind(path)
            if zkind == "xlsx":
                return _kinded(XlsxParser().path_to_sheets(path), kind)
            if zkind != "ods":
                raise ParseError(f"not a spreadsheet: it is {zkind}; {SAVE_AS}")
            infilter = "calc8"
        elif fmt == "ole":
            infilter = _ole_filter(path)
        else:
            infilter = {"html": "HTML (StarCalc)", "xml2003": "MS Excel 2003 XML"}[fmt]
        soffice = find_soffice()
        if soffice is None or not has_calc(soffice):
            raise ParseError(NEEDS_CALC)
        with private_dir("lo") as tmpdir:
            ext = {"calc8": ".ods", "HTML (StarCalc)": ".html", "MS Excel 2003 XML": ".xml"}.get(infilter, ".xls")
            out = soffice_convert(soffice, path, tmpdir, "input" + ext, infilter, self.timeout, suffix, XLSX_TARGET,
                                  missing=NEEDS_CALC)
            if out is None:
                raise ParseError(f"LibreOffice could not convert this {suffix} (damaged or password-protected?): "
                                 f"{SAVE_AS}")
            return _kinded(XlsxParser().path_to_sheets(out), kind)


def _kinded(sheets: list[Sheet], kind: str) -> list[Sheet]:
    for s in sheets:
        s.document.kind = kind
    return sheets


def _zip_kind(path: Path) -> str:
    """Given a zip, return 'xlsx', 'ods', or what else it is (for the refusal)."""
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as z:
            names = set(z.namelist())
            if any(n.endswith("workbook.xml") for n in names if n.startswith("xl/")):
                return "xlsx"
            if "mimetype" in names and z.getinfo("mimetype").file_size < 200:
                mime = z.read("mimetype").strip()
                if mime.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
                    return "ods"
                if mime.startswith(b"application/vnd.oasis.opendocument.text"):
                    return "an OpenDocument text (.odt)"
            if "word/document.xml" in names:
                return "a Word document (.docx)"
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, NotImplementedError, RuntimeError):
        return "a damaged or truncated zip"
    return "a zip archive"


def _ole_filter(path: Path) -> str:
    """Given an OLE2 file, return LibreOffice's import filter for the workbook it holds (BIFF8 Workbook stream:
    Excel 97; BIFF5 Book: Excel 95); raise ParseError when it is password-protected or no workbook."""
    try:
        import olefile
    except ImportError:
        return "MS Excel 97"
    try:
        with olefile.OleFileIO(str(path)) as ole:
            tops = {p[0].lower() for p in ole.listdir(streams=True, storages=False) if p}
    except Exception:  # noqa: BLE001 - a damaged OLE2 file: LibreOffice's Excel 97 filter decides
        return "MS Excel 97"
    if "encryptedpackage" in tops or "encryptioninfo" in tops:
        raise ParseError(PASSWORD_PROTECTED_BOOK)
    if "workbook" in tops:
        return "MS Excel 97"
    if "book" in tops:
        return "MS Excel 95"
    if "worddocument" in tops:
        raise ParseError(f"not a spreadsheet: it is a Word 97-2003 document (send it as .doc); {SAVE_AS}")
    raise ParseError(f"not a spreadsheet: an OLE2 file that holds no Excel workbook; {SAVE_AS}")


def csv_to_document(path: Path, kind: str) -> Document:
    """Given a CSV or TSV file (UTF-8 or GB18030), return its Document: one table of its rows, no merges."""
    with open_regular(path) as f:
        data = f.read()
    text = _decode(data)
    if text is None:
        raise ParseError(f"not a spreadsheet: the text is neither UTF-8 nor GB18030; {SAVE_AS}")
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in text[:8192] else csv.excel
    g = _Grid("")
    count = 0
    try:
        for r, row in enumerate(csv.reader(io.StringIO(text), dialect), 1):
            for c, value in enumerate(row, 1):
                if value.strip():
                    count += 1
                    if count > MAX_SHEET_CELLS:
                        raise ParseError(f"the file holds more than {MAX_SHEET_CELLS} values: a form has a few "
                                         "thousand; send the form alone")
                    g.infos[(r, c)] = _Info(value)
    except csv.Error as e:
        raise ParseError(f"not a readable CSV file ({e}); {SAVE_AS}") from None
    return grid_to_document(g, kind)
