"""Official seals on grayscale scans: found by their shape, suppressed before recognition (issue 13).

A red seal scanned in grey is a mid-grey ring (~42 mm across) with a star and arc text, multiplied over the
print: seal ink alone is mid-grey (about 0.35-0.65 of the paper's brightness), print is darker (below ~0.25),
and print under the seal darker still. Where the page has colour, prepare.unseal lifts the seal by its red
instead; this module is for pages without colour.

- ``grey_to_seals``: seal-grey ink (mid-grey, at least a few tenths of a millimetre thick, so the soft edges
  of black print are not it) -> circles of a seal's size (cv2.HoughCircles) -> kept when the ring is drawn
  round most of its circumference in seal grey and the inside holds seal ink too (star, arc text), so a
  black circled mark, a table's ruled corners or a round shape of another size is no seal;
- ``suppress_seals``: within each seal, what is lighter than the seal's own darkest ink (seal over paper) is
  lifted to the paper's brightness; what is darker (print, alone or under the seal) is kept;
- ``seal_confidence``: a cell under a seal whose reading is not confident gets a confidence below the
  review threshold, so its item is flagged low_confidence_value instead of trusted. A red seal (lifted by its
  colour, prepare.unseal_page) is recorded too, as its red ink (``red_seal``): there the rule holds where that
  ink lay over the cell's text crops, not merely near them (a seal's inside is mostly paper).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

DEFAULT_SEAL_DIAMETER = 42.0 / 25.4  # inches: an official seal's ring
DEFAULT_SEAL_SIZE_TOLERANCE = 0.20  # a ring this much smaller or larger is still a seal
DEFAULT_SEAL_GREY = (0.28, 0.75)  # seal ink alone, as a share of the paper's brightness
DEFAULT_PRINT_DARK = 0.25  # print is darker than this share of the paper
DEFAULT_STROKE_MIN = 0.016  # inches (0.4 mm): seal strokes are at least this thick, print's soft edges are not
DEFAULT_WORK_DPI = 75.0  # circles are looked for on a copy this fine
DEFAULT_RING_WIDTH = 0.06  # inches: how far from the circle the ring's ink is looked for
DEFAULT_RING_COVER = 0.60  # share of the ring's angles that must show seal-grey ink
DEFAULT_RING_THIN = 0.03  # inches: the ring's ink lies this close to its centre line (a 1.2 mm stroke)
DEFAULT_RING_THIN_SHARE = 0.80  # ... for at least this share of it (arc text spreads wider)
DEFAULT_OUTSIDE_INK = 0.15  # the ring is the seal's rim: at most this share of the band outside it is seal ink
DEFAULT_RING_GREY_SHARE = 0.60  # of the ring's ink pixels, at least this share is seal grey (not black)
DEFAULT_INSIDE_INK = 0.03  # share of the inside (star, arc text) that must be seal-grey ink
DEFAULT_INSIDE_EMPTY = 0.70  # a filled disc is no ring: at most this share of the band inside the ring is ink
DEFAULT_SEAL_MARGIN = 0.04  # inches beyond the ring that are suppressed too (the ring's blurred edge)
DEFAULT_SEAL_EDGE = 0.01  # inches: a seal stroke's soft edge beyond its seal-grey core
DEFAULT_SEAL_CLOSE = 0.012  # inches: thin print crossing a seal stroke is closed over, to be divided out
DEFAULT_SEAL_LOCAL = 0.10  # inches: the window the seal's own level around a pixel is taken from (patchy ink)
DEFAULT_KEEP_SHARE = (0.50, 0.70)  # on a seal stroke, the page divided by the seal's level: print below the
# first, paper above the second, stretched between (the seal's grain is no print)
DEFAULT_SEAL_INK_PERCENTILE = 5  # the seal's darkest ink: this percentile of its ring's seal-grey pixels
DEFAULT_SEAL_TRUST = 0.95  # a cell under a seal read less confidently than this goes to review
DEFAULT_SEAL_CAPPED = 0.79  # ... with this confidence (below checks.DEFAULT_LOW_VALUE_CONFIDENCE, 0.80)
DEFAULT_RED_OVER_TEXT = 0.10  # share of a text crop's pixels red seal ink lay on: the text was under the seal (a
# stroke crossing a digit covers a fifth of its crop or more; a ring or fringe grazing its margin, a few hundredths)


@dataclass(frozen=True)
class Seal:
    """A seal found on a page: centre and ring radius in pixels, the darkest seal ink as a share of paper. A red
    seal lifted by its colour also has its red ink: mask (bool) with its top-left pixel at origin (x, y); its
    centre and radius are then those of the mask's box (the page's red may be more than one seal)."""

    x: float
    y: float
    radius: float
    ink: float = DEFAULT_SEAL_GREY[0]
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    origin: tuple[int, int] = (0, 0)

    @property
    def red(self) -> bool:
        """Whether this is a red seal recorded by its ink (not a grey one found by its shape)."""
        return self.mask is not None

    def covers(self, box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
        """Whether the box (x0, top, x1, bottom, pixels) overlaps the seal's disc (grown by margin pixels)."""
        nx, ny = min(max(self.x, box[0]), box[2]), min(max(self.y, box[1]), box[3])
        return math.hypot(nx - self.x, ny - self.y) < self.radius + margin

    def inked(self, box: tuple[float, float, float, float]) -> float:
        """Given a box (pixels), return the share of its pixels a red seal's ink lay on (0.0 for a grey seal)."""
        if self.mask is None:
            return 0.0
        x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
        x1, y1 = int(math.ceil(box[2])), int(math.ceil(box[3]))
        area = (x1 - x0) * (y1 - y0)
        if area <= 0:
            return 0.0
        ox, oy = self.origin
        part = self.mask[max(y0 - oy, 0):max(y1 - oy, 0), max(x0 - ox, 0):max(x1 - ox, 0)]
        return float(np.count_nonzero(part)) / area


