"""Library log output goes to selfeval's log, never as unlabelled lines on stderr.

pdfminer/pdfplumber, PIL, onnxruntime, rapidocr, jieba, extract_msg, olefile and others log warnings
("CropBox missing from /Page", "Building prefix dict from the default dictionary ...") through Python
``logging``; with nothing configured, logging's last resort prints them bare on stderr, between our
progress lines, in every worker. ``capture_library_logs`` sends them all to one handler of the
``selfeval`` logger that labels every line ``[selfeval] pdfminer: ...`` and is quiet by default:
``SELFEVAL_LOG=debug|info|warning|error`` shows library records from that level on (``off``, the
default, shows none). Python ``warnings`` are routed the same way (as ``py.warnings``).

rapidocr and jieba attach their own stderr handlers when imported (and set their loggers to DEBUG): the
library loggers are created here first and keep no handler but ours, whenever the library is imported.
onnxruntime's C++ logger is not Python logging: extractor.ocr sets its severity when it creates the engine.

Importing this module captures (the parsers import it, so every worker process does, under fork or spawn).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import types

LOGGER_NAME = "selfeval"
ENV_VAR = "SELFEVAL_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL, "off": logging.CRITICAL + 10}
DEFAULT_LEVEL = "off"
# Loggers of the libraries we run (top-level names; their children propagate to them).
LIBRARIES = ("pdfminer", "pdfplumber", "pypdfium2", "PIL", "onnxruntime", "RapidOCR", "OrtInferSession",
             "rapidocr_onnxruntime", "jieba", "extract_msg", "olefile", "msoffcrypto", "compressed_rtf", "RTFDE",
             "tzlocal", "openpyxl", "docx", "lxml", "sqlite_utils", "fontTools", "charset_normalizer",
             "chardet", "py.warnings")

_lock = threading.Lock()
_handler: logging.Handler | None = None


class _StderrHandler(logging.StreamHandler):
    """A stream handler writing to whatever sys.stderr is when a record comes (tests and the CLI swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - logging's own attribute
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ assigns it
        pass


class _OneLine(logging.Formatter):
    """``[selfeval] <library>: <message>``, on one line (a traceback or a multi-line message joined by " | ")."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        name = "warning" if record.name == "py.warnings" else record.name.split(".", 1)[0]
        if record.name.startswith(LOGGER_NAME + "."):
            name = record.name[len(LOGGER_NAME) + 1:]
        body = " | ".join(line.strip() for line in text.splitlines() if line.strip())
        return f"[selfeval] {body}" if name == LOGGER_NAME else f"[selfeval] {name}: {body}"


class _Forward(logging.Handler):
    """Hands a library's records to the selfeval logger's handler (one handler, one place to configure)."""

    def emit(self, record: logging.LogRecord) -> None:
        if _handler is not None and record.levelno >= _handler.level:
            _handler.handle(record)


def _add_own_handlers_only(self: logging.Logger, handler: logging.Handler) -> None:
    """A library logger's addHandler: a library adding its own stderr handler (rapidocr's get_logger, jieba at
    import) is ignored, so its lines cannot bypass the selfeval handler."""
    if isinstance(handler, _Forward | logging.NullHandler):
        logging.Logger.addHandler(self, handler)


def level_from_env() -> int:
    """Given SELFEVAL_LOG (debug, info, warning, error, critical, off; unset: off), return the logging level."""
    return LEVELS.get(os.environ.get(ENV_VAR, DEFAULT_LEVEL).strip().lower(), LEVELS[DEFAULT_LEVEL])


def capture_library_logs(names: tuple[str, ...] = LIBRARIES) -> logging.Logger:
    """Given library logger names, route their records to the selfeval logger's one handler (labelled, at
    SELFEVAL_LOG's level) and drop the stderr handlers they attached themselves; return the selfeval logger.
    Safe to call again (each worker process calls it, and again after importing a library that adds its
    own handler)."""
    global _handler
    with _lock:
        level = level_from_env()
        logger = logging.getLogger(LOGGER_NAME)
        if _handler is None:
            _handler = _StderrHandler()
            _handler.setFormatter(_OneLine("%(message)s"))
            logger.addHandler(_handler)
            logger.propagate = False
            logging.captureWarnings(True)
        _handler.setLevel(level)
        logger.setLevel(min(level, logging.CRITICAL))
        for name in names:
            lib = logging.getLogger(name)
            for h in list(lib.handlers):
                if not isinstance(h, _Forward | logging.NullHandler):
                    lib.removeHandler(h)
            lib.addHandler = types.MethodType(_add_own_handlers_only, lib)  # type: ignore[method-assign]
            if not any(isinstance(h, _Forward) for h in lib.handlers):
                lib.addHandler(_Forward())
            lib.propagate = False
            # The library's own level too, so that a debug call costs nothing when nobody reads it.
            lib.setLevel(min(level, logging.CRITICAL + 1))
        return logger


capture_library_logs()
