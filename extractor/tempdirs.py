"""Private temporary folders that never outlive their run.

Every folder selfeval makes under the system temp folder is named ``selfeval-*`` and holds a file ``owner.pid``
with the pid and start time of the process that made it. A run removes its own folder at exit; a run killed
before it could (kill -9, a power cut) leaves it, and the next run removes every such folder whose owner is gone
and that is older than a few minutes (younger ones may belong to a run that is still writing its pid file).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

PREFIX = "selfeval-"
OWNER_FILE = "owner.pid"
DEFAULT_STALE_AFTER_S = 300  # a folder younger than this is never taken for stale
UNOWNED_STALE_AFTER_S = 3600  # a folder with no owner file (an older selfeval's) waits longer: its run may go on


def _process_start(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ValueError):
        return None


def write_owner(folder: Path, pid: int | None = None) -> None:
    """Given a folder, write into it the pid (default: this process) and start time that own it."""
    pid = pid or os.getpid()
    started = _process_start(pid) or 0.0
    (folder / OWNER_FILE).write_text(f"{pid} {started:.3f}\n", encoding="ascii")


def owner_alive(folder: Path) -> bool:
    """Given a selfeval temp folder, return whether the process that made it still runs (the same process, not a
    new one that got its pid). A folder without a readable owner file has no live owner."""
    try:
        pid_text, started_text = (folder / OWNER_FILE).read_text(encoding="ascii").split()
        pid, started = int(pid_text), float(started_text)
    except (OSError, ValueError):
        return False
    now_started = _process_start(pid)
    # create_time is rounded differently on some systems: a second of slack still tells a reused pid apart.
    return now_started is not None and (not started or abs(now_started - started) < 1.0)


def clean_stale(base: Path | None = None, older_than: float = DEFAULT_STALE_AFTER_S) -> list[Path]:
    """Given the temp folder (default: the system's), remove the selfeval-* folders left by runs that are gone and
    that are older than older_than seconds; return the folders removed."""
    base = Path(base or tempfile.gettempdir())
    removed = []
    now = time.time()
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            if entry.is_symlink() or not entry.is_dir() or now - entry.stat().st_mtime < older_than:
                continue
        except OSError:
            continue
        if owner_alive(entry):
            continue
        if not (entry / OWNER_FILE).exists() and now - entry.stat().st_mtime < max(older_than, UNOWNED_STALE_AFTER_S):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
    return removed


def make_private_dir(kind: str = "run", base: Path | None = None) -> Path:
    """Given what the folder is for, return a new selfeval-<kind>-* folder under the temp folder, owned by this
    process (see write_owner)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=base))
    write_owner(folder)
    return folder


@contextmanager
def private_dir(kind: str = "run", base: Path | None = None) -> Iterator[Path]:
    """A private folder (make_private_dir) removed when the block ends, however it ends."""
    folder = make_private_dir(kind, base)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
