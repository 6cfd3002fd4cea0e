"""Issue 11's acceptance: every hostile file of the issue in one inbox beside five good forms.

The batch finishes in bounded time, the good forms are stored, every bad file has one failed record with a
one-line reason, nothing is left running — with fork and with spawn in a Python that has no SIGALRM, alarm,
killpg or fork at all (as on Windows).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from extractor.ingest import PLUGINS_ENV

from .test_ingest import make_form
from .test_refusals import grid_bomb_docx, lying_docx, png_bomb, scanned_pdf
from .test_supervisor import hostile_inbox, no_children_left

ROOT = Path(__file__).resolve().parents[1]
GOOD = [f"good{n}.docx" for n in range(5)]


def build_inbox(d: Path) -> set[str]:
    """Write the inbox; return the names of the files that must come out failed (one record each)."""
    from PIL import Image

    d.mkdir()
    for n, name in enumerate(GOOD):
        make_form(d / name, seed=300 + n)
    good = [(d / GOOD[k]).read_bytes() for k in range(3)]
    hostile_inbox(d / "containers", good)  # zips that make zipfile raise, an e-mail carrying one, …
    grid_bomb_docx(d / "span_bomb.docx", "gridSpan")
    grid_bomb_docx(d / "after_bomb.docx", "gridAfter")
    lying_docx(d / "lying.docx", real_size=256 << 20, declared=4096)
    png_bomb(d / "huge.png", 13000, 13000)
    frames = [Image.new("L", (64, 64), 255) for _ in range(500)]
    frames[0].save(d / "frames.tif", "TIFF", save_all=True, append_images=frames[1:])
    scanned_pdf(d / "page_100in.pdf", (7200, 7200))
    (d / "forever.hang").write_bytes(b"loop")  # stands for the 544-byte self-referencing PDF (tests.hostile_plugin)
    bad = {"span_bomb.docx", "after_bomb.docx", "lying.docx", "huge.png", "frames.tif", "page_100in.pdf",
           "forever.hang"}
    if os.name == "posix":
        os.symlink("/dev/zero", d / "zero.docx")
        os.mkfifo(d / "pipe.pdf")
        bad |= {"zero.docx", "pipe.pdf"}
    return bad


def stored(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as c:
        return {Path(s).name if "!" not in s else s.split("containers" + os.sep)[-1]: (st, e)
                for s, st, e in c.execute("SELECT source, status, error FROM forms")}


@pytest.mark.parametrize("mode", ["fork", "spawn-without-signals"])
def test_every_hostile_file_beside_five_good_forms(tmp_path, mode):
    if mode == "fork" and not hasattr(os, "fork"):
        pytest.skip("no fork on this OS")
    inbox = tmp_path / "inbox"
    bad = build_inbox(inbox)
    db = tmp_path / "s.db"
    env = {**os.environ, PLUGINS_ENV: "tests.hostile_plugin", "SELFEVAL_START_METHOD": "fork"}
    code = "import cli; cli.main()"
    if mode != "fork":
        env["SELFEVAL_START_METHOD"] = "spawn"
        code = "import os, signal; del signal.SIGALRM, signal.alarm, os.killpg, os.fork; " + code
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-c", code, "ingest", str(inbox), "--db", str(db), "--timeout", "20",
                        "--jobs", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - start
    assert r.returncode == 1, r.stderr[-2000:]
    assert "Traceback" not in r.stderr + r.stdout
    records = stored(db)
    for name in GOOD:
        assert records[name] == ("ok", None) or records[name][0] == "flagged", (name, records[name])
    for name in bad:
        status, error = records[name]
        assert status == "failed" and error and "\n" not in error and len(error) < 300, (name, error)
    # the containers each end in their own one-line records (tests/test_supervisor.py has them exactly)
    container_failures = [e for k, (s, e) in records.items() if "containers" in k or "!" in k if s == "failed"]
    assert all(e and "\n" not in e for e in container_failures)
    assert no_children_left(before) == []
    assert took < 400
