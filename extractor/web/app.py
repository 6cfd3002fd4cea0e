"""`selfeval serve`: the review station, a Starlette app over the same database as the command line.

Every change goes through extractor.review, as `selfeval review` does; nothing changes on GET (the POST URLs
answer GET with 405). The database is opened per request: read-only for pages, for writing for a POST.
Login is required when the server listens beyond loopback, and whenever an account exists; without accounts on
127.0.0.1 the reviewer is the OS user. The modules: base (sessions, database, rendering), pages (GET),
changes (POSTs through extractor.review), login; views computes what the pages show.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .base import HEADERS, HERE, NeedLogin, need_login, new_station, not_found, server_error
from .changes import post_accept, post_set, post_undo
from .login import login_page, post_login, post_logout
from .pages import corrections_page, evidence_image, form_page, forms_page

LOOPBACK_NAMES = ("localhost",)
# The largest request body read: a correction's form is a few kilobytes, a 100 KB reason fits many times over.
MAX_BODY = 1024 * 1024
TOO_LARGE = "请求过大 request too large: 复核站只接受 1 MB 以内的表单，未做任何更改。"


def is_loopback(host: str) -> bool:
    """Given a --host value, return whether it listens on this machine only."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_header_to_name(host: str) -> str:
    """Given a Host header ("127.0.0.1:8765", "[::1]:8765", "localhost"), return the name without the port."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]


class SecurityHeaders:
    """ASGI middleware: refuse requests whose Host header names another site (on loopback, a DNS-rebinding page
    must not reach the station), refuse bodies over MAX_BODY (by the declared length before reading a byte, else
    as the bytes arrive), and add the security headers to every response."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | None) -> None:
        self.app = app
        self.allowed_hosts = None if allowed_hosts is None else tuple(h.lower() for h in allowed_hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed_hosts is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if host_header_to_name(host).lower() not in self.allowed_hosts:
                await Response("主机名不允许 host not allowed: open http://127.0.0.1:<port>/", 400,
                               media_type="text/plain; charset=utf-8")(scope, receive, send)
                return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > MAX_BODY):
            await Response(TOO_LARGE, 413, media_type="text/plain; charset=utf-8",
                           headers={"connection": "close"})(scope, receive, send)
            return
        received = 0

        async def limited() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:  # a chunked body: refused where it crosses the limit
                    raise HTTPException(413, TOO_LARGE)
            return message

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                have = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in HEADERS if k not in have)
            await send(message)

        await self.app(scope, limited, with_headers)


def create_app(db_path: str | Path, lan: bool = False, allowed_hosts: tuple[str, ...] | None = None) -> Starlette:
    """Given the database and whether the server listens beyond loopback (lan: login always required), return the
    review station's ASGI app. allowed_hosts: the Host names it answers (None: any, for a LAN)."""
    routes = [
        Route("/", forms_page, methods=["GET"]),
        Route("/forms/{form_id:int}", form_page, methods=["GET"]),
        Route("/forms/{form_id:int}/evidence/{code}.png", evidence_image, methods=["GET"]),
        Route("/forms/{form_id:int}/set", post_set, methods=["POST"]),
        Route("/forms/{form_id:int}/accept", post_accept, methods=["POST"]),
        Route("/corrections", corrections_page, methods=["GET"]),
        Route("/corrections/{correction_id:int}/undo", post_undo, methods=["POST"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", post_login, methods=["POST"]),
        Route("/logout", post_logout, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, NeedLogin: need_login,
                                                       Exception: server_error})
    app.state.station = new_station(db_path, lan)
    app.add_middleware(SecurityHeaders, allowed_hosts=allowed_hosts)
    return app
