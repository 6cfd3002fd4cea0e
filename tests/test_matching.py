"""Matching: jieba + rapidfuzz, context-aware, one-to-one across the form."""

from __future__ import annotations

import random

from extractor.matching.assign import RowText, rows_to_assignment
from extractor.matching.segment import label_points, normalize_label, tokens


def _rows(qinghai):
    cats = {c.code: c.name for c in qinghai.categories}
    return [RowText(i.label, cats[i.category], i.section or "") for i in qinghai.items]


def test_normalize_folds_width_points_numbering_spaces_and_punctuation():
    assert normalize_label("工作收\n费标准和财务管理办法(1分)") == "工作收费标准和财务管理办法"
    assert normalize_label("1．评价机构基本信息") == "评价机构基本信息"
    assert normalize_label("一、机构信用") == "机构信用"
    assert normalize_label("考评方式、内容和时长") == "考评方式内容和时长"
    assert label_points("考生守则（1分）") == "1" and label_points("考生守则") is None


def test_jieba_segments_unspaced_chinese_into_words():
    assert tokens("技能人才评价考场规则").split() == ["技能", "人才", "评价", "考场", "规则"]


def test_the_clean_form_matches_every_row_to_its_own_item(qinghai):
    a = rows_to_assignment(_rows(qinghai), qinghai)
    assert a.item_for_row == {i: i for i in range(67)}
    assert a.unmatched == [] and a.duplicates == {}


def test_look_alike_labels_land_by_their_context(qinghai):
    # Two 制度上墙情况 rows, one under 岗位设置情况, one under 规章制度情况; labels reduced to the look-alike part.
    rows = [RowText("制度是否上墙", "规章制度情况", "制度上墙情况"), RowText("制度是否上墙", "岗位设置情况", "制度上墙情况")]
    a = rows_to_assignment(rows, qinghai)
    assert qinghai.items[a.item_for_row[0]].code == "3.4.1"
    assert qinghai.items[a.item_for_row[1]].code == "2.5.1"


def test_noisy_labels_and_shuffled_rows_still_match_one_to_one(qinghai):
    noisy = {
        "3.1.1": "烤场规  则（1分）",  # typo and dropped prefix
        "3.1.4": "工作收\n费标准和财务管里办法(1分)",  # line break, typo, half-width points
        "2.5.1": "主要岗位制渡\n是否上墙",
        "3.1.2": "设备设施管理制度及设备安全操作规程",  # dropped prefix, no （1分）
        "6.1.1": "个人申报表填写规范齐全，完整、真实地反映其基本信息",
    }
    cats = {c.code: c.name for c in qinghai.categories}
    rows = [RowText(noisy.get(i.code, i.label), cats[i.category], i.section or "") for i in qinghai.items]
    order = list(range(67))
    random.Random(7).shuffle(order)
    a = rows_to_assignment([rows[k] for k in order], qinghai)
    got = {qinghai.items[a.item_for_row[pos]].code for pos in range(67)}
    assert len(got) == 67
    for pos, k in enumerate(order):
        assert a.item_for_row[pos] == k, (rows[k].label, qinghai.items[a.item_for_row[pos]].label)


def test_a_row_twice_is_a_duplicate_and_a_foreign_row_is_unmatched(qinghai):
    rows = _rows(qinghai)
    rows.append(RowText("技能人才评价考场规则（1分）", "规章制度情况", "工作场所相关制度/办法的情况"))
    rows.append(RowText("其他工作情况说明", "", ""))
    a = rows_to_assignment(rows, qinghai)
    assert a.duplicates == {67: 6}
    assert a.unmatched == [68]
    assert len(a.item_for_row) == 67


def test_a_missing_row_leaves_its_item_unassigned(qinghai):
    rows = _rows(qinghai)
    del rows[10]
    a = rows_to_assignment(rows, qinghai)
    assert 10 not in a.item_for_row.values()
    assert len(a.item_for_row) == 66 and a.unmatched == []


def test_the_vectorized_matrix_equals_the_per_pair_score(qinghai):
    from extractor.matching.assign import score_matrix
    from extractor.matching.score import row_item_score
    from samples.noise import noisy_label

    rng = random.Random(3)
    cats = {c.code: c.name for c in qinghai.categories}
    rows = [RowText(noisy_label(i.label, rng), cats[i.category] if n % 3 else "", i.section or "" if n % 4 else "")
            for n, i in enumerate(qinghai.items)]
    got = score_matrix(rows, qinghai)
    for r, row in enumerate(rows):
        for k, it in enumerate(qinghai.items):
            want = row_item_score(normalize_label(row.label), row.category, row.section, normalize_label(it.label),
                                  cats[it.category], it.section or "")
            assert abs(got[r][k] - want) < 1e-9
