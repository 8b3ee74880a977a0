"""``sotlog record --lsl``: an LSL inlet on this machine receives exactly the stored forces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sensing.store.sessions import Store
from sensing.vocabulary import DETECTED_EVENT_KINDS
from tests.sensing.outputs.test_lsl import _inlet, _pull  # also keeps LSL discovery on this machine

pylsl = pytest.importorskip("pylsl")

SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=4&speed=4"


def test_record_lsl_publishes_the_recorded_forces(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "record", "--port", SIM, "--profile",
         "sim-loadcells", "--duration", "6", "--lsl", "--lsl-wait", "20", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        inlet = _inlet(f"sotlog:{SIM}")
        markers = _inlet(f"sotlog:{SIM}/events")
        info = inlet.info()
        assert info.channel_count() == 2 and info.nominal_srate() == 80
        uuid = info.desc().child("acquisition").child_value("session_uuid")
        got, stamps = _pull(inlet, 400)
        texts: list[str] = []  # the start, detected events (source sotlog), the stop
        deadline = time.monotonic() + 60
        while not any(" stopped: " in t for t in texts) and time.monotonic() < deadline:
            texts += [x[0] for x in _pull(markers, 1)[0]]
    finally:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(got) >= 400 and np.all(np.diff(stamps) >= 0)
    session = Store.open(store).session(int(out.strip()))
    assert session.info.uuid == uuid
    detected = {f"{e.kind}: {e.text}" for e in session.events() if e.source == "sotlog"
                and e.kind in DETECTED_EVENT_KINDS}
    assert detected <= set(texts)
    kept = [t for t in texts if t not in detected]
    assert [kept[0], kept[2]] == [
        f"marker: session {session.id} started (uuid {uuid})",
        f"marker: session {session.id} stopped: the duration (6 s) ended"]
    assert json.loads(kept[1].removeprefix("session: "))["t0_host"] == session.info.t0_host
    stored = session.samples(units="N").values
    # The stream runs from the device's opening (the inlet subscribed before the start, as
    # --lsl-wait asked): from the session's first frame on, it is the session, bit for bit.
    start = int(np.flatnonzero((got == stored[0]).all(axis=1))[0])
    n = min(len(got) - start, len(stored))
    assert n > 200
    np.testing.assert_array_equal(got[start:start + n], stored[:n])
