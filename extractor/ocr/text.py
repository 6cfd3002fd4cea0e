"""Text boxes on a prepared page, found from its ink (no detector pass: the grid gives the cells): each cell's ink
pieces grouped into text lines, the lines outside the tables found the same way; cell texts joined."""

from __future__ import annotations

import math

import numpy as np

from ..parsers.assemble import CLOSING_PUNCTUATION, is_cjk, wrap_join
from .grid import Box, Grid, Text
from .prepare import Prepared, components, grey_percentile

DEFAULT_MIN_INK_HEIGHT = 0.05  # inches: ink lower than this (noise, dust, a dot) is no missed text
DEFAULT_MIN_INK_CONTRAST = 0.45  # missed text is this much darker than the paper somewhere (no faint remnant)
DEFAULT_MIN_INK_AREA = 3  # pixels: a smaller ink piece is grain
DEFAULT_CELL_PAD = 0.02  # inches: the ink outside the tables is looked for this far from their frames
DEFAULT_RULE_SLIVER = 0.012  # inches: ink this thin along a cell's side is what is left of its rule
DEFAULT_WORD_GAP = 2.5  # line heights: a wider gap between ink pieces parts two texts of a line
DEFAULT_PART_HEIGHT = 0.75  # of the typical character height: a line this low may be part of a character ...
DEFAULT_STACK_HEIGHT = 1.3  # ... when it and the line under it together are at most this high
DEFAULT_JOIN_ACROSS = 0.6  # line heights: a small piece whose middle is this near a line's middle ...
DEFAULT_JOIN_ALONG = 1.0  # ... and this near its ends belongs to it
DEFAULT_PARAGRAPH_GAP = 0.5  # share of the line height: a wider gap between lines is a paragraph break
DEFAULT_INK_MARGIN = 0.15  # share of its height: ink no box covered gets this margin, like a detected box


def ink_to_texts(page: Prepared, grids: list[Grid]) -> list[Box]:
    """Given a prepared page and its grids, give every cell the text lines its ink makes (``ink_lines``: no
    detector pass, the grid gives the cells); return the text lines outside every table (cover lines), found the
    same way on the page with its tables blanked out."""
    pad = max(int(DEFAULT_CELL_PAD * page.dpi), 3)
    h, w = page.ink.shape[:2]
    outside = page.ink.copy()
    for grid in grids:
        gx0, gy0, gx1, gy1 = (int(v) for v in grid.box)
        outside[max(gy0 - pad, 0):gy1 + pad + 1, max(gx0 - pad, 0):gx1 + pad + 1] = 0
        for cell in grid.cells:
            # The whole cell inside its rules: text printed close under a rule starts right there.
            inside = cell.inside or cell.box
            x0, y0 = max(int(math.ceil(inside[0])), 0), max(int(math.ceil(inside[1])), 0)
            x1, y1 = min(int(inside[2]), w), min(int(inside[3]), h)
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            for b in ink_lines(page, page.ink[y0:y1, x0:x1], (x0, y0), rule_sides=True):
                clipped = (max(b[0], cell.box[0]), max(b[1], cell.box[1]), min(b[2], cell.box[2]),
                           min(b[3], cell.box[3]))
                cell.texts.append(Text(clipped, cell.inside))
            cell.texts.sort(key=lambda t: (t.box[1], t.box[0]))
    return ink_lines(page, outside, (0, 0))


