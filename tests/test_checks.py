"""Each discrepancy kind: a crafted form that must raise it and a near-twin that must not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from extractor.extract import path_to_form

from .conftest import build_docx

HEAD = ["大项", "中项", "小项", "分值", "自评结果", "督查结果"]
COVER = ["评价机构名称：海东市平安职业培训学校", "填报日期：2024年5月20日"]


def craft(tmp_path, qinghai, name="f.docx", values=None, labels=None, drop=(), extra_rows=(), totals=None,
          cover=COVER, points=None, subtotal=None, inspector=True):
    """Write a Qinghai form: every item at its max for self and inspector unless `values` says otherwise
    (code -> (self_text, inspector_text)); totals rows printed from the sums unless `totals` overrides."""
    values, labels, points, totals = values or {}, labels or {}, points or {}, totals or {}
    cats = {c.code: c.name for c in qinghai.categories}
    rows, sums = [HEAD], [Decimal(0), Decimal(0)]
    for it in qinghai.items:
        if it.code in drop:
            continue
        s, i = values.get(it.code, (str(it.max), str(it.max)))
        for k, v in enumerate((s, i)):
            try:
                sums[k] += Decimal(v)
            except Exception:  # noqa: BLE001 - text scores do not add up
                pass
        group_max = qinghai.groups[it.group] if it.group else it.max
        rows.append([cats[it.category], it.section or "", labels.get(it.code, it.label),
                     points.get(it.code, str(group_max)), s, i if inspector else ""])
        if subtotal and it.code == subtotal[0]:
            rows.append([cats[it.category], "小计", "", "", subtotal[1], ""])
    rows += list(extra_rows)
    t = totals.get("total", (str(sums[0]), str(sums[1])))
    g = totals.get("grand", t)
    b, p = totals.get("bonus", ("", "")), totals.get("penalty", ("", ""))
    rows += [["", "", "", "100", t[0], t[1] if inspector else ""], ["加分项", "", "", "", b[0], b[1]],
             ["减分项", "", "", "", p[0], p[1]], ["合计", "", "", "", g[0], g[1] if inspector else ""]]
    return build_docx(tmp_path / name, [{"rows": rows}], paragraphs=cover)


def kinds(form, ignore=("self_inspector_diff",)):
    return sorted((d.kind, d.item) for d in form.discrepancies if d.kind not in ignore)


def test_a_clean_form_raises_nothing(tmp_path, rubrics, qinghai):
    form = path_to_form(craft(tmp_path, qinghai), rubrics)
    assert (form.status, form.discrepancies) == ("ok", [])


def test_a_clean_form_with_differing_scores_raises_only_self_inspector_diff(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, values={"3.1.1": ("1", "0.5"), "6.1.2": ("5", "4")})
    form = path_to_form(f, rubrics)
    assert [(d.kind, d.item, d.severity, d.message) for d in form.discrepancies] == [
        ("self_inspector_diff", "3.1.1", "info", "3.1.1 自评 1，督查 0.5（相差 0.5）"),
        ("self_inspector_diff", "6.1.2", "info", "6.1.2 自评 5，督查 4（相差 1）")]
    assert form.status == "ok"


@pytest.mark.parametrize("values, want", [
    ({"3.1.2": ("3", "1")}, [("over_cap", "3.1.2"), ("total_mismatch", None)]),
    ({"3.1.2": ("1", "1.5")}, [("over_cap", "3.1.2"), ("total_mismatch", None)]),
    ({"3.1.2": ("-1", "1")}, [("negative_score", "3.1.2"), ("total_mismatch", None)]),
    ({"3.1.2": ("待定", "1")}, [("non_numeric", "3.1.2"), ("total_mismatch", None)]),
    ({"3.1.2": ("", "1")}, [("missing_score", "3.1.2"), ("total_mismatch", None)]),
    ({"3.1.2": ("1", "")}, [("missing_score", "3.1.2"), ("total_mismatch", None)]),
])
def test_value_checks_raise_their_kind(tmp_path, rubrics, qinghai, values, want):
    # The printed totals stay those of a clean form, so the changed value also breaks the total.
    clean = {"total": ("100", "100")}
    form = path_to_form(craft(tmp_path, qinghai, values=values, totals=clean), rubrics)
    assert kinds(form) == want
    assert form.status == "flagged"


@pytest.mark.parametrize("values", [{"3.1.2": ("1", "1")}, {"3.1.2": ("0", "0")}, {"3.1.2": ("0.5", "0.5")}])
def test_near_twins_of_value_checks_raise_nothing(tmp_path, rubrics, qinghai, values):
    form = path_to_form(craft(tmp_path, qinghai, values=values), rubrics)
    assert kinds(form) == []


def test_a_blank_inspector_column_is_no_missing_score(tmp_path, rubrics, qinghai):
    form = path_to_form(craft(tmp_path, qinghai, inspector=False), rubrics)
    assert kinds(form) == []


def test_total_mismatch_on_the_100_row_and_on_the_grand_total(tmp_path, rubrics, qinghai):
    f1 = craft(tmp_path, qinghai, "a.docx", totals={"total": ("95", "100")})
    assert [(d.kind, d.message) for d in path_to_form(f1, rubrics).discrepancies] == [
        ("total_mismatch", "自评总分填 95，各项相加为 100")]
    f2 = craft(tmp_path, qinghai, "b.docx", totals={"bonus": ("2", "2"), "penalty": ("1", "1"),
                                                    "grand": ("100", "101")})
    assert [(d.kind, d.message) for d in path_to_form(f2, rubrics).discrepancies] == [
        ("total_mismatch", "自评合计填 100，但总分 100 + 加分 2 - 减分 1 = 101")]
    f3 = craft(tmp_path, qinghai, "c.docx", totals={"bonus": ("2", "2"), "penalty": ("0.5", "0.5"),
                                                    "grand": ("101.5", "101.5")})
    assert path_to_form(f3, rubrics).discrepancies == []


def test_a_score_over_its_cap_counts_at_its_written_value_in_the_total(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, values={"3.1.2": ("3", "1")}, totals={"total": ("102", "100"),
                                                                      "grand": ("102", "100")})
    assert kinds(path_to_form(f, rubrics)) == [("over_cap", "3.1.2")]


def test_missing_item_and_its_twin(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, drop=("3.1.5",), totals={"total": ("99", "99")})
    form = path_to_form(f, rubrics)
    assert kinds(form) == [("missing_item", "3.1.5")]
    assert next(i for i in form.items if i.code == "3.1.5").self is None


def test_unmatched_row_quotes_its_text_and_scores(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, extra_rows=[["能力建设情况", "其他", "其他工作开展情况说明", "", "0", "0"]])
    form = path_to_form(f, rubrics)
    assert kinds(form) == [("unmatched_row", None)]
    msg = next(d.message for d in form.discrepancies if d.kind == "unmatched_row")
    assert msg.startswith("行「其他工作开展情况说明」（表1 第69行）（自评 0，督查 0）对不上评分细则的任何条目")


def test_duplicate_item_keeps_the_better_row(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, extra_rows=[["规章制度情况", "工作场所相关制度/办法的情况", "技能人才评价考场规则（1分）",
                                              "", "1", "1"]])
    form = path_to_form(f, rubrics)
    assert kinds(form) == [("duplicate_item", "3.1.1")]
    assert form.status == "flagged"


def test_subtotal_mismatch_and_its_twin(tmp_path, rubrics, qinghai):
    bad = path_to_form(craft(tmp_path, qinghai, "a.docx", subtotal=("2.5.1", "5")), rubrics)
    assert [(d.kind, d.message) for d in bad.discrepancies] == [
        ("subtotal_mismatch", "岗位设置情况 自评小计填 5，各项相加为 6")]
    good = path_to_form(craft(tmp_path, qinghai, "b.docx", subtotal=("2.5.1", "6")), rubrics)
    assert good.discrepancies == []


def test_max_mismatch_and_its_twin(tmp_path, rubrics, qinghai):
    form = path_to_form(craft(tmp_path, qinghai, points={"1.1.1": "6"}), rubrics)
    assert [(d.kind, d.item, d.message) for d in form.discrepancies] == [
        ("max_mismatch", "1.1.1", "1.1.1 表上分值 6，评分细则为 5")]


def test_low_confidence_match_and_its_twin(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, labels={"5.8.1": "现场录像"})
    form = path_to_form(f, rubrics)
    assert kinds(form) == [("low_confidence_match", "5.8.1")]
    assert next(d.message for d in form.discrepancies).startswith("5.8.1 匹配到的行「现场录像」，相似度 6")
    twin = path_to_form(craft(tmp_path, qinghai, "b.docx", labels={"5.8.1": "现场视频及影像资料"}), rubrics)
    assert kinds(twin) == []


def test_header_missing_and_its_twin(tmp_path, rubrics, qinghai):
    form = path_to_form(craft(tmp_path, qinghai, cover=["评价机构名称：某学校"]), rubrics)
    assert [(d.kind, d.message) for d in form.discrepancies] == [("header_missing", "表上没有找到填表日期")]
    form = path_to_form(craft(tmp_path, qinghai, "b.docx", cover=[]), rubrics)
    assert [d.message for d in form.discrepancies] == ["表上没有找到机构名称和填表日期"]


def test_sums_are_exact_decimals(tmp_path, rubrics, qinghai):
    vals = {it.code: ("0.5", "0.5") for it in qinghai.items if it.max == 1}
    vals["4.1.1"] = ("0.1", "0.2")
    n1 = len([it for it in qinghai.items if it.max == 1])
    assert n1 == 40
    form = path_to_form(craft(tmp_path, qinghai, values=vals, totals={"total": ("97.4", "x")}), rubrics)
    msg = next(d.message for d in form.discrepancies if d.kind == "total_mismatch")
    assert msg == "自评总分填 97.4，各项相加为 79.6"


def test_arithmetic_and_row_findings_of_a_real_form_point_at_their_printed_rows(tmp_path, rubrics, qinghai):
    f = craft(tmp_path, qinghai, subtotal=("2.5.1", "5"), totals={"total": ("95", "100")},
              extra_rows=[["能力建设情况", "其他", "其他工作开展情况说明", "", "0", "0"]])
    form = path_to_form(f, rubrics)
    total, sub = form.printed_total("total"), next(p for p in form.printed if p.kind == "subtotal")
    extra = form.extra_rows[0]
    assert [(d.kind, d.side, d.total, d.category, d.row) for d in form.discrepancies] == [
        ("total_mismatch", "self", "total", None, total.provenance),
        ("subtotal_mismatch", "self", "subtotal", "岗位设置情况", sub.provenance),
        ("unmatched_row", None, None, None, extra.provenance)]
    assert (total.provenance["table"], total.provenance["row"], extra.provenance["row"]) == (0, 70, 69)


def test_the_readme_documents_every_discrepancy_kind_with_its_severity():
    # The contract: a kind is added only with its row in the README's kinds table (pages_reordered once came
    # without one).
    import re
    from pathlib import Path

    from extractor.checks import SEVERITY

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([a-z_]+) \| (error|warning|info) \|", readme, flags=re.M))
    assert rows == SEVERITY
