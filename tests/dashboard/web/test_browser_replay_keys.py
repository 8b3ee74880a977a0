"""The replay's keys in Chromium, whatever has the focus: after the scrub bar is used, Space,
the arrows and F still play, scrub and present; the events sit on the scrub bar as ticks; `,`
and `.` step one frame, `[` and `]` go to the previous and next event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.web.browser import LAPTOP, expect, new_page, shot, wait_session_frames

pytestmark = pytest.mark.browser

SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def recorded(server: Any) -> int:
    """A session of about 4 s with two marks a second apart."""
    assert server.http.post("/api/recording", json={"position": "prone"}).status_code == 201
    for frames, text in ((80, "first"), (160, "second")):
        wait_session_frames(server, frames)
        assert server.http.post("/api/events", json={"kind": "marker", "text": text}).is_success
    wait_session_frames(server, 320)
    return int(server.http.post("/api/recording/stop").json()["session_id"])


def test_replay_keys_work_after_the_scrub_bar(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve("--simulate")
    sid = recorded(server)
    events = [e["time_s"] for e in server.http.get(f"/api/sessions/{sid}/events").json()
              if e["kind"] == "marker"]
    page.goto(f"{server.url}/replay/{sid}")
    page.wait_for_function("S.replay && S.replay.complete")
    page.keyboard.press("Space")
    page.wait_for_function("!S.replay.playing")

    # the ticks: one per event, where its time falls along the bar
    ticks = page.locator("#scrub-ticks .tick[data-kind=marker]")
    expect(ticks).to_have_count(2)
    bar = page.locator("#scrub").bounding_box()
    duration = page.evaluate("S.replay.duration")
    for i, t in enumerate(events):
        box = ticks.nth(i).bounding_box()
        want = bar["x"] + 8 + (bar["width"] - 16) * t / duration
        assert abs(box["x"] + box["width"] / 2 - want) < 2, (box, want)
        assert box["y"] >= bar["y"] + bar["height"] - 1  # under the bar, not over the thumb

    # use the scrub bar with the mouse, then the keys: each does what it says, not the slider's
    page.locator("#scrub").click(position={"x": bar["width"] / 2, "y": bar["height"] / 2})
    mid = page.evaluate("S.replay.t")
    assert abs(mid - duration / 2) < duration * 0.1
    page.keyboard.press("Space")
    page.wait_for_function("S.replay.playing")
    page.keyboard.press("Space")
    page.wait_for_function("!S.replay.playing")
    page.keyboard.press("Home")
    assert page.evaluate("S.replay.t") == 0
    # the slider itself, focused by the keyboard: the arrows still move 5 s, not 0.01 s
    page.locator("#scrub").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("S.replay.t") == pytest.approx(min(5.0, duration))
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("S.replay.t") == 0
    # one frame on and back: the samples' own times
    times = page.evaluate("S.t.slice(0, 3)")
    page.keyboard.press(".")
    assert page.evaluate("S.replay.t") == times[0]
    page.keyboard.press(".")
    assert page.evaluate("S.replay.t") == times[1]
    page.keyboard.press(",")
    assert page.evaluate("S.replay.t") == times[0]
    # next and previous event
    page.keyboard.press("]")
    assert page.evaluate("S.replay.t") == pytest.approx(events[0])
    page.keyboard.press("]")
    assert page.evaluate("S.replay.t") == pytest.approx(events[1])
    page.keyboard.press("[")
    assert page.evaluate("S.replay.t") == pytest.approx(events[0])
    # a tick is a way there too; and the speed list, once chosen, leaves the keys alone
    ticks.nth(1).click()
    assert page.evaluate("S.replay.t") == pytest.approx(events[1])
    page.select_option("#speed", "8")
    page.keyboard.press("f")
    expect(page.locator("body")).to_have_class("present")
    page.keyboard.press("Space")
    page.wait_for_function("S.replay.playing && S.replay.speed === 8")
    shot(page, f"33-replay-keys-{size}", full=False)
    assert page.errors == []
