"""Whole forms filled the ways institutions fill them (issue 10), read end to end with exact values.

Each form is a real .docx written by python-docx (some then passed through LibreOffice); the expected
values follow from what the test prints into the cells, never from an earlier run.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from extractor.extract import path_to_form

from .conftest import build_docx
from .forms import default_cell, expected, fmt, items, qinghai_form, self_score

COLS = ["cat", "sec", "label", "max", "rules", "self", "insp"]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def kinds(form) -> list[tuple[str | None, str]]:
    return [(d.item, d.kind) for d in form.discrepancies]


def values(form, side: str) -> dict[str, Decimal | str | None]:
    return {i.code: getattr(i, side) for i in form.items}


def diffs() -> list[tuple[str, str]]:
    """The self_inspector_diff findings the default cells make (every seventh item)."""
    s, i = expected("self"), expected("inspector")
    return [(code, "self_inspector_diff") for code in s if s[code] != i[code]]


def one_header(self_name="自评结果", insp_name="督查结果", rules="督查方法和标准") -> list[list[str]]:
    return [["大项", "中项", "小项", "分值", rules, self_name, insp_name]]


@pytest.mark.parametrize("rules, self_name, insp_name", [
    ("评分细则", "自评结果", "督查结果"),  # a rules column is not the inspector column (was 45 non_numeric)
    ("评分办法", "自我评分", "检查得分"),  # 自我评分 is self (was "no self-evaluation table found")
    ("考核方法", "自评分", "复核得分"),
    ("督查方法和标准", "自查得分", "专家评分"),
])
def test_header_words_people_use(tmp_path, rubrics, rules, self_name, insp_name):
    p = qinghai_form(tmp_path / "f.docx", COLS, one_header(self_name, insp_name, rules))
    form = path_to_form(p, rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert kinds(form) == diffs()


@pytest.mark.parametrize("name", ["得分", "自查得分"])
def test_a_single_score_column_is_the_self_score(tmp_path, rubrics, name):
    cols = ["cat", "sec", "label", "max", "rules", "self"]
    p = qinghai_form(tmp_path / "s.docx", cols, [["大项", "中项", "小项", "分值", "评分标准", name]])
    form = path_to_form(p, rubrics)
    assert values(form, "self") == expected("self")
    assert set(values(form, "inspector").values()) == {None}
    assert (form.has_inspector, form.status, kinds(form)) == (False, "ok", [])


def test_a_numeric_column_nobody_knows_is_a_warning_naming_it(tmp_path, rubrics):
    cols = ["cat", "sec", "label", "max", "rules", "self", "prelim", "insp"]

    def cell(n, it, key):
        return fmt(self_score(n, it)) if key == "prelim" else default_cell(n, it, key)

    p = qinghai_form(tmp_path / "u.docx", cols, [["大项", "中项", "小项", "分值", "评分标准", "自评结果", "市州初审",
                                                 "督查结果"]], cell=cell)
    form = path_to_form(p, rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert kinds(form) == diffs() + [(None, "unknown_column")]
    (d,) = [d for d in form.discrepancies if d.kind == "unknown_column"]
    assert d.severity == "warning" and "栏目「市州初审」（表1 列7）有 67 个数字" in d.message
    assert form.status == "flagged"


def test_a_rubric_layout_section_reads_a_column_under_its_own_name(tmp_path, rubrics):
    """The same form read with a rubric whose [layout] names 市州初审 as the inspectors' column."""
    cols = ["cat", "sec", "label", "max", "rules", "self", "insp"]
    p = qinghai_form(tmp_path / "r.docx", cols, one_header(insp_name="市州初审"))
    text = (Path(__file__).resolve().parents[1] / "rubric" / "qinghai-2024.toml").read_text(encoding="utf-8")
    rdir = tmp_path / "rubrics"
    rdir.mkdir()
    (rdir / "haidong.toml").write_text(text.replace('id = "qinghai-2024"', 'id = "haidong-2025"') +
                                       '\n[layout.extend]\ninspector = ["市州初审"]\n', encoding="utf-8")
    import rubric

    both = rubric.load_all([str(rdir)])
    form = path_to_form(p, both, rubric_id="haidong-2025")
    assert values(form, "inspector") == expected("inspector")
    plain = path_to_form(p, rubrics)
    assert set(values(plain, "inspector").values()) == {None}
    assert (None, "unknown_column") in kinds(plain)