def red_seal(mask: np.ndarray, origin: tuple[int, int]) -> Seal:
    """Given a page's seal-red mask cropped to its box (bool) and the box's top-left pixel (x, y), return the red
    seal it records."""
    h, w = mask.shape[:2]
    return Seal(origin[0] + w / 2, origin[1] + h / 2, math.hypot(w, h) / 2, mask=mask, origin=origin)


def seal_grey_mask(ratio: np.ndarray, dpi: float) -> np.ndarray:
    """Given a page as shares of its paper's brightness, return the mask (0/1) of seal-grey ink: mid-grey and
    at least DEFAULT_STROKE_MIN thick (an opening removes the one-pixel soft edges of black print)."""
    low, high = DEFAULT_SEAL_GREY
    grey = ((ratio >= low) & (ratio <= high)).astype(np.uint8)
    k = max(round(DEFAULT_STROKE_MIN * dpi), 2)
    return cv2.morphologyEx(grey, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))


def grey_to_seals(grey: np.ndarray, paper: np.ndarray, dpi: float) -> list[Seal]:
    """Given a grey page, its paper's brightness around every pixel and its dpi, return the seals on it."""
    ratio = grey.astype(np.float32) / np.maximum(paper.astype(np.float32), 1.0)
    mask = seal_grey_mask(ratio, dpi)
    if mask.sum() < DEFAULT_INSIDE_INK * math.pi * (DEFAULT_SEAL_DIAMETER * dpi / 2) ** 2:
        return []  # not enough seal-grey ink on the page for one seal: the common case, cheap
    scale = min(DEFAULT_WORK_DPI / dpi, 1.0)
    small = cv2.resize(mask * 255, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    radius = DEFAULT_SEAL_DIAMETER * dpi * scale / 2
    lo, hi = radius * (1 - DEFAULT_SEAL_SIZE_TOLERANCE), radius * (1 + DEFAULT_SEAL_SIZE_TOLERANCE)
    circles = cv2.HoughCircles(
        small,
        cv2.HOUGH_GRADIENT,
        dp=1,
        minDist=lo,
        param1=60,
        param2=25,
        minRadius=int(lo),
        maxRadius=int(math.ceil(hi)),
    )
    seals: list[Seal] = []
    for cx, cy, r in [] if circles is None else circles[0][:20]:
        found = verify(ratio, mask, cx / scale, cy / scale, r / scale, dpi)
        if found and not any(math.hypot(found.x - s.x, found.y - s.y) < s.radius for s in seals):
            seals.append(found)
    return seals


def fit_circle(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float]:
    """Given points, return the circle (x, y, radius) through them by least squares (Kasa's algebraic fit)."""
    a = np.column_stack([xs, ys, np.ones_like(xs)])
    d, e, f = np.linalg.lstsq(a, -(xs**2 + ys**2), rcond=None)[0]
    cx, cy = -d / 2, -e / 2
    return float(cx), float(cy), float(math.sqrt(max(cx * cx + cy * cy - f, 0.0)))


def verify(ratio: np.ndarray, mask: np.ndarray, cx: float, cy: float, r: float, dpi: float) -> Seal | None:
    """Given a page (shares of paper), its seal-grey mask and a candidate circle, return the seal there (its
    ring refitted to the ink) or None when the candidate has no seal's ring of seal-grey ink: the ring of a
    seal's size, a thin stroke drawn round most of the circle in seal grey (not black), seal ink inside but
    none just outside (the ring is the rim), not a filled disc."""
    w = DEFAULT_RING_WIDTH * dpi
    nominal = DEFAULT_SEAL_DIAMETER * dpi / 2
    reach = int(nominal * (1 + DEFAULT_SEAL_SIZE_TOLERANCE) + 3 * w) + 1
    x0, y0 = max(int(cx) - reach, 0), max(int(cy) - reach, 0)
    x1, y1 = min(int(cx) + reach + 1, ratio.shape[1]), min(int(cy) + reach + 1, ratio.shape[0])
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    part, sealish = ratio[y0:y1, x0:x1], mask[y0:y1, x0:x1] > 0
    for _ in range(3):  # the ring's centre line, refitted to its ink: not the Hough circle's edge
        dist = np.hypot(xx - cx, yy - cy)
        ring = (np.abs(dist - r) <= w) & sealish
        if ring.sum() < 20:
            return None
        cx, cy, r = fit_circle(xx[ring].astype(np.float64), yy[ring].astype(np.float64))
    if abs(r - nominal) > DEFAULT_SEAL_SIZE_TOLERANCE * nominal:
        return None
    dist = np.hypot(xx - cx, yy - cy)
    band = np.abs(dist - r) <= w
    ring = band & sealish
    angles = np.arctan2(yy[ring] - cy, xx[ring] - cx)
    cover = len(np.unique(((angles + math.pi) / (2 * math.pi) * 180).astype(int) % 180)) / 180
    inked = band & (part < DEFAULT_SEAL_GREY[1])
    grey_share = ring.sum() / max(inked.sum(), 1)
    inside = dist < r - 2 * w
    inner_band = (dist < r - w) & (dist >= r - 2 * w)
    inside_ink = (sealish & inside).sum() / max(inside.sum(), 1)
    inner_full = (part[inner_band] < DEFAULT_SEAL_GREY[1]).mean() if inner_band.any() else 1.0
    thin = (np.abs(dist[ring] - r) <= DEFAULT_RING_THIN * dpi).mean()  # a ring's stroke, not a band of text
    outer_band = (dist > r + w) & (dist <= r + 2.5 * w)
    outside_ink = sealish[outer_band].mean() if outer_band.any() else 0.0
    if (
        cover < DEFAULT_RING_COVER
        or thin < DEFAULT_RING_THIN_SHARE
        or outside_ink > DEFAULT_OUTSIDE_INK
        or grey_share < DEFAULT_RING_GREY_SHARE
        or inside_ink < DEFAULT_INSIDE_INK
        or inner_full > DEFAULT_INSIDE_EMPTY
    ):
        return None
    return Seal(cx, cy, r, float(np.percentile(part[ring], DEFAULT_SEAL_INK_PERCENTILE)))


def seal_box(seal: Seal, shape: tuple[int, ...], dpi: float) -> tuple[int, int, int, int]:
    """Given a seal, the page's shape and dpi, return the box (x0, y0, x1, y1, pixels, within the page) whose
    pixels ``suppress_seals`` may change: the seal's disc grown by DEFAULT_SEAL_MARGIN and the ring's width."""
    reach = int(seal.radius + DEFAULT_SEAL_MARGIN * dpi + DEFAULT_RING_WIDTH * dpi) + 1
    x0, y0 = max(int(seal.x) - reach, 0), max(int(seal.y) - reach, 0)
    return x0, y0, min(int(seal.x) + reach + 1, shape[1]), min(int(seal.y) + reach + 1, shape[0])


def suppress_seals(
    grey: np.ndarray, paper: np.ndarray, seals: list[Seal], dpi: float, rules: np.ndarray | None = None
) -> np.ndarray:
    """Given a grey page, its paper's brightness and its seals, return the page with each seal's ink lifted to
    the paper while the print under it stays.

    The seal is multiplied over the print, so on a seal stroke (seal-grey ink, closed over thin print that
    crosses it and grown by DEFAULT_SEAL_EDGE to take its soft edges) the print below is the page divided by
    the seal's own level there (the mean of the seal-grey ink around it, DEFAULT_SEAL_LOCAL): what comes out
    darker than DEFAULT_KEEP_SHARE[0] of the paper is print and keeps that darkness, what is lighter is seal
    over paper (its grain stretched away) and becomes paper. Off the seal's strokes the page is left as it is
    (print, and the soft edges of thin print, which are as grey as seal ink). Pixels of `rules` (a mask of the
    page's ruled lines, at 150 dpi as thin and grey as seal strokes) are kept too: the grid stays whole."""
    out = grey.copy()
    if not seals:
        return out
    ratio = grey.astype(np.float32) / np.maximum(paper.astype(np.float32), 1.0)
    edge = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(round(DEFAULT_SEAL_EDGE * dpi), 1) * 2 + 1,) * 2)
    close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(round(DEFAULT_SEAL_CLOSE * dpi), 1) * 2 + 1,) * 2)
    window = (max(round(DEFAULT_SEAL_LOCAL * dpi), 3) | 1,) * 2
    margin = DEFAULT_SEAL_MARGIN * dpi + DEFAULT_RING_WIDTH * dpi
    for s in seals:
        if s.red:  # lifted by its colour already (prepare.unseal_page)
            continue
        x0, y0, x1, y1 = seal_box(s, grey.shape, dpi)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        disc = np.hypot(xx - s.x, yy - s.y) <= s.radius + margin
        part, level = ratio[y0:y1, x0:x1], paper[y0:y1, x0:x1].astype(np.float32)
        mask = seal_grey_mask(part, dpi)
        strokes = cv2.dilate(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close), edge) > 0
        weight = cv2.boxFilter(mask.astype(np.float32), -1, window, normalize=True)
        summed = cv2.boxFilter(part * mask, -1, window, normalize=True)
        fallback = float(np.median(part[mask > 0])) if mask.any() else DEFAULT_SEAL_GREY[1]
        local = np.where(weight > 0.05, summed / np.maximum(weight, 1e-6), fallback)
        under = part / np.maximum(local, DEFAULT_SEAL_GREY[0])
        low, high = DEFAULT_KEEP_SHARE
        lifted = np.where(under < low, under, np.minimum(low + (under - low) * (1 - low) / (high - low), 1.0)) * level
        todo = disc & strokes if rules is None else disc & strokes & (rules[y0:y1, x0:x1] == 0)
        out[y0:y1, x0:x1][todo] = np.clip(lifted[todo], 0, 255).astype(np.uint8)
    return out


