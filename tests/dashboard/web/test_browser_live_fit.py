"""The live page's first screen while a session records, in Chromium on a clinic laptop
(1366x768), a small projector (1280x720) and a large one (1920x1080), for load cells and for a
mat: the traces, their time labels included, sit whole above the event bar kept at the screen's
foot (they take the height left by what is above them, however tall that is), nothing scrolls
sideways, and Tare, Start, Stop and the event buttons are on screen with nothing over them. In
presentation mode (no event bar: the keys mark events) the traces and the heat map fit the screen
with nothing to scroll."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.web.browser import LAPTOP, expect, new_page, shot, wait_recorded_seconds

pytestmark = pytest.mark.browser

SCREENS = {"laptop": LAPTOP, "720p": {"width": 1280, "height": 720},
           "1080p": {"width": 1920, "height": 1080}}
DEVICES = {"cells": ("--simulate",),
           "mat": ("--port", "sim://mat?rows=48&cols=48&rate=30&protocol=blockframe&seed=1",
                   "--profile", "sim-mat-48")}
BUTTONS = ["#tare", "#start", "#stop", "#eventbar button[data-kind=placed]",
           "#eventbar button[data-kind=removed]", "#eventbar button[data-kind=marker]",
           "#eventbar button[data-kind=note]"]

# The first screen now: the boxes of the traces, the event bar and the heat map ([top, bottom,
# left, right], null when not shown), the traces' time labels, what a pointer at the middle of
# each button would touch (the button itself when nothing lies over it), and the page's width
# and height against the window's.
FIRST_SCREEN = """(buttons) => {
  const box = (id) => {
    const n = document.getElementById(id);
    if (!n || !n.checkVisibility()) return null;
    const r = n.getBoundingClientRect();
    return [r.top, r.bottom, r.left, r.right];
  };
  const root = document.documentElement;
  return { traces: box("traces"), bar: box("eventbar"), mat: box("mat"),
    timeLabels: traces.ticks ? traces.ticks.x : [],
    buttons: Object.fromEntries(buttons.map((sel) => {
      const b = document.querySelector(sel);
      if (!b.checkVisibility()) return [sel, "hidden"];
      const r = b.getBoundingClientRect(), x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
      const whole = r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth;
      return [sel, whole && b.contains(document.elementFromPoint(x, y)) ? "seen" : "covered"];
    })),
    scroll: [window.scrollY, root.scrollWidth, root.clientWidth, root.scrollHeight,
      root.clientHeight] };
}"""


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def first_screen(page: Any) -> dict[str, Any]:
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got: dict[str, Any] = page.evaluate(FIRST_SCREEN, BUTTONS)
    assert got["scroll"][0] == 0, got["scroll"]  # the first screen, not scrolled
    assert got["scroll"][1] == got["scroll"][2], got["scroll"]  # nothing to scroll sideways
    assert got["timeLabels"], got  # the time axis is labelled
    return got


@pytest.mark.parametrize("device", list(DEVICES))
def test_the_traces_sit_above_the_event_bar(serve: Any, screen: tuple[str, Any],
                                            device: str) -> None:
    size, page = screen
    server = serve(*DEVICES[device])
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 1")
    wait_recorded_seconds(page, 0.5)
    if device == "mat":
        page.wait_for_function("S.lastMat && S.lastMat.regions.length == 2", timeout=30_000)
    got = first_screen(page)
    shot(page, f"46-live-fit-{device}-{size}", full=False)
    (top, bottom, _, _), bar = got["traces"], got["bar"]
    assert bar is not None and bar[1] <= got["scroll"][4] + 0.5, got  # the bar at the foot
    assert top >= 0 and bottom <= bar[0] + 0.5, got  # the traces whole above the bar
    assert bottom - top >= 120, got  # and a trace to read, not a strip
    assert got["buttons"] == dict.fromkeys(BUTTONS, "seen"), got["buttons"]

    page.click("#present")
    expect(page.locator("body")).to_have_class("present")
    got = first_screen(page)
    shot(page, f"46-live-fit-{device}-{size}-present", full=False)
    height = got["scroll"][4]
    assert got["scroll"][3] <= height, got["scroll"]  # nothing to scroll
    assert got["bar"] is None  # presenting: the keys mark events
    for part in ("traces", "mat") if device == "mat" else ("traces",):
        top, bottom, left, right = got[part]
        assert top >= 0 and bottom <= height + 0.5 and bottom - top >= 120, (part, got)
        assert left >= 0 and right <= got["scroll"][2] + 0.5, (part, got)
    assert got["buttons"]["#stop"] == "seen", got["buttons"]
    assert page.errors == []
