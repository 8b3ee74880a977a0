"""The descriptive measures of a session: per block and for both together, over two windows.

Each ``Measure`` carries its name, unit, window, formula id (``formulas.FORMULAS``) and value.
The windows are the whole session and the time between the placed and removed events, whoever
marked them (a person or sotlog); a session with no such pair has whole-session values only,
and says so. Measures describe what was measured: no range, cut-off or verdict is attached.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.words import BLOCK_SIDES
from sensing import rounding
from sensing.mat.measures import PRESSURE_UNITS
from sensing.metrics import formulas as fx
from sensing.metrics.onblocks import TOTAL, loaded_mask, time_on_blocks
from sensing.store.matread import session_matrix

if TYPE_CHECKING:
    from sensing.store.read import Samples, Session
    from sensing.store.records import Event, SessionInfo

SESSION, ON_BLOCKS = "session", "on_blocks"
WINDOW_LABELS = {SESSION: "whole session", ON_BLOCKS: "on the blocks (placed to removed)"}
BOTH = "both"
@dataclass
class Measure:
    """One measure of one block (or ``both``) over one window."""

    name: str
    subject: str  # a block's channel, or "both" (the total force)
    unit: str
    window: str  # SESSION or ON_BLOCKS
    formula: str  # a key of formulas.FORMULAS
    value: float | None
    side: str | None = None

    @property
    def digits(self) -> int:
        """The decimals every face shows it with: the one rounding rule, by its unit."""
        return rounding.decimals(self.unit)


@dataclass
class SessionMeasures:
    """Every measure of a session, the windows they cover, and the gaps no integral crossed."""

    spans: list[tuple[float, float]]  # placed-to-removed pairs, session seconds
    note: str  # what the on-the-blocks window is, or why there is none
    subjects: dict[str, str]  # subject -> label (a block with its side, "both blocks")
    measures: list[Measure] = field(default_factory=list)
    unbridged: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def windows(self) -> list[str]:
        return [SESSION, ON_BLOCKS] if self.spans else [SESSION]

    def rows(self) -> list[tuple[str, str, str, str, dict[str, Measure]]]:
        """``(subject label, name, unit, formula, {window: measure})``, one per name and block."""
        grouped: dict[tuple[str, str], dict[str, Measure]] = {}
        for m in self.measures:
            grouped.setdefault((m.subject, m.name), {})[m.window] = m
        return [(self.subjects[s], n, next(iter(w.values())).unit,
                 " / ".join(dict.fromkeys(m.formula for m in w.values())), w)
                for (s, n), w in grouped.items()]

    def table(self) -> list[dict[str, Any]]:
        """``rows`` as plain data for the pages: values and decimals by window."""
        return [{"of": label, "name": name, "unit": unit, "formula": formula,
                 "values": {k: m.value for k, m in w.items()},
                 "digits": next(iter(w.values())).digits}
                for label, name, unit, formula, w in self.rows()]

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows": [{"key": w, "label": WINDOW_LABELS[w],
                         "spans": [list(s) for s in (self.spans if w == ON_BLOCKS else [])]}
                        for w in self.windows],
            "note": self.note, "subjects": self.subjects,
            "measures": [{**asdict(m), "digits": m.digits} for m in self.measures],
            "formulas": {k: fx.FORMULAS[k] for k in dict.fromkeys(m.formula
                                                                   for m in self.measures)},
            "unbridged": self.unbridged,
        }


def channel_sides(info: SessionInfo) -> dict[str, str | None]:
    """Which side each channel measures: the profile's, then the session's blocks; a mat's block
    regions are named by their side."""
    sides: dict[str, str | None] = {c.name: c.block for c in info.profile.channels}
    if info.is_matrix:
        sides.update({s: s for s in BLOCK_SIDES})
    for b in info.meta.blocks:
        if b.channel:
            sides[b.channel] = b.side
    return sides


def placement_spans(events: Iterable[Event]) -> tuple[list[tuple[float, float]], str]:
    """Each placed-to-removed pair (a placed while one is open, or a removed with none open, is
    passed over), and a sentence saying what the window is or why there is none."""
    spans: list[tuple[float, float]] = []
    opened: float | None = None
    marks = sorted((e for e in events if e.kind in ("placed", "removed")),
                   key=lambda e: e.time_s)
    for e in marks:
        if e.kind == "placed" and opened is None:
            opened = e.time_s
        elif e.kind == "removed" and opened is not None:
            spans.append((opened, e.time_s))
            opened = None
    if not spans:
        note = ("no placed and removed events: whole-session values only" if not marks else
                "no removed event after a placed one: whole-session values only")
    else:
        note = "on the blocks: " + ", ".join(f"placed {a:.1f} s to removed {b:.1f} s"
                                             for a, b in spans)
    if opened is not None and spans:
        note += f"; placed at {opened:.1f} s has no removed after it and is not counted"
    return spans, note


def in_spans(t: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """Frames at or after a span's placed and at or before its removed."""
    keep = np.zeros(t.shape, bool)
    for a, b in spans:
        keep |= (t >= a) & (t <= b)
    return keep


def _blocks(samples: Samples) -> list[int]:
    """Columns that are blocks: every channel but a mat's total, in the first channel's unit."""
    cols = [j for j, n in enumerate(samples.names) if n != TOTAL]
    return [j for j in cols if samples.units[j] == samples.units[cols[0]]] if cols else []


