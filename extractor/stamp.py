"""What reads the files: selfeval's version and the optional parts installed beside it.

Every stored record carries both, so a file that failed for want of a part (a scan read before the OCR extra was
installed, a .doc before LibreOffice) is read again automatically once the version or the extras differ.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from functools import lru_cache

from . import __version__

# The optional distributions whose presence changes what can be read, by the name the stamp gives them.
OPTIONAL_DISTRIBUTIONS = {"ocr": "rapidocr-onnxruntime", "onnxruntime": "onnxruntime", "opencv": "opencv-python",
                          "msg": "extract-msg"}
_IMPORT_NAMES = {"ocr": "rapidocr_onnxruntime", "onnxruntime": "onnxruntime", "opencv": "cv2",
                 "msg": "extract_msg"}


def _dist_version(name: str, module: str) -> str | None:
    # find_spec looks for the module without importing it (importing onnxruntime costs seconds).
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "present"  # importable without metadata, e.g. a headless OpenCV wheel


@lru_cache(maxsize=1)
def installed_extras() -> dict[str, str | bool | None]:
    """Return the optional parts installed now: each extra's distribution version (None when absent) and whether
    LibreOffice, and its Calc, are found."""
    from .parsers.legacy import find_soffice
    from .parsers.sheets_convert import has_calc

    out: dict[str, str | bool | None] = {key: _dist_version(dist, _IMPORT_NAMES[key])
                                         for key, dist in OPTIONAL_DISTRIBUTIONS.items()}
    soffice = find_soffice()
    out["libreoffice"] = soffice is not None
    out["libreoffice_calc"] = soffice is not None and has_calc(soffice)  # .xls, .et and .ods need Calc
    return out


def extras_json() -> str:
    """Return installed_extras() as the compact, key-sorted JSON text stored with every record."""
    return json.dumps(installed_extras(), sort_keys=True, separators=(",", ":"))


def current() -> dict[str, str]:
    """Return the stamp stored with a record: {"reader_version": …, "extras": …}."""
    return {"reader_version": __version__, "extras": extras_json()}
