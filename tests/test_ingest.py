"""Ingest: idempotent, supersede, bad inputs, limits, parallel, kill-and-resume, concurrent runs."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from extractor.ingest import ingest
from extractor.store import open_db
from samples.generate import build_form, form_spec, save_docx
from samples.variant import Variant

ROOT = Path(__file__).resolve().parents[1]


def make_form(path: Path, seed: int = 0, when: date | None = None, bump: bool = False, **variant) -> Path:
    """Write one generated Qinghai form; `when` reprints its fill date, `bump` changes one score."""
    spec = form_spec("qh", Variant(**variant), random.Random(seed))
    if when is not None:
        spec.fill_date = when
        spec.cover = [f"填报日期：{when.year}年{when.month}月{when.day}日" if "日" in line and "期" in line else line
                      for line in spec.cover]
    if bump:
        row = next(r for r in spec.rows if r.item == "考生守则（1分）")
        row.cells["self"] = "0.5" if row.cells["self"].strip() != "0.5" else "0"
    save_docx(build_form(spec), path)
    return path


def _export(db_path: Path, *extra: str) -> list[dict]:
    r = CliRunner().invoke(main, ["export", "--db", str(db_path), *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_same_bytes_twice_get_one_record(tmp_path, rubrics):
    db = open_db(tmp_path / "s.db")
    a = tmp_path / "a.docx"
    make_form(a)
    (tmp_path / "copy.docx").write_bytes(a.read_bytes())
    s1 = ingest(db, [str(a), str(tmp_path / "copy.docx")], rubrics, jobs=1)
    assert (s1.read, s1.skipped) == (1, 1)
    assert (str(tmp_path / "copy.docx"), "skipped", "same bytes as another file in this batch") in s1.results
    s2 = ingest(db, [str(a)], rubrics, jobs=1)
    assert (s2.read, s2.skipped) == (0, 1) and s2.results[0][2] == "already ingested (form 1)"
    assert db["forms"].count == 1


def test_a_later_form_of_the_same_institution_supersedes_the_earlier(tmp_path, rubrics):
    old = make_form(tmp_path / "old.docx", seed=3, when=date(2024, 5, 1))
    new = make_form(tmp_path / "new.docx", seed=3, when=date(2024, 6, 1), bump=True)
    db = open_db(tmp_path / "s.db")
    ingest(db, [str(new)], rubrics, jobs=1)
    ingest(db, [str(old)], rubrics, jobs=1)  # ingested later, but filled earlier
    rows = {r["source"].rsplit("/", 1)[-1]: r for r in db["forms"].rows}
    assert rows["new.docx"]["superseded_by"] is None
    assert rows["old.docx"]["superseded_by"] == rows["new.docx"]["id"]
    assert rows["old.docx"]["status"] in ("ok", "flagged")
    assert [r["source"].rsplit("/", 1)[-1] for r in _export(tmp_path / "s.db")] == ["new.docx"]
    every = _export(tmp_path / "s.db", "--all")
    assert {r["source"].rsplit("/", 1)[-1]: r["superseded_by"] for r in every} == {
        "new.docx": None, "old.docx": rows["new.docx"]["id"]}


def test_equal_dates_make_the_later_ingested_current(tmp_path, rubrics):
    a = make_form(tmp_path / "a.docx", seed=4, when=date(2024, 5, 1))
    b = make_form(tmp_path / "b.docx", seed=4, when=date(2024, 5, 1), bump=True)
    db = open_db(tmp_path / "s.db")
    ingest(db, [str(a)], rubrics, jobs=1)
    ingest(db, [str(b)], rubrics, jobs=1)
    assert [(r["id"], r["superseded_by"]) for r in db["forms"].rows] == [(1, 2), (2, None)]


@pytest.mark.parametrize("name, content, error", [
    ("empty.docx", b"", "not a readable Word file (not a .docx zip, or truncated): re-save it as .docx"),
    ("text.pdf", "这不是PDF".encode(), "not a readable PDF"),
    ("notes.txt", b"hello", "unsupported file type '.txt'"),
])
def test_bad_inputs_become_failed_records_with_one_line_errors(tmp_path, rubrics, name, content, error):
    p = tmp_path / name
    p.write_bytes(content)
    db = open_db(tmp_path / "s.db")
    s = ingest(db, [str(p)], rubrics, jobs=1)
    assert s.failed == 1
    row = next(db["forms"].rows)
    assert row["status"] == "failed" and row["error"].startswith(error) and "\n" not in row["error"]


def test_a_docx_without_the_form_table_is_not_a_form(tmp_path, rubrics):
    import docx

    d = docx.Document()
    d.add_paragraph("致指导中心的一封信")
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "姓名", "电话"
    d.save(tmp_path / "letter.docx")
    db = open_db(tmp_path / "s.db")
    ingest(db, [str(tmp_path / "letter.docx")], rubrics, jobs=1)
    assert next(db["forms"].rows)["error"].startswith("no self-evaluation table found")


def test_oversize_files_are_refused(tmp_path, rubrics):
    p = make_form(tmp_path / "a.docx")
    db = open_db(tmp_path / "s.db")
    ingest(db, [str(p)], rubrics, jobs=1, max_bytes=1024)
    err = next(db["forms"].rows)["error"]
    size = round(p.stat().st_size / 1024)
    assert err == f"the file is {size} KB, over the 1 KB limit: send the form alone"


def test_a_file_over_the_time_limit_fails_and_the_batch_goes_on(tmp_path, rubrics, monkeypatch):
    import extractor.ingest as ing

    slow, fast = make_form(tmp_path / "slow.docx", seed=1), make_form(tmp_path / "fast.docx", seed=2)
    real = ing.path_to_forms

    def sometimes_slow(path, *a, **k):
        if path.name == "slow.docx":
            time.sleep(5)
        return real(path, *a, **k)

    monkeypatch.setattr(ing, "path_to_forms", sometimes_slow)
    db = open_db(tmp_path / "s.db")
    s = ingest(db, [str(slow), str(fast)], rubrics, jobs=1, timeout=1)
    assert [(Path(src).name, out) for src, out, _ in s.results] == [("slow.docx", "failed"), ("fast.docx", "ok")]
    assert s.results[0][2].startswith("reading took longer than 1 s")


def test_parallel_workers_give_the_same_records_in_input_order(tmp_path, rubrics):
    (tmp_path / "in").mkdir()
    for n in range(6):
        make_form(tmp_path / "in" / f"f{n}.docx", seed=10 + n)
    serial, parallel = open_db(tmp_path / "a.db"), open_db(tmp_path / "b.db")
    ingest(serial, [str(tmp_path / "in")], rubrics, jobs=1)
    ingest(parallel, [str(tmp_path / "in")], rubrics, jobs=2)
    q = "select f.source, i.code, i.self, i.inspector from items i join forms f on f.id = i.form_id order by i.id"
    assert list(serial.query(q)) == list(parallel.query(q))
    assert [r["source"][-7:] for r in parallel["forms"].rows] == [f"f{n}.docx" for n in range(6)]


def _selfeval(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    d = tmp_path_factory.mktemp("inbox")
    for n in range(24):
        make_form(d / f"form_{n:02}.docx", seed=100 + n)
    return d


def test_kill_mid_batch_leaves_a_consistent_database_and_a_rerun_finishes(tmp_path, inbox):
    db_path = tmp_path / "k.db"
    p = _selfeval("ingest", str(inbox), "--db", str(db_path), "--jobs", "1")
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=5) as c:
                    if c.execute("select count(*) from forms").fetchone()[0] >= 3:
                        break
            except sqlite3.OperationalError:
                pass
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    with sqlite3.connect(db_path) as c:
        assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
        stored = c.execute("select count(*) from forms").fetchone()[0]
        assert 3 <= stored < 24
        # Every stored form is whole: 67 items each.
        assert c.execute("select count(*) from forms where (select count(*) from items where form_id = forms.id)"
                         " != 67").fetchone()[0] == 0
    r = _selfeval("ingest", str(inbox), "--db", str(db_path))
    assert r.wait(120) == 0
    with sqlite3.connect(db_path) as c:
        assert c.execute("select count(*) from forms").fetchone()[0] == 24
        assert c.execute("select count(distinct sha256) from forms").fetchone()[0] == 24


def test_two_ingests_into_one_database_at_once_both_complete(tmp_path, inbox):
    db_path = tmp_path / "c.db"
    a = _selfeval("ingest", str(inbox), "--db", str(db_path), "--jobs", "1")
    b = _selfeval("ingest", str(inbox), "--db", str(db_path), "--jobs", "1")
    assert a.wait(180) == 0 and b.wait(180) == 0, (a.stderr.read(), b.stderr.read())
    with sqlite3.connect(db_path) as c:
        assert c.execute("select count(*) from forms").fetchone()[0] == 24
        assert c.execute("select count(*) from items").fetchone()[0] == 24 * 67


def test_scans_get_time_per_page_counted_before_reading(tmp_path, rubrics, monkeypatch):
    from PIL import Image
    from reportlab.pdfgen import canvas

    import extractor.ingest as ing
    from extractor.form import Form
    from extractor.inbox import scanned_pages

    page = Image.new("L", (300, 420), 255)
    tif = tmp_path / "scan.tif"
    page.save(tif, save_all=True, append_images=[page.copy(), page.copy()])
    pdf = tmp_path / "scan.pdf"
    page.save(pdf, save_all=True, append_images=[page.copy()])
    text_pdf = tmp_path / "text.pdf"
    c = canvas.Canvas(str(text_pdf))
    c.drawString(72, 720, "self evaluation")
    c.save()
    docx = make_form(tmp_path / "a.docx")
    # reportlab names a font (Helvetica) on a page that draws only an image, and lists /ImageB in every /ProcSet
    png = tmp_path / "page.png"
    page.save(png)
    drawn_scan = tmp_path / "drawn_scan.pdf"
    c = canvas.Canvas(str(drawn_scan))
    for _ in range(3):
        c.drawImage(str(png), 0, 0, 300, 420)
        c.showPage()
    c.save()
    assert b"/Font" in drawn_scan.read_bytes() and b"/ImageB" in text_pdf.read_bytes()
    assert [scanned_pages(p) for p in (tif, pdf, text_pdf, docx, drawn_scan)] == [3, 2, 0, 0, 3]

    def slow(path, rubrics, source=None, rubric_id=None, sha256=None):
        time.sleep(4 if path.suffix == ".tif" else 60)
        return Form(source=source, sha256=sha256, status="failed", error="read slowly")

    monkeypatch.setattr(ing, "path_to_forms", slow)
    db = open_db(tmp_path / "s.db")
    s = ingest(db, [str(tif), str(pdf)], rubrics, jobs=2, timeout=2, page_timeout=3)
    assert s.results == [
        (str(tif), "failed", "read slowly"),  # 4 s: within 2 s + 3 × 3 s
        (str(pdf), "failed", "reading took longer than 8 s (2 s + 3 s for each of 2 scanned pages): the file may be "
                             "damaged; re-save it and send it again")]


def test_forms_are_committed_without_an_fsync_each_and_the_setting_is_restored(tmp_path, rubrics):
    db = open_db(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, SQLite's default
    seen = []

    def progress(source: str, outcome: str, detail: str | None) -> None:  # called as each form is stored
        seen.append(db.execute("PRAGMA synchronous").fetchone()[0])

    s = ingest(db, [str(make_form(tmp_path / f"{n}.docx", seed=n)) for n in range(2)], rubrics,
               progress=progress, jobs=1)
    assert (s.read, s.failed) == (2, 0)
    assert seen == [1, 1]  # NORMAL while the forms are stored
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert db["forms"].count == 2
