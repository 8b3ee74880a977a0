"""Per-frame cost of the mat measures, block channels and animation pictures.

Run: /tmp/venv/bin/python bench/mat_measures.py
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from firmware_bridge.profiles import Matrix
from sensing.mat import block_channels, frame_measures, regions_for_session
from sensing.outputs.matplots import write_animation

SHAPES = ((10, 16), (16, 16), (32, 64), (48, 48), (64, 64))
N = 500


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def synthetic(rows: int, cols: int, n: int = N) -> np.ndarray:
    """Two loaded footprints on a noisy mat, the load slowly rising."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 40, size=(n, rows, cols)).astype(np.float64)
    ramp = np.linspace(0.5, 1.0, n)[:, None, None]
    r0, r1 = rows // 4, 3 * rows // 4
    frames[:, r0:r1, cols // 8: 3 * cols // 8] += 2000 * ramp
    frames[:, r0:r1, 5 * cols // 8: 7 * cols // 8] += 1800 * ramp
    return frames.astype(np.uint16)


def main() -> None:
    print(f"{'mat':>7} {'frame_measures':>16} {'block_channels':>16}   (per frame, {N} frames)")
    for rows, cols in SHAPES:
        matrix = Matrix(rows=rows, cols=cols, pitch_mm=(8.4, 8.4), noise_threshold=60,
                        unit="kPa", scale=0.05, raw_max=4095)
        frames = synthetic(rows, cols)
        regions = regions_for_session(frames, matrix)
        t_measures = best_of(partial(frame_measures, frames, matrix)) / N
        t_blocks = best_of(partial(block_channels, frames, matrix, regions)) / N
        print(f"{rows:>3}x{cols:<3} {t_measures * 1e6:>13.1f} us {t_blocks * 1e6:>13.1f} us")
    matrix = Matrix(rows=48, cols=48, pitch_mm=(8.4, 8.4), noise_threshold=60, raw_max=4095)
    frames = synthetic(48, 48, 200)
    times = np.arange(200) * 0.1
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".gif", ".mp4"):
            t0 = time.perf_counter()
            write_animation(frames, times, matrix, Path(folder) / f"a{suffix}", fps=10)
            spent = time.perf_counter() - t0
            print(f"write_animation 48x48 {suffix}: {spent / 200 * 1e3:.2f} ms per picture "
                  f"(200 pictures, {spent:.2f} s with the figure drawn once)")


if __name__ == "__main__":
    main()
