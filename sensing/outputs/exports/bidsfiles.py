"""The files a BIDS dataset has once, kept up to date as sessions are exported into it.

``dataset_description.json``, ``README`` and ``participants.json`` are written when missing;
``participants.tsv`` and each subject's ``sub-<label>/sub-<label>_sessions.tsv`` (with its
``.json``) gain or update the row of the session just exported, keeping every other row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sensing.outputs.exports import FORMAT_VERSION, atomic_path, overwriting
from sensing.plainjson import dumps

BIDS_VERSION = "1.10.0"
TASK = "blocking"
TASK_DESCRIPTION = ("The subject lies prone or supine on two padded wedges (blocks) placed "
                    "under the pelvis; the force under each block is recorded.")
MISSING = "n/a"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

PARTICIPANT_COLUMNS = {
    "participant_id": "sub-<label>: the subject code's letters and digits",
}
# Column -> description of each subject's sessions file; documented in docs/data-format.md.
SESSION_COLUMNS = {
    "session_id": "ses-<id>: the sotlog session id",
    "acq_time": "session start, UTC (moved by whole days when the export shifted dates)",
    "sotlog_uuid": "the sotlog session's unique id",
    "duration_s": "session time of the last frame, seconds",
    "position": "prone or supine",
    "category": "SOT category: I, II, III or other",
    "short_leg": "short-leg side: left, right or none",
    "profile": "sotlog device profile name",
}
README = """\
sotlog sessions
===============

Force (or pressure-mat region force) measured under the two pelvic blocks of Sacro-Occipital
Technique blocking, exported by sotlog as BIDS physiological recordings of the task `blocking`.
sotlog records the procedure. It does not judge its effect: it shows measured quantities with
their units, and who, what, when and where of block placement.

Each session is `sub-<label>/ses-<id>/beh/*_physio.tsv.gz` with its JSON sidecar (the sotlog
metadata under the key `sotlog`) and an events table. The columns, units and the grid the rows
lie on are described in sotlog's docs/data-format.md.
"""


def escape(text: str) -> str:
    """Free text made safe for one TSV cell; an empty text is n/a."""
    return text.translate(_ESCAPES) if text else MISSING


def _acq_time(started_utc: str | None) -> str:
    """A sotlog ISO time (``...+00:00``) as BIDS writes one: ``YYYY-MM-DDThh:mm:ss.ffffffZ``."""
    if not started_utc:
        return MISSING
    text = started_utc.replace("+00:00", "").rstrip("Z")
    day_time, _, frac = text.partition(".")
    return f"{day_time}.{(frac or '0')[:6].ljust(6, '0')}Z"


def _merge(path: Path, columns: list[str], row: dict[str, str]) -> None:
    """Add or replace ``row`` (keyed by its first column) in the TSV at ``path``."""
    key = columns[0]
    rows: dict[str, dict[str, str]] = {}
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            for old in csv.DictReader(fh, delimiter="\t"):
                rows[old[key]] = {c: old.get(c) or MISSING for c in columns}
    rows[row[key]] = row
    out = io.StringIO()
    out.write("\t".join(columns) + "\n")
    for k in sorted(rows):
        out.write("\t".join(rows[k][c] for c in columns) + "\n")
    with overwriting(True), atomic_path(path) as tmp:
        tmp.write_text(out.getvalue(), encoding="utf-8")


def _once(path: Path, text: str, made: list[Path]) -> None:
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        made.append(path)


def _described(columns: dict[str, str]) -> str:
    return dumps({k: {"Description": v} for k, v in columns.items()}, indent=2)


def update_dataset(out_dir: Path, meta: dict[str, Any]) -> list[Path]:
    """Bring the dataset's own files up to date with one exported session (its sidecar
    ``meta``); returns the files it created (those it only updated are not the session's)."""
    s = meta["session"]
    label = s["subject_label"]
    made: list[Path] = []
    _once(out_dir / "dataset_description.json", dumps({
        "Name": "sotlog sessions", "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
        "GeneratedBy": [{"Name": "sotlog", "Version": meta["software"].split()[-1],
                         "Description": f"sotlog export format {FORMAT_VERSION}"}],
    }, indent=2), made)
    _once(out_dir / "README", README, made)
    _once(out_dir / "participants.json", _described(PARTICIPANT_COLUMNS), made)
    sessions_json = out_dir / f"sub-{label}" / f"sub-{label}_sessions.json"
    _once(sessions_json, _described(SESSION_COLUMNS), made)
    _merge(out_dir / "participants.tsv", list(PARTICIPANT_COLUMNS),
           {"participant_id": f"sub-{label}"})
    values = {"session_id": f"ses-{s['id']}", "acq_time": _acq_time(s["started_utc"]),
              "sotlog_uuid": s["uuid"], "duration_s": repr(float(s["duration_s"])),
              "position": s["position"], "category": s["category"],
              "short_leg": s["short_leg"], "profile": meta["profile"]["name"]}
    _merge(sessions_json.with_suffix(".tsv"), list(SESSION_COLUMNS),
           {k: escape(str(v)) if v not in (None, "") else MISSING for k, v in values.items()})
    return made
