"""Run untrusted work in worker processes under a wall-clock deadline and a memory ceiling, on every OS.

A `Supervisor` keeps up to `jobs` worker processes, each with its own pipe, and hands one task at a time to an
idle one. While a task runs, the parent polls (with psutil, the same way on Linux, macOS and Windows) the resident
memory of the worker and all its children (LibreOffice's soffice.bin included) and the task's deadline. The ceiling
is on what the task adds to the idle worker: a forked worker's resident size starts with the pages it shares with its
parent, which says nothing about the file. Over either,
it kills the worker's whole process tree, reports the task as failed with the reason, and starts a new worker when
the next task needs one. A worker that dies by itself (a crash in a C library, os._exit) is a failed task too: the
caller always gets one outcome per task and the batch goes on.

Where the OS has it, the worker also caps its own address space (RLIMIT_AS) at its size after start-up plus twice
the memory ceiling plus 1 GB, so that a bomb that allocates gigabytes between two polls gets a MemoryError instead
(address space counts reservations that are never touched, hence the headroom: the polled ceiling is the real one).

Workers watch their parent: a thread in each exits the worker (after killing its children) within a second of the
parent being gone, so even kill -9 of the ingest leaves no process behind. No alarm signal, process-group kill or
fork-only call is used, so the same code runs under the fork and spawn start methods (``SELFEVAL_START_METHOD``
chooses).
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import multiprocessing.connection
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil

START_METHOD_ENV = "SELFEVAL_START_METHOD"
DEFAULT_POLL_S = 0.1
PARENT_CHECK_S = 0.5
GB = 1024 ** 3
MAX_FAILED_STARTS = 3  # workers that die while starting: the environment is broken, not a file

TIMEOUT, MEMORY, DIED, ERROR = "timeout", "memory", "died", "error"


@dataclass
class Event:
    """What a task did: "message" (value: what the task sent), "result" (value: what it returned) or "failed"
    (why: timeout | memory | died | error; value: the seconds allowed, the exit code, or the error text)."""

    task: Hashable
    kind: str
    value: Any = None
    why: str | None = None


@dataclass(order=True)
class _Task:
    priority: tuple
    seq: int
    id: Hashable = field(compare=False)
    fn: Callable = field(compare=False)
    args: tuple = field(compare=False)
    timeout: float = field(compare=False)


@dataclass
class _Worker:
    proc: Any  # multiprocessing.Process (of whichever context)
    conn: multiprocessing.connection.Connection
    ready: bool = False
    task: _Task | None = None
    deadline: float = 0.0
    allowed: float = 0.0
    ps: psutil.Process | None = None
    tree: list[psutil.Process] = field(default_factory=list)  # its descendants at the last poll
    base_rss: int = 0  # its own resident memory when it became ready, before any task


def start_method() -> str:
    """Return the start method for workers: $SELFEVAL_START_METHOD when set, else fork where the OS has it (workers
    start at once), else spawn."""
    wanted = os.environ.get(START_METHOD_ENV, "").strip()
    methods = multiprocessing.get_all_start_methods()
    if wanted in methods and (wanted == "spawn" or hasattr(os, "fork")):
        return wanted
    # os.fork may be missing (a sandbox, or a test that removes it) on an OS whose multiprocessing still lists fork.
    return "fork" if "fork" in methods and hasattr(os, "fork") else "spawn"


def _single_threaded_opencv() -> None:
    """Cut OpenCV's thread pool to one thread in this process, if it has loaded OpenCV, before a fork.

    OpenCV's pool does not survive a fork (opencv/opencv#5150): after the parent has run a parallel call (a
    warpPerspective: `serve` rectifying an evidence picture, a test making a photo), a forked worker's first call
    that reconfigures the pool (the OCR engine's setNumThreads) waits forever for threads it does not have, and
    the file fails at its deadline. With one thread in the parent there is no pool to inherit. A process that has
    not loaded OpenCV is left alone (importing it would cost the start-up a worker is forked to save)."""
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "setNumThreads"):
        cv2.setNumThreads(1)


@contextmanager
def long_lived() -> Iterator[None]:
    """Run a block that makes objects that live as long as the process (imports, the rubrics) without cyclic garbage
    collection, then freeze what it made (gc.freeze): start-up allocates a great deal and frees little, so each
    collection there only walks the same modules again, and frozen objects are not walked by later full collections,
    in this process or in a worker forked from it. Nested blocks leave the collector to the outermost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


# --- process trees ---------------------------------------------------------------------------------


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        fast = _proc_children(proc)
        return fast if fast is not None else proc.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


_PROC_CHILDREN = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def _proc_children(proc: psutil.Process) -> list[psutil.Process] | None:
    """Given a process, return its descendants from Linux's /proc/PID/task/TID/children lists, or None where
    the kernel has none (then psutil lists them). psutil reads the parent of every process on the machine to
    find them: the parent polls a busy worker ten times a second, and a shared machine has hundreds of
    processes, while a worker has no child at all unless it converts a file."""
    if not _PROC_CHILDREN:
        return None
    out: list[psutil.Process] = []
    todo, seen = [proc.pid], {proc.pid}
    while todo:
        pid = todo.pop(0)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            if pid == proc.pid:
                raise psutil.NoSuchProcess(pid) from None
            continue
        kids: list[int] = []
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as f:
                    kids += [int(k) for k in f.read().split()]
            except (OSError, ValueError):
                continue  # the thread ended meanwhile
        for k in kids:
            if k in seen:
                continue
            seen.add(k)
            try:
                out.append(psutil.Process(k))
            except psutil.Error:
                continue
            todo.append(k)
    return out


def kill_tree(pid: int, include_root: bool = True, known: list[psutil.Process] = ()) -> None:
    """Given a pid, kill it (unless include_root is False) and all its descendants, and those of known that still
    run (children already orphaned by a dead parent), then wait for them briefly."""
    try:
        root: psutil.Process | None = psutil.Process(pid)
    except psutil.NoSuchProcess:
        root = None
    procs = _descendants(root) if root else []
    procs += [p for p in known if p not in procs and _running(p)]
    if root and include_root:
        procs.insert(0, root)
    # Stop every process first, so none can start another between the listing and the kill.
    for p in procs:
        try:
            p.suspend()
        except psutil.Error:
            pass
    for p in list(procs):
        procs += [c for c in _descendants(p) if c not in procs]
    pipes = _office_pipes(procs)
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)
    for path in pipes:  # LibreOffice removes its IPC socket only when it exits by itself
        try:
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass


