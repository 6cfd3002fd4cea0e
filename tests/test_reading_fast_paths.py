"""The fast paths of reading (issue 15) give what the general ways give: a Word cell of plain runs read in one
pass reads as the general walk reads it, the literal prefilters of note and signature rows agree with their
patterns, and a cached score reading still depends on the aliases it was asked with."""

from __future__ import annotations

import pytest
from lxml import etree

from extractor.layout import _NOTE_ROW, _SIGN_FIELD, _is_note_row, _is_sign_row
from extractor.parsers.docx import W, _cell_text, _cell_text_walked
from extractor.scores import text_to_score

NS = f'xmlns:w="{W}" xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"'
PR = '<w:tcPr><w:tcW w:w="1200" w:type="dxa"/></w:tcPr>'
NESTED = '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>内</w:t></w:r></w:p></w:tc></w:tr></w:tbl>'
CELLS = {
    "plain": (f'{PR}<w:p><w:r><w:t>5</w:t></w:r></w:p>', "5"),
    "run properties": (f'{PR}<w:p><w:pPr><w:jc w:val="center"/></w:pPr><w:r><w:rPr><w:b/></w:rPr>'
                       '<w:t>4.</w:t></w:r><w:r><w:t>5</w:t></w:r></w:p>', "4.5"),
    "paragraphs": (f'{PR}<w:p/><w:p><w:r><w:t>制度</w:t></w:r></w:p><w:p><w:r><w:t>健全</w:t></w:r></w:p><w:p/>',
                   "制度\n健全"),
    "no properties": ('<w:p><w:r><w:t>符合</w:t></w:r></w:p>', "符合"),
    "nested table": (f'{PR}<w:p><w:r><w:t>外</w:t></w:r></w:p>{NESTED}<w:p/>', "外"),
    "break": (f'{PR}<w:p><w:r><w:t>一</w:t><w:br/><w:t>二</w:t></w:r></w:p>', "一\n二"),
    "deleted": (f'{PR}<w:p><w:r><w:t>3</w:t></w:r><w:del><w:r><w:delText>4</w:delText></w:r></w:del></w:p>', "3"),
    "inserted": (f'{PR}<w:p><w:ins><w:r><w:t>2</w:t></w:r></w:ins></w:p>', "2"),
    "checkbox": (f'{PR}<w:p><w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val="1"/></w14:checkbox></w:sdtPr>'
                 '<w:sdtContent><w:r><w:t>☐</w:t></w:r></w:sdtContent></w:sdt></w:p>', "☑"),
    "table then wrapped paragraph": (f'{PR}{NESTED}<w:sdt><w:sdtContent><w:p><w:r><w:t>包</w:t></w:r></w:p>'
                                     f'</w:sdtContent></w:sdt>{NESTED}', "包"),
    "bookmark": (f'{PR}<w:p><w:bookmarkStart w:id="0" w:name="a"/><w:r><w:t>1</w:t></w:r></w:p>', "1"),
    "comment": (f'{PR}<!-- note --><w:p><w:r><w:t>0</w:t></w:r></w:p>', "0"),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_text_reads_as_the_general_walk(name: str) -> None:
    xml, expected = CELLS[name]
    tc = etree.fromstring(f"<w:tc {NS}>{xml}</w:tc>")
    fast: list[etree._Element] = [tc]  # a table found before this cell stays where it is
    slow: list[etree._Element] = [tc]
    assert _cell_text(tc, fast) == _cell_text_walked(tc, slow, 1) == expected
    assert fast == slow  # the same nested tables, each once, in the same order
    assert len(fast) == 1 + xml.count("<w:tbl>")


NOTE_TEXTS = ["注：本表由机构填写", "注1.说明", "注3", "说明:", "备注、", "附注.", "填表说明：", "注意:", "以下空白",
              "（以下无正文）", "此页无正文", "此处空白", "制度健全", "注册资本", "1.1组织机构", "备", "", "说明",
              "自评得分", "评价机构（盖章）:", "签字:", "负责人签名（签字）：", "：（签字）", ":(盖章)", "签章",
              "签字确认", "盖章：2024年", "合计"]


@pytest.mark.parametrize("text", NOTE_TEXTS)
def test_row_prefilters_agree_with_their_patterns(text: str) -> None:
    assert _is_note_row(text) == (_NOTE_ROW.search(text) is not None)
    assert _is_sign_row(text) == (_SIGN_FIELD.search(text) is not None)


def test_some_rows_are_notes_and_signatures() -> None:
    # The agreement above is not vacuous: both kinds are met.
    assert [t for t in NOTE_TEXTS if _is_note_row(t)] == ["注：本表由机构填写", "注1.说明", "注3", "说明:", "备注、",
                                                           "附注.", "填表说明：", "注意:", "以下空白", "（以下无正文）",
                                                           "此页无正文", "此处空白"]
    assert [t for t in NOTE_TEXTS if _is_sign_row(t)] == ["评价机构（盖章）:", "签字:", "负责人签名（签字）：", "：（签字）",
                                                           ":(盖章)", "盖章：2024年"]


def test_a_cached_score_reading_depends_on_the_aliases() -> None:
    judgments = ("符合", "基本符合", "不符合")
    with_alias = text_to_score("达标", judgments, {"达标": "符合"})
    assert (with_alias.value, with_alias.kind, with_alias.raw) == ("符合", "judgment", "达标")
    without = text_to_score("达标", judgments)
    assert (without.value, without.kind) == (None, "text")
    other = text_to_score("达标", judgments, {"达标": "基本符合"})
    assert (other.value, other.kind) == ("基本符合", "judgment")
    hung = text_to_score("达标、", judgments, {"达标": "符合"})  # the stray punctuation path asks again, same aliases
    assert (hung.value, hung.kind, hung.raw) == ("符合", "judgment", "达标、")
