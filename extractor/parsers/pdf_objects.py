"""A PDF page's objects read by pdfium, in the shapes pdfplumber gives, so pdfminer never interprets the page.

pdfplumber reads a page by having pdfminer interpret its content streams in Python (most of a PDF's reading
time). ``PdfiumObjects`` reads the same page with pdfium (C, through pypdfium2) and returns the dict that
pdfplumber's ``Page.objects`` holds - "char", "line", "rect", "curve", "image" lists of dicts with pdfplumber's
keys and coordinates (x0, x1, top, bottom from the page's top-left, y0, y1 from its bottom) - to be put in a
pdfplumber Page's ``_objects`` before anything reads it (pdfplumber caches ``objects`` there; ``edges`` and the
table finder with explicit lines are computed from it, and never touch pdfminer).

What is taken from where, to equal pdfminer's objects:

- chars: pdfium's text page (its own generated spaces and line breaks skipped), put back in content stream
  order (text objects in page order; pdfium orders a line's objects left to right). The box is pdfminer's,
  font based: from the origin over the advance, and from the font's descent over the font size, with
  pdfminer's own font object (matched to pdfium's by name, and by the texts drawn when subsets share one)
  for the descent, the font name and the advance width (pdfium's loose box is as wide as the glyph's ink
  where that passes the advance: a font not embedded), so the numbers are pdfminer's, not pdfium's;
- lines, rects, curves: pdfium's path objects, each subpath classified by pdfminer's own rule
  (converter.paint_path: "ml"/"mlh" a line, a closed axis-aligned "mlllh"/"mllll" a rect, anything else a
  curve), points rounded back to 4 decimals (pdfium keeps single precision) and put through the matrix;
- images: pdfium's image objects, by their bounds.

Anything this does not read exactly raises ``Unsupported`` and the caller reads the whole document with
pdfplumber as before (never a partial read): a page /Rotate or a MediaBox not at the origin, a form XObject,
a Type3 or vertical font, a char whose matrix is not upright and axis-aligned (sideways text), right-to-left
text, an /ActualText span, a char without a Unicode mapping or drawn as several, a font or a width pdfminer's
font does not tell unambiguously, any char pdfium's text page may have left out where the parser would read
the page otherwise (see pdf_spaces: a lone space beside a digit, a space after a kerning gap, a text object
drawn twice), a page count that differs, or any pdfium error. The spaces of a run pdfium folds to its first, and
lone spaces between two CJK chars, are left out (the parser reads the page the same without them). Chars'
coordinates are pdfium's single-precision ones: they equal pdfminer's to about 1e-4 pt.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from operator import itemgetter
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as raw
from pdfminer.fontmetrics import FONT_METRICS
from pdfminer.pdffont import PDFCIDFont, PDFType3Font
from pdfminer.pdftypes import PDFObjRef, resolve1

from .pdf_spaces import Unsupported, check_kept

_SUBSET = re.compile(r"^[A-Z]{6}\+")
_WIDTH_TOLERANCE = 0.005  # points: pdfium's box is single-precision


# FPDFText_GetTextObject returning the object's address as an int: a key per char without a ctypes cast.
_text_object_address = ctypes.CFUNCTYPE(ctypes.c_void_p, raw.FPDF_TEXTPAGE, ctypes.c_int)(
    ctypes.cast(raw.FPDFText_GetTextObject, ctypes.c_void_p).value
)


# FPDFPage_GetObject returning the object's address as an int, for the same key of a text object.
_object_address = ctypes.CFUNCTYPE(ctypes.c_void_p, raw.FPDF_PAGE, ctypes.c_int)(
    ctypes.cast(raw.FPDFPage_GetObject, ctypes.c_void_p).value
)


def _address(handle: Any) -> int:
    return ctypes.cast(handle, ctypes.c_void_p).value or 0


def _matrix(obj: Any) -> tuple[float, float, float, float, float, float]:
    """Given a pdfium page object, return its matrix, rounded back to the decimals a content stream writes."""
    m = raw.FS_MATRIX()
    if not raw.FPDFPageObj_GetMatrix(obj, m):
        raise Unsupported("no matrix")
    return (round(m.a, 6), round(m.b, 6), round(m.c, 6), round(m.d, 6), round(m.e, 4), round(m.f, 4))


def _identity(font: Any) -> tuple:
    """Given a pdfminer font, return what its chars' boxes depend on: two fonts alike in it are one for the boxes
    (two subsets without a FontDescriptor are both 'unknown' to pdfminer, yet their widths may differ)."""
    return (font.fontname, font.get_descent(), font.default_width, frozenset(font.widths.items()))


def _standard_widths_differ(font: Any, spec: Any) -> bool:
    """Given a pdfminer font and its font dict, return whether it is a standard font (pdfminer takes its widths
    from the font's metrics) whose /Widths array says otherwise: pdfium draws with /Widths, so its origins would
    not be pdfminer's."""
    if getattr(font, "basefont", None) not in FONT_METRICS or "Widths" not in spec:
        return False
    first = resolve1(spec.get("FirstChar", 0))
    for i, width in enumerate(resolve1(spec["Widths"]) or []):
        width = resolve1(width)
        if not isinstance(width, (int, float)) or abs(font.char_width(first + i) * 1000 - width) > 0.5:
            return True
    return False


def _font_unicodes(font: Any) -> set[str]:
    """Given a pdfminer font, return the texts its codes map to (to tell apart subsets of one font)."""
    umap = getattr(font, "unicode_map", None)
    if umap is not None and hasattr(umap, "cid2unichr"):
        return set(umap.cid2unichr.values())
    return set(getattr(font, "cid2unicode", {}).values())


def text_widths(font: Any) -> dict[str, set[float]]:
    """Given a pdfminer font (not one with a Unicode CMap, see char_widths), return for each text it draws the
    widths (text space, per unit of font size) of the codes that draw it: the codes of its ToUnicode map, and
    for a simple font the other codes of its encoding (pdfminer's to_unichr looks there second)."""
    widths: dict[str, set[float]] = {}
    umap = getattr(font, "unicode_map", None)
    mapped = list(umap.cid2unichr) if hasattr(umap, "cid2unichr") else []
    cids = mapped if isinstance(font, PDFCIDFont) else [*mapped, *(c for c in range(256) if c not in set(mapped))]
    for cid in cids:
        try:
            text = font.to_unichr(cid)
        except Exception:  # no text for that code: pdfminer would not give it this text either
            continue
        if cid in mapped or text not in widths:  # the ToUnicode map's codes first
            widths.setdefault(text, set()).add(font.char_width(cid))
    return widths


def has_actual_text(obj: Any) -> bool:
    """Given a pdfium page object, return whether a marked-content span with /ActualText encloses it."""
    for i in range(raw.FPDFPageObj_CountMarks(obj)):
        mark = raw.FPDFPageObj_GetMark(obj, i)
        if raw.FPDFPageObjMark_GetParamValueType(mark, b"ActualText") != raw.FPDF_OBJECT_UNKNOWN:
            return True
    return False


def subpaths_to_objects(subpaths: list[list[tuple]], linewidth: float, stroke: bool, fill: bool) -> list[dict]:
    """Given a path's subpaths as pdfminer ops (("m", x, y), ("l", x, y), ("c", x, y), ("h",)) in page space,
    return pdfminer's objects for them as dicts of kind ("line", "rect", "curve"), points (pdfminer's y up),
    by pdfminer's own rule (converter.paint_path)."""
    out = []
    for path in subpaths:
        shape = "".join(op[0] for op in path)
        if len(shape) < 2 or shape[0] != "m":
            continue
        pts = [op[1:] if op[0] != "h" else path[0][1:] for op in path]
        if len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:  # a redundant "l" before "h"
            shape = shape[:-2] + "h"
            pts.pop()
        kind = "curve"
        if shape in ("mlh", "ml"):
            kind, pts = "line", pts[:2]
        elif shape in ("mlllh", "mllll"):
            (x0, y0), (x1, y1), (x2, y2), (x3, y3), _ = pts
            square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (
                y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0
            )
            if pts[0] == pts[4] and square:
                kind = "rect"
        out.append({"kind": kind, "pts": pts, "linewidth": linewidth, "stroke": stroke, "fill": fill})
    return out


class PdfiumObjects:
    """A PDF opened with pdfium beside the same PDF opened with pdfplumber; ``page_objects(index, page)`` returns
    the objects of the pdfplumber page, read by pdfium (see the module docstring), or raises Unsupported."""

    def __init__(self, path: Path | str, pdf: Any) -> None:
        self.pdf = pdf
        self.fonts: dict[int, Any] = {}  # pdfminer font per font object id (or id of an inline spec)
        self.widths: dict[tuple[int, str], set[float]] = {}  # (id of a pdfminer font, text) -> its char widths
        self.width_tables: dict[int, dict[str, set[float]]] = {}
        self.advances: dict[tuple[int, str, float, float], float] = {}  # advance's arguments -> its result
        try:
            self.doc = pdfium.PdfDocument(path)
        except Exception as error:  # pdfium refuses it (encrypted, damaged): pdfplumber says why
            raise Unsupported(f"pdfium: {error}") from error
        if len(self.doc) != len(pdf.pages):
            self.close()
            raise Unsupported("page count")

    def close(self) -> None:
        self.doc.close()

    def __enter__(self) -> PdfiumObjects:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- fonts ------------------------------------------------------------------------------------

    def page_fonts(self, page: Any) -> dict[str, list[Any]]:
        """Given a pdfplumber page, return its font resources' pdfminer fonts by BaseFont without subset prefix
        (how pdfium names a font); raise Unsupported for a Type3 or vertical font."""
        resources = resolve1(page.page_obj.resources) or {}
        by_name: dict[str, list[Any]] = {}
        for spec in (resolve1(resources.get("Font")) or {}).values():
            key = spec.objid if isinstance(spec, PDFObjRef) else id(spec)
            font = self.fonts.get(key)
            if font is None:
                objid = spec.objid if isinstance(spec, PDFObjRef) else None
                font = self.fonts[key] = self.pdf.rsrcmgr.get_font(objid, resolve1(spec))
            if isinstance(font, PDFType3Font) or font.is_vertical():
                raise Unsupported("Type3 or vertical font")
            if _standard_widths_differ(font, resolve1(spec)):
                raise Unsupported("standard font with other widths")
            base = resolve1(resolve1(spec).get("BaseFont"))
            name = getattr(base, "name", base)
            # pdfminer keeps a name that is no UTF-8 as bytes (seen in pdfplumber's issue-336/842 examples)
            name = _SUBSET.sub("", name.decode("latin-1") if isinstance(name, bytes) else str(name))
            if font not in by_name.setdefault(name, []):
                by_name[name].append(font)
        return by_name

    @staticmethod
    def font_of(candidates: list[Any], texts: set[str]) -> Any:
        """Given the pdfminer fonts pdfium's font name may stand for and the texts drawn with it, return the
        one it is (subsets of one font have one name in pdfium and different names in pdfminer)."""
        if len({_identity(f) for f in candidates}) > 1:
            candidates = [f for f in candidates if texts <= _font_unicodes(f)]
        if not candidates or len({_identity(f) for f in candidates}) > 1:
            raise Unsupported("font not matched")
        return candidates[0]

    def char_widths(self, font: Any, text: str) -> set[float]:
        """Given a pdfminer font and a char's text, return pdfminer's widths (text space, per unit of font size)
        of the codes that draw that text in that font (one, but for a font drawing one text with two glyphs)."""
        key = (id(font), text)
        found = self.widths.get(key)
        if found is not None:
            return found
        cmap = getattr(getattr(font, "cmap", None), "attrs", {}).get("CMapName", "")
        if isinstance(font, PDFCIDFont) and ("UCS2" in cmap or "UTF16" in cmap):
            # A Unicode CMap (reportlab's CJK fonts): the code is the text's UTF-16; decode it to its CID.
            cids = list(font.decode(text.encode("utf-16-be")))
            found = {font.char_width(cids[0])} if len(cids) == 1 else set()
        else:
            table = self.width_tables.get(id(font))
            if table is None:
                table = self.width_tables[id(font)] = text_widths(font)
            found = table.get(text, set())
        self.widths[key] = found
        return found

    def advance(self, font: Any, text: str, scale: float, loose: float) -> float:
        """Given a char's pdfminer font, text, font size in page space and pdfium's loose box width, return its
        advance in page space, pdfminer's char width: pdfium's box is as wide as the advance, or as the glyph's
        ink where that passes it (a font not embedded, drawn with a stand-in). Raise Unsupported when that
        does not tell which width it is."""
        key = (id(font), text, scale, loose)
        found = self.advances.get(key)
        if found is None:
            found = self.advances[key] = self._advance(font, text, scale, loose)
        return found

    def _advance(self, font: Any, text: str, scale: float, loose: float) -> float:
        widths = {w * scale for w in self.char_widths(font, text)}
        same = {w for w in widths if abs(w - loose) <= _WIDTH_TOLERANCE}
        if len(same) == 1:
            return same.pop()
        # (no width at all, but ink: pdfminer has no width for it, pdfium advanced by a stand-in font's width)
        if len(widths) == 1 and not same and 0 < (w := widths.pop()) < loose:
            return w
        raise Unsupported(f"width of {text!r}")

    # --- one page ---------------------------------------------------------------------------------

    def page_objects(self, index: int, page: Any) -> dict[str, list[dict]]:
        """Given a page's 0-based index and its pdfplumber Page, return its objects as pdfplumber's
        ``Page.objects`` would hold them; raise Unsupported when they could differ, or when reading them failed
        in any way (a hostile or odd PDF: the pdfminer path then reads it, or says what is wrong with it)."""
        try:
            return self._page_objects(index, page)
        except Unsupported:
            raise
        except Exception as error:  # noqa: BLE001 - the fallback is exact, so any failure here only costs time
            raise Unsupported(f"pdfium path failed: {type(error).__name__}: {error}") from error

    def _page_objects(self, index: int, page: Any) -> dict[str, list[dict]]:
        if page.rotation or tuple(page.mediabox[:2]) != (0, 0):
            raise Unsupported("rotated or offset page")
        handle = raw.FPDF_LoadPage(self.doc.raw, index)
        if not handle:
            raise Unsupported("page")
        try:
            if raw.FPDFPage_GetRotation(handle):
                raise Unsupported("rotated page")
            box = [ctypes.c_float() for _ in range(4)]
            if raw.FPDFPage_GetMediaBox(handle, *box) and (box[0].value, box[1].value) != (0.0, 0.0):
                raise Unsupported("offset MediaBox")
            objects, text_objects = self.shapes(handle, page)
            textpage = raw.FPDFText_LoadPage(handle)
            try:
                objects["char"] = self.chars(textpage, page, text_objects)
            finally:
                raw.FPDFText_ClosePage(textpage)
        finally:
            raw.FPDF_ClosePage(handle)
        return {kind: objs for kind, objs in objects.items() if objs}

    def shapes_of(self, index: int, page: Any) -> tuple[dict[str, list[dict]], dict[int, tuple[int, Any]]]:
        """Given a page's 0-based index and its pdfplumber Page, return its lines, rects, curves and images
        alone (see shapes), whatever pdfium makes of its text."""
        handle = raw.FPDF_LoadPage(self.doc.raw, index)
        if not handle:
            raise Unsupported("page")
        try:
            return self.shapes(handle, page)
        finally:
            raw.FPDF_ClosePage(handle)

    def shapes(self, handle: Any, page: Any) -> tuple[dict[str, list[dict]], dict[int, tuple[int, Any]]]:
        """Given a pdfium page and its pdfplumber Page, return its lines, rects, curves and images as pdfplumber
        dicts, and the addresses of its text objects."""
        height, doctop = float(page.height), float(page.initial_doctop)
        objects: dict[str, list[dict]] = {"line": [], "rect": [], "curve": [], "image": []}
        text_objects: dict[int, tuple[int, Any]] = {}
        number = page.page_number
        for i in range(raw.FPDFPage_CountObjects(handle)):
            obj = raw.FPDFPage_GetObject(handle, i)
            kind = raw.FPDFPageObj_GetType(obj)
            if kind == raw.FPDF_PAGEOBJ_TEXT:
                if has_actual_text(obj):
                    raise Unsupported("/ActualText")  # pdfium's text page reads that text instead
                text_objects[_object_address(handle, i) or 0] = (i, obj)
            elif kind == raw.FPDF_PAGEOBJ_PATH:
                for shape in self.path_shapes(obj):
                    xs, ys = [p[0] for p in shape["pts"]], [p[1] for p in shape["pts"]]
                    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
                    objects[shape.pop("kind")].append({
                        "object_type": None, "page_number": number, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                        "width": x1 - x0, "height": y1 - y0, "top": height - y1, "bottom": height - y0,
                        "doctop": doctop + height - y1, **shape,
                        "pts": [(x, height - y) for x, y in shape["pts"]],
                    })  # fmt: skip
            elif kind == raw.FPDF_PAGEOBJ_IMAGE:
                b = [ctypes.c_float() for _ in range(4)]
                if not raw.FPDFPageObj_GetBounds(obj, *b):
                    raise Unsupported("image bounds")
                x0, y0, x1, y1 = (v.value for v in b)
                w, h = ctypes.c_uint(), ctypes.c_uint()
                raw.FPDFImageObj_GetImagePixelSize(obj, w, h)
                objects["image"].append({
                    "object_type": "image", "page_number": number, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                    "width": x1 - x0, "height": y1 - y0, "top": height - y1, "bottom": height - y0,
                    "doctop": doctop + height - y1, "srcsize": (w.value, h.value),
                })  # fmt: skip
            elif kind == raw.FPDF_PAGEOBJ_FORM:
                raise Unsupported("form XObject")
        for kind, objs in objects.items():
            for o in objs:
                o["object_type"] = kind
        return objects, text_objects

    @staticmethod
    def path_shapes(obj: Any) -> list[dict]:
        """Given a pdfium path object, return pdfminer's lines, rects and curves for it (see
        subpaths_to_objects), points in page space, y up."""
        a, b, c, d, e, f = _matrix(obj)
        fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
        raw.FPDFPath_GetDrawMode(obj, fill_mode, stroke)
        width = ctypes.c_float()
        raw.FPDFPageObj_GetStrokeWidth(obj, width)
        subpaths: list[list[tuple]] = []
        x, y = ctypes.c_float(), ctypes.c_float()
        bezier = 0
        for i in range(raw.FPDFPath_CountSegments(obj)):
            seg = raw.FPDFPath_GetPathSegment(obj, i)
            kind = raw.FPDFPathSegment_GetType(seg)
            raw.FPDFPathSegment_GetPoint(seg, x, y)
            # pdfium keeps single-precision points: rounded back to the content stream's decimals (4 are plenty
            # for points on a page), rules land where pdfminer puts them, not 3e-5 pt off.
            px, py = round(x.value, 4), round(y.value, 4)
            point = (a * px + c * py + e, b * px + d * py + f)
            if kind == raw.FPDF_SEGMENT_MOVETO:
                subpaths.append([("m", *point)])
            elif not subpaths:
                raise Unsupported("path without a start")
            elif kind == raw.FPDF_SEGMENT_LINETO:
                subpaths[-1].append(("l", *point))
            elif kind == raw.FPDF_SEGMENT_BEZIERTO:
                bezier = (bezier + 1) % 3  # a Bézier is three points; pdfminer keeps its end point
                if bezier:
                    continue
                subpaths[-1].append(("c", *point))
            else:
                raise Unsupported("path segment")
            if raw.FPDFPathSegment_GetClose(seg):
                subpaths[-1].append(("h",))
        if bezier:
            raise Unsupported("broken Bézier")
        return subpaths_to_objects(subpaths, width.value, bool(stroke.value), fill_mode.value != 0)

    def chars(self, textpage: Any, page: Any, text_objects: dict[int, tuple[int, Any]]) -> list[dict]:
        """Given a pdfium text page, its pdfplumber Page and its text objects (address -> (index, object)),
        return its chars as pdfplumber dicts (pdfminer's font-based boxes, in content stream order)."""
        height, doctop, number = float(page.height), float(page.initial_doctop), page.page_number
        per_object: dict[int, tuple[int, float]] = {}  # text object -> (pdfium font's address, font size)
        handles: dict[int, Any] = {}  # pdfium font's address -> the font
        scales: dict[int, tuple[float, float]] = {}  # text object -> its matrix's (a, d)
        box, m = raw.FS_RECTF(), raw.FS_MATRIX()
        ox, oy = ctypes.c_double(), ctypes.c_double()
        rows: list[list] = []
        last = None
        previous_space = False  # the char before (generated or not) is a space
        for i in range(raw.FPDFText_CountChars(textpage)):
            code = raw.FPDFText_GetUnicode(textpage, i)
            if raw.FPDFText_IsGenerated(textpage, i):
                if code == 32 and rows:
                    rows[-1][-1] = True  # a generated space follows it
                previous_space = code == 32
                continue
            if code < 32 or raw.FPDFText_HasUnicodeMapError(textpage, i) == 1:  # (2: pdfium's own hyphen)
                raise Unsupported("char without Unicode")
            text = chr(code)
            if unicodedata.bidirectional(text) in ("R", "AL"):
                raise Unsupported("right-to-left text")  # pdfium's text page reorders it
            key = _text_object_address(textpage, i) or 0
            if key not in per_object:
                size = ctypes.c_float()
                if key not in text_objects or not raw.FPDFTextObj_GetFontSize(obj := text_objects[key][1], size):
                    raise Unsupported("text object")
                font = raw.FPDFTextObj_GetFont(obj)
                handles.setdefault(_address(font), font)
                per_object[key] = (_address(font), size.value)
                # a char's matrix is its text object's (pdfium: the object's text matrix in its form's), so it is
                # asked once per object: a call for each char cost a seventh of reading them
                raw.FPDFText_GetMatrix(textpage, i, m)
                if m.b or m.c or m.a <= 0 or m.d <= 0:
                    raise Unsupported("sideways or mirrored text")
                scales[key] = (m.a, m.d)
            a, d = scales[key]
            raw.FPDFText_GetLooseCharBox(textpage, i, box)
            raw.FPDFText_GetCharOrigin(textpage, i, ox, oy)
            here = (key, ox.value, oy.value)
            if here == last:
                raise Unsupported("one code drawn as several chars")  # pdfminer keeps it one char ("fi")
            last = here
            rows.append([text, key, a, d, ox.value, oy.value, box.right - box.left, i, previous_space, False])
            previous_space = code == 32
        if not rows:
            if text_objects:
                raise Unsupported("text object left out by pdfium")
            return []
        matched = self.match_fonts(page, rows, per_object, handles)
        geometry = (height, doctop, number)
        chars: list[dict] = []
        order: list[tuple] = []
        for text, key, a, d, x, y, loose, i, _, _ in rows:
            handle, size = per_object[key]
            font = matched[handle]
            chars.append(make_char(text, font, size, (a, d, x, y), self.advance(font, text, a * size, loose), geometry))
            order.append((text_objects[key][0], i, 0))

        check_kept(text_objects, rows, chars)
        # pdfium's text page orders a line's text objects left to right; pdfminer keeps the content stream's
        # order: text objects in page order, each one's chars in its own order.
        return [c for _, c in sorted(zip(order, chars, strict=True), key=itemgetter(0))]

    def match_fonts(self, page: Any, rows: list[list], per_object: dict, handles: dict) -> dict[int, Any]:
        """Given a page, its chars' rows, their text objects' fonts and pdfium's fonts, return the pdfminer font
        for each pdfium font, told apart by the texts drawn with it when one name stands for several."""
        texts: dict[int, set[str]] = {}
        for row in rows:
            texts.setdefault(per_object[row[1]][0], set()).add(row[0])
        fonts = self.page_fonts(page)
        matched = {}
        for handle, font in handles.items():
            buf = ctypes.create_string_buffer(512)
            raw.FPDFFont_GetBaseFontName(font, buf, 512)
            name = _SUBSET.sub("", buf.value.decode("utf-8", "replace"))
            matched[handle] = self.font_of(fonts.get(name, []), texts.get(handle, set()))
        return matched


def make_char(
    text: str,
    font: Any,
    size: float,
    at: tuple[float, float, float, float],
    advance: float,
    geometry: tuple[float, float, int],
) -> dict:
    """Given a char's text, pdfminer font, font size (text space), (a, d, x, y) of its matrix (x, y its origin),
    advance (page space) and the page's (height, doctop, number), return it as pdfplumber's char dict: the box
    from the origin over the advance, and from the font's descent over the font size (pdfminer's LTChar)."""
    a, d, x, y = at
    height, doctop, number = geometry
    y0 = y + d * font.get_descent() * size
    y1 = y0 + d * size
    x1 = x + advance
    return {
        "object_type": "char", "page_number": number, "text": text, "fontname": font.fontname,
        "size": y1 - y0, "adv": advance / a, "upright": True, "matrix": (a, 0.0, 0.0, d, x, y),
        "x0": x, "y0": y0, "x1": x1, "y1": y1, "width": x1 - x, "height": y1 - y0,
        "top": height - y1, "bottom": height - y0, "doctop": doctop + height - y1,
    }  # fmt: skip
