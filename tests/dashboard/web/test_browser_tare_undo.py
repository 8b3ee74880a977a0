"""A refused tare and Tare anyway, on the live page in Chromium against `sotlog serve`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.web.browser import expect, shot, wait_recorded_seconds

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
    assert page.errors == []
