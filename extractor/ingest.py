"""Ingest: the paths a user gives -> input files -> Forms -> the store.

Files are read in worker processes (jieba and the rubrics load once per worker) and stored
by this process in input order, one transaction per form, so a killed ingest leaves a
consistent database and a second run finishes the rest (same bytes are skipped). One bad
file never stops the batch: every failure is a failed form with a one-line error.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from rubric import Rubric

from .extract import file_sha256, path_to_form
from .form import FAILED, FLAGGED, Form
from .store import save_form, sha_known

# Files people keep beside forms in an inbox that are not worth a failed record.
DEFAULT_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024
DEFAULT_FILE_TIMEOUT_S = 120
SKIPPED = "skipped"


@dataclass
class Input:
    """One file to read: where it is on disk and the source name it is recorded under.
    error/skipped are set when the file is known unreadable before parsing (e.g. an archive member refused)."""

    path: Path | None
    source: str
    error: str | None = None
    skipped: str | None = None


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

    def add(self, source: str, outcome: str, detail: str | None) -> None:
        self.results.append((source, outcome, detail))
        if outcome == SKIPPED:
            self.skipped += 1
            return
        self.read += 1
        self.flagged += outcome == FLAGGED
        self.failed += outcome == FAILED


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


def inputs_to_leaves(inputs: Iterator[Input], workdir: Path) -> Iterator[Input]:
    """Given input files, yield the files to read: archives and e-mails expanded into their
    members (written under workdir), other files as they are."""
    from . import containers

    for inp in inputs:
        if inp.path is not None and inp.path.suffix.lower() in containers.CONTAINER_SUFFIXES:
            for m in containers.input_to_members(inp.path, inp.source, workdir):
                yield Input(m.path, m.source, m.error, m.skipped)
        else:
            yield inp


# --- the worker side -------------------------------------------------------------------------

_RUBRICS: dict[str, Rubric] = {}


class FileTimeout(Exception):
    pass


def load_worker_state(rubrics: dict[str, Rubric]) -> None:
    """Load the rubrics and jieba's dictionary once per process that reads files."""
    global _RUBRICS
    _RUBRICS = rubrics
    from .matching.segment import tokens

    tokens("预热")


def _init_worker(rubrics: dict[str, Rubric]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    load_worker_state(rubrics)


def _on_alarm(signum, frame):
    raise FileTimeout


def read_file(path: Path, source: str, sha: str, rubric_id: str | None, timeout: int) -> Form:
    """Given one file, return its Form within the time limit; never raise."""
    use_alarm = timeout > 0 and threading.current_thread() is threading.main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(timeout)
    try:
        return path_to_form(path, _RUBRICS, source=source, rubric_id=rubric_id, sha256=sha)
    except FileTimeout:
        return Form(source=source, sha256=sha, status=FAILED,
                    error=f"reading took longer than {timeout} s: the file may be damaged; re-save it and send it again")
    except Exception as e:  # noqa: BLE001 - one bad file must never stop the batch
        return Form(source=source, sha256=sha, status=FAILED,
                    error=f"could not read the file ({type(e).__name__}: {str(e)[:120]}); please report it")
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)


# --- the storing side ------------------------------------------------------------------------

def _precheck(db: sqlite_utils.Database, inp: Input, max_bytes: int) -> tuple[Form | None, str | None, str]:
    """Decide before parsing: a failed Form to store, a skip reason, or (None, None, sha) to read."""
    if inp.skipped:
        return None, inp.skipped, ""
    if inp.error or inp.path is None:
        return Form(source=inp.source, sha256="", status=FAILED, error=inp.error or "no file"), None, ""
    try:
        size = inp.path.stat().st_size
        if size > max_bytes:
            return Form(source=inp.source, sha256="", status=FAILED,
                        error=f"the file is {_human(size)}, over the {_human(max_bytes)} limit: "
                              f"send the form alone"), None, ""
        sha = file_sha256(inp.path)
    except OSError as e:
        return Form(source=inp.source, sha256="", status=FAILED,
                    error=f"cannot read the file: {e.strerror or e}"), None, ""
    known = sha_known(db, sha)
    if known is not None:
        return None, f"already ingested (form {known})", sha
    return None, None, sha


def _cost(path: Path | None) -> tuple[int, int]:
    """A sort key, most expensive first: PDFs (and scans) take far longer than Word files."""
    try:
        size = path.stat().st_size if path else 0
    except OSError:
        size = 0
    slow = path is not None and path.suffix.lower() in (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
    return (0 if slow else 1, -size)


def _human(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def ingest(db: sqlite_utils.Database, paths: list[str], rubrics: dict[str, Rubric], rubric_id: str | None = None,
           progress: Callable[[str, str, str | None], None] | None = None, jobs: int | None = None,
           timeout: int = DEFAULT_FILE_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Summary:
    """Given paths, read every form into the store; return the Summary. Same bytes twice: skipped."""
    summary = Summary()
    start = time.perf_counter()
    jobs = max(1, jobs or os.cpu_count() or 1)

    def record(source: str, outcome: str, detail: str | None) -> None:
        summary.add(source, outcome, detail)
        if progress:
            progress(source, outcome, detail)

    def store(form: Form) -> None:
        if save_form(db, form) is None:
            record(form.source, SKIPPED, "already ingested (by another run)")
        else:
            record(form.source, form.status, form.error)

    with tempfile.TemporaryDirectory(prefix="selfeval-") as work:
        todo: list[tuple[Input, str]] = []
        for inp in inputs_to_leaves(paths_to_inputs(paths), Path(work)):
            failed, skip, sha = _precheck(db, inp, max_bytes)
            if failed is not None:
                store(failed)
            elif skip is not None:
                record(inp.source, SKIPPED, skip)
            elif any(sha == s for _, s in todo):
                record(inp.source, SKIPPED, "same bytes as another file in this batch")
            else:
                todo.append((inp, sha))
        if jobs == 1 or len(todo) <= 1:
            load_worker_state(rubrics)
            for inp, sha in todo:
                store(read_file(inp.path, inp.source, sha, rubric_id, timeout))
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=_mp_context(),
                                     initializer=_init_worker, initargs=(rubrics,)) as pool:
                # The slowest files first (PDFs, then by size) keep every core busy to the end; results
                # are still stored in input order, so the database order is stable.
                futures: dict[int, Future] = {}
                for n in sorted(range(len(todo)), key=lambda k: _cost(todo[k][0].path)):
                    inp, sha = todo[n]
                    futures[n] = pool.submit(read_file, inp.path, inp.source, sha, rubric_id, timeout)
                for n in range(len(todo)):
                    store(futures.pop(n).result())
    summary.seconds = time.perf_counter() - start
    return summary
