"""What a live viewer gets on the wire: mat frames as binary messages holding exactly the stored
values, the status only when it changed, permessage-deflate when the viewer offers it."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import websockets
from fastapi.testclient import TestClient

from dashboard.web.live import LiveHub, mat_message, stream_to_viewer
from dashboard.web.livewire import TICK_S, TICKING, StatusDelta, encode_mat
from dashboard.web.matview import picture
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from tests.dashboard.conftest import ServeProcess
from tests.dashboard.web.liveclient import decode_mat, receive
from tests.dashboard.web.test_api import META, batches_until

MAT48 = "sim://mat?rows=48&cols=48&rate=100&protocol=blockframe&seed=1"


def test_mat_frames_on_the_wire_are_the_stored_frames(
        make_client: Callable[..., TestClient]) -> None:
    """Every frame a viewer decodes during a recording is, sensel for sensel, the frame of the
    same sequence number in the session stored: nothing rounded, clipped or made up."""
    client = make_client(port=MAT48, profile="sim-mat-48")
    frames: list[dict[str, Any]] = []
    with client.websocket_connect("/api/live") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        batches_until(ws, lambda b: b["state"] == "connected" and len(b["t"]) > 0)
        sid = client.post("/api/recording", json=META).json()["session_id"]

        def loaded_a_while(batch: dict[str, Any]) -> bool:
            if batch["mat"] is not None:
                frames.append(batch["mat"])
            return len(frames) >= 30 and frames[-1]["total"] > 0

        # through the load's arrival (the sim's body settles on from about 3 s) and on it
        batches_until(ws, loaded_a_while, timeout=30)
    client.post("/api/recording/stop")
    store = client.app.state.station.store  # type: ignore[attr-defined]
    with store.session(sid) as s:
        stored = s.frames()
        matrix = s.info.profile.matrix
    by_seq = {int(q): i for i, q in enumerate(stored.seq)}
    compared = 0
    for mat in frames:
        if mat["seq"] not in by_seq:
            continue  # sent before Start: not in the session
        i = by_seq[mat["seq"]]
        assert (mat["factor"], mat["rows"], mat["cols"]) == (1, 48, 48)
        assert mat["values"].shape == stored.values[i].shape
        # the stored frame as every mat picture shows it (head up: dashboard.web.matview)
        shown = picture(stored.values[i], matrix)
        assert np.array_equal(mat["values"], shown), mat["seq"]
        assert mat["device_time"] == pytest.approx(float(stored.device_time[i]))
        assert mat["dtype"] == ("uint16" if stored.values[i].max() > 255 else "uint8")
        compared += 1
    assert compared >= 10
    assert any(m["values"].max() > 1000 for m in frames)  # loaded frames among them


@pytest.mark.parametrize("image,dtype", [
    (np.array([[0, 4095], [65535, 7]], np.uint16), "uint16"),
    (np.array([[0, 255], [3, 7]], np.uint16), "uint8"),  # narrower, every value exact
    (np.array([[-3, 200], [0, 1]], np.int32), "int16"),
    (np.array([[0.0, 255.0], [17.0, 3.0]]), "uint8"),  # a text mat's whole numbers
    (np.array([[0.5, np.nan], [2.0**100, -2.25]]), "float32"),  # missing sensel: NaN
    (np.array([[0.1, 1.0], [2.0, 3.0]]), "float64"),  # 0.1 has no exact float32
    (np.array([[2**40 + 1, 0], [1, 2]], np.int64), "float64"),
    (np.array([[2**60 + 1, 0], [1, 2]], np.int64), "int64"),  # beyond float64's whole numbers
])
def test_a_frame_goes_in_the_narrowest_type_that_holds_it_exactly(image: np.ndarray,
                                                                  dtype: str) -> None:
    facts = {"rows": image.shape[0], "cols": image.shape[1], "seq": 3}
    message = encode_mat(facts, image)
    got = decode_mat(message)
    assert got["dtype"] == dtype and got["seq"] == 3
    assert np.array_equal(got["values"], image, equal_nan=image.dtype.kind == "f")
    assert len(message) == 8 + ((8 + len(json.dumps({**facts, "dtype": dtype})) + 7) // 8 * 8
                                - 8) + image.size * np.dtype(dtype).itemsize


def test_status_keys_go_when_they_change_ticking_ones_at_most_every_tick() -> None:
    delta = StatusDelta()
    first = {"state": "connected", "recording": None, "counters": {"frames": 1}, "rate_hz": 80.0}
    assert delta.changes(first, 10.0) == first  # all of it, the first time
    assert delta.changes(dict(first), 10.01) is None  # nothing changed: nothing
    ticking = {**first, "counters": {"frames": 5}, "rate_hz": 79.9}
    assert delta.changes(ticking, 10.2) is None  # only counters and rate: wait for the tick
    assert delta.changes(ticking, 10.0 + TICK_S) == {"counters": {"frames": 5}, "rate_hz": 79.9}
    more = {**ticking, "counters": {"frames": 9}}
    assert delta.changes(more, 10.6) is None
    # a change of any other key takes the waiting ticking keys along at once
    started = {**more, "recording": {"session_id": 1}}
    assert delta.changes(started, 10.61) == {"recording": {"session_id": 1},
                                             "counters": {"frames": 9}}
    assert {"counters", "session_counters", "rate_hz", "silent_s", "loaded_s"} <= TICKING
    assert not {"state", "recording", "error", "loaded", "ended", "tared"} & TICKING


def test_a_viewer_is_sent_the_status_once_then_only_what_changed() -> None:
    """A hub whose device sends nothing: after hello and one batch with the whole status, the
    stream is quiet; a change of state goes out in the next beat, alone; a new device's hello
    is followed by the whole status again."""
    hub = LiveHub()
    hub.configure(load_profile("sim-loadcells"))
    status = {"state": "connected", "counters": {"frames": 0}, "recording": None}
    sent: list[str | bytes] = []

    async def send(message: str | bytes) -> None:
        sent.append(message)

    async def run() -> list[list[dict[str, Any]]]:
        seen: list[list[dict[str, Any]]] = []
        viewer = asyncio.create_task(stream_to_viewer(send, hub, lambda: dict(status),
                                                      interval_s=0.01))
        for change in ({}, {"state": "stalled"}, {"counters": {"frames": 1}}):
            status.update(change)
            await asyncio.sleep(0.2)
            seen.append([json.loads(m) for m in sent])
            sent.clear()
        hub.configure(load_profile("sim-loadcells"))  # another device: hello again
        await asyncio.sleep(0.2)
        seen.append([json.loads(m) for m in sent])
        viewer.cancel()
        return seen

    quiet, stalled, ticked, again = asyncio.run(run())
    assert [m["type"] for m in quiet] == ["hello", "batch"]  # 20 beats, two messages
    assert set(quiet[1]["status"]) >= {"state", "counters", "recording", "loaded", "loaded_s"}
    assert [m.get("status") for m in stalled] == [{"state": "stalled"}]
    assert len(ticked) <= 1  # the counters wait for their tick (0.5 s): not in every beat
    assert [m["type"] for m in again][:2] == ["hello", "batch"]
    assert again[1]["status"]["state"] == "stalled" and "recording" in again[1]["status"]


def test_a_live_viewer_gets_each_value_once(make_client: Callable[..., TestClient]) -> None:
    """The simulated load cells for 1.5 s after the first batch (the history): no key comes
    again with the value the viewer has, and the counters, which change with every frame,
    come in a few batches of many."""
    client = make_client(simulate=True)
    known: dict[str, Any] = {}
    batches = with_counters = 0
    start = newest = math.nan
    with client.websocket_connect("/api/live") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        deadline = time.monotonic() + 15
        while not newest - start >= 1.5:
            assert time.monotonic() < deadline, "no 1.5 s of samples in 15 s"
            batch = json.loads(receive(ws))
            if batch["t"]:
                newest = batch["t"][-1]
                start = newest if math.isnan(start) else start
            batches += 1
            status = batch.get("status", {})
            repeated = {k for k, v in status.items() if k in known and known[k] == v}
            assert not repeated, repeated
            known.update(status)
            with_counters += "counters" in status
    assert {"state", "counters", "loaded_s", "recording", "url"} <= set(known)
    # the whole status first, then a tick at most every 0.5 s, and one with a change of state
    assert batches > 20 and 2 <= with_counters <= 3 + (newest - start) / TICK_S


def test_permessage_deflate_when_the_viewer_offers_it(serve: Callable[..., ServeProcess]
                                                      ) -> None:
    """``sotlog serve`` answers a viewer that offers permessage-deflate (as Chromium does) with
    it, and one that does not with plain frames; both get the same messages."""
    server = serve("--port", MAT48.replace("rate=100", "rate=30"), "--profile", "sim-mat-48")
    url = server.url.replace("http", "ws") + "/api/live"

    async def first(compression: str | None) -> tuple[str | None, list[str]]:
        async with websockets.connect(url, compression=compression, max_size=None,
                                      open_timeout=10) as ws:  # type: ignore[arg-type]
            kinds = []
            while "mat" not in kinds:
                message = await asyncio.wait_for(ws.recv(), 10)
                kinds.append("mat" if isinstance(message, bytes) else
                             json.loads(message)["type"])
            return ws.response.headers.get("Sec-WebSocket-Extensions"), kinds

    offered, kinds = asyncio.run(first("deflate"))
    assert offered is not None and offered.startswith("permessage-deflate")
    assert kinds[0] == "hello" and "batch" in kinds
    plain, kinds = asyncio.run(first(None))
    assert plain is None and kinds[0] == "hello" and "batch" in kinds


def test_a_viewer_may_leave_the_mat_frames_out(make_client: Callable[..., TestClient]) -> None:
    """``?mat=false`` (the calibrate page): samples and status as usual, no binary frame."""
    client = make_client(port=MAT48.replace("rate=100", "rate=30"), profile="sim-mat-48")
    kinds: list[str] = []
    with client.websocket_connect("/api/live?mat=false") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
        samples = 0
        deadline = time.monotonic() + 15
        while samples < 45:  # 1.5 s of frames: 7 heat maps would have come
            assert time.monotonic() < deadline, "no 1.5 s of samples in 15 s"
            message = receive(ws)
            kinds.append("mat" if isinstance(message, bytes) else json.loads(message)["type"])
            if kinds[-1] == "batch" and kinds.count("batch") > 1:  # after the history
                samples += len(json.loads(message)["t"])
    assert "mat" not in kinds and kinds.count("batch") > 5


def test_a_mat_message_is_made_once_for_all_the_viewers() -> None:
    hub = LiveHub()
    hub.configure(load_profile("sim-mat"))
    frames = np.zeros((2, 32, 32), np.uint16)
    frames[:, 20:28, 2:10] = 700
    frames[1, 0, 0] = 3
    hub.on_frames(FrameBlock.build(frames[:1], np.array([1.0])))
    first = mat_message(hub)
    assert first is not None and mat_message(hub) is first  # the same bytes for the next viewer
    hub.on_frames(FrameBlock.build(frames[1:], np.array([1.1])))
    newer = mat_message(hub)
    assert newer is not None and newer is not first
    matrix = load_profile("sim-mat").matrix
    assert matrix is not None
    assert np.array_equal(decode_mat(newer)["values"], picture(frames[1], matrix))
