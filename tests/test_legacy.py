"""Legacy Word (.doc/.wps/.rtf) via LibreOffice.

fixtures/legacy/filled_clean.doc was made ONCE from fixtures/legacy/filled_clean.docx (committed beside it, a
python-docx filled form, formerly the shared sample set's filled_clean.docx), through ODT
(LibreOffice's direct docx->doc export flattened the main table of this python-docx file into text):
    soffice --headless --convert-to odt filled_clean.docx
    soffice --headless --convert-to doc filled_clean.odt
Do not regenerate it in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

import pytest

from extractor.parsers import legacy, path_to_document
from extractor.parsers.base import ParseError
from extractor.parsers.docx import DocxParser
from extractor.parsers.legacy import (
    DEFAULT_CONVERT_TIMEOUT,
    NEEDS_LIBREOFFICE,
    OLE2_MAGIC,
    WPS_FAILED,
    LegacyWordParser,
)

from .conftest import build_docx

FIXTURE_DOC = Path(__file__).parent / "fixtures" / "legacy" / "filled_clean.doc"
DOCX = Path(__file__).parent / "fixtures" / "legacy" / "filled_clean.docx"  # what FIXTURE_DOC was made from

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")


def cells(table):
    return [(c.row, c.col, c.rowspan, c.colspan, c.text) for c in table.cells]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Make tempfile use a folder of this test, to check that nothing is left behind."""
    t = tmp_path / "systmp"
    t.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(t))
    return t


def test_fixture_is_a_word97_file():
    assert FIXTURE_DOC.read_bytes()[:8] == OLE2_MAGIC
    assert FIXTURE_DOC.stat().st_size < 200_000
    assert DEFAULT_CONVERT_TIMEOUT == 60
    assert LegacyWordParser.kind == "doc" and {".doc", ".wps"} <= set(LegacyWordParser.suffixes)


@needs_soffice
def test_doc_reads_like_the_docx_it_came_from(private_tmp):
    want = DocxParser().path_to_document(DOCX)
    got = LegacyWordParser().path_to_document(FIXTURE_DOC)
    assert got.kind == "doc"
    assert len(got.tables) == len(want.tables) == 2
    main_got, main_want = got.tables[1], want.tables[1]
    assert (main_got.n_rows, main_got.n_cols) == (main_want.n_rows, main_want.n_cols)
    assert cells(main_got) == cells(main_want)
    assert cells(got.tables[0]) == cells(want.tables[0])
    assert got.lines == want.lines
    assert list(private_tmp.iterdir()) == []  # converted files and the private profile are removed


@needs_soffice
def test_wps_that_is_really_a_doc_converts(tmp_path):
    wps = tmp_path / "自评表.wps"
    shutil.copyfile(FIXTURE_DOC, wps)
    got = LegacyWordParser().path_to_document(wps)
    assert got.kind == "doc"
    assert cells(got.tables[1]) == cells(DocxParser().path_to_document(DOCX).tables[1])


def rtf_escape(text: str) -> str:
    return "".join(c if ord(c) < 128 else f"\\u{ord(c) - 65536 if ord(c) > 32767 else ord(c)}?" for c in text)


@needs_soffice
def test_doc_that_is_really_rtf_converts(tmp_path):
    rtf = ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 SimSun;}}\n\\pard " + rtf_escape("自评表") + "\\par\n"
           "\\trowd\\cellx2000\\cellx4000\\cellx6000\n"
           "\\pard\\intbl " + rtf_escape("项目") + "\\cell " + rtf_escape("分值") + "\\cell " + rtf_escape("自评") + "\\cell\\row\n"
           "\\trowd\\cellx2000\\cellx4000\\cellx6000\n"
           "\\pard\\intbl " + rtf_escape("办公场地") + "\\cell 5\\cell 4.5\\cell\\row\n\\pard\\par}")
    p = tmp_path / "form.doc"
    p.write_text(rtf, encoding="ascii")
    doc = LegacyWordParser().path_to_document(p)
    assert "自评表" in doc.lines
    assert [[c.text for c in t.cells] for t in doc.tables] == [["项目", "分值", "自评", "办公场地", "5", "4.5"]]
    r = tmp_path / "form.rtf"
    r.write_text(rtf, encoding="ascii")
    assert LegacyWordParser().path_to_document(r).tables[0].cells[3].text == "办公场地"


