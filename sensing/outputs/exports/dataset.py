"""Many sessions at once: each session's files plus a ``sotlog-sessions.tsv`` index, one row a
session, at the top of the export folder (beside a Parquet dataset, ignored by BIDS tools through
``.bidsignore``).

Every file is written under a temporary name and renamed when complete, and a session's files
are removed again if it fails part way, so an interrupted run (Ctrl-C) leaves only whole
sessions. The index, written last (also after an interruption), lists exactly those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_bridge.errors import ExportError
from sensing.outputs.exports import (
    FORMAT_VERSION,
    atomic_path,
    export_session,
    exporter,
    overwriting,
)
from sensing.outputs.exports.deid import DateShift, check_labels, shift_text, subject_label
from sensing.plainjson import dumps

if TYPE_CHECKING:
    from sensing.store.listing import Listed
    from sensing.store.read import SessionInfo
    from sensing.store.sessions import Store

INDEX_NAME = "sotlog-sessions.tsv"
INDEX_JSON = "sotlog-sessions.json"
BIDSIGNORE = ".bidsignore"  # tells BIDS validators the index is not part of the dataset
MISSING = "n/a"
# Column -> description, in order; documented in docs/data-format.md.
INDEX_COLUMNS = {
    "session_id": "sotlog session id",
    "uuid": "the session's unique id",
    "subject_code": "the pseudonym typed by the practitioner",
    "subject_label": "the subject code's letters and digits (BIDS label)",
    "started_utc": "session start, ISO 8601 UTC (shifted when dates_shifted is true)",
    "ended_utc": "session end, ISO 8601 UTC (shifted when dates_shifted is true)",
    "duration_s": "session time of the last frame, seconds",
    "frames": "number of frames",
    "status": "complete, interrupted or recording",
    "position": "prone or supine",
    "category": "I, II, III or other",
    "short_leg": "left, right or none",
    "profile": "device profile name",
    "format": "export format",
    "format_version": "export format version",
    "dates_shifted": "true when dates were shifted for sharing",
    "files": "the session's own files, relative to this folder, comma-separated",
}

Progress = Callable[[int, int, "Listed", list[Path]], None]


@dataclass
class DatasetResult:
    """What a dataset export wrote."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    index: Path | None = None
    total: int = 0

    @property
    def complete(self) -> bool:
        return len(self.rows) == self.total


def _row(info: SessionInfo, fmt: str, days: int, files: list[Path], out: Path) -> dict[str, Any]:
    m = info.meta
    return {
        "session_id": info.id, "uuid": info.uuid, "subject_code": m.subject_code,
        "subject_label": subject_label(m.subject_code),
        "started_utc": shift_text(info.started_utc, days),
        "ended_utc": shift_text(info.ended_utc, days) if info.ended_utc else None,
        "duration_s": info.duration_s, "frames": info.n_frames, "status": info.status,
        "position": m.position, "category": m.category, "short_leg": m.short_leg,
        "profile": info.profile_name, "format": fmt, "format_version": FORMAT_VERSION,
        "dates_shifted": "true" if days else "false",
        "files": ",".join(f.relative_to(out).as_posix() for f in files),
    }


def write_index(out: Path, rows: list[dict[str, Any]], fmt: str) -> Path:
    """Write ``sotlog-sessions.tsv`` and its column descriptions ``sotlog-sessions.json``; in a
    BIDS dataset also a ``.bidsignore`` naming them (when there is none)."""
    path = out / INDEX_NAME
    lines = ["\t".join(INDEX_COLUMNS)]
    lines += ["\t".join(MISSING if r[k] is None else str(r[k]) for k in INDEX_COLUMNS)
              for r in rows]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with atomic_path(out / INDEX_JSON) as tmp:
        described = {k: {"Description": v} for k, v in INDEX_COLUMNS.items()}
        tmp.write_text(dumps(described, indent=2), encoding="utf-8")
    if fmt == "bids" and not (out / BIDSIGNORE).exists():
        with atomic_path(out / BIDSIGNORE) as tmp:
            tmp.write_text("sotlog-sessions.*\n", encoding="utf-8")
    return path


def export_dataset(store: Store, infos: list[Listed], fmt: str, out_dir: str | Path, *,
                   units: str = "N", strip_notes: bool = False, shift: DateShift | None = None,
                   progress: Progress | None = None, overwrite: bool = False) -> DatasetResult:
    """Export ``infos`` (oldest first) in ``fmt`` into ``out_dir`` and index them.

    ``shift`` moves each subject's dates by its own whole number of days. ``progress`` is
    called after each session with ``(done, total, info, files)``.
    """
    exporter(fmt)  # an unknown or missing format fails before any file is written
    infos = sorted(infos, key=lambda i: i.id)
    if fmt == "bids":
        check_labels([i.subject_code for i in infos])
    if not str(out_dir).strip():
        raise ExportError("the output folder is empty: name one (. for this folder)")
    out = Path(out_dir)
    result = DatasetResult(out, total=len(infos))
    with overwriting(overwrite):
        _export_all(store, infos, fmt, out, result, units, strip_notes, shift, progress)
    return result


def _export_all(store: Store, infos: list[Listed], fmt: str, out: Path,
                result: DatasetResult, units: str, strip_notes: bool, shift: DateShift | None,
                progress: Progress | None) -> None:
    try:
        for info in infos:
            days = shift.days(info.subject_code) if shift else 0
            with store.session(info.id) as session:
                files = export_session(session, fmt, out, units=units, strip_notes=strip_notes,
                                       shift_days=days)
            result.files += files
            result.rows.append(_row(session.info, fmt, days, files, out))
            if progress is not None:
                progress(len(result.rows), len(infos), info, files)
    finally:
        if result.rows or result.complete:
            out.mkdir(parents=True, exist_ok=True)
            result.index = write_index(out, result.rows, fmt)
