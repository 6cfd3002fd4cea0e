"""Photos of one form sent together (issue 13): image members of one zip or e-mail folder read as one form.

Pages 2 and 3 of filled_pdf.pdf (tests/fixtures/forms; its truth is tests/fixtures/scans/filled_scan_150.truth.json)
are scanned at 150 dpi as one JPEG each (samples.scan) and sent:

- zipped as IMG_9.jpg (page 2) and IMG_10.jpg (page 3): names out of plain-text order, one record of both pages in
  natural name order, named forms.zip!IMG_9.jpg+IMG_10.jpg, whose sha256 is that of the members' sha256s;
- attached to an .eml (built with the email package) as 第1页.jpg (page 3) and 第2页.jpg (page 2): the names'
  order breaks the table, the table's order is read and a pages_reordered discrepancy says so;
- two first pages of separate forms in one zip stay two records; an image beside a broken image: both reported.

The ordering rules are also tested on hand-made page results, without OCR. OCR is slow: every page is read once per
module (the two groups in one ingest), crops where a whole page is not needed.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from extractor.containers import Member
from extractor.ingest import PLUGINS_ENV, ingest
from extractor.pages_group import (
    REORDERED,
    _Read,
    best_order,
    chains,
    group_sha256,
    group_source,
    members_to_units,
    natural_key,
)
from extractor.parsers.assemble import Fragment
from extractor.store import load_form, open_db

from .conftest import copy_database

FIXTURES = Path(__file__).parent / "fixtures"
FORM_PDF = FIXTURES / "forms" / "filled_pdf.pdf"
TRUTH = json.loads((FIXTURES / "scans" / "filled_scan_150.truth.json").read_text(encoding="utf-8"))
SLOW = 1800  # seconds a group may take on a loaded machine (the default allowance is for an idle one)


def _norm(label: str) -> str:
    """A label as the shared scorer compares them: width-folded, no (N分), no punctuation or spaces."""
    s = unicodedata.normalize("NFKC", label)
    s = re.sub(r"[（(]\s*\d+(\.\d+)?\s*分\s*[)）]", "", s)
    return re.sub(r"[\s，,、。．.：:；;（）()/]", "", s)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- which members go together, the names and the sha256 (no OCR) ---------------------------------------------


def test_natural_name_order():
    names = ["IMG_10.jpg", "IMG_2.jpg", "img_1.JPG", "第11页.png", "第3页.png", "第十页.jpg", "第二页.jpg"]
    assert sorted(names, key=natural_key) == [
        "img_1.JPG",
        "IMG_2.jpg",
        "IMG_10.jpg",
        "第二页.jpg",
        "第3页.png",
        "第十页.jpg",
        "第11页.png",
    ]


def test_image_members_of_one_folder_are_one_unit_in_name_order(tmp_path):
    p = tmp_path / "x"
    members = [
        Member(p, "m.eml!说明.docx"),
        Member(p, "m.eml!IMG_10.jpg"),
        Member(None, "m.eml!logo.png", skipped="not a form"),
        Member(p, "m.eml!IMG_9.jpg"),
        Member(p, "m.eml!a.zip!b/1.png"),
        Member(p, "m.eml!a.zip!c/1.png"),
        Member(p, "m.eml!a.zip!b/2.tif"),
        Member(None, "m.eml!bad.jpg", error="refused"),
    ]
    units = members_to_units(members)
    shown = [[m.source for m in u] if isinstance(u, list) else u.source for u in units]
    assert shown == [
        "m.eml!说明.docx",
        ["m.eml!IMG_9.jpg", "m.eml!IMG_10.jpg"],
        "m.eml!logo.png",
        ["m.eml!a.zip!b/1.png", "m.eml!a.zip!b/2.tif"],
        "m.eml!a.zip!c/1.png",
        "m.eml!bad.jpg",
    ]


def test_a_groups_source_and_sha256():
    assert group_source(["m.eml!a.zip!p2.jpg", "m.eml!a.zip!p1.jpg"]) == "m.eml!a.zip!p2.jpg+p1.jpg"
    a, b = "A" * 64, "b" * 64
    assert group_sha256([a, b]) == hashlib.sha256(("a" * 64 + "\n" + "b" * 64 + "\n").encode()).hexdigest()


class _Page:
    """A page result as ocr/pipeline's PageResult carries it: the fragments are what ordering looks at."""

    def __init__(self, *tables: tuple[float, float, int]) -> None:
        self.fragments = [
            Fragment(
                page=1,
                page_height=792.0,
                bbox=(45.0, top, 555.0, bottom),
                x_edges=[45.0 + 510.0 * k / (n - 1) for k in range(n)],
                n_rows=3,
            )
            for top, bottom, n in tables
        ]


