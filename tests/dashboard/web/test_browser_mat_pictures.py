"""Every mat picture's words in Chromium on a clinic laptop (1366x768) and a projector
(1920x1080): the edges' words (PICTURE_EDGES) drawn wholly inside their canvas and on screen, on
the live, replay, compare and session pages, plain and in presentation mode; the block regions'
words on the picture, clear of the edges' words and of each other; and on the live page, the
event bar kept at the screen's foot never lies over the heat map."""

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

MAT = "sim://mat?rows=48&cols=48&rate=30&protocol=blockframe&seed=1"
SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}

# A heat map's drawn words against its canvas, scrolled into view as a person brings it there:
# the canvas's size, the part of it on screen (the window, and every box around it that clips),
# the picture's own box, and the boxes of the edges' words and the regions' words (the heat map's
# _layout, in CSS px of the canvas).
WORDS = """(id) => {
  const c = document.getElementById(id);
  c.scrollIntoView({ block: "nearest" });
  const r = c.getBoundingClientRect(), L = c._layout, mat = c._last[0];
  let seen = [0, 0, innerWidth, innerHeight];
  for (let n = c.parentElement; n && n !== document.body; n = n.parentElement) {
    const s = getComputedStyle(n);
    if (s.overflowX === "visible" && s.overflowY === "visible") continue;
    const q = n.getBoundingClientRect();
    seen = [Math.max(seen[0], q.left), Math.max(seen[1], q.top), Math.min(seen[2], q.right),
      Math.min(seen[3], q.bottom)];
  }
  return { size: [r.width, r.height], seen: [seen[0] - r.left, seen[1] - r.top,
      seen[2] - r.left, seen[3] - r.top],
    picture: [L.x0, L.y0, L.x0 + L.cell * mat.cols, L.y0 + L.cell * mat.rows],
    edges: L.edges, labels: L.labels };
}"""


def inside(box: dict[str, float], x0: float, y0: float, x1: float, y1: float) -> bool:
    return (box["x"] >= x0 - 0.5 and box["y"] >= y0 - 0.5 and box["x"] + box["w"] <= x1 + 0.5
            and box["y"] + box["h"] <= y1 + 0.5)


def meet(p: dict[str, float], q: dict[str, float]) -> bool:
    return (p["x"] < q["x"] + q["w"] and q["x"] < p["x"] + p["w"] and p["y"] < q["y"] + q["h"]
            and q["y"] < p["y"] + p["h"])


def words_inside(page: Any, canvas: str) -> None:
    """The canvas's edges' words, each wholly in the canvas and on screen; its regions' words on
    the picture's width, in the canvas, over none of the edges' words."""
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got = page.evaluate(WORDS, canvas)
    width, height = got["size"]
    assert {e["edge"]: e["text"] for e in got["edges"]} == PICTURE_EDGES, canvas
    for e in got["edges"]:
        assert e["w"] > 0 and e["h"] > 0, (canvas, e)
        assert inside(e, 0, 0, width, height), (canvas, "off the canvas", e, got["size"])
        assert inside(e, *got["seen"]), (canvas, "off the screen", e, got["seen"])
    left, _, right, _ = got["picture"]
    for i, b in enumerate(got["labels"]):
        assert inside(b, left, 0, right, height), (canvas, "a region's words off it", b)
        assert not [e for e in got["edges"] if meet(b, e)], (canvas, b, got["edges"])
        assert not [o for o in got["labels"][:i] if meet(b, o)], (canvas, got["labels"])


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def present(page: Any, canvas: str) -> None:
    """Presentation mode on, and the canvas drawn at its new size."""
    page.click("#present")
    page.wait_for_function("(id) => document.body.classList.contains('present') && "
                           "document.getElementById(id)._layout.fontPx > 13", arg=canvas)


