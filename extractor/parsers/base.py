"""The tiny base every format parser shares."""

from __future__ import annotations

from pathlib import Path

from ..model import Document


class ParseError(Exception):
    """The file cannot be read as the format it claims; the message says what to do."""


class Parser:
    """One input format. Subclasses set ``suffixes`` and implement ``path_to_document``."""

    suffixes: tuple[str, ...] = ()
    kind: str = ""

    def path_to_document(self, path: Path) -> Document:  # pragma: no cover - interface
        """Given a file path, return its Document or raise ParseError."""
        raise NotImplementedError
