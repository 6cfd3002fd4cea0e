"""Hostile inputs against the code added on 2 December: the pdfium fast path (parsers/pdf_objects.py,
pdf_spaces.py), phone-photo rectification (ocr/photo.py) and photos of one form read together (pages_group.py,
its part of ingest.py). One regression test per defect found."""

from __future__ import annotations

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
np = pytest.importorskip("numpy")

from extractor.ocr.photo import photo_to_page  # noqa: E402
from extractor.ocr.sources import PageImage  # noqa: E402


@pytest.mark.parametrize("shape", [(3, 20000), (20000, 2), (3, 20000, 3)])
def test_very_thin_image_is_no_photo_and_kept(shape):
    """A strip of an image (3 x 20000 pixels) shrunk for the page search would be 0 pixels high: cv2.resize
    raised and the batch said 'could not read the file (error: OpenCV ...); please report it'."""
    pixels = np.full(shape, 200, np.uint8)
    image = PageImage(pixels, 200.0, 1)
    assert photo_to_page(image) is image
