from decimal import Decimal

import pytest

from extractor.scores import Score, parse_number, text_to_mark, text_to_score, to_json_number


@pytest.mark.parametrize("text, value", [
    ("5", Decimal(5)), ("5分", Decimal(5)), ("５", Decimal(5)), ("4.5", Decimal("4.5")), ("4.5分", Decimal("4.5")),
    ("5.0", Decimal(5)), (" 5 ", Decimal(5)), ("０.５", Decimal("0.5")), ("-1", Decimal(-1)), ("0.0", Decimal(0)),
])
def test_numbers_in_every_written_form_become_exact_decimals(text, value):
    s = text_to_score(text)
    assert (s.value, s.kind, s.raw) == (value, "number", text)
    assert str(s.value) == str(value)


@pytest.mark.parametrize("text", ["", "   ", "\n", "—", "/"])
def test_blank_cells_are_null(text):
    s = text_to_score(text)
    assert (s.value, s.kind) == (None, "blank")


def test_text_that_is_no_score_keeps_its_raw_text():
    s = text_to_score("符合")
    assert (s.value, s.kind, s.raw) == (None, "text", "符合")


def test_judgments_are_canonical_where_the_item_allows_them():
    j = ("符合", "基本符合", "不符合")
    assert text_to_score(" 基本符合 ", j).value == "基本符合"
    assert text_to_score("√", j, {"√": "符合"}).value == "符合"
    assert text_to_score("待定", j).kind == "text"


def test_json_numbers_are_ints_when_whole_and_exact_otherwise():
    assert to_json_number(Decimal("5")) == 5 and isinstance(to_json_number(Decimal("5")), int)
    assert to_json_number(Decimal("97.5")) == 97.5
    assert sum([Decimal("0.1")] * 3) == Decimal("0.3")


JUDGMENTS = ("符合", "基本符合", "不符合")


def test_parse_number_reads_a_whole_cell_only():
    assert (parse_number("4.5"), parse_number("４．５分"), parse_number("-1")) == (Decimal("4.5"), Decimal("4.5"),
                                                                                   Decimal(-1))
    assert (parse_number("1 1"), parse_number("5（已整改）"), parse_number("")) == (None, None, None)


@pytest.mark.parametrize("text, value, note", [
    ("5（已整改）", Decimal(5), "已整改"),
    ("5分（已整改）", Decimal(5), "已整改"),
    ("0.5，缺少记录", Decimal("0.5"), "缺少记录"),
    ("1 现场核实", Decimal(1), "现场核实"),
    ("4.5 (见附件)", Decimal("4.5"), "见附件"),
    ("1（缺2份记录）", Decimal(1), "缺2份记录"),
    ("５（已整改）", Decimal(5), "已整改"),
    ("3【见佐证材料】", Decimal(3), "见佐证材料"),
])
def test_a_number_followed_by_a_remark_gives_the_number_and_keeps_the_remark(text, value, note):
    assert text_to_score(text) == Score(value, text, "number", note)


@pytest.mark.parametrize("text, value", [("4.5分", Decimal("4.5")), ("5", Decimal(5)), ("-1", Decimal(-1)),
                                         ("5 分", Decimal(5))])
def test_a_plain_number_has_no_note(text, value):
    assert text_to_score(text) == Score(value, text, "number", None)


@pytest.mark.parametrize("text", ["1 1", "1，2", "1/2", "1-2", "2 3分", "1.", "4.5.1", "2024年5月", "3项", "5%",
                                  "1．评价机构基本信息", "2、承诺机制", "10.考评队伍建设"])
def test_two_numbers_or_a_number_with_a_unit_are_no_score(text):
    assert text_to_score(text) == Score(None, text, "text", None)


@pytest.mark.parametrize("text, value, note", [
    ("扣1分", Decimal(1), None),
    ("扣 0.5 分", Decimal("0.5"), None),
    ("扣1分（缺记录）", Decimal(1), "缺记录"),
    ("扣分1", Decimal(1), None),
    ("扣分：2分", Decimal(2), None),
    ("扣除0.5分，资料不全", Decimal("0.5"), "资料不全"),
])
def test_a_deduction_gives_the_points_deducted(text, value, note):
    assert text_to_score(text) == Score(value, text, "deduction", note)


@pytest.mark.parametrize("text", ["扣1分，扣0.5分", "扣分", "扣1 2分"])
def test_deductions_that_do_not_say_one_amount_are_text(text):
    assert text_to_score(text) == Score(None, text, "text", None)


@pytest.mark.parametrize("text, note", [("满分", None), ("满分（已核实）", "已核实"), (" 满 分 ", None)])
def test_full_marks_are_left_to_the_item_max(text, note):
    assert text_to_score(text) == Score(None, text, "full", note)


def test_full_marks_followed_by_a_number_are_text():
    assert text_to_score("满分5分").kind == "text"


