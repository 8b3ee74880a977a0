"""``csv``: a row per frame (time, sequence, flags, force per channel, raw values), JSON sidecar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensing.outputs.exports import atomic_path, session_stem
from sensing.outputs.exports.common import prepare, write_table
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.read import Session


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write ``<stem>.csv`` and ``<stem>.json`` into ``out_dir``."""
    data = prepare(session, "csv", **options)
    stem = session_stem(session)
    csv_path, json_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.json"
    with atomic_path(csv_path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(c.name for c in data.columns) + "\n")
        write_table(fh, data.columns, ",", "")  # a missing value is an empty cell
    with atomic_path(json_path) as tmp:
        tmp.write_text(dumps(data.meta, indent=2), encoding="utf-8")
    return [csv_path, json_path]
