"""The ``sotlog`` command line end to end: real processes, real pseudo-terminals, real stores."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sensing.store.sessions import Store
from tests.ptydevice import PtyDevice

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
SIM = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&speed=10"


def sotlog(*args: str, store: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args, "--store", str(store)],
                          capture_output=True, text=True, timeout=timeout)


def spawn(*args: str, store: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "dashboard.cli", *args, "--store", str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_frames(store: Path, minimum: int, timeout: float = 20) -> int:
    """Frames committed so far, read through a connection of our own (as any reader would)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.exists():
            with sqlite3.connect(store) as con:
                try:
                    n = con.execute("SELECT COALESCE(SUM(count), 0) FROM chunks").fetchone()[0]
                except sqlite3.OperationalError:
                    n = 0
            if n >= minimum:
                return int(n)
        time.sleep(0.1)
    raise AssertionError(f"fewer than {minimum} frames committed after {timeout} s")


def test_record_show_plot_export_reparse(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    rec = sotlog("record", "--port", SIM, "--profile", "sim-loadcells", "--duration", "3",
                 "--subject", "P-0042", "--position", "prone", "--category", "II",
                 "--short-leg", "left", "--block", "left:iliac_crest:30",
                 "--block", "right:acetabulum", "--body-weight", "70", "--note", "demo",
                 store=store)
    assert rec.returncode == 0, rec.stderr
    sid = int(rec.stdout.strip())

    shown = json.loads(sotlog("show", str(sid), "--json", store=store).stdout)
    assert shown["status"] == "complete"
    assert shown["subject_code"] == "P-0042" and shown["category"] == "II"
    assert [b["landmark"] for b in shown["blocks"]] == ["iliac_crest", "acetabulum"]
    assert shown["blocks"][0]["angle_deg"] == 30
    names = [c["name"] for c in shown["summary"]["channels"]]
    assert names == ["left", "right"]
    # 3 s at 80 Hz x10 speed is ~2400 frames; the simulated body weighs tens of kg on the blocks.
    assert shown["frames"] > 1500
    left = shown["summary"]["channels"][0]
    assert left["unit"] == "N" and 50 < left["max"] < 600

    text = sotlog("show", "last", store=store)
    assert "P-0042" in text.stdout and "CHANNEL" in text.stdout and text.returncode == 0

    png = tmp_path / "s.png"
    assert sotlog("plot", str(sid), "-o", str(png), store=store).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    out = tmp_path / "exp"
    exp = sotlog("export", str(sid), "--format", "csv", "-o", str(out), store=store)
    assert exp.returncode == 0, exp.stderr
    with open(out / f"session-{sid}_P-0042.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == shown["frames"]
    side = json.loads((out / f"session-{sid}_P-0042.json").read_text())
    assert side["format_version"] and side["session"]["subject_code"] == "P-0042"
    assert side["counters"]["frames"] == shown["frames"]

    rep = sotlog("reparse", str(sid), store=store)
    assert rep.returncode == 0 and "identical" in rep.stdout


def test_record_real_hx711_capture_through_a_pty(tmp_path: Path) -> None:
    """The real HX711 recording, replayed on a pseudo-terminal, becomes a session value by value."""
    data = (FIXTURES / "real" / "hx711_arduino_9600_log22.csv").read_bytes()
    expected = [(float(r["Times"]), float(r["Measures"]))
                for r in csv.DictReader(data.decode().splitlines())]
    store = tmp_path / "s.sqlite3"
    with PtyDevice() as dev:
        proc = spawn("record", "--port", dev.path, "--profile", "hx711-arduino-1ch",
                     "--subject", "P-0001", store=store)
        chunks = [data[i:i + 37] for i in range(0, len(data), 37)]
        wait_for_frames(store, 0)  # the session exists once the store file does
        time.sleep(0.3)  # let the recorder open the port before the device talks
        dev.play(chunks, interval=0.002)
        assert dev.done.wait(10)
        wait_for_frames(store, len(expected) - 1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    session = Store.open(store).session(int(out.strip()))
    frames = session.frames()
    # The last line has a terminator, so every line decodes.
    assert len(frames) == len(expected)
    np.testing.assert_array_equal(frames.values[:, 0], [v for _, v in expected])
    np.testing.assert_allclose(frames.device_time, [t / 1000 for t, _ in expected])
    assert session.info.status == "complete"
    grams = session.samples(units="N").values[:, 0]
    np.testing.assert_allclose(grams, np.array([v for _, v in expected]) * 9.80665e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "--port", SIM, "--profile", "no-such-profile", "--duration", "1"],
         "unknown profile"),
        (["record", "--port", "/dev/ttyNOPE0", "--profile", "hx711-arduino", "--duration", "1"],
         "/dev/ttyNOPE0"),
        (["record", "--port", "/dev/ttyNOPE0", "--duration", "1"], "no profile given"),
        (["record", "--port", SIM, "--profile", "sim-loadcells", "--block", "left:knee"],
         "landmark"),
        (["record", "--port", SIM, "--profile", "sim-loadcells", "--subject", "Jane Doe"],
         "subject code"),
        (["show", "999"], "no session 999"),
        (["plot", "999", "-o", "x.txt"], ".png"),
        (["export", "999", "--format", "csv", "-o", "out"], "no session 999"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    res = sotlog(*args, store=tmp_path / "s.sqlite3")
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert message in lines[0]


def test_ctrl_c_is_a_clean_stop(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    proc = spawn("record", "--port", SIM, "--profile", "sim-loadcells", store=store)
    wait_for_frames(store, 200)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    info = Store.open(store).session(int(out.strip())).info
    assert info.status == "complete" and info.n_frames >= 200


def test_killed_recording_is_found_interrupted_with_its_samples(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    proc = spawn("record", "--port", SIM, "--profile", "sim-loadcells", store=store)
    committed = wait_for_frames(store, 400)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    listed = json.loads(sotlog("sessions", "--json", store=store).stdout)
    assert listed[0]["status"] == "interrupted"
    assert listed[0]["frames"] >= committed


def test_a_session_that_decoded_nothing_says_so(tmp_path: Path) -> None:
    """The load-cell simulator read with the mat profile: bytes come, no frame is made. The
    closing line, ``show`` and its JSON say so; the bytes are kept (reparse can use them)."""
    store = tmp_path / "s.sqlite3"
    rec = sotlog("record", "--port", SIM, "--profile", "sim-mat", "--duration", "1.5",
                 store=store)
    assert rec.returncode == 0, rec.stderr
    assert "decoded nothing: " in rec.stderr and "0 frames" in rec.stderr, rec.stderr
    assert "is the profile right?" in rec.stderr
    sid = rec.stdout.strip()
    text = sotlog("show", sid, store=store)
    assert text.returncode == 0, text.stderr
    assert "decoded nothing: " in text.stdout
    shown = json.loads(sotlog("show", sid, "--json", store=store).stdout)
    line = shown["decoded_nothing"]
    assert line.startswith(f"decoded nothing: {shown['counters']['bytes']:,} bytes received")
    assert shown["counters"]["undecodable_bytes"] > 0 and shown["frames"] == 0


def test_a_session_that_decoded_frames_says_nothing_of_the_kind(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    rec = sotlog("record", "--port", SIM, "--profile", "sim-loadcells", "--duration", "1",
                 store=store)
    assert rec.returncode == 0 and "decoded nothing" not in rec.stderr
    shown = json.loads(sotlog("show", "last", "--json", store=store).stdout)
    assert shown["decoded_nothing"] is None and shown["frames"] > 0


def test_a_sim_device_implies_its_profile(tmp_path: Path) -> None:
    """No --profile: sim:// says what it is. (An explicit one wins: the test above reads the
    load cells with sim-mat.)"""
    store = tmp_path / "s.sqlite3"
    url = "sim://loadcells?blocks=2&protocol=blockframe&seed=1&speed=10"
    rec = sotlog("record", "--port", url, "--duration", "1", "--json", store=store)
    assert rec.returncode == 0, rec.stderr
    shown = json.loads(sotlog("show", "last", "--json", store=store).stdout)
    assert shown["profile"] == "sim-loadcells-blockframe" and shown["frames"] > 0


def test_a_silent_device_is_a_stall_and_a_gap_in_the_session(tmp_path: Path) -> None:
    """sim:// silent for 1.5 s with its port open: the session keeps a stall and a gap event,
    and the closing line counts the stall."""
    store = tmp_path / "s.sqlite3"
    url = "sim://loadcells?blocks=2&rate=80&protocol=blockframe&pause_after=0.5&pause=1.5"
    rec = sotlog("record", "--port", url, "--profile", "sim-loadcells-blockframe",
                 "--duration", "3.5", store=store)
    assert rec.returncode == 0, rec.stderr
    assert "stalls 1" in rec.stderr, rec.stderr
    shown = json.loads(sotlog("show", "last", "--json", store=store).stdout)
    kinds = [e["kind"] for e in shown["events"]]
    assert "stall" in kinds and "gap" in kinds
    gap = next(e for e in shown["events"] if e["kind"] == "gap")
    assert 1.3 <= gap["data"]["duration_s"] <= 1.9
    assert shown["counters"]["stalls"] == 1


def test_ports_name_each_devices_identity() -> None:
    """The columns a lost port is matched by (VID:PID, serial) are shown for every port."""
    def ports(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dashboard.cli", "ports", *extra],
                              capture_output=True, text=True, timeout=60)

    text = ports()
    assert text.returncode == 0, text.stderr
    assert text.stdout.split("\n")[0].split() == ["PORT", "VID:PID", "SERIAL", "PROFILE",
                                                  "DESCRIPTION"]
    listed = json.loads(ports("--json").stdout)
    assert all({"vid_pid", "serial_number"} <= set(p) for p in listed)
    assert any(p["profile"] == "sim-mat" for p in listed)
