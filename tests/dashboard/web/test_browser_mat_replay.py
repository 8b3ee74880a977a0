"""A mat session's replay in Chromium: every recorded frame drawn at 1x (the page measures its
own frame rate), smooth at 8x, in the one colour map with its scale, the same edge words as
the live and stored pictures, and the centre of pressure's trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sensing.mat.orientation import PICTURE_EDGES
from sensing.store.sessions import Store
from tests.dashboard.web.browser import LAPTOP, new_page, shot
from tests.sensing.outputs.test_exports import record_session

pytestmark = pytest.mark.browser

SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}
RATE = 30.0

# What the page has drawn so far: mat frames, animation frames (its own drawing rate, which a
# loaded machine lowers), and the session times of the last mat frames drawn.
COUNTS = ("[performance.now(), S.matDrawn.count, S.ticks, S.matDrawn.times.slice(-30), "
          "S.matDrawn.waiting]")


def measure(page: Any, ms: int) -> dict[str, float]:
    """Mat frames drawn a second and the page's animation frames a second over ``ms``, and the
    median and smallest step of session time between two mat frames drawn."""
    t0, drawn0, ticks0, _, waiting0 = page.evaluate(COUNTS)
    page.wait_for_timeout(ms)  # the page's own clock is what is measured
    t1, drawn1, ticks1, times, waiting1 = page.evaluate(COUNTS)
    seconds = (t1 - t0) / 1000
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    return {"fps": (drawn1 - drawn0) / seconds, "ticks": (ticks1 - ticks0) / seconds,
            "step": steps[len(steps) // 2], "back": steps[0],
            "waiting": (waiting1 - waiting0) / max(1, ticks1 - ticks0)}


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def test_mat_replay_plays_every_frame(store_path: Path, serve: Any,
                                      screen: tuple[str, Any]) -> None:
    size, page = screen
    sid = record_session(Store.open(store_path), "mat", n=int(60 * RATE), rate=RATE, seed=3)
    server = serve()
    page.goto(f"{server.url}/replay/{sid}")
    page.wait_for_function("S.matDrawn && S.matDrawn.count > 10")
    one = measure(page, 1500)
    # the recorded frames (30 a second) as far as the page draws at all (a machine busy with
    # other work lowers both; a tick between two frames draws nothing new): the frames are
    # there before they are due, never waited for
    print(f"\n{size} 1x: heat map {one['fps']:.1f} updates/s, page {one['ticks']:.1f} frames/s")
    assert one["fps"] >= 0.8 * min(RATE, one["ticks"]) and one["fps"] > 10, one
    assert one["waiting"] == 0, one
    assert one["step"] <= 2.5 / RATE and one["back"] > 0, one  # frame by frame, onward
    mat = page.evaluate("S.lastMat")
    assert mat["edges"] == PICTURE_EDGES
    assert page.evaluate("document.getElementById('mat')._layout.bar.h") > 50  # its scale
    assert page.evaluate("document.getElementById('mat')._last[1].trail.length") > 10
    page.select_option("#speed", "8")
    page.wait_for_timeout(700)  # the frames further ahead that 8x needs come in
    fast = measure(page, 1500)
    print(f"{size} 8x: heat map {fast['fps']:.1f} updates/s, page {fast['ticks']:.1f} frames/s")
    # smooth at 8x: a drawing each animation frame, each a short step on (no jumps of seconds):
    # a step is what 8x covers between two animation frames
    assert fast["fps"] >= 0.7 * min(8 * RATE, fast["ticks"]) and fast["fps"] > 10, fast
    assert fast["waiting"] < 0.05, fast
    assert fast["step"] <= 1.5 * 8 / fast["ticks"] + 1 / RATE and fast["back"] > 0, fast
    shot(page, f"39-mat-replay-{size}", full=False)
    assert page.errors == []
