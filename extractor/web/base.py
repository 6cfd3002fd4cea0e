"""What every page of the review station shares: the station's state, the session of a request, the database
opened per request, who the reviewer is, and rendering a template with the session's CSRF token and flash."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import sqlite_utils
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from .. import review
from ..accounts import account_stamp, has_accounts
from ..store import StoreError, open_db
from . import views
from .session import COOKIE, LoginThrottle, Session, Sessions

HERE = Path(__file__).parent
# No external resource can load (everything is served from /static or inline data: images); no page can be framed.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: a larger id in a URL names no form (and cannot be bound)


@dataclass
class Station:
    """What every request needs: the database path, whether login is always required (lan), the sessions."""

    db_path: Path
    lan: bool
    sessions: Sessions
    templates: Jinja2Templates
    evidence: views.EvidenceCache
    logins: LoginThrottle


class NeedLogin(Exception):
    """Raised where a page needs a logged-in reviewer and the session has none: the answer is the login page."""


def new_station(db_path: str | Path, lan: bool) -> Station:
    """Given the database and whether login is always required, return a station with no sessions yet."""
    # Every {{ }} goes through value_to_inert: a bidi override or a control character in a form's text is shown
    # as an escape (\u202e), as on the command line, instead of reordering the page around it.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                             finalize=views.value_to_inert)
    return Station(Path(db_path), lan, Sessions(), Jinja2Templates(env=env), views.EvidenceCache(), LoginThrottle())


def station(request: Request) -> Station:
    return request.app.state.station


def session(request: Request) -> Session:
    """Given a request, return its session: the cookie's, or a new one (sent with the response)."""
    st = station(request)
    s = getattr(request.state, "session", None) or st.sessions.get(request.cookies.get(COOKIE))
    if s is None:
        s = st.sessions.new()
    request.state.session = s
    return s


def flash(request: Request, level: str, text: str) -> None:
    session(request).flash.append((level, text))


@contextmanager
def database(request: Request, write: bool = False) -> Iterator[sqlite_utils.Database]:
    """The station's database for one request: read-only for pages, for writing for a change."""
    db = open_db(station(request).db_path, readonly=not write)
    try:
        yield db
    finally:
        db.conn.close()


def reviewer(request: Request, db: sqlite_utils.Database) -> str:
    """Given a request, return the reviewer's name: the login name where login is required (raise NeedLogin when
    nobody is logged in), else the OS user."""
    s = session(request)
    if station(request).lan or has_accounts(db):
        if s.user and s.account is not None and account_stamp(db, s.user) == s.account:
            return s.user
        # A removed account's session ends, and so does one logged in to an account since removed and added again
        # (a new password): the stamp is of the stored hash, which a new account never shares.
        s.user = s.account = None
        raise NeedLogin()
    s.user = None
    return review.current_user()


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Given a template and its context, return the page with the session's CSRF token and pending flashes."""
    s = session(request)
    context = {"csrf": s.csrf, "flash": s.pop_flash(), "logged_in": s.user is not None, **context}
    context.setdefault("user", s.user or "")
    response = station(request).templates.TemplateResponse(request, name, context, status_code=status)
    return with_cookie(response, s)


def with_cookie(response: Response, s: Session) -> Response:
    # No max_age: the cookie ends with the browser; the server forgets the session after IDLE_SECONDS anyway.
    response.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", path="/")
    return response


def redirect(request: Request, url: str) -> Response:
    """A 303 to url: after a POST, the browser GETs the page (a reload never posts again)."""
    return with_cookie(RedirectResponse(url, status_code=303), session(request))


def problem(request: Request, title: str, text: str, status: int) -> Response:
    return render(request, "problem.html", {"title": title, "text": text}, status)


def store_problem(request: Request, e: StoreError) -> Response:
    """Given why the database cannot be used, return the page saying so in Chinese, nothing changed; the file is
    named, its folder on the server is not."""
    code = getattr(e.__context__, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "is locked" in str(e):
        text = ("数据库正被其他程序占用（例如正在导入表格），等待后仍未释放，未做任何更改。请稍后重试。"
                f"（{hide_folder(station(request).db_path, str(e))}）")
    else:
        text = f"未做任何更改。请联系管理员。（{hide_folder(station(request).db_path, str(e))}）"
    return problem(request, "数据库无法使用", text, 503)


def hide_folder(db_path: Path, text: str) -> str:
    """Given the database path and a message naming it, return the message with the file's name alone."""
    # as given, resolved, and with forward slashes (how SQLite may write a Windows path back)
    files = {str(db_path.resolve()), str(db_path), db_path.resolve().as_posix(), db_path.as_posix()}
    for p in sorted(files, key=len, reverse=True):
        text = text.replace(p, db_path.name)
    folders = {str(db_path.resolve().parent), str(db_path.parent)}
    folders = {f + os.sep for f in folders} | {Path(f).as_posix().rstrip("/") + "/" for f in folders}
    for folder in sorted(folders, key=len, reverse=True):
        if folder not in ("/", "./", "." + os.sep):
            text = text.replace(folder, "")
    return text


def form_exists(db: sqlite_utils.Database, form_id: int) -> bool:
    if not 0 < form_id <= MAX_ROW_ID:
        return False
    return db.execute("SELECT 1 FROM forms WHERE id = ?", [form_id]).fetchone() is not None


def no_form(request: Request, form_id: int) -> Response:
    return problem(request, "找不到这份表", f"没有编号为 {form_id} 的表。请从表格列表进入。", 404)


async def checked_post(request: Request) -> dict[str, str] | Response:
    """Given a POST, return its fields when its CSRF token is this session's; else the refusal to send."""
    data = await request.form()
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    if not session(request).csrf_matches(fields.get("csrf")):
        return problem(request, "请求已过期",
                       "表单已过期或来源不明（CSRF 校验失败），未做任何更改。请刷新页面后重试。", 403)
    return fields


# Static on purpose: a page that failed to render must not depend on the templates or the session.
SERVER_ERROR_PAGE = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>内部错误 · 自评表复核站"
                     "</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main><h1>内部错误</h1>"
                     "<p class=\"problem\">复核站处理这个请求时出错。若刚才在保存更正或接受问题，请回到该表的页面或更正记录查看是否已保存。"
                     "详情已写入服务器日志，请把出错的时间告诉管理员。Internal error: if you were saving a change, "
                     "see the form's page or the corrections log for whether it was saved; the server log has the "
                     "details.</p>"
                     "<p><a href=\"/\">返回表格列表</a></p></main></body></html>")


async def server_error(request: Request, exc: Exception) -> Response:
    """Any error a page did not expect: a Chinese page with no traceback and no path (the server log has both)."""
    # Sent by Starlette's outermost layer, past the middleware that adds these to every other response.
    return HTMLResponse(SERVER_ERROR_PAGE, 500, headers={k.decode(): v.decode() for k, v in HEADERS})


async def not_found(request: Request, exc: Exception) -> Response:
    return problem(request, "找不到页面", "没有这个页面或这份表。请从表格列表进入。", 404)


async def need_login(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # nothing was changed; after login, back to the page the form was on
        m = re.match(r"/forms/\d+", request.url.path)
        target = m.group(0) if m else "/corrections" if request.url.path.startswith("/corrections") else "/"
    return redirect(request, "/login?next=" + quote(target, safe=""))
