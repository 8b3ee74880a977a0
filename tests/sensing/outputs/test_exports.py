"""Every export format, written by sotlog and read back by an independent reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.frames import FLAG_AFTER_GAP, Counters, FrameBlock, Notice
from firmware_bridge.profiles import load_profile
from sensing.metadata import Block, SessionMeta
from sensing.metrics.measures import session_measures
from sensing.outputs.exports import FORMAT_VERSION, FORMATS, export_session
from sensing.store import read
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from tests.sensing.outputs.readers import READERS, ReadBack

__all__ = ["NOTE", "READERS", "record_session"]

T0 = 5000.0  # host monotonic time of the session start
NOTE = "tab\there, newline\nthere, back\\slash"
UNICODE_NOTE = "Patientin lag ruhig, Keil über dem Becken; 骨盆 — naïve “quotes”"


def record_session(store: Store, kind: str = "loadcells", *, subject: str = "P-0042",
                   n: int = 400, rate: float = 80.0, seed: int = 0,
                   started_utc: str = "2024-03-05T10:00:00.000+00:00",
                   category: str = "II", position: str = "prone", gap_s: float = 0.0,
                   notes: int = 0, tare_before: bool = False) -> int:
    """A session recorded through the real Recorder from synthetic frame blocks.

    ``gap_s`` leaves that many seconds with no frame in the middle (device and host clocks
    both jump); ``notes`` adds that many notes with non-ASCII text; ``tare_before`` adds a
    tare event before the first frame.
    """
    rng = np.random.default_rng(seed)
    if kind in ("loadcells", "single"):
        profile = load_profile("sim-loadcells" if kind == "loadcells" else "hx711-arduino-1ch")
        k = 2 if kind == "loadcells" else 1
        values = rng.integers(10_000, 400_000, (n, k)).astype(np.float64)
        conversion = {"tare": {"left": 12000.0, "right": 18000.0}} if k == 2 else {}
    else:
        profile = load_profile("sim-mat")
        values = rng.integers(0, 4096, (n, 32, 32)).astype(np.uint16)
        conversion = {}
    meta = SessionMeta(subject_code=subject, position=position, category=category,
                       short_leg="left",
                       blocks=[Block(side="left", landmark="iliac_crest", angle_deg=30.0,
                                     channel="left"),
                               Block(side="right", landmark="acetabulum", channel="right")],
                       body_weight_kg=70.0, note="private words")
    sid = store.create_session(meta, profile, port="sim://synthetic", device="synthetic",
                               t0_host=T0, started_utc=started_utc, conversion=conversion)
    rec = Recorder(store, sid)
    half = n // 2
    ticks = np.arange(n) / rate + np.where(np.arange(n) >= half, gap_s, 0.0)
    host = T0 + 0.25 + ticks + rng.uniform(0.0, 0.003, n)  # jittered arrivals
    flags = np.zeros(n, np.uint8)
    flags[half] = FLAG_AFTER_GAP
    for a, b in ((0, half), (half, n)):
        rec.on_frames(FrameBlock.build(values[a:b], host[a:b], device_time=ticks[a:b],
                                       seq=np.arange(a, b), flags=flags[a:b]))
    if tare_before:
        rec.add_event("tare", "zeroed before the start", host_time=T0 - 3.0)
    rec.add_event("placed", "left block on", {"side": "left"}, host_time=T0 + 0.5)
    rec.add_event("note", NOTE, host_time=T0 + 1.0)
    rec.on_notice(Notice(T0 + 2.0, "gap", "no data for 0.4 s",
                         {"start": T0 + 1.6, "end": T0 + 2.0}))
    for i in range(notes):
        rec.add_event("note", f"{i}: {UNICODE_NOTE}", host_time=T0 + 0.3 + i * 0.01)
    rec.add_event("removed", "", host_time=T0 + 4.0)
    rec.close("complete", counters=Counters(frames=n))
    return sid


# The sessions every format is tried on (issue 13): built once for the module.
KINDS: dict[str, dict[str, Any]] = {
    "loadcells": {},
    "mat": {"kind": "mat", "n": 120, "rate": 30.0, "seed": 1},
    "notes": {"notes": 300, "tare_before": True, "seed": 2},
    "long": {"n": 70_000, "seed": 3},
    "gap": {"n": 800, "gap_s": 1.5, "seed": 4},
    "single": {"kind": "single", "n": 300, "rate": 10.5, "seed": 5},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store.open(tmp_path_factory.mktemp("store") / "sessions.sqlite3")


@pytest.fixture(scope="module")
def sessions(store: Store) -> dict[str, int]:
    return {name: record_session(store, **options) for name, options in KINDS.items()}


def _check_grid(got: ReadBack, samples: Any, force: str) -> np.ndarray:
    """The rows of a one-rate format: the grid the sidecar describes, frames on their rows."""
    g = got.meta["grid"]
    present = ~np.isnan(got.columns[force])
    assert present.size == g["rows"] and int((~present).sum()) == g["empty_rows"]
    assert got.rate_hz == pytest.approx(g["rate_hz"])
    rows = np.flatnonzero(present)
    assert rows.size == samples.time_s.size
    if rows.size > 1:
        # Row k lies at start + k / rate: within one period of each frame's real arrival.
        placed = g["start_s"] + rows / got.rate_hz
        assert np.abs(placed - samples.time_s).max() < 1.0 / got.rate_hz
    return present


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip(fmt: str, kind: str, store: Store, sessions: dict[str, int],
                    tmp_path: Path) -> None:
    session = store.session(sessions[kind])
    files = export_session(session, fmt, tmp_path, units="N")
    got = READERS[fmt](files)
    info = session.info
    samples = session.samples(units="N")
    frames = session.frames()
    first = f"{samples.names[0]}_{samples.units[0]}"
    present = _check_grid(got, samples, first) if got.on_grid else slice(None)

    # Samples: times, force per channel with units, raw values, sequence and flags.
    for j, (name, unit) in enumerate(zip(samples.names, samples.units, strict=True)):
        col = f"{name}_{unit}"
        assert got.units[col] == unit
        np.testing.assert_allclose(got.columns[col][present], samples.values[:, j],
                                   rtol=got.force_rtol,
                                   atol=1e-3 if got.force_rtol >= 1e-6 else 0)
    if got.exact_time:
        np.testing.assert_array_equal(got.columns["time_s"][present], samples.time_s)
        np.testing.assert_array_equal(got.columns["device_time_s"][present],
                                      samples.device_time_s)
        np.testing.assert_array_equal(got.columns["seq"][present], frames.seq)
        np.testing.assert_array_equal(got.columns["flags"][present], frames.flags)
        assert got.units["time_s"] == "s"
        if not info.is_matrix:
            for j, name in enumerate(info.channel_names):
                np.testing.assert_array_equal(got.columns[f"{name}_raw"][present],
                                              frames.values[:, j])
    if got.frames is not None:
        np.testing.assert_array_equal(got.frames, frames.values)
    elif fmt == "hdf5":
        assert not info.is_matrix, "a mat's hdf5 export holds its raw frames"

    # Events: time, kind and text, in order.
    stored = session.events()
    assert len(got.events) == len(stored) >= 4
    for (t, k, text), ev in zip(got.events, stored, strict=True):
        assert t == pytest.approx(ev.time_s, abs=0)
        assert (k, text) == (ev.kind, ev.text)

    # Metadata: version, who/what/when, calibration, profile, time anchor, regions.
    m = got.meta
    assert m["format_version"] == FORMAT_VERSION
    assert m["format"] == fmt
    s = m["session"]
    assert (s["id"], s["uuid"], s["subject_code"]) == (info.id, info.uuid, "P-0042")
    assert s["t0_host"] == info.t0_host and s["started_utc"] == info.started_utc
    assert (s["position"], s["category"], s["short_leg"]) == ("prone", "II", "left")
    assert s["blocks"][0] == {"side": "left", "landmark": "iliac_crest", "angle_deg": 30.0,
                              "channel": "left"}
    assert m["calibration"] == info.conversion
    assert m["profile"]["toml"] == info.profile.source
    assert m["frames"] == info.n_frames
    if info.is_matrix:
        regions = m["mat_regions"]
        assert [r["name"] for r in regions] == [r.name for r in session.mat_regions()]
        assert {r["source"] for r in regions} <= {"auto", "auto_split", "person"}
    else:
        assert m["mat_regions"] is None

    # The descriptive measures (docs/metrics.md), between the placed and removed events.
    measured = session_measures(session, "N", samples)
    assert [w["key"] for w in m["measures"]["windows"]] == ["session", "on_blocks"]
    assert m["measures"]["windows"][1]["spans"] == [[pytest.approx(0.5), pytest.approx(4.0)]]
    names = {x["name"] for x in m["measures"]["measures"]}
    assert {"mean", "force-time integral", "symmetry index"} <= names
    assert ("contact area" in names) == (kind == "mat")
    for mine, theirs in zip(measured.measures, m["measures"]["measures"], strict=True):
        assert (theirs["name"], theirs["unit"], theirs["window"], theirs["formula"]) == (
            mine.name, mine.unit, mine.window, mine.formula)
        assert theirs["value"] == (None if mine.value is None else pytest.approx(mine.value))


def test_every_format_has_a_reader() -> None:
    assert set(READERS) == set(FORMATS)


@pytest.mark.parametrize("profile", ["sim-loadcells", "sim-mat"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_session_without_frames_or_events_exports(fmt: str, profile: str, store: Store,
                                                    tmp_path: Path) -> None:
    sid = store.create_session(SessionMeta(), load_profile(profile), t0_host=T0)
    Recorder(store, sid).close()
    got = READERS[fmt](export_session(store.session(sid), fmt, tmp_path))
    assert all(len(v) == 0 for v in got.columns.values())
    assert got.events == []
    assert got.meta["frames"] == 0 and got.meta["session"]["subject_label"] == "unknown"
    assert got.meta["rate_source"] == "nominal"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_mat_read_in_many_windows_exports_the_same(fmt: str, store: Store,
                                                     sessions: dict[str, int], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Exports read a mat's frames window by window (flat memory): seven frames a window
    write exactly what one window does."""
    session = store.session(sessions["mat"])
    whole = READERS[fmt](export_session(session, fmt, tmp_path / "whole"))
    shape = session.info.frame_shape
    monkeypatch.setattr(read, "WINDOW_BYTES", 7 * 8 * int(np.prod(shape)))
    assert read.window_frames(shape) == 7 and session.info.n_frames > 3 * 7
    parts = READERS[fmt](export_session(session, fmt, tmp_path / "parts"))
    assert whole.columns.keys() == parts.columns.keys()
    for name, values in whole.columns.items():
        np.testing.assert_array_equal(parts.columns[name], values)
    if fmt == "hdf5":
        assert parts.frames is not None
        np.testing.assert_array_equal(parts.frames, session.frames().values)
    assert parts.events == whole.events