def _read(index: int, *tables: tuple[float, float, int]) -> _Read:
    return _Read(f"m.eml!p{index}.jpg", str(index), index, [_Page(*tables)])


def test_the_tables_order_wins_over_the_names_and_separate_forms_stay_apart():
    first = _read(0, (96.0, 130.0, 3), (155.0, 719.0, 8))  # title, a narrow header table, the table to the bottom
    middle = _read(1, (72.0, 718.0, 8))  # the table from top to bottom
    last = _read(2, (72.0, 400.0, 8))  # the table from the top, ending mid-page
    assert [r.index for r in best_order([last, first, middle])] == [0, 1, 2]
    assert [[r.index for r in c] for c in chains(best_order([last, first, middle]))] == [[0, 1, 2]]
    middle2 = _read(3, (72.0, 718.0, 8))
    assert [r.index for r in best_order([first, middle2, middle, last])] == [0, 3, 1, 2]  # a tie: the names' order
    # Two first pages: the second's narrow header table does not continue the first's table.
    other = _read(4, (96.0, 130.0, 3), (155.0, 719.0, 8))
    assert [[r.index for r in c] for c in chains(best_order([first, other]))] == [[0], [4]]
    # A page without a table (a cover, the signatures) goes with the run it follows, in its names' place.
    cover, signatures = _Read("m.eml!p0.jpg", "c", 6, [_Page()]), _Read("m.eml!p9.jpg", "s", 7, [_Page()])
    order = best_order([cover, last, first, middle, signatures])  # in their names' order
    assert [r.index for r in order] == [6, 0, 1, 2, 7]
    assert [[r.index for r in c] for c in chains(order)] == [[6, 0, 1, 2, 7]]
    # A header row that splits a column adds an edge on the first page (9 against 8, seen on a photographed form).
    split = _read(8, (240.0, 763.0, 8))
    edges = split.pages[0].fragments[0].x_edges
    edges.insert(4, (edges[3] + edges[4]) / 2)
    assert [[r.index for r in c] for c in chains(best_order([split, last]))] == [[8, 2]]
    # Columns that differ do not join either.
    assert [[r.index for r in c] for c in chains(best_order([first, _read(5, (72.0, 400.0, 6))]))] == [[0], [5]]


# --- read by OCR through ingest -------------------------------------------------------------------------------


def _needs_ocr() -> None:
    pytest.importorskip("cv2", reason="the OCR extra (OpenCV) is not installed")
    pytest.importorskip("rapidocr_onnxruntime", reason="the OCR extra (rapidocr-onnxruntime) is not installed")


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[int, Path]:
    """Pages 2 and 3 of filled_pdf.pdf, each scanned at 150 dpi as a JPEG (red seal, tilt, noise)."""
    _needs_ocr()
    from samples.scan import make_scan

    folder = tmp_path_factory.mktemp("pages")
    return {n: make_scan(FORM_PDF, folder / f"page{n}.jpg", 150, seed=n, pages=[n]) for n in (2, 3)}


@pytest.fixture(scope="module")
def sent(pages, tmp_path_factory, rubrics):
    """The two pages zipped (IMG_9.jpg, IMG_10.jpg) and attached to an e-mail (第1页.jpg = page 3, 第2页.jpg =
    page 2), ingested in one run into one database: (folder, database path, summary)."""
    folder = tmp_path_factory.mktemp("sent")
    with zipfile.ZipFile(folder / "forms.zip", "w") as z:
        z.write(pages[3], "IMG_10.jpg")
        z.write(pages[2], "IMG_9.jpg")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "school@example.cn", "office@example.cn", "自评表照片"
    msg.set_content("自评表见附件照片。")
    for name, n in (("第1页.jpg", 3), ("第2页.jpg", 2)):
        msg.add_attachment(pages[n].read_bytes(), maintype="image", subtype="jpeg", filename=name)
    (folder / "mail.eml").write_bytes(bytes(msg))
    db_path = folder / "s.db"
    summary = ingest(
        open_db(db_path), [str(folder / "forms.zip"), str(folder / "mail.eml")], rubrics, jobs=2, timeout=SLOW
    )
    return folder, db_path, summary


def _forms(db_path: Path) -> dict[str, object]:
    db = open_db(db_path)
    return {row["source"].rsplit("/", 1)[-1]: load_form(db, row["id"]) for row in db["forms"].rows}


