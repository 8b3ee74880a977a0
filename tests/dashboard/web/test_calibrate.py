"""Calibrating from the dashboard: the calibration module's procedures driven over the API, with a
rig on a pseudo-terminal (a person places each weight) and the simulator (loads on their own)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.sim import loadcell_model
from tests.dashboard.rig import GAINS, NOISE, OFFSETS, WeightRig
from tests.dashboard.web.test_api import META, batches_until

G = 9.80665
WAIT_S = 20.0
STEPS = ("sim://loadcells?blocks=2&rate=80&protocol=lines&seed=7&speed=20&drift=0"
         "&load=steps:0,5,10,20&hold=20&noise=60")
RUN = {"weights": [0, 10, 20], "unit": "kg", "window_s": 0.3, "timeout_s": 20, "by": "T"}


def run_until(client: TestClient, done: Callable[[dict[str, Any]], bool],
              timeout: float = WAIT_S) -> dict[str, Any]:
    """Poll the run (as the page does) until ``done(run)``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = client.get("/api/calibration").json()
        if done(run):
            return run
        if run.get("state") in ("failed", "cancelled"):
            raise AssertionError(f"calibration ended {run['state']}: {run.get('error')}")
        time.sleep(0.05)
    raise AssertionError(f"calibration not there in {timeout} s: {run}")


def asking(run: dict[str, Any]) -> bool:
    return bool(run.get("asking"))


