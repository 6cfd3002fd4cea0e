"""`selfeval serve`: the review station over a real database made by ingesting real forms, driven through
Starlette's TestClient (real routing, templates, sessions and CSRF; the same review module as the CLI)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")
from starlette.testclient import TestClient  # noqa: E402

from cli import main  # noqa: E402
from extractor.accounts import login_to_name, password_matches  # noqa: E402
from extractor.review import current_user  # noqa: E402
from extractor.store import load_form, open_db  # noqa: E402
from extractor.web import create_app, is_loopback  # noqa: E402

from .conftest import copy_database, ingest_web_forms  # noqa: E402

FORMS = Path(__file__).parent / "fixtures" / "forms"
BASE = "http://127.0.0.1:8765"
LOOPBACK = ("127.0.0.1",)
PASSWORD = "correct horse 9"


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """One database of three real forms: filled_errors.docx (flagged: over_cap on 3.1.2, total_mismatch),
    national_filled.docx and filled_pdf.pdf."""
    return ingest_web_forms(tmp_path_factory)


@pytest.fixture
def db_path(ingested: Path, tmp_path: Path) -> Path:
    """A fresh copy of the ingested database for each test (SQLite's backup: WAL content included)."""
    return copy_database(ingested, tmp_path / "web.db")


def form_id(db_path: Path, name: str) -> int:
    db = open_db(db_path, readonly=True)
    try:
        return db.execute("SELECT id FROM forms WHERE source LIKE ?", [f"%{name}"]).fetchone()[0]
    finally:
        db.conn.close()


def corrections(db_path: Path) -> list[dict]:
    db = open_db(db_path, readonly=True)
    try:
        return list(db.execute_returning_dicts("SELECT * FROM corrections ORDER BY id"))
    finally:
        db.conn.close()


def effective(db_path: Path, fid: int):
    db = open_db(db_path, readonly=True)
    try:
        return load_form(db, fid, effective=True)
    finally:
        db.conn.close()


def client(db_path: Path, lan: bool = False) -> TestClient:
    return TestClient(create_app(db_path, lan=lan, allowed_hosts=None if lan else LOOPBACK), base_url=BASE,
                      follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def add_user(db_path: Path, name: str, password: str = PASSWORD):
    return CliRunner().invoke(main, ["user", "add", name, "--password-stdin", "--db", str(db_path)],
                              input=password + "\n")


def log_in(c: TestClient, name: str, password: str = PASSWORD):
    page = c.get("/login")
    return c.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/"})


# --- pages -------------------------------------------------------------------------------------------


def test_forms_list_shows_each_form_with_open_counts_and_kinds_in_chinese(db_path):
    c = client(db_path)
    page = c.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    rows = re.findall(r'<tr class="r-(\w+)">(.*?)</tr>', page.text, re.S)
    assert len(rows) == 3
    flagged = [text_of(r) for s, r in rows if s == "flagged"]
    assert len(flagged) == 1
    cells = flagged[0].split()
    # errors 2 (over_cap, total_mismatch), warnings 0, both open kinds named in Chinese beside their code
    assert "超出分值 over_cap" in flagged[0] and "总分不符 total_mismatch" in flagged[0]
    assert cells[cells.index("需复核") + 2:cells.index("需复核") + 4] == ["2", "0"]


def test_forms_list_filters_by_status_kind_institution_and_date(db_path):
    c = client(db_path)
    fid = form_id(db_path, "filled_errors.docx")

    def ids(query: str) -> list[int]:
        page = c.get("/?" + query)
        assert page.status_code == 200, page.text
        return sorted(int(i) for i in re.findall(r'<a href="/forms/(\d+)">', page.text))

    everyone = ids("")
    assert len(everyone) == 3
    assert ids("status=flagged") == [fid]
    assert ids("kind=over_cap") == [fid]
    assert ids("kind=missing_item") == []
    assert fid in ids("kind=self_inspector_diff")  # an info kind finds the forms that have it, too
    institution = effective(db_path, fid).institution
    assert ids("institution=" + institution[1:4]) == [fid]
    fill = effective(db_path, fid).fill_date
    assert fid in ids(f"from={fill}&to={fill}")
    assert ids("from=2999-01-01") == []


def test_forms_list_refuses_a_date_it_cannot_read_and_says_so(db_path):
    page = client(db_path).get("/?from=2024-13-45")
    assert page.status_code == 400
    assert "起始日期 '2024-13-45' 不是日期：请用 YYYY-MM-DD" in text_of(page.text)


def test_form_page_shows_flagged_items_first_with_raw_text_value_max_and_both_forms(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    page = client(db_path).get(f"/forms/{fid}")
    assert page.status_code == 200
    html = page.text
    cards = re.findall(r'<section class="card flagged-item[^"]*" id="item-([\d.]+)"', html)
    assert cards == ["3.1.2"]
    assert html.index('id="item-3.1.2"') < html.index("全部项目")
    card = html[html.index('id="item-3.1.2"'):html.index("</section>", html.index('id="item-3.1.2"'))]
    text = text_of(card)
    assert "分值 1" in text and "自评 3" in text and "原文「3」" in text
    assert f'action="/forms/{fid}/set"' in card and 'name="force" value="1"' in card and "强制" in card
    assert f'action="/forms/{fid}/accept"' in card and 'name="kind" value="over_cap"' in card
    # the form-level total_mismatch has its own acceptance form, with no item
    level = html[html.index('id="form-level"'):html.index("全部项目")]
    assert 'name="kind" value="total_mismatch"' in level and 'name="item" value=""' in level
    assert len(re.findall(r'<tr id="row-', html)) == len(effective(db_path, fid).items)


def test_a_word_forms_flagged_row_has_a_page_image_apart_from_the_page(db_path):
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui): no Word page images")
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    page = c.get(f"/forms/{fid}").text
    assert f'src="/forms/{fid}/evidence/3.1.2.png"' in page
    image = c.get(f"/forms/{fid}/evidence/3.1.2.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    other = c.get(f"/forms/{fid}/evidence/1.1.1.png")  # an item with nothing open has no evidence to ask for
    assert other.status_code == 404 and "不在待复核项目中" in other.text


def test_unknown_form_is_404_in_chinese(db_path):
    page = client(db_path).get("/forms/999")
    assert page.status_code == 404
    assert "没有编号为 999 的表" in text_of(page.text)


# --- changes -----------------------------------------------------------------------------------------


def test_correction_posted_shows_in_the_effective_form_and_flashes_what_it_resolved(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    page = c.get(f"/forms/{fid}")
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf_of(page.text), "item": "3.1.2", "field": "self",
                                          "value": "1", "why": "原件为 1"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/forms/{fid}#row-3.1.2"  # no longer flagged: its row in the table
    it = next(i for i in effective(db_path, fid).items if i.code == "3.1.2")
    assert str(it.self) == "1" and str(it.corrected["self"]) == "3"
    assert [(x["item"], x["field"], x["value"], x["who"], x["why"]) for x in corrections(db_path)] == [
        ("3.1.2", "self", "1", current_user(), "原件为 1")]
    flash = text_of(c.get(r.headers["location"]).text)
    assert "已解决：超出分值 over_cap 3.1.2" in flash
    assert "当前状态：需复核 flagged" in flash  # total_mismatch is still open


def test_accepting_the_last_finding_turns_the_form_ok(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    assert c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": "1",
                                             "why": "原件为 1"}).status_code == 303
    r = c.post(f"/forms/{fid}/accept", data={"csrf": csrf, "kind": "total_mismatch", "item": "",
                                             "why": "总分按原件"})
    assert r.status_code == 303 and r.headers["location"] == f"/forms/{fid}#form-level"
    assert effective(db_path, fid).status == "ok"
    page = c.get(r.headers["location"]).text
    assert re.search(r'<span class="badge s-ok" id="status">通过 ok</span>', page)
    assert "已解决：总分不符 total_mismatch" in text_of(page)


def test_a_refused_correction_is_400_with_a_chinese_message_and_changes_nothing(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": "abc",
                                          "why": "试一下"})
    assert r.status_code == 400
    assert "未保存 3.1.2 的更正：" in text_of(r.text)
    assert 'value="abc"' in r.text  # what was typed is kept, to fix it
    assert corrections(db_path) == []
    assert effective(db_path, fid).status == "flagged"


def test_an_empty_value_blanks_a_score_only_with_force(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    data = {"csrf": csrf, "item": "3.1.2", "field": "inspector", "value": "", "why": "原件此格为空"}
    r = c.post(f"/forms/{fid}/set", data=data)
    assert r.status_code == 400 and "分数为空。要把此项改为空白，请勾选「强制」。" in text_of(r.text)
    assert corrections(db_path) == []
    assert c.post(f"/forms/{fid}/set", data={**data, "force": "1"}).status_code == 303
    it = next(i for i in effective(db_path, fid).items if i.code == "3.1.2")
    assert (it.inspector, it.inspector_kind) == (None, "blank")


def test_force_lets_a_value_above_the_max_through(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    data = {"csrf": csrf, "item": "3.1.2", "field": "inspector", "value": "2", "why": "原件如此"}
    assert c.post(f"/forms/{fid}/set", data=data).status_code == 400
    assert corrections(db_path) == []
    assert c.post(f"/forms/{fid}/set", data={**data, "force": "1"}).status_code == 303
    it = next(i for i in effective(db_path, fid).items if i.code == "3.1.2")
    assert str(it.inspector) == "2"


def test_undo_from_the_corrections_log_withdraws_the_correction_and_keeps_the_row(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": "1", "why": "原件为 1"})
    cid = corrections(db_path)[0]["id"]
    log = c.get("/corrections").text
    assert f'action="/corrections/{cid}/undo"' in log and "有效" in text_of(log)
    r = c.post(f"/corrections/{cid}/undo", data={"csrf": csrf, "why": "看错了"})
    assert r.status_code == 303 and r.headers["location"] == "/corrections"
    assert str(next(i for i in effective(db_path, fid).items if i.code == "3.1.2").self) == "3"
    log = c.get("/corrections").text
    assert f'action="/corrections/{cid}/undo"' not in log
    assert re.search(rf'<tr class="undone" id="c-{cid}">', log) and "已撤销" in text_of(log)


# --- security ----------------------------------------------------------------------------------------


def database_bytes(db_path: Path) -> str:
    con = sqlite3.connect(db_path)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def test_get_on_every_post_url_is_405_and_no_get_changes_anything(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    before = database_bytes(db_path)
    for url in (f"/forms/{fid}/set?item=3.1.2&field=self&value=1&why=x", f"/forms/{fid}/accept?kind=over_cap",
                "/corrections/1/undo", "/logout"):
        assert c.get(url).status_code == 405, url
    for url in ("/", f"/forms/{fid}", "/corrections", "/login", "/?status=flagged&kind=over_cap"):
        assert c.get(url).status_code in (200, 303), url
    assert database_bytes(db_path) == before


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    c.get(f"/forms/{fid}")
    data = {"item": "3.1.2", "field": "self", "value": "1", "why": "x"}
    for token in (None, "forged"):
        r = c.post(f"/forms/{fid}/set", data=data if token is None else {**data, "csrf": token})
        assert r.status_code == 403
        assert "CSRF 校验失败" in text_of(r.text)
    # another session's token is no token for this one
    other = client(db_path)
    token = csrf_of(other.get(f"/forms/{fid}").text)
    assert c.post(f"/forms/{fid}/set", data={**data, "csrf": token}).status_code == 403
    assert corrections(db_path) == []


def test_session_cookie_is_httponly_and_samesite_strict_and_pages_send_a_strict_csp(db_path):
    r = client(db_path).get("/")
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("selfeval_session=") and "httponly" in cookie and "samesite=strict" in cookie
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


def test_a_request_naming_another_host_is_refused_on_loopback(db_path):
    r = client(db_path).get("/", headers={"host": "evil.example:8765"})
    assert r.status_code == 400


# --- accounts ----------------------------------------------------------------------------------------


def test_with_an_account_every_page_needs_login_and_the_reviewer_is_the_login_name(db_path):
    assert add_user(db_path, "张三").exit_code == 0
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    for url in ("/", f"/forms/{fid}", "/corrections"):
        r = c.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
    wrong = log_in(c, "张三", "not the password")
    assert wrong.status_code == 401 and "用户名或密码不对" in text_of(wrong.text)
    r = log_in(c, "张三")
    assert r.status_code == 303 and r.headers["location"] == "/"
    page = c.get(f"/forms/{fid}")
    assert page.status_code == 200 and "复核人： 张三" in text_of(page.text)
    c.post(f"/forms/{fid}/set", data={"csrf": csrf_of(page.text), "item": "3.1.2", "field": "self", "value": "1",
                                      "why": "原件为 1"})
    assert [x["who"] for x in corrections(db_path)] == ["张三"]


def test_a_post_before_login_changes_nothing_and_leads_to_login(db_path):
    assert add_user(db_path, "张三").exit_code == 0
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get("/login").text)
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": "1", "why": "x"})
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=%2Fforms%2F{fid}"
    assert corrections(db_path) == []


def test_login_gives_a_new_session_and_logout_ends_it(db_path):
    assert add_user(db_path, "李四").exit_code == 0
    c = client(db_path)
    c.get("/login")
    before = c.cookies["selfeval_session"]
    log_in(c, "李四")
    after = c.cookies["selfeval_session"]
    assert after != before  # no session fixation
    csrf = csrf_of(c.get("/").text)
    assert c.post("/logout", data={"csrf": csrf}).headers["location"] == "/login"
    c.cookies.set("selfeval_session", after)  # the old cookie replayed
    assert c.get("/").status_code == 303


def test_removing_an_account_ends_its_session(db_path):
    assert add_user(db_path, "王五").exit_code == 0
    assert add_user(db_path, "赵六").exit_code == 0
    c = client(db_path)
    log_in(c, "王五")
    assert c.get("/").status_code == 200
    assert CliRunner().invoke(main, ["user", "remove", "王五", "--db", str(db_path)]).exit_code == 0
    assert c.get("/").status_code == 303


def test_lan_station_without_accounts_lets_nobody_in(db_path):
    c = client(db_path, lan=True)
    r = c.get("/")
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "selfeval user add" in text_of(page.text)
    assert log_in(c, current_user(), "anything at all").status_code == 401


def test_serve_beyond_loopback_without_accounts_refuses_to_start(db_path):
    result = CliRunner().invoke(main, ["serve", "--db", str(db_path), "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "`selfeval user add NAME`" in result.output


def test_serve_on_a_port_in_use_says_so_in_one_line(db_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--db", str(db_path), "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "choose another --port" in result.output


def test_loopback_hosts():
    assert [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2")] == [True] * 5
    assert [is_loopback(h) for h in ("0.0.0.0", "192.168.1.5", "::", "example.org")] == [False] * 4


def test_user_add_list_remove_store_salted_scrypt_hashes_only(db_path):
    assert add_user(db_path, "张三").exit_code == 0
    assert add_user(db_path, "李四").exit_code == 0  # the same password
    listed = CliRunner().invoke(main, ["user", "list", "--db", str(db_path)])
    assert listed.exit_code == 0
    assert [u["name"] for u in json.loads(listed.stdout)] == sorted(["张三", "李四"])
    assert "hash" not in listed.stdout
    con = sqlite3.connect(db_path)
    rows = dict(con.execute("SELECT name, password_hash FROM users").fetchall())
    con.close()
    assert PASSWORD not in database_bytes(db_path)
    assert all(h.startswith("scrypt$16384$8$1$") for h in rows.values())
    assert rows["张三"] != rows["李四"]  # per-account salt
    assert password_matches(PASSWORD, rows["张三"]) and not password_matches(PASSWORD + "x", rows["张三"])
    again = add_user(db_path, "张三")
    assert again.exit_code == 1 and "已存在" in again.output
    assert CliRunner().invoke(main, ["user", "remove", "张三", "--db", str(db_path)]).exit_code == 0
    missing = CliRunner().invoke(main, ["user", "remove", "张三", "--db", str(db_path)])
    assert missing.exit_code == 1 and "selfeval user list" in missing.output
    db = open_db(db_path)
    try:
        assert login_to_name(db, "李四", PASSWORD) == "李四" and login_to_name(db, "张三", PASSWORD) is None
    finally:
        db.conn.close()


def test_user_add_to_a_missing_database_creates_none(tmp_path):
    missing = tmp_path / "typo.db"
    result = add_user(missing, "张三")
    assert result.exit_code == 1 and "selfeval ingest" in result.output
    assert not missing.exists()


def test_user_add_refuses_a_short_password_and_a_mismatched_repeat(db_path):
    short = add_user(db_path, "张三", "short")
    assert short.exit_code == 1 and "至少 8 个字符" in short.output
    typed = CliRunner().invoke(main, ["user", "add", "张三", "--db", str(db_path)],
                               input=PASSWORD + "\n" + PASSWORD + "x\n" + PASSWORD + "\n" + PASSWORD + "\n")
    assert typed.exit_code == 0, typed.output  # asked again after the mismatch, then added
    assert "再输入一次" in typed.output
    db = open_db(db_path)
    try:
        assert login_to_name(db, "张三", PASSWORD) == "张三"
    finally:
        db.conn.close()
