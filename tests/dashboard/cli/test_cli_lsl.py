"""``sotlog record --lsl``: an LSL inlet on this machine receives exactly the stored forces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sensing.store.sessions import Store
from tests.sensing.outputs.test_lsl import _inlet, _pull  # also keeps LSL discovery on this machine

pylsl = pytest.importorskip("pylsl")

SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=4&speed=4"


def test_record_lsl_publishes_the_recorded_forces(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "record", "--port", SIM, "--profile",
         "sim-loadcells", "--duration", "6", "--lsl", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        inlet = _inlet(f"sotlog:{SIM}")
        info = inlet.info()
        assert info.channel_count() == 2 and info.nominal_srate() == 80
        got, stamps = _pull(inlet, 400)
    finally:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(got) >= 400 and np.all(np.diff(stamps) >= 0)
    stored = Store.open(store).session(int(out.strip())).samples(units="N").values
    # The inlet joins a little after the start: what it got is one unbroken run of the session.
    start = int(np.flatnonzero((stored == got[0]).all(axis=1))[0])
    np.testing.assert_array_equal(got, stored[start:start + len(got)])