def _office_pipes(procs: list[psutil.Process]) -> list[str]:
    """Given processes, return the OSL_PIPE_* sockets LibreOffice among them listens on. On Linux soffice.bin makes
    its single-instance pipe under /tmp whatever TMPDIR says, named after the profile."""
    found = []
    for p in procs:
        try:
            if "soffice" not in p.name().lower():
                continue
            listing = getattr(p, "net_connections", None) or p.connections
            for c in listing(kind="unix"):
                path = c.laddr if isinstance(c.laddr, str) else ""
                if os.path.basename(path).startswith("OSL_PIPE_"):
                    found.append(path)
        except (psutil.Error, OSError, NotImplementedError):
            pass
    return found


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE  # is_running also tells a reused pid apart
    except psutil.Error:
        return False


def tree_rss(proc: psutil.Process) -> tuple[int, list[psutil.Process]]:
    """Given a process, return the resident bytes of it and all its descendants, and those descendants."""
    kids = _descendants(proc)
    total = 0
    for p in [proc, *kids]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total, kids


# --- the worker side -------------------------------------------------------------------------------

_CONN: multiprocessing.connection.Connection | None = None
_TASK_ID: Hashable = None


def send(payload: Any) -> None:
    """Given a picklable payload, send it to the parent as a "message" Event of the running task; outside a worker
    (a task called directly) do nothing."""
    if _CONN is not None:
        _CONN.send(("message", _TASK_ID, payload))


def _watch_parent(pid: int, started: float) -> None:
    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            try:
                alive = psutil.Process(pid).create_time() == started
            except psutil.Error:
                alive = False
            if not alive:  # the parent was killed: take our own children (soffice) with us
                kill_tree(os.getpid(), include_root=False)
                os._exit(3)

    threading.Thread(target=watch, name="selfeval-parent-watch", daemon=True).start()


