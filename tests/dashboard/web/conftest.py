"""Browser fixtures for the pages' tests (test_browser*.py): Chromium once per module, a fresh
page per test. Helpers are in ``tests.dashboard.web.browser``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.web.browser import LAPTOP, launch, new_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page as wide as the tests of every page have used (1400 x 1000)."""
    yield from new_page(browser, {"width": 1400, "height": 1000})


@pytest.fixture
def laptop_page(browser: Any) -> Iterator[Any]:
    """A page the size of a clinic laptop's screen (1366 x 768)."""
    yield from new_page(browser, LAPTOP)
