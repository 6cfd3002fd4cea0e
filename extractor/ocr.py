"""OCR: scanned or photographed forms (page images) -> the same Document model the PDF parser builds.

Needs the optional extra ``selfeval[ocr]`` (rapidocr-onnxruntime, whose wheel carries its ONNX models:
nothing is downloaded at run time; OpenCV; numpy). This module imports OpenCV and numpy at the top, so
parsers import it lazily (``load_ocr``) and turn a missing extra into a ParseError.

Pipeline, one page image at a time (``read_page``):

1. ``remove_seal``   - red seal pixels (hue near red, saturated, and the pink/orange fringe JPEG leaves) are
   read through the red channel, which red ink lets pass: seal over paper becomes paper, black ink under the
   seal stays black (``unseal`` gives a strict version for text and a gentle one that keeps thin rules);
2. ``estimate_skew`` - the angle of the long horizontal rules (each fitted by least squares, the median
   weighted by length); the page is turned back by it (up to DEFAULT_MAX_SKEW degrees);
3. ``binarize``      - adaptive threshold: ink mask robust to uneven light, greyscale or colour, 150-300 dpi;
4. ``ink_to_grids``  - ruled lines by morphology (an opening with long horizontal / vertical kernels), line
   positions clustered into x and y edges per table, and cells = rectangles bounded by the rules actually
   drawn, so a merged cell is one cell with a span (the PDF parser's idea, on pixels);
5. ``detect_boxes``  - text detection once per page (rules painted out, at most DEFAULT_DETECT_DPI); each box
   goes to the cell holding its centre and is cut at the cell's sides (``assign_boxes``); ink in a cell that
   no box covers (a lone "1" the detector misses) gets a box of its own (``add_missed_ink``);
6. ``read_texts``    - recognition of every box crop (batched, crops kept inside their cell); confidence =
   mean character probability (each character's best step). Numbers and short texts alone in a cell (score
   cells) are read from several crops and vote (``combine``): disagreement lowers the confidence. A reading
   that is a number but for look-alike letters ("O" for 0, "l" for 1) is decoded again with only digits,
   ".", signs and 分 allowed, its confidence the lowest digit probability (``decode``): a digit the model
   was unsure of is flagged by low_confidence_value, never silently fixed;
7. cells become the PDF parser's Pieces and Fragments, so tables continued over pages, split rows and
   merged cells over page breaks are joined by the same code (``parsers.pdf.fragments_to_groups``).

Coordinates: Cell.bbox is in PDF points of the deskewed page, like the PDF parser's: for a PDF page, page
points; for an image file, pixels x 72 / dpi (dpi from the file, else estimated as for an A4 page).
Cell.confidence = the lowest confidence of the texts in the cell (None for an empty cell).
Document.lines = the text outside tables, page by page, top to bottom.

Limits (extractor.limits): an image's pixels are checked from its header before it is decoded, and a PDF
page's size in points before it is rendered (a page too large at its dpi is rendered at the largest dpi
that fits MAX_PAGE_PIXELS, down to the render range's lower end, else refused); a scan of more than
MAX_PAGES pages is refused; pages are decoded and rendered one at a time.

onnxruntime: its telemetry is disabled before it is first imported (ORT_TELEMETRY_DISABLED; onnxruntime
1.32 writes a device id under ~/.cache/Microsoft at import unless its telemetry is suppressed) and its C++
logger only reports errors, so OCR leaves nothing in the user's home folder and no bare lines on stderr.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from . import logs
from .limits import MAX_PAGE_PIXELS, page_pixels_refusal, pages_refusal
from .model import Document
from .parsers.base import ParseError
from .parsers.image import MISSING_OCR
from .parsers.pdf import (
    CLOSING_PUNCTUATION,
    Fragment,
    Piece,
    cluster_values,
    fragments_to_groups,
    group_to_table,
    is_cjk,
    wrap_join,
)
from .scores import parse_number

# --- tuning (lengths are in inches and scaled by the page's dpi) ------------------------------------

DEFAULT_ASSUMED_PAGE_INCHES = 11.69  # long side of an A4 page: the dpi of an image file without one
DEFAULT_MIN_DPI, DEFAULT_MAX_DPI = 100.0, 600.0  # a dpi stated by an image file outside this is ignored
DEFAULT_RENDER_DPI = 200.0  # PDF pages are rendered at their images' own dpi, clamped to this range:
DEFAULT_RENDER_DPI_RANGE = (200.0, 300.0)
DEFAULT_DETECT_DPI = 200.0  # text detection runs on the page scaled to at most this dpi
DEFAULT_MAX_WORK_DPI = 300.0  # a finer page is scaled down to this first
DEFAULT_MAX_SKEW = 5.0  # degrees: a larger angle from the rules is not trusted
DEFAULT_MIN_SKEW = 0.05  # degrees: below this the page is left as it is
DEFAULT_RULE_MIN = 0.30  # inches: a ruled line is at least this long (longer than two characters)
DEFAULT_SKEW_RULE_SHARE = 0.25  # of the page width: rules this long give the skew
DEFAULT_EDGE_TOLERANCE = 0.03  # inches: rules closer than this are the same grid edge
DEFAULT_RULE_CLEARANCE = 0.01  # inches: text crops stay this far inside a cell's rules
DEFAULT_RULE_COVER = 0.6  # share of a cell side a rule must cover to count as drawn
DEFAULT_MIN_TABLE = (0.8, 0.15)  # inches: width and height of the smallest table
DEFAULT_THRESHOLD_BLOCK = 0.25  # inches: adaptive threshold neighbourhood
DEFAULT_THRESHOLD_C = 15  # grey levels below the local mean that count as ink
DEFAULT_MIN_INK_HEIGHT = 0.05  # inches: ink lower than this (noise, dust, a dot) is no missed text
DEFAULT_MIN_INK_CONTRAST = 0.45  # missed text is this much darker than the paper somewhere (no faint remnant)
DEFAULT_MIN_TEXT_SCORE = 0.3  # a recognised text below this confidence that is no number is dropped (noise)
DEFAULT_MIN_CUT = 0.6  # share of its height: a box cut at a cell side leaves a piece at least this wide
DEFAULT_MAX_OVERLAP = 0.5  # share of its area: a text box this much inside a larger one of its cell is dropped
DEFAULT_PARAGRAPH_GAP = 0.5  # share of the line height: a wider gap between lines is a paragraph break
DEFAULT_REC_BATCH = 16
DEFAULT_REC_HEIGHT = 48  # the recognizer's input height: larger crops are scaled down to it first
DEFAULT_CROP_PADS = ((0.0, 0.0), (0.1, 0.05))  # crop padding (along, across) in text heights
DEFAULT_INK_MARGIN = 0.15  # share of its height: ink no box covered gets this margin, like a detected box
DEFAULT_STRETCHES = (1.0, 1.6)  # short texts are read from every padding at each of these widths
DEFAULT_SHORT_RATIO = 2.5  # a crop at most this many times as wide as high is a short text

# Seal red: OpenCV hue is 0-179; red wraps around 0.
DEFAULT_RED_HUE = (10, 160)  # hue <= first or >= second is red
DEFAULT_RED_MIN_SATURATION = 60
DEFAULT_RED_FRINGE_HUE = (30, 150)  # JPEG bleeds a seal into orange and purple next to it
DEFAULT_RED_FRINGE_SATURATION = 15  # pinkish pixels this saturated next to seal red are seal too
DEFAULT_RED_FRINGE = 0.012  # inches: how far the fringe reaches from seal red
DEFAULT_RED_MIN_VALUE = 30  # darker pixels have no reliable hue
# Under a seal, what is as dark as the page's ink elsewhere (three quarters of its pixels, as a share of the
# paper's brightness, kept within these bounds) is ink; from DEFAULT_SEAL_INK_SPREAD lighter on it is paper.
DEFAULT_SEAL_INK = (0.45, 0.65)
DEFAULT_SEAL_INK_SPREAD = 0.15
DEFAULT_SEAL_INK_EDGE = 0.01  # inches: greys this close to dark ink under a seal are its edges, kept
DEFAULT_SEAL_PERCENTILE = 15  # the red pixels this dark (patchy stamp ink) or lighter are taken for paper

# Letters the recognizer reads for digits (and dots for the decimal point); used only when every other
# character of the text is a digit, or other crops of the same text read a number.
DIGIT_LOOKALIKES = {"O": "0", "o": "0", "D": "0", "Q": "0", "〇": "0", "○": "0", "l": "1", "I": "1", "i": "1",
                    "|": "1", "丨": "1", "!": "1", "J": "1", "L": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8",
                    "g": "9", "q": "9", "。": ".", "·": "."}
NUMBER_CHARS = "0123456789.+-分"
# Glyphs the recognizer confuses in printed Chinese (same shape): read as the common punctuation.
TEXT_FIXES = {"丶": "、"}

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in pixels


# --- the engine (lazy singleton) ---------------------------------------------------------------------

_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


# onnxruntime's C++ logger: 3 = errors only (its warnings, such as unused initializers, are not ours).
ORT_LOG_SEVERITY = 3


def import_onnxruntime_quietly() -> ModuleType:
    """Return onnxruntime imported with its telemetry off and its C++ logger at ORT_LOG_SEVERITY; raise
    ImportError when it is not installed.

    ORT_TELEMETRY_DISABLED is onnxruntime's opt-out; releases before it was a full opt-out (1.32) still
    write a device id file into the home folder while initialising at import, unless they believe they run
    under their test harness, so ORT_RUNNING_UNIT_TESTS is set for the import only (it only suppresses
    telemetry) and restored after."""
    import sys

    os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")
    if "onnxruntime" in sys.modules:
        ort = sys.modules["onnxruntime"]
    else:
        saved = os.environ.get("ORT_RUNNING_UNIT_TESTS")
        os.environ["ORT_RUNNING_UNIT_TESTS"] = "1"
        try:
            import onnxruntime as ort
        finally:
            if saved is None:
                os.environ.pop("ORT_RUNNING_UNIT_TESTS", None)
            else:
                os.environ["ORT_RUNNING_UNIT_TESTS"] = saved
    for name, args in (("disable_telemetry_events", ()), ("set_default_logger_severity", (ORT_LOG_SEVERITY,))):
        if callable(getattr(ort, name, None)):
            getattr(ort, name)(*args)
    return ort


class Engine:
    """rapidocr's detector and recognizer sessions, loaded once per process from the package's own models."""

    def __init__(self) -> None:
        try:
            import_onnxruntime_quietly()
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as error:
            raise ParseError(MISSING_OCR) from error
        logs.capture_library_logs()  # rapidocr's loggers, created at its import
        ocr = RapidOCR()
        self.detector = ocr.text_det
        self.recognizer = ocr.text_rec
        self.characters: list[str] = ocr.text_rec.postprocess_op.character
        self.number_index = np.array([i for i, ch in enumerate(self.characters) if ch in NUMBER_CHARS])


def load_engine() -> Engine:
    """Return the process's OCR engine, loading it on first use; raise ParseError when the extra is missing."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
        return _ENGINE


