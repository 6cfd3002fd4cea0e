from decimal import Decimal

import pytest

import rubric
from rubric import RubricError, parse

GOOD = {
    "id": "tiny", "title": "Tiny", "total": 3, "scoring": "points",
    "categories": [{"code": "1", "name": "A", "max": 3}],
    "groups": [{"id": "g1", "max": 2}],
    "items": [{"code": "1.1.1", "label": "x（1分）", "max": 1, "group": "g1"},
              {"code": "1.1.2", "label": "y（1分）", "max": 1, "group": "g1"},
              {"code": "1.2.1", "label": "z", "max": 1}],
}


def _with(**changes):
    import copy

    d = copy.deepcopy(GOOD)
    d.update(changes)
    return d


def test_bundled_qinghai_has_67_items_in_9_categories_adding_to_100(qinghai):
    assert len(qinghai.categories) == 9
    assert len(qinghai.items) == 67
    assert sum(i.max for i in qinghai.items) == Decimal(100)
    assert qinghai.item("3.1.2").label == "技能人才评价设备设施管理制度及设备安全操作规程（1分）"
    # One 分值 cell spans several 中项 (岗位设置情况: 4), one 中项 holds two groups (信息建设: 4 then 2).
    g = qinghai.item("2.1.1").group
    assert [i.code for i in qinghai.group_items(g)] == ["2.1.1", "2.2.1", "2.3.1", "2.4.1"]
    assert qinghai.groups[g] == 4
    assert qinghai.item("8.2.1").section == qinghai.item("8.2.3").section == "信息建设"
    assert qinghai.groups[qinghai.item("8.2.1").group] == 4 and qinghai.groups[qinghai.item("8.2.3").group] == 2
    # Items without "（N分）" take their group's 分值.
    assert qinghai.item("1.1.1").max == 5 and qinghai.item("2.5.1").max == 2


def test_bundled_national_has_12_first_and_33_second_level_indicators(rubrics):
    n = rubrics["national-2020"]
    assert len(n.categories) == 12 and len(n.items) == 33
    assert n.items[0].label == "评价机构基本信息"
    assert n.item("4.8").label == "评价场地和设施设备"
    assert not n.has_points and n.scoring == "judgment_or_points"


def test_a_good_rubric_parses():
    r = parse(GOOD, "tiny.toml")
    assert [i.code for i in r.items] == ["1.1.1", "1.1.2", "1.2.1"]
    assert r.total == 3


@pytest.mark.parametrize("data, message", [
    (_with(colour="red"), "tiny.toml: unknown key 'colour'"),
    (_with(total=4), "tiny.toml: categories add up to 3, but total is 4"),
    (_with(groups=[{"id": "g1", "max": 3}]), "tiny.toml: items of group 'g1' add up to 2, but the group's max is 3"),
    (_with(categories=[{"code": "1", "name": "A", "max": 5}], total=5),
     "tiny.toml: items of category 1 (A) add up to 3, but its max is 5"),
    (_with(items=GOOD["items"] + [{"code": "1.1.1", "label": "w", "max": 0}]),
     "tiny.toml: item 1.1.1: duplicate item code '1.1.1'"),
    (_with(items=[{"code": "1.1.1", "label": "  ", "max": 3}], groups=[]), "tiny.toml: item 1.1.1: label is missing or empty"),
    (_with(items=[{"code": "1.1.1", "label": "x", "max": 3, "weight": 2}], groups=[]),
     "tiny.toml: items[1]: unknown key 'weight'"),
])
def test_the_loader_rejects_a_bad_rubric_with_one_precise_message(data, message):
    with pytest.raises(RubricError) as e:
        parse(data, "tiny.toml")
    assert str(e.value).startswith(message)


def test_load_reports_invalid_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("id = \n", encoding="utf-8")
    with pytest.raises(RubricError, match=r"^bad.toml: not valid TOML"):
        rubric.load(p)


def test_extra_rubric_dir_is_loaded(tmp_path, monkeypatch):
    import tomllib  # noqa: F401  (the format is TOML)

    (tmp_path / "tiny.toml").write_text(
        'id = "tiny"\ntitle = "T"\ntotal = 1\n[[categories]]\ncode = "1"\nname = "A"\nmax = 1\n'
        '[[items]]\ncode = "1.1"\nlabel = "x"\nmax = 1\n', encoding="utf-8")
    monkeypatch.setenv(rubric.RUBRIC_DIR_ENV, str(tmp_path))
    assert sorted(rubric.load_all()) == ["national-2020", "qinghai-2024", "tiny"]


def test_the_readme_example_rubric_is_valid():
    import re
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    r = parse(tomllib.loads(re.search(r"```toml\n(.*?)```", readme, re.S).group(1)), "readme.toml")
    assert (r.id, [i.code for i in r.items], r.groups) == ("haidong-2025", ["1.1", "1.2", "2.1"], {"g1": 6})
    assert r.vocabulary.role_of("市州初审") == "inspector"
