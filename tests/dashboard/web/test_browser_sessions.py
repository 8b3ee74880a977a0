"""The sessions page in Chromium over ``sotlog serve``: it pages through every session of a store
of 120, a page at a time, "Load more" adding the next below; and it picks two to four sessions
to compare, on a laptop and a projector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from sensing.vocabulary import COMPARE_SESSIONS, SESSIONS_PAGE
from tests.dashboard.many import fill
from tests.dashboard.web.browser import LAPTOP, expect, new_page, shot
from tests.sensing.outputs.test_exports import record_session

pytestmark = pytest.mark.browser
SESSIONS = 2 * SESSIONS_PAGE + 20
SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


def shown_ids(page: Any) -> list[int]:
    return [int(i) for i in page.locator("#sessions tbody tr[data-session]").evaluate_all(
        "rows => rows.map(r => r.dataset.session)")]


def test_load_more_pages_through_every_session(serve: Any, store_path: Path, page: Any) -> None:
    fill(store_path, SESSIONS)
    server = serve()
    page.goto(server.url + "/sessions")
    rows = page.locator("#sessions tbody tr[data-session]")
    expect(rows).to_have_count(SESSIONS_PAGE)
    expect(page.locator("#count")).to_have_text(
        f"{SESSIONS_PAGE} of {SESSIONS} sessions, newest first")
    more = page.locator("#more")
    expect(more).to_have_text(f"Load {SESSIONS_PAGE} more")

    # A session recorded meanwhile shifts the pages by one: the row that moves onto the next
    # page is not shown twice, and the new one waits for the next search.
    store = Store.open(store_path)
    newest = store.create_session(SessionMeta(subject_code="P-0099"), load_profile("sim-loadcells"),
                                  t0_host=0.0, started_utc="2026-12-01T09:00:00.000+00:00")
    Recorder(store, newest).close("complete")
    more.click()
    expect(rows).to_have_count(2 * SESSIONS_PAGE - 1)
    expect(more).to_have_text("Load 21 more")
    more.click()
    expect(rows).to_have_count(SESSIONS)
    expect(more).to_be_hidden()
    expect(page.locator("#count")).to_have_text(
        f"{SESSIONS} of {SESSIONS + 1} sessions, newest first")
    assert shown_ids(page) == list(range(SESSIONS, 0, -1))  # each once, newest first
    shot(page, "sessions-paged")

    page.fill("#q", "p-0007")  # a filter starts again from its first page
    expect(rows).to_have_count(SESSIONS // 10)
    expect(more).to_be_hidden()
    expect(page.locator("#count")).to_have_text(f"{SESSIONS // 10} sessions, newest first")
    assert shown_ids(page) == list(range(SESSIONS - 9, 0, -10))
    page.fill("#q", "")
    expect(rows).to_have_count(SESSIONS_PAGE)
    assert shown_ids(page)[0] == newest
    assert not page.errors


def on_screen(page: Any, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= size["width"], selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], selector


def test_ticks_two_to_four_sessions_to_compare(store_path: Path, serve: Any,
                                               screen: tuple[str, Any]) -> None:
    size, page = screen
    fewest, most = COMPARE_SESSIONS
    store = Store.open(store_path)
    ids = [record_session(store, n=120 + 40 * k, seed=k) for k in range(most + 1)]
    server = serve()
    page.goto(server.url + "/sessions")
    rows = page.locator("#sessions tbody tr[data-session]")
    expect(rows).to_have_count(len(ids))
    def box(sid: int) -> Any:
        return page.locator(f"input[data-compare='{sid}']")

    compare, hint = page.locator("#compare"), page.locator("#compare-hint")
    expect(hint).to_have_text(f"Tick {fewest} to {most} sessions to compare them side by side.")
    box(ids[0]).check()
    expect(compare).to_be_disabled()
    expect(hint).to_contain_text(f"session {ids[0]} ticked")
    for sid in ids[1:most]:
        box(sid).check()
        expect(compare).to_be_enabled()
    picked = ids[:most]
    expect(hint).to_have_text(f"Compare sessions {', '.join(map(str, picked[:-1]))} and "
                              f"{picked[-1]}.")
    # one tick beyond what compare shows: refused, in words, and the ticks stay as they were
    box(ids[most]).click()
    expect(box(ids[most])).not_to_be_checked()
    expect(hint).to_contain_text(f"Compare shows at most {most} sessions together")
    expect(hint).to_have_class("muted error")
    assert [box(i).is_checked() for i in picked] == [True] * most
    on_screen(page, "#compare-hint")
    on_screen(page, "#compare")
    assert page.evaluate("document.documentElement.scrollWidth") == page.evaluate(
        "document.documentElement.clientWidth")
    shot(page, f"43-sessions-pick-{size}", full=False)
    box(ids[1]).uncheck()  # three left, in the order ticked
    picked = [ids[0], *ids[2:most]]
    expect(hint).to_have_text(f"Compare sessions {', '.join(map(str, picked[:-1]))} and "
                              f"{picked[-1]}.")
    compare.click()
    page.wait_for_url(f"**/compare?ids={','.join(map(str, picked))}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(page.locator(".compare-trace canvas")).to_have_count(len(picked))
    expect(page.locator("#measures thead th")).to_have_count(len(picked) + 1)
    assert page.errors == []


def test_compare_refuses_more_than_it_shows(serve: Any, page: Any) -> None:
    most = COMPARE_SESSIONS[1]
    server = serve()
    page.goto(f"{server.url}/compare?ids={','.join(map(str, range(1, most + 2)))}")
    expect(page.locator("#error")).to_have_text(
        f"choose 2 to {most} sessions on the sessions page (tick them, then Compare), "
        "or give them as ?ids=1,2,3")
    assert page.errors == []