def _wrong(form) -> list[tuple[str, str]]:
    truth = {_norm(label): want for label, want in TRUTH["items"].items()}
    return [
        (i.code, side)
        for i in form.items
        if i.present
        for side in ("self", "inspector")
        if (None if getattr(i, side) is None else float(getattr(i, side)))
        != (None if truth[_norm(i.label)][side] is None else float(truth[_norm(i.label)][side]))
    ]


def test_a_zip_of_a_forms_pages_is_one_record_of_both_pages(sent, pages):
    folder, db_path, summary = sent
    forms = _forms(db_path)
    assert sorted(forms) == ["forms.zip!IMG_9.jpg+IMG_10.jpg", "mail.eml!第2页.jpg+第1页.jpg"]
    form = forms["forms.zip!IMG_9.jpg+IMG_10.jpg"]
    assert form.sha256 == hashlib.sha256(f"{_sha(pages[2])}\n{_sha(pages[3])}\n".encode()).hexdigest()
    assert form.kind == "image" and form.status == "flagged"
    present = [i for i in form.items if i.present]
    assert len(present) == 35  # every item of pages 2 and 3, the table joined over the two photos
    assert _wrong(form) == []
    assert {i.self_cell["page"] for i in present if i.self_cell} == {1, 2}
    assert not [d for d in form.discrepancies if d.kind == REORDERED]
    assert Path(form.path) == folder / "forms.zip"
    assert (summary.read, summary.failed, summary.skipped) == (2, 0, 0)


def test_an_email_of_pages_named_out_of_the_tables_order_is_read_in_the_tables_order(sent):
    _folder, db_path, _summary = sent
    form = _forms(db_path)["mail.eml!第2页.jpg+第1页.jpg"]
    assert len([i for i in form.items if i.present]) == 35
    assert _wrong(form) == []
    said = [d for d in form.discrepancies if d.kind == REORDERED]
    assert len(said) == 1 and said[0].item is None and said[0].severity == "warning"
    assert "读作 第2页.jpg、第1页.jpg（文件名顺序为 第1页.jpg、第2页.jpg）" in said[0].message


def test_the_same_zip_and_email_ingested_again_are_skipped(sent, rubrics, tmp_path):
    folder, db_path, _summary = sent
    db = open_db(copy_database(db_path, tmp_path / "again.db"))
    again = ingest(db, [str(folder / "forms.zip"), str(folder / "mail.eml")], rubrics, jobs=1, timeout=SLOW)
    assert (again.read, again.skipped) == (0, 2)
    assert [r[2] for r in again.results] == ["already ingested (form 1)", "already ingested (form 2)"] or [
        r[2] for r in again.results
    ] == ["already ingested (form 2)", "already ingested (form 1)"]


def _top_of(page: Path, out: Path, share: float) -> Path:
    """The top share of a scanned page, as a JPEG of its own (a first page, cheaper to read)."""
    with Image.open(page) as im:
        im.crop((0, 0, im.width, int(im.height * share))).save(out, "JPEG", quality=80, dpi=(150, 150))
    return out


def test_separate_forms_in_one_zip_stay_two_records_and_a_broken_image_is_reported(tmp_path, rubrics):
    _needs_ocr()
    from samples.scan import make_scan

    # The first pages of two forms: each starts with its own header table, so neither continues the other.
    one = _top_of(make_scan(FORM_PDF, tmp_path / "a.jpg", 150, seed=11, pages=[2]), tmp_path / "one.jpg", 0.4)
    two = _top_of(make_scan(FORM_PDF, tmp_path / "b.jpg", 150, seed=12, pages=[2]), tmp_path / "two.jpg", 0.4)
    alone = _top_of(one, tmp_path / "alone.jpg", 0.9)  # other bytes, or it would be skipped as the same file
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 256)  # a JPEG's magic, then no image (64 KB)
    with zipfile.ZipFile(tmp_path / "separate.zip", "w") as z:
        z.write(one, "学校甲.jpg")
        z.write(two, "学校乙.jpg")
    with zipfile.ZipFile(tmp_path / "broken.zip", "w") as z:
        z.write(alone, "p1.jpg")
        z.write(broken, "p2.jpg")
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [str(tmp_path / "separate.zip"), str(tmp_path / "broken.zip")], rubrics, jobs=2, timeout=SLOW)
    rows = {r["source"].rsplit("/", 1)[-1]: r for r in db["forms"].rows}
    assert sorted(rows) == [
        "broken.zip!p1.jpg",
        "broken.zip!p2.jpg",
        "separate.zip!学校乙.jpg",
        "separate.zip!学校甲.jpg",
    ]
    assert rows["separate.zip!学校甲.jpg"]["sha256"] == _sha(one)
    assert rows["broken.zip!p1.jpg"]["sha256"] == _sha(alone)
    assert rows["separate.zip!学校乙.jpg"]["sha256"] == _sha(two)
    assert rows["broken.zip!p2.jpg"]["sha256"] == _sha(broken)
    assert rows["broken.zip!p2.jpg"]["status"] == "failed"
    assert rows["broken.zip!p2.jpg"]["error"].startswith("not a readable image")
    # Each top of a page was read alone, by OCR, as one image is: a part of a form is no form.
    for name in ("separate.zip!学校甲.jpg", "separate.zip!学校乙.jpg", "broken.zip!p1.jpg"):
        assert (rows[name]["kind"], rows[name]["status"]) == ("image", "failed")
        assert rows[name]["error"].startswith("no known rubric matches this form")
    assert summary.read == 4 and summary.failed == 4


