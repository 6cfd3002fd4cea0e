"""Orientation: a page image turned a quarter turn or upside down (a landscape page fed sideways, a page put in
the scanner the wrong way round) is turned upright before its skew and grid are looked for.

1. ``line_crops`` - on a small copy of the page with its rules taken out, the ink is smeared across the page by a
   few points: printed text lines become long thin runs; the longest are cut from the full page, as it stands
   and turned a quarter turn;
2. ``legibility`` - the recogniser reads both sets and both turned round: the way up whose lines it reads
   surest wins (a sideways or upside-down line of Chinese reads as nothing or as garbage, with low
   confidence). No layout knowledge and no model beyond the recogniser.

The turn is the quarter turns clockwise that make the page upright (0, 90, 180 or 270), recorded on every cell
(Cell.rotation): Cell.bbox is in points of the turned page.
"""

from __future__ import annotations

import cv2
import numpy as np

from .engine import Engine
from .prepare import binarize, components, line_masks
from .read import recognise

DEFAULT_ORIENT_DPI = 100.0  # the direction of text lines is found on a copy this fine
DEFAULT_SMEAR = 0.05  # inches: ink is joined along an axis over gaps this wide (between the characters of a line)
DEFAULT_RUN_MIN = 0.4  # inches: a run at least this long ...
DEFAULT_RUN_RATIO = 5.0  # ... and this many times longer than thick is a text line
DEFAULT_CLASSIFY_LINES = 3  # the longest text lines of each way up read to tell it
DEFAULT_CROP_RATIO = 6.0  # of a line, its first this many heights are read
DEFAULT_UPRIGHT_RATIO = 2.0  # lines across this many times longer than up the page: not turned a quarter
DEFAULT_TURN_MARGIN = 0.05  # another way up must read this share more sure characters (and one more) to turn
DEFAULT_ORIENT_HEIGHT = 32  # lines are read this high (the first pass's height: a third the cost of the model's 48)
DEFAULT_ORIENT_MIN_WIDTH = 213  # ... padded to rapidocr's own 320 px at 48 high, scaled to that height

_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def turn(image: np.ndarray, degrees: int) -> np.ndarray:
    """Given a page image and a quarter turn (degrees clockwise), return the image turned by it."""
    return image if degrees % 360 == 0 else cv2.rotate(image, _ROTATE[degrees % 360])


def _grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def text_runs(grey: np.ndarray, dpi: float) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
    """Given a grey page and its dpi, return its text lines as boxes (x, y, w, h): those written across the page
    and those written up or down it, found with the rules taken out (see the module's step 1)."""
    ink = binarize(grey, dpi)
    horizontal, vertical = line_masks(ink, dpi)
    rules = cv2.dilate(horizontal | vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    text = np.where(rules > 0, 0, ink).astype(np.uint8)
    k = max(int(DEFAULT_SMEAR * dpi), 3)
    length = DEFAULT_RUN_MIN * dpi
    out = []
    for kernel, across in (((k, 1), True), ((1, k), False)):
        smeared = cv2.morphologyEx(text, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        n, _labels, stats = components(smeared)
        runs = []
        for i in range(1, n):
            x, y, w, h, _area = stats[i]
            long_side, short_side = (w, h) if across else (h, w)
            if long_side >= length and long_side >= DEFAULT_RUN_RATIO * max(short_side, 1):
                runs.append((int(x), int(y), int(w), int(h)))
        out.append(runs)
    return out[0], out[1]


def line_crops(grey: np.ndarray, dpi: float, degrees: int) -> tuple[list[np.ndarray], int, int]:
    """Given a grey page (full size), its dpi and a quarter turn, return crops (BGR, at most DEFAULT_CROP_RATIO
    times as wide as high) of the longest text lines written across the page turned by it, found on a small copy,
    and the total lengths (small pixels) of the lines written across it and up it."""
    page = turn(grey, degrees)
    scale = min(1.0, DEFAULT_ORIENT_DPI / dpi)
    small = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else page
    across, up = text_runs(small, dpi * scale)
    crops = []
    for x, y, w, h in sorted(across, key=lambda r: -r[2])[:DEFAULT_CLASSIFY_LINES]:
        pad = max(h // 3, 1)
        x0, y0 = max(int((x - pad) / scale), 0), max(int((y - pad) / scale), 0)
        y1 = int((y + h + pad) / scale)
        x1 = min(int((x + w + pad) / scale), x0 + int(DEFAULT_CROP_RATIO * (y1 - y0)))
        crop = page[y0:y1, x0:x1]
        if crop.size:
            crops.append(cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR))
    return crops, sum(w for _x, _y, w, _h in across), sum(h for _x, _y, _w, h in up)


def page_to_turn(engine: Engine, image: np.ndarray, dpi: float) -> int:
    """Given an engine, a page image (BGR or grey) and its dpi, return the quarter turns clockwise (0, 90, 180 or
    270 degrees) that stand it upright: the way up whose longest text lines read the most sure characters (each
    character read counts its line's confidence; ties and a page without text lines: as it stands). The quarter
    turn is tried only when the page's lines written across it are not DEFAULT_UPRIGHT_RATIO times longer than
    those written up it.

    Sure characters, not the mean confidence: a line read the wrong way up gives a few glyphs, sometimes read as
    Chinese 0.99 sure (a sideways page's strokes), while the right way gives two or three times as many characters
    as sure; by the mean, one such line outscored three upright ones (0.99 against 0.98), or came within the
    margin of them (0.95 against 0.99)."""
    grey = _grey(image)
    lines, across, up = line_crops(grey, dpi, 0)
    crops = {0: lines}
    if across < DEFAULT_UPRIGHT_RATIO * up:
        crops[90] = line_crops(grey, dpi, 90)[0]
    crops.update({d + 180: [cv2.rotate(c, cv2.ROTATE_180) for c in crops[d]] for d in list(crops)})
    flat = [c for d in crops for c in crops[d]]
    readings = recognise(engine, flat, height=DEFAULT_ORIENT_HEIGHT, min_width=DEFAULT_ORIENT_MIN_WIDTH) if flat else []
    it = iter(readings)
    return readings_to_turn({d: [next(it) for _c in crops[d]] for d in crops})


def readings_to_turn(readings: dict[int, list[tuple[str, float]]]) -> int:
    """Given the readings (text, confidence) of a page's longest lines for each way up tried (degrees clockwise),
    return the way up that reads the most sure characters, when it reads DEFAULT_TURN_MARGIN more than the page
    as it stands (and one character more); else 0. See page_to_turn."""
    scores = {d: sum(len(text.strip()) * conf for text, conf in lines) for d, lines in readings.items()}
    scores.setdefault(0, 0.0)
    best = max(scores, key=lambda d: (scores[d], -d))
    return best if scores[best] > scores[0] * (1 + DEFAULT_TURN_MARGIN) + 1 else 0
