"""A searchable scan's own text layer (the scanner's OCR, drawn invisibly over the page image) as a second
opinion on the cells that hold a number.

The layer's characters are placed on the page as the OCR read it (``layer_to_page``: turned upright and
deskewed like the image), gathered per cell by their centres, and compared with the image's reading
(``second_opinion``): where both read the same number the cell's confidence is raised to at least
DEFAULT_AGREED_CONFIDENCE; where they differ (another number, or a number on one side only) the image's reading is
kept and the cell carries a text_layer_mismatch doubt naming both readings. Text that is no number on either
side (labels) is left alone: the layer only ever judges scores.
"""

from __future__ import annotations

import math

from ..parsers.assemble import Piece
from ..scores import fmt, parse_number
from .grid import Box

DEFAULT_AGREED_CONFIDENCE = 0.9  # the image's and the layer's readings agree: at least this sure

LayerChars = list[tuple[str, Box]]  # (text, (x0, top, x1, bottom)) in points of the page as displayed


def layer_to_page(chars: LayerChars, size: tuple[int, int], dpi: float, degrees: int, skew: float) -> LayerChars:
    """Given a page's layer characters (points), the page image's size (width, height in pixels) before it was
    turned, its dpi, the quarter turn (degrees clockwise) and the skew (degrees) the OCR gave it, return the
    characters where they lie on the page the OCR read, in points (boxes kept their size, axis-aligned)."""
    width, height = size
    turned = (height, width) if degrees in (90, 270) else (width, height)
    scale = dpi / 72.0
    # The deskew turns the page about its centre by `skew` degrees (cv2.getRotationMatrix2D's convention).
    angle = math.radians(skew)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = turned[0] / 2, turned[1] / 2
    out = []
    for text, (x0, top, x1, bottom) in chars:
        x, y = (x0 + x1) / 2 * scale, (top + bottom) / 2 * scale
        if degrees == 90:
            x, y = height - y, x
        elif degrees == 180:
            x, y = width - x, height - y
        elif degrees == 270:
            x, y = y, width - x
        dx, dy = x - cx, y - cy
        x, y = cos * dx + sin * dy + cx, -sin * dx + cos * dy + cy
        w, h = (x1 - x0) / 2, (bottom - top) / 2
        if degrees in (90, 270):
            w, h = h, w
        x, y = x / scale, y / scale
        out.append((text, (x - w, y - h, x + w, y + h)))
    return out


def cell_text(chars: LayerChars, box: Box) -> str:
    """Given placed layer characters and a cell's box (points), return the layer's text of the cell: the characters
    whose centre lies inside it, top to bottom and left to right, without spaces."""
    inside = [(t, b) for t, b in chars if box[0] <= (b[0] + b[2]) / 2 <= box[2] and box[1] <= (b[1] + b[3]) / 2 <= box[3]]
    lines: list[list[tuple[str, Box]]] = []
    for t, b in sorted(inside, key=lambda c: (c[1][1] + c[1][3]) / 2):
        middle = (b[1] + b[3]) / 2
        if lines and lines[-1][0][1][1] <= middle <= lines[-1][0][1][3]:
            lines[-1].append((t, b))
        else:
            lines.append([(t, b)])
    return "".join(t for line in lines for t, _b in sorted(line, key=lambda c: c[1][0])).replace(" ", "")


def second_opinion(piece: Piece, confidence: float | None, chars: LayerChars) -> float | None:
    """Given a cell as the image read it, its confidence and the page's placed layer characters, return its
    confidence after the layer's opinion; a disagreement sets the piece's doubt (see the module docstring)."""
    layer = cell_text(chars, piece.bbox)
    if not layer:
        return confidence
    ocr, theirs = parse_number(piece.text), parse_number(layer)
    if ocr is None and theirs is None:
        return confidence
    if ocr is not None and ocr == theirs:
        return max(confidence or 0.0, DEFAULT_AGREED_CONFIDENCE)
    image = fmt(ocr) if ocr is not None else (piece.text.strip() or "空白")
    piece.doubt = (f"图像读作 {image}，扫描件自带的文字层为 {layer}：以图像为准 "
                   f"(the page image reads {image}, the scan's text layer {layer}: the image's reading is kept)")
    piece.doubt_kind = "text_layer_mismatch"
    return confidence
