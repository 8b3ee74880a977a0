"""Presentation mode in Chromium on a projector's screens (1280x720 and 1920x1080): every text on
the screen grows with it, nothing spills out of its box, and what the room needs (the numbers,
the traces, the mat's heat map, the replay's bar) fits on one screen with nothing to scroll."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.web.browser import expect, new_page, shot, wait_session_frames

pytestmark = pytest.mark.browser

MAT = "sim://mat?rows=48&cols=48&rate=30&protocol=blockframe&seed=1"
SCREENS = {"720p": {"width": 1280, "height": 720}, "1080p": {"width": 1920, "height": 1080}}

# Every piece of text the page shows now: the element holding it, its computed font size, its
# box; and the page's own size against the window's.
TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, host = node.parentElement;
    if (!node.textContent.trim() || !host.checkVisibility({ visibilityProperty: true })) continue;
    const r = host.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    out.push({ what: `${host.tagName.toLowerCase()}#${host.id}.${host.className}`,
      text: node.textContent.trim().slice(0, 40), size: parseFloat(getComputedStyle(host).fontSize),
      box: [r.left, r.top, r.right, r.bottom] });
  }
  const root = document.documentElement;
  return { texts: out, root: parseFloat(getComputedStyle(root).fontSize),
    scroll: [root.scrollWidth, root.clientWidth, root.scrollHeight, window.innerHeight] };
}"""

# Each card's parts against the card's own box (a value that spills out shows here).
CARDS = """() => [...document.querySelectorAll(".big")].filter((c) => c.checkVisibility())
  .map((card) => {
    const box = card.getBoundingClientRect();
    return [...card.querySelectorAll(".name, .value, .unit")].map((part) => {
      const r = part.getBoundingClientRect();
      return { card: card.dataset.readout || card.textContent.slice(0, 20), text: part.textContent,
        inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5
          && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5 };
    });
  }).flat()"""


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def check_presented(page: Any, name: str, shown: list[str]) -> dict[str, Any]:
    """What every presentation page must hold; ``shown``: selectors the room must see whole."""
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shot(page, name, full=False)
    seen = page.evaluate(TEXTS)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    # the type follows the screen: at least 18 px on 720 lines, 2.3 % of the height above
    assert seen["root"] >= max(18.0, 0.022 * height), seen["root"]
    small = [t for t in seen["texts"] if t["size"] < 0.99 * seen["root"] and t["size"] < 18]
    assert not small, small[:5]
    sw, cw, sh, ih = seen["scroll"]
    assert sw == cw and sh <= ih, seen["scroll"]  # nothing to scroll, either way
    outside = [t for t in seen["texts"] if t["box"][0] < -0.5 or t["box"][1] < -0.5
               or t["box"][2] > width + 0.5 or t["box"][3] > height + 0.5]
    assert not outside, outside[:5]
    spilt = [c for c in page.evaluate(CARDS) if not c["inside"]]
    assert not spilt, spilt[:5]
    for selector in shown:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["width"] > 20 and box["height"] > 20, selector
        assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= width + 0.5, (selector, box)
        assert box["y"] + box["height"] <= height + 0.5, (selector, box)
    return seen


def test_live_mat_presented(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve("--port", MAT, "--profile", "sim-mat-48")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.wait_for_function("S.lastMat && S.t.length > 30")
    normal = page.evaluate(TEXTS)
    page.locator("#present").click()
    expect(page.locator("body")).to_have_class("present")
    # the mat's uncalibrated total is a six-digit raw sum: written in groups, in its card
    page.wait_for_function("S.lastMat.total > 10000", timeout=30_000)
    seen = check_presented(page, f"30-present-live-mat-{size}",
                           ["#traces", "#mat", "#readout", "#present"])
    total = page.locator('[data-readout=total] .value').text_content()
    assert "\u2009" in total, total
    # titles, units and legends grew with the rest; the traces' labels are as large
    by_text = {t["text"]: t["size"] for t in normal["texts"]}
    for part in ("total", "left : right"):
        assert next(t["size"] for t in seen["texts"] if t["text"] == part) > by_text[part]
    assert page.evaluate("traces.fontPx") == round(seen["root"])
    assert page.errors == []


def test_replay_and_compare_presented(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve("--simulate")
    ids = []
    for subject in ("P-0001", "P-0002"):
        r = server.http.post("/api/recording", json={"subject_code": subject, "position": "prone"})
        assert r.status_code == 201, r.text
        wait_session_frames(server, 160)
        server.http.post("/api/events", json={"kind": "marker", "text": "a long marker text "
                                              "that the room reads on the traces"})
        ids.append(server.http.post("/api/recording/stop").json()["session_id"])
    page.goto(f"{server.url}/replay/{ids[0]}")
    page.wait_for_function("S.replay && S.t.length > 0")
    page.keyboard.press("f")
    expect(page.locator("body")).to_have_class("present")
    check_presented(page, f"31-present-replay-{size}", ["#traces", "#readout", "#replaybar"])
    assert page.evaluate("traces.fontPx") == round(page.evaluate("rootPx()"))

    page.goto(f"{server.url}/compare?a={ids[0]}&b={ids[1]}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.locator("#present").click()
    expect(page.locator("body")).to_have_class("present")
    check_presented(page, f"32-present-compare-{size}", ["#trace-a", "#trace-b"])
    assert page.errors == []
