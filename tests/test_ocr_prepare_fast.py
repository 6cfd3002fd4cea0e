"""OCR preparation shortcuts (issue 13, speed): each one computes the very pixels the long way computed.

- ``grey_percentile`` (a histogram) is np.percentile to the bit, on page regions and crops of every shape;
- ``prepare`` turns, thresholds and searches for rules once on a page without seal red (one grey for rules and
  text), and gives the same Prepared as the two-greys way, on a tilted page with and without a red seal;
- ``rule_mask`` is each of line_masks' two masks.

Pages are drawn here with OpenCV (rules, ink blocks, a red ring), tilted like a scan.
"""

from __future__ import annotations

import pytest

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from extractor.ocr import prepare as prep  # noqa: E402

DPI = 150.0


def _page(seal: bool, tilt: float = 1.5, seed: int = 0) -> np.ndarray:
    """A BGR page: a ruled 6 x 3 table with dark 'text' blocks in its cells, paper grain, tilted by tilt degrees;
    with a red ring over a cell when seal."""
    rng = np.random.default_rng(seed)
    page = np.full((1200, 900, 3), 236, np.uint8)
    for row in range(7):
        cv2.line(page, (80, 150 + row * 120), (820, 150 + row * 120), (30, 30, 30), 2)
    for x in (80, 380, 620, 820):
        cv2.line(page, (x, 150), (x, 870), (30, 30, 30), 2)
    for row in range(6):
        for x0 in (100, 400, 640):
            for k in range(int(rng.integers(2, 8))):
                x = x0 + 22 * k
                cv2.rectangle(page, (x, 190 + row * 120), (x + 14, 212 + row * 120), (40, 40, 40), -1)
    if seal:
        cv2.circle(page, (700, 420), 70, (60, 60, 210), 6)
    grain = rng.integers(-6, 7, page.shape[:2])[..., np.newaxis]  # grey grain: no pixel turns seal red
    page = np.clip(page.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    matrix = cv2.getRotationMatrix2D((450, 600), tilt, 1.0)
    return cv2.warpAffine(page, matrix, (900, 1200), borderMode=cv2.BORDER_REPLICATE)


def _prepare_the_long_way(image: np.ndarray, dpi: float) -> prep.Prepared:
    """prepare as it was: both greys turned, thresholded and searched for rules, whether or not they differ."""
    grey, ruled, seals = prep.unseal_page(image, dpi, suppress=False)
    skew = prep.estimate_skew(prep.binarize(ruled, dpi), dpi)
    if abs(skew) >= prep.DEFAULT_MIN_SKEW:
        grey, ruled = prep.rotate(grey, skew), prep.rotate(ruled, skew)
        seals = prep.rotate_seals(seals, grey.shape, skew)
    if any(not s.red for s in seals):  # a red seal is recorded, lifted by its colour, never suppressed by shape
        grey = prep.suppress_grey_seals(grey, dpi, seals)
        ruled = grey.copy()
    ink = prep.binarize(grey, dpi)
    horizontal, vertical = prep.line_masks(prep.binarize(ruled, dpi), dpi)
    rules = cv2.dilate(horizontal | vertical, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))) > 0
    clean = grey.copy()
    clean[rules] = prep.paper_level(grey, dpi)[rules]
    return prep.Prepared(grey, np.where(rules, 0, ink).astype(np.uint8), horizontal, vertical, clean, dpi, skew,
                         seals)


@pytest.mark.parametrize("seal", [False, True])
@pytest.mark.parametrize("tilt", [0.0, 1.5])
def test_prepare_gives_the_pixels_of_the_long_way(seal, tilt):
    image = _page(seal, tilt)
    red = prep.red_mask(image, DPI)
    assert bool(red.any()) == seal  # the two branches: one grey for both, or a seal lifted two ways
    fast, slow = prep.prepare(image, DPI), _prepare_the_long_way(image, DPI)
    assert fast.skew == slow.skew
    assert (abs(fast.skew) >= prep.DEFAULT_MIN_SKEW) == (tilt != 0.0)
    for name in ("grey", "ink", "horizontal", "vertical", "clean"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
    assert fast.horizontal.any() and fast.vertical.any()


def test_prepare_of_a_grey_page_gives_the_pixels_of_the_long_way():
    grey = cv2.cvtColor(_page(False, 1.0, seed=3), cv2.COLOR_BGR2GRAY)
    fast, slow = prep.prepare(grey, DPI), _prepare_the_long_way(grey, DPI)
    for name in ("grey", "ink", "horizontal", "vertical", "clean"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name


def test_rule_mask_is_each_of_the_line_masks():
    ink = prep.binarize(cv2.cvtColor(_page(False, 0.0), cv2.COLOR_BGR2GRAY), DPI)
    horizontal, vertical = prep.line_masks(ink, DPI, length=0.08)
    assert np.array_equal(prep.rule_mask(ink, DPI, 0.08, True), horizontal)
    assert np.array_equal(prep.rule_mask(ink, DPI, 0.08, False), vertical)
    assert horizontal.any() and not np.array_equal(horizontal, vertical)


def test_grey_percentile_is_numpys_to_the_bit():
    rng = np.random.default_rng(7)
    page = cv2.cvtColor(_page(True, 1.5), cv2.COLOR_BGR2GRAY)
    images = [page, page[100:400, 37:611], page[::3, ::2]]
    for k in range(3000):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 120))
        low = int(rng.integers(0, 255))
        image = rng.integers(low, 256, (h, w)).astype(np.uint8)
        if k % 3 == 0:  # mostly paper, some ink: a cell
            image = np.where(rng.random((h, w)) < 0.85, np.uint8(231), image).astype(np.uint8)
        images.append(image if k % 4 else image[:, ::2] if w > 1 else image)
    for image in images:
        for q in (0, 15, 50, 75, 90, 99, 100):
            assert prep.grey_percentile(image, q) == float(np.percentile(image, q)), (image.shape, q)


def _red_mask_the_long_way(image: np.ndarray, dpi: float) -> np.ndarray:
    """red_mask as it was: numpy tests on the HSV channels."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    low, high = prep.DEFAULT_RED_HUE
    reddish = ((hue <= low) | (hue >= high)) & (val >= prep.DEFAULT_RED_MIN_VALUE)
    core = (reddish & (sat >= prep.DEFAULT_RED_MIN_SATURATION)).astype(np.uint8)
    low, high = prep.DEFAULT_RED_FRINGE_HUE
    fringe = ((hue <= low) | (hue >= high)) & (sat >= prep.DEFAULT_RED_FRINGE_SATURATION)
    k = max(round(prep.DEFAULT_RED_FRINGE * dpi), 1) * 2 + 1
    return (cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0) & fringe


def test_red_mask_gives_the_pixels_of_the_long_way():
    rng = np.random.default_rng(11)
    ok, jpeg = cv2.imencode(".jpg", _page(True), [cv2.IMWRITE_JPEG_QUALITY, 60])  # a pink fringe round the ring
    images = [_page(True), cv2.imdecode(jpeg, cv2.IMREAD_COLOR), _page(False),
              rng.integers(0, 256, (200, 300, 3)).astype(np.uint8)]
    for image in images:
        for dpi in (150.0, 300.0):
            assert np.array_equal(prep.red_mask(image, dpi), _red_mask_the_long_way(image, dpi))
    assert prep.red_mask(images[1], DPI).sum() > prep.red_mask(images[0], DPI).sum() > 0
    assert not prep.red_mask(images[2], DPI).any()
