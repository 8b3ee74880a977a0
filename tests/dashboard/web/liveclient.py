"""A viewer of the live stream written from docs/dashboard.md alone (not from the server's code):
it decodes the binary mat frames and keeps the status that batches carry as changes."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
from starlette.websockets import WebSocketDisconnect

TYPES = {name: np.dtype(name).newbyteorder("<") for name in (
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "int64", "uint64", "float32",
    "float64")}


def decode_mat(message: bytes) -> dict[str, Any]:
    """A mat frame: its JSON facts with ``values`` as a (rows, cols) array of the sent type."""
    magic, length = struct.unpack_from("<4sI", message)
    assert magic == b"SMAT", magic
    assert (8 + length) % 8 == 0, "the values must start at a multiple of 8 bytes"
    facts = json.loads(message[8:8 + length])
    dtype = TYPES[facts["dtype"]]
    values = np.frombuffer(message, dtype, offset=8 + length)
    assert values.size == facts["rows"] * facts["cols"], "the frame's size is not rows x cols"
    return {**facts, "values": values.reshape(facts["rows"], facts["cols"])}


class LiveView:
    """What a page knows after each message: the last hello, the status so far, the newest mat."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}
        self.hello: dict[str, Any] | None = None
        self.mat: dict[str, Any] | None = None

    def take(self, message: str | bytes) -> dict[str, Any]:
        """The message as a view: a batch merged over the status so far (``"mat"``: a frame
        that came since the previous batch), a hello as it is, a mat frame as ``type: mat``."""
        if isinstance(message, bytes):
            self.mat = decode_mat(message)
            return {"type": "mat", "mat": self.mat}
        msg = json.loads(message)
        if msg["type"] == "hello":
            self.hello = msg
            return msg
        self.status.update(msg.get("status", {}))
        view = {**self.status, "events": [], "skipped": 0, **msg, "mat": self.mat}
        self.mat = None
        return view


def receive(ws: Any) -> str | bytes:
    """The next message of a starlette TestClient WebSocket, text or bytes."""
    message = ws.receive()
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    return message["text"] if message.get("text") is not None else message["bytes"]


def view_of(ws: Any) -> LiveView:
    """The one LiveView of a TestClient WebSocket, kept on it across calls."""
    if not hasattr(ws, "live_view"):
        ws.live_view = LiveView()
    return ws.live_view  # type: ignore[no-any-return]
