"""One page image at a time -> table fragments -> the Document (tables joined across pages by
parsers/assemble.py, as the PDF parser joins them)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import cv2

from ..model import Document
from ..parsers.assemble import Fragment, Piece, fragments_to_groups, group_to_table
from .engine import Engine, load_engine
from .grid import Box, Text, ink_to_grids
from .layer import LayerChars, layer_to_page, second_opinion
from .orient import page_to_turn, turn
from .photo import RectifiedPage, photo_to_page
from .prepare import prepare
from .read import _is_number, read_texts
from .seal import seal_confidence
from .sources import PageImage
from .text import _group_lines, _open_end, ink_to_texts, texts_to_string

DEFAULT_MAX_WORK_DPI = 300.0  # a finer page is scaled down to this first
DEFAULT_MIN_TEXT_SCORE = 0.3  # a recognised text below this confidence that is no number is dropped (noise)
DEFAULT_PAGES_AT_ONCE = 2  # pages read at once: one page's single-threaded steps overlap the other's recognition


@dataclass
class PageResult:
    fragments: list[Fragment]
    lines: list[str]
    confidence: dict[tuple[int, Box], float]
    seconds: float
    skew: float
    turn: int = 0  # quarter turns clockwise (degrees) given to the page image to read it upright
    mismatches: int = 0  # cells where the scan's text layer reads another number than the image
    number: int = 0  # the page's 1-based number
    rectified: str | None = None  # a photo straightened by its "paper" edge or the table's "frame"; None: a scan


def read_page(engine: Engine, image: PageImage, layer: LayerChars | None = None) -> PageResult:
    """Given a page image (and its scan's text layer, points of the page as displayed), return its table
    fragments (in points of the upright page), free lines and cell confidences."""
    started = time.perf_counter()
    # The page in grey, converted once: the photo finders, the orientation and prepare all look at it.
    grey = _grey(image.pixels)
    photo = photo_to_page(image, grey=grey)  # a phone photo of a page becomes an upright, evenly lit page; a scan
    if photo is not image:  # is kept
        image, grey = photo, _grey(photo.pixels)
    rectified = image.by if isinstance(image, RectifiedPage) else None
    if image.dpi > DEFAULT_MAX_WORK_DPI:  # a 600 dpi scan holds nothing more to read, only more to compute
        scale = DEFAULT_MAX_WORK_DPI / image.dpi
        pixels = cv2.resize(image.pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        image = PageImage(pixels, DEFAULT_MAX_WORK_DPI, image.number)
        grey = _grey(pixels)
    size = (image.pixels.shape[1], image.pixels.shape[0])
    degrees = page_to_turn(engine, grey, image.dpi)
    page = prepare(turn(image.pixels, degrees), image.dpi, grey=turn(grey, degrees))
    placed = layer_to_page(layer, size, page.dpi, degrees, page.skew) if layer else None
    grids = ink_to_grids(page)
    free = ink_to_texts(page, grids)
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
    mismatches = 0
    for g in grids:
        x0, y0, x1, y1 = (float(v) * pt for v in g.box)
        fragment = Fragment(page=image.number, page_height=page_height, bbox=(x0, y0, x1, y1),
                            x_edges=[float(x) * pt for x in g.x_edges], n_rows=len(g.y_edges) - 1)
        for c in g.cells:
            bbox = tuple(round(float(v) * pt, 2) for v in c.box)
            fragment.pieces.append(Piece(text=texts_to_string(c.texts), row=c.row, col=c.col, rowspan=c.rowspan,
                                         colspan=c.colspan, page=image.number, bbox=bbox,
                                         open_end=_open_end(c.texts, c.box)))
            conf = min(t.confidence for t in c.texts) if c.texts else None
            conf = seal_confidence(conf, c.box, page.seals, [t.box for t in c.texts])  # under a seal: no guess
            if placed is not None:
                conf = second_opinion(fragment.pieces[-1], conf, placed)
                mismatches += fragment.pieces[-1].doubt_kind == "text_layer_mismatch"
            if conf is not None:
                confidence[(image.number, bbox)] = conf
        fragment.pieces.sort(key=lambda p: (p.row, p.col))
        fragments.append(fragment)
    free_texts = [t for t in texts[len(texts) - len(free):] if t.text and t.confidence >= DEFAULT_MIN_TEXT_SCORE]
    lines = [texts_to_string([t for t in free_texts if t.box in line]) for line in
             _group_lines([t.box for t in free_texts])]
    return PageResult(fragments, [x for x in lines if x], confidence, time.perf_counter() - started, page.skew,
                      degrees, mismatches, image.number, rectified)


def _grey(pixels):
    """Given page pixels (BGR or grey), return them grey (cv2.COLOR_BGR2GRAY; a grey page as it is)."""
    return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)


def pages_to_results(pages: Iterable[PageImage], engine: Engine | None = None,
                     layer: dict[int, LayerChars] | None = None) -> Iterator[PageResult]:
    """Given an iterable of PageImages (and a searchable scan's text layer per 1-based page), yield their
    PageResults in the pages' order.

    Up to DEFAULT_PAGES_AT_ONCE pages are read at once, each in a thread of its own (read_page: its turn, preparing
    and grid are single-threaded, and run while the other page's crops are recognised); the next page is taken
    from the iterable (in this thread: pdfium is not thread-safe) once one of them is read and released, the
    oldest or not (a page read sooner than the one before it frees its core for the next, instead of leaving it
    idle until the older page is done), so memory holds that many pages whatever the page count; a page read
    out of turn waits as its PageResult until the pages before it are yielded. An error of the iterable or of a
    page ends the reading (a page's error when its turn comes); the pages still being read are not waited for."""
    engine = engine or load_engine()
    with ThreadPoolExecutor(DEFAULT_PAGES_AT_ONCE, thread_name_prefix="selfeval-page") as pool:
        reading: deque[Future] = deque()  # in the pages' order, read or being read
        try:
            for image in pages:
                reading.append(pool.submit(read_page, engine, image, (layer or {}).get(image.number)))
                del image  # the thread holds it while it reads it, and no longer
                while sum(not f.done() for f in reading) >= DEFAULT_PAGES_AT_ONCE:
                    wait([f for f in reading if not f.done()], return_when=FIRST_COMPLETED)
                while reading and reading[0].done():
                    yield reading.popleft().result()
            while reading:
                yield reading.popleft().result()
        finally:
            for future in reading:
                future.cancel()


def pages_to_document(pages: Iterable[PageImage], kind: str, engine: Engine | None = None, stats: list | None = None,
                      layer: dict[int, LayerChars] | None = None) -> Document:
    """Given an iterable of PageImages (and a searchable scan's text layer per 1-based page), return their Document:
    tables joined across pages as the PDF parser joins them, cells with page, bbox (points of the upright page),
    rotation (the page's turn) and confidence; lines outside tables in reading order. The pages are read by
    pages_to_results. When stats is a list, each page's PageResult is appended to it (seconds, skew, turn) for
    benchmarks."""
    fragments: list[Fragment] = []
    lines: list[str] = []
    confidence: dict[tuple[int, Box], float] = {}
    n_pages = 0
    turns: dict[int, int] = {}
    rectified: dict[int, str] = {}
    for result in pages_to_results(pages, engine, layer):
        n_pages += 1
        turns[result.number] = result.turn
        if result.rectified:
            rectified[result.number] = result.rectified
        fragments.extend(result.fragments)
        lines.extend(result.lines)
        confidence.update(result.confidence)
        if stats is not None:
            stats.append(result)
    return fragments_to_document(fragments, lines, confidence, turns, kind, n_pages, rectified)


def fragments_to_document(fragments: list[Fragment], lines: list[str], confidence: dict[tuple[int, Box], float],
                          turns: dict[int, int], kind: str, n_pages: int,
                          rectified: dict[int, str] | None = None) -> Document:
    """Given the pages' table fragments, free lines, cell confidences by (page, bbox), turns by page (and how each
    photographed page was straightened), all read, return their Document: tables joined across pages
    (parsers/assemble.py), each cell with its page's rotation, rectification and its confidence."""
    # What a cell read on its own page, and the first row of each page's first table: a row split by the
    # page break is joined into the cell above it, which then takes the lower confidence of the two.
    own = {(p.page, p.bbox): p.text for f in fragments for p in f.pieces}
    tops: dict[int, list[Piece]] = {}
    for f in fragments:
        tops.setdefault(f.page, [p for p in f.pieces if p.row == 0])
    tables = [group_to_table(group, i) for i, group in enumerate(fragments_to_groups(fragments))]
    for table in tables:
        for cell in table.cells:
            cell.rotation = turns.get(cell.page or 0, 0)
            cell.rectified = (rectified or {}).get(cell.page or 0)
            cell.confidence = confidence.get((cell.page, cell.bbox)) if cell.text else None
            if cell.text and cell.text != own.get((cell.page, cell.bbox), cell.text):
                below = [confidence[(p.page, p.bbox)] for p in tops.get((cell.page or 0) + 1, [])
                         if (p.page, p.bbox) in confidence and p.bbox[0] < cell.bbox[2] and p.bbox[2] > cell.bbox[0]]
                cell.confidence = min([c for c in [cell.confidence, *below] if c is not None], default=None)
    return Document(tables=tables, lines=lines, kind=kind, pages=n_pages)
