"""Photos of one form sent together: the image members of one container folder read as one multi-page form.

People photograph or scan a form page by page and send the images in one e-mail or zip. Two or more image members
(ImageParser's suffixes) of the same container and folder are one candidate form (``members_to_units``), read in
one worker job (``images_to_forms``):

1. every page is read once by OCR (a TIFF's frames in order), members in natural name order (IMG_2 before IMG_10,
   第2页 before 第10页, 第二页 before 第十页);
2. the members are put in the order in which their tables continue: member A precedes member B when A's last table
   ends in the page's bottom zone, B's first table starts in the top zone, and both have the same columns
   (parsers/assemble.py's ``edges_match``, and at least three quarters as many edges in the one as in the other). Of all orders, the one with the
   most such joins wins, the names' order on a tie; an order other than the names' is said by a pages_reordered
   finding;
3. runs of members that continue one another are one form each; a member that continues nothing is read alone,
   as a single image is (two separate forms in one zip stay two records).

Names (see the README's contract): a form read from several members is named ``container!A.jpg+B.jpg`` (the
members' names inside their container, in the order read) and its sha256 is the sha256 of the members' sha256s
(lowercase hex, each followed by a newline) in name order (``group_sha256``), so the same mail ingested again is
skipped; a member read alone keeps ``container!member`` and its own sha256. A member whose header is no readable
image is its own failed record, as today. Nothing here reads a container (ingest hands the members over), and the
OCR modules know nothing of this one.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rubric import Rubric

from .checks import apply_checks
from .containers import Member
from .extract import NotAForm, document_to_form, path_to_forms
from .form import FAILED, Finding, Form
from .model import Document
from .parsers.assemble import DEFAULT_PAGE_EDGE_ZONE, edges_match
from .parsers.base import ParseError
from .parsers.image import check_image
from .parsers.scan import ImageParser

IMAGE_SUFFIXES = ImageParser.suffixes
MAX_ORDERED = 7  # members whose every order is tried (7! = 5040 orders); more keep their names' order
REORDERED = "pages_reordered"
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


# --- which members go together (the ingest side) -------------------------------------------------------------


def _cn_number(text: str) -> str:
    """Given a name, return it with Chinese numerals up to 99 (二, 十, 十二, 二十三) written in digits."""

    def value(m: re.Match) -> str:
        s = m.group(0)
        if "十" not in s:
            return "".join(str(_CN_DIGITS[c]) for c in s)
        tens, _, ones = s.partition("十")
        return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))

    return re.sub(r"[一二三四五六七八九]?十[一二三四五六七八九]?|[零一二三四五六七八九]+", value, text)


def natural_key(name: str) -> tuple:
    """Given a member's name, return its sort key: digit runs compared as numbers (IMG_2 before IMG_10, 第2页 before
    第10页, 第二页 before 第十页), the rest case-folded."""
    parts = re.split(r"(\d+)", _cn_number(name).casefold())
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def _parent(source: str) -> tuple[str, str]:
    """Given a member's source (c.zip!dir/p1.jpg), return (its container's source, its folder inside it)."""
    container, _, name = source.rpartition("!")
    return container, name[: max(name.rfind("/"), name.rfind("\\")) + 1]


def member_name(source: str) -> str:
    """Given a member's source, return its name inside its container."""
    return source.rpartition("!")[2]


def members_to_units(members: Sequence[Member]) -> list[Member | list[Member]]:
    """Given a container's members in the order unpacked, return them with every two or more readable image
    members of one container folder replaced by one list (in natural name order) at the first one's place."""
    by_parent: dict[tuple[str, str], list[Member]] = {}
    for m in members:
        if (
            m.path is not None
            and not m.error
            and not m.skipped
            and "!" in m.source
            and Path(member_name(m.source)).suffix.lower() in IMAGE_SUFFIXES
        ):
            by_parent.setdefault(_parent(m.source), []).append(m)
    groups = {
        id(g[0]): sorted(g, key=lambda m: natural_key(member_name(m.source))) for g in by_parent.values() if len(g) >= 2
    }
    grouped = {id(m) for g in groups.values() for m in g}
    out: list[Member | list[Member]] = []
    for m in members:
        if id(m) in groups:
            out.append(groups[id(m)])
        elif id(m) not in grouped:
            out.append(m)
    return out


