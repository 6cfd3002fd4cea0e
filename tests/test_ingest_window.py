"""A batch is read a window at a time: results wait in memory only until the forms before them are stored, so
the ingest process stays flat on a batch of any size (slowest first still holds within the window)."""

from __future__ import annotations

import extractor.ingest as ingest_module
import rubric
from extractor.ingest import PLUGINS_ENV, ingest
from extractor.store import open_db

from .order_plugin import LOG_ENV
from .test_ingest import make_form


def test_the_oldest_input_is_read_within_the_window_not_after_the_whole_batch(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "f00.logged").write_bytes(b"tiny")  # the smallest file: read last of all without a window
    for n in range(1, 12):
        make_form(tmp_path / f"f{n:02d}.docx", seed=300 + n).rename(inbox / f"f{n:02d}.logged")
    log = tmp_path / "reads.txt"
    monkeypatch.setenv(PLUGINS_ENV, "tests.order_plugin")
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setattr(ingest_module, "DEFAULT_WINDOW", 4)
    summary = ingest(open_db(tmp_path / "w.db"), [str(inbox)], rubric.load_all(), jobs=1)
    assert [source.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] for source, _, _ in summary.results] == [
        f"f{n:02d}.logged" for n in range(12)]
    assert [outcome for _, outcome, _ in summary.results][0] == "failed"
    reads = log.read_text(encoding="utf-8").split()
    assert sorted(reads) == [f"f{n:02d}.logged" for n in range(12)]
    assert reads.index("f00.logged") == 3  # the window's slowest three first, then it, not eleven others first
