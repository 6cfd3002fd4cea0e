"""JSON text as ``json.dumps(value, ensure_ascii=False, indent=2)`` writes it, about twice as fast.

The standard library encodes with its pure-Python encoder whenever indent is set (the C one only writes compact
JSON); over a 10,000-form export that was a third of the time. Here each container is one join of its parts and
every string goes through the same C function json.dumps uses (``encode_basestring``), so the text is the same
byte for byte (tests/test_export_stream.py compares it with json.dumps). Numbers as json.dumps writes them
(int.__repr__, float.__repr__, NaN and ±Infinity); tuples as lists; int, float, bool and None keys written as
strings, as json.dumps does; a key or value of another type is a TypeError, as in json.dumps. No
circular-reference check: export records are trees.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _str  # the C function json.dumps(ensure_ascii=False) uses
from typing import Any

_INT = int.__repr__
_FLOAT = float.__repr__
_INF = float("inf")
_KEYS: dict[str, str] = {}  # '"code": ' per key: export records repeat a few dozen keys millions of times


def _other(x: Any, pad: str) -> str:
    """A value the fast paths left: bool, subclasses, tuples, special floats; else TypeError as json.dumps."""
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, (dict, list, tuple)):
        return _container(x, pad)
    if isinstance(x, str):
        return _str(x)
    if isinstance(x, int):
        return _INT(x)
    if isinstance(x, float):
        if x != x:
            return "NaN"
        if x in (_INF, -_INF):
            return "Infinity" if x > 0 else "-Infinity"
        return _FLOAT(x)
    raise TypeError(f"Object of type {type(x).__name__} is not JSON serializable")


def _key(k: Any) -> str:
    key = _KEYS.get(k) if type(k) is str else None
    if key is None:
        if isinstance(k, str):
            key = _str(k) + ": "
            if len(_KEYS) < 10_000:
                _KEYS[k] = key
        elif k is None or isinstance(k, (bool, int, float)):  # as json.dumps: the key as its JSON text, quoted
            text = _other(k, "") if k is not None else "null"
            key = _str(text) + ": "
        else:
            raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")
    return key


def _container(v: Any, pad: str) -> str:
    """Given a dict, list or tuple and the indentation of its line, return its JSON text."""
    inner = pad + "  "
    parts: list[str] = []
    add = parts.append
    if isinstance(v, dict):
        if not v:
            return "{}"
        for k, x in v.items():
            t = type(x)
            if t is str:
                add(_key(k) + _str(x))
            elif x is None:
                add(_key(k) + "null")
            elif t is int:
                add(_key(k) + _INT(x))
            elif t is dict or t is list:
                add(_key(k) + _container(x, inner))
            elif t is float and x == x and -_INF < x < _INF:
                add(_key(k) + _FLOAT(x))
            else:
                add(_key(k) + _other(x, inner))
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "}"
    if not v:
        return "[]"
    for x in v:
        t = type(x)
        if t is str:
            add(_str(x))
        elif t is dict or t is list:
            add(_container(x, inner))
        elif t is int:
            add(_INT(x))
        elif x is None:
            add("null")
        elif t is float and x == x and -_INF < x < _INF:
            add(_FLOAT(x))
        else:
            add(_other(x, inner))
    return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + pad + "]"


def value_to_json(value: Any, pad: str = "") -> str:
    """Given a JSON-able value and the indentation of the line it starts on, return its text as
    json.dumps(value, ensure_ascii=False, indent=2) writes it (pad: that text nested in a list or dict)."""
    if value is None:
        return "null"
    return _other(value, pad)
