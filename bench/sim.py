"""What the simulated devices cost to generate: CPU seconds per simulated second.

Run: ``python bench/sim.py``. Each device renders its samples in the chunks the bridge reads
(a sample at a time for the load cells, five frames for the mat), best of three; the baseline
is numpy drawing the same number of normal values in one call, the floor of any noise model.
Targets: under 1 % of a core for 4 cells at 80 Hz, under 25 % for a 48x48 mat at 100 fps.
"""

from __future__ import annotations

import time

import numpy as np

from firmware_bridge import sim
from firmware_bridge.sim import LoadcellDevice, MatDevice


def cpu_share(render: object, rate: float, seconds: float, chunk: int) -> float:
    n = int(seconds * rate)
    best = float("inf")
    for rep in range(3):
        start = time.process_time()
        for k in range(rep * n, (rep + 1) * n, chunk):
            render(k, k + chunk)  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best / seconds


def floor_share(values_per_second: int, seconds: float) -> float:
    rng = np.random.default_rng(1)
    start = time.process_time()
    rng.normal(size=int(values_per_second * seconds))
    return (time.process_time() - start) / seconds


def main() -> None:
    cells = LoadcellDevice(sim.parse_sim_url("sim://loadcells?blocks=4&rate=80")[1])
    mat = MatDevice(sim.parse_sim_url("sim://mat?rows=48&cols=48&rate=100")[1])
    rows = [("4 load cells, 80 Hz, lines", cpu_share(cells.render, 80, 10, 1),
             floor_share(4 * 80, 10), 0.01),
            ("48x48 mat, 100 fps, blockframe", cpu_share(mat.render, 100, 2, 5),
             floor_share(48 * 48 * 100, 2), 0.25)]
    print(f"{'device':32} {'CPU per sim. s':>15} {'numpy floor':>12} {'target':>8}")
    for name, share, floor, target in rows:
        met = "met" if share < target else "NOT met"
        print(f"{name:32} {100 * share:14.2f}% {100 * floor:11.3f}% {100 * target:6.0f}% {met}")


if __name__ == "__main__":
    main()
