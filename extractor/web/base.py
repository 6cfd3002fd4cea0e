"""What every page of the review station shares: the station's state, the session of a request, the database
opened per request, who the reviewer is, and rendering a template with the session's CSRF token and flash."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from .. import review
from ..accounts import account_exists, has_accounts
from ..store import StoreError, open_db
from . import views
from .session import COOKIE, Session, Sessions

HERE = Path(__file__).parent


@dataclass
class Station:
    """What every request needs: the database path, whether login is always required (lan), the sessions."""

    db_path: Path
    lan: bool
    sessions: Sessions
    templates: Jinja2Templates
    evidence: views.EvidenceCache


class NeedLogin(Exception):
    """Raised where a page needs a logged-in reviewer and the session has none: the answer is the login page."""


def new_station(db_path: str | Path, lan: bool) -> Station:
    """Given the database and whether login is always required, return a station with no sessions yet."""
    return Station(Path(db_path), lan, Sessions(), Jinja2Templates(directory=str(HERE / "templates")),
                   views.EvidenceCache())


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
        if s.user and account_exists(db, s.user):
            return s.user
        s.user = None  # a removed account's session ends
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
    return problem(request, "数据库无法使用", str(e), 503)


def form_exists(db: sqlite_utils.Database, form_id: int) -> bool:
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


async def not_found(request: Request, exc: Exception) -> Response:
    return problem(request, "找不到页面", "没有这个页面或这份表。请从表格列表进入。", 404)


async def need_login(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # nothing was changed; after login, back to the page the form was on
        m = re.match(r"/forms/\d+", request.url.path)
        target = m.group(0) if m else "/corrections" if request.url.path.startswith("/corrections") else "/"
    return redirect(request, "/login?next=" + quote(target, safe=""))
