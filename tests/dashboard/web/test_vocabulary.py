"""GET /api/vocabulary: sotlog's words and rules for the pages, from Python only."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from sensing import vocabulary
from sensing.metrics import onblocks


def test_the_endpoint_serves_the_python_rules(make_client: Callable[..., TestClient]) -> None:
    v = make_client().get("/api/vocabulary").json()
    assert {k: v[k] for k in vocabulary.as_dict()} == vocabulary.as_dict()
    assert v["on_the_blocks"] == onblocks.rule()
    assert v["max_event_text_chars"] == vocabulary.MAX_EVENT_TEXT_CHARS
    assert {u["name"]: u["newtons"] for u in v["units"]} == vocabulary.OUTPUT_UNITS
    names = {lm["name"] for lm in v["landmarks"]}
    drawing = v["pelvis"]
    assert set(drawing["landmarks"]) < names  # "other" is in the block table only
    for x, y in drawing["landmarks"].values():
        assert 0 < x < drawing["width"] / 2 and 0 < y < drawing["height"]
    assert set(drawing["labels_below"]) | set(drawing["short_labels"]) <= set(
        drawing["landmarks"])
    assert set(drawing["mirrored_positions"]) < set(vocabulary.POSITIONS)
