"""A mat replay's heat map in headless Chromium: how often it is drawn against how often the page
itself draws, and what one drawing costs against the least a heat map can cost.

A 60 s session of a 48x48 uint16 mat at 30 frames/s (bench/matreplay.py's) is served by a real
``sotlog serve``; Debian's Chromium (``SOTLOG_CHROMIUM``, default /usr/bin/chromium) opens its
replay at 1366x768. Printed, at 1x and at 8x over 3 s each: heat-map updates a second, the
page's own animation frames a second (requestAnimationFrame: the most it can show), and the
time of one ``drawHeatmap`` (mean and 95th percentile), and of the page's whole animation frame
(traces, numbers and heat map). Then, in the page, 300 drawings of the
same frame by ``drawHeatmap`` against 300 of the floor: the frame's colours put into an image
of its size and scaled onto the canvas, and nothing else. Target: at 1x, the recorded rate
(30 frames/s) as far as the page draws at all.

    python bench/heatdraw.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from matreplay import record  # bench/matreplay.py, beside this file
from playwright.sync_api import sync_playwright
from serving import served  # bench/serving.py, beside this file
from tables import aligned  # bench/tables.py, beside this file

RATE = 30.0
CHROMIUM = os.environ.get("SOTLOG_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

# drawHeatmap timed where the replay calls it, and the page's animation frame (global
# functions, looked up at each call)
TIME_DRAWS = """() => {
  const draw = drawHeatmap, tick = frame;
  window.drawMs = [];
  window.frameMs = [];
  window.drawHeatmap = (...args) => {
    const t = performance.now();
    draw(...args);
    window.drawMs.push(performance.now() - t);
  };
  window.frame = () => {
    const t = performance.now();
    tick();
    window.frameMs.push(performance.now() - t);
  };
}"""
COUNTS = ("() => [performance.now(), S.matDrawn.count, S.ticks, window.drawMs.length, "
          "window.frameMs.length]")
# The same frame drawn n times by drawHeatmap, and n times by the floor; ms each.
IN_PAGE = """(n) => {
  const canvas = document.getElementById('mat'), [mat, opts] = canvas._last;
  let t = performance.now();
  for (let k = 0; k < n; k++) drawHeatmap(canvas, mat, opts);
  const ours = (performance.now() - t) / n;
  const ctx = canvas.getContext('2d'), img = new ImageData(mat.cols, mat.rows);
  const lut = new Uint32Array(256).map((_, i) => 0xff000000 | i * 0x10101);
  const px = new Uint32Array(img.data.buffer), scratch = document.createElement('canvas');
  [scratch.width, scratch.height] = [mat.cols, mat.rows];
  const sctx = scratch.getContext('2d');
  t = performance.now();
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < px.length; i++) px[i] = lut[mat.values[i]];
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(scratch, 0, 0, canvas.width, canvas.height);
  }
  drawHeatmap(canvas, mat, opts);
  return [ours, (performance.now() - t) / n];
}"""


def spread(ms_each: list[float]) -> list[float]:
    """Mean and 95th percentile."""
    ms_each = sorted(ms_each)
    if not ms_each:
        return [float("nan")] * 2
    return [sum(ms_each) / len(ms_each), ms_each[int(0.95 * (len(ms_each) - 1))]]


def measure(page: object, ms: int) -> list[float]:
    t0, d0, r0, n0, f0 = page.evaluate(COUNTS)  # type: ignore[attr-defined]
    page.wait_for_timeout(ms)  # type: ignore[attr-defined]
    t1, d1, r1, n1, f1 = page.evaluate(COUNTS)  # type: ignore[attr-defined]
    draws = page.evaluate(f"window.drawMs.slice({n0}, {n1})")  # type: ignore[attr-defined]
    frames = page.evaluate(f"window.frameMs.slice({f0}, {f1})")  # type: ignore[attr-defined]
    s = (t1 - t0) / 1000
    return [(d1 - d0) / s, (r1 - r0) / s, *spread(draws), *spread(frames)]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sotlog-bench-heatdraw-"))
    try:
        store = work / "s.sqlite3"
        sid = record(store, rate=RATE, seconds=60)
        with served(store) as http, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
            page.goto(f"{http.base_url}/replay/{sid}")
            page.wait_for_function("S.matDrawn && S.matDrawn.count > 10")
            page.evaluate(TIME_DRAWS)
            rows = [["1x", *measure(page, 3000)]]
            page.select_option("#speed", "8")
            page.wait_for_timeout(700)
            rows.append(["8x", *measure(page, 3000)])
            page.select_option("#speed", "1")
            page.click("#play")  # paused: the in-page drawings alone
            ours, floor = page.evaluate(IN_PAGE, 300)
            browser.close()
        print(f"replay of a 48x48 mat recorded at {RATE:g} frames/s, Chromium 1366x768")
        print("\n".join(aligned(["speed", "heat-map updates/s", "page frames/s (rAF)",
                                 "ms a drawing", "p95", "ms a page frame", "p95"],
                                [[w, *(f"{v:.1f}" for v in row[:2]),
                                  *(f"{v:.2f}" for v in row[2:])] for w, *row in rows])))
        one = rows[0]
        print(f"1x: {one[1]:.1f} updates/s of {min(RATE, one[2]):.1f} possible "
              f"(the recorded {RATE:g}/s, or the page's rAF rate if lower): "
              f"{one[1] / min(RATE, one[2]):.0%}")
        print(f"one drawing of the same frame: drawHeatmap {ours:.3f} ms, "
              f"baseline floor (image + scale) {floor:.3f} ms ({ours / floor:.1f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
