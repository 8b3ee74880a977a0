"""Detected events on the session page, in Chromium against `sotlog serve`: find them, confirm,
move and delete one each, and undo from the edit history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sensing.store.sessions import Store
from tests.dashboard.web.browser import expect, shot
from tests.sensing.recording.test_detected import record_sim

pytestmark = pytest.mark.browser


def test_confirm_move_delete_and_undo_on_the_session_page(serve: Any, page: Any,
                                                          store_path: Path) -> None:
    sid, truth = record_sim(Store.open(store_path))
    server = serve()
    page.goto(f"{server.url}/sessions/{sid}")
    rows = page.locator("#events tbody tr[data-source=sotlog]")
    expect(rows).to_have_count(0)
    page.wait_for_load_state("networkidle")  # the page has read the session (under CI's load too)
    with page.expect_response(f"**/api/sessions/{sid}/detect", timeout=60_000) as answer:
        page.click("#detect")
    assert answer.value.status == 201
    expect(rows).to_have_count(3)
    expect(page.locator("#events-said")).to_contain_text("Done (edit 1")
    events = {e["kind"]: e for e in server.http.get(f"/api/sessions/{sid}/events").json()}
    assert abs(events["placed"]["time_s"] - truth.t_on) <= 0.25
    placed, settled, removed = (events[k]["id"] for k in ("placed", "settled", "removed"))

    page.click(f"[data-confirm='{placed}']")
    expect(page.locator(f"[data-state='{placed}']")).to_have_text("confirmed")
    expect(page.locator(f"[data-confirm='{placed}']")).to_be_disabled()

    to = round(events["removed"]["time_s"] - 1.0, 2)
    page.fill(f"[data-move-to='{removed}']", str(to))
    page.click(f"[data-move='{removed}']")
    expect(page.locator(f"[data-state='{removed}']")).to_have_text("moved")
    moved = page.locator(f"tr[data-event='{removed}'] td.num")
    expect(moved).not_to_have_text(f"{events['removed']['time_s']:.2f}")

    page.click(f"[data-delete='{settled}']")
    expect(rows).to_have_count(2)
    history = page.locator("#edits tbody tr")
    expect(history).to_have_count(4)
    expect(history.nth(3)).to_contain_text("Events taken out: settled")
    expect(history.nth(2)).to_contain_text(f"to {to:.2f} s")
    expect(history.nth(1)).to_contain_text("confirmed")
    shot(page, "24-detected-events")

    page.click("#edits tbody tr:nth-child(4) [data-undo]")
    expect(rows).to_have_count(3)
    expect(page.locator(f"tr[data-event='{settled}']")).to_be_visible()
    # the rule run again leaves the person's decisions as they are
    with page.expect_response(f"**/api/sessions/{sid}/detect", timeout=60_000):
        page.click("#detect")
    expect(page.locator("#events-said")).to_contain_text("nothing changed")
    assert page.errors == []


def test_the_sessions_page_lists_each_visits_time_on_the_blocks_and_blocks(
        serve: Any, page: Any, store_path: Path) -> None:
    store = Store.open(store_path)
    ids = [record_sim(store)[0] for _ in range(2)]
    server = serve()
    page.goto(f"{server.url}/sessions?q=P-0042")
    for sid in ids:
        expect(page.locator(f"[data-on-blocks='{sid}']")).not_to_have_text("–")
        visit = page.locator(f"[data-visit='{sid}']")
        expect(visit).to_contain_text("left ")
        expect(visit).to_contain_text(" N ")
        expect(visit).to_contain_text(" %")
    listed = server.http.get("/api/sessions", params={"q": "P-0042"}).json()
    shown = page.locator(f"[data-on-blocks='{ids[0]}']").text_content()
    seconds = next(s for s in listed if s["id"] == ids[0])["visit"]["time_on_blocks_s"]
    assert shown == f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    shot(page, "25-subject-visits")
    assert page.errors == []
