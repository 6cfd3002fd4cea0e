"""A whole inbox through the real CLI: containers, legacy Word, and the foreign files refused cleanly."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

from .conftest import SHARED, SHARED_FORMS
from .test_containers import build_eml, build_zip, build_zip_raw_names

FIXTURES = Path(__file__).parent / "fixtures"


def test_an_inbox_of_containers_and_legacy_word_is_read_with_member_sources(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    clean, errors, pdf = (SHARED_FORMS / n for n in ("filled_clean.docx", "filled_errors.docx", "filled_pdf.pdf"))
    build_zip_raw_names(inbox / "gbk.zip", [("自评表_祁连.docx".encode("gbk"), clean.read_bytes())])
    inner = build_zip(tmp_path / "inner.zip", {"errors.docx": errors.read_bytes()})
    build_zip(inbox / "outer.zip", {"inner.zip": inner.read_bytes()})
    build_eml(inbox / "mail.eml", [("自评表.pdf", pdf.read_bytes(), "application/pdf"),
                                   ("national.docx", (SHARED_FORMS / "national_filled.docx").read_bytes(),
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
    assert got["outer.zip!inner.zip!errors.docx"] == ("flagged", "海北州高原职业培训中心")
    assert got["mail.eml!自评表.pdf"] == ("ok", "海南州日月山餐饮管理有限公司")
    assert got["mail.eml!national.docx"] == ("ok", "黄南州三江源技工学校")
    if shutil.which("soffice"):
        assert got["old.doc"] == ("ok", "德令哈市祁连职业技术学院")
    # The .msg carries filled_clean.docx again (same bytes as the GBK zip's member) and a logo.
    skipped = sorted(line.removeprefix("skipped  " + str(inbox) + "/") for line in r.stderr.splitlines()
                     if line.startswith("skipped"))
    assert skipped == ["来信.msg!logo.png: not a form (image/png attachment, too small to be a scanned page)",
                       "来信.msg!自评表_某某学校.docx: same bytes as another file in this batch"]


@pytest.mark.skipif(not (SHARED / "foreign").is_dir(), reason="needs ../shared/foreign")
def test_the_foreign_files_are_all_refused_cleanly_in_bounded_time(tmp_path):
    db = tmp_path / "f.db"
    start = time.perf_counter()
    r = CliRunner().invoke(main, ["ingest", str(SHARED / "foreign"), "--db", str(db), "--timeout", "60"])
    assert time.perf_counter() - start < 300
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    recs = json.loads(CliRunner().invoke(main, ["export", "--db", str(db), "--all"]).stdout)
    files = [p for p in (SHARED / "foreign").rglob("*") if p.is_file()]
    skipped = [line for line in r.stderr.splitlines() if line.startswith("skipped")]
    # One record per file (a zip's member stands for the zip); byte-identical files are skipped, not stored twice.
    assert len(recs) + len(skipped) == len(files)
    for rec in recs:
        assert rec["status"] == "failed", rec["source"]
        assert rec["error"] and "\n" not in rec["error"] and "please report" not in rec["error"], rec


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
