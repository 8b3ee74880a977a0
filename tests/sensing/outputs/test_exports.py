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
from sensing.metrics.measures import session_measures
from sensing.outputs.exports import FORMAT_VERSION, FORMATS, export_session
from sensing.store import read
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

T0 = 5000.0  # host monotonic time of the session start
NOTE = "tab\there, newline\nthere, back\\slash"


def record_session(store: Store, kind: str = "loadcells", *, subject: str = "P-0042",
                   n: int = 400, rate: float = 80.0, seed: int = 0,
                   started_utc: str = "2024-03-05T10:00:00.000+00:00",
                   category: str = "II", position: str = "prone") -> int:
    """A session recorded through the real Recorder from synthetic frame blocks."""
    rng = np.random.default_rng(seed)
    if kind == "loadcells":
        profile = load_profile("sim-loadcells")
        values = rng.integers(10_000, 400_000, (n, 2)).astype(np.float64)
        conversion = {"tare": {"left": 12000.0, "right": 18000.0}}
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
    host = T0 + 0.25 + np.arange(n) / rate + rng.uniform(0.0, 0.003, n)  # jittered arrivals
    flags = np.zeros(n, np.uint8)
    flags[n // 2] = FLAG_AFTER_GAP
    half = n // 2
    for a, b in ((0, half), (half, n)):
        rec.on_frames(FrameBlock.build(values[a:b], host[a:b], device_time=np.arange(a, b) / rate,
                                       seq=np.arange(a, b), flags=flags[a:b]))
    rec.add_event("placed", "left block on", {"side": "left"}, host_time=T0 + 0.5)
    rec.add_event("note", NOTE, host_time=T0 + 1.0)
    rec.on_notice(Notice(T0 + 2.0, "gap", "no data for 0.4 s",
                         {"start": T0 + 1.6, "end": T0 + 2.0}))
    rec.add_event("removed", "", host_time=T0 + 4.0)
    rec.close("complete", counters=Counters(frames=n))
    return sid


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store.open(tmp_path_factory.mktemp("store") / "sessions.sqlite3")


@pytest.fixture(scope="module")
def sessions(store: Store) -> dict[str, int]:
    return {"loadcells": record_session(store, "loadcells"),
            "mat": record_session(store, "mat", n=120, rate=30.0, seed=1)}


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
    force_rtol: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _floats(cells: list[str], missing: str) -> np.ndarray:
    return np.array([np.nan if c == missing else float(c) for c in cells])


def read_csv(files: list[Path]) -> ReadBack:
    (data,) = [f for f in files if f.suffix == ".csv"]
    (side,) = [f for f in files if f.suffix == ".json"]
    with open(data, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    meta = json.loads(side.read_text("utf-8"))
    cols = {name: _floats([r[j] for r in rows[1:]], "") for j, name in enumerate(rows[0])}
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
    events = [(float(r.onset), r.trial_type, _unescape(r.value)) for r in ev.itertuples()]
    assert side["StartTime"] == pytest.approx(cols["time_s"][0] if len(table) else 0.0)
    return ReadBack(cols, units, events, side["sotlog"], rate_hz=side["SamplingFrequency"],
                    force_rtol=1e-8)


def read_parquet(files: list[Path]) -> ReadBack:
    import pyarrow.parquet as pq

    (path,) = files
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"sotlog"])
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    units = {f.name: f.metadata[b"unit"].decode() for f in table.schema}
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


def read_c3d(files: list[Path]) -> ReadBack:
    import ezc3d

    (path,) = files
    c = ezc3d.c3d(str(path))
    p = c["parameters"]
    labels = p["ANALOG"]["LABELS"]["value"]
    analogs = c["data"]["analogs"][0]
    cols = {name: analogs[j].astype(np.float64) for j, name in enumerate(labels)}
    units = dict(zip(labels, p["ANALOG"]["UNITS"]["value"], strict=True))
    meta = json.loads("".join(p["SOTLOG"]["METADATA"]["value"]))
    ev = p["EVENT"]
    times = ev["TIMES"]["value"]
    events = list(zip((times[0] * 60 + times[1]).tolist(), ev["LABELS"]["value"],
                      ev["DESCRIPTIONS"]["value"], strict=True))
    assert set(ev["CONTEXTS"]["value"]) <= {"General"}
    assert ev["USED"]["value"][0] == len(events)
    return ReadBack(cols, units, events, meta, rate_hz=float(p["ANALOG"]["RATE"]["value"][0]),
                    exact_time=False, force_rtol=1e-6)


READERS: dict[str, Callable[[list[Path]], ReadBack]] = {
    "csv": read_csv, "bids": read_bids, "parquet": read_parquet, "hdf5": read_hdf5,
    "c3d": read_c3d,
}


@pytest.mark.parametrize("kind", ["loadcells", "mat"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_round_trip(fmt: str, kind: str, store: Store, sessions: dict[str, int],
                    tmp_path: Path) -> None:
    session = store.session(sessions[kind])
    files = export_session(session, fmt, tmp_path, units="N")
    got = READERS[fmt](files)
    info = session.info
    samples = session.samples(units="N")
    frames = session.frames()

    # Samples: times, force per channel with units, raw values, sequence and flags.
    for j, (name, unit) in enumerate(zip(samples.names, samples.units, strict=True)):
        col = f"{name}_{unit}"
        assert got.units[col] == unit
        np.testing.assert_allclose(got.columns[col], samples.values[:, j], rtol=got.force_rtol,
                                   atol=1e-3 if got.force_rtol >= 1e-6 else 0)
    if got.exact_time:
        np.testing.assert_array_equal(got.columns["time_s"], samples.time_s)
        np.testing.assert_array_equal(got.columns["device_time_s"], samples.device_time_s)
        np.testing.assert_array_equal(got.columns["seq"], frames.seq)
        np.testing.assert_array_equal(got.columns["flags"], frames.flags)
        assert got.units["time_s"] == "s"
        if kind == "loadcells":
            for j, name in enumerate(info.channel_names):
                np.testing.assert_array_equal(got.columns[f"{name}_raw"], frames.values[:, j])
    else:
        assert len(next(iter(got.columns.values()))) == info.n_frames
    if got.rate_hz is not None:
        expected = (len(samples.time_s) - 1) / (samples.time_s[-1] - samples.time_s[0])
        assert got.rate_hz == pytest.approx(expected, rel=1e-6)
    if got.frames is not None:
        np.testing.assert_array_equal(got.frames, frames.values)
    elif fmt == "hdf5":
        assert kind == "loadcells", "a mat's hdf5 export holds its raw frames"

    # Events: time, kind and text, in order.
    stored = session.events()
    assert len(got.events) == len(stored) >= 4
    for (t, k, text), ev in zip(got.events, stored, strict=True):
        assert t == pytest.approx(ev.time_s, abs=1e-4 if not got.exact_time else 0)
        assert (k, text) == (ev.kind, ev.text)

    # Metadata: version, who/what/when, calibration, profile.
    m = got.meta
    assert m["format_version"] == FORMAT_VERSION
    assert m["format"] == fmt
    s = m["session"]
    assert (s["id"], s["uuid"], s["subject_code"]) == (info.id, info.uuid, "P-0042")
    assert (s["position"], s["category"], s["short_leg"]) == ("prone", "II", "left")
    assert s["blocks"][0] == {"side": "left", "landmark": "iliac_crest", "angle_deg": 30.0,
                              "channel": "left"}
    assert s["started_utc"] == info.started_utc
    assert m["calibration"] == info.conversion
    assert m["profile"]["toml"] == info.profile.source
    assert m["frames"] == info.n_frames

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
