"""Text boxes on a prepared page: detection, boxes put in their cells, ink no box covered, cell texts."""

from __future__ import annotations

import cv2
import numpy as np

from ..parsers.assemble import CLOSING_PUNCTUATION, is_cjk, wrap_join
from .engine import Engine
from .grid import Box, Grid, Text
from .prepare import Prepared

DEFAULT_DETECT_DPI = 200.0  # text detection runs on the page scaled to at most this dpi
DEFAULT_MIN_INK_HEIGHT = 0.05  # inches: ink lower than this (noise, dust, a dot) is no missed text
DEFAULT_MIN_INK_CONTRAST = 0.45  # missed text is this much darker than the paper somewhere (no faint remnant)
DEFAULT_MIN_CUT = 0.6  # share of its height: a box cut at a cell side leaves a piece at least this wide
DEFAULT_MAX_OVERLAP = 0.5  # share of its area: a text box this much inside a larger one of its cell is dropped
DEFAULT_PARAGRAPH_GAP = 0.5  # share of the line height: a wider gap between lines is a paragraph break
DEFAULT_INK_MARGIN = 0.15  # share of its height: ink no box covered gets this margin, like a detected box


def detect_boxes(engine: Engine, page: Prepared) -> list[Box]:
    """Given a prepared page, return its text boxes (pixels, axis-aligned), found on the page without rules."""
    scale = min(1.0, DEFAULT_DETECT_DPI / page.dpi)
    image = page.clean if scale == 1.0 else cv2.resize(page.clean, None, fx=scale, fy=scale,
                                                      interpolation=cv2.INTER_AREA)
    found, _elapsed = engine.detector(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if found is None or len(found) == 0:
        return []
    boxes = []
    for quad in found:
        xs, ys = quad[:, 0] / scale, quad[:, 1] / scale
        boxes.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
    return boxes


def assign_boxes(boxes: list[Box], grids: list[Grid]) -> list[Box]:
    """Given text boxes and the page's grids, put each box (cut at cell sides) in its cells' texts; return
    the boxes outside every table."""
    free = []
    for box in boxes:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        grid = next((g for g in grids if g.cell_at(cx, cy) is not None), None)
        if grid is None:
            free.append(box)
            continue
        home = grid.cell_at(cx, cy)
        height = box[3] - box[1]
        # A box running over a vertical rule holds the texts of several cells of the row: cut it.
        for cell in {id(c): c for c in (grid.cell_at(x, cy) for x in _steps(box[0], box[2], grid.x_edges))
                     if c is not None}.values():
            x0, x1 = max(box[0], cell.box[0]), min(box[2], cell.box[2])
            if x1 - x0 < DEFAULT_MIN_CUT * height and cell is not home:
                continue  # a sliver of the neighbour's text, less than a character
            cell.texts.append(Text((x0, max(box[1], cell.box[1]), x1, min(box[3], cell.box[3])), cell.inside))
    for grid in grids:
        for cell in grid.cells:
            cell.texts = _without_overlaps(cell.texts)
    return free


def _without_overlaps(texts: list[Text]) -> list[Text]:
    """Given a cell's texts, return them without those mostly inside a larger one (the same text found twice,
    once as part of a box running in from the next cell)."""
    def area(b: Box) -> float:
        return max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)

    kept: list[Text] = []
    for t in sorted(texts, key=lambda t: -area(t.box)):
        inside = [area((max(t.box[0], k.box[0]), max(t.box[1], k.box[1]), min(t.box[2], k.box[2]),
                        min(t.box[3], k.box[3]))) for k in kept]
        if not any(a >= DEFAULT_MAX_OVERLAP * area(t.box) for a in inside):
            kept.append(t)
    return sorted(kept, key=lambda t: (t.box[1], t.box[0]))


def _steps(x0: float, x1: float, edges: list[float]) -> list[float]:
    """Points from x0 to x1: the ends and the middle of every grid step in between."""
    inner = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False) if b > x0 and a < x1]
    return [x0 + 1, *inner, x1 - 1]


def add_missed_ink(page: Prepared, grids: list[Grid]) -> None:
    """Give ink in a cell that no text box covers (a lone digit the detector missed) a box of its own."""
    dpi = page.dpi
    min_height = max(int(DEFAULT_MIN_INK_HEIGHT * dpi), 4)
    pad = max(int(0.02 * dpi), 3)
    for grid in grids:
        for cell in grid.cells:
            x0, y0, x1, y1 = (int(cell.box[0]) + pad, int(cell.box[1]) + pad, int(cell.box[2]) - pad,
                              int(cell.box[3]) - pad)
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            n, labels, stats, _ = cv2.connectedComponentsWithStats(page.ink[y0:y1, x0:x1], connectivity=8)
            if n <= 1:
                continue
            grey = page.grey[y0:y1, x0:x1]
            paper = float(np.percentile(grey, 75))
            darkest = np.full(n, 255.0)
            np.minimum.at(darkest, labels.ravel(), grey.ravel().astype(np.float64))
            parts = []
            for i in range(1, n):
                x, y, w, h, _area = stats[i]
                if h < min_height or darkest[i] > paper * (1 - DEFAULT_MIN_INK_CONTRAST):
                    continue
                bx = (x + x0, y + y0, x + x0 + w, y + y0 + h)
                cx, cy = (bx[0] + bx[2]) / 2, (bx[1] + bx[3]) / 2
                if any(t.box[0] - 2 <= cx <= t.box[2] + 2 and t.box[1] - 2 <= cy <= t.box[3] + 2 for t in cell.texts):
                    continue
                parts.append(bx)
            for line in _group_lines(parts):
                lx0, ly0 = min(b[0] for b in line), min(b[1] for b in line)
                lx1, ly1 = max(b[2] for b in line), max(b[3] for b in line)
                m = DEFAULT_INK_MARGIN * (ly1 - ly0)  # as loose as a detected box
                cell.texts.append(Text((lx0 - m, ly0 - m, lx1 + m, ly1 + m), cell.inside))


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
