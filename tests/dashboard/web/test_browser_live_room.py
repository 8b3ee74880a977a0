"""The live page while a session records, in Chromium on a clinic laptop (1366x768) and a
projector (1920x1080): event labels never drawn over each other, the buttons on screen, the
recording's setup shown read-only in every tab and after a reload, a clean list for each new
session, and greyed values under a badge while the device is lost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.web.browser import (
    LAPTOP,
    expect,
    new_page,
    shot,
    wait_recorded_seconds,
)

pytestmark = pytest.mark.browser

SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}

# Every pair of event labels the traces drew whose boxes overlap.
OVERLAPS = """() => {
  const b = traces.labels, out = [];
  for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) {
    const p = b[i], q = b[j];
    if (p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h) out.push([p, q]);
  }
  return out;
}"""


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def on_screen(page: Any, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box)


def test_recording_in_the_room(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve("--simulate")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.fill("#subject_code", "P-0042")
    page.select_option("#category", "II")
    page.click('circle.landmark[data-side="left"][data-landmark="iliac_crest"]')
    page.click('circle.landmark[data-side="right"][data-landmark="acetabulum"]')
    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 1")
    wait_recorded_seconds(page, 0.5)
    # a burst of marks close together: each label drawn has a place of its own
    for i in range(14):
        r = server.http.post("/api/events", json={"kind": "marker", "text": f"mark {i} with words"})
        assert r.is_success, r.text
    page.wait_for_function("S.events.filter((e) => e.kind === 'marker').length === 14")
    # an event is drawn once the trace reaches its time (the axis ends at the newest sample,
    # which arrives in the next batch), on the next animation frame after that
    page.wait_for_function("traces.marks.length >= 14")
    assert page.evaluate(OVERLAPS) == []
    labels, marks = page.evaluate("[traces.labels.length, traces.marks.length]")
    assert 1 <= labels < marks and marks >= 14  # some thinned, none lost: every line drawn
    # a line without a label still says its whole text on hover (the traces move on with
    # time: the pointer is put on the newest line as it is drawn, in one evaluation)
    title, here = page.evaluate("""() => {
      const c = document.getElementById("traces"), r = c.getBoundingClientRect();
      const m = traces.marks[traces.marks.length - 1];
      c.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + m.x,
        clientY: r.top + r.height / 2 }));
      const x = m.x, y = r.height / 2;  // what the page may name there: a label under the
      // pointer, or a line within its 6 px reach
      const near = traces.marks.filter((k) => Math.abs(k.x - x) <= 6).map((k) => k.text);
      const over = traces.labels.filter((b) => x >= b.x && x <= b.x + b.w && y >= b.y
        && y <= b.y + b.h).map((b) => b.text);
      return [c.title, [...over, ...near]];
    }""")
    assert title in here and title.startswith("marker: mark "), (title, here)
    # the buttons a practitioner needs, on screen at the first scroll position, and as the
    # page is scrolled to its foot
    for selector in ("#tare", "#start", "#stop", "#eventbar button[data-kind=placed]",
                     "#eventbar button[data-kind=removed]", "#eventbar button[data-kind=note]"):
        on_screen(page, selector)
    page.mouse.wheel(0, 2000)
    for selector in ("#eventbar button[data-kind=placed]", "#eventbar button[data-kind=marker]"):
        on_screen(page, selector)
    shot(page, f"34-live-recording-{size}", full=False)
    assert page.evaluate("document.documentElement.scrollWidth") == page.evaluate(
        "document.documentElement.clientWidth")

    # a second tab, and this one reloaded: the recording's setup, read-only
    other = page.context.new_page()
    for tab in (other, page):
        if tab is page:
            page.reload()
        else:
            tab.goto(server.url + "/")
        expect(tab.locator("#subject_code")).to_have_value("P-0042")
        expect(tab.locator("#category")).to_have_value("II")
        expect(tab.locator("#block-rows tr")).to_have_count(2)
        expect(tab.locator("#setup-recording")).to_contain_text("Session 1 is recording")
        expect(tab.locator("#pelvis g.block")).to_have_count(2)
        expect(tab.locator("#pelvis .landmark[role=button]")).to_have_count(0)
        tab.locator('circle.landmark[data-side="left"][data-landmark="acetabulum"]').click(
            force=True)
        expect(tab.locator("#pelvis g.block")).to_have_count(2)  # the click placed nothing
        expect(tab.locator("#block-rows select:enabled")).to_have_count(0)
        # the reloaded list holds this session's marks at session times, no clock times
        expect(tab.locator("#events li[data-kind=marker]")).to_have_count(14)
        times = tab.locator("#events li .t").all_text_contents()
        assert all(re.fullmatch(r"\d+:\d\d", t) for t in times), times
    other.close()

    # the next session starts with a clean list
    page.click("#stop")
    expect(page.locator("#saved")).to_contain_text("Session 1 saved")
    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 2")
    expect(page.locator("#events li")).to_have_count(0)
    expect(page.locator("#setup-recording")).to_contain_text("Session 2 is recording")
    page.keyboard.press("p")
    expect(page.locator("#events li")).to_have_count(1)
    expect(page.locator("#events li .t")).to_have_text(re.compile(r"0:0\d"))
    assert page.errors == []


def test_values_grey_out_while_the_device_is_lost(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    url = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&disconnect_after=1.5&down=2"
    server = serve("--port", url, "--profile", "sim-loadcells")
    page.goto(server.url + "/")
    page.wait_for_function("S.t.length > 20")
    expect(page.locator("#state")).to_have_text("device lost")
    badge = page.locator("#away-badge")
    expect(badge).to_have_text(re.compile(r"^device lost since \d\d:\d\d:\d\d$"))
    expect(page.locator(".view")).to_have_class(re.compile(r"\bstale\b"))
    grey = page.evaluate("getComputedStyle(document.getElementById('readout')).filter")
    assert "grayscale(1)" in grey
    on_screen(page, "#away-badge")
    shot(page, f"35-live-device-lost-{size}", full=False)
    expect(page.locator("#state")).to_have_text("connected")
    expect(badge).to_be_hidden()
    expect(page.locator(".view")).not_to_have_class(re.compile(r"\bstale\b"))
    assert page.errors == []
