"""What an OLE2 compound file (D0 CF 11 E0 ...) really holds, from its stream names and Word's FIB.

Word 97-2003 (.doc), Word 6.0/95 (.doc), WPS, Works, Excel .xls, Outlook .msg and password-protected
Word 2007+ files (an ``EncryptedPackage`` stream instead of a zip) all start with the same eight bytes. The
legacy parser needs to know which one it has: Word 6/95 needs LibreOffice's "MS Word 95" import filter
(the Word 97 one refuses it), and an encrypted file is named as such instead of "damaged".

The FIB (File Information Block) is at the start of the WordDocument stream: wIdent (0xA5EC; 0xA5DC in
some Word 6.0 files), nFib (the
format version: 101 Word 6.0, 104 Word 95, 193 and above Word 97-2003), and a flags word whose bit 0x0100
is fEncrypted (at the same place in Word 6/95 and Word 97 FIBs).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
WORD_IDENT = 0xA5EC
WORD6_IDENT = 0xA5DC  # some Word 6.0 files carry this identifier instead
FIRST_WORD97_NFIB = 193  # nFib below this (101 Word 6.0, 104 Word 95) is the Word 6/95 format
FIB_ENCRYPTED = 0x0100

WORD97 = "word97"
WORD95 = "word95"
ENCRYPTED_OOXML = "encrypted-ooxml"

# Streams (first path component) that tell other OLE files apart, and what to call them.
_OTHER_KINDS = (
    ("workbook", "an Excel workbook (.xls)"),
    ("book", "an Excel workbook (.xls)"),
    ("powerpoint document", "a PowerPoint presentation (.ppt)"),
    ("__properties_version1.0", "an Outlook message (.msg)"),
    ("contents", "a Microsoft Works document"),
    ("matost", "a Microsoft Works document"),
)

PASSWORD_PROTECTED = "the Word file is password-protected: remove the password and send it again"


@dataclass
class OleInfo:
    """What an OLE2 file is: kind (WORD97, WORD95, ENCRYPTED_OOXML, or None), nFib and fEncrypted for Word
    files, and a short description for the others."""

    kind: str | None
    nfib: int | None = None
    encrypted: bool = False
    what: str = "an OLE2 file that holds no Word document"

    @property
    def infilter(self) -> str:
        """LibreOffice's import filter for this Word format."""
        return "MS Word 95" if self.kind == WORD95 else "MS Word 97"


def fib_to_info(fib: bytes) -> OleInfo:
    """Given the first bytes of a WordDocument stream, return its OleInfo (WORD97 when they are too short or
    carry no Word identifier: LibreOffice's Word 97 filter then decides, as it did before)."""
    if len(fib) < 12:
        return OleInfo(WORD97, what="a Word document")
    ident, nfib = struct.unpack_from("<HH", fib, 0)
    (flags,) = struct.unpack_from("<H", fib, 10)
    if ident not in (WORD_IDENT, WORD6_IDENT):
        return OleInfo(WORD97, nfib=nfib, what="a Word document")
    kind = WORD95 if nfib < FIRST_WORD97_NFIB or ident == WORD6_IDENT else WORD97
    return OleInfo(kind, nfib=nfib, encrypted=bool(flags & FIB_ENCRYPTED),
                   what="a Word 6.0/95 document" if kind == WORD95 else "a Word 97-2003 document")


def path_to_ole_info(path: Path) -> OleInfo | None:
    """Given an OLE2 file, return what it holds, or None when olefile cannot read its structure (damaged or
    truncated; LibreOffice then gets its chance as before)."""
    try:
        import olefile
    except ImportError:  # olefile comes with extract-msg; without it we cannot tell, as before
        return None
    try:
        with olefile.OleFileIO(str(path)) as ole:
            names = {"/".join(p).lower(): p for p in ole.listdir(streams=True, storages=False)}
            if "encryptedpackage" in names or "encryptioninfo" in names:
                return OleInfo(ENCRYPTED_OOXML, encrypted=True, what="a password-protected Office 2007+ file")
            if "worddocument" in names:
                # olefile bounds a stream's sectors by the FAT's, so this reads at most the file's size.
                with ole.openstream(names["worddocument"]) as s:
                    return fib_to_info(s.read(32))
            tops = {n.split("/", 1)[0] for n in names}
            for stream, what in _OTHER_KINDS:
                if stream in tops:
                    return OleInfo(None, what=what)
            if any(n.startswith("__substg1.0_") for n in tops):
                return OleInfo(None, what="an Outlook message (.msg)")
            return OleInfo(None)
    except Exception:  # noqa: BLE001 - olefile raises many kinds on a damaged file; all mean "cannot tell"
        return None
