"""One-to-one assignment of form rows to rubric items across the whole form."""

from __future__ import annotations

from dataclasses import dataclass

from rubric import Rubric

from .score import score_matrix as matrix
from .segment import normalize_label

# Below this a row is no rubric item at all (unmatched_row).
DEFAULT_MIN_MATCH = 55.0
# Below this a match is kept but reported as low_confidence_match.
DEFAULT_LOW_CONFIDENCE = 70.0
# A row whose best item went to another row scoring at most this much better is a duplicate of it.
DEFAULT_DUPLICATE_MARGIN = 8.0
# A row may fall back to its second-best item only if that scores within this of its best.
DEFAULT_FALLBACK_MARGIN = 12.0


@dataclass
class RowText:
    """What the matcher sees of a row: its label and its 大项/中项 context, as printed."""

    label: str
    category: str = ""
    section: str = ""


@dataclass
class Assignment:
    item_for_row: dict[int, int]  # row index -> item index
    score_for_row: dict[int, float]  # every row's score for its assigned (or best) item
    duplicates: dict[int, int]  # row index -> item index it duplicates
    unmatched: list[int]  # row indexes that match no item

    @property
    def mean_score(self) -> float:
        if not self.item_for_row:
            return 0.0
        return sum(self.score_for_row[r] for r in self.item_for_row) / len(self.item_for_row)


# A rubric's side of the matrix (normalized labels, category names, sections), once per process per rubric
# content: every form is scored against every rubric, and normalizing a label is regex work.
_ITEM_SIDES: dict[tuple, tuple[list[str], list[str], list[str]]] = {}
DEFAULT_CACHED_RUBRICS = 32


def rubric_to_item_side(rubric: Rubric) -> tuple[list[str], list[str], list[str]]:
    """Given a rubric, return its items' normalized labels, category names and sections, in item order."""
    cats = {c.code: c.name for c in rubric.categories}
    key = tuple((i.label, cats[i.category], i.section or "") for i in rubric.items)
    side = _ITEM_SIDES.get(key)
    if side is None:
        if len(_ITEM_SIDES) >= DEFAULT_CACHED_RUBRICS:
            _ITEM_SIDES.clear()
        side = _ITEM_SIDES[key] = ([normalize_label(label) for label, _, _ in key], [c for _, c, _ in key],
                                   [s for _, _, s in key])
    return side


def score_matrix(rows: list[RowText], rubric: Rubric) -> list[list[float]]:
    """Given rows and a rubric, return scores[row][item] (0-100), the same as row_item_score per pair."""
    labels, categories, sections = rubric_to_item_side(rubric)
    m = matrix([normalize_label(r.label) for r in rows], [r.category for r in rows], [r.section for r in rows],
               labels, categories, sections)
    return m.tolist()


def rows_to_assignment(rows: list[RowText], rubric: Rubric) -> Assignment:
    """Given the form's item rows and a rubric, return the one-to-one assignment of rows to items.

    Greedy over all (row, item) pairs, best first: globally consistent for forms whose rows are
    each clearly closest to one item, and deterministic. A row whose best item was taken by a
    row that scores about as well is a duplicate; a row that only scores well on taken items
    falls back to another item only when that one is nearly as good."""
    m = score_matrix(rows, rubric)
    best = [max(r) if r else 0.0 for r in m]
    pairs = sorted(((m[r][i], r, i) for r in range(len(rows)) for i in range(len(rubric.items))
                    if m[r][i] >= DEFAULT_MIN_MATCH), key=lambda p: (-p[0], p[1], p[2]))
    item_for_row: dict[int, int] = {}
    row_for_item: dict[int, int] = {}
    for s, r, i in pairs:
        if r in item_for_row or i in row_for_item:
            continue
        if s < best[r] - DEFAULT_FALLBACK_MARGIN:
            continue
        item_for_row[r] = i
        row_for_item[i] = r
    duplicates: dict[int, int] = {}
    unmatched: list[int] = []
    score_for_row: dict[int, float] = {}
    for r in range(len(rows)):
        if r in item_for_row:
            score_for_row[r] = m[r][item_for_row[r]]
            continue
        i = max(range(len(rubric.items)), key=lambda k: m[r][k]) if rubric.items else 0
        score_for_row[r] = best[r]
        winner = row_for_item.get(i)
        if best[r] >= DEFAULT_MIN_MATCH and winner is not None and m[winner][i] - best[r] <= DEFAULT_DUPLICATE_MARGIN:
            duplicates[r] = i
        else:
            unmatched.append(r)
    return Assignment(item_for_row, score_for_row, duplicates, unmatched)
