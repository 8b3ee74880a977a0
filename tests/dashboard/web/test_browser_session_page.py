"""The session page and the sessions list in Chromium on a laptop and a projector: the edit
history in words, wrapped in its panel whatever its length; the figures drawn again after an
edit; durations with their units; numbers rounded to what they can mean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sensing.store.sessions import Store
from tests.dashboard.web.browser import LAPTOP, expect, new_page, pelvis_oriented, shot
from tests.sensing.outputs.test_exports import record_session

pytestmark = pytest.mark.browser

SCREENS = {"laptop": LAPTOP, "1080p": {"width": 1920, "height": 1080}}
LONG = "recalibratedaftertherigwasmoved" * 14  # one word of 434 letters, no break in it


@pytest.fixture(params=list(SCREENS))
def screen(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:
    yield from ((request.param, pg) for pg in new_page(browser, SCREENS[request.param]))


@pytest.fixture
def edited(store_path: Path) -> int:
    """A stored session whose conversion was rewritten once, with a reason of one long word."""
    store = Store.open(store_path)
    sid = record_session(store, n=160)
    with store.session(sid) as s:
        conversion = dict(s.info.conversion)
    conversion["tare"] = [{"from_s": None, "offsets": {"left": 12000.0, "right": 18000.0}},
                          {"from_s": 1.0252676459999748, "offsets": {"left": 12345.678,
                                                                     "right": 18000.25}}]
    store.set_conversion(sid, conversion, reason=LONG)
    return sid


def test_session_page_reads_and_holds(edited: int, serve: Any,
                                      screen: tuple[str, Any]) -> None:
    size, page = screen
    server = serve()
    page.goto(f"{server.url}/sessions")
    expect(page.locator("#sessions tbody tr")).to_have_count(1)
    duration = page.locator("#sessions tbody tr td").nth(6).text_content()
    assert re.fullmatch(r"\d+ s|\d+ min \d\d s", duration), duration

    page.goto(f"{server.url}/sessions/{edited}")
    expect(page.locator("#edits tbody tr")).to_have_count(1)
    change = page.locator("#edits tbody tr td.change").text_content()
    assert change.startswith("Tare from 1.03 s (left 12346, right 18000 raw)"), change
    expect(page.locator("#subtitle")).to_contain_text(re.compile(r"\b\d+ s recorded"))
    pelvis_oriented(page)  # oriented as every mat picture
    # nothing on the page has more digits than it can mean
    body = page.locator("main").inner_text()
    assert not re.search(r"\d\.\d{4,}", body), re.findall(r"\S*\d\.\d{4,}\S*", body)[:3]

    # a person's edit in the form: in words in the history, and the figures drawn again
    before = page.locator("#plot").get_attribute("src")
    page.select_option("#category", "I")
    page.click("#save")
    expect(page.locator("#saved")).to_contain_text("Saved Category")
    expect(page.locator("#edits tbody tr")).to_have_count(2)
    expect(page.locator("#edits tbody tr").nth(1).locator("td.change")).to_have_text(
        "Category II → I")
    expect(page.locator("#plot")).not_to_have_attribute("src", before)
    page.locator("#plot").scroll_into_view_if_needed()  # the figures load lazily
    page.wait_for_function("document.getElementById('plot').complete && "
                           "document.getElementById('plot').naturalWidth > 0")

    # the long reason wraps inside its panel: no page wider than the window, and the page's
    # own buttons on screen
    assert page.evaluate("document.documentElement.scrollWidth") == page.evaluate(
        "document.documentElement.clientWidth")
    spill = page.evaluate("""() => [...document.querySelectorAll('#edits td')]
        .filter((td) => td.scrollWidth > td.clientWidth)
        .map((td) => td.textContent.slice(0, 30))""")
    assert spill == []
    table = page.locator("#edits").bounding_box()
    panel = page.locator("section:has(#edits)").bounding_box()
    assert table["x"] + table["width"] <= panel["x"] + panel["width"]
    for selector in ("#replay", "#unit"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"], selector
    page.locator("#edits").scroll_into_view_if_needed()
    shot(page, f"36-session-edits-{size}", full=False)
    assert page.errors == []
