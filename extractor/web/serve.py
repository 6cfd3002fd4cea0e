"""Starting the review station: who may listen where, and the uvicorn server on a socket bound up front."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import sqlite_utils
import uvicorn

from ..accounts import has_accounts
from .app import create_app, is_loopback

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class ServeError(Exception):
    """The station cannot start as asked; the message is one line saying what to do."""


def check_can_serve(db: sqlite_utils.Database, host: str) -> None:
    """Given the store and the --host asked for, raise ServeError when listening there would let anyone on the
    network in: beyond loopback, at least one account must exist."""
    if not is_loopback(host) and not has_accounts(db):
        raise ServeError(f"--host {host} opens the station to the network, and it has no reviewer accounts: "
                         f"add one with `selfeval user add NAME` first (or serve on 127.0.0.1)")


def host_to_socket(host: str, port: int) -> socket.socket:
    """Given --host and --port, return a listening socket, or raise ServeError saying why it cannot be bound.
    Bound here rather than by uvicorn so that a port in use is one line, not a log and an exit."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR lets a restart bind while old connections linger (TIME_WAIT); on Windows it would let two
        # servers share the port, so it is left off there.
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({e.strerror or e}): choose another --port, or stop the "
                         f"program using it") from None
    return sock


def run(db_path: str | Path, host: str, port: int, echo: Callable[[str], None]) -> None:
    """Given the database, --host and --port, serve the review station until Ctrl+C."""
    lan = not is_loopback(host)
    sock = host_to_socket(host, port)
    port = sock.getsockname()[1]
    app = create_app(Path(db_path).resolve(), lan=lan, allowed_hosts=None if lan else (*LOOPBACK_HOSTS, host.lower()))
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    echo(f"自评表复核站 review station: http://{shown}:{port}/  (Ctrl+C 停止 to stop)")
    if lan:
        echo("需登录 login required; the connection is plain HTTP: use it on a trusted network")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
