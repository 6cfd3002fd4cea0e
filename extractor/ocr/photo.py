"""Phone photos of a page: find the paper against the background, correct the perspective, even the light.

A photographed page is a keystoned, slightly rotated quadrilateral of paper on a darker desk, lit unevenly.
``photo_to_page`` turns it into what a scan would be before the rest of the OCR reads it (pipeline.read_page):

1. ``page_to_quadrilateral``: on a copy of at most DEFAULT_FIND_SIDE pixels, ink closed away, the paper is the
   largest bright region (Otsu's threshold on the photo divided by the brightest surface around each point, so
   light falling off to one side leaves the paper bright; then on the photo as it is; then Canny's edges); its
   outline reduced to four convex corners (approxPolyDP, minAreaRect when the outline will not reduce), each
   side then fitted at full resolution to the strongest brightness step across it (sub-pixel), and the corners
   the sides' intersections.
   A photo is recognised only where the quadrilateral stands out: it covers DEFAULT_MIN_AREA..DEFAULT_MAX_AREA
   of the frame, every corner lies inside the frame, the region fills its quadrilateral, and the surface around
   it is darker than the paper inside it by DEFAULT_MIN_CONTRAST. An ordinary scan (paper filling the frame)
   has no such quadrilateral and is returned unchanged, the very same object, so scans read exactly as before.
2. the quadrilateral is mapped onto an upright rectangle of the paper's proportions (A4 or Letter when its own
   proportions are within DEFAULT_SNAP of one, else its own), at the photo's own resolution of the page but at
   most DEFAULT_PHOTO_DPI (the dpi from the page's long side in inches);
3. the light is evened out: every channel divided by the paper's brightness around each pixel (ink closed away,
   prepare.paper_level), so the paper comes out at DEFAULT_PAPER_LEVEL everywhere and hues (a red seal) stay;
   a thin band along the edges (DEFAULT_EDGE_INCHES) is set to paper, so no sliver of desk is taken for a rule.

When no paper stands out (a page photographed close, the paper filling the frame: no desk around it), the
table's outer frame stands in for the paper (``page_to_frame``): the largest group of connected ink on a copy
of at most DEFAULT_FRAME_SIDE pixels, its outline reduced to four corners, each side then fitted at full
resolution through the darkest line along it (sub-pixel) and kept only where a dark rule runs along at least
DEFAULT_FRAME_COVER of it: four long ruled lines enclosing at least DEFAULT_FRAME_MIN_AREA of the frame. The
photo is rectified by the frame only when the frame is clearly not a turned rectangle (a corner off square by
more than DEFAULT_FRAME_ANGLE: a keystone) or turned further than prepare's deskew undoes (DEFAULT_MAX_SKEW):
the light evened out on the photo, the frame mapped onto an upright rectangle at the photo's own scale (at most
DEFAULT_PHOTO_DPI), the whole photo with it (what lies beyond it stays, the corners beyond the photo paper).
A scan, tilted or not, has a square frame: it is returned unchanged, the very same object.

The rectified page is a ``RectifiedPage`` (a PageImage): it records the photo's corners (the paper's, or the
table frame's: ``by``), size and dpi, so a reader (or a test) sees that and how a page was rectified.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .prepare import DEFAULT_MAX_SKEW, binarize, components, paper_level
from .sources import PageImage

DEFAULT_PHOTO_DPI = 200.0  # a rectified page is at most this fine (a 12 MP photo holds ~260 dpi of an A4 page)
DEFAULT_FIND_SIDE = 800  # pixels: the page is looked for on a copy this large
DEFAULT_MIN_AREA, DEFAULT_MAX_AREA = 0.20, 0.95  # shares of the frame a photographed page covers
DEFAULT_MIN_FILL = 0.95  # the bright region fills at least this share of its quadrilateral
DEFAULT_MIN_CONTRAST = 0.80  # the surface around the page is at most this bright relative to the paper
DEFAULT_LIGHT_REACH = 0.3  # share of the frame's size: the paper is within this of any point of the desk
DEFAULT_BORDER = 0.005  # share of the frame's size: a corner nearer the frame's edge is the frame's, no page's
DEFAULT_SNAP = 0.04  # proportions this close to A4's or Letter's are taken for that paper
DEFAULT_PAPER_LEVEL = 245.0  # the paper's brightness after the light is evened out
DEFAULT_EDGE_INCHES = 0.08  # along the rectified page's edges: set to paper
PAPERS = ((8.27, 11.69), (8.5, 11.0))  # inches: A4, Letter
DEFAULT_FRAME_SIDE = 1600  # pixels: the table's frame is looked for on a copy this large (~140 dpi of A4)
DEFAULT_FRAME_MIN_AREA = 0.15  # share of the frame the table's outer frame encloses at least
DEFAULT_FRAME_COVER = 0.90  # share of each side of the frame along which its rule is found
DEFAULT_FRAME_CONTRAST = 0.12  # a rule is this much darker than the paper beside it (a share of the paper)
DEFAULT_FRAME_ANGLE = 0.3  # degrees: a frame's corner further than this from square is keystoned


@dataclass
class RectifiedPage(PageImage):
    """A photographed page after ``photo_to_page``: the upright page, and where it lay in the photo."""

    corners: tuple[tuple[float, float], ...] = ()  # tl, tr, br, bl in the photo's pixels
    by: str = "paper"  # what the corners are of: "paper" (its edge on the desk) or "frame" (the table's frame)
    photo_size: tuple[int, int] = (0, 0)  # the photo's width and height in pixels
    photo_dpi: float = 0.0  # the dpi the photo was given (stated or estimated)


def _grey(pixels: np.ndarray) -> np.ndarray:
    return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)


def _order(corners: np.ndarray) -> np.ndarray:
    """Given four corners, return them clockwise (in image coordinates) starting from the top-left one."""
    centre = corners.mean(axis=0)
    angles = np.arctan2(corners[:, 1] - centre[1], corners[:, 0] - centre[0])
    ring = corners[np.argsort(angles)]  # clockwise on screen: y grows downwards
    start = int(np.argmin(ring.sum(axis=1)))
    return np.roll(ring, -start, axis=0)


def _flatten(small: np.ndarray) -> np.ndarray:
    """Given the small grey photo, ink closed away, return it divided by the brightest surface around each pixel
    (within DEFAULT_LIGHT_REACH of the frame's size): the light falls on the desk as on the paper, so the paper
    comes out near 255 on its dark side as on its bright side and the desk at its share of the paper's
    brightness."""
    reach = max(int(DEFAULT_LIGHT_REACH * max(small.shape)) | 1, 3)
    light = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach)))
    light = cv2.blur(light, (reach, reach)).astype(np.float32)
    return np.clip(small.astype(np.float32) * 255.0 / np.maximum(light, 1.0), 0, 255).astype(np.uint8)


def _candidates(flat: np.ndarray, small: np.ndarray) -> list[np.ndarray]:
    """Given the small grey photo flattened and as it is (ink closed away from both), return the outlines of
    bright regions that may be the page: Otsu's regions of each, then the regions Canny's edges close."""
    out = []
    for grey in (flat, small):
        _t, bright = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
        contours, _h = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        out += sorted(contours, key=cv2.contourArea, reverse=True)[:2]
    edges = cv2.dilate(cv2.Canny(small, 20, 60), np.ones((3, 3), np.uint8))
    contours, _h = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out += sorted(contours, key=cv2.contourArea, reverse=True)[:3]
    return out


def _four_corners(contour: np.ndarray) -> np.ndarray | None:
    """Given an outline, return its four convex corners (approxPolyDP; the minimum-area rectangle when the hull
    will not reduce to four), or None."""
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    for share in (0.01, 0.02, 0.03, 0.05):
        poly = cv2.approxPolyDP(hull, share * perimeter, True)
        if len(poly) == 4 and cv2.isContourConvex(poly):
            return poly.reshape(4, 2).astype(np.float64)
        if len(poly) < 4:
            break
    box = cv2.boxPoints(cv2.minAreaRect(hull))
    return box.astype(np.float64) if cv2.contourArea(box) > 0 else None


def _stands_out(small: np.ndarray, region: np.ndarray, quad: np.ndarray) -> bool:
    """Given the small grey photo (flattened), a bright region's outline and its four corners, return whether it
    is a page lying on a background: its size, its corners inside the frame, filling its quadrilateral, the
    surface around it darker than the paper inside it."""
    h, w = small.shape
    area = cv2.contourArea(quad.astype(np.float32))
    if not DEFAULT_MIN_AREA * w * h <= area <= DEFAULT_MAX_AREA * w * h:
        return False
    border = DEFAULT_BORDER * max(w, h)
    if (
        quad[:, 0].min() < border
        or quad[:, 1].min() < border
        or quad[:, 0].max() > w - 1 - border
        or quad[:, 1].max() > h - 1 - border
    ):
        return False
    if cv2.contourArea(region) < DEFAULT_MIN_FILL * area:
        return False
    inside = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inside, np.round(quad).astype(np.int32), 255)
    reach = max(int(0.03 * max(w, h)), 3)
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    outer = cv2.dilate(inside, kernel) & ~inside
    inner = inside & ~cv2.erode(inside, kernel)
    if not outer.any() or not inner.any():
        return False
    return float(np.median(small[outer > 0])) <= DEFAULT_MIN_CONTRAST * float(np.median(small[inner > 0]))


def side_profiles(
    grey: np.ndarray, a: np.ndarray, b: np.ndarray, ts: np.ndarray, reach: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Given a grey photo, a side from corner a to corner b (corners clockwise on screen), the shares along it to
    sample and how far across (pixels), return the sample points on the side, its direction, its normal (pointing
    out of the page), the offsets across it and the brightness profiles across it (one row per share, float32)."""
    along = (b - a) / max(np.linalg.norm(b - a), 1e-9)
    normal = np.array([along[1], -along[0]])
    offsets = np.arange(-reach, reach + 1.0)
    base = a[np.newaxis, :] + (b - a)[np.newaxis, :] * ts[:, np.newaxis]
    points = base[:, np.newaxis, :] + offsets[np.newaxis, :, np.newaxis] * normal[np.newaxis, np.newaxis, :]
    profile = cv2.remap(grey, points[..., 0].astype(np.float32), points[..., 1].astype(np.float32),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return base, along, normal, offsets, profile.astype(np.float32)


def _refine(grey: np.ndarray, quad: np.ndarray, reach: float) -> np.ndarray:
    """Given the full-size grey photo, the page's four corners (tl, tr, br, bl) and how far they may be off
    (pixels), return the corners where each side meets the next, each side fitted through the strongest
    brightness step across it (sub-pixel); a side that finds no step keeps its first line."""
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        base, along, normal, offsets, profile = side_profiles(grey, a, b, np.linspace(0.08, 0.92, 48), reach)
        # smoothed across the side only, where the step is measured (cheaper than blurring the whole photo)
        profile = cv2.GaussianBlur(profile.astype(np.float32), (7, 1), 1.2)
        step = profile[:, :-2] - profile[:, 2:]  # paper inside (bright) to desk outside (dark): positive
        found = []
        for k, row in enumerate(step):
            j = int(np.argmax(row))
            if row[j] < 8.0:  # no edge worth the name here (a grey level per pixel)
                continue
            left, right = (row[j - 1] if j > 0 else row[j]), (row[j + 1] if j + 1 < len(row) else row[j])
            denom = left - 2 * row[j] + right
            sub = 0.5 * (left - right) / denom if denom < 0 else 0.0
            found.append(base[k] + (offsets[j + 1] + sub) * normal)
        if len(found) >= 12:
            vx, vy, x0, y0 = cv2.fitLine(np.array(found, np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
            lines.append((np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)))
        else:
            lines.append((a.astype(np.float64), along))
    out = []
    for i in range(4):
        (p, u), (q, v) = lines[i - 1], lines[i]  # the side before corner i and the side after it
        matrix = np.array([[u[0], -v[0]], [u[1], -v[1]]])
        if abs(np.linalg.det(matrix)) < 1e-6:
            out.append(quad[i])
            continue
        s, _t = np.linalg.solve(matrix, q - p)
        corner = p + s * u
        out.append(corner if np.linalg.norm(corner - quad[i]) <= 2 * reach else quad[i])
    return np.array(out)


def page_to_quadrilateral(pixels: np.ndarray) -> np.ndarray | None:
    """Given a photo (BGR or grey), return the corners of the page lying in it (tl, tr, br, bl as a 4x2 float
    array in its pixels), or None when no page stands out against a background (an ordinary scan)."""
    grey = _grey(pixels)
    h, w = grey.shape
    scale = min(1.0, DEFAULT_FIND_SIDE / max(h, w))
    if min(h, w) * scale < 1:  # a strip of an image (3 x 20000): no page lies in it, and its copy would be empty
        return None
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    k = max(int(0.012 * max(small.shape)) | 1, 3)  # closes text and rules away, not the paper's corners
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    closed = cv2.GaussianBlur(closed, (5, 5), 0)
    flat = _flatten(closed)
    for contour in _candidates(flat, closed):
        quad = _four_corners(contour)
        if quad is None:
            continue
        quad = _order(quad)
        if _stands_out(flat, contour, quad):
            return _refine(grey, quad / scale, reach=2.0 / scale + 4.0)
    return None


def _darkest_lines(grey: np.ndarray, quad: np.ndarray, reach: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Given the full-size grey photo, four corners (tl, tr, br, bl) and how far each side may be off (pixels),
    return for each side the line (a point, a direction) fitted through the outermost dark valley across it
    (sub-pixel: DEFAULT_FRAME_CONTRAST darker than the paper outside it), and the share of the
    side's samples whose rule lies on that line (within 1.5 pixels); a side without rule keeps its first line
    and share 0."""
    out = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        ts = np.linspace(0.03, 0.97, 96)
        base, along, normal, offsets, profile = side_profiles(grey, a, b, ts, reach)
        # The outermost dark valley: the frame is the table's outermost ink, text inside it may be darker.
        outside = np.maximum.accumulate(profile[:, ::-1], axis=1)[:, ::-1]  # brightest from each point outwards
        outside = np.concatenate([outside[:, 1:], outside[:, -1:]], axis=1)
        valley = np.zeros(profile.shape, bool)
        valley[:, 1:-1] = (profile[:, 1:-1] <= profile[:, :-2]) & (profile[:, 1:-1] <= profile[:, 2:])
        valley &= outside - profile >= DEFAULT_FRAME_CONTRAST * np.maximum(outside, 1.0)
        found = []
        for k, row in enumerate(profile):
            hits = np.flatnonzero(valley[k])
            if not len(hits):
                continue
            j = int(hits[-1])
            left, right = (row[j - 1] if j > 0 else row[j]), (row[j + 1] if j + 1 < len(row) else row[j])
            denom = left - 2 * row[j] + right
            sub = 0.5 * (left - right) / denom if denom > 0 else 0.0
            found.append(base[k] + (offsets[j] + sub) * normal)
        if len(found) < 12:
            out.append((a.astype(np.float64), along, 0.0))
            continue
        pts = np.array(found, np.float32)
        vx, vy, x0, y0 = cv2.fitLine(pts, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        p, u = np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)
        off = np.abs((pts[:, 0] - p[0]) * u[1] - (pts[:, 1] - p[1]) * u[0])
        out.append((p, u, float((off <= 1.5).sum()) / len(ts)))
    return out


def _meet(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    """Given two lines (a point, a direction), return where they cross, or None when they run parallel."""
    (p, u), (q, v) = first, second
    matrix = np.array([[u[0], -v[0]], [u[1], -v[1]]])
    if abs(np.linalg.det(matrix)) < 1e-6:
        return None
    s, _t = np.linalg.solve(matrix, q - p)
    return p + s * u


def page_to_frame(pixels: np.ndarray) -> np.ndarray | None:
    """Given a page image (BGR or grey) in which no paper stands out against a background, return the corners
    of its table's outer frame (tl, tr, br, bl, a 4x2 float array in its pixels): the largest group of
    connected ink, reduced to four corners, each side a long dark rule along DEFAULT_FRAME_COVER of it; or None
    (no ruled frame enclosing DEFAULT_FRAME_MIN_AREA of the image)."""
    grey = _grey(pixels)
    h, w = grey.shape
    scale = min(1.0, DEFAULT_FRAME_SIDE / max(h, w))
    if min(h, w) * scale < 16:
        return None
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    ink = binarize(small, max(small.shape) / PAPERS[0][1])  # the dpi as if the image were an A4 page's long side
    n, labels, stats = components(ink)
    if n < 2:
        return None
    sizes = stats[1:, cv2.CC_STAT_WIDTH].astype(np.int64) * stats[1:, cv2.CC_STAT_HEIGHT]
    best = 1 + int(np.argmax(sizes))
    if sizes[best - 1] < DEFAULT_FRAME_MIN_AREA * small.size:
        return None
    contours, _h = cv2.findContours((labels == best).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    quad = _four_corners(max(contours, key=cv2.contourArea))
    if quad is None or cv2.contourArea(quad.astype(np.float32)) < DEFAULT_FRAME_MIN_AREA * small.size:
        return None
    quad = _order(quad) / scale
    lines = _darkest_lines(grey, quad, reach=3.0 / scale + 3.0)
    if min(share for _p, _u, share in lines) < DEFAULT_FRAME_COVER:
        return None
    corners = [_meet(lines[i - 1][:2], lines[i][:2]) for i in range(4)]
    if any(c is None or np.linalg.norm(c - quad[i]) > 8.0 / scale + 8.0 for i, c in enumerate(corners)):
        return None
    return np.array(corners)


def frame_is_askew(corners: np.ndarray) -> bool:
    """Given a table frame's corners (tl, tr, br, bl), return whether it needs more than deskew: a corner off
    square by over DEFAULT_FRAME_ANGLE (a keystone, a shear), or the frame turned over DEFAULT_MAX_SKEW."""
    for i in range(4):
        a, b = corners[i - 1] - corners[i], corners[(i + 1) % 4] - corners[i]
        cos = float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-9))
        if abs(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) - 90.0) > DEFAULT_FRAME_ANGLE:
            return True
    top = corners[1] - corners[0]
    return abs(np.degrees(np.arctan2(top[1], top[0]))) > DEFAULT_MAX_SKEW


def frame_to_page(
    pixels: np.ndarray, corners: np.ndarray, photo_dpi: float, dpi: float = DEFAULT_PHOTO_DPI
) -> tuple[np.ndarray, float] | None:
    """Given a photo filled by its page, its table frame's corners (tl, tr, br, bl) and its dpi, return the
    photo with the light evened out and the frame mapped onto an upright rectangle of its own proportions (the
    whole photo with it, at the photo's own scale, at most dpi; beyond the photo, paper) and the page's dpi, or
    None when the mapping would spread the photo over more than four times its area (no frame seen that
    slanted)."""
    tl, tr, br, bl = corners
    out_dpi = min(dpi, photo_dpi)
    scale = out_dpi / photo_dpi
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)) * scale
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)) * scale
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target.astype(np.float32)).astype(np.float64)
    h, w = pixels.shape[:2]
    photo = np.array([[[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]]], np.float64)
    spread = cv2.perspectiveTransform(photo, matrix)[0]
    x0, y0 = np.floor(spread.min(axis=0))
    x1, y1 = np.ceil(spread.max(axis=0))
    if not np.isfinite([x0, y0, x1, y1]).all() or (x1 - x0) * (y1 - y0) > 4.0 * w * h * scale * scale:
        return None
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    paper = DEFAULT_PAPER_LEVEL
    page = cv2.warpPerspective(
        even_light(pixels, photo_dpi),
        shift @ matrix,
        (int(x1 - x0), int(y1 - y0)),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(paper, paper, paper) if pixels.ndim == 3 else paper,
    )
    return page, float(out_dpi)


def _paper(width: float, height: float) -> tuple[float, float] | None:
    """Given a page's width and height (any unit), return the paper (inches, as oriented) whose proportions it
    has within DEFAULT_SNAP, or None."""
    ratio = max(width, height) / max(min(width, height), 1e-9)
    for short, long in PAPERS:
        if abs(ratio / (long / short) - 1.0) <= DEFAULT_SNAP:
            return (short, long) if height >= width else (long, short)
    return None


def quadrilateral_to_page(
    pixels: np.ndarray, corners: np.ndarray, dpi: float = DEFAULT_PHOTO_DPI
) -> tuple[np.ndarray, float]:
    """Given a photo and its page's corners (tl, tr, br, bl), return the upright page (perspective corrected,
    A4 or Letter proportions where the quadrilateral's are near them, else its own) and its dpi: the photo's own
    resolution of the page, at most dpi."""
    tl, tr, br, bl = corners
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    paper = _paper(width, height)
    if paper is None:  # its own proportions, the long side taken for an A4 page's
        long_in = PAPERS[0][1]
        paper = (width / max(width, height) * long_in, height / max(width, height) * long_in)
    own = max(width, height) / max(paper)
    out_dpi = min(dpi, own)
    size = (max(int(round(paper[0] * out_dpi)), 1), max(int(round(paper[1] * out_dpi)), 1))
    # The corners are the paper's outline; the page's pixel centres lie half a pixel inside it.
    target = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], dtype=np.float32) - 0.5
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    page = cv2.warpPerspective(
        pixels,
        matrix,
        size,
        flags=cv2.INTER_AREA if out_dpi < own else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return page, float(out_dpi)


def even_light(pixels: np.ndarray, dpi: float) -> np.ndarray:
    """Given an upright page (BGR or grey) and its dpi, return it with the light evened out: every channel divided
    by the paper's brightness around each pixel (the same factor for all, so hues stay), the paper at
    DEFAULT_PAPER_LEVEL, and a band of DEFAULT_EDGE_INCHES along the edges set to paper."""
    level = cv2.max(paper_level(_grey(pixels), dpi), 16)
    if pixels.ndim == 3:
        level = cv2.merge([level] * pixels.shape[2])
    out = cv2.divide(pixels, level, scale=DEFAULT_PAPER_LEVEL)  # saturating uint8 arithmetic
    edge = max(int(round(DEFAULT_EDGE_INCHES * dpi)), 1)
    paper = int(DEFAULT_PAPER_LEVEL)
    out[:edge], out[-edge:], out[:, :edge], out[:, -edge:] = paper, paper, paper, paper
    return out


def photo_to_page(image: PageImage, dpi: float = DEFAULT_PHOTO_DPI, grey: np.ndarray | None = None) -> PageImage:
    """Given a page image (and its pixels in grey, when the caller has them), return it as a scan would be when it
    is a photo of a page (a RectifiedPage: the page found against its background, perspective corrected at most
    dpi fine, the light evened out), else the very same image unchanged (an ordinary scan)."""
    height, width = image.pixels.shape[:2]
    grey = _grey(image.pixels) if grey is None else grey  # both finders look at the grey page: converted once
    corners = page_to_quadrilateral(grey)
    by = "paper"
    if corners is not None:
        page, page_dpi = quadrilateral_to_page(image.pixels, corners, dpi)
        page = even_light(page, page_dpi)
    else:  # the paper fills the photo (or it is a scan): the table's frame, when a photo's keystone shows in it
        corners, by = page_to_frame(grey), "frame"
        if corners is None or not frame_is_askew(corners):
            return image
        rectified = frame_to_page(image.pixels, corners, float(image.dpi), dpi)
        if rectified is None:
            return image
        page, page_dpi = rectified
    return RectifiedPage(
        page,
        page_dpi,
        image.number,
        corners=tuple((float(x), float(y)) for x, y in corners),
        by=by,
        photo_size=(width, height),
        photo_dpi=float(image.dpi),
    )


def picture_to_page(picture, dpi: float):
    """Given a page picture (an RGB PIL image, as the evidence renders it) and its dpi, return it as the OCR reads
    it and its dpi: rectified (RGB) when it is a photo of a page, else the same picture and dpi, so the boxes the
    OCR stored (points of the rectified page) fall on the same ink."""
    from PIL import Image

    page = photo_to_page(PageImage(cv2.cvtColor(np.asarray(picture.convert("RGB")), cv2.COLOR_RGB2BGR), dpi, 1))
    if not isinstance(page, RectifiedPage):
        return picture, dpi
    return Image.fromarray(cv2.cvtColor(page.pixels, cv2.COLOR_BGR2RGB)), page.dpi
