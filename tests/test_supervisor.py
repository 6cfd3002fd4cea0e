"""No file can stop, hang or poison a batch: hostile containers, readers that hang, eat memory or crash, kill -9 of
the ingest, stale temp folders, symlinks and FIFOs, retry of failed files, the spawn start method, and a Python
without SIGALRM, alarm, killpg and fork. Every hostile file is built here, beside good forms from the generator."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from cli import main
from extractor import stamp, supervisor, tempdirs
from extractor.ingest import PLUGINS_ENV, ingest
from extractor.store import open_db

from .test_ingest import make_form

ROOT = Path(__file__).resolve().parents[1]
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RETRY = "re-zip it with a standard zip tool"
DAMAGED = "the file may be damaged; re-save it and send it again"


@pytest.fixture(autouse=True)
def plugin(monkeypatch):
    monkeypatch.setenv(PLUGINS_ENV, "tests.hostile_plugin")


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("good")
    return [make_form(d / f"g{n}.docx", seed=200 + n).read_bytes() for n in range(3)]


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def patch_central(data: bytes, offset: int, value: int) -> bytes:
    """Set a 2-byte field of every central directory entry (6: version needed, 8: flags, 10: method)."""
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")
    while i >= 0:
        struct.pack_into("<H", out, i + offset, value)
        i = out.find(b"PK\x01\x02", i + 4)
    return bytes(out)


def nul_name_zip(form: bytes) -> bytes:
    """A zip whose first member's name starts with NUL (zipfile cuts it to ''), the second a good form."""
    data = zip_bytes({"Xhidden.docx": b"junk", "form.docx": form})
    return data.replace(b"Xhidden.docx", b"\x00hidden.docx")


def eml_bytes(attachments: list[tuple[str, bytes, str]]) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "school@example.cn", "center@example.cn", "自评表"
    msg.set_content("见附件")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def records(db_path: Path) -> dict[str, tuple[str, str | None]]:
    r = CliRunner().invoke(main, ["export", "--db", str(db_path), "--all"])
    assert r.exit_code == 0, r.output
    return {rec["source"].rsplit("/", 1)[-1]: (rec["status"], rec["error"]) for rec in json.loads(r.stdout)}


def no_children_left(before: set[int], wait: float = 10.0) -> list[psutil.Process]:
    """The processes under this test process that were not there before, after waiting for them to go."""
    deadline = time.time() + wait
    while True:
        left = [p for p in psutil.Process().children(recursive=True)
                if p.pid not in before and p.status() != psutil.STATUS_ZOMBIE and not _helper(p)]
        if not left or time.time() > deadline:
            return left
        time.sleep(0.2)


def _helper(p: psutil.Process) -> bool:
    """multiprocessing's own resource tracker, which spawn starts once and keeps for the test process."""
    try:
        return any("resource_tracker" in part for part in p.cmdline())
    except psutil.Error:
        return True


def pid_gone(pid: int, wait: float = 10.0) -> bool:
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


def hostile_inbox(d: Path, good: list[bytes]) -> Path:
    d.mkdir()
    (d / "a_good.docx").write_bytes(good[0])
    form_zip = zip_bytes({"f1.docx": good[1], "f2.docx": good[2]})
    (d / "b_version99.zip").write_bytes(patch_central(form_zip, 6, 99))
    (d / "c_version153.zip").write_bytes(patch_central(form_zip, 6, 153))
    (d / "d_patched.zip").write_bytes(patch_central(form_zip, 8, 0x20))  # central directory: "patched data"
    (d / "e_nul.zip").write_bytes(nul_name_zip(good[1]))
    members = {f"f{n:03}.docx": b"x" * 50 for n in range(135)}
    (d / "f_method.zip").write_bytes(patch_central(zip_bytes(members, zipfile.ZIP_STORED), 10, 99))
    (d / "g_mail.eml").write_bytes(eml_bytes([("自评表.docx", good[2], DOCX_TYPE),
                                              ("forms.zip", patch_central(form_zip, 6, 99), "application/zip")]))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    (d / "h_logo.eml").write_bytes(eml_bytes([("logo.png", png, "image/png"), ("sig.p7s", b"x", "text/plain")]))
    (d / "i_empty.zip").write_bytes(zip_bytes({}))
    (d / "j_truncated.zip").write_bytes(form_zip[:-30])
    return d


