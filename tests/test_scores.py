from decimal import Decimal

import pytest

from extractor.scores import text_to_score, to_json_number


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
