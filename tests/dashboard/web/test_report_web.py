"""The report from the web: the session page's Report button downloads the one-page PDF, the
page shows the measures, and printing the page (Chromium's own print) gives one page too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sensing.store.sessions import Store
from sensing.vocabulary import INTENDED_USE
from tests.dashboard.web.browser import SHOTS, expect
from tests.sensing.outputs.reportsession import report_session
from tests.sensing.outputs.test_report import flat, pages, poppler, text_of

pytestmark = pytest.mark.browser


@pytest.fixture
def session_id(store_path: Path, tmp_path: Path) -> int:
    return report_session(Store.open(store_path), tmp_path, blocks=4, events=40)


def test_report_button_measures_table_and_print(serve: Any, page: Any, session_id: int,
                                                tmp_path: Path) -> None:
    server = serve()
    page.goto(f"{server.url}/sessions/{session_id}")
    rows = page.locator("#measures tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#measures-note")).to_have_text(
        "on the blocks: placed 10.0 s to removed 60.0 s")
    expect(page.locator('#measures tbody tr[data-formula="symmetry"] td').nth(2)).to_have_text(
        "-16.7 %")
    expect(page.locator("#measures thead th")).to_have_text(
        ["of", "measure", "whole session", "on the blocks (placed to removed)", "formula"])

    with page.expect_download() as got:
        page.click("#report")
    pdf = tmp_path / "report.pdf"
    got.value.save_as(pdf)
    assert got.value.suggested_filename == f"session-{session_id}_P-0042_report.pdf"
    assert pages(pdf) == 1
    assert "P-0042" in text_of(pdf)

    # printed: one A4 page with the measures and the footer, no navigation, forms or links
    page.wait_for_function("[...document.images].every((i) => i.complete)")
    page.emulate_media(media="print")
    printed = tmp_path / "printed.pdf"
    page.pdf(path=str(printed), format="A4", print_background=True, prefer_css_page_size=True)
    assert pages(printed) == 1
    words = flat(text_of(printed))
    assert flat(INTENDED_USE) in words
    assert "symmetry index" in words and "force-time integral" in words
    for hidden in ("Live", "Save changes", "Downloads", "Compare with", "Edit history"):
        assert hidden not in words
    SHOTS.mkdir(parents=True, exist_ok=True)
    poppler("pdftoppm", "-png", "-r", "80", "-singlefile", str(printed),
            str(SHOTS / "session-printed"))
