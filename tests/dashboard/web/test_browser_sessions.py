"""The sessions page pages through every session: a page at a time, "Load more" adding the next
below, in Chromium over ``sotlog serve`` and a store of 120 sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.profiles import load_profile
from sensing.metadata import SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder
from sensing.vocabulary import SESSIONS_PAGE
from tests.dashboard.many import fill
from tests.dashboard.web.browser import expect, shot

pytestmark = pytest.mark.browser
SESSIONS = 2 * SESSIONS_PAGE + 20


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
