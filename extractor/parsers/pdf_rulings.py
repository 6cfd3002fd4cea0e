"""A PDF page's rulings: its edges (pdfplumber's "lines" strategy input) merged into the rules a table is cut by.

Parallel lines closer than a char whose extents overlap, with no text between them, are one ruling at their middle
(a double border, a thick border drawn as two lines, the two sides of a filled thin rectangle), and rules that stop
short of such a band are carried on to it. The PDF parser (pdf.py) cuts its tables by these.
"""

from __future__ import annotations

import itertools
import statistics
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from pdfplumber.page import Page

from .assemble import Box

DEFAULT_EDGE_TOLERANCE = 2.0  # points: cell sides closer than this are the same grid edge
DEFAULT_MIN_SLIVER = 6.0  # points: floor of the sliver width (a page's median character width, see page_to_sliver)
DEFAULT_JOIN_TOLERANCE = 3.0  # points: collinear rule pieces this far apart are one rule (pdfplumber's default)
DEFAULT_BAND_MIN = 1.0  # points: lines of one rule farther apart than this are a band (double or thick), merged



@dataclass
class Ruling:
    """One rule: its position across its axis, its extent along it, and how far apart the outermost lines
    merged into it lie (0 for a single line; a band, a double or thick rule, when above DEFAULT_BAND_MIN)."""

    pos: float
    start: float
    end: float
    spread: float = 0.0


