"""What evidence is made of: the Evidence record, an item's stored score cells, the original file found again.

Shared by the evidence writers (``evidence`` for PDFs, scans and the Word row rendering, ``evidence_word`` for
Word page images). Stored cells keep table/row/col 0-based and page 1-based.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evidence_image import Box, PageImage, page_to_strip
from .form import Form, ItemResult
from .terminal import safe

SIDES = ("self", "inspector")
SIDE_NAME = {"self": "自评", "inspector": "督查"}
NO_CELLS = "数据库未保存该行的单元格：请重新导入原文件 (no cells of this row are stored: ingest the file again)"


@dataclass
class Evidence:
    """What a reviewer sees of one item's row. image: a data:image/png;base64 URI of the row with the self cell
    outlined blue and the inspector cell orange; row_html: the row as an HTML <table> from the stored cells;
    where: the place, 1-based; note: why there is no image (or what is doubtful about it)."""

    image: str | None = None
    row_html: str | None = None
    where: str = ""
    note: str | None = None
    width: int | None = None  # the image's pixels
    height: int | None = None
    box: Box | None = None  # the crop, in page points
    page: int | None = None


def add_note(ev: Evidence, note: str) -> None:
    """Given an Evidence and a note, add the note to those it has (the missing-cells note gives way to it)."""
    ev.note = note if not ev.note or ev.note == NO_CELLS else f"{ev.note}；{note}"


def item_cells(it: ItemResult) -> dict[str, dict[str, Any]]:
    """Given an item, return its score cells by side (self, inspector), from the stored cells, else (a database
    from before they were stored) the self cell from the item's provenance."""
    out = {side: cell for side in SIDES if (cell := getattr(it, f"{side}_cell", None))}
    if not out and it.provenance and it.provenance.get("bbox") and it.self_raw is not None:
        out["self"] = it.provenance
    return out


@contextmanager
def original_file(form: Form) -> Iterator[tuple[Path | None, str | None]]:
    """Given a form read from one file, yield (the original file as ingested, None), or (None, why not): missing,
    changed since (its sha256 differs), or a member its container no longer holds. A member is unpacked again into
    a private temporary folder removed when the block ends."""
    with original_files(form) as (paths, why):
        if paths is not None and len(paths) != 1:
            yield None, "该表格由多个文件合成，无整页图 (the form was read from several files: no page image)"
            return
        yield (paths[0] if paths else None), why


@contextmanager
def original_files(form: Form) -> Iterator[tuple[list[Path] | None, str | None]]:
    """Given a form, yield ([the original file as ingested], None); for a form read from several photos of one
    container folder (pages_group: source container!A.jpg+B.jpg), ([each photo], None) in the order their pages
    were read, which is the order of the stored pages; or (None, why not): missing, changed since (its sha256, or
    the group's sha256 of its photos' sha256s, differs), or a member its container no longer holds. Members are
    unpacked again into a private temporary folder removed when the block ends."""
    source = file_source(form.source)
    path_text = str(getattr(form, "path", None) or "")
    from .containers import CONTAINER_SUFFIXES

    # A member's source starts with its container's (a.zip!b.docx); a "!" in a plain file's name makes no member.
    member = "!" in source and source.split("!", 1)[0].lower().endswith(CONTAINER_SUFFIXES)
    if not member:
        candidates = [Path(p) for p in (path_text, source) if p]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            yield None, f"原文件不在原处 (the original file is no longer at {safe(str(candidates[0]))})"
            return
        path, why = _checked(found, form)
        yield ([path] if path else None), why
        return
    container = _container_path(path_text, source)
    if container is None:
        yield None, f"原文件不在原处 (the archive is no longer at {safe(source.split('!', 1)[0])})"
        return
    from .containers import input_to_members
    from .tempdirs import private_dir

    with private_dir("evidence") as work:
        top = source.split("!", 1)[0]
        folder, _, name = source.rpartition("!")
        siblings: dict[str, Path] = {}  # the members beside it: name inside their container -> path
        for m in input_to_members(container, top, work):
            if m.source == source and m.path:
                path, why = _checked(m.path, form)
                yield ([path] if path else None), why
                return
            if m.path and m.source.rpartition("!")[0] == folder:
                siblings[m.source.rpartition("!")[2]] = m.path
        # Photos of one form read together (pages_group) are named by their members' names joined by "+".
        names = _split_group(name, set(siblings)) if "+" in name else None
        if names is None:
            yield None, f"压缩包中已无此文件 (the archive no longer holds {safe(name)})"
            return
        yield _checked_group([siblings[n] for n in names], names, form)


