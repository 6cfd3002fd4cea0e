"""Page preparation: seal removal, deskew, binarisation and rule masks (a page already turned upright, see
orient.py). Lengths are in inches and scaled by the page's dpi. A red seal is lifted by its colour (here); on a
page without colour (a grayscale scan) the seal is found by its shape and suppressed by seal.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from .seal import Seal, grey_to_seals, red_seal, rotate_seals, seal_box, suppress_seals

DEFAULT_ASSUMED_PAGE_INCHES = 11.69  # long side of an A4 page: the dpi of an image file without one
DEFAULT_MIN_DPI, DEFAULT_MAX_DPI = 100.0, 600.0  # a dpi stated by an image file outside this is ignored
DEFAULT_RENDER_DPI = 200.0  # PDF pages are rendered at their images' own dpi, clamped to this range:
DEFAULT_MAX_SKEW = 5.0  # degrees: a larger angle from the rules is not trusted
DEFAULT_MIN_SKEW = 0.05  # degrees: below this the page is left as it is
DEFAULT_RULE_MIN = 0.30  # inches: a ruled line is at least this long (longer than two characters)
DEFAULT_SKEW_RULE_SHARE = 0.25  # of the page width: rules this long give the skew
DEFAULT_THRESHOLD_BLOCK = 0.25  # inches: adaptive threshold neighbourhood
DEFAULT_THRESHOLD_C = 15  # grey levels below the local mean that count as ink

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
DEFAULT_SEAL_RULE = 0.75  # inches: a straight run this long through a grey seal is a rule (no chord of its ring is)


def estimate_dpi(shape: tuple[int, ...], stated: float | None = None) -> float:
    """Given an image's shape and the dpi its file states (or None), return the dpi to work with."""
    if stated and DEFAULT_MIN_DPI <= stated <= DEFAULT_MAX_DPI:
        return float(stated)
    return max(shape[0], shape[1]) / DEFAULT_ASSUMED_PAGE_INCHES


