"""National forms, judgments, rubric auto-detection, and a province's own rubric without code."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from cli import main
from extractor.extract import path_to_form
from samples.generate import build_form, form_spec, save_docx, truth_of
from samples.variant import Variant

from .conftest import SAMPLES, build_docx, truth_items


def _gen(tmp_path, kind, seed=0, **variant):
    spec = form_spec(kind, Variant(**variant), random.Random(seed))
    p = tmp_path / f"{kind}_{seed}.docx"
    save_docx(build_form(spec), p)
    return p, truth_of(spec)


def _values(form):
    return {i.label: (i.self, i.inspector) for i in form.items}


@pytest.mark.parametrize("variant", [
    {"numbered": True}, {"numbered": False}, {"numbered": False, "layout": "repeat"}, {"points": True},
])
def test_national_forms_extract_exactly_and_are_detected(tmp_path, rubrics, variant):
    p, truth = _gen(tmp_path, "national", seed=5, **variant)
    form = path_to_form(p, rubrics)
    assert form.rubric == "national-2020"
    got = {i.label: (i.self, i.inspector) for i in form.items}
    for label, t in truth["items"].items():
        s, ins = got[label]
        assert (None if s is None else (s if isinstance(s, str) else float(s)),
                None if ins is None else (ins if isinstance(ins, str) else float(ins))) == (
            t["self"], t["inspector"]), label


def test_points_from_the_form_when_the_rubric_has_none(tmp_path, rubrics):
    p, truth = _gen(tmp_path, "national", seed=2, points=True, errors=("over_cap",))
    form = path_to_form(p, rubrics)
    caps = {i.label: (i.max, i.max_source) for i in form.items}
    for label, t in truth["items"].items():
        assert (float(caps[label][0]), caps[label][1]) == (t["cap"], "form")
    over = [(d.kind, d.item) for d in form.discrepancies if d.kind == "over_cap"]
    want = [f for f in truth["flags"] if f["kind"] == "over_cap"]
    assert len(over) == len(want) == 1


def test_bundled_national_sample_has_judgments_and_diffs():
    import rubric

    name = "national_merged_30.docx"  # samples/forms, truth in samples/truth.json
    want = truth_items(name)
    form = path_to_form(SAMPLES / name, rubric.load_all())
    assert form.rubric == "national-2020"
    assert _values(form)["评价管理制度"] == (want["2.3"]["self"], want["2.3"]["inspector"]) == ("基本符合", "基本符合")
    diffs = sorted(d.item for d in form.discrepancies if d.kind == "self_inspector_diff")
    assert diffs == sorted(c for c, v in want.items() if v["self"] != v["inspector"]) == [
        "11.30", "5.12", "8.16", "9.22"]
    assert not [d for d in form.discrepancies if d.kind in ("over_cap", "total_mismatch", "non_numeric")]


def test_qinghai_forms_are_detected_as_qinghai(tmp_path, rubrics):
    p, _ = _gen(tmp_path, "qh", seed=1)
    assert path_to_form(p, rubrics).rubric == "qinghai-2024"


def test_a_score_table_of_no_known_rubric_fails_naming_the_best_candidate(tmp_path, rubrics):
    p = build_docx(tmp_path / "x.docx", [{"rows": [
        ["项目", "自评得分", "督查得分"], ["食堂卫生情况良好", "5", "5"], ["宿舍管理规范有序", "4", "3"],
        ["校园绿化覆盖率", "2", "2"]]}])
    form = path_to_form(p, rubrics)
    assert form.status == "failed"
    assert form.error.startswith("no known rubric matches this form (best: ")
    assert "score" in form.error


def test_forcing_a_rubric(tmp_path, rubrics):
    p, _ = _gen(tmp_path, "national", seed=3)
    assert path_to_form(p, rubrics, rubric_id="qinghai-2024").rubric == "qinghai-2024"


TINY = """\
id = "haidong-2025"
title = "海东市评价机构自查表（2025）"
total = 10
scoring = "points"

[[categories]]
code = "1"
name = "机构管理"
max = 6

[[categories]]
code = "2"
name = "考务管理"
max = 4

[[items]]
code = "1.1"
label = "机构章程及管理制度健全"
max = 3

[[items]]
code = "1.2"
label = "专职工作人员配备到位"
max = 3

