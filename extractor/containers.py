"""Containers: zip archives and e-mails (.eml, Outlook .msg) unpacked into their member files, safely.

Schools send forms zipped, or attached to an e-mail that someone saved to disk. ``input_to_members``
turns one such file into its members, each written under a work folder the caller owns, named by
``source`` as ``outer!inner`` (``a.zip!b.zip!自评表.docx``, ``mail.eml!forms.zip!表.pdf``).

Safety: nothing is written outside the work folder (every member goes to ``workdir/NNN/<sanitized
basename>``; its real name lives only in ``source``); sizes, compression ratios, nesting depth and
member counts are capped (``Limits``), declared sizes are checked first and bytes are counted while
unpacking, since declared sizes can lie. Every member is reported: a readable file (``path``), a
refusal or failure (``error``), or an attachment that is not a form (``skipped``) — only directory
entries and OS junk (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``) are left out silently.
"""

from __future__ import annotations

import email
import email.header
import email.message
import email.policy
import mimetypes
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CONTAINER_SUFFIXES = (".zip", ".eml", ".msg")

MB = 1024 * 1024
DEFAULT_MAX_TOTAL_BYTES = 200 * MB  # all members of one input, nested containers included
DEFAULT_MAX_MEMBER_BYTES = 100 * MB  # one member, uncompressed
DEFAULT_MAX_RATIO = 200  # uncompressed:compressed, for members over DEFAULT_RATIO_MIN_BYTES
DEFAULT_RATIO_MIN_BYTES = 1 * MB
DEFAULT_MAX_DEPTH = 3  # containers inside containers: a.zip!b.zip!c.zip!form.docx is the deepest
DEFAULT_MAX_MEMBERS = 500  # files in one input, nested containers included

# Suffixes whose members are never "not a form", whatever content type the mailer claimed.
FORM_SUFFIXES = (".docx", ".docm", ".doc", ".wps", ".rtf", ".pdf", ".xlsx", ".xlsm", ".xls", ".et", ".ods"
                 ) + CONTAINER_SUFFIXES
# Attachments that are obviously not forms: yielded as skipped, with the reason.
NOT_FORM_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif", ".svg", ".ico",
    ".emf", ".wmf", ".txt", ".log", ".htm", ".html", ".ics", ".vcf", ".p7s", ".sig", ".asc",
    ".mp3", ".wav", ".amr", ".m4a", ".mp4", ".mov", ".avi", ".wmv",
})
NOT_FORM_TYPES = frozenset({
    "text/plain", "text/html", "text/calendar", "text/vcard", "text/x-vcard",
    "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
})
_NOT_FORM_MAIN_TYPES = ("image", "audio", "video")
# Images that may be a scanned or photographed form: read (by OCR) when attached and big enough to be
# a page; inline images (logos, signatures) and small ones are skipped as not a form.
SCAN_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
DEFAULT_MIN_SCAN_BYTES = 40 * 1024
# Names people's systems leave in archives: skipped silently.
JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
JUNK_DIRS = frozenset({"__MACOSX"})

_CONTAINER_TYPES = {
    "application/zip": ".zip", "application/x-zip-compressed": ".zip", "application/x-zip": ".zip",
    "message/rfc822": ".eml", "application/vnd.ms-outlook": ".msg",
}
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
_MAIL_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Received", "Content-Type")
_CHUNK = 1024 * 1024

MSG_NEEDS_PACKAGE = "reading .msg needs the extract-msg package: pip install extract-msg"


@dataclass(frozen=True)
class Limits:
    """Caps on what one input may expand to (see the DEFAULT_* constants)."""

    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
    max_ratio: int = DEFAULT_MAX_RATIO
    ratio_min_bytes: int = DEFAULT_RATIO_MIN_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_members: int = DEFAULT_MAX_MEMBERS


DEFAULT_LIMITS = Limits()


@dataclass
class Member:
    """One member of a container: a file to read (path), or why not (error: failed; skipped: not a form)."""

    path: Path | None
    source: str
    error: str | None = None
    skipped: str | None = None


def is_container(path: Path) -> bool:
    return path.suffix.lower() in CONTAINER_SUFFIXES


