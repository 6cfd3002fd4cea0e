"""The similarity rows kept per process: a label met again gets the same scores as computed afresh, and a
caller changing the matrix it got never changes what the next caller gets."""

from __future__ import annotations

import rubric
from extractor.matching import score
from extractor.matching.segment import normalize_label


def test_cached_rows_equal_fresh_ones_and_are_not_shared_with_callers():
    items = [normalize_label(i.label) for i in rubric.load_all()["qinghai-2024"].items]
    rows = [items[3], "安全生产责任制落实情况", "", items[3], items[10][2:], "完全无关的文字"]
    first = score.similarity_matrix(rows, items)
    first[:] = -1.0  # the caller's own copy
    again = score.similarity_matrix([*reversed(rows), "新的标签"], items)
    fresh = score._similarity_rows([*reversed(rows), "新的标签"], items)
    assert again.tolist() == fresh.tolist()
    assert again[2][3] == 100.0 and again[3].tolist() == [0.0] * len(items)  # equal label; empty label
