"""jieba's dictionary read lazily from selfeval's cache file: the same words as jieba's own loading, no
whole-dictionary load, and the cache written under the user's cache folder, never the temp folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SEGMENT = r"""
import json, sys, tempfile
import rubric
from extractor.matching.segment import _jieba, normalize_label
labels = sorted({normalize_label(t) for r in rubric.load_all().values()
                 for t in [*(i.label for i in r.items), *(c.name for c in r.categories)]})
labels += ["2023年度安全生产工作总结", "abc123测试ABC", "第一项：分值10分", "Ⅱ级应急预案", "α测试", "坐班制度落实情況"]
jieba = _jieba()
mine = [jieba.lcut(x) for x in labels]
lazy = type(jieba.dt.FREQ).__name__
if sys.argv[1] == "compare":
    stock = jieba.Tokenizer()
    stock.tmp_dir = tempfile.mkdtemp()
    stock.initialize()
    print(json.dumps({"lazy": lazy, "same": mine == [stock.lcut(x) for x in labels], "n": len(labels)}))
else:
    print(json.dumps({"lazy": lazy, "words": mine[-6:]}))
"""


def _run(mode: str, cache: Path, tmp: Path) -> dict:
    env = {**os.environ, "SELFEVAL_CACHE_DIR": str(cache), "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp)}
    out = subprocess.run([sys.executable, "-c", _SEGMENT, mode], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120, encoding="utf-8")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cached_dictionary_segments_as_jieba_does_and_lives_in_the_cache_folder(tmp_path):
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    first = _run("compare", cache, tmp)
    assert first["lazy"] == "LazyFreq" and first["same"] is True and first["n"] > 100
    assert [p.name.split("-")[0] for p in cache.iterdir()] == ["jieba"]
    assert [p.is_dir() for p in tmp.iterdir()] == [True]  # only the stock tokenizer's folder, for comparing
    built = next(cache.iterdir()).stat().st_mtime_ns
    second = _run("read", cache, tmp)  # read from the file written by the first process, not rebuilt
    assert second["lazy"] == "LazyFreq" and next(cache.iterdir()).stat().st_mtime_ns == built
    assert second["words"][0] == ["2023", "年度", "安全", "生产", "工作", "总结"]


def test_a_damaged_cache_file_is_rebuilt(tmp_path):
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    _run("read", cache, tmp)
    path = next(cache.iterdir())
    path.write_bytes(b"not a dictionary")
    again = _run("read", cache, tmp)
    assert again["lazy"] == "LazyFreq" and again["words"][0] == ["2023", "年度", "安全", "生产", "工作", "总结"]
    assert path.read_bytes()[:5] == b"SEJB1"
