"""Ingest: the paths a user gives -> input files -> Forms -> the store, one bad file never stopping the batch."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from rubric import Rubric

from .extract import file_sha256, path_to_form
from .form import FAILED, FLAGGED, Form
from .store import save_form, sha_known

# Files people keep beside forms in an inbox that are not worth a failed record.
DEFAULT_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass
class Input:
    """One file to read: where it is on disk and the source name it is recorded under."""

    path: Path
    source: str


@dataclass
class Summary:
    read: int = 0
    flagged: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    results: list[tuple[str, str, str | None]] = field(default_factory=list)  # source, outcome, detail

    def line(self) -> str:
        return (f"{self.read} read, {self.flagged} flagged, {self.failed} failed, {self.skipped} skipped "
                f"in {self.seconds:.1f}s")


def paths_to_inputs(paths: list[str]) -> Iterator[Input]:
    """Given the paths from the command line, yield every file: a file as given, a directory's
    files recursively (sorted), each named by the path as reached from the command line."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name in DEFAULT_IGNORED_NAMES or name.startswith("~$"):
                        continue
                    yield Input(Path(root) / name, os.path.join(root, name))
        else:
            yield Input(path, p)


def ingest(db: sqlite_utils.Database, paths: list[str], rubrics: dict[str, Rubric], rubric_id: str | None = None,
           progress: Callable[[str, str, str | None], None] | None = None) -> Summary:
    """Given paths, read every form into the store; return the Summary. Same bytes twice: skipped."""
    summary = Summary()
    start = time.perf_counter()
    for inp in paths_to_inputs(paths):
        outcome, detail = ingest_one(db, inp, rubrics, rubric_id)
        summary.results.append((inp.source, outcome, detail))
        if outcome == "skipped":
            summary.skipped += 1
        else:
            summary.read += 1
            summary.flagged += outcome == FLAGGED
            summary.failed += outcome == FAILED
        if progress:
            progress(inp.source, outcome, detail)
    summary.seconds = time.perf_counter() - start
    return summary


def ingest_one(db: sqlite_utils.Database, inp: Input, rubrics: dict[str, Rubric],
               rubric_id: str | None = None) -> tuple[str, str | None]:
    """Given one input file, store its Form (or a failed one); return (outcome, detail)."""
    try:
        sha = file_sha256(inp.path)
    except OSError as e:
        form = Form(source=inp.source, sha256="", status=FAILED, error=f"cannot read the file: {e.strerror or e}")
        save_form(db, form)
        return FAILED, form.error
    known = sha_known(db, sha)
    if known is not None:
        return "skipped", f"already ingested (form {known})"
    try:
        form = path_to_form(inp.path, rubrics, source=inp.source, rubric_id=rubric_id, sha256=sha)
    except Exception as e:  # noqa: BLE001 - one bad file must never stop the batch
        form = Form(source=inp.source, sha256=sha, status=FAILED,
                    error=f"could not read the file ({type(e).__name__}: {str(e)[:120]}); please report it")
    save_form(db, form)
    return form.status, form.error
