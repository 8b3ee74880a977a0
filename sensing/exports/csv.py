"""``csv``: one row per frame (time, force per channel, raw values) plus a JSON sidecar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensing.exports import atomic_path, session_stem
from sensing.exports.common import force_column, raw_columns, sidecar

if TYPE_CHECKING:
    from sensing.session import Session


def export(session: Session, out_dir: Path, *, units: str = "N", strip_notes: bool = False,
           **_: Any) -> list[Path]:
    """Write ``<stem>.csv`` and ``<stem>.json`` into ``out_dir``."""
    samples = session.samples(units=units)
    raw_names, raw = raw_columns(session)
    names = ["time_s", "device_time_s"]
    names += [force_column(n, u) for n, u in zip(samples.names, samples.units, strict=True)]
    names += raw_names
    parts = [samples.time_s[:, None], samples.device_time_s[:, None], samples.values]
    if raw is not None:
        parts.append(raw)
    table = np.hstack(parts) if samples.time_s.size else np.empty((0, len(names)))
    columns = [{"name": "time_s", "unit": "s", "description": "seconds since session start"},
               {"name": "device_time_s", "unit": "s", "description": "device clock"}]
    columns += [{"name": force_column(n, u), "unit": u, "description": f"channel {n}"}
                for n, u in zip(samples.names, samples.units, strict=True)]
    columns += [{"name": n, "unit": "raw", "description": "value as the device sent it"}
                for n in raw_names]

    stem = session_stem(session)
    csv_path, json_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.json"
    with atomic_path(csv_path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(names) + "\n")
        # 9 significant digits keep every raw count of a 24-bit ADC and sub-mN force exactly.
        np.savetxt(fh, table, fmt="%.9g", delimiter=",")
    meta = sidecar(session, samples, "csv", strip_notes=strip_notes, columns=columns)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=_json_default), encoding="utf-8")
    return [csv_path, json_path]


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
