"""The real page in headless Chromium against the real app, with the simulated load cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.web.browser import (
    expect,
    shot,
    wait_recorded_seconds,
    wait_session_frames,
)

pytestmark = pytest.mark.browser


def record_by_api(server: Any, frames: int, subject: str) -> int:
    """A second session through the server's own API (as another client would record one)."""
    http = server.http
    r = http.post("/api/recording", json={"subject_code": subject, "position": "supine",
                                          "category": "I", "body_weight_kg": 64})
    assert r.status_code == 201, r.text
    wait_session_frames(server, frames)
    return int(http.post("/api/recording/stop").json()["session_id"])


def test_setup_record_find_compare_and_replay(serve: Any, page: Any) -> None:
    server = serve("--simulate")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    page.wait_for_function("S.t.length > 20")
    # tare first: the simulated body (seed 1) starts onto the blocks 3.8 s after the device
    # opens, and a tare on moving blocks is refused
    page.click("#tare")
    expect(page.locator("#saved")).to_contain_text("Tared on")
    expect(page.locator("#tare-refused")).to_be_hidden()

    # set up the session on one screen; two blocks placed by clicking the drawing
    # the subject-code rule is sensing.vocabulary's, as the browser reads the pattern
    page.fill("#subject_code", "P 42")
    assert page.evaluate("document.getElementById('subject_code').validity.valid") is False
    page.fill("#subject_code", "P-0042")
    assert page.evaluate("document.getElementById('subject_code').validity.valid") is True
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
    # the patient's left is on the image's right half, where a block's angle is drawn mirrored
    assert "rotate(-30)" in page.locator('#pelvis g.block[data-block="0"]').get_attribute(
        "transform")
    # oriented as every mat picture, prone or supine: the patient's left block on the image's
    # right half, the right block on its left half
    svg = page.locator("#pelvis").bounding_box()
    middle = svg["x"] + svg["width"] / 2
    for position in ("supine", "prone"):
        page.locator(f"label:has(input[value={position}])").click()
        left = page.locator('#pelvis g.block[data-block="0"]').bounding_box()
        right = page.locator('#pelvis g.block[data-block="1"]').bounding_box()
        assert right["x"] + right["width"] < middle < left["x"], position
    expect(page.locator("#device-cal")).to_contain_text("profile's scale")
    shot(page, "1-live-setup")

    page.click("#start")
    expect(page.locator("#rec")).to_have_text("recording · session 1")
    # two groups of counters: the device's since it was opened, and this session's own
    expect(page.locator("#counters .scope")).to_have_text("device since connect:")
    expect(page.locator("#session-counters .scope")).to_have_text("this session:")
    wait_recorded_seconds(page, 1.0)
    page.locator("body").click(position={"x": 5, "y": 990})  # focus off the form fields
    page.keyboard.press("p")
    # the P key's placed (detection may add its own, source sotlog)
    expect(page.locator("#events li[data-kind=placed][data-source=person]")).to_have_count(1)
    page.fill("#event-text", "left block settled")
    page.click("#eventbar button[data-kind=marker]")
    expect(page.locator("#events li[data-kind=marker]")).to_contain_text("left block settled")
    # the mark is on the traces at once: the page drew it from its own event list
    assert page.evaluate("S.events.some((e) => e.kind === 'marker')")
    wait_recorded_seconds(page, 3.0)
    since_connect = int(page.locator("#counters [data-counter=frames] b").inner_text())
    this_session = int(page.locator("#session-counters [data-counter=frames] b").inner_text())
    assert 0 < this_session < since_connect
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
    second = record_by_api(server, 200, "P-0043")

    # find it on the sessions page
    page.goto(server.url + "/sessions")
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
    expect(page.locator(f"#sessions tbody tr[data-session='{second}']")).to_be_hidden()
    page.select_option("#status", "interrupted")
    expect(page.locator("#sessions tbody")).to_contain_text("No sessions match")
    page.select_option("#status", "complete")
    expect(row).to_be_visible()
    shot(page, "4-sessions")

    row.locator("a").first.click()
    expect(page.locator("#title")).to_have_text("Session 1 · P-0042")
    expect(page.locator("#summary tbody tr")).to_have_count(2)
    expect(page.locator("#events tbody")).to_contain_text("left block settled")
    expect(page.locator("#events tbody tr[data-kind=placed][data-source=person]")).to_have_count(1)
    expect(page.locator("#events tbody tr[data-kind=tare]")).to_have_count(1)
    expect(page.locator("#plot")).to_be_attached()
    page.wait_for_function("document.getElementById('plot').naturalWidth > 0")
    expect(page.locator("#downloads a").first).to_be_visible()
    # the figure for slides: the same picture as `sotlog plot`, downloaded
    with page.expect_download() as dl:
        page.click("a[data-download='force.png']")
    assert dl.value.suggested_filename == "session-1-force.png"
    assert Path(dl.value.path()).read_bytes()[:4] == b"\x89PNG"
    # an edit afterwards is saved and logged with its time
    page.fill("#note", "second block moved after 2 min")
    page.click("#save")
    expect(page.locator("#edits tbody")).to_contain_text("second block moved")
    shot(page, "5-session")

    # two sessions side by side: ticked on the sessions page, one time axis, both summaries
    page.goto(server.url + "/sessions")
    page.check("input[data-compare='1']")
    expect(page.locator("#compare")).to_be_disabled()
    page.check(f"input[data-compare='{second}']")
    page.click("#compare")
    expect(page.locator("#title")).to_have_text(f"Session 1 and session {second}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(page.locator("#measures thead th")).to_have_count(3)  # a column per session
    expect(page.locator("#measures tbody tr[data-measure='left: mean'] td")).to_have_count(2)
    expect(page.locator("#side-a table.events")).to_contain_text("left block settled")
    expect(page.locator("#label-b")).to_contain_text("P-0043")
    with page.expect_download() as dl:
        page.click("#download")
    assert dl.value.suggested_filename == f"sotlog-compare-1-{second}.png"
    assert Path(dl.value.path()).read_bytes()[:4] == b"\x89PNG"
    shot(page, "8-compare")

    # replay it in the live view
    page.goto(server.url + "/replay/1")
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
    expect(page.locator("#counters .scope")).to_have_text("this session:")
    shot(page, "6-replay")
    assert page.errors == []


def test_device_loss_shows_at_once_and_the_page_recovers(serve: Any, page: Any) -> None:
    server = serve("--simulate")
    page.goto(server.url + "/")
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


def test_calibrate_with_known_weights(serve: Any, page: Any) -> None:
    from tests.dashboard.rig import WeightRig

    with WeightRig() as rig:
        server = serve("--port", rig.path, "--profile", "sotlog-loadcells")
        page.goto(server.url + "/calibrate")
        page.wait_for_function("document.body.dataset.ready === 'true'")
        expect(page.locator("#device")).to_contain_text("profile's scale")
        expect(page.locator("#channels input")).to_have_count(2)
        page.uncheck("#channels input[data-channel=right]")
        page.fill("#weights", "0, 10, 20")
        page.fill("#window_s", "0.3")
        page.fill("#by", "JD")
        page.click("#start")
        for i, kg in enumerate((0, 10, 20)):
            step = page.locator(f"#steps li[data-step='{i}']")
            expect(step).to_have_attribute("data-state", "waiting")
            expect(step).to_contain_text(f"place {kg} kg" if kg else "take every weight off")
            if i == 1:
                shot(page, "9-calibrate-waiting")
            rig.place(kg)
            page.keyboard.press("Enter")  # the Placed button's shortcut
            expect(step).to_have_attribute("data-state", "settled")
            expect(step.locator(".settled")).to_contain_text("±")
        expect(page.locator("#run-state")).to_contain_text("fitted")
        record = page.locator("#records .record[data-channel=left]")
        expect(record.locator("tbody tr")).to_have_count(3)
        nonlin = float(record.locator("[data-figure=nonlinearity] .value").inner_text())
        assert 0 <= nonlin < 0.1
        page.select_option("#unit", "kgf")
        expect(record.locator("thead")).to_contain_text("residual (kgf)")
        page.click("#save")
        expect(page.locator("#saved")).to_contain_text("Saved as calibration 1")
        expect(page.locator("#stored tbody tr[data-calibration='1']")).to_contain_text("in use")
        expect(page.locator("#device")).to_contain_text("calibration 1")
        shot(page, "10-calibrate")
        # the unit chosen here is the unit of every page now
        page.goto(server.url + "/")
        expect(page.locator("#unit")).to_have_value("kgf")
        expect(page.locator("#device-cal")).to_contain_text("calibration 1")
        rig.place(15)
        page.wait_for_function("""() => {
            const v = document.querySelector('[data-readout="ch:left"] .value');
            return v !== null && Math.abs(Number(v.textContent) - 15) < 0.5; }""")
    assert page.errors == []


def test_a_mat_live_and_in_replay(serve: Any, page: Any) -> None:
    server = serve("--port", "sim://mat?rows=32&cols=32&rate=30&seed=1&speed=5",
                   "--profile", "sim-mat")
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    expect(page.locator("#matview")).to_be_visible()
    page.wait_for_function("S.lastMat && S.lastMat.regions.length === 2 && S.lastMat.cop")
    expect(page.locator("#mat-info")).to_contain_text("centre of pressure")
    # the block table offers the mat's block channels, named as the stored session names them
    page.click('circle.landmark[data-side="left"][data-landmark="iliac_crest"]')
    page.click('circle.landmark[data-side="right"][data-landmark="iliac_crest"]')
    expect(page.locator("#block-rows tr").nth(0).locator("[data-field=channel]")).to_have_value(
        "left")
    expect(page.locator("[data-readout='ch:total']")).to_have_count(0)  # the total card only
    page.click("#start")
    wait_recorded_seconds(page, 2.0)
    shot(page, "11-mat-live")
    page.click("#stop")
    expect(page.locator("#saved")).to_contain_text("Session 1 saved")
    page.goto(server.url + "/replay/1")
    expect(page.locator("#matview")).to_be_visible()
    page.wait_for_function("S.replay && S.replay.t > 0.5")
    expect(page.locator("#mat-info")).to_contain_text("total")
    page.select_option("#speed", "0.25")
    page.click("#play")
    expect(page.locator("#play")).to_have_text("Play")
    shot(page, "12-mat-replay")
    page.goto(server.url + "/sessions/1")
    page.wait_for_function("document.querySelectorAll('#figures img').length === 4")
    page.wait_for_function(
        "[...document.querySelectorAll('#figures img')].every((i) => i.naturalWidth > 0)")
    shot(page, "13-mat-session")
    assert page.errors == []