EXPECTED_HOSTILE = {
    "a_good.docx": ("ok", None),
    "b_version99.zip": ("failed", f"cannot unpack this zip archive (zip file version 9.9): {RETRY}"),
    "c_version153.zip": ("failed", f"cannot unpack this zip archive (zip file version 15.3): {RETRY}"),
    "d_patched.zip": ("failed", "all 2 files inside failed the same way, e.g. cannot unpack f1.docx: compressed "
                                f"patched data (flag bit 5); {RETRY}"),
    "e_nul.zip": ("failed", f"refused: 1 member(s) of the archive have no name (it starts with a NUL byte): {RETRY}"),
    "e_nul.zip!form.docx": ("ok", None),
    "f_method.zip": ("failed", "all 135 files inside failed the same way, e.g. cannot unpack f000.docx: That "
                               f"compression method is not supported; {RETRY}"),
    "g_mail.eml!自评表.docx": ("ok", None),
    "g_mail.eml!forms.zip": ("failed", f"cannot unpack this zip archive (zip file version 9.9): {RETRY}"),
    "h_logo.eml": ("failed", "no form inside: 2 attachments skipped (logo.png: not a form (image/png attachment, "
                             "too small to be a scanned page), sig.p7s: not a form (text/plain attachment))"),
    "i_empty.zip": ("failed", "no form inside: the archive holds no files"),
    "j_truncated.zip": ("failed", "not a readable zip archive: File is not a zip file"),
}


def test_hostile_containers_beside_good_forms_each_get_one_line(tmp_path, good):
    inbox = hostile_inbox(tmp_path / "inbox", good)
    db = tmp_path / "s.db"
    r = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(db), "--jobs", "2"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert "Traceback" not in r.output
    assert records(db) == EXPECTED_HOSTILE
    assert r.stderr.splitlines()[-1].startswith("12 read, 0 flagged, 9 failed, 0 skipped")


def test_a_reader_that_hangs_is_killed_at_the_deadline_with_its_children(tmp_path, good):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(good[0])
    (inbox / "b.hang").write_bytes(b"loop")
    (inbox / "c.hangchild").write_bytes(b"loop with a child")
    (inbox / "d.docx").write_bytes(good[1])
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    start = time.monotonic()
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=2, timeout=3)
    assert time.monotonic() - start < 40
    assert [(Path(src).name, out, why) for src, out, why in s.results] == [
        ("a.docx", "ok", None), ("b.hang", "failed", f"reading took longer than 3 s: {DAMAGED}"),
        ("c.hangchild", "failed", f"reading took longer than 3 s: {DAMAGED}"), ("d.docx", "ok", None)]
    assert pid_gone(int((inbox / "c.hangchild.pid").read_text()))
    assert no_children_left(before) == []


def test_a_reader_over_the_memory_ceiling_is_killed_with_its_children(tmp_path, good):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.hog").write_bytes(b"eat")
    (inbox / "b.childhog").write_bytes(b"eat in a child")
    (inbox / "c.docx").write_bytes(good[0])
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    # A parent already big (a long test session): forked workers share its pages, which are not the file's.
    ballast = b"x" * (600 << 20)
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=2, timeout=60, max_memory=500 << 20)
    del ballast
    assert [(Path(src).name, out, why) for src, out, why in s.results] == [
        ("a.hog", "failed", "reading needed more than 500 MB of memory: the file may be damaged or far too large; "
                            "re-save it and send it again"),
        ("b.childhog", "failed", "reading needed more than 500 MB of memory: the file may be damaged or far too "
                                 "large; re-save it and send it again"),
        ("c.docx", "ok", None)]
    assert pid_gone(int((inbox / "b.childhog.pid").read_text()))
    assert no_children_left(before) == []


