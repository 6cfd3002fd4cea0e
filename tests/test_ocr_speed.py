"""OCR speed and memory (issue 13, part 5): no full-page detector pass, voting crops only for uncertain readings,
a second page read without the memory growing, and the values still read right.

The page is generated here: a small 150 dpi scan-like image (grey paper, a cover line, a ruled table of labels and
score digits, one digit blurred), drawn with the Noto CJK font. The real engine runs throughout; its sessions are
wrapped only to count what they are asked to do.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

pytest.importorskip("extractor.ocr", reason="the OCR extra is not installed: pip install 'selfeval[ocr]'")
cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

from extractor.ocr import pipeline, read  # noqa: E402
from extractor.ocr.engine import load_engine, session_options  # noqa: E402
from extractor.ocr.sources import PageImage  # noqa: E402

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
DPI = 150
COVER = "评价机构名称：测试学校"
ROWS = [("机构信用", "8", "7"), ("管理制度", "5", "4"), ("岗位职责", "9", "6")]  # label, self, inspector
BLURRED = (2, 2)  # (row, column) of the digit drawn blurred: its first reading is less sure

pytestmark = pytest.mark.skipif(not Path(FONT).exists(), reason="the Noto CJK font is not installed")


def _page(seed: int = 0) -> np.ndarray:
    """A 150 dpi page (BGR): the cover line above a ruled 4-row table (header + ROWS), light paper grain."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    image = Image.new("RGB", (900, 560), (236, 234, 228))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 22)
    draw.text((60, 40), COVER, fill=(25, 25, 25), font=font)
    xs, ys = [60, 420, 640, 860], [110, 180, 260, 340, 420]
    for y in ys:
        draw.line((xs[0], y, xs[-1], y), fill=(30, 30, 30), width=2)
    for x in xs:
        draw.line((x, ys[0], x, ys[-1]), fill=(30, 30, 30), width=2)
    for c, head in enumerate(("评估内容", "自评", "督查")):
        draw.text((xs[c] + 20, ys[0] + 22), head, fill=(25, 25, 25), font=font)
    for r, row in enumerate(ROWS, start=1):
        for c, text in enumerate(row):
            if (r, c) == BLURRED:
                continue
            draw.text((xs[c] + 20, ys[r] + 25), text, fill=(25, 25, 25), font=font)
    r, c = BLURRED
    digit = Image.new("RGB", (60, 60), (236, 234, 228))
    ImageDraw.Draw(digit).text((15, 10), ROWS[r - 1][c], fill=(25, 25, 25), font=font)
    image.paste(digit.filter(ImageFilter.GaussianBlur(1.6)), (xs[c] + 5, ys[r] + 15))
    pixels = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR).astype(np.int16)
    pixels += np.random.default_rng(seed).integers(-6, 7, pixels.shape[:2], dtype=np.int16)[..., None]
    return np.clip(pixels, 0, 255).astype(np.uint8)


class Counting:
    """Wraps a real onnxruntime session holder of rapidocr: every call runs the real model and is recorded."""

    def __init__(self, holder):
        self.holder = holder
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, batch):
        self.shapes.append(tuple(batch.shape))
        return self.holder(batch)


@pytest.fixture(scope="module")
def engine():
    return load_engine()


@pytest.fixture
def counted(engine, monkeypatch):
    """The engine with its detector's and recogniser's sessions counted (the real models still run)."""
    detector = Counting(engine.detector.infer)  # loads the real detector: a call to it would be seen
    recogniser = Counting(engine.recognizer.session)
    monkeypatch.setattr(engine.detector, "infer", detector)
    monkeypatch.setattr(engine.recognizer, "session", recogniser)
    return engine, detector, recogniser


def _cells(result) -> dict[tuple[int, int], str]:
    return {(p.row, p.col): p.text for f in result.fragments for p in f.pieces}


def test_a_page_is_read_without_a_detector_call_and_its_values_right(counted):
    engine, detector, recogniser = counted
    result = pipeline.read_page(engine, PageImage(_page(), DPI, 1))
    assert detector.shapes == []  # no full-page (nor any) detection pass
    assert recogniser.shapes  # text lines only, each alone, at its own width (at least the minimum), 32 or 48 high
    assert all(shape[0] == 1 and shape[3] >= read.DEFAULT_MIN_WIDTH for shape in recogniser.shapes)
    assert {shape[2] for shape in recogniser.shapes} <= {read.FIRST_PASS_HEIGHT, read.DEFAULT_REC_HEIGHT}
    assert any(shape[3] > read.DEFAULT_MIN_WIDTH for shape in recogniser.shapes)  # a long line is not cut short
    cells = _cells(result)
    for r, (label, own, inspector) in enumerate(ROWS, start=1):
        assert (cells[(r, 0)], cells[(r, 1)], cells[(r, 2)]) == (label, own, inspector)
    assert result.lines == [COVER]  # the cover line outside the table is found from its ink


