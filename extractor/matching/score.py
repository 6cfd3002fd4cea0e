"""Similarity of a form row to a rubric item, 0-100, from its label and its context."""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

from .segment import normalize_label, tokens

# How much the row's 大项/中项 context weighs against the label itself.
DEFAULT_CONTEXT_WEIGHT = 0.25
# partial_ratio finds a label whose prefix was dropped; it is discounted so that an exact
# full match still wins, and not used when one string is much shorter than the other.
DEFAULT_PARTIAL_DISCOUNT = 0.92
DEFAULT_PARTIAL_MIN_LENGTH_RATIO = 0.35
DEFAULT_TOKEN_DISCOUNT = 0.95


def label_similarity(a: str, b: str) -> float:
    """Given two normalized labels, return their similarity 0-100 (typos, dropped prefixes, word order)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    best = fuzz.ratio(a, b)
    short, long_ = sorted((a, b), key=len)
    if len(short) / len(long_) >= DEFAULT_PARTIAL_MIN_LENGTH_RATIO and len(short) >= 3:
        best = max(best, DEFAULT_PARTIAL_DISCOUNT * fuzz.partial_ratio(short, long_))
    best = max(best, DEFAULT_TOKEN_DISCOUNT * fuzz.token_set_ratio(tokens(a), tokens(b)))
    return float(best)


def context_similarity(row_text: str, item_text: str) -> float | None:
    """Given a row's context cell and the item's, return their similarity, or None when the row has none."""
    a, b = normalize_label(row_text), normalize_label(item_text)
    if not a or not b:
        return None
    return label_similarity(a, b)


def row_item_score(label: str, category: str, section: str,
                   item_label: str, item_category: str, item_section: str) -> float:
    """Given a row's normalized label and raw context and an item's, return the match score 0-100."""
    s = label_similarity(label, item_label)
    ctx = [c for c in (context_similarity(category, item_category), context_similarity(section, item_section))
           if c is not None]
    if not ctx:
        return s
    return (1 - DEFAULT_CONTEXT_WEIGHT) * s + DEFAULT_CONTEXT_WEIGHT * sum(ctx) / len(ctx)


# Rows of similarities already computed, per list of item texts (a rubric's labels, or its contexts), by row
# text: forms of one template repeat the same labels, so a batch computes each label's row once per process.
# Bounded: past these sizes a list's rows, or all lists, are forgotten (then computed again, the same).
DEFAULT_CACHED_ROWS = 20_000
DEFAULT_CACHED_LISTS = 64
_ROWS: dict[tuple[str, ...], dict[str, np.ndarray]] = {}


def _similarity_rows(a: list[str], b: list[str]) -> np.ndarray:
    """Given normalized labels a (rows) and b (items), both non-empty, return label_similarity for every pair
    as a len(a) x len(b) array, computed with rapidfuzz's cdist (C, no Python loop per pair)."""
    ratio = process.cdist(a, b, scorer=fuzz.ratio, dtype=np.float64)
    partial = process.cdist(a, b, scorer=fuzz.partial_ratio, dtype=np.float64)
    token = process.cdist([tokens(x) for x in a], [tokens(y) for y in b], scorer=fuzz.token_set_ratio,
                          dtype=np.float64)
    la = np.array([len(x) for x in a], dtype=np.float64)[:, None]
    lb = np.array([len(y) for y in b], dtype=np.float64)[None, :]
    short, long_ = np.minimum(la, lb), np.maximum(la, lb)
    use_partial = (short >= 3) & (short >= DEFAULT_PARTIAL_MIN_LENGTH_RATIO * np.maximum(long_, 1))
    out = np.maximum(ratio, np.where(use_partial, DEFAULT_PARTIAL_DISCOUNT * partial, 0.0))
    out = np.maximum(out, DEFAULT_TOKEN_DISCOUNT * token)
    out[(la == 0) | (lb == 0)] = 0.0
    equal = np.array([[x == y and x != "" for y in b] for x in a], dtype=bool)
    out[equal] = 100.0
    return out


def similarity_matrix(a: list[str], b: list[str]) -> np.ndarray:
    """Given normalized labels a (rows) and b (items), return label_similarity for every pair as a
    len(a) x len(b) array. Each pair's score depends on that pair alone, so a row text met before against
    the same items reuses its row (see _ROWS)."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    key = tuple(b)
    known = _ROWS.get(key)
    if known is None:
        if len(_ROWS) >= DEFAULT_CACHED_LISTS:
            _ROWS.clear()
        known = _ROWS[key] = {}
    rows = {x: known[x] for x in a if x in known}
    missing = [x for x in dict.fromkeys(a) if x not in rows]
    if missing:
        if len(known) + len(missing) > DEFAULT_CACHED_ROWS:
            known.clear()
        for x, row in zip(missing, _similarity_rows(missing, b), strict=True):
            row.setflags(write=False)
            rows[x] = known[x] = row
    return np.array([rows[x] for x in a], dtype=np.float64)


def context_matrix(row_texts: list[str], item_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Given the rows' and items' context cells (raw), return (similarity, present) arrays: present is
    False where either side has no context, as context_similarity's None."""
    a = [normalize_label(t) for t in row_texts]
    b = [normalize_label(t) for t in item_texts]
    ua, ub = sorted(set(a)), sorted(set(b))
    small = similarity_matrix(ua, ub)
    pa, pb = {x: i for i, x in enumerate(ua)}, {y: i for i, y in enumerate(ub)}
    ia = np.array([pa[x] for x in a], dtype=int)
    ib = np.array([pb[y] for y in b], dtype=int)
    sim = small[np.ix_(ia, ib)] if len(ua) and len(ub) else np.zeros((len(a), len(b)))
    present = np.array([x != "" for x in a])[:, None] & np.array([y != "" for y in b])[None, :]
    return sim, present


def score_matrix(labels: list[str], categories: list[str], sections: list[str],
                 item_labels: list[str], item_categories: list[str], item_sections: list[str]) -> np.ndarray:
    """Given the rows' normalized labels and raw context and the items', return row_item_score for every
    (row, item) pair as an array."""
    s = similarity_matrix(labels, item_labels)
    cs, cp = context_matrix(categories, item_categories)
    ss, sp = context_matrix(sections, item_sections)
    n = cp.astype(np.float64) + sp.astype(np.float64)
    ctx = np.divide(np.where(cp, cs, 0.0) + np.where(sp, ss, 0.0), n, out=np.zeros_like(s), where=n > 0)
    return np.where(n > 0, (1 - DEFAULT_CONTEXT_WEIGHT) * s + DEFAULT_CONTEXT_WEIGHT * ctx, s)