def test_a_reader_that_crashes_is_a_failed_record_and_the_batch_goes_on(tmp_path, good):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(3):
        (inbox / f"c{n}.crash").write_bytes(b"%d" % n)
    (inbox / "d.docx").write_bytes(good[0])
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=1, timeout=60)
    assert [(Path(src).name, out, why) for src, out, why in s.results] == [
        *[(f"c{n}.crash", "failed", f"reading crashed (exit code 70): {DAMAGED}") for n in range(3)],
        ("d.docx", "ok", None)]


@pytest.mark.expected_skip("POSIX only")
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kill -9 is POSIX (Windows has TerminateProcess)")
def test_kill_9_of_the_ingest_leaves_no_worker_and_no_child(tmp_path, good):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.hangchild").write_bytes(b"loop with a child")
    (inbox / "b.hang").write_bytes(b"loop")
    base = tmp_path / "systmp"
    base.mkdir()
    env = {**os.environ, PLUGINS_ENV: "tests.hostile_plugin", "TMPDIR": str(base)}
    p = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "ingest", str(inbox), "--db",
                          str(tmp_path / "k.db"), "--jobs", "2", "--timeout", "600"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid_file = inbox / "a.hangchild.pid"
    deadline = time.time() + 60
    while not pid_file.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert pid_file.exists()
    time.sleep(0.5)
    tree = psutil.Process(p.pid).children(recursive=True)
    assert len(tree) >= 3  # two workers and the child of one
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert all(pid_gone(q.pid) for q in tree)
    assert pid_gone(int(pid_file.read_text()))
    # Its temp folder stays (nothing could remove it), owned by a pid that is gone: the next run removes it.
    left = [d.name.split("-")[1] for d in base.iterdir()]  # jieba's dictionary is cached elsewhere
    assert left == ["ingest"]
    removed = tempdirs.clean_stale(base, older_than=0)
    assert len(removed) == 1 and [d.name for d in base.iterdir()] == []


def test_stale_temp_folders_of_dead_runs_are_cleaned_and_nothing_is_left(tmp_path, good, monkeypatch):
    base = tmp_path / "systmp"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = base / "selfeval-ingest-stale"
    stale.mkdir()
    (stale / "member.docx").write_bytes(b"x")
    tempdirs.write_owner(stale, dead.pid)
    young = base / "selfeval-lo-young"
    young.mkdir()
    tempdirs.write_owner(young, dead.pid)
    alive = base / "selfeval-ingest-alive"
    alive.mkdir()
    tempdirs.write_owner(alive)
    other = base / "someone-else"
    other.mkdir()
    old = time.time() - 3600
    for d in (stale, alive, other):
        os.utime(d, (old, old))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(good[0])
    (inbox / "b.hangchild").write_bytes(b"loop with a child")  # killed: its worker's temp folder must go too
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=1, timeout=3)
    assert [out for _, out, _ in s.results] == ["ok", "failed"]
    assert sorted(p.name for p in base.iterdir() if p.name != "jieba.cache") == [
        "selfeval-ingest-alive", "selfeval-lo-young", "someone-else"]
    assert tempdirs.clean_stale(base, older_than=0) == [young]


@pytest.mark.expected_skip("POSIX only")
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero are POSIX")
def test_symlinks_fifos_and_devices_in_a_folder_are_refused_before_reading(tmp_path, good):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(good[0])
    (inbox / "zero.docx").symlink_to("/dev/zero")
    (inbox / "link.docx").symlink_to(inbox / "a.docx")
    os.mkfifo(inbox / "pipe.pdf")
    (inbox / "linked_dir").symlink_to(tmp_path)
    start = time.monotonic()
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=1, timeout=30)
    assert time.monotonic() - start < 30
    link = "refused: a symbolic link, not a regular file: copy the file itself into the folder"
    assert [(Path(src).name, out, why) for src, out, why in s.results] == [
        ("a.docx", "ok", None), ("link.docx", "failed", link), ("linked_dir", "failed", link),
        ("pipe.pdf", "failed",
         "refused: a named pipe (FIFO), not a regular file: copy the file itself into the folder"),
        ("zero.docx", "failed", link)]


