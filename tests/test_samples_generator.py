"""Tests of samples.generate: files, truth format, a merged form read back, crafted specs."""

import json
import random
from decimal import Decimal

import docx
import pytest
from docx.oxml.ns import qn

import rubric
from samples.generate import PLAN, build_form, form_spec, generate, save_docx, truth_of
from samples.variant import Variant

SEED = 7
KINDS = {"over_cap", "negative_score", "non_numeric", "missing_score", "total_mismatch", "missing_item",
         "unmatched_row", "self_inspector_diff"}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    d = tmp_path_factory.mktemp("forms")
    return d, generate(d, seed=SEED)


def fmt(v) -> str:
    return format(Decimal(str(v)).normalize(), "f")


def test_files_and_truth_keys(out):
    d, truth = out
    assert json.loads((d / "truth.json").read_text(encoding="utf-8")) == truth
    names = {p.name for p in d.iterdir()} - {"truth.json"}
    assert names == set(truth) and len(names) == len(PLAN)
    for tag in ("merged", "unmerged_repeat", "unmerged_blank", "split", "renamed", "extracols", "nomethod", "noise",
                "shuffled", "fmt_fen", "fmt_fullwidth", "fmt_decimal", "noinsp", "national", "broken_empty"):
        assert any(tag in n for n in names), tag
    qh = nat = 0
    for name, t in truth.items():
        if name.startswith("broken"):
            assert t == {"bad": True}
            continue
        assert list(t)[:3] == ["rubric", "institution", "fill_date"] and {"items", "totals", "flags"} <= set(t)
        assert t["fill_date"].startswith("2024-")
        if t["rubric"] == "qinghai":
            qh += 1
            assert len(t["items"]) == 67 and set(t["stats"]) == {"batches", "certified_total", "certified_passed"}
            assert set(t["totals"]) == {"self", "self_computed", "inspector", "bonus", "penalty", "grand"}
        else:
            nat += 1
            assert len(t["items"]) == 33 and "stats" not in t
        for item in t["items"].values():
            assert set(item) == {"self", "inspector", "cap"}
    assert qh >= 25 and 2 <= nat <= 4
    assert {f["kind"] for t in truth.values() for f in t.get("flags", [])} == KINDS


def test_caps_and_clean_totals(out):
    _, truth = out
    r = rubric.load_all()["qinghai-2024"]
    caps = {i.label: float(i.max) for i in r.items}
    for name, t in truth.items():
        if t.get("rubric") != "qinghai":
            continue
        assert {k: v["cap"] for k, v in t["items"].items()} == caps
        if not any(f["kind"] == "total_mismatch" for f in t["flags"]):
            tot = t["totals"]
            assert tot["self"] == tot["self_computed"]
            assert tot["grand"] == tot["self"] + tot["bonus"] - tot["penalty"], name
            nums = [v["self"] for v in t["items"].values() if isinstance(v["self"], (int, float))]
            assert Decimal(str(tot["self_computed"])) == sum(Decimal(str(x)) for x in nums)
        diffs = {f["label"] for f in t["flags"] if f["kind"] == "self_inspector_diff"}
        want = {k for k, v in t["items"].items() if None not in (v["self"], v["inspector"])
                and v["self"] != v["inspector"]}
        assert diffs == want


def test_merged_form_read_back(out):
    d, truth = out
    name = next(n for n in truth if n.startswith("qh_merged_01"))
    doc = docx.Document(str(d / name))
    assert doc.paragraphs[3].text.startswith("评价机构名称：") and truth[name]["institution"] in doc.paragraphs[3].text
    stats, body = doc.tables[0], doc.tables[1]
    assert stats.cell(1, 1).text == str(truth[name]["stats"]["certified_total"])
    assert [c.text for c in body.rows[1].cells][:3] == ["大项", "中项", "小项"]
    label = "考务管理岗位职责明确（1分）"
    want = truth[name]["items"][label]
    assert [c.text for c in body.rows[4].cells] == [
        "岗位设置情况\n\n（6分）", "考务管理岗位", label, "4", "查阅文件或会议记录，以及相关规定，现场提问其岗位工作职责。",
        fmt(want["self"]), fmt(want["inspector"])]
    top, cont = (body._tbl.tr_lst[i].tc_lst for i in (3, 4))
    for col in (0, 3):  # 大项 and 分值 merged down from 机构负责人岗位职责明确
        assert top[col].tcPr.find(qn("w:vMerge")).get(qn("w:val")) == "restart"
        vm = cont[col].tcPr.find(qn("w:vMerge"))
        assert vm is not None and vm.get(qn("w:val")) in (None, "continue")
    assert cont[1].tcPr is None or cont[1].tcPr.find(qn("w:vMerge")) is None  # 中项 changes on this row
    head = body._tbl.tr_lst[0].tc_lst[0]
    assert head.tcPr.find(qn("w:gridSpan")).get(qn("w:val")) == "3"
    assert body.rows[-1].cells[0].text == "合计" and body.rows[-4].cells[3].text == "100"


def test_broken_files(out):
    d, truth = out
    for name in (n for n in truth if n.startswith("broken")):
        with pytest.raises(Exception):  # noqa: B017 - any failure to open is right
            docx.Document(str(d / name))


def test_deterministic(tmp_path):
    a, b = generate(tmp_path / "a", seed=3, count=4), generate(tmp_path / "b", seed=3, count=4)
    assert a == b
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert generate(tmp_path / "c", seed=4, count=4) != a


def test_crafted_spec(tmp_path):
    spec = form_spec("qh", Variant(layout="repeat", header_rows=1), random.Random(1))
    row = next(r for r in spec.rows if r.item == "考生守则（1分）")
    row.cells["self"], row.cells["insp"] = "３分", "1"
    save_docx(build_form(spec), tmp_path / "one.docx")
    t = truth_of(spec)
    assert t["items"]["考生守则（1分）"] == {"self": 3, "inspector": 1, "cap": 1}
    kinds = {(f["label"], f["kind"]) for f in t["flags"]}
    assert ("考生守则（1分）", "over_cap") in kinds and ("考生守则（1分）", "self_inspector_diff") in kinds
    back = docx.Document(str(tmp_path / "one.docx")).tables[1]
    assert any(r.cells[2].text == "考生守则（1分）" and r.cells[5].text == "３分" for r in back.rows)
