"""Tests of the variation generator (samples.axes, samples.variants, samples.wordxml, samples.produce,
samples.pdf_reportlab).

Only python-docx and reportlab output (no LibreOffice), a handful of forms, each forced onto the axis it checks;
the assertions read the written .docx back with python-docx or lxml, and the drawn PDF with pdfplumber, and
compare it to the truth or to the geometry the axis asks for.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from decimal import Decimal

import docx
import pdfplumber
import pytest
from lxml import etree

import rubric
from samples.axes import AXES, NA, draw_axes
from samples.generate import save_docx
from samples.pdf_reportlab import render_pdf
from samples.produce import word_document, write_variants
from samples.variants import JUDGMENTS, Drawn, draw_form, item_cap
from samples.wordxml import SLIVER, set_borders

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W, "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
      "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
      "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006", "v": "urn:schemas-microsoft-com:vml"}
PLAIN = {"producer": "docx", "split": "no", "textbox": "no", "grid": "regular", "errors": "none", "blanks": "none",
         "tracked": "no"}


def make(tmp_path, force: dict[str, str], tag: str = "f") -> tuple[Drawn, docx.document.Document, bytes]:
    """Draw one form with forced axes, write it with python-docx; return it, the re-read document and its XML."""
    rng = random.Random(f"test:{tag}:{sorted(force.items())}")
    d = draw_form(rng, PLAIN | force)
    path = tmp_path / f"{tag}.docx"
    save_docx(word_document(d, rng), path)
    xml = zipfile.ZipFile(path).read("word/document.xml")
    return d, docx.Document(str(path)), xml


def body_rows(d: Drawn, doc: docx.document.Document) -> list[tuple]:
    """Pairs (spec row, docx row) of the body table (one table, no split), header rows skipped."""
    table = doc.tables[-1]
    return list(zip(d.spec.tables[0].rows, table.rows[d.spec.header_rows:], strict=True))


def col(d: Drawn, key: str) -> int:
    return d.spec.columns.index(key)


def num(v) -> Decimal:
    return Decimal(str(v))


def test_axes_are_drawn_independently_and_marked_moot():
    a = draw_axes(random.Random(1), {"family": "qinghai", "producer": "docx"})
    assert set(AXES) <= set(a)
    assert a["ticks"] == NA and a["tick_mark"] == NA
    b = draw_axes(random.Random(1), {"family": "national_judgment", "producer": "rl_pdf"})
    assert b["habit"] == NA and b["group_header"] == NA and b["grid"] == NA and b["textbox"] == NA
    assert b["ticks"] not in ("checkbox_cols", "checkbox_inline") and b["cover"] != "page_header"
    # forcing one axis leaves the others' draws where they were
    c = draw_axes(random.Random(1), {"family": "qinghai", "producer": "docx", "borders": "thick"})
    assert {k: v for k, v in c.items() if k != "borders"} == {k: v for k, v in a.items() if k != "borders"}


@pytest.mark.parametrize("family,rid,n", [("qinghai", "qinghai-2024", 67), ("national_judgment", "national-2020", 33),
                                          ("national_points", "national-2020", 33)])
def test_truth_keys_are_the_rubric_labels(tmp_path, family, rid, n):
    d, _, _ = make(tmp_path, {"family": family})
    labels = [i.label for i in rubric.load_all()[rid].items]
    assert list(d.truth["items"]) == labels and len(labels) == n
    assert d.truth["rubric"] == family.split("_")[0]
    assert all(set(v) == {"self", "inspector", "cap"} for v in d.truth["items"].values())


def test_irregular_grid_header_and_body_over_different_grid_columns(tmp_path):
    d, _, xml = make(tmp_path, {"family": "qinghai", "grid": "irregular", "score_cols": "two",
                                "group_header": "none"})
    root = etree.fromstring(xml)
    tbl = root.findall(".//w:tbl", NS)[-1]
    widths = [int(g.get(f"{{{W}}}w")) for g in tbl.findall("w:tblGrid/w:gridCol", NS)]
    assert widths.count(SLIVER) >= 2 and len(widths) > len(d.spec.columns)

    def extents(tr) -> list[tuple[int, int]]:
        out, at = [], 0
        for tc in tr.findall("w:tc", NS):
            gs = tc.find("w:tcPr/w:gridSpan", NS)
            span = int(gs.get(f"{{{W}}}val")) if gs is not None else 1
            out.append((at, at + span - 1))
            at += span
        assert at == len(widths)  # every row covers the whole grid once
        return out

    rows = tbl.findall("w:tr", NS)
    nh = d.spec.header_rows
    head, body = extents(rows[nh - 1]), extents(rows[nh])
    # header row nh-1 lists the grouped cells only where the official heading sits over 大项/中项/小项
    head_cells = rows[0].findall("w:tc", NS)
    texts = ["".join(tc.itertext()) for tc in head_cells]
    h_self, h_insp = (extents(rows[0])[texts.index(d.spec.headers[k])] for k in ("self", "insp"))
    b_self, b_insp = body[col(d, "self")], body[col(d, "insp")]
    assert h_self[0] != b_self[0] and h_insp[0] != b_insp[0]  # header and body cells start at different columns
    assert h_insp[0] <= b_self[1]  # the 督查 header begins over the body's 自评 cell, as in irregular_grid.docx
    assert head != body


def test_tick_columns_one_tick_per_side(tmp_path):
    d, doc, _ = make(tmp_path, {"family": "national_judgment", "ticks": "tick_cols", "score_cols": "two",
                                "blanks": "some"})
    mark = d.axes["tick_mark"]
    assert mark in ("✓", "√", "☑", "■")
    heads = [c.text for c in doc.tables[-1].rows[1].cells]
    assert heads.count("符合") == 2 and heads.count("不符合") == 2
    seen_null = 0
    for row, tr in body_rows(d, doc):
        if row.kind != "item":
            continue
        t = d.truth["items"][row.item]
        for side, fld in (("self", "self"), ("insp", "inspector")):
            cells = [tr.cells[col(d, f"{side}_t{n}")].text for n in range(3)]
            ticked = [JUDGMENTS[n] for n, c in enumerate(cells) if c == mark]
            assert ticked == ([t[fld]] if t[fld] is not None else [])
            assert all(c in ("", mark) for c in cells)
            seen_null += t[fld] is None
    assert seen_null >= 1  # a blank judgment: no tick at all, and a missing_score flag
    assert sum(f["kind"] == "missing_score" for f in d.truth["flags"]) == seen_null


def test_checkbox_controls_and_inline_ticks(tmp_path):
    d, _, xml = make(tmp_path, {"family": "national_judgment", "ticks": "checkbox_cols", "score_cols": "two"})
    root = etree.fromstring(xml)
    boxes = root.findall(".//w:sdt/w:sdtPr/w14:checkbox/w14:checked", NS)
    checked = [b.get(f"{{{NS['w14']}}}val") for b in boxes]
    judged = sum(v is not None for t in d.truth["items"].values() for v in (t["self"], t["inspector"]))
    assert len(boxes) == 3 * 2 * 33 and checked.count("1") == judged
    d2, doc2, _ = make(tmp_path, {"family": "national_judgment", "ticks": "inline", "score_cols": "one"}, "inline")
    for row, tr in body_rows(d2, doc2):
        if row.kind == "item":
            want = d2.truth["items"][row.item]["self"]
            assert tr.cells[col(d2, "self")].text == " ".join(("☑" if j == want else "□") + j for j in JUDGMENTS)
            assert d2.truth["items"][row.item]["inspector"] is None


def test_deductions_remarks_and_full_marks(tmp_path):
    for habit in ("deduct_cell", "remarks", "fullmark"):
        d, doc, _ = make(tmp_path, {"family": "qinghai", "habit": habit, "group_header": "none",
                                    "score_cols": "two"}, habit)
        hits = 0
        for row, tr in body_rows(d, doc):
            if row.kind != "item":
                continue
            t, cap = d.truth["items"][row.item], item_cap(d.spec, row)
            assert num(t["cap"]) == cap
            for side, fld in (("self", "self"), ("insp", "inspector")):
                text = tr.cells[col(d, side)].text
                if m := re.fullmatch(r"扣(\d+(?:\.\d+)?)分", text):
                    assert num(t[fld]) == cap - Decimal(m.group(1))
                    hits += 1
                elif text == "满分":
                    assert num(t[fld]) == cap
                    hits += 1
                elif m := re.fullmatch(r"(\d+(?:\.\d+)?)[^\d.分].*", text, re.S):
                    assert num(t[fld]) == Decimal(m.group(1))
                    hits += 1
        assert hits >= 3, habit


def test_deduction_subcolumn_with_blank_score(tmp_path):
    d, doc, _ = make(tmp_path, {"family": "qinghai", "group_header": "deduct", "score_cols": "two"})
    assert d.spec.header_rows == 2 and [g[:2] for g in d.spec.groups][-2:] == [("self", "self_rem"),
                                                                             ("insp", "insp_rem")]
    assert doc.tables[-1].rows[1].cells[col(d, "self_ded")].text == "扣分"
    deducted = 0
    for row, tr in body_rows(d, doc):
        if row.kind != "item":
            continue
        t, cap = d.truth["items"][row.item], item_cap(d.spec, row)
        for side, fld in (("self", "self"), ("insp", "inspector")):
            score, ded = tr.cells[col(d, side)].text, tr.cells[col(d, side + "_ded")].text
            if ded and ded != "0":
                deducted += 1
                assert num(t[fld]) == cap - Decimal(ded)
                assert score == "" or Decimal(score.removesuffix("分")) == num(t[fld])
            elif score:
                assert num(t[fld]) == Decimal(score.removesuffix("分"))
    assert deducted >= 2


def test_single_score_column_has_no_inspector(tmp_path):
    d, doc, _ = make(tmp_path, {"family": "qinghai", "score_cols": "one", "single_header": "得分"})
    assert "insp" not in d.spec.columns and d.spec.headers["self"] == "得分"
    assert all(t["inspector"] is None for t in d.truth["items"].values())
    assert not any(f["kind"] == "self_inspector_diff" for f in d.truth["flags"])
    assert "得分" in [c.text for c in doc.tables[-1].rows[0].cells]


def test_footer_rows_are_in_the_table_and_raise_nothing(tmp_path):
    d, doc, _ = make(tmp_path, {"family": "qinghai", "footer": "all"})
    texts = [tr.cells[0].text for tr in doc.tables[-1].rows]
    assert any(t.startswith("说明：") for t in texts) and "（以下空白）" in texts
    assert any("（签字）" in t for t in texts) and texts[-1] == ""
    assert not any(f["kind"] == "unmatched_row" for f in d.truth["flags"])


def test_textbox_holds_the_table_with_a_vml_fallback(tmp_path):
    d, doc, xml = make(tmp_path, {"family": "qinghai", "textbox": "yes", "cover": "standard"})
    root = etree.fromstring(xml)
    body_tables = root.findall("w:body/w:tbl", NS)
    assert len(body_tables) == 1  # only the stats table stays in the body
    choice = root.findall(".//mc:Choice//wps:txbx/w:txbxContent/w:tbl", NS)
    fallback = root.findall(".//mc:Fallback//v:textbox/w:txbxContent/w:tbl", NS)
    assert len(choice) == len(fallback) == 1
    assert etree.tostring(choice[0]) == etree.tostring(fallback[0])
    assert len(doc.tables) == 1


def test_cover_variants(tmp_path):
    d, doc, _ = make(tmp_path, {"family": "qinghai", "cover": "one_line"})
    inst = d.truth["institution"]
    assert any(re.fullmatch(f"单位名称：{inst}  填表人：\\S+", p.text) for p in doc.paragraphs)
    d, doc, _ = make(tmp_path, {"family": "national_points", "cover": "page_header"}, "ph")
    assert doc.sections[0].header.paragraphs[0].text == d.truth["institution"]
    assert not any(d.truth["institution"] in p.text for p in doc.paragraphs)


def test_write_variants_truth_and_axes(tmp_path):
    truth, axes = write_variants(tmp_path / "forms", 4, seed=3, force={"producer": "docx"}, quiet=True,
                                 meta_dir=tmp_path)
    names = sorted(p.name for p in (tmp_path / "forms").iterdir())
    assert names == sorted(truth) == sorted(axes) and len(names) == 4
    assert all(a["producer"] == "docx" for a in axes.values())
    assert (tmp_path / "truth.json").exists() and (tmp_path / "axes.json").exists()
    again, _ = write_variants(tmp_path / "again", 4, seed=3, force={"producer": "docx"}, quiet=True,
                              meta_dir=tmp_path / "again-meta")
    assert again == truth
    for name in names:
        a, b = ((tmp_path / f / name).read_bytes() for f in ("forms", "again"))
        assert a == b, name
        assert zipfile.is_zipfile(io.BytesIO(a))


def test_tracked_deleted_row(tmp_path):
    d, doc, xml = make(tmp_path, {"family": "qinghai", "tracked": "yes", "layout": "repeat"})
    root = etree.fromstring(xml)
    deleted = [tr for tr in root.iter(f"{{{W}}}tr") if tr.find("w:trPr/w:del", NS) is not None]
    assert len(deleted) == 1
    runs = deleted[0].findall(".//w:r", NS)
    assert runs and all(r.getparent().tag == f"{{{W}}}del" for r in runs)
    assert not deleted[0].findall(".//w:t", NS) and deleted[0].findall(".//w:delText", NS)
    rows = doc.tables[-1].rows
    assert len(rows) == d.spec.header_rows + len(d.spec.tables[0].rows) + 1
    assert any(all(not c.text for c in tr.cells) for tr in rows)  # what a reader ignoring w:del sees


@pytest.mark.parametrize("kind", ["double", "thick", "foot"])
def test_word_borders(tmp_path, kind):
    d, _, xml = make(tmp_path, {"family": "national_points", "borders": kind}, kind)
    style = d.word["borders"]
    tbl = etree.fromstring(xml).findall(".//w:tbl", NS)[-1]

    def border(side: str) -> tuple[str, int]:
        el = tbl.find(f"w:tblPr/w:tblBorders/w:{side}", NS)
        return el.get(f"{{{W}}}val"), int(el.get(f"{{{W}}}sz"))

    special = (style["word_val"], style["word_sz"])
    if kind == "double":  # Word's 1- or 1.5-pt double, on every rule
        assert special[0] == "double" and special[1] in (8, 12)
        assert {border(s) for s in ("top", "left", "bottom", "right", "insideH", "insideV")} == {special}
    elif kind == "thick":  # 3-4.5 pt, on the frame and between the columns; thin between the rows
        assert special[0] in ("single", "thickThinLargeGap") and special[1] in (24, 36)
        assert {border(s) for s in ("top", "left", "bottom", "right", "insideV")} == {special}
        assert border("insideH") == ("single", 4)
    else:
        assert border("bottom") == ("thickThinSmallGap", 24) and border("insideH") == ("single", 4)


def test_word_cell_borders(tmp_path):
    d, _, _ = make(tmp_path, {"family": "national_points", "borders": "plain", "layout": "repeat"})
    doc = word_document(d, random.Random(0))
    table = doc.tables[-1]
    set_borders(table, "thick", "thickThinLargeGap", 36, cells=True)
    rows = table._tbl.findall(f"{{{W}}}tr")
    first, last = rows[0].findall(f"{{{W}}}tc"), rows[-1].findall(f"{{{W}}}tc")

    def sides(tc) -> dict[str, tuple[str, str]]:
        pr = tc.find(f"{{{W}}}tcPr")
        names = [etree.QName(e).localname for e in pr]
        assert names.index("tcBorders") > names.index("tcW")  # schema order: tcW, gridSpan, vMerge, tcBorders
        return {etree.QName(e).localname: (e.get(f"{{{W}}}val"), e.get(f"{{{W}}}sz"))
                for e in pr.find(f"{{{W}}}tcBorders")}

    thick, thin = ("thickThinLargeGap", "36"), ("single", "4")
    assert sides(first[0]) == {"top": thick, "left": thick, "bottom": thin, "right": thick}
    assert sides(first[1])["left"] == thick and sides(first[1])["top"] == thick  # a column ruling, the frame
    assert sides(last[-1]) == {"top": thin, "left": thick, "bottom": thick, "right": thick}
    path = tmp_path / "cells.docx"
    save_docx(doc, path)
    assert len(docx.Document(str(path)).tables[-1].rows) == len(rows)


def test_border_widths_are_drawn_within_their_ranges():
    seen: dict[str, set] = {"double": set(), "thick": set(), "outer": set()}
    for n in range(12):
        for kind in ("double", "thick"):
            d = draw_form(random.Random(f"widths:{n}"), PLAIN | {"borders": kind, "family": "national_points"})
            pdf = d.word["borders"]["pdf"]
            if kind == "double":
                assert 3.5 <= pdf["gap"] <= 5 and d.word["borders"]["word_sz"] in (8, 12)
                seen["double"].add(pdf["gap"])
                seen["outer"].add(pdf["outer_only"])
            else:
                assert 4 <= pdf["thick"] <= 5 and d.word["borders"]["word_sz"] in (24, 36)
                seen["thick"].add(pdf["thick"])
    assert len(seen["double"]) > 3 and len(seen["thick"]) > 3 and seen["outer"] == {True, False}
    d = draw_form(random.Random("widths:plain"), PLAIN | {"borders": "plain"})
    assert "borders" not in d.word and "border_detail" not in d.axes


def rl_pdf(tmp_path, kind: str, **opts) -> tuple[Drawn, list]:
    """Draw one national points form with reportlab and the given borders; return it and its pages' rules as
    (horizontal lines, vertical lines, rects) per page."""
    d = draw_form(random.Random(f"rl:{kind}"), PLAIN | {"producer": "rl_pdf", "family": "national_points",
                                                        "borders": kind, "footer": "none", "cover": "standard"})
    path = tmp_path / f"{kind}.pdf"
    render_pdf(d.spec, path, split_rows=False, borders=kind, **opts)
    pages = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            h = [ln for ln in page.lines if ln["top"] == ln["bottom"]]
            v = [ln for ln in page.lines if ln["x0"] == ln["x1"]]
            pages.append((h, v, page.rects))
    return d, pages


def positions(lines: list[dict], key: str) -> list[float]:
    return sorted({round(ln[key], 2) for ln in lines})


def test_reportlab_double_borders_are_two_lines(tmp_path):
    _, pages = rl_pdf(tmp_path, "double", gap=4.2)
    assert len(pages) >= 2
    for h, v, rects in pages:
        assert not rects and {ln["linewidth"] for ln in h + v} == {0.5}
        ys, xs = positions(h, "top"), positions(v, "x0")
        # every rule is a pair of lines 4.2 pt apart: the rows' and the columns' positions come in pairs
        assert len(ys) % 2 == 0 and len(xs) % 2 == 0
        assert {round(b - a, 2) for a, b in zip(ys[::2], ys[1::2], strict=True)} == {4.2}
        assert {round(b - a, 2) for a, b in zip(xs[::2], xs[1::2], strict=True)} == {4.2}
        assert min(b - a for a, b in zip(ys[1::2], ys[2::2], strict=False)) > 10  # a row between two rules
    h, v, _ = rl_pdf(tmp_path, "double", gap=3.6, outer_only=True)[1][0]
    ys, xs = positions(h, "top"), positions(v, "x0")
    assert round(ys[1] - ys[0], 2) == round(xs[1] - xs[0], 2) == round(xs[-1] - xs[-2], 2) == 3.6  # the frame
    assert min(b - a for a, b in zip(xs[1:-2], xs[2:-1], strict=True)) > 10  # the columns' rules are single


def test_reportlab_thick_borders_are_filled_rects(tmp_path):
    d, pages = rl_pdf(tmp_path, "thick", thick=4.6)
    assert len(pages) >= 2
    for n, (h, v, rects) in enumerate(pages):
        assert rects and all(r["fill"] and not r["stroke"] for r in rects)
        assert {round(min(r["width"], r["height"]), 2) for r in rects} == {4.6}
        assert {ln["linewidth"] for ln in h + v} == {0.5} and not v  # no stroked thick line, no thin column rule
        upright = [r for r in rects if r["height"] > r["width"]]
        assert len({round(r["x0"], 2) for r in upright}) == len(d.spec.columns) + 1  # frame sides, column rulings
        # the frame's top on every page (the repeated header carries it), its bottom on the last page; a page
        # break is closed by a thin row rule
        across = sorted((r for r in rects if r["width"] > r["height"]), key=lambda r: r["top"])
        ends = [round(min(r["x0"] for r in upright), 2), round(max(r["x1"] for r in upright), 2)]
        assert len(across) == 1 + (n == len(pages) - 1)
        assert all([round(r["x0"], 2), round(r["x1"], 2)] == ends for r in across)  # over the corners
        ys = positions(h, "top")
        assert across[0]["bottom"] < ys[0]
        if n == len(pages) - 1:
            assert across[-1]["top"] > ys[-1]
        else:
            assert round(max(r["bottom"] for r in upright), 2) == ys[-1]  # the column rulings end on it


def test_reportlab_foot_is_a_second_rule_under_the_last(tmp_path):
    _, pages = rl_pdf(tmp_path, "foot", foot_gap=3.5)
    assert len(pages) >= 2
    for n, (h, _, rects) in enumerate(pages):
        ys = positions(h, "top")
        foot = round(ys[-1] - ys[-2], 2)
        assert not rects and (foot == 3.5) == (n == len(pages) - 1)  # under the table's last part only
        if n == len(pages) - 1:
            under = [ln for ln in h if round(ln["top"], 2) == ys[-1]]
            above = [ln for ln in h if round(ln["top"], 2) == ys[-2]]
            assert len(under) == 1 and min(ln["x0"] for ln in above) == under[0]["x0"]
            assert max(ln["x1"] for ln in above) == under[0]["x1"]  # as wide as the table


def test_cover_name_in_a_table_cell(tmp_path):
    for n in range(6):
        d, doc, _ = make(tmp_path, {"family": "national_points", "cover": "cell"}, f"cell{n}")
        inst, rows = d.truth["institution"], d.spec.cover_table
        assert not any(inst in p.text for p in doc.paragraphs) and d.spec.institution == inst
        cells = [[c.text for c in r.cells] for r in doc.tables[0].rows]
        assert cells == rows and len(doc.tables) == 2
        if d.axes["cover_cell"] == "key_cell":
            assert rows[0][0] in ("评价机构名称", "单位名称") and rows[0][1] in (inst, inst + "（盖章）")
            assert [r[0] for r in rows[1:]] == ["填表人", "联系电话"]
        else:
            assert len(rows) == 1 and re.fullmatch(f"(评价机构名称|单位名称)：{inst}(（盖章）)?", rows[0][0])
            assert rows[0][1].startswith("填表人：")
    d = draw_form(random.Random("cell:rl"), PLAIN | {"producer": "rl_pdf", "family": "national_points",
                                                     "cover": "cell"})
    render_pdf(d.spec, tmp_path / "cell.pdf", split_rows=False)
    with pdfplumber.open(tmp_path / "cell.pdf") as pdf:
        first = pdf.pages[0].extract_tables()[0]
        assert first == d.spec.cover_table and d.truth["institution"] in "".join(first[0])
        assert d.truth["institution"] not in (pdf.pages[0].extract_text() or "").split(first[0][0])[0]
