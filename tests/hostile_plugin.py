"""Test-only parsers that misbehave on purpose, loaded into every ingest worker through SELFEVAL_PLUGINS.

Each one stands for a real hostile file (a PDF whose self-referencing object loops forever, a .docx whose grid
spans build billions of cells, a converter child that eats memory, a crash inside a C library), with a suffix of
its own so that nothing else is affected. Processes they start write their pid to <file>.pid beside the input,
so tests can check that they are gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from extractor.model import Document
from extractor.parsers import PARSERS
from extractor.parsers.base import ParseError, Parser
from extractor.parsers.docx import DocxParser

FIXED_ENV = "SELFEVAL_TEST_FIXED"

_CHILD_SLEEPS = "import time\nwhile True: time.sleep(1)"
_CHILD_EATS = ("import time\nheap = []\nwhile True:\n    heap.append(b'x' * (16 << 20))\n    time.sleep(0.02)")


def _child(code: str, path: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL)
    Path(str(path) + ".pid").write_text(str(proc.pid))
    return proc


class Hang(Parser):
    """Runs forever, as pdfminer does on a self-referencing object."""

    suffixes = (".hang",)

    def path_to_document(self, path: Path) -> Document:
        while True:
            time.sleep(1)


class HangWithChild(Parser):
    """Starts a child that runs forever (as soffice.bin does), then waits for it."""

    suffixes = (".hangchild",)

    def path_to_document(self, path: Path) -> Document:
        _child(_CHILD_SLEEPS, path).wait()
        raise ParseError("unreachable")


class Hog(Parser):
    """Allocates memory without end, in the worker itself."""

    suffixes = (".hog",)

    def path_to_document(self, path: Path) -> Document:
        heap = []
        while True:
            heap.append(b"x" * (32 << 20))  # touched bytes: resident, not just reserved


class ChildHog(Parser):
    """Starts a child that allocates without end (as LibreOffice on a crafted RTF), then waits for it."""

    suffixes = (".childhog",)

    def path_to_document(self, path: Path) -> Document:
        _child(_CHILD_EATS, path).wait()
        raise ParseError("unreachable")


class Crash(Parser):
    """Ends the worker process at once, as a crash in a C library does."""

    suffixes = (".crash",)

    def path_to_document(self, path: Path) -> Document:
        os._exit(70)


class Flaky(Parser):
    """A .docx under another name that fails until SELFEVAL_TEST_FIXED is set (a part installed later)."""

    suffixes = (".flaky",)

    def path_to_document(self, path: Path) -> Document:
        if not os.environ.get(FIXED_ENV):
            raise ParseError("the part needed to read this is not installed")
        return DocxParser().path_to_document(path)


if not any(isinstance(p, Hang) for p in PARSERS):
    PARSERS.extend([Hang(), HangWithChild(), Hog(), ChildHog(), Crash(), Flaky()])