# --- page preparation --------------------------------------------------------------------------------


@dataclass
class PageImage:
    """One page to read: its pixels (BGR or grey, uint8) and its resolution."""

    pixels: Any
    dpi: float
    number: int  # 1-based


def estimate_dpi(shape: tuple[int, ...], stated: float | None = None) -> float:
    """Given an image's shape and the dpi its file states (or None), return the dpi to work with."""
    if stated and DEFAULT_MIN_DPI <= stated <= DEFAULT_MAX_DPI:
        return float(stated)
    return max(shape[0], shape[1]) / DEFAULT_ASSUMED_PAGE_INCHES


def red_mask(image: np.ndarray, dpi: float = DEFAULT_RENDER_DPI) -> np.ndarray:
    """Given a BGR page, return the mask of seal-red pixels: hue near red and saturated, grown into the pale
    pink fringe JPEG's colour subsampling leaves around red strokes. Whatever lies under red ink keeps the
    seal's hue; ``remove_seal`` reads it back from the red channel."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    low, high = DEFAULT_RED_HUE
    reddish = ((hue <= low) | (hue >= high)) & (val >= DEFAULT_RED_MIN_VALUE)
    core = (reddish & (sat >= DEFAULT_RED_MIN_SATURATION)).astype(np.uint8)
    low, high = DEFAULT_RED_FRINGE_HUE
    fringe = ((hue <= low) | (hue >= high)) & (sat >= DEFAULT_RED_FRINGE_SATURATION)
    k = max(round(DEFAULT_RED_FRINGE * dpi), 1) * 2 + 1
    return (cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0) & fringe


def paper_level(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Given a grey page, return the paper's brightness around every pixel (ink of up to ~0.6 inch closed
    away), from a quarter-size copy."""
    small = cv2.resize(grey, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    k = max(int(0.6 * dpi / 4) | 1, 3)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    closed = cv2.GaussianBlur(closed, (0, 0), k / 4)
    return cv2.resize(closed, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)


def remove_seal(image: np.ndarray, dpi: float = DEFAULT_RENDER_DPI, strict: bool = True) -> np.ndarray:
    """Given a page (BGR or grey), return it grey with the red seal lifted to the paper's brightness while
    black ink under the seal stays black (strict: for reading text; not strict: for finding rules).

    Red ink filters out green and blue but lets red through, so under the seal the red channel still shows
    what is printed below: paper bright, a black stroke dark. Each red pixel (``red_mask``) takes its red
    channel scaled so that seal-over-paper (all but the DEFAULT_SEAL_PERCENTILE darkest red pixels) comes out
    at the paper's brightness (never brighter). Scanned (and JPEG'd) seal strokes come out darker than the
    seal's own red, so strict also lifts to paper what is lighter under the seal than the page's ink elsewhere
    (DEFAULT_SEAL_INK, DEFAULT_SEAL_INK_SPREAD), except right beside dark ink (the soft edges of a digit's
    strokes: DEFAULT_SEAL_INK_EDGE), so a digit under the seal keeps its shape; not strict keeps a thin grey
    rule under the seal.
    """
    return unseal(image, dpi)[0 if strict else 1]


def unseal(image: np.ndarray, dpi: float = DEFAULT_RENDER_DPI) -> tuple[np.ndarray, np.ndarray]:
    """Given a page (BGR or grey), return it grey without its red seal, strictly and gently (``remove_seal``)."""
    if image.ndim == 2:
        return image.copy(), image.copy()
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    red = red_mask(image, dpi)
    if not red.any():
        return grey, grey.copy()
    paper = paper_level(grey, dpi).astype(np.float32)
    through = image[..., 2].astype(np.float32)
    ratio = float(np.percentile((through / np.maximum(paper, 1.0))[red], DEFAULT_SEAL_PERCENTILE))
    under = np.minimum(through / max(ratio, 0.05), paper) / np.maximum(paper, 1.0)  # 0 black .. 1 paper
    gentle = grey.copy()
    gentle[red] = (under * paper)[red].astype(np.uint8)
    ink = (binarize(grey, dpi) > 0) & ~red
    level = float(np.percentile((grey / np.maximum(paper, 1.0))[ink], 75)) if ink.any() else DEFAULT_SEAL_INK[0]
    low = min(max(level, DEFAULT_SEAL_INK[0]), DEFAULT_SEAL_INK[1])
    high = low + DEFAULT_SEAL_INK_SPREAD
    k = max(round(DEFAULT_SEAL_INK_EDGE * dpi), 1) * 2 + 1
    dark = cv2.dilate(((under <= low) & red).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    stretched = np.minimum(low + (under - low) * (1 - low) / (high - low), 1.0)
    strict = np.where((under <= low) | (dark > 0), under, stretched)
    grey[red] = (strict * paper)[red].astype(np.uint8)
    return grey, gentle


def binarize(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Given a grey page, return its ink mask (255 = ink) by adaptive threshold (uneven background safe)."""
    block = max(int(DEFAULT_THRESHOLD_BLOCK * dpi) | 1, 15)
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block,
                                 DEFAULT_THRESHOLD_C)


def line_masks(ink: np.ndarray, dpi: float, length: float = DEFAULT_RULE_MIN) -> tuple[np.ndarray, np.ndarray]:
    """Given an ink mask, return (horizontal, vertical) masks of the ruled lines at least `length` inches long."""
    n = max(int(length * dpi), 10)
    gap = max(int(0.015 * dpi), 2)  # bridge a rule broken by noise or thresholding
    h = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)))
    h = cv2.morphologyEx(h, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (n, 1)))
    v = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, gap)))
    v = cv2.morphologyEx(v, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, n)))
    return h, v


def estimate_skew(ink: np.ndarray, dpi: float) -> float:
    """Given an ink mask, return the page's skew in degrees (positive: rules run down to the right), from the
    long horizontal rules; 0.0 when there are none."""
    width = ink.shape[1]
    horizontal, _ = line_masks(ink, dpi, length=0.08)  # short kernel: a skewed rule stays one component
    n, labels, stats, _ = cv2.connectedComponentsWithStats(horizontal, connectivity=8)
    angles, weights = [], []
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        if w < DEFAULT_SKEW_RULE_SHARE * width or h > w * math.tan(math.radians(DEFAULT_MAX_SKEW)) + 0.05 * dpi:
            continue
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == i)
        if len(xs) < 10:
            continue
        slope = np.polyfit(xs.astype(float), ys.astype(float), 1)[0]
        angles.append(math.degrees(math.atan(slope)))
        weights.append(w)
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.array(weights, dtype=float)[order])
    median = float(np.array(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])
    return median if abs(median) <= DEFAULT_MAX_SKEW else 0.0


def rotate(grey: np.ndarray, degrees: float) -> np.ndarray:
    """Given a grey page and its skew, return it turned back, same size (the corners repeat the page's edge:
    no white wedge whose border would look like ink)."""
    h, w = grey.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(grey, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


@dataclass
class Prepared:
    """A page ready to read: grey without seal or skew, ink, rule masks, the grey with the rules painted out."""

    grey: np.ndarray
    ink: np.ndarray
    horizontal: np.ndarray
    vertical: np.ndarray
    clean: np.ndarray
    dpi: float
    skew: float


def prepare(image: np.ndarray, dpi: float) -> Prepared:
    """Given a page image and its dpi, return it unsealed, deskewed, binarized, with its rules found.

    Rules are looked for on the page with the seal lifted gently (a thin rule under the seal stays), text
    on the page with the seal lifted strictly (``remove_seal``)."""
    grey, ruled = unseal(image, dpi)
    skew = estimate_skew(binarize(ruled, dpi), dpi)
    if abs(skew) >= DEFAULT_MIN_SKEW:
        grey, ruled = rotate(grey, skew), rotate(ruled, skew)
    ink = binarize(grey, dpi)
    horizontal, vertical = line_masks(binarize(ruled, dpi), dpi)
    rules = cv2.dilate(horizontal | vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))) > 0
    clean = grey.copy()
    clean[rules] = paper_level(grey, dpi)[rules]
    return Prepared(grey, np.where(rules, 0, ink).astype(np.uint8), horizontal, vertical, clean, dpi, skew)


# --- table grids ---------------------------------------------------------------------------------------


@dataclass
class GridCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    box: Box  # pixels, rule to rule
    texts: list[Text] = field(default_factory=list)
    inside: Box | None = None  # the box without its rules


@dataclass
class Grid:
    """One ruled table on a page image: its edges (pixels) and cells."""

    x_edges: list[float]
    y_edges: list[float]
    cells: list[GridCell]
    owner: list[list[int]]  # grid position -> index in cells

    @property
    def box(self) -> Box:
        return (self.x_edges[0], self.y_edges[0], self.x_edges[-1], self.y_edges[-1])

    def cell_at(self, x: float, y: float) -> GridCell | None:
        if not (self.x_edges[0] <= x <= self.x_edges[-1] and self.y_edges[0] <= y <= self.y_edges[-1]):
            return None
        r = min(max(bisect_right(self.y_edges, y) - 1, 0), len(self.y_edges) - 2)
        c = min(max(bisect_right(self.x_edges, x) - 1, 0), len(self.x_edges) - 2)
        return self.cells[self.owner[r][c]]


def _segments(mask: np.ndarray, horizontal: bool) -> list[tuple[float, int, int]]:
    """Given a rule mask, return its rules as (position across, start, end along)."""
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        out.append((y + h / 2, x, x + w) if horizontal else (x + w / 2, y, y + h))
    return out


def _covered(mask: np.ndarray, across: float, start: float, end: float, tolerance: int, horizontal: bool) -> bool:
    """Whether a rule in mask runs at `across` from start to end (pixels) over DEFAULT_RULE_COVER of the way."""
    a0, a1 = max(int(across) - tolerance, 0), int(across) + tolerance + 1
    s0, s1 = int(start), int(end)
    if s1 - s0 < 2:
        return True
    band = mask[a0:a1, s0:s1] if horizontal else mask[s0:s1, a0:a1]
    hits = band.any(axis=0) if horizontal else band.any(axis=1)
    return hits.size > 0 and float(hits.mean()) >= DEFAULT_RULE_COVER


def ink_to_grids(page: Prepared) -> list[Grid]:
    """Given a prepared page, return its ruled tables as Grids, top to bottom.

    A table is a connected group of rules; its x edges are its vertical rules, its y edges its horizontal
    rules (each clustered within DEFAULT_EDGE_TOLERANCE). A cell grows right while no vertical rule is drawn
    between two grid steps, then down while no horizontal rule is drawn under its whole width.
    """
    dpi = page.dpi
    tolerance = max(int(DEFAULT_EDGE_TOLERANCE * dpi), 3)
    joined = cv2.dilate(page.horizontal | page.vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    grids = []
    for i in range(1, n):
        x, y, w, h, _area = stats[i]
        if w < DEFAULT_MIN_TABLE[0] * dpi or h < DEFAULT_MIN_TABLE[1] * dpi:
            continue
        region = (slice(y, y + h), slice(x, x + w))
        hs = [(a + y, s + x, e + x) for a, s, e in _segments(page.horizontal[region], True)]
        vs = [(a + x, s + y, e + y) for a, s, e in _segments(page.vertical[region], False)]
        grid = segments_to_grid(hs, vs, page, tolerance)
        if grid is not None:
            grids.append(grid)
    return sorted(grids, key=lambda g: (g.y_edges[0], g.x_edges[0]))


def segments_to_grid(hs: list[tuple[float, int, int]], vs: list[tuple[float, int, int]], page: Prepared,
                     tolerance: int) -> Grid | None:
    """Given a table's horizontal and vertical rules, return its Grid (None when it has under two cells)."""
    y_edges = cluster_values([a for a, _, _ in hs], tolerance)
    x_edges = cluster_values([a for a, _, _ in vs], tolerance)
    n_rows, n_cols = len(y_edges) - 1, len(x_edges) - 1
    if n_rows < 1 or n_cols < 1 or n_rows * n_cols < 2:
        return None
    margin = tolerance + 1  # rules are looked for this far from the crossing ones
    edge = max(2, round(DEFAULT_RULE_CLEARANCE * page.dpi))  # a crop keeps this far from the rules

    def vertical_rule(r: int, j: int) -> bool:  # a rule at x_edges[j] beside row r
        return _covered(page.vertical, x_edges[j], y_edges[r] + margin, y_edges[r + 1] - margin, tolerance, False)

    def horizontal_rule(i: int, c: int) -> bool:  # a rule at y_edges[i] over column c
        return _covered(page.horizontal, y_edges[i], x_edges[c] + margin, x_edges[c + 1] - margin, tolerance, True)

    v_rule = [[j in (0, n_cols) or vertical_rule(r, j) for j in range(n_cols + 1)] for r in range(n_rows)]
    h_rule = [[i in (0, n_rows) or horizontal_rule(i, c) for c in range(n_cols)] for i in range(n_rows + 1)]
    owner = [[-1] * n_cols for _ in range(n_rows)]
    cells: list[GridCell] = []
    for r in range(n_rows):
        for c in range(n_cols):
            if owner[r][c] >= 0:
                continue
            c_end = c + 1
            while c_end < n_cols and not v_rule[r][c_end] and owner[r][c_end] < 0:
                c_end += 1
            r_end = r + 1
            while (r_end < n_rows and not any(h_rule[r_end][k] for k in range(c, c_end))
                   and not any(v_rule[r_end][k] for k in range(c + 1, c_end))
                   and all(owner[r_end][k] < 0 for k in range(c, c_end))):
                r_end += 1
            for rr in range(r, r_end):
                for cc in range(c, c_end):
                    owner[rr][cc] = len(cells)
            box = (x_edges[c], y_edges[r], x_edges[c_end], y_edges[r_end])
            inside = (box[0] + edge, box[1] + edge, box[2] - edge, box[3] - edge)
            cells.append(GridCell(r, c, r_end - r, c_end - c, box, inside=inside))
    return Grid(x_edges, y_edges, cells, owner)


# --- text ------------------------------------------------------------------------------------------------


@dataclass
class Text:
    """A piece of text: its box (pixels), the box a crop of it must stay inside (its cell without the
    rules), and what was read: text and confidence."""

    box: Box
    limit: Box | None = None
    text: str = ""
    confidence: float = 0.0
    alone: bool = False  # the only text of its cell (a score cell holds one short text)


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


def crop(page: Prepared, text: Text, pad: tuple[float, float] = DEFAULT_CROP_PADS[0], stretch: float = 1.0) -> np.ndarray:
    """Given a text, return its crop of the rule-free page as BGR for the recognizer: padded by pad (shares of
    the text's height, across and along), kept inside its cell, scaled down to the recognizer's height."""
    h, w = page.clean.shape[:2]
    box, limit = text.box, text.limit or (0, 0, w, h)
    height = box[3] - box[1]
    pad_x, pad_y = round(pad[0] * height), round(pad[1] * height)
    x0, y0 = max(int(box[0]) - pad_x, int(limit[0]), 0), max(int(box[1]) - pad_y, int(limit[1]), 0)
    x1 = min(int(math.ceil(box[2])) + pad_x, int(math.ceil(limit[2])), w)
    y1 = min(int(math.ceil(box[3])) + pad_y, int(math.ceil(limit[3])), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        x0, y0, x1, y1 = int(box[0]), int(box[1]), max(int(box[2]), int(box[0]) + 2), max(int(box[3]), int(box[1]) + 2)
    image = page.clean[y0:y1, x0:x1]
    # Text against a rule: the padding the cell has no room for is added in the paper's colour.
    want = (int(box[0]) - pad_x, int(box[1]) - pad_y, int(math.ceil(box[2])) + pad_x, int(math.ceil(box[3])) + pad_y)
    left, top = max(min(x0 - want[0], pad_x), 0), max(min(y0 - want[1], pad_y), 0)
    right, bottom = max(min(want[2] - x1, pad_x), 0), max(min(want[3] - y1, pad_y), 0)
    if left or top or right or bottom:
        paper = int(np.percentile(image, 90))
        image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=paper)
    if image.shape[0] > DEFAULT_REC_HEIGHT:  # scale down with area averaging: no aliased grain
        size = (max(round(image.shape[1] * DEFAULT_REC_HEIGHT / image.shape[0]), 1), DEFAULT_REC_HEIGHT)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if stretch != 1.0:
        image = cv2.resize(image, (max(round(image.shape[1] * stretch), 1), image.shape[0]),
                           interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def read_texts(engine: Engine, page: Prepared, texts: list[Text]) -> None:
    """Recognise texts in place (text, confidence).

    A number, or a short text alone in its cell (a crop at most DEFAULT_SHORT_RATIO times as wide as high: a
    score misread as a letter), is read again from differently padded and stretched crops (DEFAULT_CROP_PADS,
    DEFAULT_STRETCHES): a lone digit's reading swings with the crop. When every crop reads the same, its
    confidence is their median; otherwise the text most crops read is kept with its lowest confidence times
    the share of crops that agree (so a doubtful digit is flagged). See ``combine``.
    """
    if not texts:
        return
    crops = [crop(page, t) for t in texts]
    first = recognise(engine, crops)
    short = [i for i, (text, _c) in enumerate(first)
             if _is_number(text) or _lookalike_number(text)
             or (texts[i].alone and crops[i].shape[1] <= DEFAULT_SHORT_RATIO * crops[i].shape[0])]
    pads = [(pad, stretch) for stretch in DEFAULT_STRETCHES for pad in DEFAULT_CROP_PADS][1:]
    again = recognise(engine, [crop(page, texts[i], pad, stretch) for i in short for pad, stretch in pads])
    readings = {i: [first[i]] for i in range(len(texts))}
    for k, i in enumerate(short):
        readings[i].extend(again[k * len(pads):(k + 1) * len(pads)])
    for i, text in enumerate(texts):
        text.text, text.confidence = combine(readings[i])


def combine(readings: list[tuple[str, float]]) -> tuple[str, float]:
    """Given readings of one text from several crops, return (text, confidence); see ``read_texts``.

    When at least half the readings that read something other than a bare 分 are numbers, they outvote the
    others (a digit the recognizer merges into the 分 beside it is missed by some crops); the most frequent
    reading wins (ties: the surer)."""
    if len(readings) == 1:
        return readings[0]
    numbers = [r for r in readings if _is_number(re.sub(r"\s+", "", r[0]))]
    if numbers:  # other crops read digits: a lone "O" or "l" is that digit's look-alike, a vote for it
        readings = [(_as_digits(text), c) for text, c in readings]
        numbers = [r for r in readings if _is_number(re.sub(r"\s+", "", r[0]))]
    voting = [r for r in readings if re.sub(r"\s+", "", r[0]) not in ("", "分")]  # a bare 分 lost its digit
    candidates = numbers if numbers and 2 * len(numbers) >= len(voting) else readings
    counts: dict[str, int] = {}
    for text, _c in candidates:
        counts[text] = counts.get(text, 0) + 1
    best = max(counts, key=lambda t: (counts[t], sum(c for x, c in candidates if x == t)))
    confidences = sorted(c for x, c in readings if x == best)
    if counts[best] == len(readings):
        return best, float(confidences[len(confidences) // 2])
    return best, float(confidences[0]) * counts[best] / len(readings)


def _is_number(text: str) -> bool:
    """Given a recognised text, return whether it is a score: read by scores.parse_number, the one number reader
    (so "1 1" is two numbers here too, never eleven)."""
    return parse_number(text) is not None


def _as_digits(text: str) -> str:
    """Given a text, return it with look-alike letters read as digits when that makes it a number, else as is."""
    t = re.sub(r"\s+", "", text)
    mapped = "".join(DIGIT_LOOKALIKES.get(ch, ch) for ch in t)
    return mapped if t and _is_number(mapped) else text


def _lookalike_number(text: str) -> bool:
    """Whether text is a number once look-alike letters are read as digits, with at least one real digit;
    or a score's 分 with nothing but look-alikes before it (the digit was misread or dropped: "分", "O分")."""
    t = re.sub(r"\s+", "", text)
    if not t or _is_number(t):
        return False
    if t.endswith("分") and all(ch in DIGIT_LOOKALIKES or ch in ".+-" for ch in t[:-1]):
        return True
    return any(ch.isdigit() for ch in t) and _is_number("".join(DIGIT_LOOKALIKES.get(ch, ch) for ch in t))


def recognise(engine: Engine, images: list[np.ndarray]) -> list[tuple[str, float]]:
    """Given text crops, return (text, confidence) for each.

    Confidence is the mean probability of the characters read (the engine's score). A text that is a
    number apart from look-alike letters is decoded again with only digits, '.', signs and 分 allowed;
    its confidence is then the lowest probability of a character it kept.
    """
    rec = engine.recognizer
    out: list[tuple[str, float]] = [("", 0.0)] * len(images)
    order = np.argsort([im.shape[1] / max(im.shape[0], 1) for im in images])
    _c, height, width = rec.rec_image_shape
    for start in range(0, len(images), DEFAULT_REC_BATCH):
        chunk = order[start:start + DEFAULT_REC_BATCH]
        ratio = max([width / height] + [images[i].shape[1] / max(images[i].shape[0], 1) for i in chunk])
        batch = np.concatenate([rec.resize_norm_img(images[i], ratio)[np.newaxis] for i in chunk]).astype(np.float32)
        probs = rec.session(batch)[0]
        for k, i in enumerate(chunk):
            out[i] = decode(engine, probs[k])
    return out


def decode(engine: Engine, probs: np.ndarray) -> tuple[str, float]:
    """Given one crop's per-step character probabilities, return (text, confidence); see ``recognise``."""
    text, confidences = _ctc(engine.characters, probs.argmax(axis=1), probs)
    text = "".join(TEXT_FIXES.get(ch, ch) for ch in text)
    if _lookalike_number(text):
        allowed = engine.number_index
        restricted = np.full_like(probs, -1.0)
        restricted[:, 0] = probs[:, 0]  # CTC blank
        restricted[:, allowed] = probs[:, allowed]
        digits, digit_conf = _ctc(engine.characters, restricted.argmax(axis=1), probs)
        if _is_number(digits):
            return digits, float(min(digit_conf))
    if not confidences:
        return "", 0.0
    return text.strip(), float(np.mean(confidences))


def _ctc(characters: list[str], index: np.ndarray, probs: np.ndarray) -> tuple[str, list[float]]:
    """Greedy CTC decoding: repeated steps merged, blanks (index 0) dropped; a character's confidence is
    its highest probability over the steps it spans (the first step alone is often its onset, less sure)."""
    chars, confs = [], []
    previous = -1
    for t, i in enumerate(index):
        if i != 0 and i != previous:
            chars.append(characters[i])
            confs.append(float(probs[t, i]))
        elif i != 0:
            confs[-1] = max(confs[-1], float(probs[t, i]))
        previous = i
    return "".join(chars), confs


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


# --- pages -> document -----------------------------------------------------------------------------------


@dataclass
class PageResult:
    fragments: list[Fragment]
    lines: list[str]
    confidence: dict[tuple[int, Box], float]
    seconds: float
    skew: float


def read_page(engine: Engine, image: PageImage) -> PageResult:
    """Given a page image, return its table fragments (in points), free lines and cell confidences."""
    started = time.perf_counter()
    if image.dpi > DEFAULT_MAX_WORK_DPI:  # a 600 dpi scan holds nothing more to read, only more to compute
        scale = DEFAULT_MAX_WORK_DPI / image.dpi
        pixels = cv2.resize(image.pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        image = PageImage(pixels, DEFAULT_MAX_WORK_DPI, image.number)
    page = prepare(image.pixels, image.dpi)
    grids = ink_to_grids(page)
    free = assign_boxes(detect_boxes(engine, page), grids)
    add_missed_ink(page, grids)
    for g in grids:
        for c in g.cells:
            if len(c.texts) == 1:
                c.texts[0].alone = True
    texts = [t for g in grids for c in g.cells for t in c.texts] + [Text(b) for b in free]
    read_texts(engine, page, texts)
    for g in grids:
        for c in g.cells:
            c.texts = [t for t in c.texts if t.text and (t.confidence >= DEFAULT_MIN_TEXT_SCORE
                                                         or _is_number(t.text))]
    pt = 72.0 / image.dpi
    page_height = page.grey.shape[0] * pt
    fragments, confidence = [], {}
    for g in grids:
        x0, y0, x1, y1 = (float(v) * pt for v in g.box)
        fragment = Fragment(page=image.number, page_height=page_height, bbox=(x0, y0, x1, y1),
                            x_edges=[float(x) * pt for x in g.x_edges], n_rows=len(g.y_edges) - 1)
        for c in g.cells:
            bbox = tuple(round(float(v) * pt, 2) for v in c.box)
            fragment.pieces.append(Piece(text=texts_to_string(c.texts), row=c.row, col=c.col, rowspan=c.rowspan,
                                         colspan=c.colspan, page=image.number, bbox=bbox,
                                         open_end=_open_end(c.texts, c.box)))
            if c.texts:
                confidence[(image.number, bbox)] = min(t.confidence for t in c.texts)
        fragment.pieces.sort(key=lambda p: (p.row, p.col))
        fragments.append(fragment)
    free_texts = [t for t in texts[len(texts) - len(free):] if t.text and t.confidence >= DEFAULT_MIN_TEXT_SCORE]
    lines = [texts_to_string([t for t in free_texts if t.box in line]) for line in
             _group_lines([t.box for t in free_texts])]
    return PageResult(fragments, [x for x in lines if x], confidence, time.perf_counter() - started, page.skew)


def pages_to_document(pages, kind: str, engine: Engine | None = None, stats: list | None = None) -> Document:
    """Given an iterable of PageImages, return their Document: tables joined across pages as the PDF parser
    joins them, cells with page, bbox (points) and confidence; lines outside tables in reading order.
    When stats is a list, each page's PageResult is appended to it (seconds, skew) for benchmarks."""
    engine = engine or load_engine()
    fragments: list[Fragment] = []
    lines: list[str] = []
    confidence: dict[tuple[int, Box], float] = {}
    n_pages = 0
    for image in pages:
        n_pages += 1
        result = read_page(engine, image)
        fragments.extend(result.fragments)
        lines.extend(result.lines)
        confidence.update(result.confidence)
        if stats is not None:
            stats.append(result)
    # What a cell read on its own page, and the first row of each page's first table: a row split by the
    # page break is joined into the cell above it, which then takes the lower confidence of the two.
    own = {(p.page, p.bbox): p.text for f in fragments for p in f.pieces}
    tops: dict[int, list[Piece]] = {}
    for f in fragments:
        tops.setdefault(f.page, [p for p in f.pieces if p.row == 0])
    tables = [group_to_table(group, i) for i, group in enumerate(fragments_to_groups(fragments))]
    for table in tables:
        for cell in table.cells:
            cell.confidence = confidence.get((cell.page, cell.bbox)) if cell.text else None
            if cell.text and cell.text != own.get((cell.page, cell.bbox), cell.text):
                below = [confidence[(p.page, p.bbox)] for p in tops.get((cell.page or 0) + 1, [])
                         if (p.page, p.bbox) in confidence and p.bbox[0] < cell.bbox[2] and p.bbox[2] > cell.bbox[0]]
                cell.confidence = min([c for c in [cell.confidence, *below] if c is not None], default=None)
    return Document(tables=tables, lines=lines, kind=kind, pages=n_pages)


# --- inputs ------------------------------------------------------------------------------------------------


def pil_to_pixels(image) -> np.ndarray:
    """Given a PIL image (any mode), return it as a BGR or grey uint8 array."""
    if image.mode in ("L", "1", "I;16", "I", "F"):
        return np.asarray(image.convert("L"))
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)


def image_file_pages(path) -> list[PageImage]:
    """Given an image file (PNG, JPEG, TIFF: every frame a page), return its pages; raise ParseError."""
    return list(iter_image_file_pages(path))


def iter_image_file_pages(path) -> Iterator[PageImage]:
    """Given an image file (PNG, JPEG, TIFF: every frame a page), yield its pages one at a time (a page is
    decoded only when the one before it has been read); raise ParseError when it is unreadable or declares
    more than MAX_PAGES pages or a page of more than MAX_PAGE_PIXELS (checked before decoding it)."""
    from PIL import ImageOps, ImageSequence, UnidentifiedImageError

    from .parsers.image import open_image

    try:
        with open_image(path) as im:
            for number, frame in enumerate(ImageSequence.Iterator(im), start=1):
                if refusal := pages_refusal(number, at_least=True):  # open_image counted them; this is a backstop
                    raise ParseError(refusal)
                if refusal := page_pixels_refusal(*frame.size, what=_page_name(number)):
                    raise ParseError(refusal)
                upright = ImageOps.exif_transpose(frame) if number == 1 else frame
                stated = frame.info.get("dpi")
                dpi_value = float(stated[0]) if isinstance(stated, tuple) and stated and stated[0] else None
                pixels = pil_to_pixels(upright)
                yield PageImage(pixels, estimate_dpi(pixels.shape, dpi_value), number)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ParseError(f"not a readable image: {error}; scan it again") from error


def _page_name(number: int) -> str:
    return "the image" if number == 1 else f"page {number} of the image"


def pdf_pages(source, dpi: float | None = None):
    """Given a PDF (path, bytes or binary file), yield its pages rendered with pdfium as PageImages.

    Each page is rendered at its images' own dpi (the widest image's pixels over its printed width),
    clamped to DEFAULT_RENDER_DPI_RANGE, unless dpi is given.
    """
    import pypdfium2 as pdfium

    if hasattr(source, "read"):
        source.seek(0)
        source = source.read()
    pdf = pdfium.PdfDocument(source)
    try:
        if refusal := pages_refusal(len(pdf), "the scanned PDF"):
            raise ParseError(refusal)
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            try:
                images = _page_images(page, pdfium)
                for _width, width_px, height_px in images:  # pdfium decodes an image whole to render it
                    if refusal := page_pixels_refusal(width_px, height_px, what=f"an image on PDF page {number}"):
                        raise ParseError(refusal)
                page_dpi = fit_render_dpi(page.get_size(), dpi or _render_dpi(page, pdfium, images), number, dpi)
                bitmap = page.render(scale=page_dpi / 72.0)
                pixels = bitmap.to_numpy()
                if bitmap.mode in ("RGB", "RGBA", "RGBX"):
                    pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGR if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
                elif pixels.ndim == 3 and pixels.shape[2] == 4:
                    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
                pixels = np.ascontiguousarray(pixels)
                bitmap.close()
                yield PageImage(pixels, page_dpi, number)
            finally:
                page.close()
    finally:
        pdf.close()


def fit_render_dpi(size: tuple[float, float], dpi: float, number: int, requested: float | None = None) -> float:
    """Given a PDF page's size in points, the dpi chosen to render it and its number, return the dpi to render
    it at: the chosen one when the bitmap stays within MAX_PAGE_PIXELS, else the largest that does, down to
    the render range's lower end (or the requested dpi when lower); below that raise ParseError (before
    pdfium allocates anything)."""
    width_in, height_in = (abs(float(v)) / 72.0 for v in size)
    if not (math.isfinite(width_in) and math.isfinite(height_in)):
        raise ParseError(f"the PDF page {number} has no readable size: scan the form again")
    area = max(width_in * height_in, 1e-9)
    if area * dpi * dpi <= MAX_PAGE_PIXELS:
        return dpi
    floor = min(DEFAULT_RENDER_DPI_RANGE[0], requested or DEFAULT_RENDER_DPI_RANGE[0])
    fitting = math.floor(math.sqrt(MAX_PAGE_PIXELS / area))
    if fitting >= floor:
        return float(fitting)
    pixels = area * floor * floor
    raise ParseError(f"the PDF page {number} is {width_in:.0f} x {height_in:.0f} inches ({pixels / 1e6:.0f} "
                     f"megapixels at {floor:.0f} dpi, at most {MAX_PAGE_PIXELS // 1_000_000} are read): "
                     "scan the form again on A4 or A3 paper")


def _page_images(page, pdfium) -> list[tuple[float, int, int]]:
    """Given a pdfium page, return (printed width in points, width and height in pixels) of its images, from
    their dictionaries (nothing is decoded); [] when pdfium cannot list them."""
    out = []
    try:
        for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            left, _bottom, right, _top = obj.get_bounds()
            width_px, height_px = obj.get_px_size()
            out.append((float(right - left), int(width_px), int(height_px)))
    except Exception:  # noqa: BLE001 - an odd image object only loses the hint
        return []
    return out


def _render_dpi(page, pdfium, images: list[tuple[float, int, int]] | None = None) -> float:
    """The dpi to render a PDF page at: its images' own resolution, clamped to DEFAULT_RENDER_DPI_RANGE."""
    low, high = DEFAULT_RENDER_DPI_RANGE
    images = _page_images(page, pdfium) if images is None else images
    best = max((width_px / (width / 72.0) for width, width_px, _h in images if width > 36), default=0.0)
    return min(max(best or DEFAULT_RENDER_DPI, low), high)
