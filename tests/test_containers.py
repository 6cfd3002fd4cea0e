"""Containers: zips and e-mails unpacked into members, safely. Zips and .eml files are built here with
the stdlib around the bundled sample forms (samples/forms); the .msg fixtures under fixtures/containers/ were made
once with aspose-email-foss (MapiMessage.create / add_attachment / add_embedded_message_attachment)."""

from __future__ import annotations

import base64
import hashlib
import struct
import sys
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest

from extractor.containers import (
    CONTAINER_SUFFIXES,
    DEFAULT_LIMITS,
    MSG_NEEDS_PACKAGE,
    Limits,
    Member,
    input_to_members,
    safe_basename,
)
from extractor.parsers.docx import DocxParser

from .conftest import SAMPLES
from .test_supervisor import patch_central

FIXTURES = Path(__file__).parent / "fixtures" / "containers"
DOCX = SAMPLES / "qh_merged_01.docx"
DOCX2 = SAMPLES / "qh_err_overcap_20.docx"
PDF = SAMPLES / "qh_pdf_lo_merged_36.pdf"
NAME = "自评表_某某学校.docx"


def members(path: Path, source: str | None = None, workdir: Path | None = None, limits: Limits = DEFAULT_LIMITS):
    workdir = workdir or path.parent / "work"
    return list(input_to_members(path, source or path.name, workdir, limits))


def by_source(ms: list[Member]) -> dict[str, Member]:
    return {m.source: m for m in ms}