@needs_soffice
def test_doc_that_is_really_html_converts(tmp_path):
    p = tmp_path / "系统导出.doc"
    p.write_text("<html><head><meta charset='utf-8'></head><body><p>自评表</p><table border=1>"
                 "<tr><td>项目</td><td>分值</td></tr><tr><td colspan=2>合计</td></tr></table></body></html>",
                 encoding="utf-8")
    doc = LegacyWordParser().path_to_document(p)
    assert cells(doc.tables[0]) == [(0, 0, 1, 1, "项目"), (0, 1, 1, 1, "分值"), (1, 0, 1, 2, "合计")]


def test_doc_that_is_really_docx_is_read_directly(tmp_path, monkeypatch):
    p = build_docx(tmp_path / "x.docx", [{"rows": [["项目", "分值"], ["a", "1"]]}])
    doc_named = tmp_path / "x.doc"
    shutil.copyfile(p, doc_named)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # no LibreOffice needed
    doc = LegacyWordParser().path_to_document(doc_named)
    assert [c.text for c in doc.tables[0].cells] == ["项目", "分值", "a", "1"]


@pytest.mark.parametrize("content, what", [
    ("这是一段文字，不是 Word 文件。\nplain text\n".encode(), "it is plain text"),
    ("这是一段文字".encode("gbk") * 10, "it is plain text"),
    (b"", "the file is empty"),
    (b"%PDF-1.7\n...", "it is a PDF file"),
    (b"\x00\x01\x02\x03garbage\xff\xfe", "unknown content (starts with 00 01 02 03"),
])
def test_a_file_that_is_not_a_word_document_is_refused(tmp_path, content, what):
    p = tmp_path / "fake.doc"
    p.write_bytes(content)
    with pytest.raises(ParseError, match=r"^not a Word 97-2003 document: ") as e:
        LegacyWordParser().path_to_document(p)
    assert what in str(e.value)
    w = tmp_path / "fake.wps"
    w.write_bytes(content)
    with pytest.raises(ParseError, match=r"^not a Word 97-2003 document: .*save it as \.docx"):
        LegacyWordParser().path_to_document(w)


def test_missing_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(legacy, "_MAC_SOFFICE", str(tmp_path / "no-such-soffice"))
    with pytest.raises(ParseError) as e:
        LegacyWordParser().path_to_document(FIXTURE_DOC)
    assert str(e.value) == NEEDS_LIBREOFFICE == "reading .doc needs LibreOffice: apt-get install libreoffice-writer-nogui"
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(ParseError, match="needs LibreOffice"):
        LegacyWordParser().path_to_document(FIXTURE_DOC)