def _split_group(joined: str, names: set[str]) -> list[str] | None:
    """Given a group's member part (A.jpg+B.jpg) and the names of the members beside it, return the names it
    joins, in order (a name may hold a "+" itself: every way of cutting it is tried), or None."""
    if joined in names:
        return [joined]
    for i in (i for i, c in enumerate(joined) if c == "+"):
        head = joined[:i]
        if head in names and (rest := _split_group(joined[i + 1:], names)) is not None:
            return [head, *rest]
    return None


def _checked_group(paths: list[Path], names: list[str], form: Form) -> tuple[list[Path] | None, str | None]:
    from .extract import file_sha256
    from .pages_group import group_sha256, natural_key

    if form.sha256:
        by_name = sorted(zip(names, paths, strict=True), key=lambda pair: natural_key(pair[0]))
        if group_sha256([file_sha256(p) for _, p in by_name]) != form.sha256:
            return None, f"原文件已更改 (the photos have changed since they were read: {safe('+'.join(names))})"
    return paths, None


SHEET_FILE_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods")


def file_source(source: str) -> str:
    """Given a form's source, return the source of the file it was read from: a workbook's sheet
    ("book.xlsx!自评表", "a.zip!book.xlsx!自评表") is a part of its file, not an archive member."""
    head, sep, _sheet = source.rpartition("!")
    return head if sep and head.lower().endswith(SHEET_FILE_SUFFIXES) else source


def _container_path(path_text: str, source: str) -> Path | None:
    for text in (path_text, path_text.split("!", 1)[0], source.split("!", 1)[0]):
        if text and Path(text).is_file():
            return Path(text)
    return None


def _checked(path: Path, form: Form) -> tuple[Path | None, str | None]:
    from .extract import file_sha256  # the same digest the ingest recorded

    if form.sha256 and file_sha256(path) != form.sha256:
        return None, f"原文件已更改 (the original file has changed since it was read: {safe(str(path))})"
    return path, None


def add_strips(rendered: dict[int, PageImage], plans: dict[str, Any], out: dict[str, Evidence]) -> None:
    """Given rendered pages and per item its (page, band, score cell boxes), put each row's strip into out."""
    for code, plan in plans.items():
        if not plan:
            continue
        page_no, band, boxes = plan
        page = rendered.get(page_no)
        if page is None:
            add_note(out[code], f"原文件没有第{page_no}页 (the file has no page {page_no})")
            continue
        strip = page_to_strip(page, band, boxes)
        ev = out[code]
        ev.image, ev.width, ev.height, ev.box, ev.page = strip.uri, strip.width, strip.height, strip.box, page_no
        missing = [SIDE_NAME[s] for s in boxes if s not in strip.outlines]
        if missing:
            add_note(ev, f"{'、'.join(missing)}格未能标出 (a score cell could not be outlined)")


def label_key(text: str | None) -> str:
    """Given a label, return it without spaces and line breaks, to find it again in another rendering."""
    return re.sub(r"\s+", "", text or "")


def item_table(it: ItemResult) -> int | None:
    """Given an item, return the 0-based index of the table its row is in."""
    for cell in (it.self_cell, it.inspector_cell, it.provenance, *(it.row_cells or [])):
        if cell and isinstance(cell.get("table"), int):
            return cell["table"]
    return None


def table_of(form: Form, index: Any) -> dict[str, Any] | None:
    """Given a form and a 0-based table index, return its stored table description, or None."""
    return next((t for t in (getattr(form, "tables", None) or []) if t.get("table") == index), None)
