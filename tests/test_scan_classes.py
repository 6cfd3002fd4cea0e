"""Scans as they arrive (issue 13): the scan parser's structure, searchable scans, pages turned a quarter or half turn.

- structure: importing the PDF parser loads no OCR, nothing imports pdf.py's private names, and no import cycle
  runs through the PDF, scan and OCR modules (an import graph of extractor/ from the sources, lazy imports
  inside functions included);
- searchable scans: a PDF of page images with the scanner's OCR drawn invisibly over them (samples/scan_layer.py)
  is read from its images; where the layer reads another number, the image's reading is kept and the item gets
  text_layer_mismatch naming both; text over an image without rulings is a scan too, a vector-ruled table is not;
- turned pages: page4_grey.png (tests/fixtures/scans, see test_ocr.py) turned 90, 180 and 270 degrees reads as the
  upright page does, each cell recording the turn.

The OCR cases need the OCR extra; the structure and classification cases run without it.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

import extractor
from extractor.model import Document
from extractor.parsers import path_to_document
from extractor.parsers.base import ParseError
from extractor.parsers.pdf import PdfParser, TextLayer

FIXTURES = Path(__file__).parent / "fixtures"
SCANS = FIXTURES / "scans"
FORM_PDF = FIXTURES / "forms" / "filled_pdf.pdf"
TRUTH = json.loads((SCANS / "filled_scan_150.truth.json").read_text(encoding="utf-8"))
PAGES = json.loads((SCANS / "filled_pdf_pages.json").read_text(encoding="utf-8"))["pages"]
# The modules a scan or a PDF passes through: no import cycle may run through any of them.
NUMBER = re.compile(r"^\d+(\.\d+)?$")
SCAN_PATH = ("extractor.parsers.pdf", "extractor.parsers.scan", "extractor.parsers.image", "extractor.parsers.assemble",
             "extractor.ocr")


def _norm(label: str) -> str:
    """A label as the shared scorer compares them: width-folded, no (N分), no punctuation or spaces."""
    s = unicodedata.normalize("NFKC", label)
    s = re.sub(r"[（(]\s*\d+(\.\d+)?\s*分\s*[)）]", "", s)
    return re.sub(r"[\s，,、。．.：:；;（）()/]", "", s)


def _number(value) -> float | None:
    return None if value is None else float(value)


def _needs_ocr() -> None:
    pytest.importorskip("cv2", reason="the OCR extra (OpenCV) is not installed")
    pytest.importorskip("rapidocr_onnxruntime", reason="the OCR extra (rapidocr-onnxruntime) is not installed")


# --- structure ---------------------------------------------------------------------------------------------------


def test_importing_the_pdf_parser_or_the_registry_loads_no_ocr():
    code = ("import sys, extractor.parsers.pdf, extractor.parsers\n"
            "print(sorted(m for m in sys.modules if m.startswith('extractor.ocr')"
            " or m.split('.')[0] in ('cv2', 'onnxruntime', 'rapidocr_onnxruntime')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=Path(extractor.__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _module_imports() -> dict[str, tuple[set[str], list[tuple[str, str]]]]:
    """Every module of extractor/ -> (the extractor modules it imports anywhere in its source, the (module, name)
    pairs of its `from X import name` statements that name an extractor module X)."""
    root = Path(extractor.__file__).parent
    files = {}
    for f in root.rglob("*.py"):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        files[".".join(parts[:-1] if package else parts)] = (f, package)
    out = {}
    for name, (f, package) in files.items():
        edges: set[str] = set()
        names: list[tuple[str, str]] = []
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name in files}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    here = name.split(".") if package else name.split(".")[:-1]
                    base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for a in node.names:
                    if f"{base}.{a.name}" in files:
                        edges.add(f"{base}.{a.name}")
                    elif base in files:
                        edges.add(base)
                        names.append((base, a.name))
        out[name] = (edges - {name}, names)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_runs_through_the_pdf_scan_or_ocr_modules():
    imports = _module_imports()
    graph = {name: edges for name, (edges, _names) in imports.items()}
    assert {"extractor.parsers.assemble", "extractor.ocr.pipeline"} <= set(graph)  # the graph sees the modules
    assert "extractor.parsers.assemble" in graph["extractor.parsers.pdf"]
    assert "extractor.parsers.assemble" in graph["extractor.ocr.pipeline"]
    assert [c for c in _cycles(graph) if any(m.startswith(SCAN_PATH) for m in c)] == []
    assert not any(m.startswith("extractor.ocr") for m in graph["extractor.parsers.pdf"])
    assert not any("extractor.parsers.pdf" in graph[m] for m in graph if m.startswith("extractor.ocr"))


def test_no_module_of_the_pipeline_imports_in_a_cycle():
    # Data flows one way (file -> parser -> … -> store -> outputs): a lazy import that closes a loop counts too.
    graph = {name: edges for name, (edges, _names) in _module_imports().items()}
    assert {"extractor.store", "extractor.review", "extractor.parsers.docx", "extractor.parsers.xlsx"} <= set(graph)
    assert _cycles(graph) == []


def test_the_import_graph_finds_a_cycle_made_by_a_lazy_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_module_imports_a_private_name_of_the_pdf_parser():
    private = [(name, imported) for name, (_edges, names) in _module_imports().items() for module, imported in names
               if module == "extractor.parsers.pdf" and imported.startswith("_")]
    assert private == []


# --- which PDFs are scans (no OCR needed) -----------------------------------------------------------------------


def _image_pdf(path: Path, text: str | None = None, ruled: bool = False, mode: int = 0) -> Path:
    """An A4 page filled by a picture, with `text` drawn over it (render mode `mode`: 3 is invisible) and, when
    ruled, a 2 x 2 vector-ruled table holding the text."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    c.drawImage(ImageReader(Image.new("RGB", (620, 877), (250, 248, 240))), 0, 0, *A4)
    if ruled:
        for x in (100, 300, 500):
            c.line(x, 500, x, 700)
        for y in (500, 600, 700):
            c.line(100, y, 500, y)
    if text:
        t = c.beginText()
        t.setTextRenderMode(mode)
        t.setFont("STSong-Light", 12)
        t.setTextOrigin(120, 640)
        t.textOut(text)
        c.drawText(t)
    c.showPage()
    c.save()
    return path