def group_source(sources: Sequence[str]) -> str:
    """Given the sources of members of one container read as one form, in the order read, return the form's
    source: container!A.jpg+B.jpg."""
    container = sources[0].rpartition("!")[0]
    return f"{container}!" + "+".join(member_name(s) for s in sources)


def group_sha256(shas: Sequence[str]) -> str:
    """Given the sha256s (hex) of the members read as one form, in name order, return the form's sha256: the
    sha256 of the lowercase hex digests, each followed by a newline."""
    return hashlib.sha256("".join(f"{s.lower()}\n" for s in shas).encode("ascii")).hexdigest()


# --- reading them (the worker side) ----------------------------------------------------------------------------


@dataclass
class _Read:
    """One member read: its source, sha256, name-order index and page results (PageResult of ocr/pipeline)."""

    source: str
    sha: str
    index: int
    pages: list


def _continues(a: _Read, b: _Read) -> bool:
    """Given two members read, return whether b's first table continues a's last: a's ends in the bottom zone of
    its page, b's starts in the top zone, and their columns match (``edges_match``) with at least three quarters
    as many edges in the one as in the other: a header row that splits a column adds an edge, but the narrow
    header table that starts a separate form's first page is no continuation)."""
    if not (a.pages and b.pages and a.pages[-1].fragments and b.pages[0].fragments):
        return False
    last, first = a.pages[-1].fragments[-1], b.pages[0].fragments[0]
    zone = DEFAULT_PAGE_EDGE_ZONE
    return (
        last.bbox[3] >= last.page_height * (1 - zone)
        and first.bbox[1] <= first.page_height * zone
        and 4 * min(len(last.x_edges), len(first.x_edges)) >= 3 * max(len(last.x_edges), len(first.x_edges))
        and edges_match(last.x_edges, first.x_edges)
    )


def _tabled(r: _Read) -> bool:
    return any(p.fragments for p in r.pages)


def best_order(reads: list[_Read]) -> list[_Read]:
    """Given the members read, in name order, return them in the order with the most continued tables; the names'
    order wins a tie, and is kept beyond MAX_ORDERED members. A member without a table (a cover, a page of
    signatures) keeps its place after the member its name follows; before the first or after the last by name,
    it stays first or last."""
    tabled = [r for r in reads if _tabled(r)]
    best = tabled
    if len(tabled) <= MAX_ORDERED:
        joins = {(a.index, b.index): _continues(a, b) for a in tabled for b in tabled if a is not b}
        most = -1
        for order in itertools.permutations(tabled):  # lexicographic from the names' order: the first maximum wins
            n = sum(joins[(a.index, b.index)] for a, b in itertools.pairwise(order))
            if n > most:
                best, most = list(order), n
    after: dict[int | None, list[_Read]] = {}
    previous: int | None = None
    for r in reads:
        if _tabled(r):
            previous = r.index
        else:
            after.setdefault(previous, []).append(r)
    trailing = after.pop(previous, []) if previous is not None else []  # after the last table's member: the end
    return after.get(None, []) + [x for r in best for x in [r, *after.get(r.index, [])]] + trailing


def chains(order: list[_Read]) -> list[list[_Read]]:
    """Given the members in reading order, return the runs whose tables continue one another; a member without a
    table goes with the run it follows (or the one it precedes)."""
    out: list[list[_Read]] = []
    for r in order:
        last = next((x for x in reversed(out[-1]) if _tabled(x)), None) if out else None
        if out and (not _tabled(r) or last is None or _continues(last, r)):
            out[-1].append(r)
        else:
            out.append([r])
    return out


def results_to_document(results: list, kind: str = "image") -> Document:
    """Given page results (ocr/pipeline's PageResult) in reading order, return their Document, pages numbered 1..n
    in that order: tables joined across pages by pipeline.fragments_to_document, as pages_to_document joins
    them, on results already read (a page is never read twice to try another order)."""
    fragments, lines, confidence, turns, rectified = [], [], {}, {}, {}
    for number, result in enumerate(results, start=1):
        old = {f.page for f in result.fragments} | {k[0] for k in result.confidence}
        for f in copy.deepcopy(result.fragments):
            f.page = number
            for p in f.pieces:
                p.page = number
            fragments.append(f)
        confidence.update({(number, bbox): c for (page, bbox), c in result.confidence.items() if page in old})
        turns[number] = result.turn
        if result.rectified:
            rectified[number] = result.rectified
        lines.extend(result.lines)
    from .ocr.pipeline import fragments_to_document  # OCR is an extra: imported only once photos were read

    return fragments_to_document(fragments, lines, confidence, turns, kind, len(results), rectified)


