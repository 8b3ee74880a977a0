"""``c3d``: forces as analog channels on one regular grid, events as C3D events, the sidecar in a
SOTLOG parameter group (or beside the file when it does not fit). Needs ``sotlog[c3d]``.

C3D has one uniform rate, so the rows lie on the grid of sensing.outputs.exports.grid: row ``k``
is at ``k / rate`` seconds after the first frame, a row where no frame arrived is NaN, and each
such stretch is also a ``gap`` event. Nothing is interpolated. Values are 32-bit floats.

A C3D parameter section holds at most 255 blocks of 512 bytes. When the sidecar and every event
do not fit, the sidecar goes to ``<stem>.c3d.json`` beside the file (named in ``SOTLOG:SIDECAR``),
and if the events still do not fit, the EVENT group keeps the first ones that do and the
sidecar has them all (``SOTLOG:EVENTS_IN_SIDECAR_ONLY`` says how many are only there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ezc3d
import numpy as np

from firmware_bridge.errors import ExportError
from sensing.outputs.exports import atomic_path, session_stem
from sensing.outputs.exports.c3dparams import MAX_BLOCKS, as_arrays, parameter_blocks
from sensing.outputs.exports.common import ExportData, grid_meta, prepare
from sensing.plainjson import dumps, plain

if TYPE_CHECKING:
    from sensing.store.read import Session

PARAM_TEXT_MAX = 255  # characters per string of a C3D parameter
# One dimension of a C3D parameter is one byte, and one parameter takes at most 32767 bytes
# (its length is a signed 16-bit offset): so at most 255 events, and their descriptions share
# PARAM_BYTES_MAX bytes.
DIM_MAX = 255
PARAM_BYTES_MAX = 32_000
CONTEXT = "General"
GAP_LABEL = "gap"
MAX_FRAMES_16 = 65535  # past this many frames the count is in TRIAL:ACTUAL_END_FIELD


def split_text(text: str, size: int = PARAM_TEXT_MAX) -> list[str]:
    """Text cut into strings C3D can hold; readers join them back with ``"".join``."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def metadata_text(meta: dict[str, Any]) -> str:
    """The sidecar as compact ASCII JSON (``\\uXXXX`` escapes) with no space characters.

    C3D strings are ASCII, and readers trim trailing spaces from each string, so the spaces that
    compact JSON keeps (all inside strings) are written as the equivalent escape ``\\u0020``.
    """
    text = json.dumps(plain(meta), ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace(" ", "\\u0020")


def _ascii(text: str) -> str:
    """Text for a C3D string parameter: non-ASCII characters as ``\\uXXXX`` (the full text is in
    the sidecar)."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


@dataclass(frozen=True)
class C3DEvent:
    """One event as the EVENT group holds it: seconds after the first frame."""

    seconds: float
    label: str
    description: str


def c3d_events(data: ExportData) -> tuple[list[C3DEvent], list[C3DEvent], int]:
    """The session's events at or after the first frame; one ``gap`` per stretch of empty rows;
    and how many events came before the first frame (kept in the sidecar only)."""
    g = data.grid
    rate = g.rate_hz or 1.0
    out, before = [], 0
    for ev in data.events:
        seconds = float(ev["time_s"]) - g.start_s
        if seconds < 0:
            before += 1
            continue
        out.append(C3DEvent(seconds, ev["kind"], _ascii(ev["text"])))
    gaps = [C3DEvent(row / rate, GAP_LABEL, f"no frame arrived for {n} rows ({n / rate:.3f} s): "
                     "NaN") for row, n in g.gaps]
    return out, gaps, before


def _events(c3d: Any, evs: list[C3DEvent], subject: str) -> None:
    width = max([len(e.description) for e in evs] + [1])
    cut = min(PARAM_TEXT_MAX, width, PARAM_BYTES_MAX // max(1, len(evs)))
    seconds = np.array([e.seconds for e in evs], np.float64)
    minutes = np.floor(seconds / 60.0)
    c3d.add_parameter("EVENT", "USED", len(evs))  # written even when 0, so readers find it
    c3d.add_parameter("EVENT", "TIMES", np.vstack([minutes, seconds - 60.0 * minutes]))
    c3d.add_parameter("EVENT", "LABELS", [e.label for e in evs])
    c3d.add_parameter("EVENT", "CONTEXTS", [CONTEXT] * len(evs))
    c3d.add_parameter("EVENT", "DESCRIPTIONS", [e.description[:cut] for e in evs])
    c3d.add_parameter("EVENT", "SUBJECTS", [subject] * len(evs))
    _ints(c3d, "EVENT", "ICON_IDS", [0] * len(evs))
    _ints(c3d, "EVENT", "GENERIC_FLAGS", [0] * len(evs))


def _ints(c3d: Any, group: str, name: str, values: list[int]) -> None:
    """An integer array parameter (ezc3d's ``add_parameter`` stores integer lists as floats)."""
    param = ezc3d.ezc3d.Parameter(name, "")
    param.set(ezc3d.ezc3d.VecInt(values), [len(values)])
    c3d["parameters"].add_parameter(group, param)


def _int16(word: int) -> int:
    """An unsigned 16-bit word as the signed value ezc3d stores for it."""
    return word - 65536 if word >= 32768 else word


def _build(data: ExportData, evs: list[C3DEvent], meta: dict[str, Any],
           sidecar: str | None) -> Any:
    g = data.grid
    forces = data.force_columns
    n = g.n_rows
    c3d = ezc3d.c3d()
    params = c3d["parameters"]
    params["POINT"]["RATE"]["value"] = np.array([g.rate_hz])
    params["ANALOG"]["RATE"]["value"] = np.array([g.rate_hz])
    params["ANALOG"]["LABELS"]["value"] = [c.name for c in forces]
    params["ANALOG"]["DESCRIPTIONS"]["value"] = [c.description for c in forces]
    params["ANALOG"]["UNITS"]["value"] = [c.unit for c in forces]
    params["ANALOG"]["SCALE"]["value"] = np.ones(len(forces))
    params["ANALOG"]["GEN_SCALE"]["value"] = np.array([1.0])
    values = np.vstack([g.spread(c.values) for c in forces]) if forces else np.empty((0, n))
    c3d["data"]["analogs"] = values[np.newaxis, :, :]
    # No markers: an empty point set that still spans every frame, so the analogs are written.
    c3d["data"]["points"] = np.zeros((4, 0, n))
    c3d["data"]["meta_points"] = {"residuals": np.zeros((1, 0, n)),
                                  "camera_masks": np.zeros((7, 0, n), dtype=bool)}
    if "rotations" in c3d["data"]:
        del c3d["data"]["rotations"]
    if n > MAX_FRAMES_16:  # the convention readers follow for a count that needs 32 bits
        _ints(c3d, "TRIAL", "ACTUAL_START_FIELD", [1, 0])
        _ints(c3d, "TRIAL", "ACTUAL_END_FIELD", [_int16(n & 0xFFFF), n >> 16])
    subject = meta["session"]["subject_code"] or ""
    _events(c3d, evs, _ascii(subject))
    if subject:
        c3d.add_parameter("SUBJECTS", "NAMES", [_ascii(subject)])
        c3d.add_parameter("SUBJECTS", "USED", 1)
    c3d.add_parameter("SOTLOG", "FORMAT_VERSION", meta["format_version"])
    c3d.add_parameter("SOTLOG", "RATE_SOURCE", g.rate_source)
    c3d.add_parameter("SOTLOG", "START_TIME_S", float(g.start_s))
    c3d.add_parameter("SOTLOG", "EVENTS_BEFORE_START",
                      meta["c3d"]["events_before_start"])
    c3d.add_parameter("SOTLOG", "EVENTS_IN_SIDECAR_ONLY",
                      meta["c3d"]["events_in_sidecar_only"])
    if sidecar is None:
        c3d.add_parameter("SOTLOG", "METADATA", split_text(metadata_text(meta)))
    else:
        c3d.add_parameter("SOTLOG", "SIDECAR", sidecar)
    return c3d


def _attempts(n_events: int, meta_fits: bool) -> list[tuple[bool, int]]:
    """(sidecar beside the file, session events in the EVENT group), from the whole file down."""
    out = [(False, n_events)] if meta_fits else []
    out.append((True, n_events))
    k = n_events
    while k > 0:
        k //= 2
        out.append((True, k))
    return out


def export(session: Session, out_dir: Path, **options: Any) -> list[Path]:
    """Write ``<stem>.c3d`` into ``out_dir`` (and ``<stem>.c3d.json`` if the sidecar is beside)."""
    data = prepare(session, "c3d", **options)
    if data.rate_hz is None:
        raise ExportError(f"session {session.info.id}: C3D needs a rate, and this session has "
                          "fewer than two frames and its profile no nominal rate")
    evs, gaps, before = c3d_events(data)
    gaps = gaps[:DIM_MAX]
    room = min(len(evs), DIM_MAX - len(gaps))
    stem = session_stem(session)
    path, side = out_dir / f"{stem}.c3d", out_dir / f"{stem}.c3d.json"
    full = data.meta | {"grid": grid_meta(data.grid),
                        "c3d": {"events_before_start": before, "events_in_sidecar_only": 0}}
    meta_fits = len(metadata_text(full)) <= PARAM_BYTES_MAX
    with atomic_path(path) as tmp:
        for beside, k in _attempts(room, meta_fits):
            meta = full | {"c3d": {"events_before_start": before,
                                   "events_in_sidecar_only": len(evs) - k}}
            c3d = _build(data, evs[:k] + gaps, meta, side.name if beside else None)
            try:
                c3d.write(str(tmp))
            except (ValueError, TypeError, RuntimeError) as err:
                raise ExportError(f"cannot write C3D for session {session.info.id}: {err}") \
                    from err
            if parameter_blocks(tmp) <= MAX_BLOCKS:
                break
        else:
            raise ExportError(f"session {session.info.id}: its C3D parameters do not fit "
                              f"{MAX_BLOCKS} blocks even without events")
        if len(data.force_columns) == 1 and not as_arrays(tmp, "ANALOG", ("OFFSET", "SCALE")):
            raise ExportError(f"session {session.info.id}: no room to write the single "
                              "channel's C3D offset and scale as arrays")
        if beside:
            with atomic_path(side) as tmp_side:
                tmp_side.write_text(dumps(meta, indent=2), encoding="utf-8")
    return [path, side] if beside else [path]
