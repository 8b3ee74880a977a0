"""``parquet``: a Hive-partitioned dataset, one file per session, one schema for every session.

``<out>/samples/subject=<label>/session=<id>/part-0.parquet`` holds the session in long form: a
row per frame and channel (``SCHEMA``), so sessions of any device share the columns and
DuckDB (``read_parquet('<out>/samples/**/*.parquet', hive_partitioning = true)``), polars
(``scan_parquet``) and ``pyarrow.dataset`` read the folder with no options. The sidecar
(metadata and events) is JSON in each file's schema metadata. Needs ``sotlog[parquet]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sensing.outputs.exports import atomic_path
from sensing.outputs.exports.common import ExportData, prepare
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.read import Session

META_KEY = b"sotlog"  # schema metadata key holding the sidecar JSON
COMPRESSION = "zstd"
DATASET_DIR = "samples"
# Column -> (type, unit, description); documented in docs/data-format.md.
COLUMNS: dict[str, tuple[pa.DataType, str, str]] = {
    "session_id": (pa.int64(), "1", "sotlog session id"),
    "frame": (pa.int64(), "1", "the frame's index in the session, from 0"),
    "time_s": (pa.float64(), "s", "seconds since the session start (host monotonic clock)"),
    "device_time_s": (pa.float64(), "s", "device clock; null when the device sends none"),
    "seq": (pa.int64(), "1", "device sequence number, -1 when the protocol has none"),
    "flags": (pa.uint8(), "1", "1 = a value outside the raw range, 2 = first frame after a gap"),
    "channel": (pa.string(), "", "load cell channel, or a mat's block region or total"),
    "value": (pa.float64(), "", "the channel's value in the row's unit"),
    "unit": (pa.string(), "", "unit of value: N, kgf or lbf, or the channel's own unit"),
    "raw": (pa.float64(), "raw", "load cells: the number the device sent; null for a mat"),
}
SCHEMA = pa.schema([pa.field(name, kind, metadata={b"unit": unit.encode(),
                                                   b"description": text.encode()})
                    for name, (kind, unit, text) in COLUMNS.items()])


def dataset_path(out_dir: Path, label: str, session_id: int) -> Path:
    """Where a session's file goes in the dataset under ``out_dir``."""
    return out_dir / DATASET_DIR / f"subject={label}" / f"session={session_id}" / "part-0.parquet"


def long_table(data: ExportData) -> pa.Table:
    """The session as rows of (frame, channel), in frame order (``SCHEMA``)."""
    n = int(data.samples.time_s.size)
    forces = data.force_columns
    k = len(forces)
    by_name = {c.name: c for c in data.columns}
    raws = [by_name.get(f"{ch}_raw") or by_name.get(f"{ch}_device_raw")
            for ch in data.session.info.channel_names] if not data.session.info.is_matrix else []
    frame = np.repeat(np.arange(n, dtype=np.int64), k)

    def per_frame(name: str) -> np.ndarray:
        return np.repeat(by_name[name].values, k)

    values = np.column_stack([c.values for c in forces]).ravel() if k else np.empty(0)
    if raws and len(raws) == k and all(r is not None for r in raws):
        raw = pa.array(np.column_stack([r.values for r in raws if r is not None])
                       .astype(np.float64).ravel(), pa.float64(), from_pandas=True)
    else:
        raw = pa.nulls(n * k, pa.float64())
    names = data.samples.names
    arrays = [
        pa.array(np.full(n * k, data.session.info.id, np.int64)),
        pa.array(frame),
        pa.array(per_frame("time_s"), pa.float64()),
        pa.array(per_frame("device_time_s"), pa.float64(), from_pandas=True),
        pa.array(per_frame("seq").astype(np.int64)),
        pa.array(per_frame("flags").astype(np.uint8)),
        pa.array(np.tile(np.array(names, dtype=object), n), pa.string()),
        pa.array(values, pa.float64(), from_pandas=True),
        pa.array(np.tile(np.array(data.samples.units, dtype=object), n), pa.string()),
        raw,
    ]
    meta = {META_KEY: dumps(data.meta).encode(),
            b"format_version": data.meta["format_version"].encode()}
    return pa.Table.from_arrays(arrays, schema=SCHEMA.with_metadata(meta))


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write the session's file into the dataset under ``out_dir``."""
    data = prepare(session, "parquet", **options)
    path = dataset_path(out_dir, data.meta["session"]["subject_label"], session.info.id)
    with atomic_path(path) as tmp:
        pq.write_table(long_table(data), tmp, compression=COMPRESSION)
    return [path]
