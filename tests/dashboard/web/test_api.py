"""The dashboard API with the real app, real store files, the simulator and a pseudo-terminal."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from dashboard.web.app import create_app
from dashboard.web.live import LiveHub, stream_to_viewer
from dashboard.web.settings import Settings, SettingsError
from firmware_bridge.errors import ProfileError
from firmware_bridge.frames import FrameBlock, Notice
from firmware_bridge.profiles import load_profile
from tests.dashboard.web.liveclient import receive, view_of
from tests.ptydevice import PtyDevice

WAIT_S = 10.0
META = {"subject_code": "P-0042", "position": "prone", "category": "II", "short_leg": "left",
        "body_weight_kg": 72.5, "note": "", "blocks": [
            {"side": "left", "landmark": "iliac_crest", "angle_deg": 30, "channel": "left"},
            {"side": "right", "landmark": "acetabulum", "channel": "right"}]}


def batches_until(ws: Any, done: Callable[[dict[str, Any]], bool],
                  timeout: float = WAIT_S) -> list[dict[str, Any]]:
    """Read live messages until ``done(batch)``; fail after ``timeout`` seconds. Each batch is
    seen as a page sees it: over the status so far (liveclient.LiveView)."""
    seen = []
    view = view_of(ws)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = view.take(receive(ws))
        seen.append(msg)
        if msg["type"] == "batch" and done(msg):
            return seen
    raise AssertionError(f"condition not met in {timeout} s; last: {seen[-1] if seen else None}")


def record(client: TestClient, seconds: float, meta: dict[str, Any] = META) -> int:
    """Tare, start, mark a marker, record ``seconds`` of stream, stop; the session id."""
    with client.websocket_connect("/api/live") as ws:
        batches_until(ws, lambda b: b["state"] == "connected" and len(b["t"]) > 0)
        assert client.post("/api/tare", json={"seconds": 0.3}).status_code == 200
        r = client.post("/api/recording", json=meta)
        assert r.status_code == 201, r.text
        sid = r.json()["session_id"]
        r = client.post("/api/events", json={"kind": "marker", "text": "settled"})
        assert r.status_code == 201, r.text
        batches_until(ws, lambda b: b["recording"] and b["t"]
                      and b["t"][-1] - b["recording"]["t_start"] >= seconds)
    assert client.post("/api/recording/stop").json() == {"session_id": sid, "decoded_nothing": None}
    return sid


# -- settings and access ----------------------------------------------------------------------


def test_a_public_host_without_a_token_refuses_to_start(monkeypatch: pytest.MonkeyPatch,
                                                        store_path: Any) -> None:
    monkeypatch.delenv("SOTLOG_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="needs a token"):
        create_app(Settings(host="0.0.0.0", store=str(store_path)))
    monkeypatch.setenv("SOTLOG_TOKEN", "s3cret")
    assert create_app(Settings(host="0.0.0.0", store=str(store_path))) is not None
    with pytest.raises(ProfileError, match="no profile given"):
        create_app(Settings(port="/dev/ttyUSB0", store=str(store_path)))
    sim = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=3"  # implies its own profile
    assert Settings(port=sim, store=str(store_path)).device() == (sim, "sim-loadcells")
    assert Settings(port=sim, profile="openscale").device() == (sim, "openscale")


def test_token_header_cookie_and_viewer(make_client: Callable[..., TestClient]) -> None:
    client = make_client(token="full-tok", viewer_token="view-tok")
    r = client.get("/api/status")
    assert r.status_code == 401 and "needs a token" in r.json()["detail"]
    for bearer, status in (("wrong", 401), ("full-tok", 200), ("view-tok", 200)):
        r = client.get("/api/status", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == status
    page = client.get("/?token=view-tok")
    assert page.status_code == 200 and "sotlog_token=view-tok" in page.headers["set-cookie"]
    # the cookie now carries the viewer token: reading and watching work, acting does not
    assert client.get("/api/access").json()["role"] == "viewer"
    r = client.post("/api/recording", json=META)
    assert r.status_code == 403 and "viewer token" in r.json()["detail"]
    with client.websocket_connect("/api/live") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"
    client.cookies.clear()
    with (client.websocket_connect("/api/live") as ws,  # accepted, then closed with why
          pytest.raises(WebSocketDisconnect) as refused):
        ws.receive_text()
    assert refused.value.code == 1008 and "needs a token" in refused.value.reason
    with client.websocket_connect("/api/live?token=full-tok") as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"


# -- errors are 4xx with one clear line ------------------------------------------------------


def test_errors_are_clear_4xx(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    cases = [
        (client.get("/api/sessions/999"), 404, "no session 999"),
        (client.post("/api/recording/stop"), 409, "nothing is being recorded"),
        (client.post("/api/events", json={"kind": "placed"}), 409, "press Start"),
        (client.post("/api/events", json={"kind": "bogus"}), 400, "event kind must be"),
        (client.post("/api/recording", json=META), 409, "no device is open"),
        (client.put("/api/connection", json={"url": "loop://", "profile": "nope"}), 400,
         "unknown profile"),
        (client.put("/api/connection", json={"url": "/dev/sotlog-none", "profile": "openscale"}),
         409, "cannot open /dev/sotlog-none"),
        (client.post("/api/tare"), 409, "no device is open"),
        (client.get("/api/sessions?category=IV"), 400, "category must be one of"),
        (client.get("/api/sessions?date_from=yesterday"), 422, "date_from"),
        (client.get("/api/sessions/1/exports/nope"), 400, "unknown export format"),
        (client.get("/api/sessions/1/samples?units=stone"), 422, "units"),
        (client.post("/api/recording", content=b"{not json",
                     headers={"content-type": "application/json"}), 422, "JSON"),
    ]
    for response, status, words in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert words.lower() in response.json()["detail"].lower(), response.json()


def test_bad_metadata_is_refused_before_anything_is_recorded(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(simulate=True)
    for bad, words in [({"position": "sideways"}, "position must be"),
                       ({"subject_code": "Jane Doe"}, "subject code"),
                       ({"body_weight_kg": 0}, "body weight"),
                       ({"blocks": [{"side": "up", "landmark": "ilium"}]}, "side"),
                       ({"blocks": [{"side": "left", "landmark": "ilium", "channel": "x"}]},
                        "not a channel"),
                       ({"blocks": [{"side": "left", "landmark": "ilium", "channel": "left"},
                                    {"side": "right", "landmark": "ilium", "channel": "left"}]},
                        "only one block"),
                       ({"colour": "red"}, "extra")]:
        r = client.post("/api/recording", json={**META, **bad})
        assert r.status_code in (400, 422) and words in r.json()["detail"].lower(), r.text
    assert client.get("/api/sessions").json() == []
    assert client.get("/api/status").json()["recording"] is None


def test_openapi_lists_every_resource(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/sessions", "/api/sessions/{session_id}", "/api/sessions/{session_id}/events",
                 "/api/devices", "/api/connection", "/api/exports", "/api/recording",
                 "/api/tare", "/api/events", "/api/status"):
        assert path in paths, path
    assert "swagger" in client.get("/docs").text.lower()
    # Swagger UI's files come from the dashboard itself, not a CDN
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    for page in ("/", "/sessions"):
        r = client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for page in ("/sessions/3", "/replay/3"):  # no session 3 yet: a page that says so
        r = client.get(page)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "No session 3" in r.text
    assert client.get("/sessions/abc").status_code == 422


# -- a whole recording through the API --------------------------------------------------------


def test_record_review_edit_and_export(make_client: Callable[..., TestClient]) -> None:
    client = make_client(simulate=True)
    sid = record(client, 1.5)
    rows = client.get("/api/sessions", params={"q": "0042", "category": "II"}).json()
    assert [r["id"] for r in rows] == [sid] and rows[0]["status"] == "complete"
    assert client.get("/api/sessions", params={"position": "supine"}).json() == []
    assert client.get("/api/sessions", params={"q": "P-9"}).json() == []

    detail = client.get(f"/api/sessions/{sid}").json()
    assert detail["meta"]["blocks"][0] == META["blocks"][0]
    # the session keeps its own counters (since Start), not the device's since it was opened
    since_connect = client.get("/api/status").json()["counters"]["frames"]
    assert abs(detail["counters"]["frames"] - detail["n_frames"]) <= 2
    assert since_connect > detail["counters"]["frames"] + 20  # the tare's second came before
    (zero,) = detail["conversion"]["tare"]  # the tare before Start: the zero of all of it
    assert zero["from_s"] is None and set(zero["offsets"]) == {"left", "right"}
    assert detail["zeros"][0]["text"].startswith("from the start to the end: left: tare")
    assert detail["face"] == "dashboard" and detail["end_reason"] == "stopped from the dashboard"
    events = client.get(f"/api/sessions/{sid}/events").json()
    kinds = [e["kind"] for e in events]
    assert kinds.count("tare") == 1 and kinds.count("marker") == 1
    tare = next(e for e in events if e["kind"] == "tare")
    assert tare["time_s"] < 0 and tare["data"]["frames"] > 0  # measured before Start

    samples = client.get(f"/api/sessions/{sid}/samples", params={"units": "kgf"}).json()
    assert samples["names"] == ["left", "right"] and samples["units"] == ["kgf", "kgf"]
    n = len(samples["time_s"])
    assert n >= 80 and len(samples["values"]["left"]) == n
    assert samples["sides"] == {"left": "left", "right": "right"}
    summary = client.get(f"/api/sessions/{sid}/summary").json()
    assert summary["frames"] == n and [c["unit"] for c in summary["channels"]] == ["N", "N"]
    png = client.get(f"/api/sessions/{sid}/plot.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"

    r = client.patch(f"/api/sessions/{sid}", json={"note": "block moved", "category": "III"})
    assert r.status_code == 200 and r.json()["category"] == "III"
    edits = client.get(f"/api/sessions/{sid}").json()["edits"]
    assert {(e["field"], e["old"], e["new"]) for e in edits} == {
        ("note", "", "block moved"), ("category", "II", "III")}
    assert client.patch(f"/api/sessions/{sid}", json={}).status_code == 400
    assert client.patch(f"/api/sessions/{sid}", json={"position": "up"}).status_code == 400

    formats = {f["name"]: f for f in client.get("/api/exports").json()}
    assert formats["csv"]["available"]
    csv = client.get(f"/api/sessions/{sid}/exports/csv")
    assert csv.status_code == 200 and len(csv.content) > 100
    assert "attachment" in csv.headers["content-disposition"]
    # A download is named for its session, and a zip keeps the format's own folders.
    for fmt in ("parquet", "bids"):
        got = client.get(f"/api/sessions/{sid}/exports/{fmt}")
        assert got.status_code == 200, got.text
        name = got.headers["content-disposition"].split("filename=")[1].strip('"')
        assert name.startswith(f"session-{sid}") or "ses-" in name, name
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(got.content)) as z:
                names = z.namelist()
            assert any("/" in n for n in names), names


PATCH_VALUES = st.one_of(
    st.none(), st.text(max_size=40), st.integers(-1000, 1000), st.floats(allow_nan=True),
    st.lists(st.dictionaries(st.sampled_from(["side", "landmark", "angle_deg", "channel"]),
                             st.one_of(st.text(max_size=12), st.floats(-200, 200), st.none())),
             max_size=3))
PATCHES = st.dictionaries(
    st.sampled_from(["subject_code", "position", "category", "short_leg", "body_weight_kg",
                     "note", "blocks", "other"]), PATCH_VALUES, max_size=4)


def test_no_metadata_edit_is_a_500(make_client: Callable[..., TestClient]) -> None:
    from sensing.metadata import SessionMeta

    client = make_client()
    store = client.app.state.station.store  # type: ignore[attr-defined]
    sid = store.create_session(SessionMeta(), load_profile("openscale"))

    @settings(max_examples=60, deadline=None)
    @given(patch=PATCHES)
    def edit(patch: dict[str, Any]) -> None:
        r = client.patch(f"/api/sessions/{sid}", content=json.dumps(patch, allow_nan=True),
                         headers={"content-type": "application/json"})
        assert r.status_code in (200, 400, 422), r.text
        assert r.json()["detail"] if r.status_code != 200 else True

    edit()


# -- the live stream ---------------------------------------------------------------------------


def test_live_stream_from_a_pty_device_in_batches(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    with PtyDevice() as dev:
        r = client.put("/api/connection", json={"url": dev.path, "profile": "hx711-arduino-1ch"})
        assert r.status_code == 200 and r.json()["state"] in ("connecting", "connected")
        grams = np.arange(200) * 10.0
        lines = [b"Times,Measures\r\n"] + [f"{100 * i},{g:.1f}\r\n".encode()
                                            for i, g in enumerate(grams)]
        dev.play([b"".join(lines[i:i + 20]) for i in range(0, len(lines), 20)], interval=0.05)
        with client.websocket_connect("/api/live") as ws:
            hello = json.loads(ws.receive_text())
            assert hello["channels"] == [{"name": "load", "unit": "N", "block": None}]
            got: list[float] = []
            msgs = batches_until(ws, lambda b: got.extend(b["values"]["load"]) or
                                 len(got) >= len(grams))
            # the counters change with every frame: they follow at most half a second later
            last = batches_until(ws, lambda b: b["counters"]["frames"] >= len(grams),
                                 timeout=1.0)[-1]
        assert np.allclose(got[:len(grams)], grams * 9.80665e-3)  # grams -> N, every sample
        batches = [m for m in msgs if m["type"] == "batch"]
        assert len(batches) < len(grams)  # batches, not one message per sample
        assert last["counters"]["undecodable"] == 0
        client.delete("/api/connection")


def test_a_lost_device_is_shown_at_once_and_the_gap_streamed(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&disconnect_after=0.5&down=0.3"
    assert client.put("/api/connection", json={"url": url, "profile": "sim-loadcells"}).is_success
    with client.websocket_connect("/api/live") as ws:
        batches_until(ws, lambda b: b["state"] == "disconnected")
        msgs = batches_until(ws, lambda b: b["state"] == "connected"
                             and b["counters"]["reconnects"] >= 1)
        kinds = {e["kind"] for m in msgs if m["type"] == "batch" for e in m["events"]}
        if "gap" not in kinds:
            batches_until(ws, lambda b: any(e["kind"] == "gap" for e in b["events"]))


# -- the hub itself ----------------------------------------------------------------------------


def _block(values: np.ndarray, t0: float, rate: float = 100.0) -> FrameBlock:
    return FrameBlock.build(values, t0 + np.arange(len(values)) / rate)


def test_hub_ring_wraps_and_a_late_viewer_skips_ahead_counted() -> None:
    hub = LiveHub(ring_seconds=10)
    hub.configure(load_profile("openscale"))
    cap = hub.capacity
    n = cap + cap // 2
    raw = np.arange(n, dtype=float)[:, None] * np.ones((1, len(hub.channels)))
    cursor = hub.cursor_for(60)
    for start in range(0, n, 997):  # uneven blocks straddle the wrap
        hub.on_frames(_block(raw[start:start + 997], start / 100.0))
    t, values, end, skipped = hub.read_since(cursor)
    assert end == n and skipped == n - cap and len(t) == cap
    assert np.array_equal(np.diff(t), np.full(cap - 1, 0.01).round(12)) or np.allclose(
        np.diff(t), 0.01)
    t2, v2, end2, skipped2 = hub.read_since(end - 5)
    assert len(t2) == 5 and skipped2 == 0 and end2 == end
    assert hub.cursor_for(1.0) == n - 101  # 1 s back at 100 frames/s, both ends included


def test_hub_events_and_tare_window() -> None:
    hub = LiveHub()
    hub.configure(load_profile("sim-loadcells"))
    hub.on_frames(_block(np.full((50, 2), 20000.0), 100.0))
    since = hub.frames_since(100.1)
    assert len(since) == 40 and np.allclose(since.values, 20000.0)
    hub.on_notice(Notice(100.5, "disconnect", "cable out"))
    first = hub.add_event("marker", "hello")
    assert [e["kind"] for e in hub.events_since(0)] == ["disconnect", "marker"]
    assert hub.events_since(first["id"]) == []
    hub.on_frames(_block(np.zeros((3, 3)), 101.0))  # wrong width: counted, not stored
    assert hub.wrong_shape == 3 and hub.written == 50



def test_a_stalled_viewer_is_dropped_and_never_slows_the_bridge() -> None:
    hub = LiveHub()
    hub.configure(load_profile("sim-loadcells"))
    stalled = asyncio.Event()

    async def never_returns(text: str) -> None:
        stalled.set()
        await asyncio.Event().wait()

    async def run() -> float:
        viewer = asyncio.create_task(stream_to_viewer(never_returns, hub, dict,
                                                      send_timeout_s=0.3))
        await asyncio.wait_for(stalled.wait(), 2)
        begin = time.perf_counter()
        for i in range(200):  # the bridge keeps writing while the viewer is stuck
            hub.on_frames(_block(np.full((8, 2), float(i)), i * 0.1))
        took = time.perf_counter() - begin
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(viewer, 2)
        return took

    took = asyncio.run(run())
    assert hub.written == 1600 and took < 0.5