@pytest.mark.parametrize(("mode", "ruled", "scan"), [(3, False, True), (0, False, True), (0, True, False)])
def test_a_full_page_image_with_text_and_no_rulings_is_a_scan(tmp_path, mode, ruled, scan):
    path = _image_pdf(tmp_path / "page.pdf", "自评得分 5", ruled=ruled, mode=mode)
    handed: list[tuple[bytes, TextLayer]] = []

    def reader(data, layer):
        handed.append((data, layer))
        return Document(kind="pdf-scan", pages=1)

    doc = PdfParser(scan_reader=reader).path_to_document(path)
    if not scan:
        assert (doc.kind, len(doc.tables), handed) == ("pdf", 1, [])
        return
    assert doc.kind == "pdf-scan" and len(handed) == 1
    data, layer = handed[0]
    assert data == path.read_bytes()
    assert layer.sizes == {1: pytest.approx((595.2756, 841.8898))}
    assert "".join(t for t, _box in layer.chars[1]) == "自评得分5"
    x0, top, _x1, bottom = layer.chars[1][0][1]
    # Points from the top of the page as displayed: baseline 640 pt up, STSong-Light's ascent 0.729 em above it.
    assert (x0, top, bottom) == pytest.approx((120.0, 841.8898 - 640 - 0.729 * 12, 841.8898 - 640 + 0.271 * 12),
                                              abs=0.01)
    with pytest.raises(ParseError, match=r"^the PDF is a scan \(page images\)"):
        PdfParser().path_to_document(path)  # the PDF parser alone never reads a scan by OCR


def test_layer_characters_follow_the_turn_and_the_deskew():
    from extractor.ocr.layer import layer_to_page  # noqa: PLC0415 - the OCR extra

    chars = [("5", (90.0, 190.0, 110.0, 210.0))]  # centre (100, 200) on a 612 x 792 page, 72 dpi
    assert layer_to_page(chars, (612, 792), 72.0, 0, 0.0) == [("5", (90.0, 190.0, 110.0, 210.0))]
    assert layer_to_page(chars, (612, 792), 72.0, 90, 0.0) == [("5", (582.0, 90.0, 602.0, 110.0))]
    assert layer_to_page(chars, (612, 792), 72.0, 180, 0.0) == [("5", (502.0, 582.0, 522.0, 602.0))]
    assert layer_to_page(chars, (612, 792), 72.0, 270, 0.0) == [("5", (190.0, 502.0, 210.0, 522.0))]
    (_t, (x0, top, x1, bottom)), = layer_to_page(chars, (612, 792), 144.0, 0, 90.0)  # 144 dpi: the page is 306 pt
    # A quarter turn counter-clockwise about the centre (153, 198) in points: (100, 200) goes to (155, 251).
    assert ((x0 + x1) / 2, (top + bottom) / 2) == (pytest.approx(155.0), pytest.approx(251.0))


