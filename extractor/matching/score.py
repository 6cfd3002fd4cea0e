"""Similarity of a form row to a rubric item, 0-100, from its label and its context."""

from __future__ import annotations

from rapidfuzz import fuzz

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
