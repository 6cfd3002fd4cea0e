"""Cheap refusals: hostile files built here, each refused with one line before anything proportional to what
it declares is built (Word grids, zip parts, image pixels and frames, PDF pages rendered for OCR, FIFOs),
and library log output that never reaches stderr unlabelled."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from extractor import limits
from extractor.parsers import path_to_document
from extractor.parsers.base import ParseError
from extractor.parsers.image import check_image
from extractor.parsers.scan import ImageParser

from .pdf_bytes import one_page_pdf

ROOT = Path(__file__).resolve().parents[1]
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="os.mkfifo: POSIX only")


def refusal(path: Path) -> str:
    with pytest.raises(ParseError) as e:
        path_to_document(path)
    message = str(e.value)
    assert "\n" not in message
    return message


def refusal_and_peak(path: Path) -> tuple[str, int]:
    """The refusal of a file and the peak Python memory its reading took."""
    tracemalloc.start()
    try:
        message = refusal(path)
        return message, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def small_table_docx(path: Path, rows: int = 3, cols: int = 2) -> docx.Document:
    d = docx.Document()
    d.add_paragraph("机构名称：测试中心")
    t = d.add_table(rows=rows, cols=cols)
    for r, tr in enumerate(t.rows):
        for c, cell in enumerate(tr.cells):
            cell.text = f"{r}{c}"
    d.save(path)
    return d


# --- Word tables that declare huge grids ----------------------------------------------------------------------


def grid_bomb_docx(path: Path, where: str, value: int = 100_000_000) -> Path:
    """A small .docx whose every row declares w:gridBefore / w:gridAfter, or whose first cells declare
    w:gridSpan, of `value` grid columns (the 36 KB file of the issue, in a few KB)."""
    d = docx.Document()
    t = d.add_table(rows=40, cols=2)
    for tr in t.rows:
        tr.cells[0].text = "1.1.1 设有办公室"
        if where == "gridSpan":
            tr._tr.tc_lst[0].get_or_add_tcPr().append(parse_xml(f'<w:gridSpan {nsdecls("w")} w:val="{value}"/>'))
        else:
            tr._tr.get_or_add_trPr().append(parse_xml(f'<w:{where} {nsdecls("w")} w:val="{value}"/>'))
    d.save(path)
    return path


@pytest.mark.parametrize("where, declared", [("gridBefore", 100_000_000), ("gridSpan", 100_000_000),
                                             ("gridAfter", 100_000_002)])
def test_a_word_table_declaring_100_million_columns_is_refused_at_once(tmp_path, where, declared):
    path = grid_bomb_docx(tmp_path / f"{where}.docx", where)
    assert path.stat().st_size < 40_000
    message, peak = refusal_and_peak(path)
    assert message == f"the Word table declares {declared} columns (at most 200 are read): not a form"
    assert peak < 30_000_000  # before: Table.grid() built 40 x 100M cells and the worker was killed


def test_the_bomb_is_a_failed_record_with_that_line(tmp_path, rubrics):
    from extractor.extract import path_to_form

    form = path_to_form(grid_bomb_docx(tmp_path / "bomb.docx", "gridAfter"), rubrics)
    assert (form.status, form.error) == ("failed", "the Word table declares 100000002 columns (at most 200 are "
                                                   "read): not a form")


def test_tables_at_the_limits_are_still_read(tmp_path):
    path = grid_bomb_docx(tmp_path / "wide.docx", "gridAfter", value=limits.MAX_TABLE_COLUMNS - 2)
    t = path_to_document(path).tables[0]
    assert (t.n_rows, t.n_cols) == (40, 200) and len(t.grid()[0]) == 200


def test_a_tblgrid_of_too_many_columns_is_refused(tmp_path):
    path = tmp_path / "grid.docx"
    d = small_table_docx(path)
    grid = d.tables[0]._tbl.tblGrid
    for _ in range(300):
        grid.append(parse_xml(f'<w:gridCol {nsdecls("w")} w:w="10"/>'))
    d.save(path)
    assert refusal(path) == "the Word table declares 302 columns (at most 200 are read): not a form"


def test_too_many_rows_and_too_many_cells_are_refused(tmp_path):
    path = tmp_path / "rows.docx"
    d = small_table_docx(path, rows=1, cols=1)
    tbl = d.tables[0]._tbl
    row = f'<w:tr {nsdecls("w")}><w:tc><w:p/></w:tc></w:tr>'
    for _ in range(limits.MAX_TABLE_ROWS):
        tbl.append(parse_xml(row))
    d.save(path)
    assert refusal(path) == "the Word table has more than 5000 rows: not a form"
    # Many tables, each within the limits, that declare more cells together than one document may.
    path = tmp_path / "tables.docx"
    d = docx.Document()
    body = d.element.body
    table = (f'<w:tbl {nsdecls("w")}><w:tr><w:trPr><w:gridAfter w:val="199"/></w:trPr><w:tc><w:p/></w:tc></w:tr>'
             + "<w:tr><w:tc><w:p/></w:tc></w:tr>" * 99 + "</w:tbl>")
    n = limits.MAX_DOCUMENT_CELLS // (100 * 200) + 1
    for _ in range(n):
        body.append(parse_xml(table))
    d.save(path)
    assert refusal(path) == "the Word tables declare more than 2000000 cells together: not a form"


# --- zip parts that lie about their size ----------------------------------------------------------------------


def _patch_sizes(path: Path, member: str, file_size: int) -> None:
    """Rewrite a zip member's uncompressed size in its local header and central directory entry."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        offset = z.getinfo(member).header_offset
    assert data[offset:offset + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, offset + 22, file_size)
    name = member.encode()
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        (n_len,) = struct.unpack_from("<H", data, at + 28)
        if data[at + 46:at + 46 + n_len] == name:
            struct.pack_into("<I", data, at + 24, file_size)
            break
        at += 4
    path.write_bytes(bytes(data))


