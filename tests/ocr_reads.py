"""A test helper: OCR each distinct page image once per test module, whatever test asks for it."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def cached_page_reads() -> Iterator[dict]:
    """While open, pipeline.read_page reads a page image (keyed by its pixels, dpi, number and layer) only the first
    time; later calls get a deep copy of that result. Yields the cache."""
    from extractor.ocr import pipeline

    cache: dict[tuple, object] = {}
    original = pipeline.read_page

    def read_page(engine, image, layer=None):
        key = (hashlib.sha1(image.pixels.tobytes()).hexdigest(), image.dpi, image.number, repr(layer))
        if key not in cache:
            cache[key] = original(engine, image, layer)
        return copy.deepcopy(cache[key])  # the table joiner moves pieces: never hand out the cached ones

    patch = pytest.MonkeyPatch()
    patch.setattr(pipeline, "read_page", read_page)
    try:
        yield cache
    finally:
        patch.undo()
