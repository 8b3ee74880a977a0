"""Compare in Chromium on a laptop and a projector: each session on its own time axis lined up
on its placed event (or another), zoom and pan together, played in step with one cursor, the
measures side by side in one table that fits, and a figure with a legend to download."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sensing.mat.orientation import PICTURE_EDGES
from sensing.store.sessions import Store
from tests.dashboard.web.browser import LAPTOP, expect, new_page, shot, wait_session_frames
from tests.sensing.outputs.test_exports import record_session

pytestmark = pytest.mark.browser

SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def recorded(server: Any, placed_after: int, frames: int) -> int:
    assert server.http.post("/api/recording", json={"position": "prone"}).status_code == 201
    wait_session_frames(server, placed_after)
    assert server.http.post("/api/events", json={"kind": "placed"}).is_success
    wait_session_frames(server, frames)
    return int(server.http.post("/api/recording/stop").json()["session_id"])


def test_two_sessions_lined_up_zoomed_and_played(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve("--simulate")
    ids = [recorded(server, 80, 240), recorded(server, 200, 320)]
    placed = [next(e["time_s"] for e in server.http.get(f"/api/sessions/{i}/events").json()
                   if e["kind"] == "placed") for i in ids]
    page.goto(f"{server.url}/compare?a={ids[0]}&b={ids[1]}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(page.locator("#align")).to_have_value("placed")
    # each on its own axis, its 0 s at its own placed event
    for side, i, at in (("a", ids[0], placed[0]), ("b", ids[1], placed[1])):
        assert page.evaluate(f"C.data[{i}].alignAt") == pytest.approx(at)
        assert page.evaluate(f"traces.{side}.plot.origin") == pytest.approx(at)
        expect(page.locator(f"#legend-{side}")).to_contain_text("0 s at its first placed")
    # zoom in (button, then the wheel over a trace) and pan by dragging: both panels follow
    page.click("#zoom-in")
    first = page.evaluate("C.view")
    box = page.locator("#trace-a").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -200)
    second = page.evaluate("C.view")
    assert second[1] - second[0] < first[1] - first[0]
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 150, box["y"] + box["height"] / 2, steps=4)
    page.mouse.up()
    panned = page.evaluate("C.view")
    assert panned[0] > second[0] and panned[1] - panned[0] == pytest.approx(second[1] - second[0])
    assert page.evaluate("traces.a.plot.window") == pytest.approx(page.evaluate(
        "traces.b.plot.window"))
    # played in step: one cursor, the values at it in each legend
    page.click("#fit")
    page.click("#play")
    page.wait_for_function("C.play.t !== null && C.play.t > 0.3")
    expect(page.locator("#legend-a b").first).to_be_visible()
    expect(page.locator("#legend-b b").first).to_be_visible()
    # the measures side by side, in one table that fits the page
    expect(page.locator("#measures thead th")).to_have_count(3)
    expect(page.locator("#measures tbody tr[data-measure='on the blocks'] td")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") == page.evaluate(
        "document.documentElement.clientWidth")
    spill = page.evaluate("""() => [...document.querySelectorAll('table')]
        .filter((t) => t.getBoundingClientRect().right
          > t.parentElement.getBoundingClientRect().right + 0.5)
        .map((t) => t.id || t.className)""")
    assert spill == []
    # another event to line up on: its start
    page.select_option("#align", "start")
    assert page.evaluate(f"C.data[{ids[1]}].alignAt") == 0
    page.select_option("#align", "placed")
    shot(page, f"41-compare-{size}", full=False)
    # the figure: both panels, each with its title and a legend of its lines
    with page.expect_download() as dl:
        page.click("#download")
    assert Path(dl.value.path()).read_bytes()[:4] == b"\x89PNG"
    swatch = page.evaluate("""() => {
      const dpr = window.devicePixelRatio || 1, c = C.figure.getContext('2d');
      return [...c.getImageData(Math.round(12 * dpr), Math.round(36 * dpr), 1, 1).data].slice(0, 3);
    }""")
    assert swatch == [0x1F, 0x6F, 0xB2]  # the left block's colour, first in the legend
    assert page.errors == []


def test_two_mats_and_their_difference(store_path: Path, serve: Any, laptop_page: Any) -> None:
    page = laptop_page
    store = Store.open(store_path)
    ids = [record_session(store, "mat", n=150, rate=30.0, seed=s) for s in (5, 6)]
    server = serve()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{server.url}/compare?a={ids[0]}&b={ids[1]}")
    page.wait_for_function("document.body.dataset.ready === 'true' && MC.last !== null")
    expect(page.locator("#mat-compare")).to_be_visible()
    # the frames came as replay's do, in binary spans, never as JSON numbers a frame at a time
    mats = [u for u in asked if "/api/sessions/" in u and "/mat" in u]
    assert mats and all("/mat/frames?" in u for u in mats), mats
    # the difference is the two pictures' sensels, one minus the other (in the sensels' unit),
    # at the same lined-up time, to within half a level of each (which the note says)
    last = page.evaluate("MC.last")
    reference = [server.http.get(f"/api/sessions/{i}/mat", params={"t": f"{t + 0.001:.4f}"}).json()
                 for i, t in zip(ids, last["times"], strict=True)]
    scale = reference[0]["scale"]
    assert reference[1]["scale"] == scale
    expected = [(a - b) * scale for a, b in zip(reference[0]["values"], reference[1]["values"],
                                                strict=True)]
    within = last["within"]
    assert 0 < within <= 4096 * abs(scale) / 254  # half a level of each of 0..254
    off = max(abs(d - e) for d, e in zip(last["diff"], expected, strict=True))
    assert off <= within + abs(scale), (off, within)  # (the JSON frame's raw is rounded)
    assert max(map(abs, expected)) > 20 * within  # a difference far wider than its precision
    expect(page.locator("#mat-compare-note")).to_contain_text("the difference to within ±")
    edges = page.evaluate("document.getElementById('mat-diff')._last[0].edges")
    assert edges == PICTURE_EDGES  # the same words on the same edges as every mat picture
    # played: the pictures follow the cursor from the spans asked ahead
    page.click("#play")
    page.wait_for_function(f"MC.last.t > {last['t'] + 0.5}")
    page.locator("#mat-compare").scroll_into_view_if_needed()
    shot(page, "42-compare-mats", full=False)
    assert page.errors == []


def test_three_sessions(store_path: Path, serve: Any, laptop_page: Any) -> None:
    page = laptop_page
    store = Store.open(store_path)
    ids = [record_session(store, n=n, seed=n) for n in (200, 320, 480)]
    server = serve()
    page.goto(f"{server.url}/compare?ids={','.join(map(str, ids))}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(page.locator("#title")).to_have_text(f"Sessions {ids[0]}, {ids[1]} and {ids[2]}")
    expect(page.locator(".compare-trace canvas")).to_have_count(3)
    expect(page.locator("#measures thead th")).to_have_count(4)  # a column per session
    expect(page.locator("#mat-compare")).to_be_hidden()
    page.click("#zoom-in")
    windows = page.evaluate("['a', 'b', 'c'].map((s) => traces[s].plot.window)")
    assert windows[0] == pytest.approx(windows[1]) == pytest.approx(windows[2])
    with page.expect_download() as dl:
        page.click("#download")
    assert dl.value.suggested_filename == f"sotlog-compare-{'-'.join(map(str, ids))}.png"
    assert page.evaluate("C.figure.height") > 3 * page.evaluate(
        "document.getElementById('trace-c').height")
    assert page.evaluate("document.documentElement.scrollWidth") == page.evaluate(
        "document.documentElement.clientWidth")
    assert page.errors == []
