"""The review station attacked as a hostile user would: hostile text in forms, forged and oversized requests, ids
and values no form has, two reviewers at once, a damaged or locked database. Real databases made by ingesting
real files, Starlette's TestClient, and the real `selfeval serve` process where sockets matter."""

from __future__ import annotations

import os
import queue
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")
from starlette.testclient import TestClient  # noqa: E402

from cli import main  # noqa: E402
from extractor.web import create_app  # noqa: E402
from extractor.web.session import MAX_SESSIONS, Sessions  # noqa: E402

from .conftest import copy_database, ingest_web_forms, stop_process  # noqa: E402
from .forms import default_cell, qinghai_form  # noqa: E402
from .test_web import (  # noqa: E402
    BASE,
    LOOPBACK,
    PASSWORD,
    add_user,
    client,
    corrections,
    csrf_of,
    effective,
    form_id,
    log_in,
    text_of,
)

ROOT = Path(__file__).resolve().parents[1]
TOO_BIG_FOR_SQLITE = "9" * 25  # beyond SQLite's 64-bit integers
START_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> Path:
    """One database of three real forms, as in test_web: filled_errors.docx is flagged (over_cap on 3.1.2 whose
    self cell reads 3 and max is 1, total_mismatch)."""
    return ingest_web_forms(tmp_path_factory)


@pytest.fixture
def db_path(ingested: Path, tmp_path: Path) -> Path:
    """A fresh copy of the ingested database for each test."""
    return copy_database(ingested, tmp_path / "web.db")


def flashes(html: str) -> list[str]:
    return [text_of(m) for m in re.findall(r'<div class="flash flash-\w+" role="\w+">(.*?)</div>', html, re.S)]


def item(db_path: Path, fid: int, code: str):
    return next(i for i in effective(db_path, fid).items if i.code == code)


# --- hostile text in the forms ------------------------------------------------------------------------------

EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)></textarea>{{7*7}}{% raw %}\u202eabc'


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """A database of one Word form, delivered in a zip under a member name of markup, whose institution, one row's
    label, one self cell and one rules cell hold markup, Jinja syntax and a right-to-left override."""
    folder = tmp_path_factory.mktemp("hostile")

    def cell(n, it, key):
        if (n, key) in ((3, "self"), (5, "rules")):
            return EVIL
        if (n, key) == (4, "label"):
            return it.label + EVIL
        return default_cell(n, it, key)

    cols = ["cat", "sec", "label", "max", "rules", "self", "insp"]
    header = [["大项", "中项", "小项", "分值", "督查方法和标准", "自评结果", "督查结果"]]
    word = qinghai_form(folder / "form.docx", cols, header, cell=cell,
                        cover=[f"评价机构名称：{EVIL}职业技能培训学校", "填 报 日 期：2024年5月20日"])
    with zipfile.ZipFile(folder / "inbox.zip", "w") as z:
        z.write(word, EVIL.replace("/", "_") + ".docx")  # a member name may hold what no file system allows
    word.unlink()
    db = folder / "hostile.db"
    result = CliRunner().invoke(main, ["ingest", str(folder / "inbox.zip"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    return db


def test_markup_and_jinja_in_a_form_and_in_the_query_string_stay_text(hostile_db):
    c = client(hostile_db)
    fid = form_id(hostile_db, ".docx")
    pages = [c.get("/"), c.get(f"/forms/{fid}"), c.get("/corrections"),
             c.get("/", params={"institution": EVIL, "status": EVIL, "kind": EVIL, "from": EVIL})]
    assert [p.status_code for p in pages] == [200, 200, 200, 400]
    for p in pages:
        assert "<script>alert" not in p.text and "<img src=x" not in p.text and "</textarea>{{" not in p.text
    form_page = pages[1].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in form_page
    assert "{{7*7}}{% raw %}" in text_of(form_page) and ">49<" not in form_page  # data is never a template
    # what the filter was given comes back in the field and in the message, as text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x' in pages[3].text
    assert any("未知状态 '<script>alert(1)</script>\"><img src=x onerror=alert(2)>" in f for f in flashes(pages[3].text))


def test_bidi_overrides_in_a_form_are_shown_as_escapes_not_obeyed(hostile_db):
    # A right-to-left override in an institution's name reverses everything after it on the line, the status
    # badge included ("deggalf 核复需"); the pages show it the way the command line does: \u202e.
    c = client(hostile_db)
    fid = form_id(hostile_db, ".docx")
    for url in ("/", f"/forms/{fid}", "/?institution=%E2%80%AEabc"):
        page = c.get(url).text
        assert "\u202e" not in page, url
        assert "\\u202eabc" in text_of(page), url


def test_a_why_of_markup_and_100_kb_is_stored_whole_and_shown_as_text(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    why = ("</textarea><script>alert(3)</script>" + "很长的原因" * 20_000)[:100_000]
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf_of(c.get(f"/forms/{fid}").text), "item": "3.1.2",
                                          "field": "self", "value": "1", "why": why})
    assert r.status_code == 303
    assert [x["why"] for x in corrections(db_path)] == [why]
    log = c.get("/corrections").text
    assert "<script>alert(3)" not in log and "&lt;/textarea&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in log


# --- forged requests ------------------------------------------------------------------------------------------


def test_a_token_in_the_query_string_or_a_json_body_and_method_overrides_change_nothing(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    data = {"item": "3.1.2", "field": "self", "value": "1", "why": "x"}
    assert c.post(f"/forms/{fid}/set?csrf={csrf}", data=data).status_code == 403
    assert c.post(f"/forms/{fid}/set", json={**data, "csrf": csrf}).status_code == 403
    body = "&".join(f"{k}={v}" for k, v in {**data, "csrf": csrf}.items())
    for ctype in ("application/json", "text/plain"):  # what a cross-site fetch may send without a preflight
        assert c.post(f"/forms/{fid}/set", content=body, headers={"content-type": ctype}).status_code == 403
    assert c.get(f"/forms/{fid}/set?_method=POST&csrf={csrf}").status_code == 405
    assert c.get(f"/forms/{fid}/set", headers={"x-http-method-override": "POST"}).status_code == 405
    for method in ("PUT", "PATCH", "DELETE"):
        assert c.request(method, f"/forms/{fid}/set", data={**data, "csrf": csrf}).status_code == 405
    assert corrections(db_path) == []
    # multipart is a form too: with the token it is accepted (the file part is not a field)
    r = c.post(f"/forms/{fid}/set", data={**data, "csrf": csrf}, files={"x": ("a.txt", b"hi")})
    assert r.status_code == 303 and [x["value"] for x in corrections(db_path)] == ["1"]


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/",
                                    "/\t/evil.example", "/\n/evil.example", " //evil.example", "\\\\evil.example"])
def test_after_login_next_never_leads_to_another_site(db_path, target):
    assert add_user(db_path, "张三").exit_code == 0
    c = client(db_path)
    csrf = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"name": "张三", "password": PASSWORD, "csrf": csrf, "next": target})
    assert r.status_code == 303
    # browsers drop tabs and line breaks from a URL and read a backslash as a slash
    seen = re.sub(r"[\t\n\r]", "", r.headers["location"]).replace("\\", "/")
    assert seen.startswith("/") and not seen.startswith("//")


# --- ids, values and bodies no reviewer sends -----------------------------------------------------------------


