"""--db safety (issue 11, point 4): our databases are marked and older ones migrated; another application's SQLite
file, or no SQLite at all, is refused without a byte written; read-only commands open read-only; a full disk is one
line with the forms stored before intact. Real SQLite files, the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from cli import main
from extractor import store
from extractor.form import Form, ItemResult
from extractor.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    TABLE_COLUMNS,
    DiskFull,
    NoDatabase,
    NotSelfevalDatabase,
    StoreError,
    load_form,
    open_db,
    path_to_uri,
    save_form,
)

from .forms import qinghai_form
from .test_store import make_old_db

READ_ONLY_COMMANDS = [["export"], ["export", "--format", "csv"], ["show", "1"], ["report"], ["report", "--format",
                      "html"], ["review", "list"]]
WRITING_COMMANDS = [["review", "set", "1", "1.1", "--self", "1", "--why", "x"],
                    ["review", "accept", "1", "over_cap", "--why", "x"]]


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def a_form(n: int = 1, institution: str = "某学校") -> Form:
    return Form(source=f"inbox/{n}.docx", sha256=f"{n:064d}", status="ok", rubric="r", institution=institution,
                fill_date="2024-05-20", items=[ItemResult(code="1.1", category="甲", label="条目", max=Decimal(5),
                                                          self=Decimal(5), self_raw="5", self_kind="number")])


def marks(path: Path) -> tuple[int, int, str]:
    c = sqlite3.connect(path)
    try:
        return (c.execute("PRAGMA application_id").fetchone()[0], c.execute("PRAGMA user_version").fetchone()[0],
                c.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        c.close()


def snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes, its mtime and the files beside it: what must not change when a file is refused."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


# --- marks and migrations ---------------------------------------------------------------------------------------


def test_a_new_database_is_marked_as_selfeval_at_the_schema_version(tmp_path):
    path = tmp_path / "s.db"
    open_db(path).conn.close()
    assert marks(path) == (0x53454C46, SCHEMA_VERSION, "wal") == (APPLICATION_ID, 3, "wal")


def test_an_unmarked_database_of_the_first_schema_is_recognised_and_migrated(tmp_path):
    path = tmp_path / "old.db"
    make_old_db(path)  # the schema of aa40187: no marks, no notes, findings or structured discrepancy fields
    assert marks(path) == (0, 0, "delete")
    db = open_db(path)
    assert marks(path) == (APPLICATION_ID, SCHEMA_VERSION, "wal")
    assert {t: [c.name for c in db[t].columns] for t in TABLE_COLUMNS} == {t: list(c) for t, c in TABLE_COLUMNS.items()}
    assert [(i.code, i.self, i.inspector) for i in load_form(db, 1).items] == [("1.1", Decimal(3), Decimal(1))]


def test_an_unmarked_database_of_the_current_schema_gets_the_marks_and_keeps_its_forms(tmp_path):
    path = tmp_path / "s.db"
    db = open_db(path)
    save_form(db, a_form())
    db.execute("PRAGMA application_id = 0")
    db.execute("PRAGMA user_version = 0")  # as the commits before the marks left it
    db.conn.close()
    assert marks(path)[:2] == (0, 0)
    again = open_db(path)
    assert marks(path)[:2] == (APPLICATION_ID, SCHEMA_VERSION)
    assert [f["source"] for f in again["forms"].rows] == ["inbox/1.docx"]


def test_an_old_database_opened_read_only_is_read_as_it_is_and_left_unchanged(runner, tmp_path):
    path = tmp_path / "old.db"
    make_old_db(path)
    before = snapshot(path)
    r = runner.invoke(main, ["export", "--db", str(path)])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)[0]
    assert (rec["institution"], rec["items"][0]["self"], rec["items"][0]["self_note"]) == ("某学校", 3, None)
    assert [(d["kind"], d["side"]) for d in rec["discrepancies"]] == [("over_cap", None)]
    assert snapshot(path)[:2] == before[:2] and marks(path) == (0, 0, "delete")


def test_a_database_of_a_newer_schema_is_read_but_not_written(runner, tmp_path):
    path = tmp_path / "s.db"
    db = open_db(path)
    save_form(db, a_form())
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.conn.close()
    assert runner.invoke(main, ["export", "--db", str(path)]).exit_code == 0
    r = runner.invoke(main, WRITING_COMMANDS[0] + ["--db", str(path)])
    assert r.exit_code == 1
    assert r.stderr == (f"Error: {path} was written by a newer selfeval (schema {SCHEMA_VERSION + 1}; this one knows "
                        f"{SCHEMA_VERSION}): upgrade selfeval, or choose another --db file\n")


# --- another application's file ----------------------------------------------------------------------------------


def _other_tables(path: Path) -> None:
    c = sqlite3.connect(path)
    c.executescript("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO contacts VALUES (1, '张三');")
    c.close()


def _foreign_forms(path: Path) -> None:
    c = sqlite3.connect(path)
    c.executescript("CREATE TABLE forms (id INTEGER PRIMARY KEY, title TEXT, body BLOB);"
                    "INSERT INTO forms VALUES (1, 'leave request', x'00');")
    c.close()


def _other_application_id(path: Path) -> None:
    c = sqlite3.connect(path)
    c.executescript(f"PRAGMA application_id = {0x47504B47}; CREATE TABLE forms (id INTEGER PRIMARY KEY);")  # GPKG
    c.close()


def _ours_but_user_version(path: Path) -> None:
    # Our tables, but a user_version we never write without our application_id: another program's copy of them.
    make_old_db(path)
    c = sqlite3.connect(path)
    c.execute("PRAGMA user_version = 7")
    c.close()


FOREIGN = {
    "other tables": (_other_tables, "its tables are contacts"),
    "a forms table not ours": (_foreign_forms, "its tables are forms"),
    "another application_id": (_other_application_id, "its application_id is 0x47504b47"),
    "user_version without our mark": (_ours_but_user_version,
                                      "its tables are corrections, discrepancies, forms, items"),
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_another_applications_sqlite_file_is_refused_and_left_untouched(runner, tmp_path, kind):
    make, why = FOREIGN[kind]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.docx").write_bytes(b"not a form")
    path = tmp_path / "other.db"
    make(path)
    before = snapshot(path)
    journal = marks(path)[2]
    expected = f"Error: {path} is not a selfeval database ({why}): choose another --db file\n"
    for args in [["ingest", str(inbox)], *READ_ONLY_COMMANDS, *WRITING_COMMANDS]:
        r = runner.invoke(main, [*args, "--db", str(path)])
        assert (r.exit_code, r.stderr) == (1, expected), args
        assert snapshot(path) == before, args
    assert marks(path)[2] == journal == "delete"
    with pytest.raises(NotSelfevalDatabase):
        open_db(path)
    assert snapshot(path) == before


@pytest.mark.parametrize("content", [b"hello, this is a text file\n", b"PK\x03\x04" + b"\x00" * 200,
                                     b"SQLite format 3\x00" + b"\xff" * 200])
def test_a_file_that_is_no_usable_sqlite_is_one_line(runner, tmp_path, content):
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    before = snapshot(path)
    for args in [["export"], ["report"], WRITING_COMMANDS[0], ["ingest", str(path)]]:
        r = runner.invoke(main, [*args, "--db", str(path)])
        assert r.exit_code == 1 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.output, args
        assert r.stderr.startswith(f"Error: {path} is not a ") and r.stderr.endswith(": choose another --db file\n")
        assert snapshot(path) == before
    if not content.startswith(b"SQLite"):
        assert r.stderr == f"Error: {path} is not a SQLite database: choose another --db file\n"


# --- read-only commands -----------------------------------------------------------------------------------------


def test_read_only_commands_open_with_mode_ro_and_cannot_write(tmp_path):
    path = tmp_path / "s.db"
    save_form(open_db(path), a_form())
    db = open_db(path, readonly=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("CREATE TABLE x (a)")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM forms")
    assert db["forms"].count == 1
    # A URI takes a path percent-encoded: a folder named with a space, # or % and Chinese still opens.
    odd = tmp_path / "收件 #1 100%" / "s.db"
    odd.parent.mkdir()
    save_form(open_db(odd), a_form())
    assert path_to_uri(odd, mode="ro").endswith("/%E6%94%B6%E4%BB%B6%20%231%20100%25/s.db?mode=ro")
    assert open_db(odd, readonly=True)["forms"].count == 1


def _one_form_db(folder: Path) -> tuple[Path, Path]:
    """A folder holding a selfeval database of one form; return both."""
    folder.mkdir()
    path = folder / "s.db"
    db = open_db(path)
    save_form(db, a_form(institution="海北州高原职业培训中心"))
    db.conn.close()
    return folder, path


def test_a_read_only_file_in_a_read_only_folder_is_exported_and_reported(runner, tmp_path):
    folder, path = _one_form_db(tmp_path / "share")
    os.chmod(path, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        for args in READ_ONLY_COMMANDS:
            r = runner.invoke(main, [*args, "--db", str(path)])
            assert r.exit_code == 0, (args, r.output)
        assert "海北州高原职业培训中心" in runner.invoke(main, ["report", "--db", str(path)]).stdout
    finally:
        os.chmod(folder, stat.S_IRWXU)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def _can_mount_read_only() -> bool:
    if not sys.platform.startswith("linux") or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--mount", "sh", "-c", "mount --bind / /mnt 2>/dev/null || mount -t tmpfs x "
                            "/mnt"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.expected_skip("a mount namespace is a kernel feature a container may not grant")
@pytest.mark.skipif(not _can_mount_read_only(), reason="needs a Linux mount namespace (unshare) to mount read-only")
def test_a_database_on_a_read_only_mount_is_exported_even_as_root(tmp_path):
    # chmod does not bind root; a read-only bind mount does: SQLite can create no -shm file there, the case that
    # needs immutable=1.
    folder, path = _one_form_db(tmp_path / "share")
    assert sorted(p.name for p in folder.iterdir()) == ["s.db"]
    code = ("from cli import main; import sys; sys.argv = ['selfeval'] + sys.argv[1:]; main()")
    script = (f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && '
              f'! touch "{folder}/probe" 2>/dev/null && '
              f'"{sys.executable}" -c "{code}" export --db "{path}" && '
              f'"{sys.executable}" -c "{code}" review set 1 1.1 --self 1 --why x --db "{path}"; echo "rc=$?"')
    r = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, timeout=120,
                       cwd=Path(__file__).resolve().parents[1])
    out = r.stdout.decode("utf-8")
    records = json.loads(out[:out.rindex("]") + 1])
    assert [x["institution"] for x in records] == ["海北州高原职业培训中心"]
    assert out.endswith("rc=1\n")  # the write was refused ...
    err = r.stderr.decode("utf-8")
    assert err.startswith(f"Error: cannot open {path} (") and "Traceback" not in err  # ... with one line
    assert err.endswith("check that its folder exists and can be written, or choose another --db file\n")


@pytest.mark.parametrize("args", READ_ONLY_COMMANDS)
def test_a_missing_database_for_a_read_only_command_is_one_line_and_not_created(runner, tmp_path, args):
    path = tmp_path / "none.db"
    r = runner.invoke(main, [*args, "--db", str(path)])
    assert (r.exit_code, r.stderr) == (1, f"Error: no database at {path}: run `selfeval ingest PATH --db {path}` "
                                          f"first\n")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_database_for_review_is_one_line_and_not_created(runner, tmp_path):
    path = tmp_path / "none.db"
    r = runner.invoke(main, [*WRITING_COMMANDS[0], "--db", str(path)])
    assert (r.exit_code, r.stderr) == (1, f"Error: no database at {path}: run `selfeval ingest PATH --db {path}` "
                                          f"first\n")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NoDatabase):
        open_db(path, readonly=True)


# --- disk full --------------------------------------------------------------------------------------------------


def cap_growth(monkeypatch, extra_pages: int) -> None:
    """Make every connection the store opens refuse to grow its file beyond extra_pages more pages, as a full disk
    does: SQLite raises SQLITE_FULL ("database or disk is full")."""
    connect = store._connect

    def capped(target: str, uri: bool = False) -> sqlite3.Connection:
        conn = connect(target, uri=uri)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1) + extra_pages}")
        return conn

    monkeypatch.setattr(store, "_connect", capped)


def test_a_full_disk_keeps_the_forms_stored_before_and_the_connection_usable(tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    save_form(open_db(path), a_form(1))
    cap_growth(monkeypatch, 2)
    db = open_db(path)
    big = [a_form(n) for n in range(2, 40)]
    for f in big:
        f.error = "x" * 3000  # about a page a form
    with pytest.raises(DiskFull) as e:
        for f in big:
            save_form(db, f)
    stored = [r[0] for r in db.execute("SELECT source FROM forms ORDER BY id")]
    assert 1 < len(stored) < 39 and stored == [f"inbox/{n}.docx" for n in range(1, len(stored) + 1)]
    assert str(e.value) == (f"the disk is full: cannot write {path}; the {len(stored)} form(s) stored so far are kept; "
                            f"free space and run ingest again")
    assert isinstance(e.value, StoreError)
    db.execute("PRAGMA max_page_count = 1000000")  # space freed: the same connection goes on
    save_form(db, big[-1])
    assert db["forms"].count == len(stored) + 1 and db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_full_disk_during_ingest_is_one_line_exit_1_and_the_earlier_forms_stay(runner, tmp_path, monkeypatch):
    cols = ["cat", "sec", "label", "max", "rules", "self", "insp"]
    header = [["大项", "中项", "小项", "分值", "督查方法和标准", "自评结果", "督查结果"]]
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for folder, names in ((first, ("甲", "乙")), (second, ("丙", "丁", "戊", "己"))):
        for name in names:
            qinghai_form(folder / f"{name}.docx", cols, header,
                         cover=[f"评价机构名称：{name}职业技能培训学校", "填 报 日 期：2024年5月20日"])
    path = tmp_path / "s.db"
    r = runner.invoke(main, ["ingest", str(first), "--db", str(path), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    before = json.loads(runner.invoke(main, ["export", "--db", str(path)]).stdout)
    assert [len(rec["items"]) for rec in before] == [67, 67]
    per_form = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0] // 2
    cap_growth(monkeypatch, per_form + per_form // 2)  # room for one more form, not two
    r = runner.invoke(main, ["ingest", str(second), "--db", str(path), "--jobs", "1"])
    monkeypatch.undo()
    after = json.loads(runner.invoke(main, ["export", "--db", str(path)]).stdout)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.stderr.splitlines()[-1] == (f"Error: the disk is full: cannot write {path}; the {len(after)} form(s) "
                                         f"stored so far are kept; free space and run ingest again")
    assert 2 < len(after) < 6 and after[:2] == before
    assert all(len(rec["items"]) == 67 for rec in after)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = runner.invoke(main, ["ingest", str(second), "--db", str(path), "--jobs", "1"])  # space freed
    assert again.exit_code == 0, again.output
    assert len(json.loads(runner.invoke(main, ["export", "--db", str(path)]).stdout)) == 6


def test_a_full_disk_during_review_says_to_run_the_command_again(runner, tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    save_form(open_db(path), a_form())
    cap_growth(monkeypatch, 0)
    r = runner.invoke(main, ["review", "set", "1", "1.1", "--self", "4", "--why", "x" * 20000, "--db", str(path)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.stderr == (f"Error: the disk is full: cannot write {path}; the 1 form(s) stored so far are kept; "
                        f"free space and run the command again\n")
    monkeypatch.undo()
    assert sqlite_utils.Database(path)["corrections"].count == 0
