"""``sotlog reparse`` and ``sotlog import`` flush the decoder where the stream was cut, so the
last run of garbage and the line or frame a cut left are counted (docs/wire.md). Recording and
import are a station's; the reparse runs on its store and on the shared store it syncs into (the
``backend`` fixture)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from firmware_bridge.profiles import load_profile
from firmware_bridge.protocols.blockframe import encode_frame
from sensing.metadata import SessionMeta
from sensing.recording.service import RecordingService
from sensing.store.importer import import_file
from sensing.store.reparse import reparse
from sensing.store.sessions import Store
from tests.ptydevice import PtyDevice, plug
from tests.sensing.store.backend import Backend
from tests.sensing.store.test_recorder import wait_for

GARBAGE = bytes(range(32, 127)) * 3  # text: no blockframe sync marker in it
BYTE_COUNTS = ("bytes", "frames", "decoded_bytes", "undecodable_bytes", "cut_bytes")


def frames(first: int, n: int) -> bytes:
    return b"".join(encode_frame(np.array([s, -s], np.int32), s, s * 12_500)
                    for s in range(first, first + n))


def test_reparse_counts_the_garbage_at_the_end_and_the_frame_a_reconnect_cut(
        tmp_path: Path, backend: Backend) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    service = RecordingService(store, face="test")
    link = tmp_path / "ttyACM0"
    dev1 = PtyDevice()
    os.symlink(dev1.path, link)
    service.connect(str(link), "sotlog-loadcells")
    bridge = service.bridge
    assert bridge is not None and bridge.wait_connected(5)
    dev1.write(frames(0, 3))
    assert wait_for(lambda: bridge.counters.frames == 3)
    sid = service.start(SessionMeta())
    dev1.write(frames(3, 5) + frames(8, 1)[:20])  # the last frame cut by the unplug
    assert wait_for(lambda: bridge.counters.bytes == 3 * 40 + 5 * 40 + 20)
    dev1.close()
    assert wait_for(lambda: bridge.state == "disconnected")
    with PtyDevice() as dev2:
        plug(link, dev2)
        assert wait_for(lambda: bridge.counters.reconnects == 1 and bridge.state == "connected")
        dev2.write(frames(20, 5) + GARBAGE)
        assert wait_for(lambda: bridge.counters.undecodable_bytes == len(GARBAGE))
        ended = service.stop("complete", "test")
        service.close()
    stored = ended.counters
    assert (stored["frames"], stored["cut_bytes"], stored["undecodable"]) == (10, 20, 0)
    assert stored["undecodable_bytes"] == len(GARBAGE)  # counted as skipped, the run not ended
    again = reparse(backend.store(store).session(sid))
    assert again.identical, again.detail
    c = again.counters
    assert (c["frames"], c["cut_bytes"], c["undecodable"]) == (10, 20, 1)  # the run, flushed
    assert {k: c[k] for k in BYTE_COUNTS} == {k: stored[k] for k in BYTE_COUNTS}
    assert c["bytes"] == c["decoded_bytes"] + c["undecodable_bytes"] + c["cut_bytes"]
    assert c["held_bytes"] == 0


def test_import_counts_the_garbage_at_the_end_of_a_file(tmp_path: Path,
                                                        backend: Backend) -> None:
    local = Store.open(tmp_path / "s.sqlite3")
    path = tmp_path / "capture.bin"
    path.write_bytes(frames(0, 10) + GARBAGE)
    result = import_file(local, path, load_profile("sotlog-loadcells"), SessionMeta())
    s = backend.store(local).session(result.session_id)
    c = s.info.counters
    assert (c["frames"], c["undecodable"], c["undecodable_bytes"]) == (10, 1, len(GARBAGE))
    assert c["decoded_bytes"] == 400 and c["cut_bytes"] == c["held_bytes"] == 0
    run = [e for e in s.events() if e.kind == "undecodable"]
    assert len(run) == 1 and run[0].data["bytes"] == len(GARBAGE)
    assert not [e for e in s.events() if e.kind == "warning"]  # garbage is no cut frame
    again = reparse(s)
    assert again.identical and {k: again.counters[k] for k in BYTE_COUNTS} == {
        k: c[k] for k in BYTE_COUNTS}
    assert again.counters["undecodable"] == 1
