"""jieba's word dictionary, read lazily from a cache file in the user's cache folder.

jieba.initialize() unmarshals its whole prefix dictionary (about 580,000 entries, a second of CPU on a slow
machine) in every process that segments a label, although a label only ever looks up its own substrings. Here
the same dictionary (jieba's own gen_pfdict of its dict.txt, so the same words, frequencies and total) is
stored once, split by first character, and each part is read the first time a label holds that character.
Segmentation is unchanged: jieba's cutter asks the dictionary `frag in FREQ`, `FREQ[frag]` and
`FREQ.get(frag)` only, and every substring starting with a character is in that character's part.

The cache file is written next to nothing of the user's: `%LOCALAPPDATA%\\selfeval\\Cache` on Windows,
`~/Library/Caches/selfeval` on macOS, `$XDG_CACHE_HOME/selfeval` or `~/.cache/selfeval` elsewhere
($SELFEVAL_CACHE_DIR overrides). It is named by jieba's version and dictionary size, written to a temporary
file and renamed into place, so processes building it at once never read half a file. Where no cache can be
written the dictionary is built in memory, as jieba would.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

CACHE_ENV = "SELFEVAL_CACHE_DIR"
_MAGIC = b"SEJB1"
_HEADER = struct.Struct("<5sQ")  # magic, length of the marshalled index that follows


def user_cache_dir() -> Path:
    """Return the folder for selfeval's caches, the platform's usual place for them (see the module doc)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "selfeval" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "selfeval"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "selfeval"


class LazyFreq:
    """jieba's prefix dictionary (word or prefix -> frequency, 0 for a prefix only) read one first character at
    a time from the cache file."""

    def __init__(self, data: bytes, index: dict[str, tuple[int, int]], start: int) -> None:
        # The file's bytes are kept (a few MB): unmarshalling them all is the cost this class avoids.
        self._data = memoryview(data)
        self._index = index
        self._start = start
        self._parts: dict[str, dict[str, int]] = {}

    def _part(self, ch: str) -> dict[str, int]:
        part = self._parts.get(ch)
        if part is None:
            where = self._index.get(ch)
            part = {}
            if where is not None:
                at = self._start + where[0]
                part = marshal.loads(self._data[at : at + where[1]])
            self._parts[ch] = part
        return part

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and bool(word) and word in self._part(word[0])

    def __getitem__(self, word: str) -> int:
        return self._part(word[0])[word] if word else {}[word]

    def get(self, word: str, default: Any = None) -> Any:
        return self._part(word[0]).get(word, default) if word else default


def _cache_path(jieba: Any) -> Path:
    size = os.path.getsize(Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME)
    return user_cache_dir() / f"jieba-{jieba.__version__}-{size}.dict"


def write_cache(path: Path, freq: dict[str, int], total: int) -> None:
    """Given a path and jieba's prefix dictionary and total, write the split cache file (atomically)."""
    parts: dict[str, dict[str, int]] = {}
    for word, n in freq.items():
        parts.setdefault(word[0], {})[word] = n
    blobs, index, offset = [], {}, 0
    for ch, part in parts.items():
        blob = marshal.dumps(part)
        index[ch] = (offset, len(blob))
        blobs.append(blob)
        offset += len(blob)
    head = marshal.dumps((index, total))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_HEADER.pack(_MAGIC, len(head)))
            f.write(head)
            for blob in blobs:
                f.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_cache(path: Path) -> tuple[LazyFreq, int] | None:
    """Given the cache file's path, return (its lazy dictionary, jieba's total), or None when it is missing or
    not one of ours."""
    try:
        data = path.read_bytes()
        magic, n = _HEADER.unpack_from(data)
        if magic != _MAGIC:
            return None
        index, total = marshal.loads(data[_HEADER.size : _HEADER.size + n])
    except (OSError, ValueError, EOFError, TypeError, struct.error):
        return None
    return LazyFreq(data, index, _HEADER.size + n), total


def load_tokenizer(jieba: Any) -> None:
    """Given the jieba module, make its default tokenizer ready without unmarshalling the whole dictionary: its
    prefix dictionary is the lazy one from the cache file, built (once per machine and jieba version) when
    missing. Where the cache folder cannot be written, jieba loads its dictionary as it always does."""
    tk = jieba.dt
    if tk.initialized:
        return
    path = _cache_path(jieba)
    cached = read_cache(path)
    if cached is None:
        freq, total = tk.gen_pfdict(tk.get_dict_file())
        try:
            write_cache(path, freq, total)
        except OSError:
            tk.FREQ, tk.total, tk.initialized = freq, total, True
            return
        cached = read_cache(path)
        if cached is None:
            tk.FREQ, tk.total, tk.initialized = freq, total, True
            return
    tk.FREQ, tk.total = cached
    tk.initialized = True