def _chain_to_form(chain: list[_Read], rubrics: dict[str, Rubric], rubric_id: str | None) -> Form:
    """Given a run of members read (one or more), return its Form."""
    if len(chain) == 1:
        form = Form(source=chain[0].source, sha256=chain[0].sha, kind="image")
    else:
        by_name = sorted(chain, key=lambda r: r.index)
        form = Form(
            source=group_source([r.source for r in chain]), sha256=group_sha256([r.sha for r in by_name]), kind="image"
        )
    try:
        form = document_to_form(results_to_document([p for r in chain for p in r.pages]), rubrics, form, rubric_id)
    except NotAForm as e:
        form.status, form.error = FAILED, str(e)
        return form
    if len(chain) > 1 and [r.index for r in chain] != sorted(r.index for r in chain):
        read = "、".join(member_name(r.source) for r in chain)
        names = "、".join(member_name(r.source) for r in by_name)
        form.findings.append(
            Finding(
                REORDERED,
                f"照片按表格的接续顺序读作 {read}（文件名顺序为 {names}）"
                f"(the photos were read in the order their table continues, "
                f"not their names' order)",
            )
        )
        apply_checks(form)
    return form


def images_to_forms(
    members: Sequence[tuple[str, str, str]], rubrics: dict[str, Rubric], rubric_id: str | None = None
) -> list[Form]:
    """Given image members (path, source, sha256) of one container folder in natural name order, return their
    Forms: one per run of members whose tables continue one another (see the module docstring), a member that
    continues nothing read alone, a member that is no readable image failed on its own; in name order of each
    form's first member."""
    failed: dict[int, Form] = {}
    readable: list[tuple[int, str, str, str]] = []
    for i, (path, source, sha) in enumerate(members):
        try:
            check_image(Path(path))
            readable.append((i, path, source, sha))
        except ParseError:
            failed[i] = path_to_forms(Path(path), rubrics, source=source, rubric_id=rubric_id, sha256=sha)[0]
    if len(readable) < 2:
        for i, path, source, sha in readable:
            failed[i] = path_to_forms(Path(path), rubrics, source=source, rubric_id=rubric_id, sha256=sha)[0]
        return [failed[i] for i in sorted(failed)]
    from .parsers.scan import load_ocr

    try:
        pipeline, sources = load_ocr()
    except ParseError:  # no OCR extra: each image fails alone, saying how to install it
        return [path_to_forms(Path(p), rubrics, source=s, rubric_id=rubric_id, sha256=h)[0] for p, s, h in members]
    reads = {i: _Read(source, sha, i, []) for i, path, source, sha in readable}
    owner: dict[int, int] = {}  # page number -> its member's index

    def member_pages() -> Iterator:
        """Yield every readable member's pages, numbered across the members (no two pages share a number before
        ordering); a member whose pages cannot be read is failed, and the next one read."""
        number = 0
        for i, path, source, sha in readable:
            try:
                for image in sources.iter_image_file_pages(Path(path)):
                    number += 1
                    owner[number] = i
                    yield sources.PageImage(image.pixels, image.dpi, number)
            except ParseError as e:
                failed[i] = Form(source=source, sha256=sha, status=FAILED, error=str(e))
                del reads[i]

    # Read as one scan's pages are: two at a time, the pages of one member and the next overlapping.
    for result in pipeline.pages_to_results(member_pages(), pipeline.load_engine()):
        if owner[result.number] in reads:  # else its member failed on a later page
            reads[owner[result.number]].pages.append(result)
    for chain in chains(best_order(list(reads.values()))):
        failed[min(r.index for r in chain)] = _chain_to_form(chain, rubrics, rubric_id)
    return [failed[i] for i in sorted(failed)]
