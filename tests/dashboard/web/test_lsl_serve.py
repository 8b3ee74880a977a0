"""``sotlog serve --lsl``: the open device's forces and the person's events on Lab Streaming
Layer, read back by a real LSL inlet on this machine."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dashboard.web.app import create_app
from dashboard.web.settings import Settings, SettingsError
from tests.dashboard.web.test_api import META

pylsl = pytest.importorskip("pylsl")
WAIT_S = 10.0


def test_forces_and_events_reach_an_inlet(make_client: Callable[..., TestClient]) -> None:
    client = make_client(simulate=True, lsl=True)
    source = client.get("/api/status").json()["lsl"]["source_id"]
    (force,) = pylsl.resolve_byprop("source_id", source, timeout=WAIT_S)
    (marks,) = pylsl.resolve_byprop("source_id", f"{source}/events", timeout=WAIT_S)
    assert force.channel_count() == 2 and force.type() == "Force"
    samples, markers = pylsl.StreamInlet(force), pylsl.StreamInlet(marks)
    samples.open_stream(timeout=WAIT_S)
    markers.open_stream(timeout=WAIT_S)
    acq = samples.info(timeout=WAIT_S).desc().child("acquisition")
    assert acq.child_value("session_face") == "dashboard"
    sid = client.post("/api/recording", json=META).json()["session_id"]
    uuid = client.get(f"/api/sessions/{sid}").json()["uuid"]
    assert client.post("/api/events", json={"kind": "marker", "text": "settled"}).is_success
    got: list[Any] = []
    texts: list[str] = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and not (len(got) > 40 and "marker: settled" in texts):
        chunk, _ = samples.pull_chunk(timeout=0.2)
        got.extend(chunk)
        mark, _ = markers.pull_sample(timeout=0.05)
        if mark:
            texts.append(mark[0])
    client.post("/api/recording/stop")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and not any("stopped" in x for x in texts):
        mark, _ = markers.pull_sample(timeout=0.1)
        if mark:
            texts.append(mark[0])
    assert len(got) > 40 and all(len(row) == 2 for row in got)
    assert f"marker: session {sid} started (uuid {uuid})" in texts and "marker: settled" in texts
    assert f"marker: session {sid} stopped: stopped from the dashboard" in texts
    assert client.get("/api/status").json()["lsl"]["error"] is None


def test_without_pylsl_serve_refuses_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                 store_path: Any) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pylsl" else real(name, *a))
    with pytest.raises(SettingsError, match=r"--lsl needs pylsl .* pip install 'sotlog\[lsl\]'"):
        create_app(Settings(simulate=True, lsl=True, store=str(store_path)))