def rotate_seals(seals: list[Seal], shape: tuple[int, ...], degrees: float) -> list[Seal]:
    """Given seals found on a page, the page's shape and the angle prepare.rotate turned it by, return the
    seals where they lie on the turned page (a red seal's ink turned with it)."""
    if not seals or not degrees:
        return seals
    h, w = shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)

    def moved(x: float, y: float) -> tuple[float, float]:
        return (float(matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2]),
                float(matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2]))

    out = []
    for s in seals:
        x, y = moved(s.x, s.y)
        if s.mask is None:
            out.append(replace(s, x=x, y=y))
            continue
        mh, mw = s.mask.shape[:2]
        ox, oy = s.origin
        corners = np.array([moved(ox + dx, oy + dy) for dx in (0, mw) for dy in (0, mh)])
        nx0, ny0 = (int(math.floor(v)) for v in corners.min(axis=0))
        nx1, ny1 = (int(math.ceil(v)) for v in corners.max(axis=0))
        # mask pixel (u, v) is page pixel (u + ox, v + oy); turned, it is at matrix . that, less the new origin
        local = matrix.copy()
        local[:, 2] = matrix[:, :2] @ np.array([ox, oy], np.float64) + matrix[:, 2] - np.array([nx0, ny0])
        turned = cv2.warpAffine(s.mask.astype(np.uint8) * 255, local, (max(nx1 - nx0, 1), max(ny1 - ny0, 1)),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        out.append(replace(s, x=x, y=y, mask=turned >= 128, origin=(nx0, ny0)))
    return out


def seal_confidence(
    confidence: float | None,
    box: tuple[float, float, float, float],
    seals: list[Seal],
    texts: list[tuple[float, float, float, float]] | None = None,
) -> float | None:
    """Given a cell's confidence, its box (pixels of the prepared page), the page's seals and the boxes of the
    cell's text crops (default: the cell's box), return the confidence to record: below the review threshold
    when the cell lies under a seal and was not read confidently (digits under a seal are never guessed), else
    as it was. Under a grey seal: the cell's box overlaps the seal's disc; under a red one: its ink lay on at
    least DEFAULT_RED_OVER_TEXT of a text crop (red beside the digits, or the paper inside the ring, took nothing
    from them)."""
    if confidence is None or confidence >= DEFAULT_SEAL_TRUST:
        return confidence
    crops = texts if texts else [box]
    under = any(
        any(s.inked(t) >= DEFAULT_RED_OVER_TEXT for t in crops) if s.red else s.covers(box) for s in seals
    )
    return min(confidence, DEFAULT_SEAL_CAPPED) if under else confidence
