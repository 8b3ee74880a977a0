"""Odd inputs get one line, never a traceback or a 500: huge ids, ports out of range, oversized
bodies and event data, an empty output folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

HUGE = "99999999999999999999"  # above 2**63: SQLite cannot hold it


def sotlog(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args, "--store", str(store)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [["show", HUGE], ["show", "0"], ["undo", "1", "--edit", HUGE],
                                  ["serve", "--http-port", "70000"],
                                  ["export", "1", "--format", "csv", "-o", ""]])
def test_the_command_line_says_one_line(args: list[str], tmp_path: Path) -> None:
    done = sotlog(*args, store=tmp_path / "s.sqlite3")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert lines[-1].startswith(("sotlog: error:", "sotlog ")) and len(lines[-1]) < 300


def test_the_api_says_one_line(make_client: Callable[..., TestClient]) -> None:
    client = make_client(simulate=True)
    for path in (f"/api/sessions/{HUGE}", f"/api/sessions/{HUGE}/samples", "/api/sessions/0",
                 f"/api/sessions/1/edits/{HUGE}/undo", f"/api/calibrations/{HUGE}"):
        method = client.post if path.endswith("/undo") else client.get
        r = method(path)
        assert r.status_code == 422, (path, r.status_code)
        assert isinstance(r.json()["detail"], str) and "\n" not in r.json()["detail"]
    assert client.post("/api/recording", json={"subject_code": "P-0042"}).status_code == 201
    big = {"kind": "marker", "text": "x", "data": {"blob": "y" * 5000}}
    r = client.post("/api/events", json=big)
    assert r.status_code == 400 and "at most 4096 bytes" in r.json()["detail"]
    r = client.post("/api/events", json={"kind": "marker", "text": "x" * 501})
    assert r.status_code == 422 and "text" in r.json()["detail"]
    r = client.post("/api/events", json={"kind": "placed", "time_s": 1e300})
    assert r.status_code == 422
    r = client.post("/api/events", content=b"{" + b" " * (2 << 20) + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "at most" in r.json()["detail"]
    assert client.post("/api/events", json={"kind": "placed"}).status_code == 201