@pytest.mark.parametrize("how", ["crash", "raise"])
def test_a_group_whose_job_crashes_is_read_again_photo_by_photo(how, tmp_path, rubrics, monkeypatch):
    # tests/photo_crash_plugin.py kills the worker reading a group with a crash*.jpg member (a decoder's crash), or
    # raises inside the reading for a raise*.jpg member (a bug): either way each photo is read again alone.
    monkeypatch.setenv(PLUGINS_ENV, "tests.photo_crash_plugin")
    monkeypatch.setenv("SELFEVAL_TEST_CRASHED", str(tmp_path / "crashed.txt"))
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as z:
        for name in (f"{how}_2.jpg", f"{how}_1.jpg"):
            z.writestr(name, b"\xff\xd8\xff\xe0" + name.encode() * 8000)  # a JPEG's magic, then no image
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [str(tmp_path / "photos.zip")], rubrics, jobs=1)
    rows = [(r["source"].rsplit("/", 1)[-1], r["status"], r["error"].split(":")[0]) for r in db["forms"].rows]
    assert rows == [
        (f"photos.zip!{how}_1.jpg", "failed", "not a readable image"),
        (f"photos.zip!{how}_2.jpg", "failed", "not a readable image"),
    ]
    assert (summary.read, summary.failed) == (2, 2)
    zipped = str(tmp_path / "photos.zip")
    assert (tmp_path / "crashed.txt").read_text(encoding="utf-8") == f"{zipped}!{how}_1.jpg+{zipped}!{how}_2.jpg\n"


def test_a_member_whose_later_page_cannot_be_read_fails_alone_while_the_others_are_read(pages, tmp_path, rubrics):
    # The members' pages are read two at a time (pipeline.pages_to_results): the TIFF's first page is already
    # being read when its second page is refused, so that page's result must go nowhere, and the photo after
    # it must still be read.
    tiff = tmp_path / "IMG_1.tif"
    first = Image.open(pages[3]).convert("RGB")
    huge = Image.new("1", (9000, 7000), 1)  # 63 megapixels: refused before it is decoded
    first.save(tiff, save_all=True, append_images=[huge], compression="tiff_deflate")
    with zipfile.ZipFile(tmp_path / "pages.zip", "w") as z:
        z.write(tiff, "IMG_1.tif")
        z.write(pages[2], "IMG_2.jpg")
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [str(tmp_path / "pages.zip")], rubrics, jobs=1, timeout=SLOW)
    rows = {r["source"].rsplit("/", 1)[-1]: r for r in db["forms"].rows}
    assert sorted(rows) == ["pages.zip!IMG_1.tif", "pages.zip!IMG_2.jpg"]
    assert rows["pages.zip!IMG_1.tif"]["status"] == "failed"
    assert rows["pages.zip!IMG_1.tif"]["error"].startswith("page 2 of the image is 9000 x 7000 pixels")
    assert rows["pages.zip!IMG_1.tif"]["sha256"] == _sha(tiff)
    # The photo was read alone, as a single image is (a page of a form is no form), with none of the TIFF's first
    # page joined to it: that pair is pages 3 and 2 of one form, and would be read as one.
    from extractor.extract import path_to_forms

    alone = path_to_forms(pages[2], rubrics)[0]
    assert alone.status == "failed" and alone.error.startswith("no known rubric matches this form")
    assert (rows["pages.zip!IMG_2.jpg"]["status"], rows["pages.zip!IMG_2.jpg"]["error"]) == ("failed", alone.error)
    assert rows["pages.zip!IMG_2.jpg"]["sha256"] == _sha(pages[2])
    assert summary.read == 2
