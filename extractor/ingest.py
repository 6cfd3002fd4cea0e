"""Ingest: the paths a user gives -> input files -> Forms -> the store.

Every file is read, and every archive or e-mail unpacked, in a worker process under a deadline and a memory
ceiling (extractor.supervisor): a file that hangs, eats memory or crashes its reader is one failed record, and
the batch goes on. This process only walks folders, hashes regular files and stores the results, in input order,
one transaction per form, so a killed ingest leaves a consistent database and a second run finishes the rest
(same bytes are skipped). Every input has exactly one outcome a person can see: a record, or a skip line saying
why (the same bytes were stored before); a container with no form inside is a failed record that lists what it
held. A failed file is read again with retry_failed, or by itself once the selfeval version or the installed
extras differ from those that failed it.
"""

from __future__ import annotations

import importlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import stamp, supervisor, tempdirs
from .containers import CONTAINER_SUFFIXES, Member
from .form import FAILED, FLAGGED, Form
from .inbox import (
    DEFAULT_IGNORED_NAMES,
    NotRegular,
    collapse_members,
    container_records,
    human,
    regular_sha256,
    scanned_pages,
)
from .store import replace_failed, save_form

if TYPE_CHECKING:
    import sqlite_utils

    from rubric import Rubric

# The readers (extractor.extract and the parsers, numpy, pdfplumber, jieba…) are imported by the processes that read
# files, not here: a spawned worker (Windows, macOS) imports them itself, so this process would pay for them for
# nothing. Where workers are forked, ingest() loads them here once before the first worker starts (see there).
# extractor.pages_group, which reads photos together, imports them too: it is imported where a container needs it.

DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024
DEFAULT_FILE_TIMEOUT_S = 120
DEFAULT_SCAN_PAGE_S = 30  # added to the deadline for each page of a scan (a PDF without text, an image)
DEFAULT_MAX_MEMORY = 2 * 1024 ** 3
PLUGINS_ENV = "SELFEVAL_PLUGINS"  # comma-separated modules every worker imports first (extra parsers, tests)
SKIPPED = "skipped"
DEFAULT_WINDOW = 200  # inputs admitted ahead of the oldest not yet stored (slowest first within it)
SLOW_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".doc", ".wps", ".rtf", ".xls", ".et", ".ods")

__all__ = ["DEFAULT_IGNORED_NAMES", "DEFAULT_FILE_TIMEOUT_S", "DEFAULT_MAX_FILE_BYTES", "DEFAULT_MAX_MEMORY",
           "DEFAULT_SCAN_PAGE_S", "Input", "Summary", "ingest", "paths_to_inputs"]


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


