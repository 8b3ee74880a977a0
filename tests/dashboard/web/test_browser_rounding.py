"""Numbers are rounded to what they can mean on the replay, compare, live, sessions and calibrate
pages: no number a page shows, in its text or drawn on its canvases, carries more decimals than
its unit means (``sensing.rounding``, the one rule the pages get from /api/vocabulary)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sensing import rounding
from sensing.store.sessions import Store
from tests.dashboard.rig import WeightRig
from tests.dashboard.web.browser import (
    KEEP_CANVAS_TEXT,
    LAPTOP,
    expect,
    new_page,
    overlong,
    overlong_numbers,
    shot,
    wait_recorded_seconds,
)
from tests.sensing.outputs.test_exports import record_session


def test_the_check_finds_overlong_numbers() -> None:
    shown = ["Tared over 1.0252676459999748 s", "left 205.63 N", "0.25×", "share 59.3 %",
             "x 12.5 mm", "v0.1.0 on 127.0.0.1", "12.345 kgf", "3.14159", "0.000467 N/count",
             "0.0004671 kgf/count", "0.00046713 N/count", "46.713 N/count",
             "total\n205.6\nN", "total\n205.63\nN"]  # a card: its value, then its unit
    assert [b.strip() for b in overlong(shown)] == [
        "Tared over 1.0252676459999748 s", "left 205.63 N", "x 12.5 mm", "12.345 kgf",
        "3.14159", "0.00046713 N/count", "46.713 N/count", "total\n205.63\nN"]


SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}


@pytest.fixture(params=list(SCREENS))
def page(request: Any, browser: Any) -> Iterator[Any]:
    """A page on a laptop's screen and on a projector's (the traces' ticks follow the size), that
    keeps what its canvases draw."""
    for pg in new_page(browser, SCREENS[request.param]):
        pg.add_init_script(KEEP_CANVAS_TEXT)
        pg.screen = request.param
        yield pg


@pytest.fixture
def stored(store_path: Path) -> list[int]:
    store = Store.open(store_path)
    return [record_session(store, n=400, seed=1, notes=1, tare_before=True),
            record_session(store, n=320, seed=2, gap_s=0.7),
            record_session(store, "mat", n=150, rate=30.0, seed=5),
            record_session(store, "mat", n=150, rate=30.0, seed=6)]


# Every trace panel's tick labels as drawn last: its values' unit, and the labels of each axis.
TICKS = "typeof Traces === 'undefined' ? [] : Traces.all.filter((t) => t.ticks).map((t) => t.ticks)"


def ticks_held(page: Any) -> int:
    """Each trace panel's axes: labels with no more decimals than their unit means, and ticks no
    closer than the unit's resolution (10^-decimals); how many panels there were."""
    panels = page.evaluate(TICKS)
    for panel in panels:
        for axis, unit in (("y", panel["yUnit"]), ("x", "s")):
            digits = rounding.decimals(unit)
            labels = [t.removesuffix(" s").replace("\u2009", "") for t in panel[axis]]
            labels = [t for t in labels if not t[-1].isalpha()]  # "1.23 M": grouped, no decimals
            assert all(len(t.partition(".")[2]) <= digits for t in labels), (axis, unit, labels)
            values = [float(t) for t in labels]
            steps = [b - a for a, b in zip(values, values[1:], strict=False)]
            assert all(step >= 10 ** -digits - 1e-9 for step in steps), (axis, unit, labels)
    return len(panels)


def held(page: Any, name: str, canvases: bool = True) -> None:
    if canvases:  # their words were seen too
        assert page.evaluate("[...window.drawnText].some((t) => /\\d/.test(t))")
    bad = overlong_numbers(page)
    ticks_held(page)
    shot(page, f"44-rounding-{name}-{page.screen}", full=False)
    assert bad == [], bad
    assert page.errors == []


@pytest.mark.browser
def test_sessions_and_compare(stored: list[int], serve: Any, page: Any) -> None:
    server = serve()
    page.goto(f"{server.url}/sessions")
    page.wait_for_selector("#sessions tbody tr[data-session]")
    held(page, "sessions", canvases=False)
    for ids, name in ((stored[:2], "compare"), (stored[2:], "compare-mats")):
        page.goto(f"{server.url}/compare?a={ids[0]}&b={ids[1]}")
        page.wait_for_function("document.body.dataset.ready === 'true'")
        page.click("#play")
        page.wait_for_function("C.play.t !== null && C.play.t > 0.5")
        if name == "compare-mats":
            page.wait_for_function("MC.last !== null")
        held(page, name)
    # zoomed in with the wheel to a few hundredths of a second (where a step of 1, 2 or 5 ms
    # would be next): the time axis's ticks stop at 0.01 s, labelled with its 2 decimals
    page.click("#play")  # paused, so the window stays where it was zoomed
    box = page.locator("#trace-a").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(60):
        if page.evaluate("C.view !== null && C.view[1] - C.view[0] < 0.05"):
            break
        page.mouse.wheel(0, -100)
    assert page.evaluate("C.view[1] - C.view[0]") < 0.05
    assert ticks_held(page) == 2
    x = page.evaluate("traces.a.ticks.x")
    assert len(x) >= 2 and all(len(t.removesuffix(" s").split(".")[1]) == 2 for t in x), x


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


@pytest.mark.browser
def test_calibrate(serve: Any, page: Any) -> None:
    """A fit's table, figures and stored row, and the reading now, in each force unit."""
    with WeightRig() as rig:
        server = serve("--port", rig.path, "--profile", "sotlog-loadcells")
        page.goto(server.url + "/calibrate")
        page.wait_for_function("document.body.dataset.ready === 'true'")
        page.uncheck("#channels input[data-channel=right]")  # one block's weights are enough
        page.fill("#weights", "0, 5, 10")
        page.fill("#window_s", "0.3")
        page.click("#start")
        for i, kg in enumerate((0, 5, 10)):
            step = page.locator(f"#steps li[data-step='{i}']")
            expect(step).to_have_attribute("data-state", "waiting")
            rig.place(kg)
            page.keyboard.press("Enter")
            expect(step).to_have_attribute("data-state", "settled")
        expect(page.locator("#run-state")).to_contain_text("fitted")
        page.click("#save")
        expect(page.locator("#stored tbody tr[data-calibration='1']")).to_be_visible()
        expect(page.locator("#reading")).to_contain_text("now: left")
        for unit in ("N", "kgf", "lbf"):
            page.select_option("#unit", unit)
            expect(page.locator("#records thead").first).to_contain_text(f"residual ({unit})")
            expect(page.locator("#stored tbody")).to_contain_text(f" {unit}")
            expect(page.locator("#reading")).to_contain_text(f" {unit}")
            expect(page.locator("#records [data-figure]").first).to_be_visible()
            held(page, f"calibrate-{unit}", canvases=False)
        # the gain per count keeps its significant digits (not the force unit's decimals)
        gain = page.locator("#records .big", has_text="gain at zero").first.locator(".value")
        assert 0 < float(gain.inner_text()) < 0.01


@pytest.mark.browser
def test_an_axis_step_is_no_finer_than_its_unit(serve: Any, laptop_page: Any) -> None:
    """The pages' one tick step (common.js axisStep), asked in the page with the served rule."""
    page = laptop_page
    server = serve()
    page.goto(f"{server.url}/sessions")
    page.wait_for_function("V !== null")
    step = "([r, n, u]) => axisStep(r, n, u)"
    assert page.evaluate(step, [0.5, 5, "raw"]) == {"step": 1, "digits": 0}
    assert page.evaluate(step, [0.04, 4, "N"]) == {"step": 0.1, "digits": 1}
    assert page.evaluate(step, [1, 4, "kgf"]) == {"step": 0.25, "digits": 2}
    assert page.evaluate(step, [1, 4, "N"]) == {"step": 0.5, "digits": 1}  # not 0.25
    assert page.evaluate(step, [25, 10, "raw"]) == {"step": 5, "digits": 0}  # not 2.5
    assert page.evaluate(step, [100, 4, "raw"]) == {"step": 25, "digits": 0}
    assert page.evaluate(step, [0.02, 5, "s"]) == {"step": 0.01, "digits": 2}
    assert page.evaluate(step, [60, 6, "s"]) == {"step": 10, "digits": 0}
    assert page.evaluate("tickValues(-0.3, 0.3, axisStep(0.6, 3, 'N'))") == [-0.2, 0, 0.2]