@pytest.mark.parametrize("text, value, note", [
    ("符合（已整改）", "符合", "已整改"),
    ("基本符合，缺少记录", "基本符合", "缺少记录"),
    ("不符合(无台账)", "不符合", "无台账"),
])
def test_a_judgment_followed_by_a_remark(text, value, note):
    assert text_to_score(text, JUDGMENTS) == Score(value, text, "judgment", note)


@pytest.mark.parametrize("text, value", [
    ("☑符合 □基本符合 □不符合", "符合"),
    ("■符合□基本符合□不符合", "符合"),
    ("☒基本符合 ☐符合", "基本符合"),
    ("√符合  基本符合  不符合", "符合"),
    ("□符合 □基本符合 ☑不符合", "不符合"),
    ("□符合 ✔️基本符合 □不符合", "基本符合"),
    ("×符合 √基本符合 ×不符合", "基本符合"),
    ("(√)不符合 ( )符合", "不符合"),
    ("符合☑ 基本符合□ 不符合□", "符合"),
])
def test_the_ticked_option_of_an_inline_list(text, value):
    assert text_to_score(text, JUDGMENTS) == Score(value, text, "judgment", None)


def test_an_inline_list_keeps_a_remark_after_it():
    assert text_to_score("☑符合 □基本符合 □不符合 已整改", JUDGMENTS) == Score(
        "符合", "☑符合 □基本符合 □不符合 已整改", "judgment", "已整改")


@pytest.mark.parametrize("text", ["□符合 □基本符合 □不符合", "☐符合", "符合 基本符合 不符合"])
def test_an_inline_list_with_nothing_ticked_is_blank(text):
    assert text_to_score(text, JUDGMENTS) == Score(None, text, "blank", None)


@pytest.mark.parametrize("text", ["☑符合 ☑基本符合 □不符合", "√符合 √不符合", "符合√ 基本符合 不符合"])
def test_an_inline_list_with_more_than_one_tick_or_an_unclear_one_is_ambiguous(text):
    assert text_to_score(text, JUDGMENTS) == Score(None, text, "ambiguous", None)


@pytest.mark.parametrize("text, value", [("不符合", "不符合"), ("基本符合", "基本符合"), ("符合", "符合")])
def test_the_longest_judgment_wins(text, value):
    assert text_to_score(text, JUDGMENTS) == Score(value, text, "judgment", None)


@pytest.mark.parametrize("text", ["部分符合", "待定"])
def test_a_judgment_inside_other_words_is_text(text):
    assert text_to_score(text, JUDGMENTS) == Score(None, text, "text", None)


def test_tick_lists_are_read_only_where_the_item_allows_judgments():
    assert text_to_score("☑符合 □基本符合 □不符合").kind == "text"


@pytest.mark.parametrize("text, mark", [
    ("√", "tick"), ("✓", "tick"), ("✔", "tick"), ("✔️", "tick"), ("☑", "tick"), ("☒", "tick"), ("■", "tick"),
    ("●", "tick"), ("◉", "tick"), ("✅", "tick"), (" （√） ", "tick"),
    ("×", "cross"), ("✗", "cross"), ("✘", "cross"), ("x", "cross"), ("X", "cross"), ("Ｘ", "cross"),
    ("", "blank"), ("  ", "blank"), ("☐", "blank"), ("□", "blank"), ("○", "blank"), ("-", "blank"), ("/", "blank"),
    ("—", "blank"), ("符合", "text"), ("xx", "text"), ("5", "text"), ("✓ ✓", "text"), ("√√", "text"), ("××", "text"),
])
def test_tick_column_marks(text, mark):
    assert text_to_mark(text) == mark


def test_score_keeps_its_positional_fields():
    s = Score(Decimal(5), "5", "number")
    assert (s.value, s.raw, s.kind, s.note, s.is_number) == (Decimal(5), "5", "number", None, True)
    assert not Score(Decimal(1), "扣1分", "deduction").is_number


@pytest.mark.parametrize("text, value", [("符合、", "符合"), ("、符合", "符合"), ("基本符合。", "基本符合"), ("。0分", Decimal(0)),
                                         ("5，", Decimal(5)), ("；4.5", Decimal("4.5")), ("）基本符合", "基本符合"),
                                         ("不符合）", "不符合")])
def test_cjk_punctuation_hung_over_from_the_next_cell_is_no_part_of_the_value(text, value):
    s = text_to_score(text, ("符合", "基本符合", "不符合"))
    assert (s.value, s.raw, s.note) == (value, text, None)


def test_punctuation_alone_is_no_value():
    assert text_to_score("、").kind == "text"


def test_a_bracket_closed_in_the_cell_is_a_remark_not_stray():
    s = text_to_score("5（已整改）")
    assert (s.value, s.note) == (Decimal(5), "已整改")
