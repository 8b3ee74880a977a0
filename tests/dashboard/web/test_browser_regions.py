"""A mat session's block regions on its session page in Chromium: drawn on the heat map (head
up), moved with the pointer and typed as rows and columns, saved through the edit log as
``sotlog regions --set`` does, and read back as the stored session's regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dashboard.web.matview import stored_box
from sensing.store.sessions import Store
from tests.dashboard.web.browser import expect, shot
from tests.sensing.outputs.test_exports import record_session

pytestmark = pytest.mark.browser

SET = [{"name": "left", "r0": 20, "r1": 28, "c0": 18, "c1": 26},
       {"name": "right", "r0": 20, "r1": 28, "c0": 4, "c1": 12}]


def test_regions_drawn_moved_and_saved(store_path: Path, serve: Any, laptop_page: Any) -> None:
    page = laptop_page
    store = Store.open(store_path)
    sid = record_session(store, "mat", n=90, rate=30.0, seed=4)
    server = serve()
    r = server.http.put(f"/api/sessions/{sid}/regions", json={"regions": SET})
    assert r.status_code == 200, r.text
    assert r.json()["regions"] == [{**s, "source": "person"} for s in SET]
    page.goto(f"{server.url}/sessions/{sid}")
    expect(page.locator("#regions-panel")).to_be_visible()
    expect(page.locator("#regions-table tbody tr")).to_have_count(2)
    expect(page.locator("#edits tbody tr")).to_have_count(1)
    page.locator("#regions-mat").scroll_into_view_if_needed()
    # drag the left block's box two sensels down and three to the right, by its middle
    layout = page.evaluate("document.getElementById('regions-mat')._layout")
    box = page.locator("#regions-mat").bounding_box()
    cell = layout["cell"]
    x = box["x"] + layout["x0"] + 22 * cell
    y = box["y"] + layout["y0"] + 24 * cell
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 3 * cell, y + 2 * cell, steps=5)
    page.mouse.up()
    moved = {"name": "left", "r0": 22, "r1": 30, "c0": 21, "c1": 29}
    assert page.evaluate("RG.regions[0]") == moved
    # the right one typed: its last column 12 (the box ends after it)
    last = page.get_by_label("right columns to")
    last.fill("12")
    last.press("Enter")
    assert page.evaluate("RG.regions[1].c1") == 13
    shot(page, "40-session-regions", full=False)
    page.click("#regions-save")
    expect(page.locator("#regions-saved")).to_contain_text("Saved at")
    expect(page.locator("#edits tbody tr")).to_have_count(2)
    expect(page.locator("#edits tbody tr").nth(1).locator("td.change")).to_contain_text(
        "Block regions set by hand")
    # stored as the frame is stored (the sim mat's columns run toward the patient's left)
    with store.session(sid) as s:
        matrix = s.info.profile.matrix
        kept = [r.as_dict() for r in s.mat_regions()]
    assert matrix is not None
    want = [stored_box(moved, matrix), stored_box({**SET[1], "c1": 13}, matrix)]
    assert [{k: r[k] for k in ("name", "r0", "r1", "c0", "c1")} for r in kept] == want
    # and found on the data again, also through the edit log
    page.click("#regions-auto")
    expect(page.locator("#regions-saved")).to_contain_text("found on the data again")
    expect(page.locator("#edits tbody tr")).to_have_count(3)
    assert page.errors == []
