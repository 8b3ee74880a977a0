"""Force per block over time with events marked: the picture ``sotlog plot`` writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from firmware_bridge.errors import SotlogError
from sensing.vocabulary import DETECTED_EVENT_KINDS, OUTPUT_UNITS

if TYPE_CHECKING:
    from sensing.store.read import Session

STILL_FORMATS = (".png", ".svg", ".pdf")
# Detected events (source sotlog) are drawn faint; events a person marked strong and labelled.
PERSON_KINDS = {"placed", "removed", "marker", "note", "tare"}
EVENT_COLOURS = {"placed": "#1b7f3b", "removed": "#b3261e", "marker": "#6b4fbb",
                 "note": "#555555", "tare": "#0b6e99", "gap": "#d08000"}


def check_still_path(path: str | Path) -> Path:
    """The output path, if its suffix names a still format; else a one-line error."""
    p = Path(path)
    if p.suffix.lower() not in STILL_FORMATS:
        raise SotlogError(f"plot file must end in {', '.join(STILL_FORMATS)}: {p.name}")
    return p


def plot_session(session: Session, path: str | Path, units: str = "N") -> Path:
    """Write force per channel over time, with the session's events marked, to ``path``."""
    out = check_still_path(path)
    samples = session.samples(units=units)
    info = session.info
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.add_subplot()
    t, values = broken_at_gaps(samples.time_s, samples.values)
    for i, name in enumerate(samples.names):
        style = {"color": "black", "linewidth": 1.4} if name == "total" else {"linewidth": 1.0}
        ax.plot(t, values[:, i], label=f"{name} ({samples.units[i]})", **style)
    _mark_events(ax, session)
    unit_label = samples.units[0] if len(set(samples.units)) == 1 and samples.units else "value"
    ax.set_xlabel("time since start (s)")
    ax.set_ylabel(f"force ({unit_label})" if unit_label in OUTPUT_UNITS else unit_label)
    title = f"session {info.id}"
    if info.meta.subject_code:
        title += f" · {info.meta.subject_code}"
    if info.meta.position:
        title += f" · {info.meta.position}"
    if info.meta.category:
        title += f" · category {info.meta.category}"
    ax.set_title(title + f" · {info.started_utc[:16].replace('T', ' ')} UTC", loc="left")
    ax.grid(True, alpha=0.3)
    if samples.names:
        ax.legend(loc="upper right", fontsize="small")
    if samples.time_s.size == 0:
        ax.text(0.5, 0.5, "no samples recorded", transform=ax.transAxes, ha="center")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def broken_at_gaps(t: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN row wherever frames stop for a while, so no line is drawn across missing data.

    A pause counts as a gap when it is longer than 0.25 s and 5 times the usual frame interval.
    """
    if t.size < 3:
        return t, values
    dt = np.diff(t)
    limit = max(0.25, 5.0 * float(np.median(dt)))
    cuts = np.flatnonzero(dt > limit) + 1
    if cuts.size == 0:
        return t, values
    t2 = np.insert(t.astype(np.float64), cuts, np.nan)
    v2 = np.insert(values.astype(np.float64), cuts, np.nan, axis=0)
    return t2, v2


def _mark_events(ax: object, session: Session) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    for ev in session.events():
        if not np.isfinite(ev.time_s):
            continue
        colour = EVENT_COLOURS.get(ev.kind, "#999999")
        if ev.kind == "gap" and ev.data.get("duration_s"):
            ax.axvspan(ev.time_s - float(ev.data["duration_s"]), ev.time_s, color=colour,
                       alpha=0.15, linewidth=0)
        strong = ev.kind in PERSON_KINDS and ev.source != "sotlog"
        found = ev.source == "sotlog" and ev.kind in DETECTED_EVENT_KINDS
        ax.axvline(ev.time_s, color=colour, linewidth=1.0 if strong else 0.5,
                   linestyle="-" if strong else ":", alpha=0.9 if strong else 0.5)
        if found:  # a detected event: faint, and said to be sotlog's
            ax.annotate(f"{ev.kind} (sotlog)", (ev.time_s, 0.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="bottom", ha="right", fontsize="xx-small", color=colour,
                        alpha=0.7)
        if strong:
            label = ev.kind if not ev.text else f"{ev.kind}: {ev.text[:24]}"
            ax.annotate(label, (ev.time_s, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize="x-small", color=colour)


def envelope(t: np.ndarray, values: np.ndarray,
             points: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``points`` rows to draw: each stretch between gaps cut into time buckets,
    each bucket drawn as its first frame's time with its min, then its max (no peak lost).

    Fewer frames than ``points`` are drawn as they are; a gap still breaks the line (NaN row).
    """
    t2, v2 = broken_at_gaps(t, values)
    if t.size <= points:
        return t2, v2
    span = float(np.nanmax(t2) - np.nanmin(t2)) or 1.0
    width = 2.0 * span / points
    breaks = np.flatnonzero(np.isnan(t2))
    edges = np.concatenate([[-1], breaks, [t2.size]])
    out_t: list[np.ndarray] = []
    out_v: list[np.ndarray] = []
    for a, b in zip(edges[:-1] + 1, edges[1:], strict=True):
        seg_t, seg_v = t2[a:b], v2[a:b]
        if not seg_t.size:
            continue
        bucket = np.floor((seg_t - seg_t[0]) / width).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, np.diff(bucket) != 0])
        with np.errstate(all="ignore"):
            lo = np.fmin.reduceat(seg_v, starts, axis=0)
            hi = np.fmax.reduceat(seg_v, starts, axis=0)
        out_t.append(np.repeat(seg_t[starts], 2))
        out_v.append(np.stack([lo, hi], axis=1).reshape(-1, seg_v.shape[1]))
        out_t.append(np.array([np.nan]))
        out_v.append(np.full((1, seg_v.shape[1]), np.nan))
    return np.concatenate(out_t[:-1]), np.concatenate(out_v[:-1])
