"""Numbers are rounded to what they can mean on the replay, compare, live and sessions pages:
no number a page shows, in its text or drawn on its canvases, carries more decimals than its
unit means (``sensing.rounding``, the one rule the pages get from /api/vocabulary)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sensing.store.sessions import Store
from tests.dashboard.web.browser import (
    KEEP_CANVAS_TEXT,
    LAPTOP,
    new_page,
    overlong,
    overlong_numbers,
    shot,
    wait_recorded_seconds,
)
from tests.sensing.outputs.test_exports import record_session


def test_the_check_finds_overlong_numbers() -> None:
    shown = ["Tared over 1.0252676459999748 s", "left 205.63 N", "0.25×", "share 59.3 %",
             "x 12.5 mm", "v0.1.0 on 127.0.0.1", "12.345 kgf", "3.14159"]
    assert [b.strip() for b in overlong(shown)] == [
        "Tared over 1.0252676459999748 s", "left 205.63 N", "x 12.5 mm", "12.345 kgf",
        "3.14159"]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A laptop-sized page that keeps what its canvases draw."""
    for pg in new_page(browser, LAPTOP):
        pg.add_init_script(KEEP_CANVAS_TEXT)
        yield pg


@pytest.fixture
def stored(store_path: Path) -> list[int]:
    store = Store.open(store_path)
    return [record_session(store, n=400, seed=1, notes=1, tare_before=True),
            record_session(store, n=320, seed=2, gap_s=0.7),
            record_session(store, "mat", n=150, rate=30.0, seed=5),
            record_session(store, "mat", n=150, rate=30.0, seed=6)]


def held(page: Any, name: str) -> None:
    if name != "sessions":  # its canvases' words were seen too
        assert page.evaluate("[...window.drawnText].some((t) => /\\d/.test(t))")
    bad = overlong_numbers(page)
    shot(page, f"44-rounding-{name}", full=False)
    assert bad == [], bad
    assert page.errors == []


@pytest.mark.browser
def test_sessions_and_compare(stored: list[int], serve: Any, page: Any) -> None:
    server = serve()
    page.goto(f"{server.url}/sessions")
    page.wait_for_selector("#sessions tbody tr[data-session]")
    held(page, "sessions")
    for ids, name in ((stored[:2], "compare"), (stored[2:], "compare-mats")):
        page.goto(f"{server.url}/compare?a={ids[0]}&b={ids[1]}")
        page.wait_for_function("document.body.dataset.ready === 'true'")
        page.click("#play")
        page.wait_for_function("C.play.t !== null && C.play.t > 0.5")
        if name == "compare-mats":
            page.wait_for_function("MC.last !== null")
        held(page, name)


@pytest.mark.browser
def test_replay(stored: list[int], serve: Any, page: Any) -> None:
    server = serve()
    for sid, name in ((stored[0], "replay"), (stored[2], "replay-mat")):
        page.goto(f"{server.url}/replay/{sid}")
        page.wait_for_function("S.replay && S.replay.t > 1")
        held(page, name)


@pytest.mark.browser
def test_live(serve: Any, page: Any) -> None:
    server = serve("--simulate")
    page.goto(server.url)
    page.wait_for_function("S.t.length > 50")
    page.click("#start")
    wait_recorded_seconds(page, 2)
    page.click("#eventbar button[data-kind='placed']")
    wait_recorded_seconds(page, 3)
    held(page, "live")
