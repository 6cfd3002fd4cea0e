"""OCR: scanned or photographed forms (page images) -> the same Document model the PDF parser builds.

Needs the optional extra ``selfeval[ocr]`` (rapidocr-onnxruntime, whose wheel carries its ONNX models: nothing is
downloaded at run time; OpenCV; numpy). Every module here imports OpenCV and numpy at the top, so the scan parser
(parsers/scan.py) imports this package lazily and turns a missing extra into a ParseError.

Modules, in pipeline order (``pipeline.read_page``, one page image at a time):

- ``sources``  - the pages: an image file's frames, a scanned PDF's pages rendered with pdfium, one at a time;
- ``orient``   - a page turned 90, 180 or 270 degrees is turned upright (its longest text lines read each way
  up: the way the recogniser reads surest);
- ``prepare``  - red seal lifted through the red channel (black ink under it stays black), the skew of the
  long rules turned back, adaptive binarisation, rule masks by morphology;
- ``grid``     - ruled tables: cells bounded by the rules actually drawn, merged cells as spans;
- ``text``     - text lines from the rule-free ink, cell by cell and outside the tables (no detector pass);
- ``read``     - recognition of every crop (batched); numbers read from several crops that vote, look-alike
  letters in a number decoded again as digits with the digit's own confidence;
- ``layer``    - a searchable scan's own text layer as a second opinion on every cell holding a number;
- ``pipeline`` - cells become parsers/assemble.py's Pieces and Fragments, so tables continued over pages,
  split rows and merged cells over page breaks are joined by the PDF parser's rules.

Coordinates: Cell.bbox is in PDF points of the upright, deskewed page: for a PDF page, page points; for an image
file, pixels x 72 / dpi. Cell.rotation is the quarter turn (degrees clockwise) the page image was given to read
it upright: a crop of the original page must be turned by it before bbox applies. Cell.confidence = the lowest
confidence of the texts in the cell (None for an empty cell). Document.lines = the text outside tables.
"""

from __future__ import annotations

# The names the evidence pictures use to straighten a page as the OCR did.
from .prepare import DEFAULT_MIN_SKEW, binarize, estimate_dpi, estimate_skew, rotate, unseal

__all__ = ["DEFAULT_MIN_SKEW", "binarize", "estimate_dpi", "estimate_skew", "rotate", "unseal"]
