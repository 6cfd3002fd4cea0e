"""The OCR engine: rapidocr's recogniser (and its detector, loaded only if something asks for it), loaded once
per process (lazily, on first use) from the models its wheel ships: nothing is downloaded. The angle classifier
is never loaded (orient.py tells the way up with the recogniser).

Sessions are built here with our own onnxruntime SessionOptions (rapidocr's own builder sets no thread count and
leaves the thread pool spinning): one intra-op thread for the recogniser, whose crops are run DEFAULT_THREADS at
a time from a thread pool instead (``Engine.map``; SELFEVAL_OCR_THREADS overrides; a worker of ``--jobs`` = all
cores wants 1): a crop is small, and two threads splitting one crop's operators cost a third more CPU than one,
while two crops at once cost what each costs alone. No spinning (a thread that waits for work sleeps instead of
burning a core another worker needs), no memory arena and no memory pattern (crops come in every width: a pattern
or an arena sized for the widest stays allocated).

OpenCV's own thread pool is cut to DEFAULT_CV_THREADS when the engine loads: pages are already read
DEFAULT_PAGES_AT_ONCE at a time (pipeline.py) and their crops recognised engine.threads at a time, so a page's
thresholds, morphology and warps splitting across the cores only add the pool's hand-offs and waits: one OpenCV
thread read the bench's 52 kept scan, turned, grey and photo pages in 2.04 CPU s a page, two in 2.25.

onnxruntime: its telemetry is disabled before it is first imported (ORT_TELEMETRY_DISABLED; onnxruntime 1.32
writes a device id under ~/.cache/Microsoft at import unless its telemetry is suppressed) and its C++ logger only
reports errors, so OCR leaves nothing in the user's home folder and no bare lines on stderr.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import numpy as np

from .. import logs
from ..parsers.base import ParseError
from ..parsers.image import MISSING_OCR

NUMBER_CHARS = "0123456789.+-分"

_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


# onnxruntime's C++ logger: 3 = errors only (its warnings, such as unused initializers, are not ours).
ORT_LOG_SEVERITY = 3


def import_onnxruntime_quietly() -> ModuleType:
    """Return onnxruntime imported with its telemetry off and its C++ logger at ORT_LOG_SEVERITY; raise
    ImportError when it is not installed.

    ORT_TELEMETRY_DISABLED is onnxruntime's opt-out; releases before it was a full opt-out (1.32) still
    write a device id file into the home folder while initialising at import, unless they believe they run
    under their test harness, so ORT_RUNNING_UNIT_TESTS is set for the import only (it only suppresses
    telemetry) and restored after."""
    import sys

    os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")
    if "onnxruntime" in sys.modules:
        ort = sys.modules["onnxruntime"]
    else:
        saved = os.environ.get("ORT_RUNNING_UNIT_TESTS")
        os.environ["ORT_RUNNING_UNIT_TESTS"] = "1"
        try:
            import onnxruntime as ort
        finally:
            if saved is None:
                os.environ.pop("ORT_RUNNING_UNIT_TESTS", None)
            else:
                os.environ["ORT_RUNNING_UNIT_TESTS"] = saved
    for name, args in (("disable_telemetry_events", ()), ("set_default_logger_severity", (ORT_LOG_SEVERITY,))):
        if callable(getattr(ort, name, None)):
            getattr(ort, name)(*args)
    return ort


DEFAULT_THREADS = 2  # crops recognised at once per engine (SELFEVAL_OCR_THREADS overrides)
DEFAULT_CV_THREADS = 1  # OpenCV's threads per process once the engine is loaded (see the module's docstring)

T = TypeVar("T")
R = TypeVar("R")


def engine_threads() -> int:
    """Return how many crops an engine recognises at once: SELFEVAL_OCR_THREADS when it is a positive number, else DEFAULT_THREADS
    (at most the machine's cores)."""
    stated = os.environ.get("SELFEVAL_OCR_THREADS", "")
    if stated.isdigit() and int(stated) > 0:
        return int(stated)
    return max(1, min(DEFAULT_THREADS, os.cpu_count() or 1))


def session_options(ort: ModuleType, threads: int):
    """Given onnxruntime and a thread count, return the SessionOptions every OCR session is built with."""
    options = ort.SessionOptions()
    options.log_severity_level = ORT_LOG_SEVERITY
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class Engine:
    """rapidocr's recognizer session (and detector session, on first use), loaded once per process from the
    package's own models, with our SessionOptions."""

    def __init__(self) -> None:
        try:
            self._ort = import_onnxruntime_quietly()
            import cv2
            import rapidocr_onnxruntime
            from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
            from rapidocr_onnxruntime.utils import read_yaml, update_model_path
        except ImportError as error:
            raise ParseError(MISSING_OCR) from error

        logs.capture_library_logs()  # rapidocr's loggers, created at its import
        cv2.setNumThreads(DEFAULT_CV_THREADS)
        self._config = update_model_path(read_yaml(Path(rapidocr_onnxruntime.__file__).parent / "config.yaml"))
        self.threads = engine_threads()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid = 0  # the process the pool's threads run in
        self._detector = None
        self.recognizer = TextRecognizer(self._config["Rec"])
        self._own_session(self.recognizer.session, self._config["Rec"]["model_path"], 1)
        self.characters: list[str] = self.recognizer.postprocess_op.character
        self.number_index = np.array([i for i, ch in enumerate(self.characters) if ch in NUMBER_CHARS])

    def _own_session(self, holder, model_path: str, threads: int) -> None:
        """Give rapidocr's session holder a session built with our options and threads intra-op threads
        (rapidocr's own session is released)."""
        holder.session = self._ort.InferenceSession(model_path, sess_options=session_options(self._ort, threads),
                                                    providers=["CPUExecutionProvider"])

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Given a function and items, return fn of each, in order, computed ``threads`` at a time (onnxruntime
        and OpenCV release the GIL while they work); with one thread, in this thread."""
        if self.threads <= 1:
            return [fn(item) for item in items]
        if self._pool is None or self._pool_pid != os.getpid():
            # A forked worker inherits the engine but not the pool's threads: work handed to them would wait
            # forever. Each process makes its own pool.
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="selfeval-ocr")
            self._pool_pid = os.getpid()
        return list(self._pool.map(fn, items))

    @property
    def detector(self):
        """rapidocr's text detector, loaded on first use (the reading path finds text by its ink instead)."""
        if self._detector is None:
            from rapidocr_onnxruntime.ch_ppocr_det import TextDetector

            self._detector = TextDetector(self._config["Det"])
            self._own_session(self._detector.infer, self._config["Det"]["model_path"], self.threads)
        return self._detector


def load_engine() -> Engine:
    """Return the process's OCR engine, loading it on first use; raise ParseError when the extra is missing."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
        return _ENGINE
