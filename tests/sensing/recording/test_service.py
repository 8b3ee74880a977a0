"""The recording service on a simulated device and a real store: refused and forced tares, a tare
that applies from its moment (stored, undone, and streamed on LSL bit for bit), late marks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.errors import MetadataError, StateError, TareRefused
from sensing.calibration.conversion import Conversion, zero_segments
from sensing.metadata import SessionMeta
from sensing.recording.service import RecordingService
from sensing.store.sessions import Store
from sensing.vocabulary import DETECTED_EVENT_KINDS
from tests.sensing.outputs.test_lsl import _inlet, _pull, loopback_lsl

loopback_lsl()

SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed={seed}&load={load}{more}"
META = SessionMeta(subject_code="P-0042", position="prone", category="II",
                   blocks=[{"side": "left", "landmark": "iliac_crest", "channel": "left"}])
WAIT_S = 10.0


def url(seed: int = 1, load: str = "const:0", more: str = "") -> str:
    return SIM.format(seed=seed, load=load, more=more)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "s.sqlite3")


@pytest.fixture
def service(store: Store) -> Iterator[RecordingService]:
    svc = RecordingService(store, face="test")
    yield svc
    svc.close("test ended")


def wait_frames(svc: RecordingService, n: int) -> None:
    """Until the recording has stored ``n`` frames (bounded)."""
    rec = svc.recording
    assert rec is not None
    deadline = time.monotonic() + WAIT_S
    while rec.recorder.frames_written < n:
        assert time.monotonic() < deadline, "frames did not arrive"
        time.sleep(0.05)


def test_a_tare_on_loaded_blocks_is_refused_then_taken_anyway(
        service: RecordingService, store: Store) -> None:
    service.connect(url(load="const:40"), "sim-loadcells")
    with pytest.raises(TareRefused, match=r"left looks loaded: \+39\d N from the profile's zero"):
        service.tare(0.5)
    assert service.pending_tare is None  # a refused tare changes nothing
    tare = service.tare(0.5, force=True)
    assert tare["forced"] and {p["problem"] for p in tare["problems"]} == {"loaded"}
    sid = service.start(META)
    wait_frames(service, 20)
    service.stop(reason="test")
    session = store.session(sid)
    (zero,) = zero_segments(session.info.conversion)
    assert zero["forced"] and zero["from_s"] is None
    (event,) = [e for e in session.events() if e.kind == "tare"]
    assert event.data["forced"] and "taken anyway" in event.text and event.time_s < 0
    assert np.allclose(session.samples().values, 0.0, atol=1.0)  # zeroed on the load


def test_a_tare_during_a_recording_applies_from_its_moment(
        service: RecordingService, store: Store) -> None:
    """seed=3 reads a few newtons off the profile's seed=1 zero; no noise or drift, so every
    sample is the same raw number and each zero shows plainly."""
    service.connect(url(seed=3, more="&noise=0&drift=0"), "sim-loadcells")
    sid = service.start(META)
    wait_frames(service, 40)
    tare = service.tare(0.25)
    wait_frames(service, service.recording.recorder.frames_written + 40)  # type: ignore[union-attr]
    ended = service.stop(reason="test")
    assert ended.status == "complete" and ended.reason == "test"
    session = store.session(sid)
    smp = session.samples()
    before = smp.time_s < tare["from_s"]
    assert before.sum() >= 40 and (~before).sum() >= 40
    offset = smp.values[0]
    assert np.abs(offset).max() > 0.5  # the profile's zero is not this seed's
    np.testing.assert_array_equal(smp.values[before], np.tile(offset, (before.sum(), 1)))
    np.testing.assert_array_equal(smp.values[~before], 0.0)
    (edit,) = session.edits()
    assert edit.field == "conversion" and edit.reason.startswith("tare at ")
    # Undo puts the zero the samples after the tare had back: all read as before.
    store.undo_edit(sid, edit.id)
    undone = store.session(sid)
    np.testing.assert_array_equal(undone.samples().values, np.tile(offset, (len(smp.time_s), 1)))
    assert [e.undone_by for e in undone.edits()][0] == undone.edits()[1].id


def test_lsl_streams_exactly_the_stored_forces_across_a_mid_stream_tare(store: Store) -> None:
    service = RecordingService(store, face="test", lsl_stream=True)
    try:
        service.connect(url(seed=5, load="session", more="&speed=2"), "sim-loadcells",
                        one_session=True)
        outlet = service.outlet
        assert outlet is not None
        inlet = _inlet(outlet.source_id)
        markers = _inlet(f"{outlet.source_id}/events")
        assert outlet._outlet.wait_for_consumers(WAIT_S)
        assert outlet._markers.wait_for_consumers(WAIT_S)
        acq = inlet.info(timeout=WAIT_S).desc().child("acquisition")
        uuid = acq.child_value("session_uuid")
        sid = service.start(META)
        got, stamps = _pull(inlet, 400)
        service.tare(0.25, force=True)  # a body on the blocks: taken anyway, from now on
        more, more_stamps = _pull(inlet, 240)
        service.mark("placed", "left block")
        ended = service.stop(reason="test")
        # the forced tare reads the body as gone: detection may mark that too (source sotlog)
        found = [e for e in store.session(sid).events()
                 if e.source == "sotlog" and e.kind in DETECTED_EVENT_KINDS]
        texts, _ = _pull(markers, 5 + len(found))
    finally:
        service.close()
    got, stamps = np.concatenate([got, more]), np.concatenate([stamps, more_stamps])
    info = store.session(sid).info
    assert info.uuid == uuid  # the stream named the session beforehand
    stored = store.session(sid).samples(units="N")
    tare_at = next(e for e in store.session(sid).events() if e.kind == "tare").data["from_s"]
    # The stream ran before the start too; the session's frames are those at its host times.
    lsl_time_s = stamps - outlet.clock_offset - info.t0_host
    first = int(np.argmin(np.abs(lsl_time_s - stored.time_s[0])))
    assert abs(lsl_time_s[first] - stored.time_s[0]) < 1e-6 and first > 0
    n = min(len(got) - first, len(stored.time_s))
    np.testing.assert_array_equal(got[first:first + n], stored.values[:n])  # bit for bit
    np.testing.assert_allclose(lsl_time_s[first:first + n], stored.time_s[:n], atol=1e-6)
    t = stored.time_s[:n]
    assert (t < tare_at).sum() > 100 and (t >= tare_at).sum() > 100
    detected = {f"{e.kind}: {e.text}" for e in found}
    assert detected <= {x[0] for x in texts}  # detected events are LSL markers as well
    texts = [x[0] for x in texts if x[0] not in detected]
    assert texts[0] == f"marker: session {sid} started (uuid {uuid})"
    anchor = json.loads(texts[1].removeprefix("session: "))  # what lines exports up with XDF
    assert anchor == {"uuid": uuid, "t0_host": info.t0_host, "started_utc": info.started_utc}
    assert texts[2].startswith("tare: ") and "taken anyway" in texts[2]
    assert texts[3:] == ["placed: left block", f"marker: session {sid} stopped: test"]
    assert ended.frames == len(stored.time_s)


def test_marks_are_checked_and_reach_a_session_that_has_ended(
        service: RecordingService, store: Store) -> None:
    service.connect(url(), "sim-loadcells")
    with pytest.raises(StateError, match="press Start first"):
        service.mark("placed")
    sid = service.start(META)
    with pytest.raises(MetadataError, match="a marker needs some text"):
        service.mark("marker", "  ")
    with pytest.raises(MetadataError, match="event kind must be one of"):
        service.mark("sneezed")
    placed = service.mark("placed", "left block")
    assert placed["id"] and placed["time_s"] >= 0
    service.stop(reason="test")
    late = service.mark("removed", "", session_id=sid, time_s=3.5)
    kinds: dict[str, Any] = {e.kind: e for e in store.session(sid).events()}
    assert kinds["removed"].time_s == pytest.approx(3.5) and kinds["removed"].id == late["id"]
    assert kinds["removed"].data["sent_after_the_recording"] is True
    with pytest.raises(MetadataError, match="needs its time_s"):
        service.mark("removed", session_id=sid)


def test_a_mid_session_calibration_change_is_refused(service: RecordingService) -> None:
    service.connect(url(), "sim-loadcells")
    service.start(META)
    with pytest.raises(StateError, match="stop the recording"):
        service.connect(url(), "sim-loadcells")
    ended = service.close("closed by the test")
    assert ended is not None and (ended.status, ended.reason) == ("interrupted",
                                                                  "closed by the test")


def test_conversion_of_the_stored_session_matches_the_live_one(
        service: RecordingService, store: Store) -> None:
    service.connect(url(seed=2, more="&noise=0&drift=0"), "sim-loadcells")
    service.tare(0.25)
    sid = service.start(META)
    wait_frames(service, 20)
    live = service.live
    assert live is not None
    block = store.session(sid).frames()
    names, values, _ = live.forces(block)
    info = store.session(sid).info
    stored = Conversion.from_profile(info.profile, info.conversion, info.t0_host).apply(
        block.values, "N", block.host_time)[0]
    np.testing.assert_array_equal(values, stored)
    assert names == ["left", "right"]


def test_each_session_counts_exactly_the_frames_it_stored(service: RecordingService) -> None:
    """Start and stop land anywhere in the device's stream (mid-read, mid-decode): each
    session's counters still count exactly the frames it kept, and every byte it was handed."""
    service.connect(url(more="&speed=50"), "sim-loadcells")
    assert service.bridge is not None and service.bridge.wait_connected(WAIT_S)
    ended = []
    for k in range(25):
        service.start(META)
        time.sleep(0.002 * (k % 7))
        ended.append(service.stop())
    for end in ended:
        assert end.counters["frames"] == end.frames, end.session_id
        assert end.counters["bytes"] <= end.raw_bytes, end.session_id
