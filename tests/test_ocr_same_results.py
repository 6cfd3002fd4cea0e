"""OCR speed-ups that must give the very results of the long way (issue 13, item 5):

- ``prepare.components``: 16-bit labels, the same count, labels and stats as cv2.connectedComponentsWithStats,
  and a mask of more components than 16 bits hold falls back to 32-bit labels with the same result;
- ``text._percentile`` is np.percentile to the bit on the short lists ink_lines gives it, ``read.mean`` np.mean;
- ``prepare.suppress_grey_seals`` looks for the rules only around each seal, and suppresses the seal as the
  whole page's rules did;
- ``text.ink_lines`` with each line's box kept as pieces join it gives the lines the old way gave (every line's
  box recomputed from its pieces for every small piece), on drawn cells with dots, strokes, trails of dots (each
  reaching the line only once the one before it joined) and stacked parts.
"""

from __future__ import annotations

import math
import random

import pytest

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from extractor.ocr import prepare as prep  # noqa: E402
from extractor.ocr import text  # noqa: E402

DPI = 150.0


def _cells_page(seed: int = 0) -> np.ndarray:
    """A grey page of 'text': character-sized ink blocks in lines, with dots, short strokes over them and lone
    small pieces (what ink_lines joins into lines), paper grain."""
    rng = np.random.default_rng(seed)
    page = np.full((700, 900), 235, np.uint8)
    for row in range(8):
        y = 40 + row * 80
        x = 30
        for _k in range(int(rng.integers(3, 14))):
            w, h = int(rng.integers(8, 20)), int(rng.integers(14, 24))
            cv2.rectangle(page, (x, y), (x + w, y + h), 30, -1)
            if rng.random() < 0.4:  # a dot or a short stroke above it (the top of 主, the dot of i)
                cv2.rectangle(page, (x + 2, y - 7), (x + 5, y - 4), 40, -1)
            if rng.random() < 0.2:  # a small piece beside the line
                cv2.rectangle(page, (x + w + 2, y + 8), (x + w + 4, y + 11), 50, -1)
            x += w + int(rng.integers(3, 40))
        for _k in range(int(rng.integers(0, 6))):  # a trail of dots (……): each reaches the line only once the
            cv2.rectangle(page, (x, y + 14), (x + 3, y + 17), 35, -1)  # dots before it have widened it
            x += int(rng.integers(10, 18))
        if rng.random() < 0.5:  # a low character in two stacked parts on the next line
            cv2.rectangle(page, (600, y + 30), (612, y + 37), 30, -1)
            cv2.rectangle(page, (601, y + 40), (611, y + 47), 30, -1)
    grain = rng.integers(-5, 6, page.shape)
    return np.clip(page.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def _prepared(grey: np.ndarray) -> prep.Prepared:
    ink = prep.binarize(grey, DPI)
    empty = np.zeros_like(ink)
    return prep.Prepared(grey, ink, empty, empty, grey, DPI, 0.0)


def test_components_are_opencvs_components_with_16_bit_labels():
    page = _cells_page(1)
    for mask in (prep.binarize(page, DPI), *prep.line_masks(prep.binarize(page, DPI), DPI)):
        n, labels, stats = prep.components(mask)
        n0, labels0, stats0, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        assert labels.dtype == np.uint16
        assert n == n0 and np.array_equal(labels, labels0) and np.array_equal(stats, stats0)
    crowded = np.zeros((600, 600), np.uint8)
    crowded[::2, ::2] = 255  # 90,000 one-pixel components: more than 16-bit labels hold
    n, labels, stats = prep.components(crowded)
    n0, labels0, stats0, _ = cv2.connectedComponentsWithStats(crowded, connectivity=8)
    assert n == n0 == 90001 and labels.dtype == np.int32
    assert np.array_equal(labels, labels0) and np.array_equal(stats, stats0)


def test_percentile_is_numpys_to_the_bit():
    rng = random.Random(3)
    for _ in range(20000):
        values = [rng.randint(0, rng.choice((4, 40, 300))) for _ in range(rng.randint(1, 50))]
        for q in (75, 50, 10, 99.9):
            assert text._percentile(values, q) == float(np.percentile(values, q)), (values, q)


def _ink_lines_the_long_way(page: prep.Prepared, ink: np.ndarray, origin: tuple[int, int]) -> list:
    """ink_lines as it was: the small pieces joined by _nearest_line over the lines' pieces (boxes recomputed)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return []
    ox, oy = origin
    grey = page.grey[oy:oy + ink.shape[0], ox:ox + ink.shape[1]]
    on = labels > 0
    paper = prep.grey_percentile(grey, 75)
    darkest = np.full(n, 255.0)
    np.minimum.at(darkest, labels[on], grey[on].astype(np.float64))
    min_size = max(int(text.DEFAULT_MIN_INK_HEIGHT * page.dpi), 4)
    pieces = [(int(x), int(y), int(x + bw), int(y + bh)) for i, (x, y, bw, bh, area) in enumerate(stats) if i
              and area >= text.DEFAULT_MIN_INK_AREA and darkest[i] <= paper * (1 - text.DEFAULT_MIN_INK_CONTRAST)]
    tall = [b[3] - b[1] for b in pieces if b[3] - b[1] >= min_size]
    typical = float(np.percentile(tall, 75)) if tall else float(min_size)
    seed_height = max(0.5 * typical, min_size)

    def split(line):
        height = max(b[3] for b in line) - min(b[1] for b in line)
        parts, right = [], None
        for b in sorted(line, key=lambda b: b[0]):
            if right is None or b[0] - right > text.DEFAULT_WORD_GAP * height:
                parts.append([])
            parts[-1].append(b)
            right = max(x[2] for x in parts[-1])
        return parts

    lines = [line for group in text._band_lines([b for b in pieces if b[3] - b[1] >= seed_height])
             for line in split(group)]
    others = [b for b in pieces if b[3] - b[1] < seed_height]
    joined = True
    while joined and others:
        joined, rest = False, []
        for b in others:
            home = text._nearest_line(lines, b)
            if home is None:
                rest.append(b)
            else:
                home.append(b)
                joined = True
        others = rest
    for group in text._band_lines(others):
        for line in split(group):
            if max(max(b[2] for b in line) - min(b[0] for b in line),
                   max(b[3] for b in line) - min(b[1] for b in line)) >= min_size:
                lines.append(line)
    out = []
    for line in text._stacked(lines, typical):
        lx0, ly0 = min(b[0] for b in line) + ox, min(b[1] for b in line) + oy
        lx1, ly1 = max(b[2] for b in line) + ox, max(b[3] for b in line) + oy
        m = text.DEFAULT_INK_MARGIN * (ly1 - ly0)
        out.append((lx0 - m, ly0 - m, lx1 + m, ly1 + m))
    return sorted(out, key=lambda b: (b[1], b[0]))


def test_ink_lines_are_the_lines_of_the_long_way():
    compared = 0
    for seed in range(4):
        page = _prepared(_cells_page(seed))
        h, w = page.ink.shape
        regions = [(0, 0, w, h)] + [(x, y, x + 300, y + 160) for x in (0, 280, 600) for y in (0, 200, 420)]
        for x0, y0, x1, y1 in regions:
            ink = page.ink[y0:y1, x0:x1]
            got = text.ink_lines(page, ink, (x0, y0))
            assert got == _ink_lines_the_long_way(page, ink, (x0, y0)), (seed, x0, y0)
            compared += len(got)
    assert compared > 100


def test_nearest_line_is_the_first_of_the_nearest():
    rng = random.Random(5)
    for _ in range(3000):
        lines = []
        for _k in range(rng.randint(1, 5)):
            y, x = rng.randint(0, 80), rng.randint(0, 200)
            lines.append([(x + 12 * j, y, x + 12 * j + 10, y + rng.randint(8, 20)) for j in range(rng.randint(1, 4))])
        x, y = rng.randint(0, 260), rng.randint(0, 100)
        piece = (x, y, x + rng.randint(1, 4), y + rng.randint(1, 4))
        cx, cy = (piece[0] + piece[2]) / 2, (piece[1] + piece[3]) / 2
        near = []
        for line in lines:
            x0, y0 = min(p[0] for p in line), min(p[1] for p in line)
            x1, y1 = max(p[2] for p in line), max(p[3] for p in line)
            across, along = abs(cy - (y0 + y1) / 2), max(x0 - cx, cx - x1, 0)
            if across <= text.DEFAULT_JOIN_ACROSS * (y1 - y0) and along <= text.DEFAULT_JOIN_ALONG * (y1 - y0):
                near.append((across + along, line))
        best = min((d for d, _line in near), default=math.inf)
        want = next((line for d, line in near if d == best), None)
        assert text._nearest_line(lines, piece) is want


def _grey_seal_page(seed: int = 0) -> np.ndarray:
    """A grey page: a ruled table, text blocks, and a mid-grey seal ring (with a star and arc marks) over a cell."""
    rng = np.random.default_rng(seed)
    page = np.full((1100, 850), 238, np.uint8)
    for row in range(8):
        cv2.line(page, (60, 100 + row * 110), (800, 100 + row * 110), 35, 2)
    for x in (60, 360, 600, 800):
        cv2.line(page, (x, 100), (x, 870), 35, 2)
    for row in range(7):
        for x0 in (80, 380, 620):
            for k in range(int(rng.integers(2, 7))):
                cv2.rectangle(page, (x0 + 20 * k, 140 + row * 110), (x0 + 20 * k + 13, 160 + row * 110), 40, -1)
    cv2.line(page, (300, 400), (520, 400), 35, 2)  # a rule that ends under the seal, most of it outside
    cv2.line(page, (420, 450), (510, 450), 35, 2)  # a stroke shorter than a rule, crossing the ring
    ring = np.full_like(page, 255)
    cv2.circle(ring, (610, 400), 120, 120, 7)
    cv2.circle(ring, (610, 400), 30, 120, -1)
    for k in range(10):  # arc text
        a = math.pi * (0.15 + 0.07 * k)
        cv2.rectangle(ring, (int(610 - 90 * math.cos(a)), int(400 - 90 * math.sin(a))),
                      (int(610 - 90 * math.cos(a)) + 10, int(400 - 90 * math.sin(a)) + 10), 130, -1)
    page = (page.astype(np.float32) * ring / 255).astype(np.uint8)  # the seal multiplied over the print
    grain = rng.integers(-5, 6, page.shape)
    return np.clip(page.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def test_grey_seals_are_suppressed_as_with_the_whole_pages_rules():
    """suppress_grey_seals looks for the rules around each seal only: the very page the whole page's rules gave,
    for a seal in the middle, at the page's edges and corners, and two overlapping."""
    from extractor.ocr.seal import Seal, suppress_seals

    dpi = 150.0
    for seed in range(2):
        grey = _grey_seal_page(seed)
        h, w = grey.shape
        horizontal, vertical = prep.line_masks(prep.binarize(grey, dpi), dpi, length=prep.DEFAULT_SEAL_RULE)
        rules = cv2.dilate(horizontal | vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
        paper = prep.paper_level(grey, dpi)
        for seals in ([Seal(610.0, 400.0, 120.0, 0.45)], [Seal(15.0, 20.0, 120.0, 0.45)],
                      [Seal(w - 5.0, h - 30.0, 120.0, 0.45)], [Seal(400.0, 5.0, 120.0, 0.45)],
                      [Seal(610.0, 400.0, 120.0, 0.45), Seal(500.0, 480.0, 120.0, 0.45)]):
            want = suppress_seals(grey, paper, seals, dpi, rules)
            if seals[0].x == 610.0:  # over the ring: the seal is lifted, the rules through it kept
                assert not np.array_equal(want, grey) and (want[rules > 0] == grey[rules > 0]).all()
            assert np.array_equal(prep.suppress_grey_seals(grey, dpi, seals), want), seals


def test_mean_is_numpys_to_the_bit():
    """read.mean (a crop's confidence, the mean of its characters') is np.mean to the bit, on confidences and on
    values of mixed magnitudes, where the order of the additions shows."""
    from extractor.ocr.read import mean

    rng = random.Random(7)
    for _ in range(20000):
        n = rng.randint(1, 300)
        confidences = [float(np.float32(rng.random())) for _ in range(n)]
        mixed = [rng.choice((1.0, 1e-16, 0.3, 1e16)) * rng.random() for _ in range(n)]
        assert mean(confidences) == float(np.mean(confidences))
        assert mean(mixed) == float(np.mean(mixed)), mixed
