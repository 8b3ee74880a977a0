"""The web dashboard: the FastAPI app factory, its error mapping, and ``serve``."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from dashboard.web.guard import SiteGuard, TokenGate
from dashboard.web.routes import (
    calibrations,
    devices,
    events,
    exports,
    figures,
    live,
    pages,
    sessions,
    vocabulary,
)
from dashboard.web.settings import Settings
from dashboard.web.station import Station
from firmware_bridge import __version__
from firmware_bridge.errors import (
    CalibrationError,
    DeviceError,
    ExportError,
    MetadataError,
    NotFound,
    ProfileError,
    ProtocolError,
    SettingsError,
    SotlogError,
    StateError,
    StoreError,
    TareRefused,
)

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Swagger UI's files as the fastapi-offline package ships them: /docs works with no network
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

# Which HTTP status a person's request gets for each kind of sotlog error (nearest class wins).
ERROR_STATUS: dict[type[SotlogError], int] = {
    SotlogError: 400,
    ProfileError: 400,
    ProtocolError: 400,
    ExportError: 400,
    CalibrationError: 400,
    StoreError: 409,  # the store refused a write (full disk, locked, a constraint)
    NotFound: 404,
    DeviceError: 409,
    StateError: 409,
    TareRefused: 409,
    MetadataError: 400,
    SettingsError: 400,
}


class ErrorOut(BaseModel):
    """Every refusal: one line for a person; ``refused`` marks a tare that may be taken anyway."""

    detail: str
    refused: bool | None = None


# What any route may answer besides its success, all with ErrorOut (documented for every route).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": words} for code, words in (
        (400, "the request does not fit sotlog's words or rules (one line says which)"),
        (401, "a token is needed"),
        (403, "the viewer token cannot do this, or the request came from another web page"),
        (404, "no such session, calibration or page"),
        (409, "the store or the station cannot do it now (one line says why)"),
        (411, "a request body without a Content-Length"),
        (413, "a request body over 1 MiB"),
        (421, "a Host this dashboard does not answer to"),
        (422, "a request field out of range or of the wrong type (one line)"),
    )
}


def status_for(err: SotlogError) -> int:
    for cls in type(err).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


async def _sotlog_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, SotlogError)
    body: dict[str, Any] = {"detail": str(err)}
    if isinstance(err, TareRefused):
        body["refused"] = True  # the page offers to tare anyway
    return JSONResponse(body, status_code=status_for(err))


async def _os_error(request: Request, err: Exception) -> JSONResponse:
    """What the machine refused (a file, a folder, a name too long): one line, as the CLI says
    it, not a server error."""
    assert isinstance(err, OSError)
    where = f" {err.filename}" if err.filename else ""
    detail = f"cannot do that{where}: {err.strerror or err}"
    return JSONResponse({"detail": detail[:300]}, status_code=409)


async def _invalid_request(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, RequestValidationError)
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg")))
    return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)


# What every page says over a shared store (docs/multi-station.md: serve on a shared store).
SHARED_LINE = ("Shared store {store}: every station's sessions. Recording is off here; a station "
               "records into its own store and syncs.")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The dashboard app for ``settings``; refuses (SettingsError) to listen unsafely."""
    from sensing.store.sessions import Store

    settings = settings or Settings()
    settings.check()
    device = settings.device()
    store = Store.open(settings.store)
    store.keep_connections()  # a shared store's: a request does not open one of its own
    station = Station(store, settings.ring_seconds, lsl=settings.lsl)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if device is not None:
            try:
                station.connect(*device, retry=True)
            except SotlogError as err:  # the page shows it and lets the person choose another
                log.warning("%s", err)
                station.last_error = str(err)
        try:
            yield
        finally:
            reason = getattr(app.state, "stop_reason", None) or "the dashboard was stopped"
            ended = station.close(reason)
            store.close()
            if ended is not None:  # said where the person who stopped the server looks
                print(f"sotlog serve: session {ended.session_id} ended {ended.status}: "
                      f"{ended.reason}; kept {ended.frames} frames, {ended.events} events",
                      file=sys.stderr, flush=True)

    app = FastAPI(
        title="sotlog", version=__version__, lifespan=lifespan, responses=ERROR_RESPONSES,
        docs_url=None, redoc_url=None,  # /docs is pages.api_docs, served without a CDN
        description="Records force and timing under SOT pelvic blocks. JSON under /api; the "
                    "live stream is the WebSocket /api/live.",
    )
    app.state.settings = settings
    app.state.station = station
    app.state.shared = SHARED_LINE.format(store=store.path) if store.url else ""
    app.add_exception_handler(SotlogError, _sotlog_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OSError, _os_error)
    for router in (devices.router, live.router, sessions.router, events.router,
                   exports.router, figures.router, calibrations.router, vocabulary.router,
                   pages.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.add_middleware(TokenGate, token=settings.resolved_token(),
                       viewer_token=settings.viewer_token)
    app.add_middleware(SiteGuard, allowed_hosts=settings.allowed_hosts())  # outermost
    return app


def serve(settings: Settings) -> None:
    """Run the dashboard with uvicorn on settings.host / settings.http_port until interrupted.

    Ctrl-C or SIGTERM ends a recording in progress as interrupted, saying which signal.
    """
    import uvicorn

    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if not getattr(app.state, "stop_reason", None):
                name = signal.Signals(sig).name
                app.state.stop_reason = f"sotlog serve was stopped ({name})"
            super().handle_exit(sig, frame)

    # The websockets implementation answers a viewer that offers permessage-deflate (browsers
    # do) with it: 4 KiB window, memLevel 5 (docs/dashboard.md, *The live stream*).
    config = uvicorn.Config(app, host=settings.host, port=settings.http_port,
                            log_level="warning", ws="websockets-sansio",
                            ws_per_message_deflate=True)
    print(f"sotlog dashboard: http://{settings.host}:{settings.http_port}/", flush=True)
    if app.state.shared:
        print(f"sotlog dashboard: {app.state.shared}", flush=True)
    Server(config).run()
