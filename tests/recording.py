"""Record a simulated device into a store through the bridge, as `sotlog record` does."""

from __future__ import annotations

from firmware_bridge.bridge import Bridge
from firmware_bridge.frames import FrameBlock
from firmware_bridge.profiles import load_profile
from sensing.calibration.capture import FrameTap
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder


def record_frames(store: Store, url: str, profile_name: str, frames: int,
                  meta: SessionMeta | None = None) -> tuple[int, list[FrameBlock]]:
    """At least ``frames`` frames of the device at ``url``, recorded into a new session of
    ``store`` through a real bridge and recorder; the session's id and the blocks it was sent."""
    profile = load_profile(profile_name)
    sid = store.create_session(meta or SessionMeta(), profile, port=url)
    rec = Recorder(store, sid)
    tap = FrameTap()
    bridge = Bridge(url, profile)
    bridge.add_listener(rec)
    bridge.add_listener(tap)
    bridge.start()
    got: list[FrameBlock] = []
    try:
        while sum(len(b) for b in got) < frames:
            block = tap.get(5.0)
            assert block is not None, "the simulator stopped sending"
            got.append(block)
    finally:
        bridge.stop()
        rec.close(counters=bridge.counters)
    assert rec.error is None
    return sid, got
