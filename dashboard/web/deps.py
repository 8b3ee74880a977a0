"""Route dependencies as Annotated aliases, and the token gate every request passes through."""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote, unquote

from fastapi import Depends
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.web.settings import Settings
from dashboard.web.station import Station

if TYPE_CHECKING:
    from sensing.store.sessions import Store

COOKIE = "sotlog_token"
READ_METHODS = ("GET", "HEAD", "OPTIONS")
FULL, VIEWER = "full", "viewer"


def get_settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


def get_station(conn: HTTPConnection) -> Station:
    station: Station = conn.app.state.station
    return station


def get_store(conn: HTTPConnection) -> Store:
    return get_station(conn).store


def get_role(conn: HTTPConnection) -> str:
    """``full`` or ``viewer``; set by the token gate (``full`` when no token is configured)."""
    return str(conn.scope.get("state", {}).get("role", FULL))


SettingsDep = Annotated[Settings, Depends(get_settings)]
StationDep = Annotated[Station, Depends(get_station)]
StoreDep = Annotated["Store", Depends(get_store)]
RoleDep = Annotated[str, Depends(get_role)]


class TokenGate:
    """ASGI middleware: with a token configured, every request and WebSocket must carry one.

    A token comes as ``Authorization: Bearer …``, the ``sotlog_token`` cookie, or ``?token=``
    (which also sets the cookie, so a page opened once by link keeps working). The viewer token
    may only read (GET) and watch the live stream.
    """

    def __init__(self, app: ASGIApp, token: str | None, viewer_token: str | None) -> None:
        self.app = app
        self.tokens = {t: role for t, role in ((token, FULL), (viewer_token, VIEWER)) if t}

    def role_of(self, given: str | None) -> str | None:
        if not given:
            return None
        for token, role in self.tokens.items():
            if hmac.compare_digest(given.encode(), token.encode()):
                return role
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        if not self.tokens:
            scope["state"]["role"] = FULL
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        auth = conn.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        query = conn.query_params.get("token")
        role = self.role_of(bearer) or self.role_of(unquote(conn.cookies.get(COOKIE, "")))
        query_role = None if role else self.role_of(query)
        role = role or query_role
        if role is None:
            await self._refuse(scope, receive, send, 401,
                               "this dashboard needs a token: send 'Authorization: Bearer TOKEN' "
                               "or open the page once with ?token=TOKEN")
            return
        if role == VIEWER and scope["type"] == "http" and scope["method"] not in READ_METHODS:
            await self._refuse(scope, receive, send, 403,
                               "the viewer token can only look; this needs the full token")
            return
        scope["state"]["role"] = role
        if query_role and scope["type"] == "http":
            send = _with_cookie(send, query or "")
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int,
                      detail: str) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
            return
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})


def _with_cookie(send: Send, token: str) -> Send:
    value = quote(token, safe="")
    cookie = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []),
                                              (b"set-cookie", cookie)]}
        await send(message)

    return wrapped