def test_ids_too_large_for_sqlite_are_404_or_refused_never_500(db_path):
    c = client(db_path)
    fid = form_id(db_path, "filled_errors.docx")
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    for url in (f"/forms/{TOO_BIG_FOR_SQLITE}", f"/forms/{TOO_BIG_FOR_SQLITE}/evidence/3.1.2.png"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert f"没有编号为 {TOO_BIG_FOR_SQLITE} 的表" in text_of(r.text), url
    data = {"csrf": csrf, "item": "3.1.2", "field": "self", "value": "1", "why": "x", "kind": "over_cap"}
    for url in (f"/forms/{TOO_BIG_FOR_SQLITE}/set", f"/forms/{TOO_BIG_FOR_SQLITE}/accept"):
        r = c.post(url, data=data)
        assert r.status_code == 404, url
        assert f"没有编号为 {TOO_BIG_FOR_SQLITE} 的表" in text_of(r.text), url
    r = c.post(f"/corrections/{TOO_BIG_FOR_SQLITE}/undo", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/corrections"
    assert flashes(c.get("/corrections").text) == [
        f"未撤销第 {TOO_BIG_FOR_SQLITE} 条：no correction #{TOO_BIG_FOR_SQLITE}: see `selfeval review history`"]
    assert corrections(db_path) == []


@pytest.mark.parametrize("value", ["1e999", "0x1", "1（已整改）"])
def test_a_value_with_anything_after_the_number_is_refused_not_cut_to_the_number(db_path, value):
    # text_to_score reads "1e999" as 1 with the remark "e999", as a cell would be read; typed by a reviewer
    # it is no score, and storing 1 would be silently wrong.
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf_of(c.get(f"/forms/{fid}").text), "item": "3.1.2",
                                          "field": "self", "value": value, "why": "x", "force": "1"})
    assert r.status_code == 400
    assert flashes(r.text) == [f"未保存 3.1.2 的更正：{value!r} is not a score for item 3.1.2: give a number"]
    assert corrections(db_path) == []


def test_full_width_digits_and_a_unit_are_the_number_they_say(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    for value, want in (("０．５分", Decimal("0.5")), ("１", Decimal("1"))):
        r = c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": value,
                                              "why": "原件"})
        assert r.status_code == 303, value
        assert item(db_path, fid, "3.1.2").self == want, value
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": "－3", "why": "x"})
    assert r.status_code == 400 and "-3 低于 0 is below zero" in flashes(r.text)[-1]


def test_a_value_of_many_decimals_reads_back_as_typed(db_path):
    # Decimal writes 0.0000001 as "1E-7", which the reader takes for 1 with the remark "E-7".
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    r = c.post(f"/forms/{fid}/set", data={"csrf": csrf_of(c.get(f"/forms/{fid}").text), "item": "3.1.2",
                                          "field": "self", "value": "0.0000001", "why": "x"})
    assert r.status_code == 303
    assert item(db_path, fid, "3.1.2").self == Decimal("0.0000001")
    assert [x["value"] for x in corrections(db_path)] == ["0.0000001"]