def png_bytes() -> bytes:
    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def build_zip(path: Path, entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return path


def build_zip_raw_names(path: Path, entries: list[tuple[bytes, bytes]], extra: dict[int, bytes] | None = None) -> Path:
    """A zip whose member names are the given raw bytes with the UTF-8 flag (0x800) NOT set, as Windows
    zip tools write GBK names: write ASCII placeholders of the same length, then patch the bytes."""
    placeholders = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (raw, data) in enumerate(entries):
            ph = f"@{i}@".ljust(len(raw), "#").encode("ascii")
            assert len(ph) == len(raw)
            placeholders.append((ph, raw))
            info = zipfile.ZipInfo(ph.decode("ascii"))
            if extra and i in extra:
                info.extra = extra[i]
            z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    blob = path.read_bytes()
    for ph, raw in placeholders:
        assert blob.count(ph) == 2  # local header + central directory
        blob = blob.replace(ph, raw)
    path.write_bytes(blob)
    return path


def set_encrypted_flag(path: Path) -> None:
    """Mark every member as encrypted (flag bit 0) in the local headers and the central directory."""
    blob = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = blob.find(sig)
        while i != -1:
            blob[i + off] |= 0x01
            i = blob.find(sig, i + 4)
    path.write_bytes(bytes(blob))


def under(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


# --- API basics -------------------------------------------------------------------------------------


def test_api_constants():
    assert CONTAINER_SUFFIXES == (".zip", ".eml", ".msg")
    assert DEFAULT_LIMITS.max_total_bytes == 200 * 1024 * 1024
    assert DEFAULT_LIMITS.max_ratio == 200 and DEFAULT_LIMITS.max_depth == 3 and DEFAULT_LIMITS.max_members == 500


def test_a_file_that_is_not_a_container_is_yielded_as_is(tmp_path):
    ms = list(input_to_members(DOCX, "inbox/a.docx", tmp_path / "w"))
    assert ms == [Member(DOCX, "inbox/a.docx", None, None)]


# --- zip --------------------------------------------------------------------------------------------


def test_zip_members_are_written_under_workdir_with_bang_sources(tmp_path):
    z = build_zip(tmp_path / "forms.zip", {
        "学校A/": b"",
        f"学校A/{NAME}": DOCX.read_bytes(),
        "学校B/自评表.pdf": PDF.read_bytes(),
    })
    work = tmp_path / "work"
    ms = members(z, "inbox/forms.zip", work)
    assert [m.source for m in ms] == [f"inbox/forms.zip!学校A/{NAME}", "inbox/forms.zip!学校B/自评表.pdf"]
    for m, orig in zip(ms, (DOCX, PDF), strict=True):
        assert m.error is None and m.skipped is None
        assert under(m.path, work) and m.path.read_bytes() == orig.read_bytes()
    assert ms[0].path.name == NAME and ms[0].path.parent.parent == work
    doc = DocxParser().path_to_document(ms[0].path)
    assert len(doc.tables) == 2


def test_zip_gbk_names_without_utf8_flag_are_decoded(tmp_path):
    z = build_zip_raw_names(tmp_path / "gbk.zip", [
        ("材料/".encode("gbk") + NAME.encode("gbk"), DOCX.read_bytes()),
        ("说明.docx".encode(), b"utf-8 bytes without the flag"),  # e.g. some Linux/macOS zips
    ])
    with zipfile.ZipFile(z) as zz:  # the premise: Python alone gets these names wrong
        assert all(not (i.flag_bits & 0x800) for i in zz.infolist())
        assert NAME not in zz.namelist()[0]
    ms = members(z)
    assert [m.source for m in ms] == [f"gbk.zip!材料/{NAME}", "gbk.zip!说明.docx"]
    assert ms[0].path.name == NAME and ms[0].path.read_bytes() == DOCX.read_bytes()


def test_zip_unicode_path_extra_field_wins(tmp_path):
    raw = "表.docx".encode("gbk")
    utf8 = NAME.encode("utf-8")
    field = b"\x01" + struct.pack("<I", zlib.crc32(raw)) + utf8
    extra = struct.pack("<HH", 0x7075, len(field)) + field
    z = build_zip_raw_names(tmp_path / "up.zip", [(raw, DOCX.read_bytes())], extra={0: extra})
    assert [m.source for m in members(z)] == [f"up.zip!{NAME}"]


def test_zip_utf8_flagged_names_are_kept(tmp_path):
    z = build_zip(tmp_path / "u.zip", {NAME: DOCX.read_bytes()})
    with zipfile.ZipFile(z) as zz:
        assert zz.infolist()[0].flag_bits & 0x800
    assert [m.source for m in members(z)] == [f"u.zip!{NAME}"]


def test_zip_in_zip_is_expanded_recursively(tmp_path):
    inner = build_zip(tmp_path / "b.zip", {"form.docx": DOCX.read_bytes(), "sub/c.pdf": PDF.read_bytes()})
    outer = build_zip(tmp_path / "a.zip", {"b.zip": inner.read_bytes(), "top.docx": DOCX2.read_bytes()})
    ms = members(outer)
    assert [m.source for m in ms] == ["a.zip!b.zip!form.docx", "a.zip!b.zip!sub/c.pdf", "a.zip!top.docx"]
    assert all(m.path and m.path.is_file() for m in ms)
    assert ms[0].path.read_bytes() == DOCX.read_bytes()


def test_nesting_deeper_than_the_limit_is_refused(tmp_path):
    data = build_zip(tmp_path / "d.zip", {"form.docx": DOCX.read_bytes()}).read_bytes()
    for name in ("c.zip", "b.zip", "a.zip"):
        data = build_zip(tmp_path / name, {"d.zip" if name == "c.zip" else chr(ord(name[0]) + 1) + ".zip": data}).read_bytes()
    # a.zip!b.zip!c.zip!d.zip!form.docx: d.zip is the 4th container
    ms = members(tmp_path / "a.zip")
    assert len(ms) == 1 and ms[0].source == "a.zip!b.zip!c.zip!d.zip" and ms[0].path is None
    assert "nested more than 3 deep" in ms[0].error
    ms = members(tmp_path / "b.zip")  # 3 deep: fine
    assert [m.source for m in ms] == ["b.zip!c.zip!d.zip!form.docx"] and ms[0].path is not None


@pytest.mark.parametrize("evil", ["../../evil.docx", "/etc/evil.docx", "C:\\Windows\\evil.docx",
                                  "..\\..\\evil.docx", "a/../../../evil.docx", "..", "C:evil.docx"])
def test_zip_slip_names_never_leave_workdir(tmp_path, evil):
    z = build_zip(tmp_path / "evil.zip", {evil: b"%PDF-1.4 not really"})
    work = tmp_path / "deep" / "work"
    ms = members(z, workdir=work)
    assert len(ms) == 1 and ms[0].source == f"evil.zip!{evil}"
    assert ms[0].path is not None and under(ms[0].path, work) and ms[0].path.parent.parent == work
    assert ms[0].path.name not in ("", ".", "..")
    assert sorted(p.name for p in tmp_path.rglob("*evil*") if p.is_file() and not under(p, work)) == ["evil.zip"]


def test_zip_junk_and_directories_are_skipped_silently_non_forms_reported(tmp_path):
    z = build_zip(tmp_path / "mac.zip", {
        "forms/": b"",
        "forms/a.docx": DOCX.read_bytes(),
        "__MACOSX/forms/._a.docx": b"\x00\x05\x16\x07",
        "forms/.DS_Store": b"junk",
        "forms/Thumbs.db": b"junk",
        "forms/~$a.docx": b"owner file",
        "forms/photo.png": png_bytes(),
        "forms/readme.txt": b"hello",
        "forms/data.xlsx": b"PK not a form we read, but not obviously junk",
    })
    ms = by_source(members(z))
    assert list(ms) == ["mac.zip!forms/a.docx", "mac.zip!forms/photo.png", "mac.zip!forms/readme.txt",
                        "mac.zip!forms/data.xlsx"]
    assert ms["mac.zip!forms/a.docx"].path is not None
    assert ms["mac.zip!forms/photo.png"].skipped == "not a form (image/png file, too small to be a scanned page)"
    assert ms["mac.zip!forms/photo.png"].path is None
    assert ms["mac.zip!forms/readme.txt"].skipped == "not a form (text/plain file)"
    assert ms["mac.zip!forms/data.xlsx"].path is not None  # the caller says "unsupported file type"


def test_empty_zip_is_reported_not_dropped(tmp_path):
    z = build_zip(tmp_path / "empty.zip", {"dir/": b"", ".DS_Store": b"x"})
    assert members(z) == [Member(None, "empty.zip", None, "the archive holds no files")]


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_text("hello, I am text")
    [m] = members(p)
    assert m.path is None and m.error.startswith("not a readable zip archive: ")
    t = tmp_path / "t.zip"
    t.write_bytes(build_zip(tmp_path / "ok.zip", {"a.docx": DOCX.read_bytes()}).read_bytes()[:5000])
    [m] = members(t)
    assert m.error.startswith("not a readable zip archive: ")


def test_encrypted_zip(tmp_path):
    z = build_zip(tmp_path / "enc.zip", {"a.docx": DOCX.read_bytes(), "b.pdf": PDF.read_bytes()})
    set_encrypted_flag(z)
    [m] = members(z)
    assert m.source == "enc.zip" and m.error.startswith("the archive is encrypted: ")


def test_zip_bomb_by_declared_total(tmp_path):
    z = build_zip(tmp_path / "big.zip", {"a.docx": b"\0" * 600_000, "b.docx": b"\0" * 600_000})
    [m] = members(z, limits=Limits(max_total_bytes=1024 * 1024))
    assert m.source == "big.zip" and m.error == "refused: the archive expands to more than 1 MB (zip bomb?)"
    assert not list((tmp_path / "work").rglob("*.docx"))


def test_zip_bomb_by_compression_ratio(tmp_path):
    z = build_zip(tmp_path / "bomb.zip", {"bomb.docx": b"\0" * (3 * 1024 * 1024), "ok.docx": DOCX.read_bytes()})
    ms = by_source(members(z))
    assert ms["bomb.zip!bomb.docx"].path is None
    assert ms["bomb.zip!bomb.docx"].error.startswith("refused: compression ratio ")
    assert "(zip bomb?)" in ms["bomb.zip!bomb.docx"].error
    assert ms["bomb.zip!ok.docx"].path is not None


def test_member_size_limit(tmp_path):
    z = build_zip(tmp_path / "m.zip", {"big.pdf": bytes(range(256)) * 400, "ok.docx": DOCX.read_bytes()},
                  compression=zipfile.ZIP_STORED)
    ms = by_source(members(z, limits=Limits(max_member_bytes=50_000)))
    assert ms["m.zip!big.pdf"].error == "refused: big.pdf expands to more than 50000 bytes"
    assert ms["m.zip!ok.docx"].path is not None


def test_total_is_counted_across_nested_containers_while_unpacking(tmp_path):
    inner = build_zip(tmp_path / "in.zip", {f"f{i}.docx": DOCX.read_bytes() for i in range(3)},
                      compression=zipfile.ZIP_STORED)
    outer = build_zip(tmp_path / "out.zip", {f"in{i}.zip": inner.read_bytes() for i in range(3)},
                      compression=zipfile.ZIP_STORED)
    limit = 4 * inner.stat().st_size  # declared sizes of each level pass; the sum of the tree does not
    ms = members(outer, limits=Limits(max_total_bytes=limit))
    written = [m for m in ms if m.path]
    refused = [m for m in ms if m.error]
    assert written and refused
    assert any("expands to more than" in m.error for m in refused)
    total = sum(p.stat().st_size for p in (tmp_path / "work").rglob("*") if p.is_file())
    assert total <= limit


def test_member_count_limit(tmp_path):
    z = build_zip(tmp_path / "many.zip", {f"{i}.docx": b"x" for i in range(6)})
    [m] = members(z, limits=Limits(max_members=5))
    assert m.error == "refused: the archive holds 6 files, more than 5 (zip bomb?)"
    inner = build_zip(tmp_path / "i.zip", {f"{i}.docx": b"x" for i in range(3)})
    outer = build_zip(tmp_path / "o.zip", {f"i{i}.zip": inner.read_bytes() for i in range(3)})
    ms = members(outer, limits=Limits(max_members=5))
    assert len([m for m in ms if m.path]) < 9
    assert any(m.error and "more than 5 files" in m.error for m in ms)


def test_symlink_member_is_not_followed(tmp_path):
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zz:
        info = zipfile.ZipInfo("form.docx")
        info.external_attr = (0o120777 << 16)
        zz.writestr(info, "/etc/passwd")
    [m] = members(z)
    assert m.path is None and m.skipped == "a symbolic link, not a file"


def test_safe_basename():
    assert safe_basename("../../evil.docx") == "evil.docx"
    # Windows device names are never file names, with or without an extension
    assert [safe_basename(n) for n in ("CON", "nul.docx", "COM1.pdf", "lpt9", "Aux.tar.zip", "CONSOLE.docx")] == [
        "_CON", "_nul.docx", "_COM1.pdf", "_lpt9", "_Aux.tar.zip", "CONSOLE.docx"]
    assert safe_basename("C:\\x\\表.pdf") == "表.pdf"
    assert safe_basename("C:evil.docx") == "C_evil.docx"
    assert safe_basename("..") == "member"
    assert safe_basename(".hidden.docx") == "_hidden.docx"
    assert safe_basename("a\x00b?.docx") == "a_b_.docx"
    long = safe_basename("长" * 300 + ".docx")
    assert long.endswith(".docx") and len(long.encode()) <= 200


# --- .eml -------------------------------------------------------------------------------------------


def build_eml(path: Path, attachments: list[tuple[str, bytes, str]], inline_png: bool = False) -> Path:
    msg = EmailMessage()
    msg["From"] = "学校 <school@example.com>"
    msg["To"] = "office@example.com"
    msg["Subject"] = "自评表提交"
    msg.set_content("请查收附件。")
    msg.add_alternative("<p>请查收附件。</p>", subtype="html")
    if inline_png:
        msg.get_payload()[1].add_related(png_bytes(), "image", "png", cid="<logo@x>")
    for name, data, ctype in attachments:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    path.write_bytes(bytes(msg))
    return path


def test_eml_attachments_are_members_bodies_are_not(tmp_path):
    e = build_eml(tmp_path / "mail.eml", [
        (NAME, DOCX.read_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("自评表.pdf", PDF.read_bytes(), "application/pdf"),
        ("smime.p7s", b"sig", "application/pkcs7-signature"),
        ("说明.txt", "文字".encode(), "text/plain"),
    ], inline_png=True)
    assert b"filename*=" in e.read_bytes()  # the stdlib writes RFC 2231 names for non-ASCII
    ms = members(e)
    assert [m.source for m in ms] == ["mail.eml!inline1.png", f"mail.eml!{NAME}", "mail.eml!自评表.pdf",
                                      "mail.eml!smime.p7s", "mail.eml!说明.txt"]
    d = by_source(ms)
    assert d[f"mail.eml!{NAME}"].path.read_bytes() == DOCX.read_bytes()
    assert d["mail.eml!自评表.pdf"].path.read_bytes() == PDF.read_bytes()
    assert d["mail.eml!inline1.png"].skipped == "not a form (image/png inline image)"
    assert d["mail.eml!smime.p7s"].skipped == "not a form (application/pkcs7-signature attachment)"
    assert d["mail.eml!说明.txt"].skipped == "not a form (text/plain attachment)"


RAW_EML = """From: school@example.com\r
To: office@example.com\r
Subject: =?GB2312?B?19TGwLHt?=\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary="BOUND"\r
\r
--BOUND\r
Content-Type: text/plain; charset="utf-8"\r
Content-Transfer-Encoding: quoted-printable\r
\r
=E8=AF=B7=E6=9F=A5=E6=94=B6\r
--BOUND\r
Content-Type: application/octet-stream; name="=?GB2312?B?{gb_b64}?="\r
Content-Disposition: attachment; filename="=?GB2312?B?{gb_b64}?="\r
Content-Transfer-Encoding: base64\r
\r
{docx_b64}\r
--BOUND\r
Content-Type: application/rtf\r
Content-Disposition: attachment; filename="=?UTF-8?Q?{q_name}?="\r
Content-Transfer-Encoding: quoted-printable\r
\r
{{\\rtf1 =E8=87=AA=E8=AF=84 caf=C3=A9}}\r
--BOUND\r
Content-Type: application/pdf\r
Content-Disposition: attachment;\r
 filename==?GBK?B?{pdf_b64name}?=\r
Content-Transfer-Encoding: base64\r
\r
{pdf_b64}\r
--BOUND\r
Content-Type: application/octet-stream\r
Content-Disposition: attachment; filename="@RAWGBK@"\r
Content-Transfer-Encoding: base64\r
\r
{docx_b64}\r
--BOUND\r
Content-Type: application/octet-stream\r
Content-Disposition: attachment; filename*0*=UTF-8''%E8%87%AA%E8%AF%84; filename*1*=%E8%A1%A8.docx\r
Content-Transfer-Encoding: base64\r
\r
{docx_b64}\r
--BOUND--\r
"""


def wrap64(data: bytes) -> str:
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def test_eml_encoded_filenames_and_transfer_encodings(tmp_path):
    q_name = "".join(f"={b:02X}" for b in "自评说明.rtf".encode()).replace("=2E", ".")
    text = RAW_EML.format(gb_b64=base64.b64encode(NAME.encode("gbk")).decode(), docx_b64=wrap64(DOCX.read_bytes()),
                          q_name=q_name, pdf_b64name=base64.b64encode("自评表.pdf".encode("gbk")).decode(),
                          pdf_b64=wrap64(PDF.read_bytes()))
    raw = text.encode("ascii").replace(b"@RAWGBK@", "原始字节表.docx".encode("gbk"))
    e = tmp_path / "raw.eml"
    e.write_bytes(raw)
    ms = members(e)
    assert [m.source for m in ms] == [f"raw.eml!{NAME}", "raw.eml!自评说明.rtf", "raw.eml!自评表.pdf",
                                      "raw.eml!原始字节表.docx", "raw.eml!自评表.docx"]
    d = by_source(ms)
    assert all(m.path is not None for m in ms)
    assert d[f"raw.eml!{NAME}"].path.read_bytes() == DOCX.read_bytes()
    assert d["raw.eml!自评说明.rtf"].path.read_bytes() == "{\\rtf1 自评 café}".encode()
    assert d["raw.eml!自评表.pdf"].path.read_bytes() == PDF.read_bytes()
    assert d["raw.eml!原始字节表.docx"].path.read_bytes() == DOCX.read_bytes()


def test_zip_attached_to_eml_and_eml_in_zip(tmp_path):
    z = build_zip(tmp_path / "forms.zip", {f"学校A/{NAME}": DOCX.read_bytes()})
    e = build_eml(tmp_path / "mail.eml", [("forms.zip", z.read_bytes(), "application/zip")])
    assert [m.source for m in members(e)] == [f"mail.eml!forms.zip!学校A/{NAME}"]
    outer = build_zip(tmp_path / "saved.zip", {"邮件.eml": e.read_bytes(), "b.docx": DOCX2.read_bytes()})
    ms = members(outer, workdir=tmp_path / "w2")
    assert [m.source for m in ms] == [f"saved.zip!邮件.eml!forms.zip!学校A/{NAME}", "saved.zip!b.docx"]
    assert ms[0].path.read_bytes() == DOCX.read_bytes()


def test_unnamed_zip_attachment_gets_a_suffix(tmp_path):
    z = build_zip(tmp_path / "forms.zip", {"a.docx": DOCX.read_bytes()})
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "x"
    msg.set_content("body")
    msg.add_attachment(z.read_bytes(), maintype="application", subtype="zip")
    del msg.get_payload()[1]["Content-Disposition"]
    msg.get_payload()[1]["Content-Disposition"] = "attachment"
    e = tmp_path / "m.eml"
    e.write_bytes(bytes(msg))
    assert [m.source for m in members(e)] == ["m.eml!attachment1.zip!a.docx"]


def test_forwarded_message_attached_as_rfc822(tmp_path):
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "school@example.com", "原始邮件"
    inner.set_content("见附件")
    inner.add_attachment(DOCX.read_bytes(), maintype="application", subtype="octet-stream", filename=NAME)
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "office@example.com", "Fwd: 原始邮件"
    outer.set_content("转发")
    outer.add_attachment(inner)  # message/rfc822, no file name
    e = tmp_path / "fwd.eml"
    e.write_bytes(bytes(outer))
    ms = members(e)
    assert [m.source for m in ms] == [f"fwd.eml!原始邮件.eml!{NAME}"]
    assert ms[0].path.read_bytes() == DOCX.read_bytes()


def test_eml_without_attachments_and_not_an_email(tmp_path):
    e = build_eml(tmp_path / "plain.eml", [])
    assert members(e) == [Member(None, "plain.eml", None, "the e-mail has no attachments")]
    bad = tmp_path / "bad.eml"
    bad.write_bytes(DOCX.read_bytes())
    [m] = members(bad)
    assert m.path is None and m.error.startswith("not a readable e-mail (.eml) file")


def test_eml_attachment_over_the_member_limit_is_counted_while_writing(tmp_path):
    e = build_eml(tmp_path / "big.eml", [("big.pdf", b"%PDF" + b"x" * 100_000, "application/pdf"),
                                         ("ok.docx", b"PK small", "application/octet-stream")])
    d = by_source(members(e, limits=Limits(max_member_bytes=50_000)))
    assert d["big.eml!big.pdf"].error == "refused: big.pdf expands to more than 50000 bytes"
    assert d["big.eml!ok.docx"].path is not None
    assert not list((tmp_path / "work").rglob("big.pdf"))


def test_winmail_dat_is_an_error_not_a_silent_drop(tmp_path):
    e = build_eml(tmp_path / "tnef.eml", [("winmail.dat", b"\x78\x9f\x3e\x22", "application/ms-tnef")])
    [m] = members(e)
    assert m.source == "tnef.eml!winmail.dat" and "winmail.dat" in m.error


# --- Outlook .msg -----------------------------------------------------------------------------------


def test_msg_attachments(tmp_path):
    pytest.importorskip("extract_msg")
    p = tmp_path / "来信.msg"
    p.write_bytes((FIXTURES / "form_attached.msg").read_bytes())
    ms = members(p)
    assert [m.source for m in ms] == [f"来信.msg!{NAME}", "来信.msg!logo.png"]
    # form_attached.msg was made with a copy of a filled form (the former shared filled_clean.docx) attached:
    # these are its bytes
    attached = "2bb3a842e7e327395fc21b21808f5d03fd4024ed96fd3fafcb3fd7a932ae34a6"
    assert hashlib.sha256(ms[0].path.read_bytes()).hexdigest() == attached and ms[0].path.name == NAME
    assert ms[1].path is None and ms[1].skipped == "not a form (image/png attachment, too small to be a scanned page)"
    assert len(DocxParser().path_to_document(ms[0].path).tables) == 2


def test_msg_embedded_message_is_expanded(tmp_path):
    pytest.importorskip("extract_msg")
    ms = members(FIXTURES / "forwarded_embedded.msg", "fwd.msg", tmp_path / "w")
    assert [m.source for m in ms] == ["fwd.msg!原始邮件.msg!转发的自评表.docx"]
    doc = DocxParser().path_to_document(ms[0].path)
    assert doc.lines == ["转发的自评表"] and doc.tables[0].cells[0].text == "项目"


def test_msg_inside_a_zip(tmp_path):
    pytest.importorskip("extract_msg")
    z = build_zip(tmp_path / "mails.zip", {"来信.msg": (FIXTURES / "form_attached.msg").read_bytes()})
    assert [m.source for m in members(z)] == [f"mails.zip!来信.msg!{NAME}", "mails.zip!来信.msg!logo.png"]


def test_not_a_msg(tmp_path):
    pytest.importorskip("extract_msg")
    p = tmp_path / "x.msg"
    p.write_bytes(DOCX.read_bytes())
    [m] = members(p)
    assert m.path is None and m.error.startswith("not a readable Outlook .msg file: ")


def test_msg_without_extract_msg(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "extract_msg", None)  # import raises ImportError
    [m] = members(FIXTURES / "form_attached.msg", "a.msg", tmp_path / "w")
    assert m == Member(None, "a.msg", MSG_NEEDS_PACKAGE, None)
    assert MSG_NEEDS_PACKAGE == "reading .msg needs the extract-msg package: pip install extract-msg"


def test_workdir_only_holds_numbered_folders(tmp_path):
    z = build_zip(tmp_path / "a.zip", {"x/a.docx": DOCX.read_bytes(), "y/a.docx": DOCX2.read_bytes()})
    work = tmp_path / "work"
    ms = members(z, workdir=work)
    assert ms[0].path != ms[1].path and ms[0].path.name == ms[1].path.name == "a.docx"
    assert sorted(p.name for p in work.iterdir()) == ["001", "002"]
    # a second input into the same workdir does not collide
    ms2 = members(z, workdir=work)
    assert {m.path for m in ms2}.isdisjoint({m.path for m in ms})
    assert ms2[0].path.read_bytes() == DOCX.read_bytes()


def test_an_attached_photo_big_enough_to_be_a_page_is_read_not_skipped(tmp_path):
    import io
    import random

    from PIL import Image

    rnd = random.Random(1)
    img = Image.frombytes("L", (300, 300), bytes(rnd.randrange(256) for _ in range(300 * 300)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert len(buf.getvalue()) > 40 * 1024
    z = build_zip(tmp_path / "scans.zip", {"自评表扫描件.png": buf.getvalue()})
    (m,) = list(members(z))
    assert (m.source, m.skipped, m.error) == ("scans.zip!自评表扫描件.png", None, None)
    assert m.path.read_bytes() == buf.getvalue()


# --- hostile archives: each ends its own container with one failed member, never the batch -------------------------


_patch_central = patch_central  # one helper for the central-directory patches (tests/test_supervisor.py)


def _zip_bytes(path: Path, entries: dict[str, bytes]) -> bytes:
    return build_zip(path, entries).read_bytes()


@pytest.mark.parametrize("version, shown", [(99, "9.9"), (153, "15.3")])
def test_zip_version_needed_beyond_zipfile_is_one_failed_member(tmp_path, version, shown):
    z = tmp_path / "v.zip"
    z.write_bytes(_patch_central(_zip_bytes(tmp_path / "tmp.zip", {"a.docx": b"form"}), 6, version))
    assert members(z) == [Member(None, "v.zip", error=f"cannot unpack this zip archive (zip file version {shown}): "
                                                      "re-zip it with a standard zip tool")]


def test_zip_member_name_starting_with_nul_is_refused_and_the_others_kept(tmp_path):
    z = tmp_path / "n.zip"
    z.write_bytes(_zip_bytes(tmp_path / "tmp.zip", {"Xhidden.docx": b"x", "form.docx": b"form"})
                  .replace(b"Xhidden.docx", b"\x00hidden.docx"))
    ms = members(z)
    assert [(m.source, m.error) for m in ms] == [
        ("n.zip", "refused: 1 member(s) of the archive have no name (it starts with a NUL byte): re-zip it with a "
                  "standard zip tool"), ("n.zip!form.docx", None)]
    assert ms[1].path.read_bytes() == b"form"


def test_an_email_keeps_the_form_beside_a_zip_that_cannot_be_unpacked(tmp_path):
    bad = _patch_central(_zip_bytes(tmp_path / "tmp.zip", {"a.docx": b"form"}), 6, 99)
    eml = build_eml(tmp_path / "m.eml", [("自评表.docx", b"PK form", "application/octet-stream"),
                                         ("forms.zip", bad, "application/zip")])
    ms = members(eml)
    assert [(m.source, m.error) for m in ms] == [
        ("m.eml!自评表.docx", None),
        ("m.eml!forms.zip",
         "cannot unpack this zip archive (zip file version 9.9): re-zip it with a standard zip tool")]
    assert ms[0].path.read_bytes() == b"PK form"


def test_zip_with_an_unsupported_method_fails_member_by_member_with_one_reason(tmp_path):
    raw = _zip_bytes(tmp_path / "tmp.zip", {f"f{n}.docx": b"x" * 50 for n in range(3)})
    z = tmp_path / "m.zip"
    z.write_bytes(_patch_central(raw, 10, 99))
    assert [(m.source, m.error) for m in members(z)] == [
        (f"m.zip!f{n}.docx", f"cannot unpack f{n}.docx: That compression method is not supported; re-zip it with a "
                             "standard zip tool") for n in range(3)]


def test_an_error_raised_while_unpacking_ends_only_that_container(tmp_path, monkeypatch):
    import extractor.containers as c

    inner = build_zip(tmp_path / "inner.zip", {"a.docx": b"form a"})
    outer = build_zip(tmp_path / "outer.zip", {"first.docx": b"form 1", "inner.zip": inner.read_bytes(),
                                               "last.docx": b"form 2"})
    real = c._zip

    def forged(path, source, depth, st):
        if source.endswith("inner.zip"):
            raise KeyError("forged entry")
        yield from real(path, source, depth, st)

    monkeypatch.setattr(c, "_zip", forged)
    assert [(m.source, m.error) for m in members(outer)] == [
        ("outer.zip!first.docx", None),
        ("outer.zip!inner.zip", "cannot unpack this archive (KeyError: 'forged entry'): re-send the files"),
        ("outer.zip!last.docx", None)]
