"""Offline and errors in Chromium: /docs draws the API from files the dashboard serves itself
(every other host refused, the Content-Security-Policy in force), and an unknown session's page
is a real 404 page in words, with no path of the machine in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.web.browser import LAPTOP, expect, new_page, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def strict_page(browser: Any) -> Iterator[Any]:
    """A laptop-sized page under the dashboard's own Content-Security-Policy."""
    yield from new_page(browser, LAPTOP, bypass_csp=False)


def test_api_docs_work_offline(serve: Any, strict_page: Any) -> None:
    page = strict_page
    server = serve()
    elsewhere: list[str] = []

    def offline(route: Any) -> None:  # no network but the dashboard's own address
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("sotlog")
    expect(page.locator(".opblock-summary-path[data-path='/api/sessions/{session_id}']")
           ).to_have_count(2)  # GET and PATCH, drawn from /openapi.json
    assert elsewhere == [] and refused == [] and page.errors == []
    shot(page, "37-api-docs-offline", full=False)


def test_an_unknown_session_page_is_a_real_404(serve: Any, store_path: Path,
                                               strict_page: Any) -> None:
    page = strict_page
    server = serve()
    for path in ("/sessions/999", "/replay/999"):
        answer = page.goto(server.url + path)
        assert answer is not None and answer.status == 404, path
        expect(page.locator("h1")).to_have_text("No session 999")
        expect(page.locator("main a[href='/sessions']")).to_be_visible()
        html = page.content()
        assert str(store_path.parent) not in html and "/tmp" not in html
        assert page.errors == []
    shot(page, "38-no-such-session", full=False)