def red_mask(image: np.ndarray, dpi: float = DEFAULT_RENDER_DPI) -> np.ndarray:
    """Given a BGR page, return the mask (bool) of seal-red pixels: hue near red and saturated, grown into the
    pale pink fringe JPEG's colour subsampling leaves around red strokes. Whatever lies under red ink keeps the
    seal's hue; ``remove_seal`` reads it back from the red channel.

    The hue, saturation and value tests are OpenCV range tests on the HSV page (a pass each, not a dozen
    boolean arrays of the page); a page without seal red skips the fringe."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    low, high = DEFAULT_RED_HUE
    core = cv2.inRange(hsv, (0, DEFAULT_RED_MIN_SATURATION, DEFAULT_RED_MIN_VALUE), (low, 255, 255))
    core |= cv2.inRange(hsv, (high, DEFAULT_RED_MIN_SATURATION, DEFAULT_RED_MIN_VALUE), (255, 255, 255))
    if not cv2.countNonZero(core):
        return np.zeros(image.shape[:2], bool)
    low, high = DEFAULT_RED_FRINGE_HUE
    fringe = cv2.inRange(hsv, (0, DEFAULT_RED_FRINGE_SATURATION, 0), (low, 255, 255))
    fringe |= cv2.inRange(hsv, (high, DEFAULT_RED_FRINGE_SATURATION, 0), (255, 255, 255))
    k = max(round(DEFAULT_RED_FRINGE * dpi), 1) * 2 + 1
    return (cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) & fringe) > 0


def paper_level(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Given a grey page, return the paper's brightness around every pixel (ink of up to ~0.6 inch closed
    away), from a quarter-size copy."""
    small = cv2.resize(grey, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    k = max(int(0.6 * dpi / 4) | 1, 3)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    closed = cv2.GaussianBlur(closed, (0, 0), k / 4)
    return cv2.resize(closed, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)


def grey_percentile(grey: np.ndarray, q: float) -> float:
    """Given a uint8 image (not empty) and a percentile, return np.percentile(grey, q) to the bit (its linear
    interpolation, operation for operation), from the image's histogram: a pass over the pixels instead of a
    partition of a copy of them (a page's paper level in 2 ms, not 45; a cell's in a tenth of the time)."""
    n = grey.size
    image = grey if grey.ndim == 2 and grey.strides[1] == 1 else np.ascontiguousarray(grey).reshape(-1, 1)
    cumulative = np.cumsum(cv2.calcHist([image], [0], None, [256], [0, 256]).ravel().astype(np.int64))
    virtual = (n - 1) * (np.float64(q) / 100)  # numpy's virtual index (method 'linear')
    if virtual >= n - 1:
        return float(np.searchsorted(cumulative, n))  # the largest value
    below = int(np.floor(virtual))
    a = int(np.searchsorted(cumulative, below + 1))  # the value at sorted position `below`, and the next
    b = int(np.searchsorted(cumulative, below + 2))
    t = virtual - np.floor(virtual)
    d = np.float64(b - a)
    return float(b - d * (1 - t) if t >= 0.5 else a + d * t)  # numpy's _lerp


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
    """Given a page (BGR or grey), return it grey without its seal, strictly and gently (``remove_seal``)."""
    grey, gentle, _seals = unseal_page(image, dpi)
    return grey, gentle


def unseal_page(
    image: np.ndarray, dpi: float = DEFAULT_RENDER_DPI, suppress: bool = True, grey: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, list[Seal]]:
    """Given a page (BGR or grey), return it grey without its seal, strictly and gently (``remove_seal``), and
    its seals: a red seal is lifted by its colour and recorded by its red ink (seal.red_seal: the digits it lay
    on are not trusted unless read with certainty); a page without seal red (a grayscale scan, or a colour page
    whose seal is grey) has its seals found by shape and, unless not `suppress` (the caller deskews first:
    ``suppress_grey_seals``), suppressed (seal.py, the same page for both). grey: the image in grey when the
    caller has it (cv2.COLOR_BGR2GRAY's), read, not changed."""
    if grey is not None:
        grey = grey.copy()
    else:
        grey = image.copy() if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    red = red_mask(image, dpi) if image.ndim == 3 else None
    if red is None or not red.any():
        seals = grey_to_seals(grey, paper_level(grey, dpi), dpi)
        if seals and suppress:
            grey = suppress_grey_seals(grey, dpi, seals)
        return grey, grey.copy(), seals
    paper = paper_level(grey, dpi).astype(np.float32)
    # Only the seal's pixels change: the arithmetic runs on the box around its red (a twentieth of the page).
    bx0, by0, bx1, by1 = mask_box(red)
    box = (slice(by0, by1), slice(bx0, bx1))
    seal, seal_paper = red[box], np.maximum(paper[box], 1.0)
    through = image[box][..., 2].astype(np.float32)
    ratio = float(np.percentile(through[seal] / seal_paper[seal], DEFAULT_SEAL_PERCENTILE))
    under = np.minimum(through / max(ratio, 0.05), paper[box]) / seal_paper  # 0 black .. 1 paper
    gentle = grey.copy()
    gentle[box][seal] = (under * paper[box])[seal].astype(np.uint8)
    # Divided by the seal's darkest red, a soft rule under the seal (a phone photo's, blurred to ~0.6 of the
    # paper) comes out at ~0.85, at the threshold's edge, and breaks into dashes too short for a rule. The red
    # channel shows it as dark as beside the seal: its straight runs keep the red channel's darkness.
    rules = red_rules(image, red, dpi, (bx0, by0, bx1, by1))
    gentle[rules] = np.minimum(gentle, image[..., 2])[rules]
    ink = (binarize(grey, dpi) > 0) & ~red
    level = float(np.percentile(grey[ink] / np.maximum(paper[ink], 1.0), 75)) if ink.any() else DEFAULT_SEAL_INK[0]
    low = min(max(level, DEFAULT_SEAL_INK[0]), DEFAULT_SEAL_INK[1])
    high = low + DEFAULT_SEAL_INK_SPREAD
    k = max(round(DEFAULT_SEAL_INK_EDGE * dpi), 1) * 2 + 1
    dark = cv2.dilate(((under <= low) & seal).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    stretched = np.minimum(low + (under - low) * (1 - low) / (high - low), 1.0)
    strict = np.where((under <= low) | (dark > 0), under, stretched)
    grey[box][seal] = (strict * paper[box])[seal].astype(np.uint8)
    return grey, gentle, [red_seal(seal.copy(), (bx0, by0))]


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Given a mask (bool) with something set, return the box (x0, y0, x1, y1; x1 and y1 past the end) around what
    is set: np.nonzero's extremes, from the rows and columns that hold any (two reductions, not the page's
    coordinates)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def red_rules(image: np.ndarray, red: np.ndarray, dpi: float,
              box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Given a BGR page and its seal-red mask (and the box around its red, ``mask_box``), return the mask (bool)
    of the seal's red pixels on a ruled line: straight horizontal or vertical runs of ink in the red channel
    (where the print under red ink shows) at least DEFAULT_SEAL_RULE long, which no chord of a seal's ring or arc
    text makes. Looked for around the seal only (its red grown by DEFAULT_SEAL_RULE, so a rule's run outside the
    seal counts to its length)."""
    out = np.zeros(red.shape, bool)
    if box is None:
        if not red.any():
            return out
        box = mask_box(red)
    reach = int(DEFAULT_SEAL_RULE * dpi) + 1
    y0, y1 = max(box[1] - reach, 0), min(box[3] + reach, red.shape[0])
    x0, x1 = max(box[0] - reach, 0), min(box[2] + reach, red.shape[1])
    through = np.ascontiguousarray(image[y0:y1, x0:x1, 2])
    horizontal, vertical = line_masks(binarize(through, dpi), dpi, length=DEFAULT_SEAL_RULE)
    out[y0:y1, x0:x1] = ((horizontal | vertical) > 0) & red[y0:y1, x0:x1]
    return out


def suppress_grey_seals(grey: np.ndarray, dpi: float, seals: list[Seal]) -> np.ndarray:
    """Given a grey page (best deskewed: its rules then run straight), its dpi and the seals found on it by
    shape, return it with the seals suppressed (seal.suppress_seals) but the table's rules kept: straight runs
    of ink longer than DEFAULT_SEAL_RULE, which a seal's ring never makes, run on under the seal.

    The rules are looked for only where suppress_seals reads them (each seal's box, seal.seal_box), on a window
    around it wide enough that every pixel of the box comes out as on the whole page (``seal_rules``)."""
    rules = np.zeros(grey.shape[:2], np.uint8)
    for s in seals:
        if not s.red:
            x0, y0, x1, y1 = seal_box(s, grey.shape, dpi)
            rules[y0:y1, x0:x1] = seal_rules(grey, dpi, (x0, y0, x1, y1))
    return suppress_seals(grey, paper_level(grey, dpi), seals, dpi, rules)


def seal_rules(grey: np.ndarray, dpi: float, box: tuple[int, int, int, int]) -> np.ndarray:
    """Given a grey page, its dpi and a box (x0, y0, x1, y1, pixels), return the box's part of the page's rule
    mask under a seal: ``line_masks(binarize(grey), length=DEFAULT_SEAL_RULE)`` of the whole page, dilated by a
    pixel, to the bit, computed on the box grown by what each step reads around a pixel (the threshold's block,
    the gap bridged, the rule's length, the dilation), so no window edge reaches into the box."""
    x0, y0, x1, y1 = box
    block = max(int(DEFAULT_THRESHOLD_BLOCK * dpi) | 1, 15)  # binarize's neighbourhood
    length = max(int(DEFAULT_SEAL_RULE * dpi), 10)  # rule_mask's kernel
    gap = max(int(0.015 * dpi), 2)  # rule_mask's bridge
    margin = block + length + gap + 2
    h, w = grey.shape[:2]
    wx0, wy0 = max(x0 - margin, 0), max(y0 - margin, 0)
    wx1, wy1 = min(x1 + margin, w), min(y1 + margin, h)
    window = np.ascontiguousarray(grey[wy0:wy1, wx0:wx1])
    horizontal, vertical = line_masks(binarize(window, dpi), dpi, length=DEFAULT_SEAL_RULE)
    rules = cv2.dilate(horizontal | vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    return rules[y0 - wy0:y1 - wy0, x0 - wx0:x1 - wx0]


def components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Given a binary mask (uint8), return cv2.connectedComponentsWithStats's count, labels and stats for it
    (8-connectivity), the very same components, labels and stats.

    Labelled as 16-bit (OpenCV's Spaghetti algorithm, its default for 8-connectivity): half the memory written, and
    with statistics about twice as fast on a page as 32-bit labels. A mask of more components than 16 bits hold
    (OpenCV refuses to overflow) is labelled as 32-bit. The labels are uint16 then: compare them, index with them,
    do no arithmetic on them."""
    try:
        n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_16U, cv2.CCL_SPAGHETTI)
    except cv2.error:  # more components than 16-bit labels hold
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return n, labels, stats


def binarize(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Given a grey page, return its ink mask (255 = ink) by adaptive threshold (uneven background safe)."""
    block = max(int(DEFAULT_THRESHOLD_BLOCK * dpi) | 1, 15)
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block,
                                 DEFAULT_THRESHOLD_C)


def line_masks(ink: np.ndarray, dpi: float, length: float = DEFAULT_RULE_MIN) -> tuple[np.ndarray, np.ndarray]:
    """Given an ink mask, return (horizontal, vertical) masks of the ruled lines at least `length` inches long."""
    return rule_mask(ink, dpi, length, True), rule_mask(ink, dpi, length, False)


def rule_mask(ink: np.ndarray, dpi: float, length: float = DEFAULT_RULE_MIN, across: bool = True) -> np.ndarray:
    """Given an ink mask, return the mask of its ruled lines at least `length` inches long written across the
    page (across) or up it."""
    n = max(int(length * dpi), 10)
    gap = max(int(0.015 * dpi), 2)  # bridge a rule broken by noise or thresholding
    bridge, kernel = ((gap, 1), (n, 1)) if across else ((1, gap), (1, n))
    mask = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, bridge))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))


def estimate_skew(ink: np.ndarray, dpi: float) -> float:
    """Given an ink mask, return the page's skew in degrees (positive: rules run down to the right), from the
    long horizontal rules; 0.0 when there are none."""
    width = ink.shape[1]
    horizontal = rule_mask(ink, dpi, length=0.08)  # short kernel: a skewed rule stays one component
    n, labels, stats = components(horizontal)
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
    seals: list[Seal] = field(default_factory=list)  # by shape (grey pages) or red ink, pixels of this page


def prepare(image: np.ndarray, dpi: float, grey: np.ndarray | None = None) -> Prepared:
    """Given a page image and its dpi, return it unsealed, deskewed, binarized, with its rules found (and the
    seals found by shape, where they lie on the deskewed page).

    Rules are looked for on the page with the seal lifted gently (a thin rule under the seal stays), text
    on the page with the seal lifted strictly (``remove_seal``). A page with no seal red has one grey for both:
    it is turned, thresholded and searched for rules once (the same pixels as twice, at half the cost). grey: the
    image in grey, when the caller has it (see unseal_page)."""
    grey, ruled, seals = unseal_page(image, dpi, suppress=False, grey=grey)
    same = np.array_equal(grey, ruled)
    ruled_ink = binarize(ruled, dpi)
    skew = estimate_skew(ruled_ink, dpi)
    if abs(skew) >= DEFAULT_MIN_SKEW:
        grey = rotate(grey, skew)
        ruled = grey if same else rotate(ruled, skew)
        seals = rotate_seals(seals, grey.shape, skew)
    if any(not s.red for s in seals):  # a grey seal, found by shape, is suppressed on the deskewed page
        grey = suppress_grey_seals(grey, dpi, seals)
        ruled, same = grey, True
    if seals or abs(skew) >= DEFAULT_MIN_SKEW:
        ruled_ink = binarize(ruled, dpi)
    ink = ruled_ink if same else binarize(grey, dpi)
    horizontal, vertical = line_masks(ruled_ink, dpi)
    rules = cv2.dilate(horizontal | vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))) > 0
    clean = grey.copy()
    clean[rules] = paper_level(grey, dpi)[rules]
    return Prepared(grey, np.where(rules, 0, ink).astype(np.uint8), horizontal, vertical, clean, dpi, skew, seals)
