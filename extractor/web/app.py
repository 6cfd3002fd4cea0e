"""`selfeval serve`: the review station, a Starlette app over the same database as the command line.

Every change goes through extractor.review, as `selfeval review` does; nothing changes on GET (the POST URLs
answer GET with 405). The database is opened per request: read-only for pages, for writing for a POST.
Login is required when the server listens beyond loopback, and whenever an account exists; without accounts on
127.0.0.1 the reviewer is the OS user.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import review
from ..accounts import account_exists, has_accounts, login_to_name
from ..form import Discrepancy, Form
from ..store import StoreError, open_db
from . import views
from .session import COOKIE, Session, Sessions

HERE = Path(__file__).parent
LOOPBACK_NAMES = ("localhost",)
log = logging.getLogger("selfeval.web")
# No external resource can load (everything is served from /static or inline data: images); no page can be framed.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def is_loopback(host: str) -> bool:
    """Given a --host value, return whether it listens on this machine only."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SecurityHeaders:
    """ASGI middleware: refuse requests whose Host header names another site (on loopback, a DNS-rebinding page
    must not reach the station), and add the security headers to every response."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | None) -> None:
        self.app, self.allowed_hosts = app, allowed_hosts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed_hosts is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
            if name.lower() not in self.allowed_hosts:
                await Response("主机名不允许 host not allowed: open http://127.0.0.1:<port>/", 400,
                               media_type="text/plain; charset=utf-8")(scope, receive, send)
                return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
                            (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, with_headers)


@dataclass
class Station:
    """What every request needs: the database path, whether login is always required, the sessions."""

    db_path: Path
    lan: bool
    sessions: Sessions
    templates: Jinja2Templates
    evidence: views.EvidenceCache


class NeedLogin(Exception):
    pass


def create_app(db_path: str | Path, lan: bool = False, allowed_hosts: tuple[str, ...] | None = None) -> Starlette:
    """Given the database and whether the server listens beyond loopback (lan: login always required), return the
    review station's ASGI app. allowed_hosts: the Host names it answers (None: any, for a LAN)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["urlq"] = lambda s: quote(str(s), safe="")
    station = Station(Path(db_path), lan, Sessions(), templates, views.EvidenceCache())
    routes = [
        Route("/", forms_page, methods=["GET"]),
        Route("/forms/{form_id:int}", form_page, methods=["GET"]),
        Route("/forms/{form_id:int}/set", post_set, methods=["POST"]),
        Route("/forms/{form_id:int}/accept", post_accept, methods=["POST"]),
        Route("/corrections", corrections_page, methods=["GET"]),
        Route("/corrections/{correction_id:int}/undo", post_undo, methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", post_login, methods=["POST"]),
        Route("/logout", post_logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, NeedLogin: need_login})
    app.state.station = station
    app.add_middleware(SecurityHeaders, allowed_hosts=allowed_hosts)
    return app


# --- plumbing ---------------------------------------------------------------------------------------


def _station(request: Request) -> Station:
    return request.app.state.station


def _session(request: Request) -> Session:
    st = _station(request)
    s = getattr(request.state, "session", None) or st.sessions.get(request.cookies.get(COOKIE))
    if s is None:
        s = st.sessions.new()
    request.state.session = s
    return s


@contextmanager
def _db(request: Request, write: bool = False) -> Iterator[sqlite_utils.Database]:
    db = open_db(_station(request).db_path, readonly=not write)
    try:
        yield db
    finally:
        db.conn.close()


def _reviewer(request: Request, db: sqlite_utils.Database) -> str:
    """Given a request, return the reviewer's name: the login name where login is required (raise NeedLogin when
    nobody is logged in), else the OS user."""
    s = _session(request)
    if _station(request).lan or has_accounts(db):
        if s.user and account_exists(db, s.user):
            return s.user
        s.user = None  # a removed account's session ends
        raise NeedLogin()
    s.user = None
    return review.current_user()


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    s = _session(request)
    context = {"csrf": s.csrf, "flash": s.pop_flash(), "logged_in": s.user is not None, **context}
    context.setdefault("user", s.user or "")
    response = _station(request).templates.TemplateResponse(request, name, context, status_code=status)
    return _with_cookie(response, s)


def _with_cookie(response: Response, s: Session) -> Response:
    response.set_cookie(COOKIE, s.token, httponly=True, samesite="strict", path="/")
    return response


def _redirect(request: Request, url: str) -> Response:
    return _with_cookie(RedirectResponse(url, status_code=303), _session(request))


def _problem(request: Request, title: str, text: str, status: int) -> Response:
    return _render(request, "problem.html", {"title": title, "text": text}, status)


async def _form_data(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def _checked_post(request: Request) -> dict[str, str] | Response:
    """Given a POST, return its fields when its CSRF token is this session's; else the refusal to send."""
    data = await _form_data(request)
    if not _session(request).csrf_matches(data.get("csrf")):
        return _problem(request, "请求已过期", "表单已过期或来源不明（CSRF 校验失败），未做任何更改。请刷新页面后重试。", 403)
    return data


async def not_found(request: Request, exc: Exception) -> Response:
    return _problem(request, "找不到页面", "没有这个页面或这份表。请从表格列表进入。", 404)


async def need_login(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":  # nothing was changed; after login, back to the page the form was on
        m = re.match(r"/forms/\d+", request.url.path)
        target = m.group(0) if m else "/corrections" if request.url.path.startswith("/corrections") else "/"
    return _redirect(request, "/login?next=" + quote(target, safe=""))


def _store_problem(request: Request, e: StoreError) -> Response:
    return _problem(request, "数据库无法使用", f"{e}", 503)


# --- pages ------------------------------------------------------------------------------------------


def forms_page(request: Request) -> Response:
    f = views.query_to_filter(dict(request.query_params))
    try:
        with _db(request) as db:
            user = _reviewer(request, db)
            rows, total, undated = views.db_to_rows(db, f)
    except StoreError as e:
        return _store_problem(request, e)
    for text in f.problems:
        _session(request).flash.append(("error", f"筛选条件未生效：{text}"))
    if undated:
        _session(request).flash.append(("info", f"{undated} 份表没有填表日期，不在日期范围筛选结果中。"))
    return _render(request, "forms.html", {"rows": rows, "total": total, "f": f, "user": user,
                                           "statuses": [(s, views.STATUS_LABEL[s]) for s in views.STATUSES],
                                           "kinds": views.kind_options()}, 400 if f.problems else 200)


def _form_response(request: Request, db: sqlite_utils.Database, form_id: int, user: str, status: int = 200,
                   retry: dict[str, str] | None = None) -> Response:
    if not db.execute("SELECT 1 FROM forms WHERE id = ?", [form_id]).fetchone():
        return _problem(request, "找不到这份表", f"没有编号为 {form_id} 的表。请从表格列表进入。", 404)
    form = _load(db, form_id)
    evidence = _station(request).evidence.get(form_id, form, views.flagged_codes(form))
    page = views.form_to_page(form_id, form, evidence)
    return _render(request, "form.html", {"p": page, "user": user, "retry": retry or {},
                                          "force_supported": _supports(review.set_value, "force")}, status)


def _load(db: sqlite_utils.Database, form_id: int) -> Form:
    from ..store import load_form

    return load_form(db, form_id)


def form_page(request: Request) -> Response:
    form_id = request.path_params["form_id"]
    try:
        with _db(request) as db:
            return _form_response(request, db, form_id, _reviewer(request, db))
    except StoreError as e:
        return _store_problem(request, e)


def corrections_page(request: Request) -> Response:
    try:
        with _db(request) as db:
            user = _reviewer(request, db)
            rows = _history(db)
            names = {r[0]: (r[1] or r[2]) for r in db.execute("SELECT id, institution, source FROM forms")}
    except StoreError as e:
        return _store_problem(request, e)
    for r in rows:
        r["form_name"] = names.get(r["form_id"], f"表 {r['form_id']}")
        r["kind_label"] = views.kind_to_label(r["kind"]) if r.get("kind") else ""
        r["field_name"] = views.SIDE_NAME.get(r.get("field") or "", "")
    return _render(request, "corrections.html", {"rows": rows, "user": user,
                                                 "undo_supported": hasattr(review, "undo")})


def _history(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    if hasattr(review, "history"):
        return [dict(r) for r in review.history(db)]
    if "corrections" not in db.table_names():
        return []
    return list(db.execute_returning_dicts("SELECT * FROM corrections ORDER BY id DESC"))


# --- changes ----------------------------------------------------------------------------------------


def _supports(fn, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def _open_keys(form: Form) -> dict[tuple, Discrepancy]:
    return {(d.item, d.kind, d.side, d.total, d.category, d.message): d for d in form.discrepancies if views.is_open(d)}


def change_to_outcome(result: Any, before: Form | None) -> tuple[Form, str, list[Discrepancy], list[Discrepancy]]:
    """Given what a review call returned (a review.Change, or the effective Form of the older API) and the form
    before it, return the form after, the module's message, and the discrepancies created and resolved."""
    if hasattr(result, "form"):
        return result.form, result.message or "", list(result.created), list(result.resolved)
    after = result
    was, now_ = _open_keys(before) if before else {}, _open_keys(after)
    return (after, "", [d for k, d in now_.items() if k not in was], [d for k, d in was.items() if k not in now_])


def outcome_to_flash(what: str, after: Form, message: str, created: list[Discrepancy],
                     resolved: list[Discrepancy]) -> str:
    """Given what was done and its outcome, return the flash message: what happened, the discrepancies it created
    and resolved (every one, by kind and item), and the form's status now."""
    lines = [message or what]  # review's own line (Chinese, then English) says exactly what it did
    lines += [f"新出现：{views.discrepancy_to_text(d)}" for d in created]
    lines += [f"已解决：{views.discrepancy_to_text(d)}" for d in resolved]
    if not created and not resolved:
        lines.append("问题未变化。")
    lines.append(f"当前状态：{views.STATUS_LABEL.get(after.status, after.status)}")
    return "\n".join(lines)


def _anchor(form: Form, code: str | None) -> str:
    if not code:
        return "#form-level"
    return f"#item-{code}" if code in views.flagged_codes(form) else f"#row-{code}"


async def post_set(request: Request) -> Response:
    data = await _checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_set, request, data)


def _set(request: Request, data: dict[str, str]) -> Response:
    form_id = request.path_params["form_id"]
    item, field, value, why = (data.get(k, "").strip() for k in ("item", "field", "value", "why"))
    force = data.get("force") == "1"
    try:
        with _db(request, write=True) as db:
            user = _reviewer(request, db)
            if not db.execute("SELECT 1 FROM forms WHERE id = ?", [form_id]).fetchone():
                return _problem(request, "找不到这份表", f"没有编号为 {form_id} 的表。", 404)
            before = _load(db, form_id)
            kwargs = {"force": True} if force and _supports(review.set_value, "force") else {}
            try:
                result = review.set_value(db, form_id, item, field, value, why, who=user, **kwargs)
            except review.ReviewError as e:
                _session(request).flash.append(("error", f"未保存 {item} 的更正：{e}"))
                return _form_response(request, db, form_id, user, 400,
                                      retry={"item": item, "field": field, "value": value, "why": why})
    except StoreError as e:
        return _store_problem(request, e)
    after, message, created, resolved = change_to_outcome(result, before)
    side = views.SIDE_NAME.get(field, field)
    _session(request).flash.append(("ok", outcome_to_flash(f"已更正 {item} {side} → {value or '空'}", after, message,
                                                           created, resolved)))
    return _redirect(request, f"/forms/{form_id}{_anchor(after, item)}")


async def post_accept(request: Request) -> Response:
    data = await _checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_accept, request, data)


def _accept(request: Request, data: dict[str, str]) -> Response:
    form_id = request.path_params["form_id"]
    kind, why = data.get("kind", "").strip(), data.get("why", "").strip()
    item = data.get("item", "").strip() or None
    try:
        with _db(request, write=True) as db:
            user = _reviewer(request, db)
            if not db.execute("SELECT 1 FROM forms WHERE id = ?", [form_id]).fetchone():
                return _problem(request, "找不到这份表", f"没有编号为 {form_id} 的表。", 404)
            before = _load(db, form_id)
            try:
                result = review.accept(db, form_id, kind, item, why, who=user)
            except review.ReviewError as e:
                _session(request).flash.append(("error", f"未接受 {views.kind_to_label(kind)}：{e}"))
                return _form_response(request, db, form_id, user, 400)
    except StoreError as e:
        return _store_problem(request, e)
    after, message, created, resolved = change_to_outcome(result, before)
    what = f"已接受 {views.kind_to_label(kind)}" + (f"（{item}）" if item else "")
    _session(request).flash.append(("ok", outcome_to_flash(what, after, message, created, resolved)))
    return _redirect(request, f"/forms/{form_id}{_anchor(after, item)}")


async def post_undo(request: Request) -> Response:
    data = await _checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_undo, request, data)


def _undo(request: Request, data: dict[str, str]) -> Response:
    cid = request.path_params["correction_id"]
    if not hasattr(review, "undo"):
        return _problem(request, "暂不能撤销", "这个版本的复核模块还不能撤销。", 400)
    try:
        with _db(request, write=True) as db:
            user = _reviewer(request, db)
            try:
                change = review.undo(db, cid, who=user, why=data.get("why", "").strip())
            except review.ReviewError as e:
                _session(request).flash.append(("error", f"未撤销第 {cid} 条：{e}"))
                return _redirect(request, "/corrections")
    except StoreError as e:
        return _store_problem(request, e)
    after, message, created, resolved = change_to_outcome(change, None)
    _session(request).flash.append(("ok", outcome_to_flash(f"已撤销第 {cid} 条记录", after, message, created,
                                                           resolved)))
    return _redirect(request, "/corrections")


# --- login ------------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # Only a path on this site: "//host" or "/\\host" would leave it.
    if not target or not target.startswith("/") or target.startswith("//") or target.startswith("/\\"):
        return "/"
    return target


def login_page(request: Request) -> Response:
    s = _session(request)
    try:
        with _db(request) as db:
            needed = _station(request).lan or has_accounts(db)
            accounts = has_accounts(db)
    except StoreError as e:
        return _store_problem(request, e)
    if not needed:
        return _redirect(request, _safe_next(request.query_params.get("next")))
    return _render(request, "login.html", {"next": _safe_next(request.query_params.get("next")),
                                           "no_accounts": not accounts, "user": s.user or ""})


async def post_login(request: Request) -> Response:
    data = await _checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_login, request, data)


def _login(request: Request, data: dict[str, str]) -> Response:
    try:
        with _db(request) as db:
            name = login_to_name(db, data.get("name", ""), data.get("password", ""))
            no_accounts = not has_accounts(db)
    except StoreError as e:
        return _store_problem(request, e)
    target = _safe_next(data.get("next"))
    if name is None:
        _session(request).flash.append(("error", "用户名或密码不对，请重试。"))
        return _render(request, "login.html", {"next": target, "no_accounts": no_accounts, "name": data.get("name", "")},
                       401)
    st = _station(request)
    st.sessions.end(_session(request))
    request.state.session = st.sessions.new(user=name, flash=[("ok", f"已登录：{name}")])
    return _redirect(request, target)


async def post_logout(request: Request) -> Response:
    data = await _checked_post(request)
    if isinstance(data, Response):
        return data
    st = _station(request)
    st.sessions.end(_session(request))
    request.state.session = st.sessions.new(flash=[("info", "已退出登录。")])
    return _redirect(request, "/login")
