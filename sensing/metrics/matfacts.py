"""What ``sotlog show`` says about a mat session: geometry, regions, contact and centre of pressure.

Measured quantities with units, summarised over the frames that carry load; nothing more. Read
from the session's derived data (``Session.mat_derived``), so no frame is decoded here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.frames import FLAG_AFTER_GAP, FLAG_OUT_OF_RANGE
from sensing.mat.measures import sensel_area_cm2, total_factor, total_unit
from sensing.mat.regions import region_corners_mm
from sensing.store.matread import session_matrix

if TYPE_CHECKING:
    from sensing.store.read import Session


def _stats(x: np.ndarray) -> dict[str, float | None]:
    x = x[np.isfinite(x)]
    if not x.size:
        return {"mean": None, "min": None, "max": None}
    return {"mean": float(x.mean()), "min": float(x.min()), "max": float(x.max())}


def _cop(m: dict[str, np.ndarray], loaded: np.ndarray) -> dict[str, Any]:
    return {"x_mm": _stats(m["cop_x_mm"][loaded]), "y_mm": _stats(m["cop_y_mm"][loaded])}


def mat_facts(session: Session, units: str = "N") -> dict[str, Any]:
    """Geometry, regions (sensels and mm), contact area, peak and centre of pressure summaries.

    Area, peak and centre of pressure are summarised over frames with any load (``loaded``).
    """
    matrix = session_matrix(session)
    derived = session.mat_derived()
    whole = derived.whole
    loaded = np.isfinite(whole["cop_x_mm"])
    factor = total_factor(matrix, units)  # block totals as Session.samples has them, unit aside
    region_facts = []
    for j, r in enumerate(derived.regions):
        x0, x1, y0, y1 = region_corners_mm(r, matrix)
        m = derived.per_region[r.name]
        region_facts.append({
            **r.as_dict(), "x_mm": [x0, x1], "y_mm": [y0, y1],
            "total_mean": _stats(derived.sums.plain[:, j][loaded] * factor)["mean"],
            "cop": _cop(m, np.isfinite(m["cop_x_mm"])),
        })
    flags = derived.frame["flags"]
    return {
        "rows": matrix.rows, "cols": matrix.cols, "pitch_mm": list(matrix.pitch_mm),
        "sensel_area_cm2": sensel_area_cm2(matrix), "unit": matrix.unit,
        "raw_range": [matrix.raw_min, matrix.raw_max], "noise_threshold": matrix.noise_threshold,
        "head_edge": matrix.head_edge, "patient_left": matrix.patient_left,
        "regions_from": derived.regions_from,
        "regions": region_facts,
        "frames": len(derived), "loaded_frames": int(loaded.sum()),
        "flagged_out_of_range": int(((flags & FLAG_OUT_OF_RANGE) != 0).sum()),
        "flagged_after_gap": int(((flags & FLAG_AFTER_GAP) != 0).sum()),
        "contact_area_cm2": _stats(whole["contact_area_cm2"][loaded]),
        "peak": {**_stats(whole["peak"][loaded]), "unit": matrix.unit},
        "total_unit": total_unit(matrix, units),
        "cop": _cop(whole, loaded),
    }


def _n(x: float | None, digits: int = 1) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _span(s: dict[str, float | None], unit: str) -> str:
    return f"mean {_n(s['mean'])} {unit} ({_n(s['min'])} to {_n(s['max'])})"


def mat_fact_lines(facts: dict[str, Any]) -> list[str]:
    """``mat_facts`` as the indented lines ``sotlog show`` prints."""
    f = facts
    pr, pc = f["pitch_mm"]
    lo, hi = f["raw_range"]
    lines = [
        f"  mat         {f['rows']} x {f['cols']} sensels, pitch {pr:g} x {pc:g} mm "
        f"({f['sensel_area_cm2']:g} cm² each), unit {f['unit']}, raw range {lo:g}..{hi:g}, "
        f"noise threshold {f['noise_threshold']:g}",
        f"  mounting    head at image {f['head_edge']}, patient's left at image "
        f"{f['patient_left']}",
    ]
    how = {"person": "kept by a person", "found": "found on the mean frame",
           "none": "none (no load)"}[f["regions_from"]]
    lines.append(f"  regions     {how}")
    for r in f["regions"]:
        (x0, x1), (y0, y1) = r["x_mm"], r["y_mm"]
        lines.append(
            f"    {r['name']:<8} rows {r['r0']}:{r['r1']} cols {r['c0']}:{r['c1']}  "
            f"x {x0:g} to {x1:g} mm, y {y0:g} to {y1:g} mm  ({r['source']}); "
            f"CoP x {_n(r['cop']['x_mm']['mean'])} mm, y {_n(r['cop']['y_mm']['mean'])} mm")
    lines += [
        f"  loaded      {f['loaded_frames']} of {f['frames']} frames; flagged: out of range "
        f"{f['flagged_out_of_range']}, after a gap {f['flagged_after_gap']}",
        f"  contact     area {_span(f['contact_area_cm2'], 'cm²')}; peak sensel "
        f"{_span(f['peak'], f['peak']['unit'])}",
        f"  CoP         x {_span(f['cop']['x_mm'], 'mm')}; y {_span(f['cop']['y_mm'], 'mm')} "
        "(x + toward patient's left, y + toward head)",
    ]
    return lines