# --- searchable scans ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def searchable(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Pages 2 and 3 of filled_pdf.pdf scanned at 150 dpi as a searchable PDF whose text layer has two score
    numbers wrong (seed 4: 督查 1 -> 4 of 3.1.10 and 督查 1.5 -> 4.5 of 3.3.1, both on page 3)."""
    _needs_ocr()
    from samples.scan import make_scan

    planted: list[dict] = []
    path = make_scan(FORM_PDF, tmp_path_factory.mktemp("searchable") / "searchable.pdf", 150, seed=4, pages=[2, 3],
                     text_layer=True, wrong_digits=2, planted=planted)
    return path, planted


def test_the_searchable_scan_maker_plants_wrong_digits_in_an_invisible_layer(searchable):
    import pdfplumber

    path, planted = searchable
    assert planted == [{"page": 2, "image": "1", "layer": "4"}, {"page": 2, "image": "1.5", "layer": "4.5"}]
    with pdfplumber.open(path) as pdf:
        assert len(pdf.pages) == 2 and all(len(p.images) == 1 for p in pdf.pages)
        assert len(pdf.pages[1].chars) > 300  # the scanner's OCR layer is there, over the image


def test_a_searchable_scan_is_read_from_its_image_and_a_wrong_layer_digit_is_flagged(searchable, rubrics):
    from extractor.extract import path_to_form

    path, _planted = searchable
    form = path_to_form(path, rubrics)
    assert (form.status, form.kind) == ("flagged", "pdf-scan")
    mismatches = sorted((d.item, d.side, d.message) for d in form.discrepancies if d.kind == "text_layer_mismatch")
    assert [(item, side) for item, side, _m in mismatches] == [("3.1.10", "inspector"), ("3.3.1", "inspector")]
    assert "图像读作 1，扫描件自带的文字层为 4" in mismatches[0][2]
    assert "图像读作 1.5，扫描件自带的文字层为 4.5" in mismatches[1][2]
    items = {i.code: i for i in form.items}
    assert (items["3.1.10"].inspector, items["3.3.1"].inspector) == (1, Decimal("1.5"))  # the image's reading
    present = [i for i in form.items if i.present]
    assert len(present) == 35
    truth = {_norm(label): want for label, want in TRUTH["items"].items()}
    wrong = [(i.code, side) for i in present for side in ("self", "inspector")
             if _number(getattr(i, side)) != _number(truth[_norm(i.label)][side])]
    assert wrong == []
    agreed = [i for i in present if i.provenance and i.provenance.get("confidence") is not None
              and i.code not in ("3.1.10", "3.3.1")]
    assert all(i.provenance["confidence"] >= 0.9 for i in agreed)  # the layer agrees: no low_confidence_value
    assert not [d for d in form.discrepancies if d.kind == "low_confidence_value"]


# --- turned pages --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upright_page4():
    _needs_ocr()
    from extractor.parsers.scan import ImageParser

    return ImageParser().path_to_document(SCANS / "page4_grey.png")


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_turned_page_reads_as_the_upright_one_and_records_its_turn(degrees, upright_page4, tmp_path):
    from extractor.parsers.scan import ImageParser

    turned = tmp_path / f"page4_turned_{degrees}.png"
    with Image.open(SCANS / "page4_grey.png") as im:
        # The content turned `degrees` clockwise (PIL turns counter-clockwise): the reader must turn it back.
        im.rotate(-degrees, expand=True).save(turned, dpi=im.info.get("dpi", (200, 200)))
    doc = ImageParser().path_to_document(turned)

    def cells(d):
        return [[(c.row, c.col, c.rowspan, c.colspan, c.text, c.bbox) for c in t.cells] for t in d.tables]

    assert cells(doc) == cells(upright_page4)
    want = [[tuple(cell) for cell in t] for t in PAGES["4"]]
    assert [[c[:4] for c in t] for t in cells(doc)] == [[c[:4] for c in t] for t in want]
    assert {c.rotation for t in doc.tables for c in t.cells} == {(360 - degrees) % 360}
    assert {c.rotation for t in upright_page4.tables for c in t.cells} == {0}


def test_a_sideways_page_whose_stray_glyphs_read_sure_is_still_turned_the_right_way():
    """Regression: page 2 of a generated form scanned and fed turned 90° (turned_page_90.jpg, 150 dpi). Read
    unpadded, the lines found across the sideways page (a few glyphs each) read 0.98-0.99 sure as Chinese and
    outscored the three upright lines' 0.98, so the page was turned 180° and its 22 items lost (flagged missing). The
    orientation crops are read padded to rapidocr's 320 px (at 48 px high; DEFAULT_ORIENT_MIN_WIDTH at the
    orientation's height), as the margin was set by: the stray line reads under 0.90."""
    _needs_ocr()
    import cv2

    from extractor.ocr import orient, read
    from extractor.ocr.engine import load_engine

    engine = load_engine()
    image = cv2.imread(str(SCANS / "turned_page_90.jpg"))
    assert orient.page_to_turn(engine, image, 150.0) == 270
    grey = orient._grey(image)
    across = orient.line_crops(grey, 150.0, 0)[0]
    rotated = [cv2.rotate(c, cv2.ROTATE_180) for c in across]
    padded = read.recognise(engine, rotated, height=orient.DEFAULT_ORIENT_HEIGHT,
                            min_width=orient.DEFAULT_ORIENT_MIN_WIDTH)
    unpadded = read.recognise(engine, rotated)
    assert padded[0][1] < 0.90 < 0.99 < unpadded[0][1]  # "题题分技性": what the padding changes


