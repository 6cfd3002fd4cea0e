"""Streamed export and reports: forms read in batches give the same forms as load_form, the same bytes as the whole
list written at once, and flat memory (one query per table per batch, never one per form).

A real database: committed fixtures (a flagged Word form, a national form, a PDF, a broken file) ingested by the
real CLI, then a reviewer's correction and acceptance. References are independent code: store.load_form per id and
json.dumps of the whole list, and exact values of filled_errors.docx as the form prints them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cli import main
from extractor.export import form_to_json, records_to_file
from extractor.export_json import value_to_json
from extractor.report import db_to_html, db_to_md, db_to_xlsx, forms_to_html, forms_to_md, forms_to_xlsx
from extractor.store import form_ids, load_form, open_db
from extractor.store_batch import FLAGGED_CELLS, batch_to_forms, ids_to_forms

FIXTURES = Path(__file__).parent / "fixtures" / "forms"
NAMES = ("filled_errors.docx", "national_filled.docx", "filled_pdf.pdf", "broken_truncated.docx")


def run(*args: str) -> CliRunner:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("stream") / "inbox"
    inbox.mkdir()
    for name in NAMES:
        shutil.copy(FIXTURES / name, inbox / name)
    path = inbox.parent / "s.db"
    result = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(path)])
    assert result.exit_code == 1, result.output  # broken_truncated.docx fails to read; the rest are stored
    errors = str(inbox / "filled_errors.docx")
    run("review", "set", errors, "3.1.2", "--self", "1", "--why", "misread", "--who", "张三", "--db", str(path))
    run("review", "accept", errors, "total_mismatch", "--why", "bonus agreed", "--who", "李四", "--db", str(path))
    # A correction over the max flags an item no stored discrepancy named: its row's cells must be read for its card.
    run(
        "review", "set", errors, "1.1.1", "--self", "99", "--force", "--why", "typo", "--who", "王五", "--db", str(path)
    )
    return path


@pytest.fixture()
def store(db):
    con = open_db(db, readonly=True)
    yield con
    con.conn.close()


def reference_records(store) -> list[dict]:
    """The export as it was made before streaming: load_form per id, superseded_by read per form."""
    out = []
    for fid in form_ids(store):
        sup = store.execute("SELECT superseded_by FROM forms WHERE id = ?", [fid]).fetchone()[0]
        out.append(form_to_json(load_form(store, fid), fid, sup))
    return out


# --- the batch loader ---------------------------------------------------------------------------------------------


def test_batches_give_the_forms_load_form_gives(store):
    ids = form_ids(store, include_superseded=True)
    assert len(ids) == 4
    got = list(ids_to_forms(store, ids, batch=3))  # a full batch and a partial one
    assert [fid for fid, _, _ in got] == ids
    for fid, form, sup in got:
        assert form == load_form(store, fid), fid
        assert sup == store.execute("SELECT superseded_by FROM forms WHERE id = ?", [fid]).fetchone()[0]
        assert form == load_form(store, fid)  # the shared Decimals are not changed by anyone
    raw = {fid: f for fid, f, _ in ids_to_forms(store, ids, effective=False)}
    assert all(raw[fid] == load_form(store, fid, effective=False) for fid in ids)
    as_read = next(f for f in raw.values() if f.source.endswith("filled_errors.docx"))
    effective = next(f for _, f, _ in got if f.source.endswith("filled_errors.docx"))
    assert [next(i.self for i in f.items if i.code == "3.1.2") for f in (as_read, effective)] == [3, 1]


def test_without_cells_only_the_evidence_columns_are_left_out(store):
    ids = form_ids(store)
    for (fid, full, _), (_, bare, _) in zip(
        ids_to_forms(store, ids), ids_to_forms(store, ids, cells=False), strict=True
    ):
        assert bare.tables == [] and all(it.row_cells is None for it in bare.items)
        full.tables = []
        for it in full.items:
            it.row_cells = None
        assert bare == full, fid


def test_flagged_cells_keep_the_rows_an_evidence_card_shows(store):
    ids = form_ids(store)
    pdf_id = next(fid for fid in ids if load_form(store, fid).kind == "pdf")
    full = load_form(store, pdf_id)
    ((_, form, _),) = batch_to_forms(store, [pdf_id], cells=FLAGGED_CELLS)
    named = {d.item for d in form.discrepancies}
    assert form.tables == full.tables
    kept = [it.code for it in form.items if it.row_cells is not None]
    assert kept and set(kept) <= named
    for it, ref in zip(form.items, full.items, strict=True):
        assert it.row_cells == (ref.row_cells if it.code in named else None), it.code


def test_one_query_per_table_per_batch_not_per_form(store):
    ids = form_ids(store, include_superseded=True)
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        assert len(list(ids_to_forms(store, ids, batch=2))) == 4
    finally:
        store.conn.set_trace_callback(None)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    items = [s for s in reads if "FROM items" in s]
    assert len(items) == 2  # two batches of two
    # One form has corrections: apply_corrections reads them for that form alone.
    per_form = [s for s in reads if "FROM corrections WHERE form_id =" in s]
    assert len(per_form) == 1


# --- the export's bytes ----------------------------------------------------------------------------------------------


def test_streamed_json_is_the_whole_list_dumped_at_once(db, store, tmp_path):
    expected = (json.dumps(reference_records(store), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    out = tmp_path / "forms.json"
    run("export", "--db", str(db), "-o", str(out))
    assert out.read_bytes() == expected
    assert run("export", "--db", str(db)).stdout_bytes == expected


def test_streamed_json_holds_the_forms_as_printed(db, tmp_path):
    out = tmp_path / "forms.json"
    run("export", "--db", str(db), "-o", str(out))
    records = {Path(r["source"]).name: r for r in json.loads(out.read_text(encoding="utf-8"))}
    assert sorted(records) == sorted(NAMES)
    errors = records["filled_errors.docx"]
    assert (errors["institution"], errors["status"], errors["rubric"]) == (
        "海北州高原职业培训中心",
        "flagged",
        "qinghai-2024",
    )
    item = next(i for i in errors["items"] if i["code"] == "3.1.2")
    assert (item["self"], item["inspector"], item["max"], item["corrected"], item["extracted"]) == (
        1,
        1,
        1,
        True,
        {"self": 3},
    )
    assert (errors["totals"]["self"], errors["totals"]["inspector"]) == (95, 82)
    assert {d["kind"] for d in errors["discrepancies"]} >= {"total_mismatch"}
    # Accepted for the sum it had: 1.1.1's correction changed the sum, so the acceptance no longer covers it.
    assert next(d for d in errors["discrepancies"] if d["kind"] == "total_mismatch")["accepted"] is False
    broken = records["broken_truncated.docx"]
    assert (broken["status"], broken["items"], broken["totals"]) == ("failed", [], {})


def test_streamed_csv_is_one_row_per_item_as_before(db, store, tmp_path):
    out = tmp_path / "forms.csv"
    run("export", "--db", str(db), "-o", str(out))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfform_id,source,status,")
    assert run("export", "--db", str(db), "--format", "csv").stdout_bytes == data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    records = reference_records(store)
    assert len(rows) == sum(max(len(r["items"]), 1) for r in records)
    row = next(r for r in rows if r["source"].endswith("filled_errors.docx") and r["code"] == "3.1.2")
    assert (row["self"], row["inspector"], row["max"], row["corrected"]) == ("1", "1", "1", "True")
    failed = [r for r in rows if r["status"] == "failed"]
    assert [Path(r["source"]).name for r in failed] == ["broken_truncated.docx"] and failed[0]["code"] == ""
    assert data.count(b"\r\n") == len(rows) + 1  # CRLF rows, the header included


def test_nothing_to_export_is_an_empty_list_and_a_header(db, tmp_path):
    assert run("export", "--db", str(db), "--source", "no-such-form").stdout_bytes == b"[]\n"
    csv_bytes = run("export", "--db", str(db), "--source", "no-such-form", "--format", "csv").stdout_bytes
    assert csv_bytes.decode("utf-8-sig").split("\r\n") == [
        "form_id,source,status,rubric,institution,fill_date,code,category,label,max,self,inspector,self_raw,"
        "inspector_raw,raw_label,match_score,corrected,self_note,inspector_note",
        "",
    ]


def test_an_export_that_fails_midway_leaves_no_file_and_an_old_one_as_it_was(tmp_path):
    def records():
        yield {"id": 1, "items": []}
        raise RuntimeError("disk went away")

    new = tmp_path / "new.json"
    with pytest.raises(RuntimeError):
        records_to_file(records(), "json", new)
    old = tmp_path / "old.json"
    old.write_bytes(b"[]\n")
    with pytest.raises(RuntimeError):
        records_to_file(records(), "json", old)
    assert not new.exists() and old.read_bytes() == b"[]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # no temporary file left beside it


TRICKY = [
    {},
    [],
    {"a": {}, "b": [], "c": [[]], "d": [{}]},
    "",
    '引号"\\/\n\t\r\x00\x1f\u2028\u2029\ufeff😀',
    [0, -1, 2**70, -(2**70), 0.0, -0.0, 1e-7, 1e16, 1.5, 0.1 + 0.2, 123456789.123456789],
    [True, False, None, (1, "x", (2,)), {"t": (3, [4])}],
    {"x": float("nan"), "y": float("inf"), "z": -math.inf},
    {"深": {"层": {"嵌": {"套": [1, {"键": None}]}}}},
    {
        7: "int key",
        2.5: "float key",
        True: "bool key",
        False: "no",
        None: "null key",
    },  # json.dumps writes them as strings
]


@pytest.mark.parametrize("value", TRICKY)
def test_the_json_text_is_json_dumps_indent_2(value):
    assert value_to_json(value) == json.dumps(value, ensure_ascii=False, indent=2)
    assert value_to_json([value, value]) == json.dumps([value, value], ensure_ascii=False, indent=2)


def test_what_json_dumps_refuses_is_refused():
    from decimal import Decimal

    for bad in ({(1, 2): "a"}, [Decimal(1)], {"a": {1, 2}}, object(), {b"k": 1}):
        with pytest.raises(TypeError):
            json.dumps(bad, ensure_ascii=False, indent=2)
        with pytest.raises(TypeError):
            value_to_json(bad)


# --- the reports ---------------------------------------------------------------------------------------------------


def forms_loaded_one_by_one(store) -> list:
    return [(fid, load_form(store, fid)) for fid in form_ids(store)]


def test_the_streamed_html_and_markdown_are_the_pages_made_from_every_form(store):
    forms = forms_loaded_one_by_one(store)
    assert len(forms) == 4
    count, chunks = db_to_html(store)
    page = "".join(chunks)
    assert count == 4 and page == forms_to_html(forms)
    errors_id = next(fid for fid, f in forms if f.source.endswith("filled_errors.docx"))
    assert (
        '<section class="form failed" id="form-' in page
        and f'<section class="form flagged" id="form-{errors_id}">' in page
    )
    card = page[page.index(f'<div class="card c-error" id="form-{errors_id}-item-1.1.1">') :]
    assert card.index('<table class="ev-row"') < card.index("</div>")  # the row drawn from its stored cells
    assert db_to_md(store) == (4, forms_to_md(forms))
    flagged = [(fid, f) for fid, f in forms if f.status != "ok"]
    count, chunks = db_to_html(store, only_flagged=True)
    assert (count, "".join(chunks)) == (len(flagged), forms_to_html(flagged))


def test_the_write_only_workbook_holds_what_the_report_held(store, tmp_path):
    streamed, listed = tmp_path / "s.xlsx", tmp_path / "l.xlsx"
    assert db_to_xlsx(store, streamed) == 4
    forms_to_xlsx(forms_loaded_one_by_one(store), listed)
    a, b = openpyxl.load_workbook(streamed), openpyxl.load_workbook(listed)
    assert (
        a.sheetnames
        == b.sheetnames
        == ["汇总表", "汇总表 qinghai-2024", "汇总表 national-2020", "问题明细 discrepancies", "更正 corrections"]
    )
    for ws in a:
        other = b[ws.title]
        assert [[c.value for c in r] for r in ws.iter_rows()] == [[c.value for c in r] for r in other.iter_rows()]
        assert {k: d.width for k, d in ws.column_dimensions.items()} == {
            k: d.width for k, d in other.column_dimensions.items()
        }
        assert (ws.freeze_panes, ws.print_title_rows, ws.auto_filter.ref) == ("A2", "$1:$1", other.auto_filter.ref)
        assert all(c.font.b for c in ws[1])
    fixed = [r for r in a["更正 corrections"].iter_rows(min_row=2, values_only=True)]
    assert [(Path(r[0]).name, r[2], r[4], r[5], r[6], r[7], r[9]) for r in fixed] == [
        ("filled_errors.docx", "1.1.1", "self", 5, 99, "王五", "typo"),
        ("filled_errors.docx", "3.1.2", "self", 3, 1, "张三", "misread"),
    ]
    disc = a["问题明细 discrepancies"]
    col = [c.value for c in disc[1]].index("严重程度 severity") + 1
    fills = {disc.cell(r, col).value: disc.cell(r, col).fill.fgColor.rgb for r in range(2, disc.max_row + 1)}
    assert fills["错误"] == "00FEF3F2" and fills["提示"] == "00EFF8FF"


def test_sqlite_sees_one_read_of_items_per_batch_in_a_report(db):
    statements: list[str] = []
    store = open_db(db, readonly=True)
    store.conn.set_trace_callback(statements.append)
    try:
        db_to_md(store)
    finally:
        store.conn.close()
    assert len([s for s in statements if "FROM items" in s and s.lstrip().upper().startswith("SELECT")]) == 1


def test_an_output_that_is_a_folder_is_refused_and_left_as_it_was(tmp_path):
    folder = tmp_path / "out.json"
    folder.mkdir()
    (folder / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(IsADirectoryError):
        records_to_file(iter([{"id": 1, "items": []}]), "json", folder)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left beside it