def test_a_person_places_each_weight_and_saves_the_fit(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    with WeightRig() as rig:
        r = client.put("/api/connection", json={"url": rig.path, "profile": "sotlog-loadcells"})
        assert r.status_code == 200, r.text
        assert client.get("/api/status").json()["calibration"] is None
        r = client.post("/api/calibration", json=RUN)
        assert r.status_code == 201, r.text
        placed = []
        for step in range(6):  # each channel in turn, each weight in turn
            run = run_until(client, lambda r, n=step: r.get("asking") and len(r["steps"]) == n + 1)
            prompt = run["steps"][-1]["prompt"]
            kg = RUN["weights"][step % 3]
            channel = ("left", "right")[step // 3]
            assert f"channel {channel}" in prompt and (
                f"place {kg:g} kg" in prompt if kg else "take every weight off" in prompt), prompt
            assert run["steps"][-1]["state"] == "waiting"
            rig.place(kg)
            placed.append(kg)
            r = client.post("/api/calibration/placed")
            assert r.status_code == 200 and r.json()["steps"][-1]["state"] in ("settling",
                                                                              "settled")
            assert client.post("/api/calibration/placed").status_code == 400  # not asking now
        run = run_until(client, lambda r: r["state"] == "fitted")
    assert [s["state"] for s in run["steps"]] == ["settled"] * 6
    assert all(" ± " in s["settled"][0] for s in run["steps"])
    records = {r["channel"]: r for r in run["records"]}
    se = NOISE / np.sqrt(0.3 * 80)  # one point's mean wanders this much
    for j, name in enumerate(("left", "right")):
        fit = records[name]["fit"]
        assert [p["load"] for p in records[name]["points"]] == [0, 10, 20]
        assert abs(fit["zero_raw"] - OFFSETS[j]) < 6 * se
        assert G / fit["coef"][1] == pytest.approx(GAINS[j], rel=6 * se / (20 * GAINS[j]))
        assert fit["nonlinearity_pct_fs"] < 0.05 and len(fit["residuals_n"]) == 3

    assert client.get("/api/calibrations").json() == []  # nothing stored before Save
    ids = client.post("/api/calibration/save").json()["ids"]
    assert len(ids) == 2
    assert client.post("/api/calibration/save").status_code == 409  # saved once
    stored = client.get("/api/calibrations", params={"profile": "sotlog-loadcells"}).json()
    assert sorted(c["id"] for c in stored) == sorted(ids)
    assert client.get(f"/api/calibrations/{ids[0]}").json()["channel"] == "left"
    assert client.get("/api/calibrations/999").status_code == 404
    status = client.get("/api/status").json()
    assert sorted(status["calibration"]["ids"]) == sorted(ids)


def test_the_saved_calibration_reads_live_and_goes_with_the_next_session(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    with WeightRig(seed=5) as rig:
        client.put("/api/connection", json={"url": rig.path, "profile": "sotlog-loadcells"})
        client.post("/api/calibration", json={**RUN, "channels": ["left"]})
        for kg in RUN["weights"]:
            run_until(client, asking)
            rig.place(kg)
            client.post("/api/calibration/placed")
        run_until(client, lambda r: r["state"] == "fitted")
        (cal_id,) = client.post("/api/calibration/save").json()["ids"]
        rig.place(15.0)
        with client.websocket_connect("/api/live") as ws:
            hello = json.loads(ws.receive_text())
            assert [c["unit"] for c in hello["channels"]] == ["N", "counts"]  # left calibrated
            got: list[float] = []
            batches_until(ws, lambda b: got.extend(v for v in b["values"]["left"]
                                                   if v is not None) or len(got) > 80)
        assert np.median(got[-40:]) == pytest.approx(15.0 * G, abs=0.05 * G)
        meta = {**META, "blocks": [{"side": "left", "landmark": "ilium", "channel": "left"}]}
        sid = client.post("/api/recording", json=meta).json()["session_id"]
        with client.websocket_connect("/api/live") as ws:
            batches_until(ws, lambda b: b["session_counters"].get("frames", 0) >= 40)
        client.post("/api/recording/stop")
    conversion = client.get(f"/api/sessions/{sid}").json()["conversion"]
    assert conversion["calibration"]["ids"] == [cal_id]
    left = client.get(f"/api/sessions/{sid}/samples").json()["values"]["left"]
    assert np.median(left) == pytest.approx(15.0 * G, abs=0.05 * G)


def test_loads_that_arrive_on_their_own(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    # the simulator's steps begin when it is opened: start the run at once
    client.put("/api/connection", json={"url": STEPS, "profile": "sim-loadcells"})
    r = client.post("/api/calibration", json={"weights": [0, 5, 10, 20], "scripted": True})
    assert r.status_code == 201, r.text
    run = run_until(client, lambda r: r["state"] == "fitted", timeout=30)
    assert not run["asking"] and len(run["steps"]) == 4
    assert all(len(s["settled"]) == 2 for s in run["steps"])  # both channels at each load
    model = loadcell_model(STEPS)
    for j, rec in enumerate(run["records"]):
        assert abs(rec["fit"]["zero_raw"] - model.offset[j]) < 100
        assert G / rec["fit"]["coef"][1] == pytest.approx(model.gain[j], rel=0.01)
    client.delete("/api/calibration")  # discard: nothing stored
    assert client.get("/api/calibration").json()["state"] == "cancelled"
    assert client.get("/api/calibrations").json() == []


def test_cancel_while_waiting_and_refusals(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    cases = [({}, 409, "no device is open")]
    r = client.post("/api/calibration", json={})
    assert r.status_code == cases[0][1] and cases[0][2] in r.json()["detail"]
    assert client.post("/api/calibration/placed").status_code == 409
    assert client.get("/api/calibration").json() == {"state": "none"}
    with WeightRig() as rig:
        client.put("/api/connection", json={"url": rig.path, "profile": "sotlog-loadcells"})
        for body, status, words in [
            ({"unit": "stone"}, 400, "unknown load unit"),
            ({"fit": "cubic"}, 400, "fit must be one of"),
            ({"weights": [5, 5]}, 400, "at least 2 different"),
            ({"mode": "equilibrate"}, 400, "mode must be cells"),
            ({"channels": ["middle"]}, 400, "no channel middle"),
            ({"window_s": 0}, 422, "window_s"),
            ({"colour": "red"}, 422, "Extra inputs"),
        ]:
            r = client.post("/api/calibration", json=body)
            assert r.status_code == status and words in r.json()["detail"], (body, r.text)
        client.post("/api/calibration", json=RUN)
        run_until(client, asking)
        r = client.post("/api/calibration", json=RUN)
        assert r.status_code == 409 and "already running" in r.json()["detail"]
        r = client.post("/api/recording", json=META)
        assert r.status_code == 409 and "calibration is running" in r.json()["detail"]
        assert client.delete("/api/calibration").status_code == 204
        run = client.get("/api/calibration").json()
        assert run["state"] == "cancelled" and "nothing stored" in run["error"]
        assert client.post("/api/calibration/save").status_code == 409
    client.put("/api/connection", json={"url": "sim://mat?rows=32&cols=32", "profile": "sim-mat"})
    r = client.post("/api/calibration", json={})
    assert r.status_code == 400 and "mode must be equilibrate or total" in r.json()["detail"]
    assert client.get("/api/calibrations").json() == []


CAL_VALUES = st.one_of(st.none(), st.text(max_size=12), st.integers(-5, 5),
                       st.floats(allow_nan=True), st.booleans(),
                       st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=3)),
                                max_size=4))
CAL_BODIES = st.dictionaries(st.sampled_from(["mode", "channels", "weights", "unit", "fit",
                                              "scripted", "window_s", "settle_sd", "timeout_s",
                                              "by", "note", "other"]), CAL_VALUES, max_size=5)


def test_no_calibration_request_is_a_500(make_client: Callable[..., TestClient]) -> None:
    client = make_client()

    @settings(max_examples=80, deadline=None)
    @given(body=CAL_BODIES)
    def start(body: dict[str, Any]) -> None:
        r = client.post("/api/calibration", content=json.dumps(body, allow_nan=True),
                        headers={"content-type": "application/json"})
        assert r.status_code in (400, 409, 422), r.text
        assert r.json()["detail"]

    start()
