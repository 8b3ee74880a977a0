"""A long session replays a page at a time: the API's pages join into the whole session, with
on the blocks judged over the whole session, and the page plays before the rest has loaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from sensing.store.sessions import Store
from tests.dashboard.web.browser import expect
from tests.sensing.outputs.test_exports import record_session

RATE = 80.0


@pytest.fixture
def long_session(store_path: Path) -> int:
    """Twelve and a half minutes of two load cells at 80 Hz: the first page and two more."""
    return record_session(Store.open(store_path), n=int(750 * RATE), rate=RATE)


def test_pages_join_into_the_whole_session(long_session: int,
                                           make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    url = f"/api/sessions/{long_session}/samples"
    whole = client.get(url).json()
    pages = [client.get(url, params={"t0": t0, "t1": t0 + 100}).json()
             for t0 in range(0, 800, 100)]
    for key in ("time_s", "loaded", "on_blocks_s"):
        assert sum((p[key] for p in pages), []) == whole[key], key
    for name in whole["names"]:
        assert sum((p["values"][name] for p in pages), []) == whole["values"][name]
    # on the blocks is the session's rule, not a page's: one threshold, time counted from 0
    assert {p["loaded_threshold"] for p in pages} == {whole["loaded_threshold"]}
    assert pages[3]["on_blocks_s"][0] > 250
    assert 0 < sum(whole["loaded"]) < len(whole["loaded"])
    # a span is t0 <= time_s < t1
    one = client.get(url, params={"t0": 10, "t1": 20}).json()["time_s"]
    t = np.array(whole["time_s"])
    assert one == t[(t >= 10) & (t < 20)].tolist()


@pytest.mark.browser
def test_a_long_replay_plays_before_it_has_loaded(long_session: int, serve: Any,
                                                  page: Any) -> None:
    server = serve()
    whole = server.http.get(f"/api/sessions/{long_session}/samples").json()
    page.goto(f"{server.url}/replay/{long_session}")
    page.wait_for_function("S.replay && S.replay.playing && S.t.length > 0")
    assert page.evaluate("S.replay.duration") == pytest.approx(whole["time_s"][-1])
    page.wait_for_function("S.replay.complete === true")
    assert page.evaluate("S.t") == whole["time_s"]
    assert page.evaluate("S.series.left") == whole["values"]["left"]
    # jump near the end: the readout reads the last samples, loaded by the later pages
    page.locator("#scrub").fill(str(whole["time_s"][-1] - 1))
    expect(page.locator("#replay-time")).to_contain_text("12:")
