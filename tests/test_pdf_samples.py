"""Generated PDF forms read back exactly: reportlab portrait with a row cut by a page break (ruled at the
break or left open, header repeated or not), reportlab landscape without a repeated header, and a
LibreOffice export (when soffice is installed).

Every item's self/inspector value, the institution and the fill date must equal the truth of the spec the
PDF was rendered from, and no stray row (a cut row's rest read as a row of its own) may be left over.
"""

from __future__ import annotations

import random
import shutil

import pytest

import rubric
from extractor.extract import path_to_form
from extractor.form import Form
from samples.generate import build_form, form_spec, save_docx, truth_of
from samples.spec import as_json
from samples.truth import RUBRICS as RUBRIC_IDS
from samples.variant import Variant

pytest.importorskip("reportlab")
from samples.pdf import convert_docx, set_landscape, split_cells  # noqa: E402
from samples.pdf_reportlab import render_pdf  # noqa: E402


@pytest.fixture(scope="module")
def rubrics():
    return rubric.load_all()


def differences(form: Form, truth: dict) -> list[str]:
    """Given the extracted form and its truth, return what was read differently (empty = exact)."""
    if form.error:
        return [f"failed: {form.error}"]
    out = [f"{k}: {got!r} != {want!r}" for k, got, want in (
        ("rubric", form.rubric, RUBRIC_IDS[truth["rubric"]]),
        ("institution", form.institution, truth["institution"]),
        ("fill_date", form.fill_date, truth["fill_date"])) if got != want]
    items = {it.label: it for it in form.items}
    for label, want in truth["items"].items():
        it = items.get(label)
        got = (None, None) if it is None else (as_json(it.self), as_json(it.inspector))
        if got != (want["self"], want["inspector"]):
            out.append(f"{label}: read {got}, truth {(want['self'], want['inspector'])}")
    return out


def stray_rows(form: Form, truth: dict) -> list[str]:
    """Given the extracted form and its truth, return the extra rows the spec did not print (a cut row's rest
    read as a row of its own: unmatched, or a duplicate of the item it belongs to)."""
    unmatched = [e.text for e in form.extra_rows if e.kind == "unmatched"]
    planted = sum(f["kind"] == "unmatched_row" for f in truth["flags"])
    return [e.text for e in form.extra_rows if e.kind == "duplicate"] + (unmatched if len(unmatched) != planted else [])


def cut_spec(**variant):
    """The spec of a portrait form whose labels a page break cuts: labels broken over lines ("break" noise)
    make the label the cell a page break cuts; scores stay above."""
    return form_spec("qh", Variant(layout="blank", noise=0.5, noise_kinds=("break",), **variant), random.Random(10))


@pytest.fixture(scope="module")
def portrait(tmp_path_factory, rubrics):
    """A portrait form whose header repeats on every page and whose label a page break cuts."""
    spec = cut_spec(fmt="mixed", name_style="seal")
    path = tmp_path_factory.mktemp("pdf") / "portrait.pdf"
    assert render_pdf(spec, path, repeat_header=True, split_rows=True) >= 1
    labels = {"".join(r.cells["label"].split()) for r in spec.rows if r.item}
    assert labels & set(split_cells(path, spec)), "no item label breaks across pages"
    return path_to_form(path, rubrics), truth_of(spec)


def test_reportlab_portrait_with_a_row_cut_by_a_page_break(portrait):
    assert differences(*portrait) == []


def test_rest_of_a_cut_row_after_a_repeated_header_is_joined(portrait):
    assert stray_rows(*portrait) == []


def test_rest_of_a_cut_row_after_a_repeated_header_is_joined_plain_scores(tmp_path, rubrics):
    # the label's rest "分）" after the repeated header was read as an extra row
    spec = cut_spec()
    path = tmp_path / "cut.pdf"
    assert render_pdf(spec, path) >= 1
    form, truth = path_to_form(path, rubrics), truth_of(spec)
    assert differences(form, truth) == [] and stray_rows(form, truth) == []


@pytest.mark.parametrize("repeat_header", [False, True])
def test_row_cut_without_a_rule_at_the_page_break_is_read(tmp_path, rubrics, repeat_header):
    # plain platypus draws no rule where a page break cuts a row: the cut row's text lay outside every
    # ruled cell and its item was read as (None, None)
    spec = cut_spec()
    path = tmp_path / "open.pdf"
    assert render_pdf(spec, path, open_splits=True, repeat_header=repeat_header) >= 1
    form, truth = path_to_form(path, rubrics), truth_of(spec)
    assert differences(form, truth) == [] and stray_rows(form, truth) == []


def test_reportlab_landscape_without_repeated_header(tmp_path, rubrics):
    spec = form_spec("national", Variant(layout="repeat", points=True, date_style="dot"), random.Random(12))
    path = tmp_path / "landscape.pdf"
    render_pdf(spec, path, landscape_page=True, repeat_header=False, split_rows=True)
    form, truth = path_to_form(path, rubrics), truth_of(spec)
    assert differences(form, truth) == [] and stray_rows(form, truth) == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_landscape_export(tmp_path, rubrics):
    spec = form_spec("qh", Variant(split=True, split_note="（续表）", noise=0.2), random.Random(13))
    docx_path = tmp_path / "lo.docx"
    save_docx(set_landscape(build_form(spec)), docx_path)
    (pdf,) = convert_docx([docx_path], tmp_path / "out")
    form, truth = path_to_form(pdf, rubrics), truth_of(spec)
    assert differences(form, truth) == [] and stray_rows(form, truth) == []