def parse_size(text: str) -> int:
    """Given a size as people write it (2G, 1500M, 2GB, 512k, or bytes), return the bytes; raise ValueError."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(t[-1:], 1)
    try:
        n = float(t[:-1] if factor > 1 else t)
    except ValueError:
        raise ValueError(f"{text!r} is no size: write e.g. 2G or 1500M") from None
    if n * factor < 64 * 1024 ** 2:
        raise ValueError(f"{text!r} is too little memory to read a form: give at least 64M")
    return int(n * factor)


def _refusal(mode: int) -> str | None:
    """Given an lstat mode, return why such a file is never opened, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    what = ("a symbolic link" if stat.S_ISLNK(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a folder" if stat.S_ISDIR(mode) else "a special file")
    return f"refused: {what}, not a regular file: copy the file itself into the folder"


def paths_to_inputs(paths: list[str]) -> Iterator[Input]:
    """Given the paths from the command line, yield every file: a file as given, a directory's files recursively
    (sorted), each named by the path as reached from the command line. Only regular files are to be opened:
    symbolic links, FIFOs and devices found in a folder are yielded with their refusal, before anything reads them
    (a path named on the command line may be a link to a regular file: the user chose it)."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                    dirs.remove(name)
                    files.append(name)
                for name in sorted(files):
                    if name in DEFAULT_IGNORED_NAMES or name.startswith("~$"):
                        continue
                    full = os.path.join(root, name)
                    try:
                        why = _refusal(os.lstat(full).st_mode)
                    except OSError as e:
                        why = f"cannot read the file: {e.strerror or e}"
                    yield Input(None if why else Path(full), full, error=why)
        else:
            try:
                why = _refusal(os.stat(path).st_mode)
            except OSError as e:
                why = f"cannot read the file: {e.strerror or e}"
            yield Input(None if why else path.resolve() if path.is_symlink() else path, p, error=why)


# --- the worker side -------------------------------------------------------------------------

_RUBRICS: dict[str, Rubric] = {}


def load_worker_state(rubrics: dict[str, Rubric]) -> None:
    """Load the rubrics, the readers and jieba's dictionary once per process that reads files."""
    global _RUBRICS
    _RUBRICS = rubrics
    # The pipeline, imported once here, not by the first file's task. Each format's parser is imported at its
    # first file (extractor/parsers/__init__.py), and pages_group (photos read together) where a container needs
    # it: it imports the scan and PDF parsers.
    from . import extract  # noqa: F401
    from .logs import capture_library_logs
    from .matching.segment import tokens

    capture_library_logs()  # libraries' warnings go to selfeval's log, never as bare stderr lines
    tokens("预热")


def _init_worker(rubrics: dict[str, Rubric], workdir: str) -> None:
    # Temporary files of the worker and of the programs it starts (LibreOffice's lu*.tmp) go under the run's own
    # folder, which the parent removes at the end whatever happened to the worker.
    tmp = Path(workdir) / f"tmp-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    for var in ("TMPDIR", "TEMP", "TMP"):
        os.environ[var] = str(tmp)
    tempfile.tempdir = str(tmp)
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(name)
    with supervisor.long_lived():  # a spawned worker's imports: what a forked one inherited frozen
        load_worker_state(rubrics)


def path_to_forms(path: Path, rubrics: dict[str, Rubric], **kw: object) -> Form | list[Form]:
    """Given a file, the rubrics and path_to_forms' keywords, return extractor.extract.path_to_forms' Forms (the
    readers imported at the first call, in the worker; see the imports above)."""
    from .extract import path_to_forms as read

    return read(path, rubrics, **kw)


def read_task(path: str, source: str, sha: str, rubric_id: str | None) -> Form | list[Form]:
    """Given one file, return its Form, or its Forms when it is a workbook of several (path_to_forms); a file that
    cannot be read is a failed Form. Sends ("pages", n) first when the file is a scan of n pages, for the parent
    to extend the deadline."""
    p = Path(path)
    pages = scanned_pages(p)
    if pages:
        supervisor.send(("pages", pages))
    try:
        forms = path_to_forms(p, _RUBRICS, source=source, rubric_id=rubric_id, sha256=sha)
        return forms[0] if isinstance(forms, list) and len(forms) == 1 else forms
    except MemoryError:
        raise  # the supervisor words it with the ceiling
    except Exception as e:  # noqa: BLE001 - one bad file must never stop the batch
        return Form(source=source, sha256=sha, status=FAILED,
                    error=f"could not read the file ({type(e).__name__}: {str(e)[:120]}); please report it")


def read_group_task(members: list[tuple[str, str, str]], rubric_id: str | None) -> list[Form]:
    """Given the image members (path, source, sha256) of one container folder, in name order, return their Forms
    (extractor/pages_group.py: one per run of pages that continue one table), or [] when reading them together
    raised (the parent then reads each alone). Sends ("pages", n) first, n the pages of them all, for the parent
    to extend the deadline by each page's allowance."""
    from . import pages_group

    pages = sum(scanned_pages(Path(path)) for path, _source, _sha in members)
    if pages:
        supervisor.send(("pages", pages))
    try:
        return pages_group.images_to_forms(members, _RUBRICS, rubric_id)
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - none: the parent reads the members one by one instead, each failing alone
        return []


def unpack_task(path: str, source: str, workdir: str) -> int:
    """Given a container file, unpack it under workdir, sending each member as ("member", Member) as it is
    written (so the members before a hang or crash are kept); return how many."""
    from .containers import input_to_members

    n = 0
    for m in input_to_members(Path(path), source, Path(workdir)):
        supervisor.send(("member", m))
        n += 1
    return n


# --- the storing side ------------------------------------------------------------------------


@dataclass
class _Slot:
    """One outcome to store, in input order: a Form, a skip, or a read or unpack still running."""

    source: str
    sha: str = ""
    form: Form | None = None
    more: list[Form] = field(default_factory=list)  # a workbook's other forms: same bytes, named source!sheet
    skip: str | None = None
    waiting: str | None = None  # "read" (for the Form of sha) | "unpack" (for its members)
    retry: list[int] = field(default_factory=list)  # failed records of these bytes this one replaces
    members: list[Member] = field(default_factory=list)
    path: Path | None = None
    origin: Path | None = None  # for an archive member: the file given (the container), which outlives the run
    group: list[Member] | None = None  # image members read together as one job (pages_group), in name order


def _failed(source: str, error: str, sha: str = "", kind: str | None = None) -> Form:
    return Form(source=source, sha256=sha, status=FAILED, error=error, kind=kind)


def _limit_message(what: str, why: str, value: object, timeout: float, pages: int, page_s: float) -> str:
    """Given what the worker did, why it was stopped and the supervisor's value, return the one-line error."""
    if why == supervisor.TIMEOUT:
        detail = f" ({timeout:g} s + {page_s:g} s for each of {pages} scanned pages)" if pages else ""
        return f"{what} took longer than {value:g} s{detail}: the file may be damaged; re-save it and send it again"
    if why == supervisor.MEMORY:
        return (f"{what} needed more than {human(int(value))} of memory: the file may be damaged or far too "
                f"large; re-save it and send it again")
    if why == supervisor.DIED:
        return f"{what} crashed (exit code {value}): the file may be damaged; re-save it and send it again"
    return f"could not read the file ({value}); please report it"


class _Run:
    def __init__(self, db: sqlite_utils.Database, sup: supervisor.Supervisor, work: Path, rubric_id: str | None,
                 record: Callable[[str, str, str | None], None], timeout: float, page_s: float, max_bytes: int,
                 retry_failed: bool) -> None:
        self.db, self.sup, self.work, self.rubric_id, self.record = db, sup, work, rubric_id, record
        self.timeout, self.page_s, self.max_bytes, self.retry_failed = timeout, page_s, max_bytes, retry_failed
        self.slots: list[_Slot] = []
        self.reading: dict[str, list[_Slot]] = {}  # sha -> the slots waiting for its Form
        self.unpacking: dict[int, _Slot] = {}
        self.pages: dict[str, int] = {}
        self.stored: set[str] = set()
        self.stamp = stamp.current()

    # -- admitting inputs --

    def admit(self, inp: Input, container_kind: bool | None = None) -> _Slot:
        """Given an input, return its slot: ready (a refusal, a skip) or waiting for a worker."""
        if inp.skipped:
            return _Slot(inp.source, skip=inp.skipped)
        if inp.error or inp.path is None:
            return _Slot(inp.source, form=_failed(inp.source, inp.error or "no file"))
        is_container = inp.path.suffix.lower() in CONTAINER_SUFFIXES if container_kind is None else container_kind
        try:
            sha, size = regular_sha256(inp.path, None if is_container else self.max_bytes)
        except NotRegular as e:
            return _Slot(inp.source, form=_failed(inp.source, str(e)))
        except OSError as e:
            return _Slot(inp.source, form=_failed(inp.source, f"cannot read the file: {e.strerror or e}"))
        if sha is None:
            return _Slot(inp.source, form=_failed(inp.source, f"the file is {human(size)}, over the "
                                                              f"{human(self.max_bytes)} limit: send the form alone"))
        slot = _Slot(inp.source, sha=sha, path=inp.path)
        known = self.db.execute("SELECT id, status, reader_version, extras FROM forms WHERE sha256 = ? ORDER BY id",
                                [sha]).fetchall()
        if known:
            stale = any((r[2], r[3]) != (self.stamp["reader_version"], self.stamp["extras"]) for r in known)
            if not all(r[1] == FAILED for r in known) or not (self.retry_failed or stale):
                slot.skip = f"already ingested (form {known[0][0]})"
                return slot
            slot.retry = [r[0] for r in known]
        if is_container:
            slot.waiting = "unpack"
            n = len(self.unpacking) + 1
            self.unpacking[n] = slot
            folder = self.work / f"c{n:04d}"
            self.sup.submit(("unpack", n), unpack_task, (str(inp.path), inp.source, str(folder)), self.timeout,
                            priority=(0, -size))
        else:
            slot.waiting = "read"
            if sha not in self.reading:
                self.reading[sha] = []
                # The slowest files first (containers, then PDFs and scans, then by size) keep every core busy
                # to the end; results are still stored in input order.
                slow = inp.path.suffix.lower() in SLOW_SUFFIXES
                self.sup.submit(("read", sha), read_task, (str(inp.path), inp.source, sha, self.rubric_id),
                                self.timeout, priority=(1 if slow else 2, -size))
            self.reading[sha].append(slot)
        return slot

    def known(self, sha: str) -> tuple[str | None, list[int]]:
        """Given a sha256, return (why it is skipped, or None; the ids of the failed records a new read replaces)."""
        known = self.db.execute("SELECT id, status, reader_version, extras FROM forms WHERE sha256 = ? ORDER BY id",
                                [sha]).fetchall()
        if not known:
            return None, []
        stale = any((r[2], r[3]) != (self.stamp["reader_version"], self.stamp["extras"]) for r in known)
        if not all(r[1] == FAILED for r in known) or not (self.retry_failed or stale):
            return f"already ingested (form {known[0][0]})", []
        return None, [r[0] for r in known]

    def admit_group(self, members: list[Member]) -> list[_Slot]:
        """Given two or more image members of one container folder (name order), return their slots: one job reading
        them together, or each member alone when they were stored one by one before (or cannot all be hashed)."""
        alone = [self.admit(Input(m.path, m.source), container_kind=False) for m in members] if any(
            m.path is None for m in members) else None
        shas: list[str] = []
        size = 0
        for m in members if alone is None else ():
            try:
                sha, n = regular_sha256(m.path, self.max_bytes)
            except OSError:
                sha = None
            if sha is None:
                alone = [self.admit(Input(x.path, x.source), container_kind=False) for x in members]
                break
            shas.append(sha)
            size += n
        if alone is not None:
            return alone
        firsts: dict[str, Member] = {}
        for m, h in zip(members, shas, strict=True):
            firsts.setdefault(h, m)
        if len(firsts) < len(members):  # the same photo attached twice is one page, not two of one form
            kept = list(firsts.values())
            head = (self.admit_group(kept) if len(kept) >= 2
                    else [self.admit(Input(kept[0].path, kept[0].source), container_kind=False)])
            return head + [_Slot(m.source, sha=h, skip="same bytes as another file in this batch")
                           for m, h in zip(members, shas, strict=True) if firsts[h] is not m]
        from . import pages_group

        sha = pages_group.group_sha256(shas)
        source = pages_group.group_source([m.source for m in members])
        skip, retry = self.known(sha)
        if skip is not None:
            return [_Slot(source, sha=sha, skip=skip)]
        if not retry and all(self.known(h)[0] for h in shas):  # read and stored one by one before: skipped alike
            return [self.admit(Input(m.path, m.source), container_kind=False) for m in members]
        slot = _Slot(source, sha=sha, retry=retry, waiting="read", group=members)
        if sha not in self.reading:
            self.reading[sha] = []
            args = ([(str(m.path), m.source, h) for m, h in zip(members, shas, strict=True)], self.rubric_id)
            self.sup.submit(("read", sha), read_group_task, args, self.timeout, priority=(1, -size))
        self.reading[sha].append(slot)
        return [slot]

    def regroup(self, slot: _Slot, forms: list[Form] | None) -> None:
        """Given a group's slot and the Forms its job returned (None: the job was stopped), put their slots in its
        place; a stopped job's members are read again one by one, so a hostile one fails alone."""
        if not forms:
            outcomes = [self.admit(Input(m.path, m.source), container_kind=False) for m in slot.group or []]
        else:
            outcomes = []
            for f in forms:
                skip, retry = (None, slot.retry) if f.sha256 == slot.sha else self.known(f.sha256)
                outcomes.append(_Slot(f.source, sha=f.sha256, skip=skip, retry=retry, form=None if skip else f))
        for o in outcomes:
            o.origin = slot.origin
        i = self.slots.index(slot)
        self.slots[i:i + 1] = outcomes

    # -- worker events --

    def on_event(self, ev: supervisor.Event) -> None:
        kind, key = ev.task
        if kind == "read":
            if ev.kind == "message" and ev.value[0] == "pages":
                self.pages[key] = ev.value[1]
                self.sup.extend(ev.task, ev.value[1] * self.page_s)
                return
            slots = self.reading.pop(key, [])
            for s in [s for s in slots if s.group is not None]:
                self.regroup(s, list(ev.value) if ev.kind == "result" else None)
            slots = [s for s in slots if s.group is None]
            if not slots:
                return
            more: list[Form] = []
            if ev.kind == "result":
                form, *more = ev.value if isinstance(ev.value, list) else [ev.value]
            else:
                why = _limit_message("reading", ev.why, ev.value, self.timeout, self.pages.get(key, 0), self.page_s)
                form = _failed(slots[0].source if slots else key, why, key)
            for s in slots:
                s.form, s.more, s.waiting = form, more, None
            return
        slot = self.unpacking[key]
        if ev.kind == "message":
            slot.members.append(ev.value[1])
            return
        error = None if ev.kind == "result" else _limit_message("unpacking", ev.why, ev.value, self.timeout, 0, 0)
        self.expand(slot, error)

    def expand(self, slot: _Slot, error: str | None) -> None:
        """Given a container slot whose unpacking ended (with error when it was stopped), put its outcomes in its
        place: its members' slots, led by the container's own record when it has no other outcome."""
        from . import pages_group

        suffix = Path(slot.source).suffix.lower().lstrip(".") or None
        members = collapse_members(slot.source, slot.members)
        outcomes: list[_Slot] = []
        if error is not None:
            outcomes.append(_Slot(slot.source, sha=slot.sha, retry=slot.retry,
                                  form=_failed(slot.source, error, slot.sha, suffix)))
            members = [m for m in members if m.source != slot.source]
        for m in pages_group.members_to_units(container_records(slot.source, members, top_done=error is not None)):
            if isinstance(m, list):  # photos of one folder: read together, perhaps one form of several pages
                for o in self.admit_group(m):
                    o.origin = slot.origin or slot.path
                    outcomes.append(o)
            elif m.source == slot.source and m.error:  # the container's own record: its bytes, its retry
                outcomes.append(_Slot(m.source, sha=slot.sha, retry=slot.retry,
                                      form=_failed(m.source, m.error, slot.sha, suffix)))
            else:
                outcomes.append(self.admit(Input(m.path, m.source, m.error, m.skipped), container_kind=False))
                outcomes[-1].origin = slot.origin or slot.path
        if slot.retry and not any(o.source == slot.source and o.sha == slot.sha for o in outcomes):
            # Read again and now represented by its members: its old failed record goes (see store).
            outcomes.insert(0, _Slot(slot.source, retry=slot.retry))
        i = self.slots.index(slot)
        self.slots[i:i + 1] = outcomes

    # -- storing, in input order --

    def flush(self) -> None:
        while self.slots and self.slots[0].waiting is None:
            self.store(self.slots.pop(0))

    def store(self, slot: _Slot) -> None:
        if slot.skip is not None:
            self.record(slot.source, SKIPPED, slot.skip)
            return
        form = slot.form
        if form is None:
            replace_failed(self.db, None, slot.retry)
            return
        if form.sha256 and form.sha256 in self.stored:
            self.record(slot.source, SKIPPED, "same bytes as another file in this batch")
            return
        if form.sha256:
            self.stored.add(form.sha256)
        if not slot.more:  # a workbook's forms were named source!sheet by the read of this very slot
            form.source = slot.source
        where = slot.origin or slot.path
        for f in (form, *slot.more):
            if where is not None and f.path is None:
                f.path = str(Path(where).resolve())
        saved = (replace_failed(self.db, form, slot.retry, slot.more) if slot.retry
                 else save_form(self.db, form, siblings=slot.more))
        if saved is None:
            self.record(form.source, SKIPPED, "already ingested (by another run)")
        else:
            for f in (form, *slot.more):
                self.record(f.source, f.status, f.error)


def ingest(db: sqlite_utils.Database, paths: list[str], rubrics: dict[str, Rubric], rubric_id: str | None = None,
           progress: Callable[[str, str, str | None], None] | None = None, jobs: int | None = None,
           timeout: float = DEFAULT_FILE_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
           max_memory: int = DEFAULT_MAX_MEMORY, page_timeout: float = DEFAULT_SCAN_PAGE_S,
           retry_failed: bool = False) -> Summary:
    """Given paths, read every form into the store; return the Summary. Same bytes twice: skipped, unless the
    stored record failed and retry_failed is set or the reader (version, extras) changed since."""
    summary = Summary()
    start = time.perf_counter()
    jobs = max(1, jobs or os.cpu_count() or 1)

    def record(source: str, outcome: str, detail: str | None) -> None:
        summary.add(source, outcome, detail)
        if progress:
            progress(source, outcome, detail)

    tempdirs.clean_stale()
    # WAL with synchronous=NORMAL: a commit is no longer flushed to the disk before the next form (the wal file is,
    # at each checkpoint). A killed ingest still loses nothing it committed, and a power cut or an OS crash may
    # roll back only the last forms, never corrupt the file: a second run reads those again (same bytes are
    # skipped, the rest finished), as after any stop. An fsync per form was a fifth of the store's CPU time.
    synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    wal = db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    if wal:
        db.execute("PRAGMA synchronous = NORMAL")
    try:
        _ingest(db, paths, rubrics, rubric_id, record, jobs, timeout, max_bytes, max_memory, page_timeout,
                retry_failed)
    finally:
        if wal:
            db.execute(f"PRAGMA synchronous = {int(synchronous)}")
    summary.seconds = time.perf_counter() - start
    return summary


def _ingest(db: sqlite_utils.Database, paths: list[str], rubrics: dict[str, Rubric], rubric_id: str | None,
            record: Callable[[str, str, str | None], None], jobs: int, timeout: float, max_bytes: int,
            max_memory: int, page_timeout: float, retry_failed: bool) -> None:
    if supervisor.start_method() == "fork":
        # Forked workers inherit jieba's dictionary and the rubrics already loaded, so they (and the ones started
        # after a kill) are ready at once instead of each spending a second loading them.
        with supervisor.long_lived():
            load_worker_state(rubrics)
    with tempdirs.private_dir("ingest") as work:
        with supervisor.Supervisor(jobs, max_memory, _init_worker, (rubrics, str(work))) as sup:
            run = _Run(db, sup, work, rubric_id, record, timeout, page_timeout, max_bytes, retry_failed)
            for inp in paths_to_inputs(paths):
                run.slots.append(run.admit(inp))
                run.flush()
                if len(run.slots) >= DEFAULT_WINDOW:
                    # Forms are stored in input order, so every result read ahead of the oldest one waits in memory
                    # (a quarter of a MB each): reading on until half the window is stored keeps that flat.
                    for ev in sup.events():
                        run.on_event(ev)
                        run.flush()
                        if len(run.slots) < DEFAULT_WINDOW // 2:
                            break
            run.flush()
            for ev in sup.events():
                run.on_event(ev)
                run.flush()
            run.flush()
