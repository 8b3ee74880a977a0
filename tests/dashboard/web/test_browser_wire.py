"""What the wire did, on the live page and the session page, in Chromium: a device that falls
silent with its port open, and a profile that makes nothing of the bytes it gets."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.dashboard.web.browser import expect, shot

pytestmark = pytest.mark.browser


def test_a_silent_device_shows_stalled_then_a_gap(serve: Any, page: Any) -> None:
    """sim:// silent from 1.5 s to 4 s: the pill says so while it lasts, the banner explains,
    and when data returns the state is connected again and a gap event is listed."""
    url = "sim://loadcells?blocks=2&rate=80&protocol=blockframe&pause_after=1.5&pause=2.5"
    server = serve("--port", url, "--profile", "sim-loadcells-blockframe")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_class(re.compile(r"\bstalled\b"), timeout=10_000)
    expect(page.locator("#state")).to_contain_text(re.compile(r"device silent \d+ s"))
    expect(page.locator("#banner")).to_contain_text("the device is silent")
    shot(page, "21-device-stalled")
    expect(page.locator("#state")).to_have_text("connected", timeout=10_000)
    expect(page.locator('#events li[data-kind="gap"]')).to_have_count(1)
    expect(page.locator('#events li[data-kind="stall"]')).to_have_count(1)
    expect(page.locator("#counters [data-counter=stalls] b")).to_have_text("1")


def test_a_session_that_decoded_nothing_says_so_in_red(serve: Any, page: Any) -> None:
    """The load-cell simulator read with the mat profile: the live counters, the stop message
    and the session page carry the server's red line."""
    server = serve("--port", "sim://loadcells?blocks=2&rate=80&protocol=lines&speed=5",
                   "--profile", "sim-mat")
    page.goto(server.url + "/")
    bad = page.locator("#counters .decoded-nothing")
    expect(bad).to_contain_text("decoded nothing: ")
    expect(bad).to_have_css("color", "rgb(179, 38, 30)")  # style.css --bad
    page.click("#start")
    expect(page.locator("#session-counters .decoded-nothing")).to_contain_text("0 frames")
    time.sleep(0.5)
    page.click("#stop")
    expect(page.locator("#saved .decoded-nothing")).to_contain_text("is the profile right?")
    shot(page, "22-decoded-nothing-live")
    sid = server.http.get("/api/sessions").json()[0]["id"]
    page.goto(f"{server.url}/sessions/{sid}")
    expect(page.locator("#decoded-nothing")).to_be_visible()
    expect(page.locator("#decoded-nothing")).to_contain_text("decoded nothing: ")
    shot(page, "23-decoded-nothing-session")