def test_voting_crops_run_only_for_uncertain_first_readings(counted, monkeypatch):
    engine, _detector, _recogniser = counted
    calls: list[int] = []
    decisions: list[tuple[str, bool]] = []
    real_recognise, real_uncertain = read.recognise, read.uncertain

    def recognise(engine_, images, lowest=None, height=read.DEFAULT_REC_HEIGHT):
        calls.append((len(images), height))
        return real_recognise(engine_, images, lowest, height)

    def uncertain(text, lowest):
        decisions.append((text, real_uncertain(text, lowest)))
        return decisions[-1][1]

    monkeypatch.setattr(read, "recognise", recognise)
    monkeypatch.setattr(read, "uncertain", uncertain)
    result = pipeline.read_page(engine, PageImage(_page(), DPI, 1))
    (first, first_height), (voting, voting_height) = calls[-2], calls[-1]  # read_texts: first pass, voting crops
    assert (first_height, voting_height) == (read.FIRST_PASS_HEIGHT, read.DEFAULT_REC_HEIGHT)
    pads = len(read.DEFAULT_CROP_PADS) * len(read.DEFAULT_STRETCHES)  # every crop again at the model's height
    doubtful = [text for text, doubt in decisions if doubt]
    assert voting == pads * len(doubtful)
    digits = [text for text, _doubt in decisions if text.isdigit()]
    assert len(digits) == 2 * len(ROWS)  # every score digit was a candidate ...
    assert len(doubtful) < len(digits)  # ... and the sure ones were not read again
    assert first >= 1 + 3 + 3 * len(ROWS)  # cover, header and every cell read once
    r, c = BLURRED
    assert _cells(result)[(r, c)] == ROWS[r - 1][c]


def test_the_sure_reading_test():
    assert read.uncertain("8", 0.99) is False
    assert read.uncertain("8", 0.90) is True  # a digit not sure enough: the voting crops read it again
    assert read.uncertain("B", 0.99) is True  # a letter a digit looks like
    assert read.uncertain("符合", 0.99) is False
    assert read.uncertain("O分", 0.99) is True
    assert read.uncertain("", 1.0) is True


def test_a_second_page_does_not_raise_peak_memory(engine):
    """Pages are read one at a time: what the first page allocated is released, so the second page's peak
    (numpy and Python allocations, tracemalloc) is no higher than the first's, and nothing stays behind."""
    pages = [PageImage(_page(seed), DPI, n) for n, seed in ((1, 1), (2, 2))]
    pipeline.read_page(engine, pages[0])  # warm: lazy imports and caches are not the pages' memory
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pipeline.read_page(engine, pages[0])
        after_first, peak_first = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        pipeline.read_page(engine, pages[1])
        after_second, peak_second = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_second <= 1.2 * peak_first + 2**20
    assert after_second - before < 2 * 2**20  # no page's images kept


def test_sessions_are_built_with_our_options(engine):
    import onnxruntime as ort

    options = session_options(ort, 1)
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.enable_cpu_mem_arena is False and options.enable_mem_pattern is False
    built = engine.recognizer.session.session.get_session_options()
    assert built.intra_op_num_threads == 1  # crops are run engine.threads at a time instead (Engine.map)
    assert built.enable_mem_pattern is False


def test_opencv_runs_one_thread_once_the_engine_is_loaded(engine):
    """Pages are read two at a time and crops recognised two at a time: OpenCV's own pool only adds CPU."""
    from extractor.ocr.engine import DEFAULT_CV_THREADS, Engine

    cv2.setNumThreads(2)
    Engine()  # what a process does when it loads the engine
    assert cv2.getNumThreads() == DEFAULT_CV_THREADS == 1