def ink_lines(page: Prepared, ink: np.ndarray, origin: tuple[int, int], rule_sides: bool = False) -> list[Box]:
    """Given a prepared page, a region of its rule-free ink and the region's top left corner, return the region's
    text lines (page pixels, with DEFAULT_INK_MARGIN of their height around them, as loose as a detected box).
    rule_sides: the region is a cell inside its rules, and a thin sliver along one of its sides is what is left
    of the rule there (DEFAULT_RULE_SLIVER thick at most), no text.

    Ink pieces no darker than DEFAULT_MIN_INK_CONTRAST below the paper (a faint seal remnant) or tiny (grain)
    are no text. Pieces at least half the region's typical character height seed the lines (grouped where they
    overlap vertically, split where a gap is wider than DEFAULT_WORD_GAP line heights); smaller pieces (a dot,
    a short stroke, the top of 主 or the strokes of 三) join the line beside them; pieces near no line make lines of
    their own, kept when they are at least DEFAULT_MIN_INK_HEIGHT high or wide (a lone digit, a dash)."""
    n, labels, stats = components(ink)
    if n <= 1:
        return []
    ox, oy = origin
    grey = page.grey[oy:oy + ink.shape[0], ox:ox + ink.shape[1]]
    on = labels > 0
    paper = grey_percentile(grey, 75)
    darkest = np.full(n, 255.0)
    np.minimum.at(darkest, labels[on], grey[on].astype(np.float64))
    min_size = max(int(DEFAULT_MIN_INK_HEIGHT * page.dpi), 4)
    pieces = [(int(x), int(y), int(x + bw), int(y + bh)) for i, (x, y, bw, bh, area) in enumerate(stats) if i
              and area >= DEFAULT_MIN_INK_AREA and darkest[i] <= paper * (1 - DEFAULT_MIN_INK_CONTRAST)]
    if rule_sides:
        sliver = max(DEFAULT_RULE_SLIVER * page.dpi, 2.0)
        rh, rw = ink.shape[:2]
        pieces = [b for b in pieces if not (
            ((b[0] == 0 or b[2] == rw) and b[2] - b[0] <= sliver and b[3] - b[1] > 2 * (b[2] - b[0]))
            or ((b[1] == 0 or b[3] == rh) and b[3] - b[1] <= sliver and b[2] - b[0] > 2 * (b[3] - b[1])))]
    tall = [b[3] - b[1] for b in pieces if b[3] - b[1] >= min_size]
    typical = _percentile(tall, 75) if tall else float(min_size)  # many characters are in pieces
    seed_height = max(0.5 * typical, min_size)
    lines = [line for group in _band_lines([b for b in pieces if b[3] - b[1] >= seed_height])
             for line in _split_gaps(group)]
    others = [b for b in pieces if b[3] - b[1] < seed_height]
    extents = [_extent(line) for line in lines]  # each line's box, widened as pieces join it
    joined = True
    while joined and others:  # a piece that joins a line widens it: the next may then reach it too
        joined, rest = False, []
        for b in others:
            k = _nearest(extents, b)
            if k is None:
                rest.append(b)
            else:
                lines[k].append(b)
                x0, y0, x1, y1 = extents[k]
                extents[k] = (min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3]))
                joined = True
        others = rest
    for group in _band_lines(others):
        for line in _split_gaps(group):
            if max(max(b[2] for b in line) - min(b[0] for b in line),
                   max(b[3] for b in line) - min(b[1] for b in line)) >= min_size:
                lines.append(line)
    out = []
    for line in _stacked(lines, typical):
        lx0, ly0 = min(b[0] for b in line) + ox, min(b[1] for b in line) + oy
        lx1, ly1 = max(b[2] for b in line) + ox, max(b[3] for b in line) + oy
        m = DEFAULT_INK_MARGIN * (ly1 - ly0)
        out.append((lx0 - m, ly0 - m, lx1 + m, ly1 + m))
    return sorted(out, key=lambda b: (b[1], b[0]))


def _band_lines(boxes: list[Box]) -> list[list[Box]]:
    """Given ink pieces, return them grouped into lines: a piece joins the line whose band (top to bottom) covers
    at least half of the lower of the two (a short piece at a line's top, 人 of 合, joins it), else starts one."""
    lines: list[list[Box]] = []
    bands: list[list[float]] = []
    for b in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        for line, band in zip(lines, bands, strict=True):
            overlap = min(b[3], band[1]) - max(b[1], band[0])
            if overlap >= 0.5 * min(b[3] - b[1], band[1] - band[0]):
                line.append(b)
                band[0], band[1] = min(band[0], b[1]), max(band[1], b[3])
                break
        else:
            lines.append([b])
            bands.append([b[1], b[3]])
    return lines


def _stacked(lines: list[list[Box]], typical: float) -> list[list[Box]]:
    """Given lines top to bottom and the typical character height, return them with a line joined to the one
    under it where both are low and together about one character high, overlapping along: the top and bottom of
    one character on a line of its own (合 wrapped alone to the next line is 人 over 口)."""
    def band(line: list[Box]) -> tuple[float, float, float, float]:
        return (min(b[0] for b in line), min(b[1] for b in line), max(b[2] for b in line), max(b[3] for b in line))

    out: list[list[Box]] = []
    for line in sorted(lines, key=lambda ln: band(ln)[1]):
        if out:
            a, b = band(out[-1]), band(line)
            if (a[3] - a[1] < DEFAULT_PART_HEIGHT * typical and b[3] - b[1] < DEFAULT_PART_HEIGHT * typical
                    and b[3] - a[1] <= DEFAULT_STACK_HEIGHT * typical and min(a[2], b[2]) > max(a[0], b[0])):
                out[-1] = out[-1] + line
                continue
        out.append(line)
    return out


