"""What every request passes before a route sees it: the site guard, then the token gate.

The site guard keeps other web pages from driving the dashboard, token or not:

* **Host**: a request must name this machine (a loopback name) or a host the person allowed
  (``--allow-host``), so a DNS-rebinding page gets nothing.
* **Origin**: a request that changes anything (POST, PUT, PATCH, DELETE) and every WebSocket is
  taken only from the dashboard's own origin. Browsers always send ``Origin`` on those from
  another page; a request without one is not a browser on another site (curl, the tests, a
  script), and ``Sec-Fetch-Site`` is checked where a browser sends it.
* **Headers** on every response: a Content-Security-Policy that allows only the dashboard's own
  scripts and no framing, ``X-Frame-Options: DENY``, ``nosniff``, no referrer.

A refused WebSocket is accepted and closed with code 1008 and the reason, so a page can say why.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dashboard.web.settings import LOCAL_HOSTS

COOKIE = "sotlog_token"
READ_METHODS = ("GET", "HEAD", "OPTIONS")
FULL, VIEWER = "full", "viewer"
POLICY_VIOLATION = 1008  # WebSocket close code for a refused connection
MAX_BODY_BYTES = 1 << 20  # no request the dashboard takes is anywhere near this
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
     b"form-action 'self'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), usb=(), serial=()"),
]


def host_name(host_header: str) -> str:
    """The name part of a Host header: ``[::1]:8000`` -> ``::1``, ``a.b:80`` -> ``a.b``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                 extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    """One JSON line for a refused request; a refused WebSocket is closed with 1008 and why."""
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": POLICY_VIOLATION,
                    "reason": detail[:120]})
        return
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS, *extra]})
    await send({"type": "http.response.body", "body": body})


class SiteGuard:
    """ASGI middleware: Host and Origin checks, and the security headers on every response."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = {host_name(h) for h in (*LOCAL_HOSTS, *allowed_hosts) if h}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        host = conn.headers.get("host", "")
        if host_name(host) not in self.hosts:
            await refuse(scope, receive, send, 421,
                         f"this dashboard does not answer to host {host!r}: open it as "
                         "http://127.0.0.1 or a host allowed with --allow-host")
            return
        if scope["type"] == "http" and (refused := self.body_refusal(conn)):
            await refuse(scope, receive, send, *refused)
            return
        changes = scope["type"] == "websocket" or scope["method"] not in READ_METHODS
        if changes and not self.same_origin(conn, host):
            await refuse(scope, receive, send, 403,
                         "refused: this request came from another web page "
                         f"({conn.headers.get('origin') or conn.headers.get('sec-fetch-site')})")
            return
        await self.app(scope, receive, _with_headers(send) if scope["type"] == "http" else send)

    @staticmethod
    def body_refusal(conn: HTTPConnection) -> tuple[int, str] | None:
        """Bodies are bounded: their length said up front, at most MAX_BODY_BYTES."""
        length = conn.headers.get("content-length")
        if length is None:
            if "chunked" in conn.headers.get("transfer-encoding", "").lower():
                return 411, "send the body with a Content-Length"
            return None
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            return 413, f"a request body is at most {MAX_BODY_BYTES} bytes"
        return None

    @staticmethod
    def same_origin(conn: HTTPConnection, host: str) -> bool:
        origin = conn.headers.get("origin")
        if origin is None:  # not a browser on another page: browsers send Origin there
            return conn.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            have = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in have]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


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
            await refuse(scope, receive, send, 401,
                         "this dashboard needs a token: send 'Authorization: Bearer TOKEN' "
                         "or open the page once with ?token=TOKEN", [(b"www-authenticate",
                                                                      b"Bearer")])
            return
        if role == VIEWER and scope["type"] == "http" and scope["method"] not in READ_METHODS:
            await refuse(scope, receive, send, 403,
                         "the viewer token can only look; this needs the full token")
            return
        scope["state"]["role"] = role
        if query_role and scope["type"] == "http":
            send = _with_cookie(send, query or "")
        await self.app(scope, receive, send)


def _with_cookie(send: Send, token: str) -> Send:
    value = quote(token, safe="")
    cookie = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []),
                                              (b"set-cookie", cookie)]}
        await send(message)

    return wrapped
