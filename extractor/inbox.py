"""What ingest decides about inbox files without reading them as forms: which files may be opened at all, their
hash, how many scanned pages a file has (for its time allowance), and one outcome per container.

Only regular files are opened: a FIFO or a link to /dev/zero would hang the hashing forever. A container whose
members give no outcome of their own (all skipped, or none) is one failed record listing what it held; one whose
members all failed the same way is one record saying so, instead of hundreds alike.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from .containers import CONTAINER_SUFFIXES, Member

# Files people keep beside forms in an inbox that are not worth a failed record.
DEFAULT_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
SCAN_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_ALLOWED_SCAN_PAGES = 40  # pages beyond these earn no more time: a form has a few
MAX_LISTED = 10  # skipped members named in a container's record; the rest are counted
_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


class NotRegular(OSError):
    """The path is no regular file (a FIFO, a device, a link swapped in after the folder was listed)."""


def human(n: int) -> str:
    """Given bytes, return them as people read sizes: 2 GB, 120 MB, 36 KB."""
    if n >= 1024 ** 3:
        return f"{n / 1024 ** 3:.3g} GB"
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def regular_sha256(path: Path, max_bytes: int | None = None) -> tuple[str | None, int]:
    """Given a path, return (sha256 of its bytes, size), or (None, size) when it is over max_bytes (not read).
    Raise NotRegular unless it is a regular file: it is opened without following a link and without blocking on a
    FIFO, and checked on the open handle, so nothing swapped in after the listing is read."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(f"refused: {path.name} is not a regular file")
        if max_bytes is not None and st.st_size > max_bytes:
            return None, st.st_size
        h = hashlib.sha256()
        with os.fdopen(fd, "rb", closefd=False) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest(), st.st_size
    finally:
        os.close(fd)


def scanned_pages(path: Path) -> int:
    """Given a file, return how many pages of it OCR would read: every frame of an image, every page of a PDF with
    no text on its first pages, else 0. Reads headers only (PIL does not decode, pdfium counts characters), so it
    costs milliseconds; anything odd counts 0 and the file gets the base time. A PDF of text alone (_text_only) is
    not loaded at all: loading its first page cost pdfium 10-20 ms, as much again as the parser's own load."""
    suffix = path.suffix.lower()
    try:
        if suffix in SCAN_SUFFIXES:
            from PIL import Image

            with Image.open(path) as im:
                return min(int(getattr(im, "n_frames", 1) or 1), MAX_ALLOWED_SCAN_PAGES)
        if suffix == ".pdf":
            if _text_only(path):
                return 0  # text and no picture: no page of it is OCR's
            import pypdfium2 as pdfium

            pdf = pdfium.PdfDocument(str(path))
            try:
                n = len(pdf)
                for i in range(min(n, 3)):
                    page = pdf[i]
                    text = page.get_textpage()
                    chars = text.count_chars()
                    text.close()
                    page.close()
                    if chars > 0:
                        return 0
                return min(n, MAX_ALLOWED_SCAN_PAGES)
            finally:
                pdf.close()
    except Exception:  # noqa: BLE001 - a hint only: the reader says what is wrong with the file
        return 0
    return 0


# The names /Image and /ObjStm whole (reportlab's /ProcSet lists /ImageB /ImageC /ImageI on pages of text).
_HIDES_OR_PICTURES = re.compile(rb"/(?:Image|ObjStm)(?=[\s()<>\[\]{}/%])")


def _text_only(path: Path, chunk: int = 1 << 20) -> bool:
    """Given a PDF, return whether its bytes name a font (/Font, /FontDescriptor, ...) and no image XObject and no
    object stream: a page shows text only through a font, and a scan's page image is an /Image (reportlab names a
    font on a page of images alone). An object stream may hide either, and pdfium's count of characters decides."""
    fonts = False
    tail = b""
    with open(path, "rb") as f:
        while block := f.read(chunk):
            window = tail + block
            if _HIDES_OR_PICTURES.search(window):
                return False
            fonts = fonts or b"/Font" in window
            tail = block[-16:]
    return fonts


def _inside(source: str, container: str) -> bool:
    return source.startswith(container + "!")


def container_sources(top: str, members: list[Member]) -> list[str]:
    """Given a container's source and its members, return it and the sources of the containers nested in it, the
    deepest first."""
    found = {top}
    for m in members:
        if not _inside(m.source, top):
            continue
        if Path(m.source).suffix.lower() in CONTAINER_SUFFIXES:  # a nested container reported as one member
            found.add(m.source)
        parts = m.source[len(top) + 1:].split("!")
        for i in range(1, len(parts)):
            if Path(parts[i - 1]).suffix.lower() in CONTAINER_SUFFIXES:
                found.add(top + "!" + "!".join(parts[:i]))
    return sorted(found, key=lambda s: (-s.count("!"), s))


def collapse_members(top: str, members: list[Member]) -> list[Member]:
    """Given a container's members, return them with every container whose members (two or more, none readable)
    all failed the same way replaced by one failed member for the container that says so."""
    for c in container_sources(top, members):
        inside = [m for m in members if _inside(m.source, c) and not m.skipped]
        if len(inside) < 2 or any(m.path is not None or not m.error for m in inside):
            continue
        shapes = {m.error.replace(m.source[len(c) + 1:], "") for m in inside}
        if len(shapes) != 1:
            continue
        first = members.index(inside[0])
        one = Member(None, c, error=f"all {len(inside)} files inside failed the same way, e.g. {inside[0].error}")
        members = [m for m in members[:first] if m not in inside] + [one] + [m for m in members[first:]
                                                                             if m not in inside]
    return members


def _noun(source: str, n: int) -> str:
    noun = "attachment" if Path(source.rsplit("!", 1)[-1]).suffix.lower() in (".eml", ".msg") else "file"
    return noun if n == 1 else noun + "s"


def no_form_inside(container: str, skipped: list[Member]) -> str:
    """Given a container and its skipped members, return its one-line error listing them."""
    own = [m.skipped for m in skipped if m.source == container]
    listed = [m for m in skipped if m.source != container]
    if not listed:
        return f"no form inside: {own[0] if own else 'nothing to read'}"
    names = [f"{m.source[len(container) + 1:]}: {m.skipped}" for m in listed[:MAX_LISTED]]
    more = f", … and {len(listed) - MAX_LISTED} more" if len(listed) > MAX_LISTED else ""
    return f"no form inside: {len(listed)} {_noun(container, len(listed))} skipped ({', '.join(names)}{more})"


def container_records(top: str, members: list[Member], top_done: bool = False) -> list[Member]:
    """Given a container's members, return them with a failed record (a Member with only an error, the
    container's source) in place of the members of each container that has no outcome of its own: no member read,
    none failed, only skipped ones, which the record lists. The outermost such container takes the record, listing
    what its nested ones held too. With top_done the top container already has its record."""
    out = list(members)
    folded: list[str] = []
    for c in sorted(container_sources(top, members), key=lambda s: (s.count("!"), s)):  # the outermost first
        if (c == top and top_done) or any(c == f or _inside(c, f) for f in folded):
            continue
        mine = [m for m in out if m.source == c or _inside(m.source, c)]
        if any(not m.skipped for m in mine):
            continue
        folded.append(c)
        record = Member(None, c, error=no_form_inside(c, mine))
        at = out.index(mine[0]) if mine else len(out)
        out = [m for m in out[:at] if m not in mine] + [record] + [m for m in out[at:] if m not in mine]
    return out
