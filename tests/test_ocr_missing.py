"""Without the OCR extra (selfeval[ocr]) a scan is refused with a ParseError saying how to install it.

Runs with or without the extra: with it, the import of the engine (or of the OCR module) is made to fail.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

import extractor
from extractor.extract import path_to_form
from extractor.parsers import ParseError, path_to_document

MESSAGE = "reading a scan needs OCR: pip install 'selfeval[ocr]'"


def _scan_pdf(path: Path) -> Path:
    """A one-page PDF holding only an image (no text layer), written by Pillow."""
    Image.new("RGB", (400, 300), "white").save(path, "PDF", resolution=100.0)
    return path


def _png(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("L", (300, 200), 255).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def no_engine(monkeypatch):
    """Make `import rapidocr_onnxruntime` fail and forget any engine already loaded."""
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    if "extractor.ocr.engine" in sys.modules:
        monkeypatch.setattr(sys.modules["extractor.ocr.engine"], "_ENGINE", None)


def test_an_image_without_the_ocr_extra_is_a_clear_parse_error(tmp_path, no_engine):
    with pytest.raises(ParseError) as error:
        path_to_document(_png(tmp_path / "photo.png"))
    assert str(error.value) == MESSAGE


def test_a_scanned_pdf_without_the_ocr_extra_is_a_failed_form_naming_the_extra(tmp_path, no_engine, rubrics):
    form = path_to_form(_scan_pdf(tmp_path / "scan.pdf"), rubrics)
    assert (form.status, form.error) == ("failed", MESSAGE)



def test_the_extra_missing_after_its_submodules_were_loaded_is_the_same_error(tmp_path, no_engine):
    # Regression: with rapidocr's submodules already imported (by an earlier OCR test, or a half-removed install)
    # `from rapidocr_onnxruntime.ch_ppocr_rec import ...` succeeded from sys.modules and the package's own import,
    # outside the ImportError guard, raised ModuleNotFoundError instead of the message naming the extra.
    import importlib

    for name in ("rapidocr_onnxruntime.ch_ppocr_rec", "rapidocr_onnxruntime.utils"):
        sys.modules.pop("rapidocr_onnxruntime", None)
        try:
            importlib.import_module(name)
        finally:
            sys.modules["rapidocr_onnxruntime"] = None  # no_engine's block, restored by monkeypatch after the test
    with pytest.raises(ParseError) as error:
        path_to_document(_png(tmp_path / "photo.png"))
    assert str(error.value) == MESSAGE

def test_the_ocr_module_itself_missing_is_the_same_error(tmp_path, monkeypatch):
    """OpenCV or numpy missing: importing the extractor.ocr package fails, the parser says the same."""
    monkeypatch.setitem(sys.modules, "extractor.ocr", None)
    monkeypatch.delattr(extractor, "ocr", raising=False)
    with pytest.raises(ParseError, match=r"^reading a scan needs OCR: pip install 'selfeval\[ocr\]'$"):
        path_to_document(_png(tmp_path / "photo.png"))