@dataclass
class Centers:
    """The centers of a page's visible chars, sorted by x and by y, to tell fast whether a thin box holds text."""

    by_x: list[tuple[float, float]]
    xs: list[float]
    by_y: list[tuple[float, float]]
    ys: list[float]

    @classmethod
    def of(cls, chars: list[dict]) -> Centers:
        """Given a page's chars, return the centers of those that print something."""
        points = [((c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2) for c in chars if c["text"].strip()]
        by_x = sorted(points)
        by_y = sorted((y, x) for x, y in points)
        return cls(by_x, [x for x, _ in by_x], by_y, [y for y, _ in by_y])

    def inside(self, box: Box) -> bool:
        """Given a box (x0, top, x1, bottom), return whether a char's center lies strictly inside it."""
        x0, top, x1, bottom = box
        if x1 - x0 <= bottom - top:  # search along the thin side: few chars to look at
            return any(top < y < bottom for _, y in self.by_x[bisect_right(self.xs, x0) : bisect_left(self.xs, x1)])
        return any(x0 < x < x1 for _, x in self.by_y[bisect_right(self.ys, top) : bisect_left(self.ys, bottom)])


@dataclass
class Rulings:
    """A page's rulings as pdfplumber edges, the width below which a strip is a sliver, and its text's centers."""

    vertical: list[dict]
    horizontal: list[dict]
    sliver: float
    centers: Centers


def page_to_sliver(page: Page) -> float:
    """Given a page, return the width below which a strip between two rules is a sliver of border, never a
    column or a row: the median width of its visible chars (no text fits in less), at least DEFAULT_MIN_SLIVER."""
    widths = [c["x1"] - c["x0"] for c in page.chars if c["text"].strip()]
    return max(statistics.median(widths), DEFAULT_MIN_SLIVER) if widths else DEFAULT_MIN_SLIVER


def position_groups(lines: list[Ruling], sliver: float) -> list[list[Ruling]]:
    """Given parallel lines, return them grouped by position, each group spanning less than sliver across."""
    groups: list[list[Ruling]] = []
    for line in sorted(lines, key=lambda r: r.pos):
        # Bounded by the group's first line, not chained: rules a column apart never merge through lines between.
        if groups and line.pos - groups[-1][0].pos < sliver:
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def overlapping_runs(group: list[Ruling]) -> list[list[Ruling]]:
    """Given the lines of one position group, return them split into runs that may be one rule: lines side by
    side (extents overlapping by more than DEFAULT_EDGE_TOLERANCE) or end to end at one position (a rule drawn
    in pieces, one per cell)."""
    runs: list[list[Ruling]] = []
    active: list[Ruling] = []  # lines of the last run still reaching the current start
    for line in sorted(group, key=lambda r: (r.start, r.pos)):
        active = [a for a in active if a.end >= line.start - DEFAULT_JOIN_TOLERANCE]
        # End to end at another position is a jog in an irregular grid, not a doubled rule: kept apart.
        if any(
            abs(a.pos - line.pos) <= DEFAULT_EDGE_TOLERANCE
            or min(a.end, line.end) - line.start > DEFAULT_EDGE_TOLERANCE
            for a in active
        ):
            runs[-1].append(line)
        else:
            runs.append([line])
            active = []
        active.append(line)
    return runs


def run_to_rulings(run: list[Ruling], centers: Centers, vertical: bool) -> list[Ruling]:
    """Given a run of lines that may be one rule and the page's text centers, return the rulings it makes: one
    at the middle of its lines over their joint extent, or more where text lies between two of its lines (no
    text is printed inside a rule, so that is a narrow cell between two rules)."""
    start, end = min(r.start for r in run), max(r.end for r in run)
    positions = sorted({r.pos for r in run})
    cuts = [
        b
        for a, b in itertools.pairwise(positions)
        if b - a > DEFAULT_EDGE_TOLERANCE and centers.inside((a, start, b, end) if vertical else (start, a, end, b))
    ]
    rulings = []
    for low_cut, high_cut in itertools.pairwise([-float("inf"), *cuts, float("inf")]):
        part = [r for r in run if low_cut <= r.pos < high_cut]
        low, high = min(r.pos for r in part), max(r.pos for r in part)
        if high - low <= DEFAULT_BAND_MIN:
            # One rule drawn in pieces or a hair apart: left as drawn, so pdfplumber snaps it as it always did.
            rulings.extend(Ruling(r.pos, r.start, r.end) for r in part)
        else:
            rulings.append(Ruling((low + high) / 2, min(r.start for r in part), max(r.end for r in part), high - low))
    return rulings


def carry_to_bands(rulings: list[Ruling], bands: list[Ruling]) -> None:
    """Given rulings along one axis (mutated) and the bands (double or thick rules) across it, carry every
    ruling that stops just short of a band it meets on to the band's middle.

    Word and LibreOffice mitre double borders: a rule meeting one stops at its inner line or up to 2.5 line
    widths past it, short of the middle where the merged band now lies by more than pdfplumber's 3-pt
    intersection tolerance, and the cells there would be lost. The reach, twice the band's spread plus
    DEFAULT_EDGE_TOLERANCE, grows with the band, so a thin rule's neighbours are left as they are.
    """
    for band in bands:
        reach = 2 * band.spread + DEFAULT_EDGE_TOLERANCE
        for r in rulings:
            if not band.start - DEFAULT_JOIN_TOLERANCE <= r.pos <= band.end + DEFAULT_JOIN_TOLERANCE:
                continue
            if band.pos < r.start <= band.pos + reach:
                r.start = band.pos
            if band.pos - reach <= r.end < band.pos:
                r.end = band.pos


def ruling_to_edge(ruling: Ruling, vertical: bool) -> dict:
    """Given a ruling, return it as a pdfplumber edge (an explicit line for the table finder)."""
    length = ruling.end - ruling.start
    if vertical:
        x0 = x1 = ruling.pos
        top, bottom, width, height = ruling.start, ruling.end, 0.0, length
    else:
        x0, x1, width, height = ruling.start, ruling.end, length, 0.0
        top = bottom = ruling.pos
    return {"object_type": "ruling_edge", "orientation": "v" if vertical else "h", "x0": x0, "x1": x1,
            "top": top, "bottom": bottom, "width": width, "height": height}  # fmt: skip


def page_to_rulings(page: Page) -> Rulings:
    """Given an upright, deduplicated page, return its rulings: parallel lines closer than a char (see
    page_to_sliver) whose extents overlap, with no text between them, are one ruling at their middle (a double
    border, a thick border drawn as two lines, the two sides of a filled thin rectangle), and rules that stop
    short of such a band are carried on to it (see carry_to_bands). The lines are those pdfplumber's "lines"
    strategy uses: every edge of lines, rects and curves at least 1 pt long."""
    sliver = page_to_sliver(page)
    centers = Centers.of(page.chars)
    lines: dict[bool, list[Ruling]] = {True: [], False: []}
    for e in page.edges:
        if e["orientation"] not in ("v", "h"):
            continue  # a slanted piece of a curve (a seal, a tick) is no rule
        vertical = e["orientation"] == "v"
        start, end = (e["top"], e["bottom"]) if vertical else (e["x0"], e["x1"])
        if end - start >= 1:
            lines[vertical].append(Ruling(e["x0"] if vertical else e["top"], start, end))
    rulings = {
        vertical: [
            ruling
            for group in position_groups(group_lines, sliver)
            for run in overlapping_runs(group)
            for ruling in run_to_rulings(run, centers, vertical)
        ]
        for vertical, group_lines in lines.items()
    }
    for vertical in (True, False):
        carry_to_bands(rulings[vertical], [r for r in rulings[not vertical] if r.spread > DEFAULT_BAND_MIN])
    return Rulings(
        [ruling_to_edge(r, True) for r in rulings[True]], [ruling_to_edge(r, False) for r in rulings[False]],
        sliver, centers,
    )  # fmt: skip


def spans_to_edges(spans: list[tuple[float, float]], sliver: float) -> list[tuple[float, float]]:
    """Given the (low, high) extents of a table's cells along one axis, return its grid edges, each as the
    (lowest, highest) cell side it stands for.

    Sides closer than DEFAULT_EDGE_TOLERANCE are one edge, and so are sides closer than sliver (a rule drawn
    thick or doubled, a row's rule a hair off its neighbour's), unless a cell lies between them: a step
    narrower than a char would be a phantom column (or row) that shifts every later one by one.
    """
    highest_low: dict[float, float] = {}  # a cell's high side -> the highest low side of the cells ending there
    for low, high in spans:
        highest_low[high] = max(highest_low.get(high, low), low)
    groups: list[list[float]] = []
    for v in sorted({side for span in spans for side in span}):
        if groups and (
            v - groups[-1][-1] <= DEFAULT_EDGE_TOLERANCE
            or (v - groups[-1][0] < sliver and highest_low.get(v, -float("inf")) < groups[-1][0])
        ):
            groups[-1].append(v)
        else:
            groups.append([v])
    return [(g[0], g[-1]) for g in groups]