def test_every_mat_pictures_words_are_inside_it(store_path: Path, serve: Any,
                                                 screen: tuple[str, Any]) -> None:
    size, page = screen
    store = Store.open(store_path)
    a = record_session(store, "mat", n=150, rate=30.0, seed=5)
    b = record_session(store, "mat", n=150, rate=30.0, seed=6)
    server = serve("--port", MAT, "--profile", "sim-mat-48")
    # live: the simulated body settled on the blocks (from about 3 s), both regions found and
    # named with their totals
    page.goto(server.url + "/")
    page.wait_for_function("S.lastMat && S.lastMat.regions.length == 2 && "
                           "S.lastMat.values.filter((v) => v > 0).length > 200", timeout=30_000)
    words_inside(page, "mat")
    present(page, "mat")
    words_inside(page, "mat")
    shot(page, f"45-mat-words-live-present-{size}", full=False)
    page.goto(f"{server.url}/replay/{a}")
    page.wait_for_function("S.matDrawn && S.matDrawn.count > 3")
    words_inside(page, "mat")
    present(page, "mat")
    words_inside(page, "mat")
    page.goto(f"{server.url}/compare?a={a}&b={b}")
    page.wait_for_function("document.body.dataset.ready === 'true' && MC.last !== null")
    for canvas in ("mat-a", "mat-b", "mat-diff"):
        words_inside(page, canvas)
    present(page, "mat-a")
    for canvas in ("mat-a", "mat-b", "mat-diff"):
        words_inside(page, canvas)
    shot(page, f"45-mat-words-compare-present-{size}", full=False)
    # the session page's picture (32x32), with a region set at each side edge: their words,
    # wider than the regions, stay on the picture
    edge_regions = [{"name": "left", "r0": 12, "r1": 20, "c0": 29, "c1": 32},
                    {"name": "right", "r0": 12, "r1": 20, "c0": 0, "c1": 3}]
    put = server.http.put(f"/api/sessions/{a}/regions", json={"regions": edge_regions})
    assert put.status_code == 200, put.text
    page.goto(f"{server.url}/sessions/{a}")
    page.wait_for_function("document.getElementById('regions-mat')._layout?.labels.length == 2")
    words_inside(page, "regions-mat")
    assert page.errors == []


# The live page's event bar (kept at the screen's foot while the page scrolls) and its heat map,
# as boxes on the screen now: [top, bottom, left, right].
BAR_AND_MAP = """() => Object.fromEntries(["eventbar", "mat"].map((id) => {
  const r = document.getElementById(id).getBoundingClientRect();
  return [id, [r.top, r.bottom, r.left, r.right]];
}))"""


def apart(boxes: dict[str, list[float]]) -> bool:
    (t0, b0, l0, r0), (t1, b1, l1, r1) = boxes["eventbar"], boxes["mat"]
    return b0 <= t1 or b1 <= t0 or r0 <= l1 or r1 <= l0


def test_the_event_bar_never_lies_over_the_heat_map(serve: Any, screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve("--port", MAT, "--profile", "sim-mat-48")
    page.goto(server.url + "/")
    page.wait_for_function("S.lastMat && S.lastMat.regions.length == 2", timeout=30_000)
    height = page.viewport_size["height"]
    first = page.evaluate(BAR_AND_MAP)
    bar_top = first["eventbar"][0]
    assert first["eventbar"][1] <= height + 0.5  # the bar is on the first screen
    if size == "1080p":  # a projector: the heat map whole on the first screen, beside the traces
        assert first["mat"][1] <= bar_top and apart(first), first
    else:  # a laptop: the heat map below the traces, starting at or below the bar's top (not
        # cut in two by the bar: off the first screen but for what the bar itself covers)
        assert first["mat"][0] >= bar_top - 0.5 or first["mat"][1] <= bar_top, first
    # brought into view (as a focused control is), the heat map is whole and clear of the bar
    page.evaluate("document.getElementById('mat').scrollIntoView({ block: 'end' })")
    seen = page.evaluate(BAR_AND_MAP)
    assert apart(seen) and seen["mat"][0] >= 0 and seen["mat"][1] <= seen["eventbar"][0], seen
    shot(page, f"45-live-mat-bar-{size}", full=False)
    assert page.errors == []
