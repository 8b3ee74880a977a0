"""The live view: the WebSocket stream, tare, and starting and stopping a recording."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ConfigDict, Field

from dashboard.web.deps import StationDep
from dashboard.web.live import stream_to_viewer
from sensing.metadata import Block, SessionMeta

router = APIRouter(prefix="/api", tags=["live"])


class BlockIn(BaseModel):
    """One wedge: side, landmark, optional angle, and the channel that measures it."""

    model_config = ConfigDict(extra="forbid")
    side: str
    landmark: str
    angle_deg: float | None = None
    channel: str | None = None


class MetaIn(BaseModel):
    """Session metadata as the setup form sends it; checked against sotlog's vocabulary."""

    model_config = ConfigDict(extra="forbid")
    subject_code: Annotated[str | None, Field(max_length=32)] = None
    position: str | None = None
    category: str | None = None
    short_leg: str | None = None
    body_weight_kg: float | None = None
    note: Annotated[str, Field(max_length=2000)] = ""
    blocks: Annotated[list[BlockIn], Field(max_length=8)] = []

    def to_meta(self) -> SessionMeta:
        data = self.model_dump()
        data["blocks"] = [Block(**b) for b in data["blocks"]]
        for key in ("subject_code", "position", "category", "short_leg"):
            data[key] = data[key] or None  # an empty form field means "not given"
        return SessionMeta(**data)


class TareRequest(BaseModel):
    """How long to average each channel with the blocks unloaded."""

    seconds: Annotated[float, Field(ge=0.2, le=10.0)] = 1.0


@router.post("/tare")
async def tare(station: StationDep, body: TareRequest | None = None) -> dict[str, Any]:
    """Zero every channel on its mean over the next ~1 s; stored as a tare event when recording
    (or at the start of the next recording)."""
    return await station.tare((body or TareRequest()).seconds)


@router.post("/recording", status_code=status.HTTP_201_CREATED)
def start_recording(meta: MetaIn, station: StationDep) -> dict[str, Any]:
    """Create a session with this metadata and record into it."""
    return {"session_id": station.start(meta.to_meta())}


@router.post("/recording/stop")
def stop_recording(station: StationDep) -> dict[str, Any]:
    """End the recording; the session is complete."""
    return {"session_id": station.stop()}


@router.websocket("/live")
async def live_stream(ws: WebSocket, station: StationDep) -> None:
    """About 25 batches a second: new samples per channel, events, counters and state."""
    await ws.accept()
    settings = ws.app.state.settings
    sender = asyncio.create_task(stream_to_viewer(
        ws.send_text, station.hub, station.shared_status, settings.live_interval_s))
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
