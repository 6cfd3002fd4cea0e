"""Label normalisation and jieba segmentation (loaded once per process)."""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from functools import lru_cache

_POINTS = re.compile(r"[（(]\s*\d+(?:\.\d+)?\s*分\s*[)）]")
_NUMBERING = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十]+[)）、.．]|[（(]?\d+[)）、.．]|\d+(?:\.\d+)+)\s*")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1 << 16)
def normalize_label(text: str | None) -> str:
    """Given a printed label, return it folded for comparison: width-folded, no "（1分）",
    no leading numbering ("1．", "一、"), no spaces or punctuation. Each distinct text is folded once per process:
    every form's rows and context cells are normalized for every rubric, and a batch repeats its labels."""
    t = unicodedata.normalize("NFKC", text or "")
    t = _SPACE.sub("", t)
    t = _POINTS.sub("", t)
    t = _NUMBERING.sub("", t)
    return _PUNCT.sub("", t)


def label_points(text: str | None) -> str | None:
    """Given a printed label, return the points its "（N分）" gives, as text, or None."""
    m = _POINTS.search(unicodedata.normalize("NFKC", re.sub(r"\s+", "", text or "")))
    return re.sub(r"[^\d.]", "", m.group(0)) if m else None


@lru_cache(maxsize=1)
def _jieba():
    blocked = "pkg_resources" not in sys.modules
    if blocked:
        # jieba imports pkg_resources only to open its own data files (a third of a second of start-up, and a
        # deprecation warning); without it jieba opens them by path, the same files.
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        if blocked and "pkg_resources" in sys.modules and sys.modules["pkg_resources"] is None:
            del sys.modules["pkg_resources"]

    from .dictionary import load_tokenizer

    jieba.setLogLevel(logging.WARNING)
    load_tokenizer(jieba)
    return jieba


@lru_cache(maxsize=8192)
def tokens(normalized: str) -> str:
    """Given a normalized label, return its jieba words joined by spaces (for token scorers)."""
    return " ".join(w for w in _jieba().lcut(normalized) if w.strip())
