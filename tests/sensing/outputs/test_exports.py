"""Every export format, written by sotlog and read back by an independent reader."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_bridge.frames import FLAG_AFTER_GAP, Counters, FrameBlock, Notice
from firmware_bridge.profiles import load_profile
from sensing.metadata import Block, SessionMeta
from sensing.outputs.exports import FORMAT_VERSION, FORMATS, export_session
from sensing.store import read
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

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


@dataclass
class ReadBack:
    """What an independent reader found in an export."""

    columns: dict[str, np.ndarray]
    units: dict[str, str]
    events: list[tuple[float, str, str]]
    meta: dict[str, Any]
    frames: np.ndarray | None = None
    rate_hz: float | None = None
    exact_time: bool = True
    on_grid: bool = False  # rows on the regular grid, NaN where no frame arrived
    force_rtol: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _floats(cells: list[str], missing: str) -> np.ndarray:
    return np.array([np.nan if c == missing else float(c) for c in cells])


def read_csv(files: list[Path]) -> ReadBack:
    import pandas as pd

    (data,) = [f for f in files if f.suffix == ".csv"]
    (side,) = [f for f in files if f.suffix == ".json"]
    with open(data, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    meta = json.loads(side.read_text("utf-8"))
    cols = {name: _floats([r[j] for r in rows[1:]], "") for j, name in enumerate(rows[0])}
    frame = pd.read_csv(data)  # pandas agrees with the csv module, column by column
    for name, values in cols.items():
        np.testing.assert_array_equal(frame[name].to_numpy(np.float64), values)
    units = {c["name"]: c["unit"] for c in meta["columns"]}
    events = [(e["time_s"], e["kind"], e["text"]) for e in meta["events"]]
    return ReadBack(cols, units, events, meta, force_rtol=1e-8)


def _unescape(cell: str) -> str:
    if cell == "n/a":
        return ""
    table = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}
    out, i = [], 0
    while i < len(cell):
        pair = cell[i:i + 2]
        if pair in table:
            out.append(table[pair])
            i += 2
        else:
            out.append(cell[i])
            i += 1
    return "".join(out)


def read_bids(files: list[Path]) -> ReadBack:
    import pandas as pd

    (physio,) = [f for f in files if f.name.endswith("_physio.tsv.gz")]
    assert "_task-blocking_" in physio.name
    side = json.loads(physio.with_name(physio.name.replace(".tsv.gz", ".json")).read_text())
    with gzip.open(physio, "rt") as fh:
        first = fh.readline()
    assert not first.startswith("time_s"), "BIDS physio has no header row"
    table = pd.read_csv(physio, sep="\t", header=None, names=side["Columns"], na_values=["n/a"],
                        keep_default_na=False)
    cols = {c: table[c].to_numpy(dtype=np.float64) for c in side["Columns"]}
    units = {c: side[c]["Units"] for c in side["Columns"]}
    ev_path = physio.with_name(physio.name.replace("_physio.tsv.gz", "_events.tsv"))
    ev = pd.read_csv(ev_path, sep="\t", dtype=str, keep_default_na=False)
    assert list(ev.columns[:2]) == ["onset", "duration"]
    assert all(float(d) >= 0 for d in ev.duration)
    events = [(float(r.onset), r.trial_type, _unescape(r.value)) for r in ev.itertuples()]
    assert side["PhysioType"] == "generic" and side["TaskName"] == "blocking"
    meta = side["sotlog"]
    assert side["StartTime"] == meta["grid"]["start_s"]
    return ReadBack(cols, units, events, meta, rate_hz=side["SamplingFrequency"],
                    on_grid=True, force_rtol=1e-8,
                    extra={"start_s": side["StartTime"]})


def read_parquet(files: list[Path]) -> ReadBack:
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    (path,) = files
    root = path.parents[2]  # <out>/samples
    assert path.parent.name.startswith("session=") and path.parents[1].name.startswith("subject=")
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"sotlog"])
    sid = meta["session"]["id"]
    whole = ds.dataset(root, partitioning="hive").to_table(filter=ds.field("session_id") == sid)
    assert whole.num_rows == table.num_rows
    lazy = pl.scan_parquet(root).filter(pl.col("session_id") == sid).collect()
    assert lazy.height == table.num_rows
    counted = duckdb.sql(f"SELECT count(*) FROM read_parquet('{root}/**/*.parquet', "
                         f"hive_partitioning = true) WHERE session = {sid}").fetchall()
    assert counted == [(table.num_rows,)]
    channels = [c["name"] for c in meta["channels"]]
    k = len(channels)
    cols: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    value = table.column("value").to_numpy(zero_copy_only=False).reshape(-1, k)
    raw = table.column("raw").to_numpy(zero_copy_only=False).reshape(-1, k)
    unit_list = [c["unit"] for c in meta["channels"]]
    assert table.column("channel").to_pylist()[:k] in (channels, [])
    for name in ("time_s", "device_time_s", "seq", "flags"):
        cols[name] = table.column(name).to_numpy(zero_copy_only=False)[::k] if k else np.empty(0)
        units[name] = table.schema.field(name).metadata[b"unit"].decode()
    for j, (ch, unit) in enumerate(zip(channels, unit_list, strict=True)):
        cols[f"{ch}_{unit}"] = value[:, j]
        units[f"{ch}_{unit}"] = unit
        if not np.isnan(raw[:, j]).all():
            cols[f"{ch}_raw"] = raw[:, j]
    assert table.schema.field("raw").type == "double"
    events = [(e["time_s"], e["kind"], e["text"]) for e in meta["events"]]
    return ReadBack(cols, units, events, meta)


def read_hdf5(files: list[Path]) -> ReadBack:
    import h5py

    (path,) = files
    with h5py.File(path, "r") as f:
        meta = json.loads(f.attrs["sotlog"])
        g = f["samples"]
        cols = {name: g[name][()] for name in g.attrs["columns"]}
        units = {name: g[name].attrs["unit"] for name in g.attrs["columns"]}
        e = f["events"]
        events = list(zip(e["time_s"][()].tolist(), e["kind"].asstr()[()].tolist(),
                          e["text"].asstr()[()].tolist(), strict=True))
        frames = f["frames/values"][()] if "frames" in f else None
        if frames is not None:
            assert f["frames/values"].compression == "gzip"
            assert f["frames/values"].chunks is not None
    return ReadBack(cols, units, events, meta, frames=frames)


def _c3d_package(path: Path, labels: list[str]) -> np.ndarray:
    """The analogs as the pure-Python ``c3d`` package reads them: (channels, frames)."""
    import c3d

    with open(path, "rb") as fh:
        reader = c3d.Reader(fh)
        assert [x.strip() for x in reader.analog_labels] == labels
        frames = [analog[:, 0].copy() for _, _, analog in reader.read_frames()]
    return np.array(frames, np.float64).T.reshape(len(labels), -1)


def read_c3d(files: list[Path]) -> ReadBack:
    import ezc3d

    (path,) = [f for f in files if f.suffix == ".c3d"]
    c = ezc3d.c3d(str(path))
    p = c["parameters"]
    labels = p["ANALOG"]["LABELS"]["value"]
    analogs = c["data"]["analogs"][0]
    cols = {name: analogs[j].astype(np.float64) for j, name in enumerate(labels)}
    np.testing.assert_array_equal(_c3d_package(path, labels), analogs.astype(np.float64))
    units = dict(zip(labels, p["ANALOG"]["UNITS"]["value"], strict=True))
    if "SIDECAR" in p["SOTLOG"]:
        (side,) = [f for f in files if f.name == p["SOTLOG"]["SIDECAR"]["value"][0]]
        meta = json.loads(side.read_text("utf-8"))
    else:
        meta = json.loads("".join(p["SOTLOG"]["METADATA"]["value"]))
    ev = p["EVENT"]
    times = ev["TIMES"]["value"].reshape(2, -1)
    start = float(p["SOTLOG"]["START_TIME_S"]["value"][0])
    assert start == pytest.approx(meta["grid"]["start_s"], abs=1e-6)  # a float32 parameter
    gaps = len(meta["grid"]["gaps"])
    in_group = int(ev["USED"]["value"][0]) - gaps
    labels_ev = ev["LABELS"]["value"] if int(ev["USED"]["value"][0]) else []
    descriptions = ev["DESCRIPTIONS"]["value"] if labels_ev else []
    assert (times >= 0).all(), "C3D events lie at or after the first frame"
    assert [x for x in labels_ev[in_group:]] == ["gap"] * gaps
    # Events before the first frame and those past what the EVENT group holds: sidecar only.
    kept = [e for e in meta["events"] if e["time_s"] >= start]
    assert int(p["SOTLOG"]["EVENTS_BEFORE_START"]["value"][0]) == len(meta["events"]) - len(kept)
    assert in_group + int(p["SOTLOG"]["EVENTS_IN_SIDECAR_ONLY"]["value"][0]) == len(kept)
    for (t, label, text), e in zip(
            zip((times[0] * 60 + times[1]).tolist()[:in_group], labels_ev, descriptions,
                strict=False), kept, strict=False):
        assert t + start == pytest.approx(e["time_s"], abs=1e-4)
        assert label == e["kind"]
        # As much of the text as the group holds, \uXXXX-escaped; the whole text is in meta.
        assert e["text"].encode("ascii", "backslashreplace").decode().startswith(text)
    events = [(e["time_s"], e["kind"], e["text"]) for e in meta["events"]]
    assert set(ev["CONTEXTS"]["value"] if labels_ev else []) <= {"General"}
    return ReadBack(cols, units, events, meta, rate_hz=float(p["ANALOG"]["RATE"]["value"][0]),
                    exact_time=False, on_grid=True, force_rtol=1e-6)


READERS: dict[str, Callable[[list[Path]], ReadBack]] = {
    "csv": read_csv, "bids": read_bids, "parquet": read_parquet, "hdf5": read_hdf5,
    "c3d": read_c3d,
}


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