[[items]]
code = "2.1"
label = "考场视频监控全程覆盖"
max = 4
"""


def test_a_hand_written_rubric_in_a_rubric_dir_reads_a_form_for_it(tmp_path):
    rdir = tmp_path / "rubrics"
    rdir.mkdir()
    (rdir / "haidong-2025.toml").write_text(TINY, encoding="utf-8")
    form = build_docx(tmp_path / "hd.docx", [{"rows": [
        ["类别", "检查内容", "分值", "自评得分", "检查得分"],
        ["机构管理", "机构章程及管理制度健全", "3", "3", "2.5"],
        ["机构管理", "专职工作人员配备到位", "3", "2", "2"],
        ["考务管理", "考场视频监控全程覆盖", "4", "4分", "3"],
        ["合计", "", "10", "9", "7.5"]]}], paragraphs=["评价机构名称：海东市平安职业培训学校", "填报日期：2025年3月2日"])
    runner = CliRunner()
    db = tmp_path / "s.db"
    r = runner.invoke(main, ["ingest", str(form), "--db", str(db), "--rubric-dir", str(rdir)])
    assert r.exit_code == 0, r.output
    rec = json.loads(runner.invoke(main, ["export", "--db", str(db)]).stdout)[0]
    assert rec["rubric"] == "haidong-2025" and rec["institution"] == "海东市平安职业培训学校"
    assert [(i["code"], i["self"], i["inspector"]) for i in rec["items"]] == [
        ("1.1", 3, 2.5), ("1.2", 2, 2), ("2.1", 4, 3)]
    assert rec["totals"]["grand"] == 9 and rec["totals"]["inspector_grand"] == 7.5
    assert sorted(d["kind"] for d in rec["discrepancies"]) == ["self_inspector_diff", "self_inspector_diff"]
    listed = runner.invoke(main, ["rubric", "list", "--rubric-dir", str(rdir)])
    assert "haidong-2025\t2 categories, 3 items, 10 points" in listed.stdout


@pytest.mark.parametrize("broken, message", [
    (TINY.replace('label = "考场视频监控全程覆盖"\nmax = 4', 'label = "考场视频监控全程覆盖"\nmax = 5'),
     "items of category 2 (考务管理) add up to 5, but its max is 4"),
    (TINY.replace('code = "1.2"', 'code = "1.1"'), "item 1.1: duplicate item code '1.1'"),
    (TINY.replace('label = "专职工作人员配备到位"', 'label = ""'), "item 1.2: label is missing or empty"),
    (TINY.replace('scoring = "points"', 'scoring = "points"\nweight = 2'), "unknown key 'weight' (allowed: categories, groups, id, items, judgment_aliases, judgments, layout, "
     "scoring, title, total)"),
], ids=["sums", "duplicate", "empty-label", "unknown-key"])
def test_rubric_check_rejects_broken_files_with_their_messages(tmp_path, broken, message):
    p = tmp_path / "broken.toml"
    p.write_text(broken, encoding="utf-8")
    r = CliRunner().invoke(main, ["rubric", "check", str(p)])
    assert r.exit_code == 1
    assert r.stderr.strip() == f"bad broken.toml: {message}"


@pytest.mark.parametrize(("kind", "chosen", "skipped"), [("qh", "qinghai-2024", "national-2020"),
                                                        ("national", "national-2020", "qinghai-2024")])
def test_a_rubric_that_cannot_fit_better_is_not_matched_and_the_choice_is_the_fullest_match(
    tmp_path, rubrics, monkeypatch, kind, chosen, skipped
):
    """choose_rubric matches a rubric only when its fit_bound (every row matched 100 sure) could beat the best fit
    found: the other rubric's assignment is never computed, and the rubric chosen is still the one that fits best
    when every rubric is matched (computed here directly)."""
    import extractor.extract as ex
    from extractor import layout as L
    from extractor.parsers import path_to_document

    p, _ = _gen(tmp_path, kind, seed=3)
    matched: list[str] = []
    real = ex.rows_to_assignment

    def counting(rows, rubric):
        matched.append(rubric.id)
        return real(rows, rubric)

    monkeypatch.setattr(ex, "rows_to_assignment", counting)
    form = path_to_form(p, rubrics)
    assert (form.rubric, matched) == (chosen, [chosen])
    doc = path_to_document(p)
    fits = {}
    for rid, r in rubrics.items():
        rows = L.document_to_layout(doc, r.vocabulary, r.judgments).items
        fits[rid] = (ex._rubric_fit(real(ex._texts(rows), r), len(rows), r), ex.fit_bound(len(rows), r))
    assert fits[skipped][0] <= fits[skipped][1] < fits[chosen][0]
    assert round(fits[chosen][0], 1) == form.rubric_score
