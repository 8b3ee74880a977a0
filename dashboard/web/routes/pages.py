"""The pages: live view, sessions, one session, replay, compare, calibrate. Plain HTML; data
comes from /api."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


@router.get("/")
def live_page() -> FileResponse:
    return _page("live.html")


@router.get("/replay/{session_id}")
def replay_page(session_id: int) -> FileResponse:
    return _page("live.html")


@router.get("/sessions")
def sessions_page() -> FileResponse:
    return _page("sessions.html")


@router.get("/sessions/{session_id}")
def session_page(session_id: int) -> FileResponse:
    return _page("session.html")


@router.get("/compare")
def compare_page() -> FileResponse:
    return _page("compare.html")


@router.get("/calibrate")
def calibrate_page() -> FileResponse:
    return _page("calibrate.html")
