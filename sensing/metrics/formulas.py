"""The formulas of the descriptive measures, one function each, on plain numpy arrays.

Each takes the frames of one window (session seconds ``t`` and values) and returns a number,
or None when the window holds too little to compute it. Frames further apart than
``onblocks.MAX_STEP_S`` (a disconnect) are never joined: integrals and paths stop at the gap
and start again after it. ``FORMULAS`` says each in words; docs/metrics.md shows them too.
"""

from __future__ import annotations

import math

import numpy as np

from sensing.metrics.onblocks import MAX_STEP_S

OSCILLATION_BAND_HZ = (0.1, 0.7)
OSCILLATION_MIN_S = 30.0  # three cycles at the band's low edge
OSCILLATION_PAD = 8  # zero-padding factor: the spectrum read between its bins
CHI2_2DOF_95 = -2.0 * math.log(0.05)  # chi-square quantile, 2 degrees of freedom, p = 0.95

# Formula id -> the formula in words (``sotlog show``, the page and the report cite the id).
FORMULAS: dict[str, str] = {
    "mean": "arithmetic mean of the frames' values in the window",
    "peak": "largest frame value in the window",
    "sd": "population standard deviation of the frames' values: sqrt(mean((x - mean)^2))",
    "fti": "force-time integral: trapezoid sum of 0.5*(F[i]+F[i+1])*(t[i+1]-t[i]) over "
           "successive frames in the window; a step longer than 1 s (a gap) or with a missing "
           "value adds nothing",
    "share": "block mean / sum of the block means * 100",
    "side_share": "sum of one side's block means / sum of all block means * 100",
    "symmetry": "(R - L) / (0.5 * (R + L)) * 100, R and L the summed means of the right and "
                "left blocks",
    "onblocks_rule": "time the total force is above the on-the-blocks threshold (each frame "
                     "counts until the next, at most 1 s)",
    "placed_removed": "sum of (removed - placed) over each placed-to-removed pair",
    "contact_area": "mean over loaded frames of (loaded sensels * sensel area)",
    "peak_pressure": "largest loaded sensel value in the window",
    "cop_path": "sum of the distances between successive centres of pressure; steps across a "
                "gap or an unloaded frame add nothing",
    "cop_velocity": "centre-of-pressure path length / the time of the steps it sums",
    "ellipse95": "95 % prediction ellipse of the centre of pressure: "
                 "pi * chi2(0.95, 2) * sqrt(det(cov(x, y))), chi2(0.95, 2) = -2 ln 0.05",
    "oscillation": "the largest component of the total force between 0.1 and 0.7 Hz: longest "
                   "gap-free stretch of at least 30 s, resampled evenly at its median step, "
                   "linear trend removed, Hann window, FFT zero-padded 8x; frequency * 60",
    "oscillation_amplitude": "amplitude of that component: 2 * |X(f)| / sum(window)",
}


def _finite(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


def mean(x: np.ndarray) -> float | None:
    x = _finite(x)
    return float(x.mean()) if x.size else None


def peak(x: np.ndarray) -> float | None:
    x = _finite(x)
    return float(x.max()) if x.size else None


def sd(x: np.ndarray) -> float | None:
    x = _finite(x)
    return float(x.std()) if x.size else None


def joined_steps(t: np.ndarray, *values: np.ndarray) -> np.ndarray:
    """Which steps ``i -> i+1`` join two frames: no longer than MAX_STEP_S, both values known."""
    if t.size < 2:
        return np.zeros(0, bool)
    ok = np.diff(t) <= MAX_STEP_S
    for v in values:
        known = np.isfinite(v) if v.ndim == 1 else np.isfinite(v).all(axis=1)
        ok &= known[:-1] & known[1:]
    return ok


def unbridged(t: np.ndarray, keep: np.ndarray | None = None) -> tuple[int, float]:
    """Steps longer than MAX_STEP_S between frames both ``keep`` (gaps that no integral or
    path crosses): how many, and their seconds."""
    if t.size < 2:
        return 0, 0.0
    dt = np.diff(t)
    long = dt > MAX_STEP_S
    if keep is not None:
        long &= keep[:-1] & keep[1:]
    return int(long.sum()), float(dt[long].sum())


def force_time_integral(t: np.ndarray, f: np.ndarray) -> float | None:
    """Trapezoid sum over joined steps only, in the force unit times seconds."""
    if t.size < 2:
        return None
    ok = joined_steps(t, f)
    area = 0.5 * (f[:-1] + f[1:]) * np.diff(t)
    return float(area[ok].sum())


def share(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole == 0:
        return None
    return 100.0 * part / whole


def symmetry_index(right: float | None, left: float | None) -> float | None:
    """(R - L) / (0.5 (R + L)) * 100; None when R + L is zero or either is unknown."""
    if right is None or left is None or right + left == 0:
        return None
    return (right - left) / (0.5 * (right + left)) * 100.0


def cop_path(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    """(path length, mean velocity) over joined steps: length in x's unit, velocity per second."""
    if t.size < 2:
        return None, None
    ok = joined_steps(t, x, y)
    if not ok.any():
        return None, None
    step = np.hypot(np.diff(x), np.diff(y))
    length = float(step[ok].sum())
    seconds = float(np.diff(t)[ok].sum())
    return length, (length / seconds if seconds > 0 else None)


def ellipse_area(x: np.ndarray, y: np.ndarray) -> float | None:
    """95 % prediction ellipse area, pi * chi2 * sqrt(det(cov)) (sample covariance, n - 1)."""
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3:
        return None
    cov = np.cov(x[keep], y[keep])
    det = float(np.linalg.det(cov))
    return math.pi * CHI2_2DOF_95 * math.sqrt(max(det, 0.0))


def longest_run(t: np.ndarray) -> slice:
    """The longest stretch of frames with no step longer than MAX_STEP_S."""
    if t.size < 2:
        return slice(0, t.size)
    cuts = np.flatnonzero(np.diff(t) > MAX_STEP_S) + 1
    edges = np.concatenate([[0], cuts, [t.size]])
    spans = t[edges[1:] - 1] - t[edges[:-1]]
    k = int(np.argmax(spans))
    return slice(int(edges[k]), int(edges[k + 1]))


def oscillation(t: np.ndarray, f: np.ndarray) -> tuple[float | None, float | None]:
    """(dominant frequency in cycles/min, its amplitude) of ``f`` in OSCILLATION_BAND_HZ."""
    keep = np.isfinite(f)
    t, f = t[keep], f[keep]
    run = longest_run(t)
    t, f = t[run], f[run]
    if t.size < 8 or t[-1] - t[0] < OSCILLATION_MIN_S:
        return None, None
    step = float(np.median(np.diff(t)))
    if step <= 0:
        return None, None
    even = np.arange(t[0], t[-1], step)
    g = np.interp(even, t, f)
    g = g - np.polyval(np.polyfit(even - even[0], g, 1), even - even[0])
    w = np.hanning(g.size)
    n_fft = OSCILLATION_PAD * g.size
    spectrum = np.abs(np.fft.rfft(g * w, n_fft))
    freq = np.fft.rfftfreq(n_fft, step)
    lo, hi = OSCILLATION_BAND_HZ
    band = (freq >= lo) & (freq <= hi)
    if not band.any():
        return None, None
    k = np.flatnonzero(band)[int(np.argmax(spectrum[band]))]
    return float(freq[k] * 60.0), float(2.0 * spectrum[k] / w.sum())
