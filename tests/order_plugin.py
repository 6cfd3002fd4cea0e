"""Test-only parser, loaded into every ingest worker through SELFEVAL_PLUGINS: a .docx under the suffix .logged,
whose reading appends the file's name to the file $SELFEVAL_TEST_READ_LOG, so a test sees the order of reads."""

from __future__ import annotations

import os
from pathlib import Path

from extractor.model import Document
from extractor.parsers import PARSERS
from extractor.parsers.base import Parser
from extractor.parsers.docx import DocxParser

LOG_ENV = "SELFEVAL_TEST_READ_LOG"


class Logged(Parser):
    suffixes = (".logged",)

    def path_to_document(self, path: Path) -> Document:
        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as log:
            log.write(Path(path).name + "\n")
        return DocxParser().path_to_document(path)


if not any(isinstance(p, Logged) for p in PARSERS):
    PARSERS.append(Logged())
