"""GET /api/vocabulary and the pages' templates: sotlog's words and rules from Python only."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from dashboard.web.routes.pages import TEMPLATES, html_pattern
from sensing import rounding, vocabulary
from sensing.mat.orientation import PICTURE_EDGES
from sensing.metrics import onblocks
from sensing.store.sessions import Store
from tests.sensing.outputs.test_exports import record_session

PAGES = ("/", "/replay/1", "/sessions", "/sessions/1", "/compare", "/calibrate")


def test_the_endpoint_serves_the_python_rules(make_client: Callable[..., TestClient]) -> None:
    v = make_client().get("/api/vocabulary").json()
    assert {k: v[k] for k in vocabulary.as_dict()} == vocabulary.as_dict()
    assert v["on_the_blocks"] == onblocks.rule()
    assert v["decimals"] == rounding.DECIMALS and v["decimals_other"] == rounding.OTHER
    assert v["significant"] == rounding.SIGNIFICANT
    assert v["max_event_text_chars"] == vocabulary.MAX_EVENT_TEXT_CHARS
    assert {u["name"]: u["newtons"] for u in v["units"]} == vocabulary.OUTPUT_UNITS
    names = {lm["name"] for lm in v["landmarks"]}
    drawing = v["pelvis"]
    assert set(drawing["landmarks"]) < names  # "other" is in the block table only
    for x, y in drawing["landmarks"].values():
        assert 0 < x < drawing["width"] / 2 and 0 < y < drawing["height"]
    assert set(drawing["labels_below"]) | set(drawing["short_labels"]) <= set(
        drawing["landmarks"])
    assert drawing["edges"] == PICTURE_EDGES  # oriented as every mat picture
    assert drawing["image_sides"] == {"right": "left", "left": "right"}


def test_pages_render_their_choices_from_the_vocabulary(
        make_client: Callable[..., TestClient], store_path: Path) -> None:
    record_session(Store.open(store_path), n=40)  # session 1, for its page and its replay
    client = make_client()
    pages = {path: client.get(path) for path in PAGES}
    for path, r in pages.items():
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache", path
        # one base: the same navigation everywhere, and no inline script (data comes by API)
        assert r.text.count('<nav>') == 1 and 'href="/calibrate"' in r.text, path
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", r.text) == [], path
    live, sessions = pages["/"].text, pages["/sessions"].text
    for category in vocabulary.CATEGORIES:
        assert f"<option>{category}</option>" in live
    for side in vocabulary.SHORT_LEG_SIDES:
        assert f"<option>{side}</option>" in live
    for position in vocabulary.POSITIONS:
        assert f'value="{position}"' in live and f"<option>{position}</option>" in sessions
    for status in vocabulary.STATUSES:
        assert f"<option>{status}</option>" in sessions
    for unit in vocabulary.OUTPUT_UNITS:
        assert f"<option>{unit}</option>" in pages["/compare"].text
    assert "<option>lb</option>" in pages["/calibrate"].text  # the calibration load units
    assert f'maxlength="{vocabulary.MAX_EVENT_TEXT_CHARS}"' in live
    assert 'aria-current="page"' in live and 'aria-current="page"' not in pages["/replay/1"].text


def test_templates_escape_what_they_show() -> None:
    assert TEMPLATES.env.autoescape("live.html") is True
    text = TEMPLATES.env.get_template("forms.html").module.options(['"><script>'])
    assert "<script>" not in str(text) and "&lt;script&gt;" in str(text)


def test_a_python_pattern_as_an_html_pattern() -> None:
    pattern = html_pattern(vocabulary.SUBJECT_CODE_RE.pattern)
    assert pattern == r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}"
    assert re.fullmatch(pattern, "P-0042") and not re.fullmatch(pattern, "P 42")