def _split_gaps(line: list[Box]) -> list[list[Box]]:
    """Given a text line's pieces, return it split where the gap between pieces is wider than DEFAULT_WORD_GAP
    line heights (two texts side by side, not one line)."""
    height = max(b[3] for b in line) - min(b[1] for b in line)
    parts: list[list[Box]] = []
    right = None
    for b in sorted(line, key=lambda b: b[0]):
        if right is None or b[0] - right > DEFAULT_WORD_GAP * height:
            parts.append([])
            right = b[2]
        else:
            right = max(right, b[2])  # the part's right end so far
        parts[-1].append(b)
    return parts


def _extent(line: list[Box]) -> Box:
    """The box around a line's pieces."""
    return (min(p[0] for p in line), min(p[1] for p in line), max(p[2] for p in line), max(p[3] for p in line))


def _percentile(values: list[int], q: float) -> float:
    """Given a few numbers (not none) and a percentile, return float(np.percentile(values, q)) to the bit: numpy's
    linear interpolation, operation for operation (as prepare.grey_percentile), without numpy's overhead on a
    short list (a call per cell)."""
    ordered = sorted(values)
    n = len(ordered)
    virtual = (n - 1) * (q / 100)
    below = math.floor(virtual)
    if below >= n - 1:
        return float(ordered[-1])
    a, b = ordered[below], ordered[below + 1]
    t = virtual - below
    d = b - a
    return float(b - d * (1 - t) if t >= 0.5 else a + d * t)


def _nearest_line(lines: list[list[Box]], b: Box) -> list[Box] | None:
    """The line a small ink piece belongs to: the nearest whose middle is within DEFAULT_JOIN_ACROSS of its
    height from the piece's and which reaches within DEFAULT_JOIN_ALONG of its height of it; None if none."""
    k = _nearest([_extent(line) for line in lines], b)
    return None if k is None else lines[k]


def _nearest(extents: list[Box], b: Box) -> int | None:
    """Given the boxes of lines and a small ink piece, return the index of the line it belongs to (see
    ``_nearest_line``; the first of equally near ones), or None."""
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    best, best_distance = None, None
    for k, (x0, y0, x1, y1) in enumerate(extents):
        height = y1 - y0
        across = abs(cy - (y0 + y1) / 2)
        along = max(x0 - cx, cx - x1, 0)
        if across <= DEFAULT_JOIN_ACROSS * height and along <= DEFAULT_JOIN_ALONG * height:
            distance = across + along
            if best_distance is None or distance < best_distance:
                best, best_distance = k, distance
    return best


def _group_lines(boxes: list[Box]) -> list[list[Box]]:
    """Given boxes, return them grouped into text lines (overlapping vertically), top to bottom."""
    lines: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        middle = (b[1] + b[3]) / 2
        if lines:
            top, bottom = min(x[1] for x in lines[-1]), max(x[3] for x in lines[-1])
            if top <= middle <= bottom:
                lines[-1].append(b)
                continue
        lines.append([b])
    return [sorted(line, key=lambda b: b[0]) for line in lines]



def texts_to_string(texts: list[Text]) -> str:
    """Given a cell's recognised texts, return its text: lines top to bottom joined as wrapped lines, a
    paragraph break where the gap is wider than DEFAULT_PARAGRAPH_GAP of the line height."""
    by_box = {t.box: t for t in texts if t.text}
    result = ""
    previous: list[Box] | None = None
    for line in _group_lines(list(by_box)):
        part = ""
        for b in line:
            word = by_box[b].text
            part = word if not part else (part + word if is_cjk(part[-1]) or is_cjk(word[0]) else f"{part} {word}")
        if previous is None:
            result = part
        else:
            height = max(b[3] - b[1] for b in previous)
            gap = min(b[1] for b in line) - max(b[3] for b in previous)
            result = f"{result}\n{part}" if gap > DEFAULT_PARAGRAPH_GAP * height else wrap_join(result, part)
        previous = line
    return result.strip()


def _open_end(texts: list[Text], box: Box) -> bool:
    """Whether a cell's last line runs up to its right side unpunctuated (its text may go on on the next page)."""
    lines = _group_lines([t.box for t in texts if t.text])
    if not lines:
        return False
    by_box = {t.box: t.text for t in texts}
    last = lines[-1][-1]
    text = by_box.get(last, "")
    if not text or text[-1] in CLOSING_PUNCTUATION:
        return False
    padding = max(min(line[0][0] for line in lines) - box[0], 0.0)
    return (box[2] - padding) - last[2] < 1.0 * (last[3] - last[1])
