"""Both faces record the same way: ``sotlog record`` and the dashboard, same device, same inputs.

The simulated cells send the same raw number every time (no noise, no drift, nothing on the
blocks), so everything the session keeps is the same whichever face recorded it, except ids,
times and the face itself (and the reason it ended, which names how each face was stopped).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sensing.calibration.fit import Calibration, CalPoint, fit_points
from sensing.metrics.checks import session_checks
from sensing.store.calibrations import CalibrationStore
from sensing.store.read import Session
from sensing.store.sessions import Store
from tests.dashboard.conftest import ServeProcess

URL = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&noise=0&drift=0&load=const:0"
META = {"subject_code": "P-0042", "position": "prone", "category": "II", "short_leg": "left",
        "body_weight_kg": 72.0, "note": "same inputs",
        "blocks": [{"side": "left", "landmark": "iliac_crest", "angle_deg": 30.0},
                   {"side": "right", "landmark": "acetabulum"}]}
CLI_META = ["--subject", "P-0042", "--position", "prone", "--category", "II", "--short-leg",
            "left", "--body-weight", "72", "--note", "same inputs",
            "--block", "left:iliac_crest:30", "--block", "right:acetabulum"]
SECONDS = 2.0
# What may differ: when and for how long (host clock), and which ids.
TIMING = {"host_time_start", "host_time_end", "window_s", "from_s", "age_days"}


def untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def kept(session: Session) -> dict[str, Any]:
    """What a session keeps, ids, times and the face left out."""
    info = session.info
    return {
        "header": {
            "meta": info.meta.as_dict(), "profile_name": info.profile_name,
            "profile": info.profile.source, "port": info.port, "device": info.device,
            "software_version": info.software_version, "format_version": info.format_version,
            "status": info.status, "frame_shape": info.frame_shape,
            "channel_names": info.channel_names, "dtype": info.dtype,
        },
        "conversion": untimed(info.conversion),
        "events": [(e.kind, e.text, e.source, untimed(e.data)) for e in session.events()],
        "checks": [(f.check, f.channel, f.warn, f.text, untimed(f.data))
                   for f in session_checks(session)],
    }


def calibrate(path: Path, made: str) -> None:
    """The same calibration of both cells in a store, made at ``made``."""
    records = []
    for name, gain, zero in (("left", 21887.625, 12272.0), ("right", 18739.601, 18250.0)):
        points = [CalPoint(load=kg, load_n=kg * 9.80665, raw_mean=zero + gain * kg, raw_sd=5.0,
                           n=80, window_s=1.0) for kg in (0.0, 10.0, 20.0)]
        records.append(Calibration(channel=name, kind="loadcell", unit="kg", points=points,
                                   fit=fit_points(points), profile_name="sim-loadcells",
                                   by="AB", created_utc=made))
    CalibrationStore(Store.open(path)).add(records)


def test_both_faces_keep_the_same_session(tmp_path: Path,
                                          serve: Callable[..., ServeProcess]) -> None:
    cli_store = tmp_path / "cli.sqlite3"
    made = (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="milliseconds")
    for path in (cli_store, tmp_path / "sessions.sqlite3"):  # the web's store: the fixture's
        calibrate(path, made)
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "record", "--port", URL, "--profile",
         "sim-loadcells", "--duration", str(SECONDS), "--tare", *CLI_META,
         "--store", str(cli_store)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cli = Store.open(cli_store).session(int(done.stdout.strip()))

    server = serve("--port", URL, "--profile", "sim-loadcells")
    tare = server.http.post("/api/tare", json={"seconds": 1.0}, timeout=15)
    assert tare.status_code == 200, tare.text
    sid = server.http.post("/api/recording", json=META).json()["session_id"]
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:  # the dashboard records for as long as the CLI did
        time.sleep(0.1)
    assert server.http.post("/api/recording/stop").status_code == 200
    web = Store.open(server.store).session(sid)

    a, b = kept(cli), kept(web)
    for part in ("header", "conversion", "events", "checks"):
        assert a[part] == b[part], part
    assert [e[0] for e in a["events"]] == ["tare", "calibration", "calibration"]
    assert a["conversion"]["calibration"]["ids"] == [1, 2]
    assert a["conversion"]["tare"][0]["frames"] == 80  # one second at 80 Hz, either face
    assert (cli.info.face, web.info.face) == ("record", "dashboard")
    assert cli.info.n_frames > 100 and web.info.n_frames > 100
