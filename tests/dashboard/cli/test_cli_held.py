"""A session that starts while the decoder holds part of a line: its held counters are negative
(a level's change over the session, firmware_bridge.frames.Counters), and ``sotlog show`` says
what that means rather than printing a bare negative count."""

from __future__ import annotations

import json
from pathlib import Path

from sensing.metadata import SessionMeta
from sensing.recording.service import RecordingService
from sensing.store.sessions import Store
from tests.dashboard.cli.test_cli import sotlog
from tests.ptydevice import PtyDevice
from tests.sensing.store.test_recorder import wait_for

LINES = b"time_ms,left,right\r\n1000,12000,18000\r\n1013,12010,18020\r\n1026,12020,18040\r\n"


def test_show_says_what_a_negative_held_count_means(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    service = RecordingService(Store.open(path), face="test")
    with PtyDevice() as dev:
        service.connect(dev.path, "sim-loadcells")
        bridge = service.bridge
        assert bridge is not None and bridge.wait_connected(5)
        dev.write(LINES + b"10")  # the session starts with "10" of a line held
        assert wait_for(lambda: bridge.counters.bytes == len(LINES) + 2)
        sid = service.start(SessionMeta(subject_code="P-0001"))
        dev.write(b"39,12030,18060\r\n1052,12040,18080\r\n")
        assert wait_for(lambda: bridge.counters.frames == 5)
        ended = service.stop("complete", "test")
        service.close()
    assert (ended.counters["frames"], ended.counters["held_bytes"]) == (2, -2)
    assert ended.counters["held_lines"] == 0
    text = sotlog("show", str(sid), store=path)
    assert text.returncode == 0, text.stderr
    counters = next(ln for ln in text.stdout.splitlines() if ln.startswith("  counters"))
    assert "held_bytes -2 (2 more held at the start than at the end)" in counters
    assert "held_lines 0  " in counters and "held_lines 0 (" not in counters
    shown = json.loads(sotlog("show", str(sid), "--json", store=path).stdout)
    assert shown["counters"]["held_bytes"] == -2  # the numbers stay as stored
