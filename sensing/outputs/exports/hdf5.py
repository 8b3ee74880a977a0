"""``hdf5``: one file per session: samples, events, the sidecar as JSON, and a mat's raw frames
(chunked, compressed). Needs ``sotlog[hdf5]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from sensing.outputs.exports import atomic_path, session_stem
from sensing.outputs.exports.common import prepare
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.read import Session

FRAMES_PER_CHUNK = 64  # ~300 KB chunks for a 48x48 uint16 mat: one read per second of data
GZIP_LEVEL = 4


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write ``<stem>.h5`` into ``out_dir``."""
    data = prepare(session, "hdf5", **options)
    path = out_dir / f"{session_stem(session)}.h5"
    text = h5py.string_dtype("utf-8")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = "hdf5"
        f.attrs["format_version"] = data.meta["format_version"]
        f.attrs["sotlog"] = dumps(data.meta, indent=2)
        samples = f.create_group("samples")
        samples.attrs["columns"] = [c.name for c in data.columns]
        for c in data.columns:
            ds = samples.create_dataset(c.name, data=c.values)
            ds.attrs["unit"] = c.unit
            ds.attrs["description"] = c.description
        events = f.create_group("events")
        evs = data.events
        events.create_dataset("time_s", data=np.array([e["time_s"] for e in evs], np.float64))
        for key in ("kind", "text", "source", "created_utc"):
            events.create_dataset(key, data=[e[key] for e in evs], dtype=text)
        events.create_dataset("data_json", data=[dumps(e["data"]) for e in evs],
                              dtype=text)
        if session.info.is_matrix:
            _write_frames(f.create_group("frames"), session, len(data.frames))
    return [path]


def _write_frames(group: Any, session: Session, n: int) -> None:
    """The mat's ``n`` frames (those the samples hold), written window by window."""
    shape = session.info.frame_shape
    ds = group.create_dataset(
        "values", shape=(n, *shape), dtype=np.dtype(session.info.dtype or np.float64),
        chunks=(min(FRAMES_PER_CHUNK, max(1, n)), *shape), maxshape=(None, *shape),
        compression="gzip", compression_opts=GZIP_LEVEL, shuffle=True)
    at = 0
    for block in session.frame_windows():
        if at == n:  # frames stored since the samples were read (a session still recording)
            break
        values = block.values[: n - at]
        ds[at:at + len(values)] = values
        at += len(values)
    ds.attrs["unit"] = "raw"
    ds.attrs["description"] = ("every frame as the device sent it (n, rows, cols); "
                               "row i has time samples/time_s[i]")