def input_to_members(path: Path, source: str, workdir: Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[Member]:
    """Given a container file (.zip, .eml, .msg), yield its members, nested containers expanded, each
    written under workdir (which the caller owns and deletes). A file that is not a container is
    yielded as it is."""
    path = Path(path)
    if not is_container(path):
        yield Member(path, source)
        return
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    yield from _container(path, source, 1, _State(workdir, limits))


# --- shared state and writing ---------------------------------------------------------------------


class _Refused(Exception):
    """A member not unpacked; the message is the Member's error."""


class _State:
    """What one input has expanded to so far, across all its nested containers."""

    def __init__(self, workdir: Path, limits: Limits) -> None:
        self.workdir = workdir
        self.limits = limits
        self.total = 0
        self.members = 0
        self.exhausted: str | None = None  # why no further member is unpacked
        self._next_dir = 1

    def new_dir(self) -> Path:
        while True:
            d = self.workdir / f"{self._next_dir:03d}"
            self._next_dir += 1
            try:
                d.mkdir()
                return d
            except FileExistsError:
                continue

    def stop_reason(self) -> str | None:
        """Why the next member must not be unpacked, or None."""
        if self.exhausted:
            return self.exhausted
        if self.members >= self.limits.max_members:
            return f"refused: more than {self.limits.max_members} files inside (zip bomb?)"
        return None


def _mb(n: int) -> str:
    return f"{n // MB} MB" if n >= MB else f"{n} bytes"


def _too_big(limits: Limits) -> str:
    return f"refused: the archive expands to more than {_mb(limits.max_total_bytes)} (zip bomb?)"


_WINDOWS_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$", re.IGNORECASE)


def safe_basename(name: str) -> str:
    """A file name safe to create in a folder: the last path component of name, without drive letters,
    separators, control or reserved characters, never '.', '..' or hidden, at most ~200 UTF-8 bytes."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", base).strip().rstrip(". ")
    if base.startswith("."):
        base = "_" + base[1:]
    if not base.strip("._ "):
        base = "member"
    stem, dot, ext = base.rpartition(".")
    if not dot or len(ext) > 10:
        stem, ext = base, ""
    if _WINDOWS_DEVICE.match(stem):
        stem = "_" + stem  # CON, NUL, COM1…: Windows opens the device, not a file, whatever the extension
    suffix = "." + ext if ext else ""
    while len((stem + suffix).encode("utf-8")) > 200 and stem:
        stem = stem[:-1]
    return (stem or "member") + suffix


def _write(st: _State, name: str, chunks: Iterable[bytes], compressed: int | None = None) -> Path:
    """Write a member's bytes to a fresh safe path under the work folder, counting them against the
    limits as they come; on refusal or error remove the partial file and raise."""
    lim = st.limits
    d = st.new_dir()
    target = d / safe_basename(name)
    if target.resolve().parent != d.resolve():  # pragma: no cover - safe_basename guarantees it
        raise _Refused(f"refused: unsafe member name {name!r}")
    n = 0
    try:
        with open(target, "xb") as f:
            for chunk in chunks:
                n += len(chunk)
                if st.total + n > lim.max_total_bytes:
                    st.exhausted = _too_big(lim)
                    raise _Refused(st.exhausted)
                if n > lim.max_member_bytes:
                    raise _Refused(f"refused: {name} expands to more than {_mb(lim.max_member_bytes)}")
                if compressed is not None and n > lim.ratio_min_bytes and n > lim.max_ratio * max(compressed, 1):
                    raise _Refused(f"refused: compression ratio {n // max(compressed, 1)}:1 for {name} (zip bomb?)")
                f.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    st.total += n
    return target


def _is_junk(name: str) -> bool:
    parts = [p for p in re.split(r"[\\/]", name) if p]
    if not parts:
        return True
    base = parts[-1]
    return (any(p in JUNK_DIRS for p in parts) or base in JUNK_NAMES or base.startswith("._")
            or base.startswith("~$"))


def _not_form(name: str, ctype: str | None, where: str) -> str | None:
    """Why a member is obviously not a form (images, text, signatures...), or None."""
    suffix = Path(name).suffix.lower()
    if suffix in FORM_SUFFIXES or (suffix in SCAN_SUFFIXES and where != "inline image"):
        return None
    ctype = (ctype or "").lower()
    if not ctype or ctype == "application/octet-stream":
        ctype = mimetypes.guess_type(name)[0] or ""
    if ctype.split("/")[0] in _NOT_FORM_MAIN_TYPES or ctype in NOT_FORM_TYPES or suffix in NOT_FORM_SUFFIXES:
        return f"not a form ({ctype or suffix + ' file'} {where})"
    return None


def _member(st: _State, name: str, source: str, depth: int, chunks: Callable[[], Iterable[bytes]],
            *, compressed: int | None = None, ctype: str | None = None, where: str = "file") -> Iterator[Member]:
    """Write one member and yield it (or, for a nested container, its members)."""
    src = f"{source}!{name}"
    st.members += 1
    reason = _not_form(name, ctype, where)
    if reason:
        yield Member(None, src, skipped=reason)
        return
    nested = Path(name).suffix.lower() in CONTAINER_SUFFIXES
    if nested and depth >= st.limits.max_depth:
        yield Member(None, src, error=f"refused: containers nested more than {st.limits.max_depth} deep")
        return
    try:
        path = _write(st, name, chunks(), compressed)
    except _Refused as e:
        yield Member(None, src, error=str(e))
        return
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        yield Member(None, src, error=f"cannot unpack {name}: the archive is damaged ({e})")
        return
    except NotImplementedError as e:
        yield Member(None, src, error=f"cannot unpack {name}: {e}; re-zip it with a standard zip tool")
        return
    except RuntimeError as e:  # zipfile: encrypted member
        yield Member(None, src, error=f"the archive is encrypted: {name} ({e}); send it without a password")
        return
    except Exception as e:  # noqa: BLE001 - a forged member header: this member fails, the others go on
        yield Member(None, src, error=f"cannot unpack {name}: the archive is damaged ({_reason(e)})")
        return
    if nested:
        yield from _container(path, src, depth + 1, st)
    elif Path(name).suffix.lower() in SCAN_SUFFIXES and path.stat().st_size < DEFAULT_MIN_SCAN_BYTES:
        path.unlink()
        kind = mimetypes.guess_type(name)[0] or "image"
        yield Member(None, src, skipped=f"not a form ({kind} {where}, too small to be a scanned page)")
    else:
        yield Member(path, src)


def _reason(e: BaseException) -> str:
    text = " ".join(str(e).split())[:160]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _container(path: Path, source: str, depth: int, st: _State) -> Iterator[Member]:
    """Yield a container's members; whatever its unpacking raises ends this container with one failed member,
    and the members yielded before it (the form beside a bad zip in an e-mail) are kept."""
    try:
        yield from _container_members(path, source, depth, st)
    except Exception as e:  # noqa: BLE001 - no forged container may stop the others
        kind = "e-mail" if Path(path).suffix.lower() in (".eml", ".msg") else "archive"
        yield Member(None, source, error=f"cannot unpack this {kind} ({_reason(e)}): re-send the files")


def _container_members(path: Path, source: str, depth: int, st: _State) -> Iterator[Member]:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        gen, empty = _zip(path, source, depth, st), "the archive holds no files"
    elif suffix == ".eml":
        gen, empty = _eml(path, source, depth, st), "the e-mail has no attachments"
    else:
        gen, empty = _msg(path, source, depth, st), "the e-mail has no attachments"
    any_member = False
    for m in gen:
        any_member = True
        yield m
    if not any_member:
        yield Member(None, source, skipped=empty)


# --- zip ------------------------------------------------------------------------------------------


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: UTF-8 when flagged; else the Info-ZIP Unicode path field when present;
    else the raw bytes (which Python decoded as cp437) as UTF-8 if valid, else GBK/GB18030."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:  # decoded with an explicit metadata_encoding: trust it
        return name
    unicode_path = _unicode_path_field(info.extra, raw)
    if unicode_path:
        return unicode_path
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _unicode_path_field(extra: bytes, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), when present and matching the raw name."""
    i = 0
    while i + 4 <= len(extra):
        tag = int.from_bytes(extra[i:i + 2], "little")
        size = int.from_bytes(extra[i + 2:i + 4], "little")
        data = extra[i + 4:i + 4 + size]
        if tag == 0x7075 and len(data) > 5 and data[0] == 1:
            if int.from_bytes(data[1:5], "little") == zlib.crc32(raw_name):
                try:
                    return data[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None


def _zip(path: Path, source: str, depth: int, st: _State) -> Iterator[Member]:
    lim = st.limits
    try:
        z = zipfile.ZipFile(path)
    except NotImplementedError as e:  # "zip file version 9.9", "compressed patched data": a valid zip we cannot read
        yield Member(None, source, error=f"cannot unpack this zip archive ({e}): re-zip it with a standard zip tool")
        return
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        yield Member(None, source, error=f"not a readable zip archive: {e}")
        return
    except Exception as e:  # noqa: BLE001 - zipfile raises IndexError, KeyError... for a forged central directory
        yield Member(None, source, error=f"not a readable zip archive: {_reason(e)}")
        return
    with z:
        try:
            files = [i for i in z.infolist() if i.filename and not i.is_dir() and not _is_junk(zip_member_name(i))]
        except Exception as e:  # noqa: BLE001 - a forged entry
            yield Member(None, source, error=f"not a readable zip archive: {_reason(e)}")
            return
        nameless = sum(not i.filename for i in z.infolist())
        if nameless:  # a name starting with NUL: zipfile cuts it to nothing, and the member cannot be named
            st.members += nameless
            yield Member(None, source, error=f"refused: {nameless} member(s) of the archive have no name "
                                             "(it starts with a NUL byte): re-zip it with a standard zip tool")
        declared = sum(i.file_size for i in files)
        if len(files) > lim.max_members:
            yield Member(None, source, error=f"refused: the archive holds {len(files)} files, more than "
                                             f"{lim.max_members} (zip bomb?)")
            return
        if st.total + declared > lim.max_total_bytes:
            yield Member(None, source, error=_too_big(lim))
            return
        if files and all(i.flag_bits & 0x1 for i in files):
            yield Member(None, source, error="the archive is encrypted: send the files again without a password")
            return
        for info in files:
            stop = st.stop_reason()
            if stop:
                yield Member(None, source, error=f"{stop}; the rest of the archive was not unpacked")
                return
            name = zip_member_name(info)
            src = f"{source}!{name}"
            mode = info.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                st.members += 1
                yield Member(None, src, skipped="a symbolic link, not a file")
                continue
            if info.flag_bits & 0x1:
                st.members += 1
                yield Member(None, src, error=f"the archive is encrypted: {name} needs a password; "
                                              "send it without one")
                continue
            if info.file_size > lim.max_member_bytes:
                st.members += 1
                yield Member(None, src, error=f"refused: {name} expands to more than {_mb(lim.max_member_bytes)}")
                continue
            ratio = info.file_size // max(info.compress_size, 1)
            if info.file_size > lim.ratio_min_bytes and ratio > lim.max_ratio:
                st.members += 1
                yield Member(None, src, error=f"refused: compression ratio {ratio}:1 for {name} (zip bomb?)")
                continue

            def chunks(info: zipfile.ZipInfo = info) -> Iterator[bytes]:
                with z.open(info) as fh:
                    while chunk := fh.read(_CHUNK):
                        yield chunk

            yield from _member(st, name, source, depth, chunks, compressed=info.compress_size)


# --- .eml -----------------------------------------------------------------------------------------


def _eml(path: Path, source: str, depth: int, st: _State) -> Iterator[Member]:
    try:
        size = path.stat().st_size
        if size > st.limits.max_total_bytes:
            yield Member(None, source, error=f"refused: the e-mail is larger than {_mb(st.limits.max_total_bytes)}")
            return
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    except Exception as e:  # noqa: BLE001 - the stdlib parser is lenient; anything else is unreadable
        yield Member(None, source, error=f"not a readable e-mail (.eml) file: {e}")
        return
    if not any(h in msg for h in _MAIL_HEADERS):
        yield Member(None, source, error="not a readable e-mail (.eml) file: no mail headers found")
        return
    yield from _email_members(msg, source, depth, st)


def _leaf_parts(part: email.message.Message, top: bool = True) -> Iterator[email.message.Message]:
    """The non-multipart parts of a message; an attached message (message/rfc822) is one part."""
    if not top and part.get_content_type() == "message/rfc822":
        yield part
    elif part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, email.message.Message):
                yield from _leaf_parts(sub, top=False)
    else:
        yield part


def _email_members(msg: email.message.Message, source: str, depth: int, st: _State) -> Iterator[Member]:
    unnamed = 0
    for part in _leaf_parts(msg):
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        name = part_filename(part)
        if name is None:
            if ctype.startswith("text/") and disposition != "attachment":
                continue  # the body (plain, html, or another alternative)
            if ctype == "message/rfc822":
                name = _attached_subject(part) + ".eml"
            else:
                unnamed += 1
                stem = "inline" if disposition == "inline" or part.get("Content-ID") else "attachment"
                ext = _CONTAINER_TYPES.get(ctype) or mimetypes.guess_extension(ctype) or ""
                name = f"{stem}{unnamed}{ext}"
        elif Path(name).suffix.lower() not in FORM_SUFFIXES and ctype in _CONTAINER_TYPES:
            name += _CONTAINER_TYPES[ctype]
        stop = st.stop_reason()
        if stop:
            yield Member(None, source, error=f"{stop}; the rest of the e-mail was not unpacked")
            return
        src = f"{source}!{name}"
        if ctype in _TNEF_TYPES or name.lower() == "winmail.dat":
            st.members += 1
            yield Member(None, src, error="the attachments are packed in winmail.dat (Outlook rich-text mail), "
                                          "which cannot be read: ask for the form as a normal attachment")
            continue
        if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime") or name.lower().endswith(".p7m"):
            st.members += 1
            yield Member(None, src, error="the e-mail is encrypted (S/MIME): ask the sender to send it unencrypted")
            continue
        try:
            if ctype == "message/rfc822":
                inner = part.get_payload()[0]
                data = inner.as_bytes(policy=email.policy.SMTP)
            else:
                data = part.get_payload(decode=True) or b""
        except Exception as e:  # noqa: BLE001 - a broken part must not stop the other attachments
            st.members += 1
            yield Member(None, src, error=f"cannot decode attachment {name}: {e}")
            continue
        inline = disposition == "inline" or (disposition is None and part.get("Content-ID"))
        where = "inline image" if inline and ctype.startswith("image/") else "attachment"
        yield from _member(st, name, source, depth, lambda data=data: [data], ctype=ctype, where=where)


def _attached_subject(part: email.message.Message) -> str:
    try:
        inner = part.get_payload()[0]
        subject = str(inner.get("Subject", "") or "").strip()
    except Exception:  # noqa: BLE001
        subject = ""
    return subject or "attached message"


def part_filename(part: email.message.Message) -> str | None:
    """An attachment's file name, decoded: RFC 2231 (filename*=UTF-8''...), encoded words
    (=?GB2312?B?...?=, even unquoted or inside quotes), or raw GBK/UTF-8 bytes some mailers send."""
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed header: try the raw text below
        name = None
    if name and "\ufffd" not in name and "=?" not in name:
        return name.strip() or None
    raw = _raw_filename(part)
    return (raw or name or "").strip() or None


_PARAM_RE = re.compile(r'(?:^|;)\s*(?:file)?name\s*=\s*("([^"]*)"|[^;\s]+)', re.IGNORECASE)


def _raw_filename(part: email.message.Message) -> str | None:
    """The filename/name parameter read from the raw header text: raw 8-bit bytes decoded as UTF-8
    or GB18030, encoded words decoded."""
    for header in ("Content-Disposition", "Content-Type"):
        for key, value in part.raw_items():
            if key.lower() != header.lower():
                continue
            text = _raw_header_text(value)
            for m in _PARAM_RE.finditer(text.replace("\r\n", " ").replace("\n", " ")):
                value = m.group(2) if m.group(2) is not None else m.group(1)
                value = value.strip()
                if value:
                    return _decode_words(value)
    return None


def _raw_header_text(value: object) -> str:
    value = str(value)
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _decode_words(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        parts = email.header.decode_header(value)
    except Exception:  # noqa: BLE001
        return value
    out = []
    for text, charset in parts:
        if isinstance(text, str):
            out.append(text)
            continue
        charset = (charset or "ascii").lower()
        if charset in ("gb2312", "gbk", "cp936", "x-gbk"):
            charset = "gb18030"  # mailers label GBK text as GB2312
        try:
            out.append(text.decode(charset, errors="replace"))
        except LookupError:
            out.append(text.decode("utf-8", errors="replace"))
    return "".join(out)


# --- Outlook .msg ---------------------------------------------------------------------------------


def _msg(path: Path, source: str, depth: int, st: _State) -> Iterator[Member]:
    try:
        import extract_msg
    except ImportError:
        yield Member(None, source, error=MSG_NEEDS_PACKAGE)
        return
    try:
        if path.stat().st_size > st.limits.max_total_bytes:
            yield Member(None, source, error=f"refused: the e-mail is larger than {_mb(st.limits.max_total_bytes)}")
            return
        msg = extract_msg.openMsg(str(path), strict=False)
    except Exception as e:  # noqa: BLE001 - extract_msg raises many kinds for damaged files
        yield Member(None, source, error=f"not a readable Outlook .msg file: {e}")
        return
    try:
        yield from _msg_members(msg, source, depth, st)
    finally:
        try:
            msg.close()
        except Exception:  # noqa: BLE001
            pass


def _msg_attachment_name(att: object) -> str | None:
    for attr in ("longFilename", "shortFilename", "name", "displayName"):
        try:
            value = getattr(att, attr, None)
        except Exception:  # noqa: BLE001
            value = None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _msg_members(msg: object, source: str, depth: int, st: _State) -> Iterator[Member]:
    try:
        attachments = list(msg.attachments)
    except Exception as e:  # noqa: BLE001
        yield Member(None, source, error=f"not a readable Outlook .msg file (attachments: {e})")
        return
    for i, att in enumerate(attachments, 1):
        stop = st.stop_reason()
        if stop:
            yield Member(None, source, error=f"{stop}; the rest of the e-mail was not unpacked")
            return
        name = _msg_attachment_name(att)
        try:
            data = att.data
        except Exception as e:  # noqa: BLE001
            st.members += 1
            yield Member(None, f"{source}!{name or f'attachment{i}'}", error=f"cannot read this attachment: {e}")
            continue
        if isinstance(data, (bytes, bytearray)):
            name = name or f"attachment{i}"
            ctype = getattr(att, "mimetype", None)
            where = "inline image" if getattr(att, "hidden", False) else "attachment"
            yield from _member(st, name, source, depth, lambda data=bytes(data): [data], ctype=ctype, where=where)
        elif data is not None and hasattr(data, "attachments"):  # an embedded Outlook message
            if not name:
                name = f"{str(getattr(data, 'subject', '') or '').strip() or 'attached message'}.msg"
            elif not name.lower().endswith(".msg"):
                name += ".msg"
            src = f"{source}!{name}"
            st.members += 1
            if depth >= st.limits.max_depth:
                yield Member(None, src, error=f"refused: containers nested more than {st.limits.max_depth} deep")
                continue
            any_member = False
            for m in _msg_members(data, src, depth + 1, st):
                any_member = True
                yield m
            if not any_member:
                yield Member(None, src, skipped="the e-mail has no attachments")
        else:
            st.members += 1
            kind = type(att).__name__
            if "Web" in kind:
                yield Member(None, f"{source}!{name or f'attachment{i}'}",
                             skipped="not a form (a link to a file on the web, not an attached file)")
            else:
                yield Member(None, f"{source}!{name or f'attachment{i}'}",
                             error="cannot read this attachment of the .msg (unsupported or damaged)")