def test_c3d_holds_its_limits_in_the_sidecar_it_names(store: Store, sessions: dict[str, int],
                                                      tmp_path: Path) -> None:
    """300 notes: the EVENT group keeps 255 (one byte per dimension), the sidecar goes beside
    the file and is named in it; the tare before the first frame is counted, not at minute -1;
    the parameter section fits the 255 blocks its one-byte length allows."""
    import ezc3d

    export_session(store.session(sessions["notes"]), "csv", tmp_path)  # its .json is apart
    files = export_session(store.session(sessions["notes"]), "c3d", tmp_path)
    path = next(f for f in files if f.suffix == ".c3d")
    head = path.read_bytes()[:512]
    section = path.read_bytes()[(head[0] - 1) * 512:][:4]
    data_start = int.from_bytes(head[16:18], "little")
    assert section[2] == data_start - head[0] <= 255
    p = ezc3d.c3d(str(path))["parameters"]
    assert p["SOTLOG"]["SIDECAR"]["value"] == [f"{path.name}.json"]
    assert (tmp_path / f"{path.name}.json").exists()
    stored = store.session(sessions["notes"]).events()
    assert int(p["EVENT"]["USED"]["value"][0]) == 255
    assert int(p["SOTLOG"]["EVENTS_BEFORE_START"]["value"][0]) == 1
    assert int(p["SOTLOG"]["EVENTS_IN_SIDECAR_ONLY"]["value"][0]) == len(stored) - 1 - 255
    assert "tare" not in p["EVENT"]["LABELS"]["value"]


