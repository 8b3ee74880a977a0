"""A pressure mat live and in replay: block regions found as a stored session finds them, values
named as the session's channels, the heat map with regions and centre of pressure."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dashboard.web.live import LiveHub
from dashboard.web.livemat import MatLive
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.mat.regions import block_channels
from tests.dashboard.web.test_api import META, batches_until

MAT = "sim://mat?rows=32&cols=32&rate=30&seed=1&speed=5"


def two_blocks(n: int, left: float = 1000.0, right: float = 600.0) -> np.ndarray:
    frames = np.zeros((n, 32, 32), np.uint16)
    frames[:, 20:28, 2:10] = left  # low columns are the patient's left on sim-mat
    frames[:, 20:28, 20:28] = right
    return frames


def test_regions_are_found_on_the_mean_and_name_the_blocks() -> None:
    profile = load_profile("sim-mat")
    live = MatLive(profile)
    frames = two_blocks(10)
    before = live.reduce(FrameBlock.build(frames, np.arange(10) / 30))
    assert np.isnan(before[:, :2]).all()  # loaded, but no block found yet: unknown, not 0
    assert before[0, 2] == 64 * 1000 + 64 * 600  # sim-mat is raw: the total is the sum
    regions = live.refresh(force=True)
    assert [(r.name, r.r0, r.r1, r.c0, r.c1) for r in regions] == [
        ("left", 20, 28, 2, 10), ("right", 20, 28, 20, 28)]
    after = live.reduce(FrameBlock.build(frames, 1 + np.arange(10) / 30))
    names, expected = block_channels(frames, profile.matrix, regions)
    assert names == ["left", "right", "total"]
    assert np.array_equal(after, expected)
    empty = live.reduce(FrameBlock.build(np.zeros((3, 32, 32), np.uint16), np.arange(3.0)))
    assert np.array_equal(empty, np.zeros((3, 3)))  # nothing on the mat: every block carries 0
    frame = live.frame()
    assert frame is not None
    facts, image = frame
    assert facts["total"] == 0 and facts["cop"] is None and not image.any()
    assert [r["name"] for r in facts["regions"]] == ["left", "right"]


def test_regions_follow_the_session_from_start() -> None:
    profile = load_profile("sim-mat")
    hub = LiveHub()
    hub.configure(profile)
    assert [(c.name, c.block) for c in hub.channels] == [
        ("left", "left"), ("right", "right"), ("total", None)]
    hub.on_frames(FrameBlock.build(two_blocks(30), np.arange(30) / 30))
    assert hub.mat is not None
    assert [r.name for r in hub.mat.refresh(force=True)] == ["left", "right"]
    moved = np.zeros((30, 32, 32), np.uint16)
    moved[:, 4:12, 2:30] = 900  # after Start: one footprint across both sides
    hub.start_counting(5.0)
    hub.on_frames(FrameBlock.build(moved, 5 + np.arange(30) / 30))
    _, values, cursor, _ = hub.read_since(30)
    assert np.array_equal(values[-1], [0, 0, 8 * 28 * 900])  # read by the regions of then
    assert [r.name for r in hub.mat.refresh(force=True)] == ["block"]  # from Start only
    hub.on_frames(FrameBlock.build(moved[:5], 6 + np.arange(5) / 30))
    _, values, _, _ = hub.read_since(cursor)
    # one footprint over both sides: which block carries what is not known, so not invented
    assert np.isnan(values[:, :2]).all() and (values[:, 2] == 8 * 28 * 900).all()
    assert hub.loaded_s > 0  # time on the blocks counts a mat's own total


def test_a_mat_live_and_its_stored_session_agree(make_client: Callable[..., TestClient]) -> None:
    client = make_client(port=MAT, profile="sim-mat")
    with client.websocket_connect("/api/live") as ws:
        hello = json.loads(ws.receive_text())
        assert [c["name"] for c in hello["channels"]] == ["left", "right", "total"]
        batches_until(ws, lambda b: bool(b.get("mat")) and len(b["mat"]["regions"]) == 2
                      and b["mat"]["cop"] is not None)
        meta = {**META, "blocks": [
            {"side": "left", "landmark": "iliac_crest", "channel": "left"},
            {"side": "right", "landmark": "iliac_crest", "channel": "right"}]}
        sid = client.post("/api/recording", json=meta).json()["session_id"]
        msgs = batches_until(ws, lambda b: b["session_counters"].get("frames", 0) >= 300)
    live_regions = [m["mat"]["regions"] for m in msgs if m["type"] == "batch" and m.get("mat")]
    assert client.post("/api/recording/stop").json() == {"session_id": sid,
                                                         "decoded_nothing": None}
    samples = client.get(f"/api/sessions/{sid}/samples").json()
    assert samples["names"] == [c["name"] for c in hello["channels"]]
    frame = client.get(f"/api/sessions/{sid}/mat", params={"t": 1.0}).json()
    assert (frame["rows"], frame["cols"]) == (32, 32) and 0 <= frame["time_s"] <= 1.0
    stored = [(r["name"], r["r0"], r["r1"], r["c0"], r["c1"]) for r in frame["regions"]]
    assert [r[0] for r in stored] == ["left", "right"]
    newest = [(r["name"], r["r0"], r["r1"], r["c0"], r["c1"]) for r in live_regions[-1]]
    # found on (almost) the same frames by the same rule: the same rectangles, give or take a
    # sensel at an edge where the pad's load fades out
    for (name, *box), (live_name, *live_box) in zip(stored, newest, strict=True):
        assert name == live_name and max(abs(a - b) for a, b in zip(box, live_box,
                                                                      strict=True)) <= 1
    assert client.get(f"/api/sessions/{sid}/figures").json()[-1]["kind"] == "cop"
    png = client.get(f"/api/sessions/{sid}/figures/heatmap.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


def test_a_load_cell_session_has_no_mat_frames(make_client: Callable[..., TestClient]) -> None:
    from sensing.metadata import SessionMeta

    client = make_client()
    store = client.app.state.station.store  # type: ignore[attr-defined]
    sid = store.create_session(SessionMeta(), load_profile("openscale"))
    r = client.get(f"/api/sessions/{sid}/mat")
    assert r.status_code == 400 and "load-cell session" in r.json()["detail"]
    assert [f["kind"] for f in client.get(f"/api/sessions/{sid}/figures").json()] == ["force"]
    for path, words in [(f"/api/sessions/{sid}/figures/mean.png", "needs a pressure-mat"),
                        (f"/api/sessions/{sid}/figures/force.gif", "figure type must be"),
                        (f"/api/sessions/{sid}/figures/animation.png", "figure kind must be"),
                        ("/api/sessions/999/figures/force.png", "no session 999")]:
        r = client.get(path)
        assert r.status_code in (400, 404) and words in r.json()["detail"], (path, r.text)


@pytest.mark.parametrize("ext,media", [("svg", "image/svg+xml"), ("pdf", "application/pdf")])
def test_figures_for_slides(make_client: Callable[..., TestClient], ext: str, media: str) -> None:
    from tests.dashboard.web.test_api import record

    client = make_client(simulate=True)
    sid = record(client, 0.5)
    r = client.get(f"/api/sessions/{sid}/figures/force.{ext}", params={"download": "true",
                                                                      "units": "kgf"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert f'filename="session-{sid}-force.{ext}"' in r.headers["content-disposition"]
    assert len(r.content) > 1000
