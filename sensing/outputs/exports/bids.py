"""``bids``: a BIDS-style physiological recording with its JSON sidecar and an events table.

Files, under ``sub-<label>/ses-<id>/beh/``: ``sub-<label>_ses-<id>_physio.tsv.gz`` (no header
row, as BIDS physio requires; columns named in the sidecar), ``..._physio.json``,
``..._events.tsv`` and ``..._events.json``; plus ``dataset_description.json`` at the top when
there is none yet. The label is the subject code's letters and digits
(sensing.outputs.exports.deid).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensing.outputs.exports import FORMAT_VERSION, atomic_path
from sensing.outputs.exports.common import ExportData, prepare, write_table
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.read import Session

BIDS_VERSION = "1.9.0"
MISSING = "n/a"
EVENT_COLUMNS = {
    "onset": ("s", "session seconds (time_s) of the event"),
    "duration": ("s", "always n/a: every sotlog event is a point in time"),
    "trial_type": ("", "event kind: placed, removed, tare, note, marker, gap, ..."),
    "value": ("", "the event's free text; backslash, tab, CR and newline written as \\\\, "
                  "\\t, \\r, \\n"),
    "source": ("", "who made the event: person, device or sotlog"),
    "data": ("", "the event's data as compact JSON, n/a when empty"),
}
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def paths(session: Session, out_dir: Path, label: str) -> dict[str, Path]:
    """Where each file of a session goes."""
    ses = f"ses-{session.info.id}"
    folder = out_dir / f"sub-{label}" / ses / "beh"
    stem = f"sub-{label}_{ses}"
    return {"physio": folder / f"{stem}_physio.tsv.gz",
            "physio_json": folder / f"{stem}_physio.json",
            "events": folder / f"{stem}_events.tsv",
            "events_json": folder / f"{stem}_events.json"}


def escape(text: str) -> str:
    """Free text made safe for one TSV cell; an empty text is n/a."""
    return text.translate(_ESCAPES) if text else MISSING


def _physio_sidecar(data: ExportData) -> dict[str, Any]:
    first = float(data.samples.time_s[0]) if data.samples.time_s.size else 0.0
    out: dict[str, Any] = {
        "SamplingFrequency": data.rate_hz,
        "StartTime": first,
        "Columns": [c.name for c in data.columns],
    }
    for c in data.columns:
        out[c.name] = {"Units": c.unit, "Description": c.description}
    out["SoftwareVersions"] = data.meta["software"]
    out["SamplingFrequencyNote"] = (
        f"{data.rate_source.replace('_', ' ')} rate; rows are frames as they arrived, not "
        "resampled: the exact time of each row is in column time_s")
    out["sotlog"] = data.meta
    return out


def _events_tsv(data: ExportData) -> str:
    lines = ["\t".join(EVENT_COLUMNS)]
    for ev in data.events:
        payload = dumps(ev["data"]) if ev["data"] else MISSING
        lines.append("\t".join((repr(float(ev["time_s"])), MISSING, escape(ev["kind"]),
                                escape(ev["text"]), escape(ev["source"]), escape(payload))))
    return "\n".join(lines) + "\n"


def _dataset_description() -> dict[str, Any]:
    return {"Name": "sotlog sessions", "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
            "GeneratedBy": [{"Name": "sotlog", "Description": f"export format {FORMAT_VERSION}"}]}


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write the session's physio and events files (and the dataset description if missing)."""
    data = prepare(session, "bids", **options)
    where = paths(session, out_dir, data.meta["session"]["subject_label"])
    with atomic_path(where["physio"]) as tmp, open(tmp, "wb") as raw_fh, \
            gzip.GzipFile(fileobj=raw_fh, mode="wb", filename="", mtime=0,
                          compresslevel=6) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
        write_table(fh, data.columns, "\t", MISSING)
    with atomic_path(where["physio_json"]) as tmp:
        tmp.write_text(dumps(_physio_sidecar(data), indent=2), encoding="utf-8")
    with atomic_path(where["events"]) as tmp:
        tmp.write_text(_events_tsv(data), encoding="utf-8")
    described = {name: ({"Units": unit} if unit else {}) | {"Description": text}
                 for name, (unit, text) in EVENT_COLUMNS.items()}
    with atomic_path(where["events_json"]) as tmp:
        tmp.write_text(dumps(described, indent=2), encoding="utf-8")
    files = list(where.values())
    description = out_dir / "dataset_description.json"
    if not description.exists():
        with atomic_path(description) as tmp:
            tmp.write_text(dumps(_dataset_description(), indent=2), encoding="utf-8")
        files.append(description)
    return files
