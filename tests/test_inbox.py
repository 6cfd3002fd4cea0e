"""A whole inbox through the real CLI: containers, legacy Word, and the foreign files refused cleanly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

from .conftest import SAMPLES, truth
from .test_containers import build_eml, build_zip, build_zip_raw_names

FIXTURES = Path(__file__).parent / "fixtures"
ERRORS_PDF_NATIONAL = ("qh_err_overcap_20.docx", "qh_pdf_lo_merged_36.pdf", "national_merged_30.docx")


def test_an_inbox_of_containers_and_legacy_word_is_read_with_member_sources(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # The GBK zip holds the filled form that the .msg fixture and the .doc fixture were made from
    # (德令哈市祁连职业技术学院); the others are bundled samples, institutions from samples/truth.json.
    clean = FIXTURES / "legacy" / "filled_clean.docx"
    errors, pdf, national = (SAMPLES / n for n in ERRORS_PDF_NATIONAL)
    build_zip_raw_names(inbox / "gbk.zip", [("自评表_祁连.docx".encode("gbk"), clean.read_bytes())])
    inner = build_zip(tmp_path / "inner.zip", {"errors.docx": errors.read_bytes()})
    build_zip(inbox / "outer.zip", {"inner.zip": inner.read_bytes()})
    build_eml(inbox / "mail.eml", [("自评表.pdf", pdf.read_bytes(), "application/pdf"),
                                   ("national.docx", national.read_bytes(),
                                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])
    shutil.copy(FIXTURES / "containers" / "form_attached.msg", inbox / "来信.msg")
    if shutil.which("soffice"):
        shutil.copy(FIXTURES / "legacy" / "filled_clean.doc", inbox / "old.doc")
    db = tmp_path / "s.db"
    r = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(db)])
    assert r.exit_code == 0, r.stderr
    recs = json.loads(CliRunner().invoke(main, ["export", "--db", str(db), "--all"]).stdout)
    got = {rec["source"].removeprefix(str(inbox) + "/"): (rec["status"], rec["institution"]) for rec in recs}
    assert got["gbk.zip!自评表_祁连.docx"] == ("ok", "德令哈市祁连职业技术学院")
    e_inst, p_inst, n_inst = (truth(n)["institution"] for n in ERRORS_PDF_NATIONAL)
    assert got["outer.zip!inner.zip!errors.docx"] == ("flagged", e_inst)
    assert got["mail.eml!自评表.pdf"] == ("ok", p_inst)
    assert got["mail.eml!national.docx"] == ("ok", n_inst)
    if shutil.which("soffice"):
        assert got["old.doc"] == ("ok", "德令哈市祁连职业技术学院")
    # The .msg carries fixtures/legacy/filled_clean.docx again (same bytes as the GBK zip's member) and a logo.
    skipped = sorted(line.removeprefix("skipped  " + str(inbox) + "/") for line in r.stderr.splitlines()
                     if line.startswith("skipped"))
    assert skipped == ["来信.msg!logo.png: not a form (image/png attachment, too small to be a scanned page)",
                       "来信.msg!自评表_某某学校.docx: same bytes as another file in this batch"]


def _letter_docx(path: Path, signed: str = "办公室") -> bytes:
    import docx

    d = docx.Document()
    for line in ("尊敬的各位同事：", "下周一上午九点在三楼会议室召开年度工作会议，请准时参加。", f"{signed} 2024年5月6日"):
        d.add_paragraph(line)
    d.save(path)
    return path.read_bytes()


def _text_pdf(path: Path) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("STSong-Light", 12)
    for n, line in enumerate(("关于召开年度工作会议的通知", "各部门：定于下周一召开年度工作会议。", "特此通知。")):
        c.drawString(72, 770 - 20 * n, line)
    c.showPage()
    c.save()
    return path.read_bytes()


def _png(path: Path, size=(640, 480)) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, "white")
    ImageDraw.Draw(im).ellipse((100, 100, 400, 380), fill="red")  # a logo, no table
    im.save(path)
    return path.read_bytes()


def test_files_that_are_no_forms_are_each_refused_with_one_line(tmp_path):
    """Non-form files of every kind the inbox reads, written here (the real ones from other projects' test
    suites, are ingested by bench/foreign.py)."""
    pytest.importorskip("reportlab")
    from .test_containers import build_eml

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    work = tmp_path / "src"
    work.mkdir()
    letter = _letter_docx(inbox / "letter.docx")
    text_pdf = _text_pdf(inbox / "notice.pdf")
    png = _png(inbox / "logo.png")
    build_eml(inbox / "note.eml", [])  # a text body only
    build_zip(inbox / "bundle.zip", {"letter2.docx": _letter_docx(work / "l2.docx", "人事科"),
                                     "notice2.pdf": _text_pdf(work / "n2.pdf"), "photo.png": _png(work / "p.png",
                                                                                                  (800, 600))})
    assert letter and text_pdf and png
    db = tmp_path / "f.db"
    start = time.perf_counter()
    r = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(db), "--timeout", "60"])
    assert time.perf_counter() - start < 300
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    recs = json.loads(CliRunner().invoke(main, ["export", "--db", str(db), "--all"]).stdout)
    by_file = {}
    for rec in recs:
        by_file.setdefault(rec["source"].removeprefix(str(inbox) + "/").split("!")[0], []).append(rec)
    # every file has a record (a zip's members stand for the zip), and none was taken for a form
    assert sorted(by_file) == ["bundle.zip", "letter.docx", "logo.png", "note.eml", "notice.pdf"]
    for rec in recs:
        assert rec["status"] == "failed", rec["source"]
        assert rec["error"] and "\n" not in rec["error"] and "please report" not in rec["error"], rec
        assert "Traceback" not in rec["error"]


# --- one outcome per container ----------------------------------------------------------------------------------


def test_a_container_with_nothing_to_read_is_one_failed_record_listing_what_it_held(tmp_path):
    from .test_containers import build_eml, png_bytes

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    build_eml(inbox / "mail.eml", [("logo.png", png_bytes(), "image/png"), ("notes.txt", b"hi", "text/plain")])
    inner = build_zip(tmp_path / "inner.zip", {"readme.txt": b"hi"})
    build_zip(inbox / "outer.zip", {"inner.zip": inner.read_bytes(), "photo.gif": b"GIF89a"})
    build_zip(inbox / "empty.zip", {})
    db = tmp_path / "s.db"
    r = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(db)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    recs = json.loads(CliRunner().invoke(main, ["export", "--db", str(db), "--all"]).stdout)
    got = [(rec["source"].removeprefix(str(inbox) + "/"), rec["status"], rec["error"], rec["format"]) for rec in recs]
    assert got == [
        ("empty.zip", "failed", "no form inside: the archive holds no files", "zip"),
        ("mail.eml", "failed", "no form inside: 2 attachments skipped (logo.png: not a form (image/png attachment, "
                               "too small to be a scanned page), notes.txt: not a form (text/plain attachment))",
         "eml"),
        ("outer.zip", "failed", "no form inside: 2 files skipped (inner.zip!readme.txt: not a form (text/plain "
                                "file), photo.gif: not a form (image/gif file))", "zip")]
    assert not [line for line in r.stderr.splitlines() if line.startswith("skipped")]
    again = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(db)])
    assert again.exit_code == 0 and again.stderr.count("already ingested") == 3


def test_container_records_and_collapse_work_per_nested_container():
    from extractor.containers import Member
    from extractor.inbox import collapse_members, container_records

    ms = [Member(Path("/w/1/a.docx"), "m.eml!a.docx"),
          Member(None, "m.eml!x.zip!s.png", skipped="not a form (image/png file)"),
          Member(None, "m.eml!y.zip!1.docx", error="cannot unpack 1.docx: bad method"),
          Member(None, "m.eml!y.zip!2.docx", error="cannot unpack 2.docx: bad method")]
    assert container_records("m.eml", collapse_members("m.eml", ms)) == [
        ms[0], Member(None, "m.eml!x.zip", error="no form inside: 1 file skipped (s.png: not a form (image/png file))"),
        Member(None, "m.eml!y.zip", error="all 2 files inside failed the same way, e.g. cannot unpack 1.docx: bad "
                                          "method")]
    # Different reasons are kept apart: a person needs each.
    mixed = [ms[2], Member(None, "m.eml!y.zip!3.docx", error="refused: 3.docx expands to more than 100 MB")]
    assert collapse_members("m.eml", mixed) == mixed