def test_a_turned_scan_in_a_pdf_reads_as_the_same_scan_upright(tmp_path):
    _needs_ocr()
    from samples.scan import make_scan

    def read(turn: int):
        path = make_scan(FORM_PDF, tmp_path / f"page4_{turn}.pdf", 150, seed=5, pages=[4], turn=turn)
        doc = path_to_document(path)
        assert doc.kind == "pdf-scan" and doc.pages == 1
        return doc

    upright, sideways = read(0), read(90)

    def grid(doc):
        return [[(c.row, c.col, c.rowspan, c.colspan, c.text if NUMBER.match(c.text) else None) for c in t.cells]
                for t in doc.tables]

    assert grid(sideways) == grid(upright)
    assert sum(1 for t in upright.tables for c in t.cells if c.text and NUMBER.match(c.text)) >= 20
    assert {c.rotation for t in sideways.tables for c in t.cells} == {270}
    assert {c.rotation for t in upright.tables for c in t.cells} == {0}
    shifts = [max(abs(a - b) for a, b in zip(c.bbox, d.bbox, strict=True))
              for t, u in zip(sideways.tables, upright.tables, strict=True) for c, d in zip(t.cells, u.cells, strict=True)]
    assert max(shifts) < 2.0  # points of the upright page, whichever way the paper went through the scanner


def test_the_evidence_of_a_turned_scan_is_cropped_from_the_page_turned_upright(tmp_path):
    # The boxes are in points of the page the OCR turned upright (Cell.rotation): the picture must turn it too.
    _needs_ocr()
    import base64
    import io

    import rubric
    from extractor.evidence import form_to_evidence
    from extractor.extract import path_to_form
    from samples.scan import make_scan

    strips = {}
    for turn in (0, 90):
        path = make_scan(FORM_PDF, tmp_path / f"page2_{turn}.pdf", 150, seed=5, pages=[2], turn=turn)
        # page 2 starts the table with its header; alone it fits the rubric too little to be chosen, so it is named
        form = path_to_form(path, rubric.load_all(), rubric_id="qinghai-2024")
        form.path = str(path)
        code = next(i.code for i in form.items if i.self_cell and NUMBER.match(i.self_cell["text"] or ""))
        strips[turn] = (code, form_to_evidence(0, form, items=[code])[code])
    (code0, upright), (code90, sideways) = strips[0], strips[90]
    assert code0 == code90 and upright.image and sideways.image, (upright.note, sideways.note)
    a, b = (Image.open(io.BytesIO(base64.b64decode(e.image.split(",", 1)[1]))).convert("L") for e in (upright, sideways))
    assert abs(a.size[0] - b.size[0]) <= 4 and abs(a.size[1] - b.size[1]) <= 4, (a.size, b.size)
    b = b.resize(a.size)
    from PIL import ImageChops, ImageStat

    diff = ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
    assert diff < 25, diff  # the same row, whichever way the paper went through the scanner


@pytest.mark.parametrize(("readings", "turn"), [
    # page 2 of the turned bench form qh_pdf_lo_errors_41 (fed 90°): one stray line read 0.896 the wrong way
    ({0: [("", 0.0)], 180: [("题题分技性（", 0.896)], 90: [("", 0.0)] * 3,
      270: [("有批次认定试卷或操作", 0.991), ("生或指导类文件存档情况", 0.947), ("有批次的职业技能等级", 0.996)]}, 270),
    # page 2 of qh_pdf_lo_landscape_42 (fed 270°): by the mean, 0.988 upright was within 0.05 of 0.946 as it stood
    ({0: [("技分技理程", 0.905), ("查合规人度", 0.986)], 180: [("", 0.0)] * 2, 270: [("", 0.0)] * 3,
      90: [("技能人才评价考试试卷/试", 0.975), ("技能人才评价设备设施管", 0.995), ("技能人才评价工作收费标", 0.995)]}, 90),
    # an upright page: its lines upside down read a few glyphs
    ({0: [("技能人才评价考试试卷/试", 0.99), ("查阅文件", 0.98)], 180: [("分技", 0.97), ("", 0.0)]}, 0),
    ({0: [], 180: []}, 0),  # no lines: as it stands
])
def test_the_way_up_is_the_one_that_reads_the_most_sure_characters(readings, turn):
    from extractor.ocr.orient import readings_to_turn

    assert readings_to_turn(readings) == turn
