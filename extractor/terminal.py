"""Text that reaches a terminal, made inert.

File, member and attachment names come from outside (an e-mail's sender chose them), and so does every cell of a
form. Printed raw, an ESC sequence clears the screen, retitles the window or writes the clipboard (OSC 52), a CR or
LF forges a line of output, and a bidi override makes ``exe.docx`` read as ``xcod.exe``. `safe` shows every such
character as an escape instead, so what a person reads is what the data holds.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

# Characters no name or cell needs raw on a terminal: C0 and C1 controls and DEL (category Cc), invisible format
# characters such as the bidi embeddings, overrides and isolates, zero-width joiners and the BOM (Cf), and the
# Unicode line and paragraph separators (Zl, Zp) that some terminals break lines at.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def is_unsafe(ch: str) -> bool:
    """Given one character, return whether it must not reach a terminal raw."""
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def escape_char(ch: str) -> str:
    """Given one character, return it as Python writes it in a string literal: \\r, \\x1b, \\u202e, \\U000e0001."""
    if ch in _NAMED:
        return _NAMED[ch]
    n = ord(ch)
    if n < 0x100:
        return f"\\x{n:02x}"
    return f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def safe(text: Any) -> str:
    """Given any value, return its text with every control, format and line-separator character escaped
    (``"a\\x1b[2Jb"`` -> ``"a\\\\x1b[2Jb"``); '' for None. Idempotent: the result holds no such character."""
    s = "" if text is None else str(text)
    if not any(is_unsafe(ch) for ch in s):  # the common case: nothing to copy
        return s
    return "".join(escape_char(ch) if is_unsafe(ch) else ch for ch in s)


def safe_json(value: Any, **kwargs: Any) -> str:
    """Given a JSON-able value, return ``json.dumps(value, ensure_ascii=False, **kwargs)`` with the characters
    json leaves raw (DEL, C1 controls, bidi and other format characters, line separators) written as \\uXXXX
    escapes: the same JSON value, readable Chinese, and nothing a terminal acts on."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    # json writes every control inside a string as an escape, so a raw LF is the indent's line break: kept.
    if not any(is_unsafe(ch) and ch != "\n" for ch in text):
        return text
    return "".join(_json_escape(ch) if is_unsafe(ch) and ch != "\n" else ch for ch in text)


def _json_escape(ch: str) -> str:
    # JSON's structure is ASCII without controls, so an unsafe character can only be inside a string, where a
    # \\u escape (a surrogate pair beyond the BMP) means the same character.
    n = ord(ch)
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"