def _limit_address_space(max_memory: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's polling is the ceiling
        return
    if not hasattr(resource, "RLIMIT_AS"):
        return
    try:
        base = psutil.Process().memory_info().vms
        limit = base + 2 * max_memory + GB
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError, psutil.Error):
        pass  # macOS refuses some values: polling still holds


def _worker_main(conn: multiprocessing.connection.Connection, parent_pid: int, parent_started: float,
                 max_memory: int, initializer: Callable | None, initargs: tuple) -> None:
    global _CONN, _TASK_ID
    _watch_parent(parent_pid, parent_started)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    except (ValueError, OSError):
        pass
    if initializer is not None:
        initializer(*initargs)
    _limit_address_space(max_memory)
    _CONN = conn
    conn.send(("ready", None, None))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        _TASK_ID, fn, args = msg
        try:
            out = ("result", _TASK_ID, fn(*args))
        except MemoryError:
            out = ("failed", _TASK_ID, MEMORY)
        except BaseException as e:  # noqa: BLE001 - a task's error is its outcome, never the worker's end
            out = ("failed", _TASK_ID, f"{ERROR}:{type(e).__name__}: {str(e)[:200]}")
        try:
            conn.send(out)
        except Exception as e:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(("failed", _TASK_ID, f"{ERROR}:{type(e).__name__}: {str(e)[:200]}"))


# --- the parent side -------------------------------------------------------------------------------