def force_measures(samples: Samples, sides: dict[str, str | None],
                   spans: Sequence[tuple[float, float]]) -> list[Measure]:
    """Mean, peak, SD, integral and share per block; the same for the total, with the left and
    right shares, symmetry index, time on the blocks and force oscillation."""
    t, v = samples.time_s, samples.values
    blocks = _blocks(samples)
    if not blocks:
        return []
    unit = samples.units[blocks[0]]
    total = (v[:, samples.names.index(TOTAL)] if TOTAL in samples.names
             else np.nansum(v[:, blocks], axis=1) if len(t) else np.zeros(0))
    windows = {SESSION: np.ones(t.shape, bool)}
    if spans:
        windows[ON_BLOCKS] = in_spans(t, spans)
    loaded, _ = loaded_mask(v, samples.names, samples.units)
    out: list[Measure] = []
    for w, keep in windows.items():
        # frames outside the window read as missing, so no step joins across its edges
        def add(name: str, subject: str, unit_: str, formula: str, value: float | None,
                side: str | None = None, w: str = w) -> None:
            out.append(Measure(name, subject, unit_, w, formula, value, side))

        columns = {j: np.where(keep, v[:, j], np.nan) for j in blocks}
        means = {j: fx.mean(x) for j, x in columns.items()}
        known = [m for m in means.values() if m is not None]
        summed = float(sum(known)) if known else None
        for j, x in columns.items():
            name, side = samples.names[j], sides.get(samples.names[j])
            add("mean", name, unit, "mean", means[j], side)
            add("peak", name, unit, "peak", fx.peak(x), side)
            add("SD", name, unit, "sd", fx.sd(x), side)
            add("force-time integral", name, f"{unit}·s", "fti", fx.force_time_integral(t, x),
                side)
            add("share of the blocks", name, "%", "share", fx.share(means[j], summed), side)
        x = np.where(keep, total, np.nan)
        add("mean", BOTH, unit, "mean", fx.mean(x))
        add("peak", BOTH, unit, "peak", fx.peak(x))
        add("SD", BOTH, unit, "sd", fx.sd(x))
        add("force-time integral", BOTH, f"{unit}·s", "fti", fx.force_time_integral(t, x))
        side_mean: dict[str, float | None] = {}
        for s in BLOCK_SIDES:
            got = [means[j] for j in blocks if sides.get(samples.names[j]) == s]
            known_side = [m for m in got if m is not None]
            side_mean[s] = float(sum(known_side)) if got and len(known_side) == len(got) else None
        for s in BLOCK_SIDES:
            add(f"{s} share", BOTH, "%", "side_share", fx.share(side_mean[s], summed))
        add("symmetry index", BOTH, "%", "symmetry",
            fx.symmetry_index(side_mean["right"], side_mean["left"]))
        on = (time_on_blocks(t, loaded) if w == SESSION
              else float(sum(b - a for a, b in spans)))
        add("time on the blocks", BOTH, "s", "onblocks_rule" if w == SESSION else
            "placed_removed", on)
        freq, amp = fx.oscillation(t, x)
        add("force oscillation (cycles/min)", BOTH, "cycles/min", "oscillation", freq)
        add("force oscillation amplitude", BOTH, unit, "oscillation_amplitude", amp)
    return out


def mat_measures(session: Session, spans: Sequence[tuple[float, float]]) -> list[Measure]:
    """Contact area, peak pressure and the centre of pressure's path, velocity and 95 %
    ellipse over the whole mat, per window, from what the session's close derived per frame
    (``Session.mat_derived``): no frame is decoded here."""
    derived = session.mat_derived()
    m = derived.whole
    t = derived.frame["host_time"] - session.info.t0_host
    peak_unit = session_matrix(session).unit
    windows = {SESSION: np.ones(t.shape, bool)}
    if spans:
        windows[ON_BLOCKS] = in_spans(t, spans)
    peak_name = "peak pressure" if peak_unit in PRESSURE_UNITS else "peak sensel value"
    out = []
    for w, keep in windows.items():
        loaded = keep & np.isfinite(m["cop_x_mm"])
        x, y = np.where(keep, m["cop_x_mm"], np.nan), np.where(keep, m["cop_y_mm"], np.nan)
        path, speed = fx.cop_path(t, x, y)
        for name, unit, formula, value in (
            ("contact area", "cm²", "contact_area", fx.mean(m["contact_area_cm2"][loaded])),
            (peak_name, peak_unit, "peak_pressure", fx.peak(m["peak"][keep])),
            ("CoP path length", "mm", "cop_path", path),
            ("CoP mean velocity", "mm/s", "cop_velocity", speed),
            ("CoP 95 % ellipse area", "mm²", "ellipse95", fx.ellipse_area(x, y)),
        ):
            out.append(Measure(name, BOTH, unit, w, formula, value))
    return out


def session_measures(session: Session, units: str = "N",
                     samples: Samples | None = None) -> SessionMeasures:
    """Every measure of a stored session in force unit ``units`` (``samples``: already read;
    a mat's own measures come from what its close derived, whatever the force unit)."""
    info = session.info
    if samples is None:
        samples = session.samples(units=units)
    spans, note = placement_spans(session.events())
    sides = channel_sides(info)
    blocks = _blocks(samples)
    subjects = {samples.names[j]: (f"{samples.names[j]} ({sides[samples.names[j]]})"
                                   if sides.get(samples.names[j]) not in (None,
                                                                          samples.names[j])
                                   else samples.names[j]) for j in blocks}
    subjects[BOTH] = "whole mat" if info.is_matrix else "both blocks"
    result = SessionMeasures(spans, note, subjects, force_measures(samples, sides, spans))
    if info.is_matrix:
        result.measures += mat_measures(session, spans)
    t = samples.time_s
    for w in result.windows:
        steps, seconds = fx.unbridged(t, None if w == SESSION else in_spans(t, spans))
        result.unbridged[w] = {"steps": steps, "seconds": seconds}
    return result
