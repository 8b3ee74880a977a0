"""A server that stops never loses a session silently: the live page, in Chromium, while
``sotlog serve`` is stopped and started again on the same store and port."""

from __future__ import annotations

import re
import signal
from typing import Any

import pytest

from tests.dashboard.web.browser import (
    expect,
    plural,
    serve_again,
    shot,
    stop_with,
    wait_recorded_seconds,
    wait_session_frames,
)

pytestmark = pytest.mark.browser


def _interrupted(at_s: float, reason: str, frames: int, events: int) -> str:
    """What the page says about session 1, ended interrupted."""
    at = f"{int(at_s) // 60}:{int(at_s) % 60:02d}"
    return (f"Session 1 was interrupted at {at}: {reason}. "
            f"Kept: {plural(frames, 'frame')}, {plural(events, 'event')}.")


def _dismiss_for_good(page: Any) -> None:
    """Dismiss the notice: it stays dismissed for that session, also on the next load."""
    page.click("#notice-dismiss")
    expect(page.locator("#notice")).to_be_hidden()
    page.reload()
    expect(page.locator("#state")).to_have_text("connected")
    page.wait_for_function("S.t.length > 0")
    expect(page.locator("#notice")).to_be_hidden()


def _kept(stderr: str) -> tuple[int, int]:
    """The frames and events ``sotlog serve`` said it kept when it ended the session."""
    found = re.search(r"session 1 ended interrupted: .*; kept (\d+) frames, (\d+) events", stderr)
    assert found, stderr
    return int(found[1]), int(found[2])


def test_a_stopped_server_is_said_and_a_mark_made_meanwhile_is_stored(serve: Any,
                                                                        laptop_page: Any) -> None:
    page = laptop_page
    server = serve("--simulate")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 1")
    wait_recorded_seconds(page, 1.0)
    page.locator("body").click(position={"x": 700, "y": 5})  # focus off the form fields
    page.keyboard.press("p")
    expect(page.locator("#events li[data-kind=placed][data-source=person]")).to_have_count(1)

    frames, events = _kept(stop_with(server, signal.SIGTERM))
    expect(page.locator("#state")).to_have_text("live stream lost — reconnecting")
    expect(page.locator("#banner")).to_contain_text("kept in this page")
    page.keyboard.press("r")  # marked while nothing answers
    queued = page.locator("#queued li[data-queued]")
    expect(queued).to_have_count(1)
    expect(queued).to_have_attribute("data-state", "queued")
    expect(queued).to_contain_text("removed")
    expect(queued).to_contain_text("queued in this page, not stored yet")
    marked = page.evaluate("JSON.parse(sessionStorage.getItem('sotlog.outbox'))[0]")
    assert marked["session_id"] == 1 and marked["kind"] == "removed"
    shot(page, "17-server-down-mark-queued", full=False)

    again = serve_again(server, "--simulate")
    try:
        notice = page.locator("#notice")
        expect(notice).to_be_visible()  # the page reconnected by itself
        info = again.http.get("/api/sessions/1").json()
        assert info["status"] == "interrupted"
        expect(page.locator("#notice-text")).to_have_text(_interrupted(
            info["duration_s"], "sotlog serve was stopped (SIGTERM)", frames, events))
        expect(page.locator("#saved")).to_have_text("")  # not "Recording session 1…"
        expect(queued).to_have_attribute("data-state", "stored")
        expect(queued).to_contain_text("stored in session 1 at ")
        expect(queued).to_contain_text("added after its recording had ended")
        assert page.evaluate("sessionStorage.getItem('sotlog.outbox')") == "[]"
        stored = [e for e in again.http.get("/api/sessions/1/events").json()
                  if e["kind"] == "removed"]
        assert len(stored) == 1
        assert stored[0]["data"]["sent_after_the_recording"] is True
        # at the session time the page marked it: after the server stopped recording
        assert stored[0]["time_s"] == pytest.approx(marked["time_s"], abs=1e-3)
        assert stored[0]["time_s"] >= info["duration_s"] - 0.1
        expect(page.locator("#rec")).to_be_hidden()
        expect(page.locator("#eventbar button[data-kind=placed]")).to_be_disabled()
        shot(page, "18-session-interrupted", full=False)
        _dismiss_for_good(page)
        assert page.errors == []
    finally:
        again.stop()


def test_a_session_found_interrupted_at_start_is_said_until_dismissed(serve: Any,
                                                                      laptop_page: Any) -> None:
    page = laptop_page
    server = serve("--simulate")
    http = server.http
    assert http.post("/api/recording", json={"subject_code": "P-0051"}).status_code == 201
    assert http.post("/api/events", json={"kind": "placed"}).status_code == 201
    wait_session_frames(server, 100)
    stop_with(server, signal.SIGKILL)  # a crash: nothing ends the session

    again = serve_again(server, "--simulate")
    try:
        ended = again.http.get("/api/status").json()["ended"]
        assert ended["session_id"] == 1 and ended["found_at_start"] is True
        assert ended["status"] == "interrupted"
        page.goto(again.url + "/")
        notice = page.locator("#notice")
        expect(notice).to_be_visible()
        expect(page.locator("#notice-text")).to_have_text(_interrupted(
            ended["duration_s"], ended["reason"], ended["frames"], ended["events"]))
        expect(page.locator("#notice-link")).to_have_attribute("href", "/sessions/1")
        shot(page, "19-found-interrupted", full=False)
        _dismiss_for_good(page)
        assert page.errors == []
    finally:
        again.stop()