def test_a_failed_file_is_read_again_on_retry_or_when_the_reader_changed(tmp_path, good, monkeypatch):
    monkeypatch.delenv("SELFEVAL_TEST_FIXED", raising=False)
    f = tmp_path / "form.flaky"
    f.write_bytes(good[0])
    db = open_db(tmp_path / "s.db")
    first = ingest(db, [str(f)], _rubrics(), jobs=1)
    assert first.results == [(str(f), "failed", "the part needed to read this is not installed")]
    row = next(db["forms"].rows)
    assert (row["reader_version"], row["extras"]) == (stamp.current()["reader_version"], stamp.extras_json())
    assert json.loads(row["extras"])["libreoffice"] in (True, False)
    assert ingest(db, [str(f)], _rubrics(), jobs=1).results == [(str(f), "skipped", "already ingested (form 1)")]
    monkeypatch.setenv("SELFEVAL_TEST_FIXED", "1")
    again = ingest(db, [str(f)], _rubrics(), jobs=1, retry_failed=True)
    assert again.results == [(str(f), "ok", None)]
    assert [(r["sha256"], r["status"]) for r in db["forms"].rows] == [(row["sha256"], "ok")]
    assert db["items"].count == 67
    # A failed record of another reader (an older version, other extras) is read again by itself.
    g = tmp_path / "other.flaky"
    g.write_bytes(good[1])
    monkeypatch.delenv("SELFEVAL_TEST_FIXED")
    ingest(db, [str(g)], _rubrics(), jobs=1)
    db.execute("UPDATE forms SET extras = '{\"ocr\":null}' WHERE status = 'failed'")
    db.conn.commit()
    monkeypatch.setenv("SELFEVAL_TEST_FIXED", "1")
    assert ingest(db, [str(g)], _rubrics(), jobs=1).results == [(str(g), "ok", None)]
    assert [r["status"] for r in db["forms"].rows] == ["ok", "ok"]


def test_a_container_with_no_form_is_read_again_on_retry(tmp_path):
    mail = tmp_path / "m.eml"
    mail.write_bytes(eml_bytes([("notes.txt", b"hello", "text/plain")]))
    db = open_db(tmp_path / "s.db")
    s = ingest(db, [str(mail)], _rubrics(), jobs=1)
    why = "no form inside: 1 attachment skipped (notes.txt: not a form (text/plain attachment))"
    assert s.results == [(str(mail), "failed", why)]
    assert ingest(db, [str(mail)], _rubrics(), jobs=1).results == [(str(mail), "skipped", "already ingested (form 1)")]
    assert ingest(db, [str(mail)], _rubrics(), jobs=1, retry_failed=True).results == [(str(mail), "failed", why)]
    assert [(r["source"], r["error"]) for r in db["forms"].rows] == [(str(mail), why)]


@pytest.mark.expected_skip("a run under SELFEVAL_START_METHOD=spawn, or on Windows")
@pytest.mark.skipif(supervisor.start_method() != "fork", reason="the patch reaches forked workers only")
def test_a_retried_container_now_read_through_its_members_loses_its_old_record(tmp_path, monkeypatch):
    import extractor.containers as containers

    mail = tmp_path / "m.eml"
    mail.write_bytes(eml_bytes([("notes.txt", b"hello", "text/plain")]))
    db = open_db(tmp_path / "s.db")
    assert [out for _, out, _ in ingest(db, [str(mail)], _rubrics(), jobs=1).results] == ["failed"]
    monkeypatch.setattr(containers, "_not_form", lambda *a, **k: None)  # a newer reader that opens .txt members
    s = ingest(db, [str(mail)], _rubrics(), jobs=1, retry_failed=True)
    assert [(src, out) for src, out, _ in s.results] == [(f"{mail}!notes.txt", "failed")]
    assert s.results[0][2].startswith("unsupported file type '.txt'")
    assert [r["source"] for r in db["forms"].rows] == [f"{mail}!notes.txt"]