class Supervisor:
    """Given jobs, a memory ceiling in bytes and a per-worker initializer, run submitted tasks in worker processes
    and yield their Events from `events()`. Use it as a context manager: leaving it kills every worker's tree."""

    def __init__(self, jobs: int, max_memory: int, initializer: Callable | None = None, initargs: tuple = (),
                 method: str | None = None, poll_s: float = DEFAULT_POLL_S) -> None:
        self.jobs = max(1, jobs)
        self.max_memory = max_memory
        self.initializer, self.initargs = initializer, initargs
        self.ctx = multiprocessing.get_context(method or start_method())
        self.poll_s = poll_s
        self._queue: list[_Task] = []  # a heap: the lowest priority first, then submission order
        self._workers: list[_Worker] = []
        self._me = psutil.Process()
        self._failed_starts = 0
        self._seq = 0
        self._policed = 0.0

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, task_id: Hashable, fn: Callable, args: tuple, timeout: float, priority: tuple = ()) -> None:
        """Given a task id, a module-level function, its arguments, seconds allowed and a priority (lowest runs
        first; equal ones in submission order), queue the task."""
        self._seq += 1
        heapq.heappush(self._queue, _Task(priority, self._seq, task_id, fn, args, timeout))

    def extend(self, task_id: Hashable, seconds: float) -> None:
        """Given a running task and seconds, allow it that much longer (once it has said what it faces)."""
        for w in self._workers:
            if w.task is not None and w.task.id == task_id:
                w.deadline += seconds
                w.allowed += seconds

    def pending(self) -> bool:
        return bool(self._queue) or any(w.task is not None for w in self._workers)

    def events(self) -> Iterator[Event]:
        """Yield Events until no task is queued or running (tasks may be submitted while iterating)."""
        while self.pending():
            self._dispatch()
            waitables: list = [w.conn for w in self._workers] + [w.proc.sentinel for w in self._workers]
            deadlines = [w.deadline for w in self._workers if w.task is not None]
            wait = self.poll_s if not deadlines else max(0.0, min(self.poll_s, min(deadlines) - time.monotonic()))
            multiprocessing.connection.wait(waitables, wait)
            for w in list(self._workers):
                yield from self._drain(w)
            for w in list(self._workers):
                if w.proc.exitcode is not None:
                    yield from self._drain(w)
                    self._retire(w)
                    if w.task is not None:
                        yield Event(w.task.id, "failed", w.proc.exitcode, DIED)
                    elif not w.ready:
                        self._failed_starts += 1
                        if self._failed_starts >= MAX_FAILED_STARTS:
                            raise RuntimeError(f"worker processes exit before they are ready "
                                               f"(exit code {w.proc.exitcode})")
            yield from self._police()

    def _drain(self, w: _Worker) -> Iterator[Event]:
        while w in self._workers:
            try:
                if not w.conn.poll():
                    return
                kind, task_id, value = w.conn.recv()
            except (EOFError, OSError):
                return  # the worker is gone: its sentinel says so
            if kind == "ready":
                w.ready = True
                try:
                    w.base_rss = w.ps.memory_info().rss if w.ps else 0
                except psutil.Error:
                    w.base_rss = 0
                self._dispatch()
                continue
            if w.task is None or task_id != w.task.id:
                continue  # from a task already given up on
            if kind == "message":
                yield Event(task_id, "message", value)
                continue
            w.task = None
            if kind == "result":
                yield Event(task_id, "result", value)
            elif value == MEMORY:
                yield Event(task_id, "failed", self.max_memory, MEMORY)
            else:
                yield Event(task_id, "failed", str(value).removeprefix(f"{ERROR}:"), ERROR)
            self._dispatch()

    def _police(self) -> Iterator[Event]:
        now = time.monotonic()
        if now - self._policed < self.poll_s and not any(w.task and now > w.deadline for w in self._workers):
            return  # listing process trees costs milliseconds (a snapshot of all processes on Windows)
        self._policed = now
        for w in list(self._workers):
            if w.task is None or w.ps is None:
                continue
            rss, w.tree = tree_rss(w.ps)
            if rss - w.base_rss > self.max_memory:
                yield self._kill(w, MEMORY, self.max_memory)
            elif now > w.deadline:
                yield self._kill(w, TIMEOUT, w.allowed)

    def _kill(self, w: _Worker, why: str, value: Any) -> Event:
        task = w.task
        w.task = None
        kill_tree(w.proc.pid, known=w.tree)
        self._retire(w)
        return Event(task.id, "failed", value, why)

    def _retire(self, w: _Worker) -> None:
        if w in self._workers:
            self._workers.remove(w)
        w.proc.join(timeout=5)
        if w.tree:  # children the worker left when it died (its parent watch could not run)
            kill_tree(w.proc.pid, include_root=False, known=w.tree)
        w.conn.close()

    def _spawn(self) -> _Worker:
        if self.ctx.get_start_method() == "fork":
            # What a forked worker inherits (the modules, the rubrics) lives as long as it: moved out of the cyclic
            # collector's reach, a full collection in either process no longer walks it (in the worker that walk
            # wrote to, and so copied, every inherited page: tens of ms for each worker). As the gc docs advise.
            gc.freeze()
            _single_threaded_opencv()
        parent_conn, child_conn = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_worker_main, name="selfeval-worker", daemon=True,
                                args=(child_conn, os.getpid(), self._me.create_time(), self.max_memory,
                                      self.initializer, self.initargs))
        proc.start()
        child_conn.close()
        w = _Worker(proc, parent_conn)
        try:
            w.ps = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            w.ps = None
        self._workers.append(w)
        return w

    def _dispatch(self) -> None:
        while self._queue:
            idle = next((w for w in self._workers if w.ready and w.task is None), None)
            if idle is None:
                break
            task = heapq.heappop(self._queue)
            try:
                idle.conn.send((task.id, task.fn, task.args))
            except (OSError, EOFError):
                heapq.heappush(self._queue, task)
                idle.ready = False  # dead: its sentinel will retire it
                break
            idle.task, idle.allowed = task, task.timeout
            idle.deadline = time.monotonic() + task.timeout
        starting = sum(not w.ready for w in self._workers)
        while len(self._workers) < self.jobs and starting < len(self._queue):
            self._spawn()
            starting += 1

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones (and anything they started) are killed."""
        self._queue.clear()
        for w in list(self._workers):
            if w.task is None and w.ready:
                try:
                    w.conn.send(None)
                    w.proc.join(timeout=2)
                except (OSError, EOFError):
                    pass
            if w.proc.exitcode is None:
                kill_tree(w.proc.pid, known=w.tree)
            self._retire(w)
