"""The pictures of a stored session, by kind (``figurekinds.KINDS``): force over time for every
session; a mat's heat map, mean frame, centre-of-pressure path and animation. ``sotlog plot`` and
the session page draw them here; nothing here knows which face asked. The drawing modules (and
matplotlib under them, slow to import) are imported when a picture is drawn."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.errors import SotlogError
from sensing.mat.measures import frame_measures
from sensing.outputs.figurekinds import KINDS
from sensing.store.matread import mat_mean, mat_series

LOOK_BACK_S = (5.0, 60.0, math.inf)  # how far back to look for the frame shown "at" a time


@dataclass
class FigureSpec:
    """What a picture is drawn with: force unit, a moment, a span, and an animation's pace."""

    units: str = "N"
    at: float | None = None
    t0: float | None = None
    t1: float | None = None
    fps: float | None = None
    speed: float | None = None


def _title(session: Any, what: str) -> str:
    info = session.info
    parts = [f"session {info.id}"]
    if info.meta.subject_code:
        parts.append(info.meta.subject_code)
    return " · ".join([*parts, what])


def _span(args: FigureSpec) -> str:
    if args.t0 is None and args.t1 is None:
        return "whole session"
    lo = "start" if args.t0 is None else f"{args.t0:g} s"
    hi = "end" if args.t1 is None else f"{args.t1:g} s"
    return f"{lo} to {hi}"


def _force(session: Any, args: FigureSpec, out: Path) -> Path:
    from sensing.outputs.plots import plot_session

    return plot_session(session, out, units=args.units)


def frame_at(session: Any, at: float) -> tuple[Any, float]:
    """``(raw frame, its time_s)``: the last frame at or before ``at``, else the first after."""
    t0 = session.info.t0_host
    for back in LOOK_BACK_S:
        block = session.frames(None if math.isinf(back) else at - back, at + 1e-9)
        if len(block):
            return block.values[-1], float(block.host_time[-1] - t0)
    block = session.frames(at, None)
    if not len(block):
        raise SotlogError(f"session {session.info.id} has no frames to show")
    return block.values[0], float(block.host_time[0] - t0)


def _heaviest_time(session: Any, units: str) -> float:
    samples = session.samples(units=units)
    if not samples.time_s.size:
        raise SotlogError(f"session {session.info.id} has no frames to show")
    total = samples.values[:, samples.names.index("total")]
    return float(samples.time_s[int(np.nanargmax(total))]) if np.isfinite(total).any() else 0.0


def _heatmap(session: Any, args: FigureSpec, out: Path) -> Path:
    from sensing.outputs.matplots import plot_heatmap

    matrix = session.info.profile.matrix
    at = args.at if args.at is not None else _heaviest_time(session, args.units)
    frame, t = frame_at(session, at)
    m = frame_measures(frame, matrix, force_unit=args.units)
    why = "" if args.at is not None else " (the frame with the most load)"
    return plot_heatmap(frame, matrix, out, regions=session.mat_regions(),
                        cop=(float(m.cop_x_mm[0]), float(m.cop_y_mm[0])),
                        title=_title(session, f"frame at {t:.2f} s{why}"))


def _mean(session: Any, args: FigureSpec, out: Path) -> Path:
    from sensing.outputs.matplots import plot_mean_frame

    mean, used, left_out = mat_mean(session, args.t0, args.t1)
    if not used and not left_out:
        raise SotlogError(f"session {session.info.id} has no frames in {_span(args)}")
    series = mat_series(session, args.t0, args.t1, units=args.units)
    return plot_mean_frame(mean, session.info.profile.matrix, out, used, left_out,
                           session.mat_regions(), (series.whole.cop_x_mm, series.whole.cop_y_mm),
                           _title(session, _span(args)))


def _cop(session: Any, args: FigureSpec, out: Path) -> Path:
    from sensing.outputs.matplots import plot_cop

    series = mat_series(session, args.t0, args.t1, units=args.units)
    if not series.time_s.size:
        raise SotlogError(f"session {session.info.id} has no frames in {_span(args)}")
    return plot_cop(series.time_s, {"whole mat": series.whole, **series.regions}, out,
                    title=_title(session, f"centre of pressure, {_span(args)}"))


def _animation(session: Any, args: FigureSpec, out: Path) -> Path:
    from sensing.outputs.matplots import write_animation

    info = session.info
    span = (info.duration_s if args.t1 is None else args.t1) - (args.t0 or 0.0)
    speed, fps = args.speed or 1.0, args.fps or 10.0
    pictures = int(max(0.0, span) / speed * fps) + 1
    if out.suffix.lower() == ".gif" and pictures > 3000:
        raise SotlogError(f"about {pictures} GIF pictures is more than 3000: raise --speed, "
                          "lower --fps, choose a shorter --from/--to, or write .mp4")
    block = session.frames(args.t0, args.t1)
    if not len(block):
        raise SotlogError(f"session {info.id} has no frames in {_span(args)}")
    return write_animation(block.values, block.host_time - info.t0_host, info.profile.matrix,
                           out, fps=fps, regions=session.mat_regions(), speed=speed,
                           title=_title(session, f"x{speed:g}"))


DRAWINGS: dict[str, Callable[[Any, FigureSpec, Path], Path]] = {
    "force": _force, "heatmap": _heatmap, "mean": _mean, "cop": _cop, "animation": _animation,
}


def draw(session: Any, kind: str, spec: FigureSpec, out: Path) -> Path:
    """Draw picture ``kind`` of ``session`` into ``out``; a one-line error if it does not fit."""
    try:
        found = KINDS[kind]
    except KeyError:
        raise SotlogError(f"figure kind must be one of {', '.join(KINDS)}, not {kind!r}") from None
    if found.mat and not session.info.is_matrix:
        raise SotlogError(f"{kind} needs a pressure-mat session; session {session.info.id} "
                          "is a load-cell session (force is drawn for every session)")
    return DRAWINGS[kind](session, spec, out)
