"""`selfeval --help` loads no heavy library: start-up cost is what the user waits for on every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlite_utils", "numpy", "jieba", "rapidfuzz", "pdfplumber", "docx", "openpyxl", "PIL", "starlette")
ROOT = Path(__file__).resolve().parent.parent


def test_help_imports_no_heavy_library():
    code = ("import sys\nsys.argv = ['selfeval', '--help']\nimport cli\ntry:\n    cli.main()\nexcept SystemExit:\n"
            f"    pass\nimport json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         encoding="utf-8")
    assert out.returncode == 0, out.stderr
    assert "Usage: selfeval" in out.stdout
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def _threads_after_numpy(env: dict[str, str]) -> tuple[str, int]:
    code = ("import os, psutil\nimport cli\nimport numpy\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'), psutil.Process().num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         encoding="utf-8", env=env)
    assert out.returncode == 0, out.stderr
    value, threads = out.stdout.split()
    return value, int(threads)


def test_numpy_starts_no_blas_threads_unless_the_user_asks():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                                                             "OMP_NUM_THREADS")}
    assert _threads_after_numpy(env) == ("1", 1)
    assert _threads_after_numpy({**env, "OMP_NUM_THREADS": "2"}) == ("None", 2)  # the user's choice is kept


def test_a_worker_reading_word_files_loads_no_pdf_or_image_library():
    # The registry imports a parser's module at the first file of its format: Word forms need no pdfplumber.
    code = ("import sys, json, pathlib, rubric\nfrom extractor.ingest import load_worker_state\n"
            "rubrics = rubric.load_all()\nload_worker_state(rubrics)\n"
            "from extractor.parsers import path_to_sheets\nfrom extractor import stamp\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('extractor.parsers'))))\n"
            "stamp.installed_extras()\n"
            "print(json.dumps(sorted(m for m in ('pdfplumber', 'pdfminer', 'pypdfium2', 'PIL', 'extractor.parsers.pdf',"
            " 'extractor.parsers.scan') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         encoding="utf-8")
    assert out.returncode == 0, out.stderr
    first, after_stamp = out.stdout.strip().splitlines()[-2:]
    assert json.loads(first) == ["extractor.parsers", "extractor.parsers.base"]
    assert json.loads(after_stamp) == []


def test_the_stamp_loads_no_word_reader():
    # The ingest's parent process stamps every record (stamp.installed_extras looks for LibreOffice through
    # parsers.legacy) and reads no file itself: python-docx there was start-up paid for nothing.
    code = ("import sys, json\nfrom extractor import stamp\nstamp.installed_extras()\n"
            "print(json.dumps(sorted(m for m in ('docx', 'extractor.parsers.docx') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         encoding="utf-8")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_registry_suffixes_are_the_parsers_own(tmp_path):
    from extractor.parsers import PARSERS, Deferred, parser_for

    kinds = []
    for entry in PARSERS[:6]:  # a test's plugin parsers may follow
        assert isinstance(entry, Deferred)
        parser = entry.loaded()
        assert entry.suffixes == type(parser).suffixes
        assert parser_for(tmp_path / f"form{entry.suffixes[-1].upper()}") is parser  # suffixes match in any case
        kinds.append(parser.kind)
    assert kinds == ["docx", "pdf", "doc", "image", "xlsx", "xls"]
    assert parser_for(tmp_path / "form.txt") is None
