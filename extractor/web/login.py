"""Logging in and out of the review station. A login starts a new session (new cookie and CSRF token), so a
session cookie planted before login is worth nothing after it."""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..accounts import account_stamp, has_accounts, login_to_name
from ..store import StoreError
from .base import checked_post, database, redirect, render, session, station, store_problem


def safe_next(target: str | None) -> str:
    """Given the page to return to after login, return it when it is a path on this site, else /."""
    # "//host" and "/\\host" are other sites to a browser.
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def login_page(request: Request) -> Response:
    s = session(request)
    try:
        with database(request) as db:
            accounts = has_accounts(db)
    except StoreError as e:
        return store_problem(request, e)
    target = safe_next(request.query_params.get("next"))
    if not (station(request).lan or accounts):
        return redirect(request, target)  # nothing to log in to: the OS user reviews
    return render(request, "login.html", {"next": target, "no_accounts": not accounts, "user": s.user or ""})


async def post_login(request: Request) -> Response:
    data = await checked_post(request)
    # scrypt takes a while on purpose: off the event loop
    return data if isinstance(data, Response) else await run_in_threadpool(_login, request, data)


def _login(request: Request, data: dict[str, str]) -> Response:
    st = station(request)
    address = request.client.host if request.client else ""
    target = safe_next(data.get("next"))
    wait = st.logins.attempt(address)
    if wait:  # refused before the password is even checked: guessing on costs the guesser time, not us
        session(request).flash.append(("error", f"登录失败次数过多，请 {math.ceil(wait / 60)} 分钟后再试。"
                                                "too many failed logins from this computer: try again later"))
        return render(request, "login.html", {"next": target, "no_accounts": False, "name": data.get("name", "")},
                      429)
    try:
        with database(request) as db:
            name = login_to_name(db, data.get("name", ""), data.get("password", ""))
            stamp = account_stamp(db, name) if name is not None else None
            no_accounts = not has_accounts(db)
    except StoreError as e:
        return store_problem(request, e)
    if name is None:  # the attempt stays counted as failed
        session(request).flash.append(("error", "用户名或密码不对，请重试。"))
        return render(request, "login.html", {"next": target, "no_accounts": no_accounts,
                                              "name": data.get("name", "")}, 401)
    st.logins.succeeded(address)
    st.sessions.end(session(request))
    request.state.session = st.sessions.new(user=name, flash=[("ok", f"已登录：{name}")], account=stamp)
    return redirect(request, target)


async def post_logout(request: Request) -> Response:
    data = await checked_post(request)
    if isinstance(data, Response):
        return data
    st = station(request)
    st.sessions.end(session(request))
    request.state.session = st.sessions.new(flash=[("info", "已退出登录。")])
    return redirect(request, "/login")
