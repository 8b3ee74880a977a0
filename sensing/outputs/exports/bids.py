"""``bids``: a BIDS physiological recording of the ``blocking`` task, with its events.

Files, under ``sub-<label>/ses-<id>/beh/``: ``sub-<label>_ses-<id>_task-blocking_physio.tsv.gz``
(no header row, as BIDS physio requires; columns named in the sidecar), ``..._physio.json``,
``..._events.tsv`` and ``..._events.json``. The rows lie on one regular grid (module grid):
a row where no frame arrived is ``n/a``. The dataset's own files (description, README,
participants, each subject's sessions) are kept up to date by sensing.outputs.exports.bidsfiles.
The label is the subject code's letters and digits (sensing.outputs.exports.deid).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_bridge.errors import ExportError
from sensing.outputs.exports import atomic_path
from sensing.outputs.exports.bidsfiles import (
    MISSING,
    TASK,
    TASK_DESCRIPTION,
    escape,
    update_dataset,
)
from sensing.outputs.exports.common import ExportData, grid_meta, on_grid, prepare, write_table
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.read import Session

EVENT_COLUMNS = {
    "onset": ("s", "session seconds (time_s) of the event; negative before the first frame"),
    "duration": ("s", "0 for an event that is a point in time; for a gap, how long no data came"),
    "trial_type": ("", "event kind: placed, removed, tare, note, marker, gap, ..."),
    "value": ("", "the event's free text; backslash, tab, CR and newline written as \\\\, "
                  "\\t, \\r, \\n"),
    "source": ("", "who made the event: person, device or sotlog"),
    "data": ("", "the event's data as compact JSON, n/a when empty"),
}


def paths(session: Session, out_dir: Path, label: str) -> dict[str, Path]:
    """Where each file of a session goes."""
    ses = f"ses-{session.info.id}"
    folder = out_dir / f"sub-{label}" / ses / "beh"
    stem = f"sub-{label}_{ses}_task-{TASK}"
    return {"physio": folder / f"{stem}_physio.tsv.gz",
            "physio_json": folder / f"{stem}_physio.json",
            "events": folder / f"{stem}_events.tsv",
            "events_json": folder / f"{stem}_events.json"}


def _physio_sidecar(data: ExportData) -> dict[str, Any]:
    g = data.grid
    out: dict[str, Any] = {
        "TaskName": TASK,
        "TaskDescription": TASK_DESCRIPTION,
        "PhysioType": "generic",
        "SamplingFrequency": g.rate_hz,
        "StartTime": g.start_s,
        "Columns": [c.name for c in data.columns],
        "Manufacturer": data.meta["device"]["description"] or "n/a",
        "ManufacturersModelName": data.meta["profile"]["name"],
        "SoftwareVersions": data.meta["software"],
        "RecordingDuration": g.n_rows / g.rate_hz if g.rate_hz else 0.0,
    }
    for c in data.columns:
        out[c.name] = {"Units": c.unit, "Description": c.description}
    out["SamplingFrequencyNote"] = (
        "the device's own rate within stretches without a gap (rate_source "
        f"{g.rate_source!r}); row k is at StartTime + k / SamplingFrequency; a row where no frame "
        "arrived is n/a (never interpolated); time_s keeps each frame's real arrival time")
    out["sotlog"] = data.meta | {"grid": grid_meta(g)}
    return out


def _duration(ev: dict[str, Any]) -> float:
    span = ev["data"] if isinstance(ev["data"], dict) else {}
    start, end = span.get("start"), span.get("end")
    if ev["kind"] == "gap" and isinstance(start, int | float) and isinstance(end, int | float):
        return max(0.0, float(end) - float(start))
    return 0.0


def _events_tsv(data: ExportData) -> str:
    lines = ["\t".join(EVENT_COLUMNS)]
    for ev in data.events:
        payload = dumps(ev["data"]) if ev["data"] else MISSING
        lines.append("\t".join((repr(float(ev["time_s"])), repr(_duration(ev)),
                                escape(ev["kind"]), escape(ev["text"]), escape(ev["source"]),
                                escape(payload))))
    return "\n".join(lines) + "\n"


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write the session's physio and events files, then bring the dataset's files up to date."""
    data = prepare(session, "bids", **options)
    if data.grid.rate_hz is None:
        raise ExportError(f"session {session.info.id}: BIDS physio needs a sampling rate, and "
                          "this session has fewer than two frames and its profile no nominal rate")
    where = paths(session, out_dir, data.meta["session"]["subject_label"])
    with atomic_path(where["physio"]) as tmp, open(tmp, "wb") as raw_fh, \
            gzip.GzipFile(fileobj=raw_fh, mode="wb", filename="", mtime=0,
                          compresslevel=6) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
        write_table(fh, on_grid(data), "\t", MISSING)
    with atomic_path(where["physio_json"]) as tmp:
        tmp.write_text(dumps(_physio_sidecar(data), indent=2), encoding="utf-8")
    with atomic_path(where["events"]) as tmp:
        tmp.write_text(_events_tsv(data), encoding="utf-8")
    # Column descriptions only: npm bids-validator 1.x refuses any other key here (TaskName is
    # in the physio sidecar; docs/data-format.md explains the deno validator's warning).
    described = {name: ({"Units": unit} if unit else {}) | {"Description": text}
                 for name, (unit, text) in EVENT_COLUMNS.items()}
    with atomic_path(where["events_json"]) as tmp:
        tmp.write_text(dumps(described, indent=2), encoding="utf-8")
    return list(where.values()) + update_dataset(out_dir, data.meta)
