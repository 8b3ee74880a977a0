"""``parquet``: one file per session: a row per frame, with units per column and the sidecar
(metadata and events) as JSON in the schema's key-value metadata. Needs ``sotlog[parquet]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from sensing.outputs.exports import atomic_path, session_stem
from sensing.outputs.exports.common import prepare
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.read import Session

META_KEY = b"sotlog"  # schema metadata key holding the sidecar JSON
COMPRESSION = "zstd"


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write ``<stem>.parquet`` into ``out_dir``."""
    data = prepare(session, "parquet", **options)
    fields, arrays = [], []
    for c in data.columns:
        arr = pa.array(c.values)
        fields.append(pa.field(c.name, arr.type, nullable=False,
                               metadata={b"unit": c.unit.encode(),
                                         b"description": c.description.encode()}))
        arrays.append(arr)
    schema = pa.schema(fields, metadata={META_KEY: dumps(data.meta).encode(),
                                         b"format_version": data.meta["format_version"].encode()})
    table = pa.Table.from_arrays(arrays, schema=schema)
    path = out_dir / f"{session_stem(session)}.parquet"
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=COMPRESSION)
    return [path]
