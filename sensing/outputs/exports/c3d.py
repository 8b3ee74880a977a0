"""``c3d``: forces as analog channels with units and rate, events as C3D events, the sidecar in a
SOTLOG parameter group. Needs ``sotlog[c3d]``.

C3D needs one uniform rate. Nothing is resampled: each stored frame becomes one analog sample,
and the rate written is the session's measured mean rate (the profile's nominal rate when there
are fewer than two frames). The exact arrival time of each frame is kept in the csv, bids,
parquet and hdf5 exports, not here. Values are 32-bit floats, as C3D stores them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ezc3d
import numpy as np

from firmware_bridge.errors import ExportError
from sensing.outputs.exports import atomic_path, session_stem
from sensing.outputs.exports.common import ExportData, prepare
from sensing.plainjson import plain

if TYPE_CHECKING:
    from sensing.store.read import Session

PARAM_TEXT_MAX = 255  # characters per string of a C3D parameter
CONTEXT = "General"


def split_text(text: str, size: int = PARAM_TEXT_MAX) -> list[str]:
    """Text cut into strings C3D can hold; readers join them back with ``"".join``."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def metadata_text(meta: dict[str, Any]) -> str:
    """The sidecar as compact ASCII JSON with no space characters.

    C3D readers trim trailing spaces from each string, so the spaces that compact JSON keeps
    (all inside strings) are written as the equivalent escape ``\\u0020``.
    """
    # ensure_ascii: JSON's own \uXXXX escapes (backslashreplace wrote \xNN for Latin-1 letters
    # such as é or ², which no JSON reader takes)
    return json.dumps(plain(meta), separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).replace(" ", "\\u0020")


def _times(seconds: np.ndarray) -> np.ndarray:
    """C3D EVENT:TIMES rows: whole minutes, then the seconds within the minute."""
    minutes = np.floor(seconds / 60.0)
    return np.vstack([minutes, seconds - 60.0 * minutes])


def _events(c3d: Any, data: ExportData) -> None:
    evs = data.events  # the group is written even when empty, so readers find EVENT:USED = 0
    seconds = np.array([e["time_s"] for e in evs], np.float64)
    c3d.add_parameter("EVENT", "USED", len(evs))
    c3d.add_parameter("EVENT", "TIMES", _times(seconds))
    c3d.add_parameter("EVENT", "LABELS", [e["kind"] for e in evs])
    c3d.add_parameter("EVENT", "CONTEXTS", [CONTEXT] * len(evs))
    c3d.add_parameter("EVENT", "DESCRIPTIONS", [e["text"][:PARAM_TEXT_MAX]
                                                for e in evs])
    c3d.add_parameter("EVENT", "SUBJECTS", [data.meta["session"]["subject_code"] or ""] * len(evs))
    c3d.add_parameter("EVENT", "ICON_IDS", [0] * len(evs))
    c3d.add_parameter("EVENT", "GENERIC_FLAGS", [0] * len(evs))


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write ``<stem>.c3d`` into ``out_dir``."""
    data = prepare(session, "c3d", **options)
    if data.rate_hz is None:
        raise ExportError(f"session {session.info.id}: C3D needs a rate, and this session has "
                          "fewer than two frames and its profile no nominal rate")
    forces = data.force_columns
    n = int(data.samples.time_s.size)
    c3d = ezc3d.c3d()
    params = c3d["parameters"]
    params["POINT"]["RATE"]["value"] = np.array([data.rate_hz])
    params["ANALOG"]["RATE"]["value"] = np.array([data.rate_hz])
    params["ANALOG"]["LABELS"]["value"] = [c.name for c in forces]
    params["ANALOG"]["DESCRIPTIONS"]["value"] = [c.description for c in forces]
    params["ANALOG"]["UNITS"]["value"] = [c.unit for c in forces]
    params["ANALOG"]["SCALE"]["value"] = np.ones(len(forces))
    params["ANALOG"]["GEN_SCALE"]["value"] = np.array([1.0])
    values = np.vstack([c.values for c in forces]) if forces else np.empty((0, n))
    c3d["data"]["analogs"] = values[np.newaxis, :, :]
    # No markers: an empty point set that still spans every frame, so the analogs are written.
    c3d["data"]["points"] = np.zeros((4, 0, n))
    c3d["data"]["meta_points"] = {"residuals": np.zeros((1, 0, n)),
                                  "camera_masks": np.zeros((7, 0, n), dtype=bool)}
    if "rotations" in c3d["data"]:
        del c3d["data"]["rotations"]
    _events(c3d, data)
    if data.meta["session"]["subject_code"]:
        c3d.add_parameter("SUBJECTS", "NAMES", [data.meta["session"]["subject_code"]])
        c3d.add_parameter("SUBJECTS", "USED", 1)
    c3d.add_parameter("SOTLOG", "FORMAT_VERSION", data.meta["format_version"])
    c3d.add_parameter("SOTLOG", "RATE_SOURCE", data.rate_source)
    c3d.add_parameter("SOTLOG", "METADATA", split_text(metadata_text(data.meta)))
    path = out_dir / f"{session_stem(session)}.c3d"
    with atomic_path(path) as tmp:
        try:
            c3d.write(str(tmp))
        except (ValueError, TypeError, RuntimeError) as err:
            raise ExportError(f"cannot write C3D for session {session.info.id}: {err}") from err
    return [path]
