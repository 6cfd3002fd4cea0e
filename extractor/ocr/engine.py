"""The OCR engine: rapidocr's detector, recogniser and angle classifier, loaded once per process (lazily, on
first use) from the models its wheel ships: nothing is downloaded.

onnxruntime: its telemetry is disabled before it is first imported (ORT_TELEMETRY_DISABLED; onnxruntime 1.32
writes a device id under ~/.cache/Microsoft at import unless its telemetry is suppressed) and its C++ logger only
reports errors, so OCR leaves nothing in the user's home folder and no bare lines on stderr.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType

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


class Engine:
    """rapidocr's detector and recognizer sessions, loaded once per process from the package's own models."""

    def __init__(self) -> None:
        try:
            import_onnxruntime_quietly()
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as error:
            raise ParseError(MISSING_OCR) from error
        logs.capture_library_logs()  # rapidocr's loggers, created at its import
        ocr = RapidOCR()
        self.detector = ocr.text_det
        self.recognizer = ocr.text_rec
        self.characters: list[str] = ocr.text_rec.postprocess_op.character
        self.number_index = np.array([i for i, ch in enumerate(self.characters) if ch in NUMBER_CHARS])


def load_engine() -> Engine:
    """Return the process's OCR engine, loading it on first use; raise ParseError when the extra is missing."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
        return _ENGINE