def lying_docx(path: Path, real_size: int, declared: int, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """A .docx whose word/document.xml inflates to real_size bytes (its XML, then spaces) while the zip
    declares `declared` bytes: written in chunks, so building it costs no memory either."""
    src = path.with_suffix(".src.docx")
    small_table_docx(src)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != "word/document.xml":
                zout.writestr(info.filename, zin.read(info.filename))
                continue
            xml = zin.read(info.filename)
            member = zipfile.ZipInfo("word/document.xml")
            member.compress_type = method
            with zout.open(member, "w") as f:
                f.write(xml)
                chunk = b" " * (1 << 20)
                for _ in range((real_size - len(xml)) // len(chunk)):
                    f.write(chunk)
    src.unlink()
    if declared != real_size:
        _patch_sizes(path, "word/document.xml", declared)
    return path


def test_a_zip_that_lies_about_its_sizes_is_read_in_bounded_chunks(tmp_path):
    path = lying_docx(tmp_path / "lies.docx", real_size=300 << 20, declared=4096)
    assert path.stat().st_size < 1_000_000
    message, peak = refusal_and_peak(path)
    # zipfile stops at the declared size and its CRC check fails: the file is damaged, and says so.
    assert message == "not a readable Word file (not a .docx zip, or truncated): re-save it as .docx"
    assert peak < 20_000_000  # before: zipfile's read() inflated all 300 MB in one call


def test_a_part_declared_over_the_limit_is_refused_unread(tmp_path):
    path = lying_docx(tmp_path / "big.docx", real_size=2 << 20, declared=limits.MAX_XML_BYTES + 1)
    assert refusal(path) == ("the Word document is too large to read (more than 67108864 bytes of XML in "
                             "word/document.xml)")


def test_a_part_compressed_with_bzip2_is_refused(tmp_path):
    path = lying_docx(tmp_path / "bz.docx", real_size=1 << 20, declared=1 << 20, method=zipfile.ZIP_BZIP2)
    assert refusal(path) == ("the Word file's part word/document.xml is compressed with a method Word never "
                             "writes (12): re-save it as .docx")


def test_an_honest_docx_still_reads(tmp_path):
    path = tmp_path / "ok.docx"
    small_table_docx(path)
    doc = path_to_document(path)
    assert doc.lines == ["机构名称：测试中心"] and [c.text for c in doc.tables[0].cells][:2] == ["00", "01"]


# --- only regular files ---------------------------------------------------------------------------------------


def _refused_within(path: Path, seconds: float = 10.0) -> str:
    """Read path in a thread: a reader blocked on a FIFO would hang the test, so give it `seconds`."""
    out: dict[str, str] = {}

    def run() -> None:
        try:
            path_to_document(path)
            out["message"] = "read"
        except ParseError as e:
            out["message"] = str(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"reading {path.name} blocked"
    return out["message"]


@needs_fifo
@pytest.mark.parametrize("name", ["form.docx", "form.doc", "form.wps", "scan.png", "scan.tif"])
def test_a_fifo_is_refused_without_blocking(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    assert _refused_within(fifo) == f"{name} is a pipe (FIFO), not a file: send the form itself"


@pytest.mark.parametrize("name", ["form.docx", "form.doc", "scan.jpg"])
def test_a_folder_is_refused(tmp_path, name):
    (tmp_path / name).mkdir()
    message = _refused_within(tmp_path / name)
    if os.name == "nt":  # Windows cannot open a folder as a file at all
        assert message.startswith(f"cannot read {name}: ")
    else:
        assert message == f"{name} is a folder, not a file: send the form itself"


# --- images: pixels and frames from the header ------------------------------------------------------------------


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A white greyscale PNG of width x height, compressed a row at a time (13000 x 13000 is ~0.5 MB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    idat = bytearray()
    for _ in range(height):
        idat += comp.compress(row)
    idat += comp.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b""))
    return path


def test_a_13000_square_png_is_refused_from_its_header(tmp_path):
    path = png_bomb(tmp_path / "scan.png", 13000, 13000)
    assert path.stat().st_size < 600_000
    message, peak = refusal_and_peak(path)
    assert message == ("the image is 13000 x 13000 pixels (169 megapixels, at most 60 are read): scan the form "
                       "again at 300 dpi")
    assert peak < 10_000_000  # before: decoded to 3.1 GB


def test_pils_decompression_bomb_is_a_refusal(tmp_path):
    path = png_bomb(tmp_path / "huge.png", 20000, 20000)  # over PIL's own limit: it raises in open()
    assert refusal(path) == "the image declares 400 megapixels (at most 60 are read): scan the form again at 300 dpi"


def test_a_tiff_of_500_frames_is_refused_before_decoding(tmp_path, rubrics):
    from PIL import Image

    from extractor.extract import path_to_form

    path = tmp_path / "scan.tif"
    frames = [Image.new("L", (64, 64), 255) for _ in range(500)]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:])
    form = path_to_form(path, rubrics)
    assert (form.status, form.error) == ("failed", "the scan has more than 50 pages (a form has at most 50): send "
                                                   "each form as a file of its own")
    fifty = tmp_path / "fifty.tif"
    frames[0].save(fifty, "TIFF", save_all=True, append_images=frames[1:50])
    check_image(fifty)  # 50 pages pass


def test_image_limits_are_the_documented_constants():
    assert (limits.MAX_PAGE_PIXELS, limits.MAX_PAGES) == (60_000_000, 50)
    assert (limits.MAX_TABLE_COLUMNS, limits.MAX_TABLE_ROWS) == (200, 5000)
    assert ImageParser.suffixes == (".png", ".jpg", ".jpeg", ".tif", ".tiff")


# --- PDF pages rendered for OCR ---------------------------------------------------------------------------------


def _needs_ocr():
    pytest.importorskip("cv2", reason="the ocr extra (OpenCV) is not installed")
    pytest.importorskip("rapidocr_onnxruntime", reason="the ocr extra (rapidocr-onnxruntime) is not installed")
    pytest.importorskip("pypdfium2", reason="pypdfium2 is not installed")


def scanned_pdf(path: Path, pagesize: tuple[float, float], pages: int = 1) -> Path:
    """A PDF whose pages hold only an image (no text layer), so it is read by OCR."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = ImageReader(Image.new("RGB", (200, 200), "white"))
    c = canvas.Canvas(str(path), pagesize=pagesize)
    for _ in range(pages):
        c.drawImage(image, 0, 0, width=pagesize[0], height=pagesize[1])
        c.showPage()
    c.save()
    return path


def test_a_100_inch_pdf_page_is_refused_before_rendering(tmp_path):
    _needs_ocr()
    path = scanned_pdf(tmp_path / "huge.pdf", (7200, 7200))
    assert path.stat().st_size < 10_000
    assert refusal(path) == ("the PDF page 1 is 100 x 100 inches (400 megapixels at 200 dpi, at most 60 are read): "
                             "scan the form again on A4 or A3 paper")


def test_render_dpi_is_lowered_to_fit_the_pixel_limit_down_to_200():
    _needs_ocr()
    from extractor.ocr import sources as ocr

    a4, a1, a0 = (595, 842), (1684, 2384), (2384, 3370)
    assert ocr.fit_render_dpi(a4, 300.0, 1) == 300.0
    assert ocr.fit_render_dpi(a1, 300.0, 1) == 278.0  # 23.4 x 33.1 in: 60 MP at 278 dpi
    assert ocr.fit_render_dpi(a1, 150.0, 1, requested=150.0) == 150.0
    with pytest.raises(ParseError, match=r"^the PDF page 3 is 33 x 47 inches \(62 megapixels at 200 dpi"):
        ocr.fit_render_dpi(a0, 200.0, 3)


def test_a_scanned_pdf_of_too_many_pages_is_refused_before_rendering(tmp_path):
    _needs_ocr()
    from extractor.ocr import sources as ocr

    path = scanned_pdf(tmp_path / "many.pdf", (595, 842), pages=51)
    with pytest.raises(ParseError) as e:
        next(ocr.pdf_pages(path.read_bytes()))
    assert str(e.value) == "the scanned PDF has 51 pages (a form has at most 50): send each form as a file of its own"


# --- library log output -------------------------------------------------------------------------------------


def _warning_pdf(path: Path) -> Path:
    """A text PDF whose content stream makes pdfminer log a warning (a matrix with a name in it)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c._code.append("1 0 0 /X 0 0 cm")  # noqa: SLF001 - a malformed operator is the point
    c.drawString(72, 700, "hello")
    c.save()
    return path


_READ = """
import sys
from pathlib import Path
import rubric
from extractor.extract import path_to_form
rubrics = rubric.load_all()
for name in sys.argv[1:]:
    form = path_to_form(Path(name), rubrics)
    print(form.status, form.error)
"""


def _run_read(paths: list[Path], env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SELFEVAL_LOG"}
    env.update(env_extra)
    tmp_path.mkdir()
    env["TMPDIR"] = str(tmp_path)  # jieba's cache is built afresh: its "Building prefix dict" lines are due
    return subprocess.run([sys.executable, "-c", _READ, *map(str, paths)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_library_logs_never_reach_stderr_unlabelled(tmp_path):
    from .forms import qinghai_form

    pdf = _warning_pdf(tmp_path / "warn.pdf")
    form = qinghai_form(tmp_path / "form.docx", ["cat", "label", "max", "self", "insp"],
                        [["类别", "评估内容", "分值", "自评得分", "督查得分"]])
    quiet = _run_read([pdf, form], {}, tmp_path / "quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # before: pdfminer's warning and jieba's four "Building prefix dict" lines
    assert quiet.stdout.splitlines()[1].split()[0] in ("ok", "flagged")  # the form was read
    loud = _run_read([pdf], {"SELFEVAL_LOG": "debug"}, tmp_path / "loud")
    lines = loud.stderr.splitlines()
    assert lines and all(line.startswith("[selfeval] ") for line in lines), lines[:5]
    assert any(line.startswith("[selfeval] pdfminer: Cannot concatenate matrix") for line in lines)


def test_headers_and_footers_share_one_xml_budget(tmp_path, monkeypatch):
    from extractor.parsers import docx as docx_parser

    path = tmp_path / "headers.docx"
    d = docx.Document()
    d.add_paragraph("正文")
    d.sections[0].header.paragraphs[0].text = "页眉" * 1500
    d.sections[0].footer.paragraphs[0].text = "页脚" * 1500
    d.save(path)
    assert path_to_document(path).page_lines == ["页眉" * 1500, "页脚" * 1500]
    monkeypatch.setattr(docx_parser, "DEFAULT_MAX_XML_BYTES", 14_000)  # one header's XML fits, not two
    doc = path_to_document(path)
    assert doc.lines == ["正文"] and doc.page_lines == ["页眉" * 1500]  # the part over budget costs its lines


def image_bomb_pdf(path: Path, width: int, height: int) -> Path:
    """An A4 PDF page holding one image XObject of width x height RGB pixels (white, deflated a row at a time:
    13000 x 13000 is ~0.5 MB), written by hand with a correct xref table."""
    comp = zlib.compressobj(9)
    row = b"\xff" * (3 * width)
    stream = bytearray()
    for _ in range(height):
        stream += comp.compress(row)
    stream += comp.flush()
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 "
             b"/Filter /FlateDecode /Length %d >>\nstream\n" % (width, height, len(stream)) + bytes(stream)
             + b"\nendstream")
    path.write_bytes(one_page_pdf(b"<< /XObject << /Im0 5 0 R >> >>", content, [image]))
    return path


def test_a_pdf_scan_image_over_the_pixel_limit_is_refused_before_rendering(tmp_path):
    _needs_ocr()
    path = image_bomb_pdf(tmp_path / "bomb.pdf", 13000, 13000)
    assert path.stat().st_size < 1_000_000
    assert refusal(path) == ("an image on PDF page 1 is 13000 x 13000 pixels (169 megapixels, at most 60 are "
                             "read): scan the form again at 300 dpi")
