"""Independent readers of every export format: each reads what sotlog wrote with the field's
own tools (pandas, pyarrow, DuckDB, polars, h5py, ezc3d and the pure-Python ``c3d``)."""

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
