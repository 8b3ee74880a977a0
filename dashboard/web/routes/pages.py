"""The pages: live view (and replay), sessions, one session, compare, calibrate, API docs.

Each is a Jinja2 template on one base (head, navigation, scripts); the ``<select>`` options for
sotlog's words and units are rendered from ``sensing.vocabulary`` through the same ``rules()``
that ``GET /api/vocabulary`` serves. Data comes from /api.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dashboard.web.deps import SessionId, StoreDep
from dashboard.web.routes.vocabulary import rules
from firmware_bridge.errors import NotFound

router = APIRouter(include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")


def html_pattern(regex: str) -> str:
    """A Python regex as an HTML ``pattern``: anchors dropped (the attribute is anchored) and a
    class's closing ``-`` escaped (browsers compile it with the ``v`` flag)."""
    return regex.removeprefix("^").removesuffix("\\Z").removesuffix("$").replace("-]", "\\-]")


TEMPLATES.env.filters["html_pattern"] = html_pattern


def _page(request: Request, name: str, here: str | None, **context: Any) -> HTMLResponse:
    context = {"v": rules(), "here": here, "shared": request.app.state.shared, **context}
    return TEMPLATES.TemplateResponse(request, name, context,
                                      headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse)
def live_page(request: Request) -> HTMLResponse:
    return _page(request, "live.html", "live", title="live")


def _missing(request: Request, session_id: int) -> HTMLResponse:
    """A real 404 page for a session the store does not hold, in words (no paths)."""
    response = _page(request, "notfound.html", "sessions", title="no such session",
                     heading=f"No session {session_id}",
                     words=f"This store holds no session {session_id}: it may never have been "
                           "recorded here, or the address was mistyped.")
    response.status_code = 404
    return response


def _held(store: StoreDep, session_id: int) -> bool:
    try:
        with store.session(session_id):
            return True
    except NotFound:
        return False


@router.get("/replay/{session_id}", response_class=HTMLResponse)
def replay_page(request: Request, session_id: SessionId, store: StoreDep) -> HTMLResponse:
    if not _held(store, session_id):
        return _missing(request, session_id)
    return _page(request, "live.html", None, title=f"replay of session {session_id}")


@router.get("/sessions", response_class=HTMLResponse)
def sessions_page(request: Request) -> HTMLResponse:
    return _page(request, "sessions.html", "sessions", title="sessions")


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, session_id: SessionId, store: StoreDep) -> HTMLResponse:
    if not _held(store, session_id):
        return _missing(request, session_id)
    return _page(request, "session.html", "sessions", title=f"session {session_id}")


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request) -> HTMLResponse:
    return _page(request, "compare.html", "sessions", title="compare")


@router.get("/calibrate", response_class=HTMLResponse)
def calibrate_page(request: Request) -> HTMLResponse:
    return _page(request, "calibrate.html", "calibrate", title="calibrate")


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI from the installed ``fastapi-offline`` package's files (mounted at /docs-assets
    by the app): no CDN, so the API docs work offline."""
    return TEMPLATES.TemplateResponse(request, "apidocs.html",
                                      {"openapi_url": request.app.openapi_url})