def test_a_body_over_the_limit_is_refused_with_413_and_nothing_stored(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    # a valid correction, then many fields each under the form parser's own 1 MB cap for one part
    body = (f"csrf={csrf}&item=3.1.2&field=self&value=1&why=x&" + "&".join(f"f{i}=" + "x" * 900_000
                                                                           for i in range(3))).encode()
    headers = {"content-type": "application/x-www-form-urlencoded"}
    declared = c.post(f"/forms/{fid}/set", content=body, headers=headers)  # with a Content-Length
    chunked = c.post(f"/forms/{fid}/set", content=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                     headers=headers)  # none: counted as it arrives
    for r in (declared, chunked):
        assert r.status_code == 413
        assert r.text.startswith("请求过大 request too large")
    assert corrections(db_path) == []


# --- the real server: what a socket sends --------------------------------------------------------------------


def start_station(db: Path) -> tuple[subprocess.Popen, int]:
    """Start `selfeval serve --port 0` on db; return the process and its port."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--db", str(db), "--port", "0"], cwd=ROOT,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True, encoding="utf-8")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    seen = []
    try:
        while True:
            seen.append(lines.get(timeout=START_TIMEOUT_S))
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", seen[-1])
            if m:
                return proc, int(m[1])
    except queue.Empty:
        proc.kill()
        pytest.fail(f"selfeval serve printed no address in {START_TIMEOUT_S} s: {''.join(seen)!r}")


@pytest.fixture
def server(db_path) -> Iterator[int]:
    proc, port = start_station(db_path)
    try:
        yield port
    finally:
        stop_process(proc)


def exchange(port: int, head: bytes, body: bytes = b"", timeout: float = 10) -> bytes:
    """Send a raw request (head, then body) and return the status line the server answers with."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        try:
            s.sendall(body)
        except OSError:
            pass  # the server answered and closed before the body was sent: what is being tested
        try:
            return s.recv(4096).split(b"\r\n", 1)[0]
        except TimeoutError:
            return b"(no answer)"


def test_a_50_mb_body_is_refused_before_it_is_read(server):
    # The declared length alone decides: the body is never sent, and the answer comes at once.
    head = (f"POST /forms/1/set HTTP/1.1\r\nHost: 127.0.0.1:{server}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n")
    start = time.monotonic()
    assert exchange(server, head.encode(), timeout=10).startswith(b"HTTP/1.1 413 ")
    assert time.monotonic() - start < 5


def test_the_real_server_refuses_other_host_names_and_no_host(server):
    assert exchange(server, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n") == b"HTTP/1.1 400 Bad Request"
    assert exchange(server, b"GET / HTTP/1.1\r\nHost: 127.0.0.1.evil.example\r\n\r\n") == b"HTTP/1.1 400 Bad Request"
    assert exchange(server, b"GET / HTTP/1.0\r\n\r\n") == b"HTTP/1.1 400 Bad Request"
    assert exchange(server, f"GET / HTTP/1.1\r\nHost: localhost:{server}\r\n\r\n".encode()) == b"HTTP/1.1 200 OK"


@pytest.mark.parametrize("host", ["::", "", "0", "192.168.1.5", "127.1"])
def test_serve_on_any_host_not_plainly_loopback_needs_an_account(db_path, host):
    # "" and "0" bind every interface; "127.1" is loopback to the socket, but is refused rather than guessed at
    result = CliRunner().invoke(main, ["serve", "--db", str(db_path), "--host", host, "--port", "0"])
    assert result.exit_code == 1
    assert "has no reviewer accounts: add one with `selfeval user add NAME` first" in result.output


# --- sessions and accounts ------------------------------------------------------------------------------------


def test_a_flood_of_cookieless_requests_does_not_log_reviewers_out():
    # Every request without a cookie makes a session; when there are too many, the anonymous ones go first.
    sessions = Sessions()
    reviewer = sessions.new(user="张三")
    for _ in range(MAX_SESSIONS + 10):
        sessions.new()
    assert sessions.get(reviewer.token) is reviewer


def test_an_account_removed_and_added_again_ends_the_sessions_of_the_old_one(db_path):
    # `selfeval user add` tells an admin to remove and add an account to set a new password: a session logged in
    # with the old password must not survive that, even when it made no request in between.
    assert add_user(db_path, "张三").exit_code == 0
    c = client(db_path)
    assert log_in(c, "张三").status_code == 303 and c.get("/").status_code == 200
    assert CliRunner().invoke(main, ["user", "remove", "张三", "--db", str(db_path)]).exit_code == 0
    assert add_user(db_path, "张三", "another password 7").exit_code == 0
    r = c.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


# --- two reviewers at once, a busy or damaged database -----------------------------------------------------------


def hold_write_lock(db_path: Path) -> sqlite3.Connection:
    """A connection holding the database's write lock, as an ingest storing a form does."""
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return con


def test_two_reviewers_undoing_one_correction_at_once_one_wins_and_history_keeps_who(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    a, b = client(db_path), client(db_path)
    csrf = {c: csrf_of(c.get(f"/forms/{fid}").text) for c in (a, b)}
    assert a.post(f"/forms/{fid}/set", data={"csrf": csrf[a], "item": "3.1.2", "field": "self", "value": "1",
                                             "why": "原件为 1"}).status_code == 303
    cid = corrections(db_path)[0]["id"]
    said: dict[str, list[str]] = {}

    def undo(c: TestClient, why: str) -> None:
        assert c.post(f"/corrections/{cid}/undo", data={"csrf": csrf[c], "why": why}).status_code == 303
        said[why] = flashes(c.get("/corrections").text)

    lock = hold_write_lock(db_path)
    threads = [threading.Thread(target=undo, args=(c, why)) for c, why in ((a, "甲撤销"), (b, "乙撤销"))]
    for t in threads:
        t.start()
    time.sleep(2)  # both have read the row and wait for the write lock
    lock.execute("ROLLBACK")
    lock.close()
    for t in threads:
        t.join()
    row = corrections(db_path)[0]
    winner = row["undo_why"]
    loser = ({"甲撤销", "乙撤销"} - {winner}).pop()
    assert said[winner][-1].startswith(f"已撤销 withdrawn: #{cid}")
    assert said[loser][-1].startswith(f"未撤销第 {cid} 条：#{cid} 已撤销 was already withdrawn")
    assert str(item(db_path, fid, "3.1.2").self) == "3"


def test_two_reviewers_correcting_one_item_at_once_both_are_kept_and_the_later_applies(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    a, b = client(db_path), client(db_path)
    csrf = {c: csrf_of(c.get(f"/forms/{fid}").text) for c in (a, b)}
    codes: dict[str, int] = {}

    def correct(c: TestClient, value: str) -> None:
        codes[value] = c.post(f"/forms/{fid}/set", data={"csrf": csrf[c], "item": "3.1.2", "field": "self",
                                                         "value": value, "why": f"原件为 {value}"}).status_code

    lock = hold_write_lock(db_path)
    threads = [threading.Thread(target=correct, args=(c, v)) for c, v in ((a, "1"), (b, "0.5"))]
    for t in threads:
        t.start()
    time.sleep(2)
    lock.execute("ROLLBACK")
    lock.close()
    for t in threads:
        t.join()
    assert codes == {"1": 303, "0.5": 303}
    rows = corrections(db_path)
    assert sorted(r["value"] for r in rows) == ["0.5", "1"] and all(r["undone_at"] is None for r in rows)
    assert str(item(db_path, fid, "3.1.2").self) == rows[-1]["value"]


def seen_of(html: str, action: str, **fields: str) -> dict[str, str]:
    """The hidden fields of the form on a page posting to action whose hidden inputs include fields."""
    for form in re.findall(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S):
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
        if all(hidden.get(k) == v for k, v in fields.items()):
            return {k: unescape(v) for k, v in hidden.items()}
    raise AssertionError(f"no form to {action} with {fields}")


def test_a_correction_made_on_a_page_someone_changed_since_is_refused_not_written_over(db_path):
    # 甲 opens the form (3.1.2 reads 3); 乙 corrects it to 1; 甲, still looking at 3, types 0.5: that would undo
    # 乙's correction without 甲 ever seeing it.
    fid = form_id(db_path, "filled_errors.docx")
    a, b = client(db_path), client(db_path)
    page_a = a.get(f"/forms/{fid}").text
    form_b = seen_of(b.get(f"/forms/{fid}").text, f"/forms/{fid}/set", item="3.1.2")
    assert b.post(f"/forms/{fid}/set", data={**form_b, "field": "self", "value": "1", "why": "原件为 1"}
                  ).status_code == 303
    form_a = seen_of(page_a, f"/forms/{fid}/set", item="3.1.2")
    r = a.post(f"/forms/{fid}/set", data={**form_a, "field": "self", "value": "0.5", "why": "原件为 0.5"})
    assert r.status_code == 409
    assert flashes(r.text)[-1] == ("未保存 3.1.2 的更正（自评 0.5）：你打开页面之后，此项已被更改（现在 自评 1、督查 1）。"
                                   "请核对现在的值后再保存。")
    assert [x["value"] for x in corrections(db_path)] == ["1"]
    row = re.search(r'<tr id="row-3.1.2".*?</tr>', r.text, re.S)[0]  # the page shows it as it is now
    assert "1 已更正" in text_of(row)


def test_an_acceptance_made_on_a_page_someone_changed_since_is_refused(db_path):
    # 甲 sees over_cap on 3.1.2 reading 3; 乙 forces it to 2, still over the max: 甲's click would accept a 2
    # that 甲 never saw.
    fid = form_id(db_path, "filled_errors.docx")
    a, b = client(db_path), client(db_path)
    accept_a = seen_of(a.get(f"/forms/{fid}").text, f"/forms/{fid}/accept", kind="over_cap", item="3.1.2")
    form_b = seen_of(b.get(f"/forms/{fid}").text, f"/forms/{fid}/set", item="3.1.2")
    assert b.post(f"/forms/{fid}/set", data={**form_b, "field": "self", "value": "2", "why": "原件为 2",
                                             "force": "1"}).status_code == 303
    r = a.post(f"/forms/{fid}/accept", data={**accept_a, "why": "同意"})
    assert r.status_code == 409
    assert flashes(r.text)[-1] == ("未接受 超出分值 over_cap：你打开页面之后，此项或此问题已被更改。"
                                   "请核对现在的情况后再接受。")
    assert [x["action"] for x in corrections(db_path)] == ["set"]
    fresh = seen_of(r.text, f"/forms/{fid}/accept", kind="over_cap", item="3.1.2")
    assert a.post(f"/forms/{fid}/accept", data={**fresh, "why": "同意"}).status_code == 303
    assert [x["action"] for x in corrections(db_path)] == ["set", "accept"]


def test_a_correction_while_an_ingest_holds_the_database_is_a_chinese_503_without_the_path(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    c = client(db_path)
    csrf = csrf_of(c.get(f"/forms/{fid}").text)
    lock = hold_write_lock(db_path)
    try:
        assert c.get(f"/forms/{fid}").status_code == 200  # reading goes on
        r = c.post(f"/forms/{fid}/set", data={"csrf": csrf, "item": "3.1.2", "field": "self", "value": "1",
                                              "why": "原件为 1"})  # waits the busy timeout (30 s), then gives up
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert r.status_code == 503
    text = text_of(r.text)
    assert "数据库正被其他程序占用" in text and "未做任何更改" in text
    assert str(db_path.parent) not in r.text and "Traceback" not in r.text
    assert corrections(db_path) == []


def test_a_database_replaced_by_another_file_is_a_503_without_the_path(db_path):
    c = client(db_path)
    assert c.get("/").status_code == 200
    for p in db_path.parent.glob(db_path.name + "*"):
        p.unlink()
    db_path.write_bytes(b"not a database at all")
    r = c.get("/")
    assert r.status_code == 503
    assert "数据库无法使用" in text_of(r.text) and db_path.name in r.text
    assert str(db_path.parent) not in r.text


def test_an_unexpected_error_is_a_chinese_500_without_traceback_or_path(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    con = sqlite3.connect(db_path)
    con.execute("UPDATE items SET row_cells = '{damaged' WHERE form_id = ? AND code = '3.1.2'", [fid])
    con.commit()
    con.close()
    c = TestClient(create_app(db_path, allowed_hosts=LOOPBACK), base_url=BASE, follow_redirects=False,
                   raise_server_exceptions=False)
    r = c.get(f"/forms/{fid}")
    assert r.status_code == 500
    assert "内部错误" in text_of(r.text)
    assert "Traceback" not in r.text and str(db_path.parent) not in r.text and "JSONDecodeError" not in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_guessing_passwords_from_one_address_is_stopped_after_ten_failures(db_path):
    # scrypt makes each guess cost ~0.1 s, which still lets a LAN machine try a dictionary overnight.
    assert add_user(db_path, "张三").exit_code == 0
    app = create_app(db_path, lan=True, allowed_hosts=None)
    guesser = TestClient(app, base_url=BASE, follow_redirects=False, client=("192.168.1.66", 50000))
    for n in range(10):
        assert log_in(guesser, "张三", f"guess number {n}").status_code == 401
    stopped = log_in(guesser, "张三")  # even the right password, from there, for now
    assert stopped.status_code == 429
    assert "登录失败次数过多" in text_of(stopped.text) and "分钟后再试" in text_of(stopped.text)
    assert guesser.get("/").status_code == 303
    colleague = TestClient(app, base_url=BASE, follow_redirects=False, client=("192.168.1.20", 50000))
    assert log_in(colleague, "张三").status_code == 303 and colleague.get("/").status_code == 200


def test_guesses_sent_all_at_once_are_held_to_the_same_ten(db_path):
    assert add_user(db_path, "张三").exit_code == 0
    app = create_app(db_path, lan=True, allowed_hosts=None)
    codes: list[int] = []

    def guess(n: int) -> None:
        c = TestClient(app, base_url=BASE, follow_redirects=False, client=("192.168.1.66", 50000 + n))
        csrf = csrf_of(c.get("/login").text)
        codes.append(c.post("/login", data={"name": "张三", "password": f"guess {n}", "csrf": csrf,
                                            "next": "/"}).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [401] * 10 + [429] * 14


def test_one_damaged_form_is_a_failed_line_in_the_list_not_an_error_for_all(db_path):
    fid = form_id(db_path, "filled_errors.docx")
    con = sqlite3.connect(db_path)
    # the list reads the forms table, its totals rows (printed) and the findings, never the items' cells
    con.execute("UPDATE forms SET printed = '{damaged' WHERE id = ?", [fid])
    con.commit()
    con.close()
    page = client(db_path).get("/")
    assert page.status_code == 200
    rows = {int(i): (s, text_of(r)) for s, i, r in
            re.findall(r'<tr class="r-(\w+)">\s*<td class="num">(\d+)</td>(.*?)</tr>', page.text, re.S)}
    assert len(rows) == 3
    assert rows[fid][0] == "failed" and "数据库中这份表的记录已损坏，无法读取" in rows[fid][1]
    assert all(s != "failed" for i, (s, _) in rows.items() if i != fid)
    # and the filters treat it as the failed form it is
    assert re.findall(r'<a href="/forms/(\d+)">', client(db_path).get("/?status=failed").text) == [str(fid)]
    assert re.findall(r'<a href="/forms/(\d+)">', client(db_path).get("/?status=flagged").text) == []


def test_the_list_reads_no_items_so_a_damaged_cell_shows_only_on_its_form(db_path):
    # The forms list is a few queries over forms, findings and the effective_forms view, whatever the number of
    # forms (loading every form took 0.3 s for 48 of them); a damaged item cell is found on that form's own page.
    fid = form_id(db_path, "filled_errors.docx")
    con = sqlite3.connect(db_path)
    con.execute("UPDATE items SET row_cells = '{damaged' WHERE form_id = ? AND code = '3.1.2'", [fid])
    con.commit()
    con.close()
    page = client(db_path).get("/")
    rows = {int(i): s for s, i in re.findall(r'<tr class="r-(\w+)">\s*<td class="num">(\d+)</td>', page.text)}
    assert rows[fid] == "flagged"


# --- the review command line ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [TOO_BIG_FOR_SQLITE, "²"])
def test_a_key_of_digits_no_id_can_be_is_no_form_not_a_traceback(db_path, key):
    # "²" is a digit to str.isdigit but no number to int(); 25 nines are a number no SQLite id can be
    for args in (["review", "history", key], ["review", "set", key, "3.1.2", "--self", "1", "--why", "x"],
                 ["show", key]):
        result = CliRunner().invoke(main, [*args, "--db", str(db_path)])
        assert result.exit_code == 1, (args, result.output)
        assert result.output == (f"Error: 没有匹配的表 no form matches '{key}': see `selfeval list` for ids, "
                                 f"institutions and sources\n"), args
    assert corrections(db_path) == []


def test_review_undo_of_an_id_no_row_can_have_says_so(db_path):
    result = CliRunner().invoke(main, ["review", "undo", TOO_BIG_FOR_SQLITE, "--db", str(db_path)])
    assert result.exit_code == 1
    assert result.output == f"Error: no correction #{TOO_BIG_FOR_SQLITE}: see `selfeval review history`\n"
