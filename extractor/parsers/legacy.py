"""Legacy Word (.doc, .wps, .rtf) parser: LibreOffice converts the file to .docx, DocxParser reads it.

The file's first bytes decide what it really is, whatever its name says: an OLE2 compound file
(Word 97-2003, WPS), RTF, a .docx zip (read directly), or an HTML page that a web system saved as
".doc" (Word opens those, so LibreOffice imports them). Anything else is refused before LibreOffice
sees it — LibreOffice would happily import plain text or garbage as a document.

LibreOffice runs headless with a private profile per call (so it never hands the job to a running
instance or shares a locked profile) and its temporary files under a private selfeval-lo-* folder, under a time
limit; on a timeout its whole process tree (soffice.bin included) is killed with psutil, on every OS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..limits import open_regular
from ..model import Document
from ..tempdirs import private_dir
from .base import ParseError, Parser
from .ole import ENCRYPTED_OOXML, PASSWORD_PROTECTED, path_to_ole_info

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
DEFAULT_CONVERT_TIMEOUT = 60  # seconds
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # larger legacy files are refused, not converted
SOFFICE_NAMES = ("soffice", "libreoffice")
_MAC_SOFFICE = "/Applications/LibreOffice.app/Contents/MacOS/soffice"
_WINDOWS_SOFFICE = r"LibreOffice\program\soffice.exe"  # under Program Files or Program Files (x86)


def libreoffice_install_hint(platform: str = sys.platform) -> str:
    """Given the OS (sys.platform), return the one-line message saying how to install LibreOffice there."""
    if platform.startswith("win"):
        return ("reading .doc needs LibreOffice: install it with the LibreOffice installer for Windows "
                "(libreoffice.org), then run ingest again")
    if platform == "darwin":
        return ("reading .doc needs LibreOffice: brew install --cask libreoffice, or the LibreOffice installer "
                "for macOS (libreoffice.org)")
    if shutil.which("apt-get") or os.path.exists("/etc/debian_version"):
        return "reading .doc needs LibreOffice: apt-get install libreoffice-writer-nogui"
    return "reading .doc needs LibreOffice: install the libreoffice-writer package of your system"


NEEDS_LIBREOFFICE = libreoffice_install_hint()
WPS_FAILED = "cannot read this WPS file: open it in WPS and save it as .docx"


class LegacyWordParser(Parser):
    suffixes = (".doc", ".wps", ".rtf")
    kind = "doc"

    def __init__(self, timeout: float = DEFAULT_CONVERT_TIMEOUT) -> None:
        self.timeout = timeout

    def path_to_document(self, path: Path) -> Document:
        # imported here: the stamp imports this module for find_soffice, in a process that may read no Word file
        from .docx import DocxParser

        path = Path(path)
        suffix = path.suffix.lower() or ".doc"
        try:
            with open_regular(path) as f:  # a FIFO or a device is refused, never read
                size = os.fstat(f.fileno()).st_size
                head = f.read(4096)
        except OSError as e:
            raise ParseError(f"cannot read the file: {e.strerror or e}") from None
        if size > DEFAULT_MAX_BYTES:
            raise ParseError(f"the {suffix} file is too large to convert ({size // (1024 * 1024)} MB)")
        fmt = sniff(head)
        if fmt == "docx":  # a .docx saved under an old name: no conversion needed
            return DocxParser().path_to_document(path)
        if fmt is None:
            what = describe(head)
            if suffix == ".rtf":
                raise ParseError(f"not an RTF document: {what}; open it in Word or WPS and save it as .docx")
            if suffix == ".wps":
                raise ParseError(f"not a Word 97-2003 document: {what}; open it in WPS and save it as .docx")
            raise ParseError(f"not a Word 97-2003 document: {what}; open it in Word or WPS and save it as .docx")
        ole_attempts = ole_to_attempts(path, suffix) if fmt == "doc" else []  # refuses encrypted/non-Word files
        soffice = find_soffice()
        if soffice is None:
            raise ParseError(NEEDS_LIBREOFFICE)
        with private_dir("lo") as tmpdir:
            # The import filter is forced: left to itself LibreOffice falls back to importing a
            # damaged file as plain text and "succeeds".
            attempts = {"doc": ole_attempts, "rtf": [("input.rtf", "Rich Text Format")],
                        "html": [("input.html", "HTML (StarWriter)")]}[fmt]
            out = None
            for name, infilter in attempts:
                out = convert_to_docx(soffice, path, tmpdir, name, infilter, self.timeout, suffix)
                if out is not None:
                    break
            if out is None:
                if suffix == ".wps":
                    raise ParseError(WPS_FAILED)
                raise ParseError(f"LibreOffice could not convert this {suffix} (damaged or password-protected?): "
                                 "open it in Word or WPS and save it as .docx")
            doc = DocxParser().path_to_document(out)
        doc.kind = self.kind
        return doc


def sniff(head: bytes) -> str | None:
    """What the first bytes say the file is: 'doc' (OLE2), 'rtf', 'docx' (zip), 'html', or None."""
    if head.startswith(OLE2_MAGIC):
        return "doc"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<html", b"<!doctype html")) or (text.startswith(b"<") and b"<html" in text[:1024]
                                                          and b"<w:worddocument" not in text):
        return "html"
    return None


def ole_to_attempts(path: Path, suffix: str) -> list[tuple[str, str]]:
    """Given an OLE2 file and its suffix, return the (input name, LibreOffice import filter) pairs to try, by
    what it holds: Word 6.0/95 gets "MS Word 95" (the Word 97 filter refuses it), Word 97-2003 "MS Word 97";
    a .wps may also be Microsoft Works. Raise ParseError when it is password-protected (a .doc with fEncrypted
    in its FIB, or an encrypted Office 2007+ file) or plainly no Word document (an .xls, a .msg)."""
    info = path_to_ole_info(path)
    if info is not None and (info.kind == ENCRYPTED_OOXML or info.encrypted):
        raise ParseError(PASSWORD_PROTECTED)
    if info is not None and info.kind is None:
        if suffix == ".wps":  # no WordDocument stream: Microsoft Works, not Kingsoft WPS
            return [("input.wps", "MS_Works")]
        raise ParseError(f"not a Word 97-2003 document: it is {info.what}; open it in Word or WPS and save it "
                         "as .docx")
    infilter = info.infilter if info is not None else "MS Word 97"  # unreadable structure: LibreOffice decides
    if suffix == ".wps":  # Kingsoft WPS: Word 97 inside; else Microsoft Works
        return [("input.doc", infilter), ("input.wps", "MS_Works")]
    return [("input.doc", infilter)]


def describe(head: bytes) -> str:
    """A short description of what a refused file seems to be."""
    if not head:
        return "the file is empty"
    if head.startswith(b"%PDF"):
        return "it is a PDF file (send it as .pdf)"
    lower = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lower.startswith(b"<?xml") and (b"word.document" in lower or b"<w:worddocument" in lower):
        return "it is a Word 2003 XML file"
    if lower.startswith(b"mime-version") or b"multipart/related" in lower[:2048]:
        return "it is a web archive (MHT)"
    sample = head[:1024]
    for enc in ("utf-8", "gb18030"):
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            continue
        if text and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) >= 0.95 * len(text):
            return "it is plain text"
    return f"unknown content (starts with {head[:8].hex(' ')})"


def soffice_candidates() -> list[str]:
    """Return where LibreOffice is installed when it is not on PATH: Program Files (both) on Windows, the
    application bundle on macOS."""
    if sys.platform.startswith("win"):
        roots = [os.environ.get(v) for v in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)")]
        roots += [r"C:\Program Files", r"C:\Program Files (x86)"]
        return [os.path.join(r, _WINDOWS_SOFFICE) for r in dict.fromkeys(r for r in roots if r)]
    return [_MAC_SOFFICE]


def find_soffice() -> str | None:
    """The LibreOffice executable, or None."""
    for name in SOFFICE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((c for c in soffice_candidates() if os.path.isfile(c)), None)


def convert_to_docx(soffice: str, path: Path, tmpdir: Path, name: str, infilter: str, timeout: float,
                    suffix: str) -> Path | None:
    """Copy path into a fresh folder of tmpdir under name, convert it with LibreOffice's import filter
    infilter; return the .docx or None on failure. Raise ParseError when LibreOffice takes longer than
    timeout (its whole process group is killed)."""
    return soffice_convert(soffice, path, tmpdir, name, infilter, timeout, suffix, "docx:MS Word 2007 XML")


def soffice_convert(soffice: str, path: Path, tmpdir: Path, name: str, infilter: str, timeout: float,
                    suffix: str, target: str, missing: str = NEEDS_LIBREOFFICE) -> Path | None:
    """Given what convert_to_docx takes and a LibreOffice --convert-to target ("rtf", "docx:MS Word 2007
    XML", "xlsx:Calc MS Excel 2007 XML", ...), return the converted file (named after name, with the target's
    extension) or None; missing is the message when soffice cannot be started."""
    work = tmpdir / name.replace(".", "_") / "in"
    outdir = work.parent / "out"
    profile = work.parent / "profile"
    work.mkdir(parents=True)
    # Its lu*.tmp files go under our folder too, whatever happens to it (TMPDIR on POSIX, TEMP/TMP on Windows).
    private_tmp = work.parent / "tmp"
    private_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(private_tmp), "TEMP": str(private_tmp), "TMP": str(private_tmp)}
    src = work / name
    shutil.copyfile(path, src)
    cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore", "--nologo",
           "--nodefault", "--nolockcheck", f"--infilter={infilter}", "--convert-to", target,
           "--outdir", str(outdir), str(src)]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=os.name == "posix", cwd=str(work), env=env)
    except OSError as e:
        raise ParseError(f"{missing} ({e.strerror or e})") from None
    try:
        proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        raise ParseError(f"converting the {suffix} with LibreOffice took longer than {timeout:g} s") from None
    except BaseException:
        _kill_tree(proc)
        raise
    out = outdir / (Path(name).stem + "." + target.split(":", 1)[0])
    return out if out.is_file() and out.stat().st_size > 0 else None


def _kill_tree(proc: subprocess.Popen) -> None:
    from ..supervisor import kill_tree  # psutil: the same on every OS, soffice.bin under oosplash included

    kill_tree(proc.pid)
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):
        pass
