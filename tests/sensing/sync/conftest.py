"""Stations' stores recorded from simulated devices by `sotlog record`, for the sync tests (the
PostgreSQL server they sync to is tests/conftest.py's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed={seed}&speed=10"


def sotlog(*args: str, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`sotlog` in its own process."""
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})


def record(store: Path, seed: int, seconds: float = 3, subject: str = "") -> None:
    done = sotlog("record", "--port", SIM.format(seed=seed), "--profile", "sim-loadcells",
                  "--duration", str(seconds), "--subject", subject or f"P-{seed:04d}",
                  "--store", str(store))
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def station_stores(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three stations' stores, two sessions each, recorded at the same time."""
    folder = tmp_path_factory.mktemp("stations")
    stores = [folder / f"room{i}.sqlite3" for i in (1, 2, 3)]
    procs = [subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.sensing.sync.conftest import record; "
         "[record(__import__('pathlib').Path(sys.argv[1]), s) for s in map(int, sys.argv[2:])]",
         str(store), str(10 * i + 1), str(10 * i + 2)], env=os.environ.copy())
        for i, store in enumerate(stores, start=1)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    return stores