def test_spawn_start_method_ingests_a_small_batch(tmp_path, good, monkeypatch):
    monkeypatch.setenv(supervisor.START_METHOD_ENV, "spawn")
    assert supervisor.start_method() == "spawn"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(good[0])
    (inbox / "b.zip").write_bytes(zip_bytes({"f.docx": good[1]}))
    (inbox / "c.hang").write_bytes(b"loop")
    (inbox / "d.zip").write_bytes(patch_central(zip_bytes({"f.docx": good[2]}), 6, 99))
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=2, timeout=15)
    assert [(Path(src).name, out) for src, out, _ in s.results] == [
        ("a.docx", "ok"), ("b.zip!f.docx", "ok"), ("c.hang", "failed"), ("d.zip", "failed")]
    assert no_children_left(before) == []


def test_a_python_without_alarm_killpg_and_fork_ingests_a_small_batch(tmp_path, good):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(good[0])
    (inbox / "b.zip").write_bytes(zip_bytes({"f.docx": good[1]}))
    (inbox / "c.hang").write_bytes(b"loop")
    (inbox / "d.zip").write_bytes(nul_name_zip(good[2]))
    db = tmp_path / "s.db"
    code = ("import os, signal; del signal.SIGALRM, signal.alarm, os.killpg, os.fork; import cli; cli.main()")
    env = {**os.environ, PLUGINS_ENV: "tests.hostile_plugin"}
    env.pop(supervisor.START_METHOD_ENV, None)
    r = subprocess.run([sys.executable, "-c", code, "ingest", str(inbox), "--db", str(db), "--timeout", "15"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert records(db) == {
        "a.docx": ("ok", None), "b.zip!f.docx": ("ok", None),
        "c.hang": ("failed", f"reading took longer than 15 s: {DAMAGED}"),
        "d.zip": ("failed", f"refused: 1 member(s) of the archive have no name (it starts with a NUL byte): {RETRY}"),
        "d.zip!form.docx": ("ok", None)}
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from items").fetchone()[0] == 3 * 67


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_timeout_during_a_real_conversion_leaves_no_soffice(tmp_path, monkeypatch):
    base = tmp_path / "systmp"
    base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "legacy" / "filled_clean.doc", inbox / "old.doc")
    # The real LibreOffice, with its private profile but without the conversion: it runs until it is killed.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "soffice"
    wrapper.write_text(f'#!/bin/sh\necho $$ > {bindir}/pid\n'
                       f'exec {shutil.which("soffice")} "$1" --headless --norestore --nologo --nodefault\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    s = ingest(open_db(tmp_path / "s.db"), [str(inbox)], _rubrics(), jobs=1, timeout=2)
    assert s.results == [(str(inbox / "old.doc"), "failed", f"reading took longer than 2 s: {DAMAGED}")]
    assert pid_gone(int((bindir / "pid").read_text()))  # it ran, and was killed with the worker
    ours = [p for p in psutil.process_iter(["cmdline"]) if str(base) in " ".join(p.info["cmdline"] or [])
            and p.status() != psutil.STATUS_ZOMBIE]
    assert ours == [] and [d.name for d in base.iterdir() if d.name != "jieba.cache"] == []


def test_install_hints_name_the_step_of_each_os():
    from extractor.parsers.legacy import libreoffice_install_hint

    assert "LibreOffice installer for Windows" in libreoffice_install_hint("win32")
    assert "apt-get" not in libreoffice_install_hint("win32")
    assert libreoffice_install_hint("darwin").startswith("reading .doc needs LibreOffice: brew install --cask")


def test_libreoffice_is_found_in_program_files_on_windows(tmp_path, monkeypatch):
    from extractor.parsers import legacy

    exe = tmp_path / "PF" / "LibreOffice" / "program" / "soffice.exe"
    exe.parent.mkdir(parents=True)
    exe.write_bytes(b"")
    monkeypatch.setattr(legacy.sys, "platform", "win32")
    monkeypatch.setattr(legacy, "_WINDOWS_SOFFICE", os.path.join("LibreOffice", "program", "soffice.exe"))
    monkeypatch.setenv("ProgramFiles", str(tmp_path / "PF"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert legacy.find_soffice() == str(exe)


def test_sizes_parse_as_people_write_them():
    from extractor.ingest import parse_size

    assert [parse_size(t) for t in ("2G", "1500M", "2GB", "2GiB", "104857600")] == [
        2 << 30, 1500 << 20, 2 << 30, 2 << 30, 100 << 20]
    with pytest.raises(ValueError, match="is no size"):
        parse_size("lots")
    r = CliRunner().invoke(main, ["ingest", ".", "--max-memory", "1M"])
    assert r.exit_code == 2 and "too little memory" in r.output


def _rubrics():
    import rubric

    return rubric.load_all()


def test_set_up_objects_are_frozen_and_the_collector_is_left_as_it_was():
    import gc

    assert gc.isenabled()
    before = gc.get_freeze_count()
    try:
        with supervisor.long_lived():
            assert not gc.isenabled()
            with supervisor.long_lived():
                kept = [[n] for n in range(1000)]
            assert not gc.isenabled()  # the outer block decides
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
        gc.disable()
        with supervisor.long_lived():
            pass
        assert not gc.isenabled()  # a caller's disabled collector stays disabled
    finally:
        gc.enable()
        gc.unfreeze()


def _freeze_count() -> int:
    import gc

    return gc.get_freeze_count()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork start method")
def test_a_forked_worker_inherits_the_parents_objects_frozen():
    import gc

    try:
        with supervisor.Supervisor(1, 1 << 30, method="fork") as sup:
            sup.submit("n", _freeze_count, (), timeout=60)
            events = list(sup.events())
        assert [(e.task, e.kind) for e in events] == [("n", "result")]
        # All that the parent had when it forked, less what the worker has freed since (without the freeze: 0).
        assert 0 < 0.9 * gc.get_freeze_count() <= events[0].value <= gc.get_freeze_count()
    finally:
        gc.unfreeze()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="only a forked worker inherits the parent's OpenCV")
def test_a_worker_forked_after_opencv_ran_in_parallel_in_the_parent_still_loads_the_ocr_engine(tmp_path):
    """Regression: after the parent ran a parallel OpenCV call (samples.photo's warpPerspective; `serve` rectifying
    an evidence picture), a forked worker's OCR engine waited forever in cv2.setNumThreads, and the image failed
    at its deadline instead of being read."""
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("extractor.ocr.engine", reason="the OCR extra is not installed")
    import numpy as np
    from PIL import Image

    threads = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        cv2.warpPerspective(np.zeros((1500, 1500, 3), np.uint8), np.eye(3), (1500, 1500))  # the pool's threads run
        image = tmp_path / "blank.png"
        Image.new("RGB", (620, 877), "white").save(image)  # an A4 page at 75 dpi, nothing on it
        started = time.monotonic()
        result = CliRunner().invoke(main, ["ingest", str(image), "--db", str(tmp_path / "x.db"), "--jobs", "1",
                                           "--timeout", "60", "--page-timeout", "0"],
                                    env={"SELFEVAL_START_METHOD": "fork"})
    finally:
        cv2.setNumThreads(threads)
    assert result.exit_code == 1, result.output
    assert f"{image}: no self-evaluation table found" in result.output, result.output
    assert time.monotonic() - started < 60
