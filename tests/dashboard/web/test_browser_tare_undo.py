"""A refused tare and undoing an edit, on the real pages in Chromium against `sotlog serve`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.web.browser import (
    expect,
    shot,
    wait_recorded_seconds,
    wait_session_frames,
)

pytestmark = pytest.mark.browser

# 40 kg on each simulated cell from the start; the profile's offsets put zero at seed 1's truth,
# so the blocks read about 392 N each: loaded.
LOADED = "sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&load=const:40"


def test_a_refused_tare_is_said_and_tare_anyway_is_kept_as_forced(serve: Any,
                                                                  laptop_page: Any) -> None:
    page = laptop_page
    server = serve("--port", LOADED, "--profile", "sim-loadcells")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.wait_for_function("S.t.length > 20")

    with page.expect_response("**/api/tare") as answer:
        page.click("#tare")
    assert answer.value.status == 409
    detail = answer.value.json()["detail"]
    assert answer.value.json()["refused"] is True and "looks loaded" in detail
    refusal = page.locator("#tare-refused")
    expect(refusal).to_be_visible()
    expect(page.locator("#tare-refused-text")).to_have_text(detail)  # the whole line
    expect(refusal).to_contain_text("Not tared.")
    # nothing on the page says it was tared
    expect(page.locator("#tare")).to_have_text("Tare")
    expect(page.locator("#saved")).to_have_text("")
    expect(page.locator("#events li[data-kind=tare]")).to_have_count(0)
    assert page.evaluate("S.status.tared") is False
    shot(page, "14-tare-refused", full=False)

    page.get_by_role("button", name="Tare anyway").click()
    expect(page.locator("#saved")).to_contain_text("Tared anyway on")
    expect(page.locator("#saved")).to_contain_text("looks loaded")
    expect(refusal).to_be_hidden()
    expect(page.locator("#events li[data-kind=tare]")).to_contain_text("taken anyway")
    page.wait_for_function("S.status.tared === true")
    # read from the forced zero, the 40 kg on each block are now about 0 N
    page.wait_for_function("""() => Math.abs(Number(
        document.querySelector('[data-readout="total"] .value').textContent)) < 20""")
    shot(page, "15-tare-anyway", full=False)

    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 1")
    wait_recorded_seconds(page, 0.5)
    page.click("#stop")
    expect(page.locator("#saved")).to_contain_text("Session 1 saved")
    tares = [e for e in server.http.get("/api/sessions/1/events").json() if e["kind"] == "tare"]
    assert len(tares) == 1
    assert tares[0]["data"]["forced"] is True
    assert {p["problem"] for p in tares[0]["data"]["problems"]} == {"loaded"}
    page.goto(server.url + "/sessions/1")
    expect(page.locator("#zeros li")).to_have_count(1)
    expect(page.locator("#zeros li[data-forced=true]")).to_contain_text("tare taken anyway")
    assert page.errors == []


def _session_with_a_tare_and_an_edit(server: Any) -> int:
    """Session 1 through the API: category II, a tare (forced: the simulated body may be coming
    on) during the recording, which is a conversion edit, then category changed to I."""
    http = server.http
    r = http.post("/api/recording", json={"subject_code": "P-0050", "category": "II"})
    assert r.status_code == 201, r.text
    assert http.post("/api/tare", json={"force": True}).status_code == 200
    wait_session_frames(server, 200)
    sid = int(http.post("/api/recording/stop").json()["session_id"])
    assert http.patch(f"/api/sessions/{sid}", json={"category": "I"}).status_code == 200
    return sid


def test_undo_an_edit_from_the_session_page(serve: Any, laptop_page: Any) -> None:
    page = laptop_page
    server = serve("--simulate")
    sid = _session_with_a_tare_and_an_edit(server)
    edits = server.http.get(f"/api/sessions/{sid}").json()["edits"]
    assert [e["field"] for e in edits] == ["conversion", "category"]
    tare_edit, category_edit = edits[0]["id"], edits[1]["id"]

    page.goto(f"{server.url}/sessions/{sid}")
    rows = page.locator("#edits tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".change")).to_contain_text("Tare from ")
    expect(rows.nth(0).locator(".change")).to_contain_text(" raw)")
    expect(rows.nth(1).locator(".change")).to_have_text("Category II → I")
    expect(page.locator("#category")).to_have_value("I")
    zeros = page.locator("#zeros li")
    expect(zeros).to_have_count(2)  # before the tare, and from it on
    expect(zeros.nth(0)).to_contain_text("from the start until")
    expect(zeros.nth(0)).to_contain_text("left: profile")
    expect(zeros.nth(1)).to_contain_text("left: tare")
    expect(page.locator("#end-reason")).to_contain_text("stopped from the dashboard")
    expect(page.locator("#plot")).to_be_attached()
    figure_before = page.locator("#plot").get_attribute("src")

    page.locator(f"button[data-undo='{category_edit}']").click()
    expect(page.locator("#category")).to_have_value("II")
    expect(rows).to_have_count(3)
    undo_row = rows.nth(2)
    expect(undo_row.locator(".change")).to_have_text(
        f"Undo of edit {category_edit}: Category I → II")
    expect(rows.nth(1)).to_contain_text(f"undone by edit {category_edit + 1}")
    expect(rows.nth(1).locator("button")).to_have_count(0)  # an undone edit has no Undo
    expect(undo_row.locator("button[data-undo]")).to_be_visible()  # an undo can be undone

    page.locator(f"button[data-undo='{tare_edit}']").click()
    expect(rows).to_have_count(4)
    expect(rows.nth(3).locator(".change")).to_contain_text(f"Undo of edit {tare_edit}: ")
    expect(rows.nth(3).locator(".change")).to_contain_text("taken out")
    expect(zeros).to_have_text("from the start to the end: left: profile, right: profile")
    expect(page.locator("#plot")).not_to_have_attribute("src", figure_before)  # drawn again
    page.wait_for_function("document.getElementById('plot').naturalWidth > 0")
    shot(page, "16-session-undo")
    detail = server.http.get(f"/api/sessions/{sid}").json()
    assert detail["meta"]["category"] == "II"
    assert [e["undoes"] for e in detail["edits"]] == [None, None, category_edit, tare_edit]
    assert page.errors == []
