"""The live view: the WebSocket stream, tare, and starting and stopping a recording."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import StationDep
from dashboard.web.live import stream_to_viewer
from sensing.metadata import SessionMeta

router = APIRouter(prefix="/api", tags=["live"])


class TareRequest(BaseModel):
    """How long to average each channel with the blocks unloaded; ``force`` tares even when
    the tare is refused (moving or loaded blocks), and is kept with the tare."""

    model_config = ConfigDict(extra="forbid")
    seconds: Annotated[float, Field(ge=0.2, le=10.0)] = 1.0
    force: bool = False


@router.post("/tare", responses={409: {"description": "refused: the blocks moved or look "
                                                      "loaded (the detail says which)"}})
async def tare(station: StationDep, body: TareRequest | None = None) -> dict[str, Any]:
    """Zero every channel on its mean over the next ~1 s, on still and unloaded blocks.

    Before a recording it is the zero the next session starts from; during one it applies from
    its moment on. A refused tare changes nothing and answers 409 with ``refused: true``.
    """
    req = body or TareRequest()
    return await station.tare(req.seconds, force=req.force)


@router.post("/recording", status_code=status.HTTP_201_CREATED)
def start_recording(meta: SessionMeta, station: StationDep) -> dict[str, Any]:
    """Create a session with this metadata and record into it."""
    return {"session_id": station.start(meta)}


@router.post("/recording/stop")
def stop_recording(station: StationDep) -> dict[str, Any]:
    """End the recording; the session is complete. ``decoded_nothing``: the line to show in red
    when bytes came and none made a frame (else null)."""
    ended = station.stop()
    return {"session_id": ended.session_id, "decoded_nothing": ended.decoded_nothing}


@router.websocket("/live")
async def live_stream(ws: WebSocket, station: StationDep, mat: bool = True) -> None:
    """About 28 batches a second: new samples per channel, events, and the status keys that
    changed (JSON); a mat's newest frame up to 5 times a second (binary, see docs/dashboard.md).
    Compressed by permessage-deflate when the viewer offers it (``serve``). ``mat=false``: no
    mat frames (a page that shows no heat map)."""
    await ws.accept()
    settings = ws.app.state.settings

    async def send(message: str | bytes) -> None:
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        else:
            await ws.send_text(message)

    sender = asyncio.create_task(stream_to_viewer(
        send, station.hub, station.shared_status, settings.live_interval_s, mat=mat))
    receiver = asyncio.create_task(_until_gone(ws))
    done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await task
    if sender in done and sender.exception() is not None:
        # a viewer that stopped reading (send timed out) is let go; the recording goes on
        with contextlib.suppress(TimeoutError, RuntimeError, WebSocketDisconnect, OSError):
            await asyncio.wait_for(ws.close(code=1013, reason="viewer too slow"), 1.0)


async def _until_gone(ws: WebSocket) -> None:
    """Read (and ignore) what the viewer sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