def _group_form(tmp_path, sub: list[str], cell) -> Path:
    """A form with 自评情况 / 督查情况 over the given sub-columns (e.g. 得分, 扣分原因)."""
    n = len(sub)
    cols = ["cat", "sec", "label", "max", "rules"] + [f"self_{k}" for k in range(n)] + [f"insp_{k}" for k in range(n)]
    header = [["大项", "中项", "小项", "分值", "评分标准", "自评情况"] + [""] * (n - 1) + ["督查情况"] + [""] * (n - 1),
              [""] * 5 + sub + sub]
    merges = [((0, k), (1, k)) for k in range(5)] + [((0, 5), (0, 4 + n)), ((0, 5 + n), (0, 4 + 2 * n))]
    return qinghai_form(tmp_path / "g.docx", cols, header, cell=cell, merges=merges)


def test_two_row_header_with_score_and_remark_under_each_side(tmp_path, rubrics):
    def cell(n, it, key):
        if key.endswith("_0"):
            return default_cell(n, it, "self" if key.startswith("self") else "insp")
        if key.endswith("_1"):
            return "缺少记录" if n == 4 and key.startswith("self") else ""
        return default_cell(n, it, key)

    form = path_to_form(_group_form(tmp_path, ["得分", "扣分原因"], cell), rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert kinds(form) == diffs()
    notes = {i.code: i.self_note for i in form.items if i.self_note}
    assert notes == {items()[4].code: "缺少记录"}


def test_a_deduction_column_gives_max_minus_the_deduction(tmp_path, rubrics):
    def cell(n, it, key):
        if key in ("self_0", "insp_0"):
            return ""  # 得分 left blank: the 扣分 beside it says it all
        if key in ("self_1", "insp_1"):
            side = expected("self" if key.startswith("self") else "inspector")[it.code]
            return fmt(it.max - side)
        return default_cell(n, it, key)

    form = path_to_form(_group_form(tmp_path, ["得分", "扣分"], cell), rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert {k for _, k in kinds(form)} == {"self_inspector_diff", "deduction"}
    ded = [d for d in form.discrepancies if d.kind == "deduction"]
    assert len(ded) == 2 * 67 and {d.severity for d in ded} == {"info"}
    assert form.status == "ok"


def test_remarks_deductions_and_full_marks_written_in_score_cells(tmp_path, rubrics):
    written = {0: "5（已整改）", 1: "0.5，缺少记录", 2: "1 现场核实", 3: "扣0.5分", 5: "满分", 6: "扣1分（缺制度）"}

    def cell(n, it, key):
        if key == "self" and n in written:
            return written[n]
        return default_cell(n, it, key)

    form = path_to_form(qinghai_form(tmp_path / "r.docx", COLS, one_header(), cell=cell), rubrics)
    got = {n: (form.items[n].self, form.items[n].self_note) for n in written}
    its = items()
    assert got == {0: (Decimal(5), "已整改"), 1: (Decimal("0.5"), "缺少记录"), 2: (Decimal(1), "现场核实"),
                   3: (its[3].max - Decimal("0.5"), None), 5: (its[5].max, None),
                   6: (its[6].max - 1, "缺制度")}
    assert [k for _, k in kinds(form) if k not in ("self_inspector_diff",)] == ["deduction", "full_marks", "deduction"]
    assert not [d for d in form.discrepancies if d.kind == "non_numeric"]


def test_a_remark_with_no_number_stays_non_numeric(tmp_path, rubrics):
    def cell(n, it, key):
        return "已整改" if (key, n) == ("self", 0) else default_cell(n, it, key)

    form = path_to_form(qinghai_form(tmp_path / "t.docx", COLS, one_header(), cell=cell), rubrics)
    assert form.items[0].self is None
    assert (form.items[0].code, "non_numeric") in kinds(form)


def test_footer_notes_signatures_and_blank_marks_raise_nothing(tmp_path, rubrics):
    footer = [["说明：自评结果由评价机构填写，督查结果由督查组填写。"] + [""] * 6,
              ["注：1. 分值栏为该项满分；2. 扣分需写明原因。"] + [""] * 6,
              ["评价机构负责人（签字）：", "", "", "", "督查组成员（签字）：", "", ""],
              ["（以下空白）"] + [""] * 6,
              [""] * 7]
    p = qinghai_form(tmp_path / "n.docx", COLS, one_header(), footer=footer,
                     footer_merges=[((0, 0), (0, 6)), ((1, 0), (1, 6)), ((3, 0), (3, 6))])
    form = path_to_form(p, rubrics)
    assert values(form, "self") == expected("self")
    assert kinds(form) == diffs()


def _irregular(path: Path) -> Path:
    """Rewrite the body table as hand-resized Word tables are: 1-twip grid columns make the header's
    督查结果 span two grid columns while each body row's 自评 cell spans two and its 督查 cell one."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    root = etree.fromstring(parts["word/document.xml"])
    tbl = root.find(f".//{W}tbl")
    grid = tbl.find(f"{W}tblGrid")
    widths = [int(g.get(f"{W}w")) for g in grid]
    for g in list(grid):
        grid.remove(g)
    # grid: cat sec label max | sliver | rules self | sliver | insp
    for w in widths[:4] + [1] + widths[4:6] + [1] + widths[6:]:
        etree.SubElement(grid, f"{W}gridCol").set(f"{W}w", str(w))
    for n, tr in enumerate(tbl.findall(f"{W}tr")):
        tcs = tr.findall(f"{W}tc")
        spans = ([1, 1, 1, 1, 2, 1, 2] if n == 0 else [1, 1, 1, 2, 1, 2, 1])  # header vs body
        for tc, span in zip(tcs, spans, strict=True):
            if span > 1:
                pr = tc.find(f"{W}tcPr")
                if pr is None:
                    pr = etree.SubElement(tc, f"{W}tcPr")
                    tc.insert(0, pr)
                etree.SubElement(pr, f"{W}gridSpan").set(f"{W}val", str(span))
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    out = path.with_name("irregular.docx")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return out


def test_rows_that_do_not_share_the_header_grid(tmp_path, rubrics):
    p = _irregular(qinghai_form(tmp_path / "f.docx", COLS, one_header()))
    form = path_to_form(p, rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert kinds(form) == diffs()


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_rows_that_do_not_share_the_header_grid_after_rtf_and_libreoffice(tmp_path, rubrics):
    src = _irregular(qinghai_form(tmp_path / "f.docx", COLS, one_header()))
    env_dir = tmp_path / "lo"
    for target, indir in (("rtf", src), ("docx", src.with_suffix(".rtf"))):
        out = tmp_path / target
        subprocess.run(["soffice", f"-env:UserInstallation=file://{env_dir}", "--headless", "--convert-to", target,
                        "--outdir", str(out), str(indir)], check=True, capture_output=True, timeout=180)
        produced = out / (indir.stem + "." + target)
        shutil.copy(produced, tmp_path / produced.name)
    form = path_to_form(tmp_path / "irregular.docx", rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert kinds(form) == diffs()


def test_a_cell_across_the_self_and_inspector_columns_is_flagged_on_its_item(tmp_path, rubrics):
    p = qinghai_form(tmp_path / "a.docx", COLS, one_header(),
                     cell=lambda n, it, key: "1 1" if (n, key) == (9, "self") else default_cell(n, it, key),
                     merges=[((1 + 9, 5), (1 + 9, 6))])
    form = path_to_form(p, rubrics)
    code = items()[9].code
    assert (form.items[9].self, form.items[9].inspector) == (None, None)
    # The conflict explains the blank: no missing_score beside it.
    assert [(d.item, d.kind, d.side) for d in form.discrepancies if d.item == code] == [
        (code, "column_conflict", "inspector"), (code, "column_conflict", "self")]


NATIONAL_HEAD = [["一级指标", "二级指标", "督导内容", "自评情况", "", "", "督查情况", "", ""],
                 ["", "", "", "符合", "基本符合", "不符合", "符合", "基本符合", "不符合"]]
NATIONAL_MERGES = [((0, 0), (1, 0)), ((0, 1), (1, 1)), ((0, 2), (1, 2)), ((0, 3), (0, 5)), ((0, 6), (0, 8))]
JUDGMENTS = ("符合", "基本符合", "不符合")


def _national(tmp_path, mark: str, pick, name="k.docx") -> Path:
    """A national form ticked in three columns per side; pick(n, side) -> the judgments ticked."""
    import rubric

    r = rubric.load_all()["national-2020"]
    cats = {c.code: c.name for c in r.categories}
    rows = []
    for n, it in enumerate(r.items):
        row = [cats[it.category], it.label, it.description or "查看资料"]
        for side in ("self", "inspector"):
            row += [mark if j in pick(n, side) else "" for j in JUDGMENTS]
        rows.append(row)
    return build_docx(tmp_path / name, [{"rows": NATIONAL_HEAD + rows, "merge": NATIONAL_MERGES}],
                      paragraphs=["评价机构名称：玉树州职业技能培训中心", "填报日期：2024年9月27日"])


def _pick(n: int, side: str) -> tuple[str, ...]:
    j = JUDGMENTS[n % 3] if side == "self" else JUDGMENTS[(n + (n % 4 == 0)) % 3]
    return (j,)


@pytest.mark.parametrize("mark", ["✓", "√", "☑", "■"])
def test_judgments_ticked_in_columns(tmp_path, rubrics, mark):
    form = path_to_form(_national(tmp_path, mark, _pick), rubrics)
    assert form.rubric == "national-2020"
    assert [i.self for i in form.items] == [_pick(n, "self")[0] for n in range(33)]
    assert [i.inspector for i in form.items] == [_pick(n, "inspector")[0] for n in range(33)]
    assert {k for _, k in kinds(form)} == {"self_inspector_diff"}


def test_no_tick_or_two_ticks_on_a_side_is_flagged_on_the_item(tmp_path, rubrics):
    def pick(n, side):
        if (n, side) == (2, "self"):
            return ()
        if (n, side) == (5, "inspector"):
            return ("符合", "不符合")
        return ("符合",)

    form = path_to_form(_national(tmp_path, "✓", pick), rubrics)
    c2, c5 = form.items[2].code, form.items[5].code
    assert (form.items[2].self, form.items[5].inspector) == (None, None)
    assert kinds(form) == [(c2, "missing_score"), (c5, "tick_ambiguous")]
    assert [d.side for d in form.discrepancies] == ["self", "inspector"]


def test_inline_ticked_judgments_in_one_cell(tmp_path, rubrics):
    import rubric

    r = rubric.load_all()["national-2020"]
    cats = {c.code: c.name for c in r.categories}
    boxes = {"符合": "☑符合 □基本符合 □不符合", "基本符合": "□符合 ☑基本符合 □不符合", "不符合": "□符合 □基本符合 ☑不符合"}
    rows = [[cats[it.category], it.label, "查看资料", boxes[JUDGMENTS[n % 3]], boxes[JUDGMENTS[n % 3]]]
            for n, it in enumerate(r.items)]
    p = build_docx(tmp_path / "i.docx", [{"rows": [["一级指标", "二级指标", "督导内容", "自评情况", "督查情况"]] + rows}],
                   paragraphs=["评价机构名称：玉树州职业技能培训中心", "填报日期：2024年9月27日"])
    form = path_to_form(p, rubrics)
    assert [i.self for i in form.items] == [JUDGMENTS[n % 3] for n in range(33)]
    assert [i.inspector for i in form.items] == [JUDGMENTS[n % 3] for n in range(33)]
    assert kinds(form) == []


def _with_sliver(path: Path, col: int) -> Path:
    """Insert a 1-twip grid column after grid column `col` of the first table, every row's cell there spanning
    it (what a hand-resized border leaves in Word's grid)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    root = etree.fromstring(parts["word/document.xml"])
    tbl = root.find(f".//{W}tbl")
    grid = tbl.find(f"{W}tblGrid")
    sliver = etree.Element(f"{W}gridCol")
    sliver.set(f"{W}w", "1")
    grid.insert(col + 1, sliver)
    for tr in tbl.findall(f"{W}tr"):
        k = 0
        for tc in tr.findall(f"{W}tc"):
            pr = tc.find(f"{W}tcPr")
            span_el = pr.find(f"{W}gridSpan") if pr is not None else None
            span = int(span_el.get(f"{W}val")) if span_el is not None else 1
            if k <= col < k + span:
                if pr is None:
                    pr = etree.Element(f"{W}tcPr")
                    tc.insert(0, pr)
                if span_el is None:
                    span_el = etree.SubElement(pr, f"{W}gridSpan")
                span_el.set(f"{W}val", str(span + 1))
                break
            k += span
    parts["word/document.xml"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


def test_a_sliver_under_one_content_header_is_no_column_of_its_own(tmp_path, rubrics):
    """督导内容 over a real column and a 1-twip sliver must not be split into 大项 + 小项 by position."""
    form = path_to_form(_with_sliver(_national(tmp_path, "✓", _pick), 2), rubrics)
    assert [i.self for i in form.items] == [_pick(n, "self")[0] for n in range(33)]
    assert [i.inspector for i in form.items] == [_pick(n, "inspector")[0] for n in range(33)]
    assert {k for _, k in kinds(form)} == {"self_inspector_diff"}


def test_judgments_in_word_checkbox_content_controls(tmp_path, rubrics):
    """Tick columns holding Word checkbox content controls (w14:checkbox), checked ones ticked."""
    import docx

    from samples.wordxml import checkboxes

    p = _national(tmp_path, "☒", _pick)
    d = docx.Document(str(p))
    for row in d.tables[0].rows[2:]:
        for c in row.cells[3:]:
            if not c.text:
                c.text = "☐"
    assert checkboxes(d) == 33 * 6
    d.save(str(p))
    xml = __import__("zipfile").ZipFile(p).read("word/document.xml").decode()
    assert xml.count("<w14:checkbox>") == 33 * 6
    form = path_to_form(p, rubrics)
    assert [i.self for i in form.items] == [_pick(n, "self")[0] for n in range(33)]
    assert [i.inspector for i in form.items] == [_pick(n, "inspector")[0] for n in range(33)]
    assert {k for _, k in kinds(form)} == {"self_inspector_diff"}


def test_a_form_whose_table_sits_in_a_text_box(tmp_path, rubrics):
    import docx

    from samples.wordxml import into_textbox

    p = qinghai_form(tmp_path / "t.docx", COLS, one_header())
    d = docx.Document(str(p))
    into_textbox(d, d.tables[0], 7)
    d.save(str(p))
    assert len(docx.Document(str(p)).tables) == 0  # python-docx sees no table in the body any more
    form = path_to_form(p, rubrics)
    assert values(form, "self") == expected("self")
    assert values(form, "inspector") == expected("inspector")
    assert kinds(form) == diffs()