def test_pages_are_read_two_at_a_time_in_order_each_released_before_the_next_but_one(engine):
    """pages_to_document reads up to DEFAULT_PAGES_AT_ONCE pages at once: page n is rendered only once one of the
    pages being read (n - 2, or n - 1 when it was read sooner) is read and its pixels released (memory holds two
    pages whatever the count: page n - 1, which this test's own generator still holds, and at most one more), and
    the pages come out in order, each as read alone."""
    import gc
    import weakref

    assert pipeline.DEFAULT_PAGES_AT_ONCE == 2
    seeds = (1, 2, 3, 4)
    released: list[bool] = []
    refs: list[weakref.ref] = []

    def pages():
        for n, seed in enumerate(seeds, start=1):
            if n > pipeline.DEFAULT_PAGES_AT_ONCE:
                gc.collect()
                held = [k for k, ref in enumerate(refs, start=1) if ref() is not None]
                released.append(len(held) <= pipeline.DEFAULT_PAGES_AT_ONCE and n - 1 in held)
            image = PageImage(_page(seed), DPI, n)
            refs.append(weakref.ref(image.pixels))
            yield image

    stats: list = []
    document = pipeline.pages_to_document(pages(), kind="pdf-scan", engine=engine, stats=stats)
    assert released == [True, True]
    assert [s.number for s in stats] == [1, 2, 3, 4]
    alone = [pipeline.read_page(engine, PageImage(_page(seed), DPI, n)) for n, seed in enumerate(seeds, start=1)]
    expected = pipeline.fragments_to_document(
        [f for a in alone for f in a.fragments], [line for a in alone for line in a.lines],
        {k: v for a in alone for k, v in a.confidence.items()}, {a.number: a.turn for a in alone}, "pdf-scan", 4)
    assert document == expected and document.pages == 4
    assert [cell.text for cell in document.tables[0].cells][:6] == ["评估内容", "自评", "督查", *ROWS[0]]


def test_a_page_read_sooner_than_the_one_before_it_lets_the_next_page_start(engine):
    """A blank page after a full one is read long before it: the page after them is taken from the iterable while
    the full page is still being read (its core is not left idle until the older page is done), and the pages
    still come out in order, each as read alone."""
    import gc
    import weakref

    full = np.vstack([_page(seed) for seed in (1, 2, 3, 4)])  # four tables: read long after a blank page
    blank = np.full((560, 900, 3), 236, np.uint8)
    refs: list[weakref.ref] = []
    older_still_read: list[bool] = []

    def pages():
        for n, pixels in enumerate((full, blank, _page(5)), start=1):
            if n == 3:
                gc.collect()
                older_still_read.append(refs[0]() is not None)
            image = PageImage(pixels.copy(), DPI, n)
            refs.append(weakref.ref(image.pixels))
            yield image

    stats: list = []
    document = pipeline.pages_to_document(pages(), kind="pdf-scan", engine=engine, stats=stats)
    assert older_still_read == [True]
    assert [s.number for s in stats] == [1, 2, 3]
    alone = [pipeline.read_page(engine, PageImage(p.copy(), DPI, n))
             for n, p in enumerate((full, blank, _page(5)), start=1)]
    expected = pipeline.fragments_to_document(
        [f for a in alone for f in a.fragments], [line for a in alone for line in a.lines],
        {k: v for a in alone for k, v in a.confidence.items()}, {a.number: a.turn for a in alone}, "pdf-scan", 3)
    assert document == expected


def test_a_page_that_fails_fails_the_document_with_its_own_error(engine):
    """The error raised reading a page (in its own thread) is the document's, as if the page were read alone."""
    def pages():
        yield PageImage(_page(1), DPI, 1)
        yield PageImage(None, DPI, 2)  # no pixels: read_page raises in the page's thread
        yield PageImage(_page(3), DPI, 3)

    with pytest.raises(Exception) as caught:
        pipeline.pages_to_document(pages(), kind="pdf-scan", engine=engine)
    alone = None
    try:
        pipeline.read_page(engine, PageImage(None, DPI, 2))
    except Exception as error:  # noqa: BLE001 - the same error, whatever it is
        alone = error
    assert alone is not None and type(caught.value) is type(alone) and str(caught.value) == str(alone)


def _map_in_child(engine, queue) -> None:
    queue.put(engine.map(lambda x: x * 2, [1, 2, 3]))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork on this platform (spawned workers load their own engine)")
def test_a_forked_worker_recognises_with_a_pool_of_its_own(engine):
    """Regression: an engine whose pool ran in the parent, inherited by a forked worker (ingest's workers fork
    from a process that may have read a scan), waited forever for threads that do not exist in the child."""
    import multiprocessing

    engine.threads = 2
    assert engine.map(lambda x: x + 1, [1, 2]) == [2, 3]  # the parent's pool now has threads
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_map_in_child, args=(engine, queue))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and queue.get(timeout=5) == [2, 4, 6]