def fake_soffice(folder: Path, body: str) -> Path:
    """An executable named soffice on a PATH of its own; it logs its arguments to args.log."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "soffice"
    exe.write_text(f"#!/bin/sh\necho \"$@\" >> {folder}/args.log\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def test_timeout_kills_the_process_group(tmp_path, monkeypatch, private_tmp):
    bindir = tmp_path / "bin"
    fake_soffice(bindir, f"sleep 300 &\necho $! > {bindir}/child.pid\nsleep 300")
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    start = time.monotonic()
    with pytest.raises(ParseError) as e:
        LegacyWordParser(timeout=1).path_to_document(FIXTURE_DOC)
    assert time.monotonic() - start < 20
    assert str(e.value) == "converting the .doc with LibreOffice took longer than 1 s"
    child = int((bindir / "child.pid").read_text())
    for _ in range(50):  # the background child was in the group: killed too
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the soffice child process survived the timeout")
    assert list(private_tmp.iterdir()) == []


def test_private_profile_and_failed_conversion(tmp_path, monkeypatch, private_tmp):
    bindir = tmp_path / "bin"
    fake_soffice(bindir, "exit 0")  # "converts" but writes nothing, as LibreOffice does on failure
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    with pytest.raises(ParseError, match=r"^LibreOffice could not convert this \.doc"):
        LegacyWordParser().path_to_document(FIXTURE_DOC)
    wps = tmp_path / "a.wps"
    shutil.copyfile(FIXTURE_DOC, wps)
    with pytest.raises(ParseError) as e:
        LegacyWordParser().path_to_document(wps)
    assert str(e.value) == WPS_FAILED == "cannot read this WPS file: open it in WPS and save it as .docx"
    calls = (bindir / "args.log").read_text().splitlines()
    assert len(calls) == 3  # .doc once; .wps tried as input.doc, then as input.wps
    assert calls[1].endswith("input.doc") and calls[2].endswith("input.wps")
    profiles = [a.split("=", 1)[1] for line in calls for a in line.split() if a.startswith("-env:UserInstallation=")]
    assert len(set(profiles)) == 3 and all(p.startswith("file:///") for p in profiles)
    assert "--headless" in calls[0] and "--norestore" in calls[0] and "--convert-to docx" in calls[0]
    assert "--infilter=MS Word 97" in calls[1] and "--infilter=MS_Works" in calls[2]
    assert list(private_tmp.iterdir()) == []


@needs_soffice
def test_damaged_ole_file_is_not_imported_as_text(tmp_path):
    # Left to itself LibreOffice imports this garbage as a text document; the forced filter refuses it.
    p = tmp_path / "bad.wps"
    p.write_bytes(OLE2_MAGIC + bytes(range(256)) * 8)
    with pytest.raises(ParseError) as e:
        LegacyWordParser().path_to_document(p)
    assert str(e.value) == WPS_FAILED
    d = tmp_path / "bad.doc"
    d.write_bytes(p.read_bytes())
    with pytest.raises(ParseError, match=r"^LibreOffice could not convert this \.doc \(damaged or password-protected\?\)"):
        LegacyWordParser().path_to_document(d)


# --- Word 6/95 vs 97-2003, and password-protected files (sniffed from the OLE2 structure and the FIB) ----------


def patched_fib(dst: Path, nfib: int | None = None, flags: int = 0) -> Path:
    """The Word 97 fixture with its FIB's nFib replaced and/or flag bits set (olefile rewrites the stream in
    place): a Word 6.0/95 file to the sniffer (nFib 101 Word 6.0, 104 Word 95), or an encrypted one (0x0100)."""
    import struct

    olefile = pytest.importorskip("olefile")
    shutil.copyfile(FIXTURE_DOC, dst)
    with olefile.OleFileIO(str(dst), write_mode=True) as ole:
        data = bytearray(ole.openstream("WordDocument").read())
        if nfib is not None:
            struct.pack_into("<H", data, 2, nfib)
        struct.pack_into("<H", data, 10, struct.unpack_from("<H", data, 10)[0] | flags)
        ole.write_stream("WordDocument", bytes(data))
    return dst


def renamed_stream(dst: Path, old: str, new: str) -> Path:
    """The fixture with one OLE2 directory entry renamed (name and its length field patched in the bytes): an
    OLE2 file whose streams say it is something else than Word."""
    import struct

    data = bytearray(FIXTURE_DOC.read_bytes())
    at = data.index(old.encode("utf-16-le") + b"\x00\x00")
    name = new.encode("utf-16-le") + b"\x00\x00"
    data[at:at + 64] = name + bytes(64 - len(name))
    struct.pack_into("<H", data, at + 64, len(name))
    dst.write_bytes(bytes(data))
    return dst


def encrypted_docx(dst: Path) -> Path:
    """A real python-docx form encrypted with a password by msoffcrypto-tool (as Word does: an OLE2 file with
    EncryptionInfo and EncryptedPackage streams)."""
    msoffcrypto_ooxml = pytest.importorskip("msoffcrypto.format.ooxml", reason="msoffcrypto-tool is not installed")
    plain = dst.with_name("plain.docx")
    build_docx(plain, [{"rows": [["序号", "自评得分"], ["1", "5"]]}])
    with open(plain, "rb") as f, open(dst, "wb") as out:
        msoffcrypto_ooxml.OOXMLFile(f).encrypt("secret", out)
    return dst


@pytest.mark.parametrize("nfib, kind, infilter", [(101, "word95", "MS Word 95"), (104, "word95", "MS Word 95"),
                                                  (193, "word97", "MS Word 97"), (257, "word97", "MS Word 97")])
def test_the_word_version_is_sniffed_from_the_fib(tmp_path, nfib, kind, infilter):
    from extractor.parsers.ole import path_to_ole_info

    info = path_to_ole_info(patched_fib(tmp_path / "v.doc", nfib=nfib))
    assert (info.kind, info.nfib, info.encrypted, info.infilter) == (kind, nfib, False, infilter)


def test_the_fixture_is_word97_and_keeps_the_word97_filter():
    from extractor.parsers.ole import path_to_ole_info

    info = path_to_ole_info(FIXTURE_DOC)
    assert (info.kind, info.nfib, info.infilter) == ("word97", 257, "MS Word 97")


def test_a_word95_doc_gets_the_word95_import_filter(tmp_path, monkeypatch, private_tmp):
    bindir = tmp_path / "bin"
    fake_soffice(bindir, "exit 0")
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    for name in ("w95.doc", "w95.wps", "w97.doc"):
        path = patched_fib(tmp_path / name, nfib=193 if name == "w97.doc" else 104)
        with pytest.raises(ParseError):
            LegacyWordParser().path_to_document(path)
    calls = (bindir / "args.log").read_text().splitlines()
    filters = [a.split("=", 1)[1] for line in calls for a in line.split("--")[1:] if a.startswith("infilter=")]
    # Before: "MS Word 97" was forced on all, and Word 6/95 files were "damaged or password-protected?".
    assert [f.strip() for f in filters] == ["MS Word 95", "MS Word 95", "MS_Works", "MS Word 97"]


@needs_soffice
def test_libreoffices_word_filters_are_version_strict(tmp_path, private_tmp):
    # No LibreOffice writes Word 6/95 (its "MS Word 95" filter only imports), so no real Word 95 file is built
    # here. What the sniff relies on is checked instead: the filter exists and takes only its own version (an
    # unknown filter name is ignored and the file converts), so a Word 97 file through "MS Word 95" fails just
    # as a Word 95 file through "MS Word 97" did.
    soffice = legacy.find_soffice()
    word95 = legacy.convert_to_docx(soffice, FIXTURE_DOC, private_tmp, "a.doc", "MS Word 95", 120, ".doc")
    unknown = legacy.convert_to_docx(soffice, FIXTURE_DOC, private_tmp, "b.doc", "No Such Filter", 120, ".doc")
    assert word95 is None and unknown is not None and unknown.suffix == ".docx"


def test_a_doc_with_the_encryption_flag_is_named_password_protected(tmp_path, monkeypatch):
    from extractor.parsers.ole import PASSWORD_PROTECTED

    monkeypatch.setattr(legacy, "find_soffice", lambda: pytest.fail("LibreOffice must not be started"))
    path = patched_fib(tmp_path / "locked.doc", flags=0x0100)
    with pytest.raises(ParseError) as e:
        LegacyWordParser().path_to_document(path)
    assert str(e.value) == PASSWORD_PROTECTED == ("the Word file is password-protected: remove the password and "
                                                  "send it again")


@pytest.mark.parametrize("name", ["locked.docx", "locked.doc", "locked.docm"])
def test_a_password_protected_docx_is_named_so(tmp_path, monkeypatch, name):
    from extractor.parsers import path_to_document

    monkeypatch.setattr(legacy, "find_soffice", lambda: pytest.fail("LibreOffice must not be started"))
    path = encrypted_docx(tmp_path / name)
    assert path.read_bytes()[:8] == OLE2_MAGIC
    with pytest.raises(ParseError) as e:
        path_to_document(path)
    # Before: "not a readable Word file (not a .docx zip, or truncated)".
    assert str(e.value) == "the Word file is password-protected: remove the password and send it again"


def test_an_ole2_file_that_is_no_word_document_is_named(tmp_path, monkeypatch):
    from extractor.parsers import path_to_document

    monkeypatch.setattr(legacy, "find_soffice", lambda: pytest.fail("LibreOffice must not be started"))
    xls = renamed_stream(tmp_path / "table.doc", "WordDocument", "Workbook")
    with pytest.raises(ParseError) as e:
        path_to_document(xls)
    assert str(e.value) == ("not a Word 97-2003 document: it is an Excel workbook (.xls); open it in Word or WPS "
                            "and save it as .docx")
    as_docx = tmp_path / "table.docx"
    shutil.copyfile(xls, as_docx)
    with pytest.raises(ParseError) as e:
        path_to_document(as_docx)
    assert str(e.value) == ("not a readable Word file: it is an Excel workbook (.xls), not a .docx; open it in Word "
                            "or WPS and save it as .docx")


@needs_soffice
def test_a_doc_saved_under_a_docx_name_is_converted(tmp_path, private_tmp):
    misnamed = tmp_path / "自评表.docx"
    shutil.copyfile(FIXTURE_DOC, misnamed)
    got = path_to_document(misnamed)  # the registry's .docx parser hands an old Word file to the legacy parser
    want = LegacyWordParser().path_to_document(FIXTURE_DOC)
    assert got.kind == "doc" and cells(got.tables[1]) == cells(want.tables[1])
    with pytest.raises(ParseError, match=r"old Word \(\.doc\) file under a \.docx name"):
        DocxParser().path_to_document(misnamed)  # a bare .docx parser has no converter: one line, no guess
