"""The real page in headless Chromium against the real app, with the simulated load cells."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SOTLOG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAIT_MS = 15_000

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda err: pg.errors.append(str(err)))
    yield pg
    context.close()


def shot(page: Any, name: str, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def wait_recorded_seconds(page: Any, seconds: float) -> None:
    page.wait_for_function(
        """(s) => S.status.recording && S.t.length &&
                  S.t[S.t.length - 1] - S.status.recording.t_start >= s""", arg=seconds)


def test_setup_record_find_and_replay(live_server: Any, page: Any) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.wait_for_function("S.t.length > 20")

    # set up the session on one screen; two blocks placed by clicking the drawing
    page.fill("#subject_code", "P-0042")
    page.fill("#body_weight_kg", "72")
    page.select_option("#category", "II")
    page.select_option("#short_leg", "left")
    page.click('circle.landmark[data-side="left"][data-landmark="iliac_crest"]')
    page.click('circle.landmark[data-side="right"][data-landmark="acetabulum"]')
    rows = page.locator("#block-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("[data-field=channel]")).to_have_value("left")
    expect(rows.nth(1).locator("[data-field=channel]")).to_have_value("right")
    expect(rows.nth(1).locator("[data-field=landmark]")).to_have_value("acetabulum")
    rows.nth(0).locator("[data-field=angle]").fill("30")
    rows.nth(0).locator("[data-field=angle]").press("Tab")
    expect(page.locator("#pelvis g.block")).to_have_count(2)
    assert "rotate(30)" in page.locator('#pelvis g.block[data-block="0"]').get_attribute(
        "transform")
    # supine flips the drawing: the patient's left block moves to the image's right half
    left_x = page.locator('#pelvis g.block[data-block="0"]').bounding_box()["x"]
    page.locator("label:has(input[value=supine])").click()
    assert page.locator('#pelvis g.block[data-block="0"]').bounding_box()["x"] > left_x
    page.locator("label:has(input[value=prone])").click()
    shot(page, "1-live-setup")

    page.click("#tare")
    expect(page.locator("#saved")).to_contain_text("Tared on")
    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 1")
    wait_recorded_seconds(page, 1.0)
    page.locator("body").click(position={"x": 5, "y": 990})  # focus off the form fields
    page.keyboard.press("p")
    expect(page.locator("#events li[data-kind=placed]")).to_have_count(1)
    page.fill("#event-text", "left block settled")
    page.click("#eventbar button[data-kind=marker]")
    expect(page.locator("#events li[data-kind=marker]")).to_contain_text("left block settled")
    # the mark is on the traces at once: the page drew it from its own event list
    assert page.evaluate("S.events.some((e) => e.kind === 'marker')")
    wait_recorded_seconds(page, 3.0)
    expect(page.locator("[data-readout=elapsed] .value")).not_to_have_text("–")
    total_n = float(page.locator("[data-readout=total] .value").inner_text())
    page.select_option("#unit", "kgf")
    expect(page.locator("[data-readout=total] .unit")).to_have_text("kgf")
    total_kgf = float(page.locator("[data-readout=total] .value").inner_text())
    assert 0.05 < total_kgf / total_n < 0.2  # 1 kgf = 9.81 N; the load is still changing
    page.select_option("#unit", "N")
    shot(page, "2-live-recording")
    page.keyboard.press("f")
    expect(page.locator("body")).to_have_class("present")
    shot(page, "3-live-present", full=False)
    page.keyboard.press("f")
    page.click("#stop")
    expect(page.locator("#saved")).to_contain_text("Session 1 saved")
    expect(page.locator("#rec")).to_be_hidden()

    # find it on the sessions page
    page.goto(live_server.url + "/sessions")
    page.fill("#q", "0042")
    row = page.locator("#sessions tbody tr[data-session='1']")
    expect(row).to_contain_text("P-0042")
    frames = int(row.locator("td").nth(7).inner_text())
    assert frames > 80 * 2  # ~3 s at 80 frames/s
    page.fill("#q", "nobody")
    expect(page.locator("#sessions tbody")).to_contain_text("No sessions match")
    page.fill("#q", "")
    page.select_option("#category", "II")
    expect(row).to_be_visible()
    shot(page, "4-sessions")

    row.locator("a").first.click()
    expect(page.locator("#title")).to_have_text("Session 1 · P-0042")
    expect(page.locator("#summary tbody tr")).to_have_count(2)
    expect(page.locator("#events tbody")).to_contain_text("left block settled")
    expect(page.locator("#events tbody tr[data-kind=placed]")).to_have_count(1)
    expect(page.locator("#events tbody tr[data-kind=tare]")).to_have_count(1)
    page.wait_for_function("document.getElementById('plot').naturalWidth > 0")
    expect(page.locator("#downloads a").first).to_be_visible()
    # an edit afterwards is saved and logged with its time
    page.fill("#note", "second block moved after 2 min")
    page.click("#save")
    expect(page.locator("#edits tbody")).to_contain_text("second block moved")
    shot(page, "5-session")

    # replay it in the live view
    page.click("#replay")
    expect(page.locator("#state")).to_have_text("replay · session 1")
    page.select_option("#speed", "8")
    page.wait_for_function("S.replay && S.replay.t > 1.0")
    expect(page.locator("#events")).to_contain_text("left block settled")
    page.click("#play")  # pause
    paused_at = page.evaluate("S.replay.t")
    page.wait_for_timeout(300)  # nothing to wait for: the point is that time does NOT move
    assert page.evaluate("S.replay.t") == paused_at
    page.locator("#scrub").fill("0.5")
    assert abs(page.evaluate("S.replay.t") - 0.5) < 1e-6
    page.locator("#scrub").fill(str(page.evaluate("S.replay.duration")))
    expect(page.locator("[data-readout=loaded] .value")).not_to_have_text("–")
    shot(page, "6-replay")
    assert page.errors == []


def test_device_loss_shows_at_once_and_the_page_recovers(live_server: Any, page: Any) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.select_option("#profile", "sim-loadcells")
    page.evaluate("""() => {
        const o = document.createElement('option');
        o.value = 'sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&disconnect_after=1&down=1';
        o.textContent = 'flaky cable';
        document.getElementById('port').append(o);
        document.getElementById('port').value = o.value; }""")
    page.click("#connect")
    expect(page.locator("#state")).to_have_text("device lost")
    expect(page.locator("#banner")).to_contain_text("Device lost")
    shot(page, "7-device-lost", full=False)
    expect(page.locator("#state")).to_have_text("connected")
    expect(page.locator("[data-counter=reconnects] b")).not_to_have_text("0")
    page.wait_for_function("S.events.some((e) => e.kind === 'gap')")
    # the live stream itself drops (as when the server restarts): the page reconnects alone
    page.evaluate("socket.close()")
    expect(page.locator("#state")).to_have_text("live stream lost — reconnecting")
    expect(page.locator("#state")).to_have_text("connected")
    page.wait_for_function("S.t.length > 10")
    assert page.errors == []