def test_c3d_past_65535_frames_and_across_a_gap(store: Store, sessions: dict[str, int],
                                                tmp_path: Path) -> None:
    import c3d
    import ezc3d

    long = next(f for f in export_session(store.session(sessions["long"]), "c3d",
                                          tmp_path / "long") if f.suffix == ".c3d")
    p = ezc3d.c3d(str(long))["parameters"]
    low, high = (int(w) & 0xFFFF for w in p["TRIAL"]["ACTUAL_END_FIELD"]["value"])
    assert low + (high << 16) == 70_000
    with open(long, "rb") as fh:
        assert c3d.Reader(fh).frame_count == 70_000

    gap = next(f for f in export_session(store.session(sessions["gap"]), "c3d",
                                         tmp_path / "gap") if f.suffix == ".c3d")
    c = ezc3d.c3d(str(gap))
    values = c["data"]["analogs"][0, 0]
    rate = float(c["parameters"]["ANALOG"]["RATE"]["value"][0])
    empty = np.flatnonzero(np.isnan(values))
    assert 119 <= empty.size <= 121 and np.all(np.diff(empty) == 1)  # 1.5 s at 80 Hz
    ev = c["parameters"]["EVENT"]
    times = ev["TIMES"]["value"].reshape(2, -1)
    at = [60 * m + s for m, s, label, text in zip(times[0], times[1], ev["LABELS"]["value"],
                                                  ev["DESCRIPTIONS"]["value"], strict=True)
          if label == "gap" and text.startswith("no frame arrived")]
    assert len(at) == 1 and at[0] == pytest.approx(empty[0] / rate, abs=1e-4)
