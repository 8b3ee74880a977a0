"""No other web page can drive the dashboard: cross-site posts, DNS rebinding, foreign
WebSockets and framing are refused, against a real ``sotlog serve`` and a real Chromium."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.dashboard.conftest import ServeProcess
from tests.dashboard.web.browser import CHROMIUM_ARGS, expect, launch, new_page

PAGES = ("/", "/sessions", "/compare", "/calibrate")
META = {"subject_code": "P-0042", "position": "prone"}


@pytest.fixture
def recording(serve: Callable[..., ServeProcess]) -> ServeProcess:
    server = serve("--simulate")
    assert server.http.post("/api/recording", json=META).status_code == 201
    return server


def still_recording(server: ServeProcess) -> bool:
    return server.http.get("/api/status").json()["recording"] is not None


def test_a_cross_site_post_changes_nothing(recording: ServeProcess) -> None:
    for path in ("/api/recording/stop", "/api/tare", "/api/events"):
        r = recording.http.post(path, data={"kind": "marker", "text": "x"},
                                headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "another web page" in r.json()["detail"], path
        r = recording.http.post(path, data={"kind": "marker"},
                                headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403, path
    assert still_recording(recording)
    own = {"Origin": recording.url, "Sec-Fetch-Site": "same-origin"}
    assert recording.http.post("/api/events", json={"kind": "placed"}, headers=own).is_success


def test_a_rebinding_host_reads_and_writes_nothing(recording: ServeProcess) -> None:
    rebound = {"Host": f"attacker.example:{recording.port}"}
    for method, path in (("GET", "/api/sessions"), ("GET", "/api/sessions/1"),
                         ("PATCH", "/api/sessions/1"), ("GET", "/")):
        r = recording.http.request(method, path, headers=rebound, json={"note": "x"})
        assert r.status_code == 421 and "does not answer to host" in r.json()["detail"], path
    assert recording.http.get("/api/sessions").status_code == 200  # 127.0.0.1 is fine


def test_allowed_hosts_answer(serve: Callable[..., ServeProcess]) -> None:
    server = serve("--simulate", "--allow-host", "clinic-pc.local")
    r = server.http.get("/api/status", headers={"Host": f"clinic-pc.local:{server.port}"})
    assert r.status_code == 200
    r = server.http.get("/api/status", headers={"Host": f"other-pc.local:{server.port}"})
    assert r.status_code == 421


def test_a_foreign_websocket_is_closed_with_1008(recording: ServeProcess) -> None:
    ws_url = recording.url.replace("http", "ws") + "/api/live"

    async def first(origin: str) -> Any:
        async with websockets.connect(ws_url, origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
            try:
                return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
            except websockets.ConnectionClosed as closed:
                return closed.rcvd

    refused = asyncio.run(first("http://evil.example"))
    assert refused.code == 1008 and "another web page" in refused.reason
    assert asyncio.run(first(recording.url)) == "hello"


def test_every_response_forbids_framing_and_sniffing(recording: ServeProcess) -> None:
    for path in (*PAGES, "/api/status", "/api/vocabulary", "/static/common.js", "/nope"):
        h = recording.http.get(path).headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "no-referrer", path


class _Attacker(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker(recording: ServeProcess) -> Iterator[str]:
    """Another web page on another origin: it posts a form to the dashboard and frames it."""
    _Attacker.page = f"""<!doctype html><title>evil</title>
<iframe name=sink width=10 height=10></iframe>
<form id=f method=post target=sink action="{recording.url}/api/recording/stop"></form>
<iframe id=frame src="{recording.url}/" width=600 height=400></iframe>
<script>document.getElementById("f").submit();</script>""".encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.mark.browser
def test_in_a_browser_another_page_can_neither_stop_nor_frame_nor_rebind(
        recording: ServeProcess, attacker: str) -> None:
    # attacker.test resolves to this machine, as a rebinding name would.
    args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP attacker.test 127.0.0.1"]
    for browser in launch(args):
        for page in new_page(browser, {"width": 900, "height": 700}, bypass_csp=False):
            with page.expect_response(lambda r: "/api/recording/stop" in r.url) as posted:
                page.goto(attacker)
            assert posted.value.status == 403 and still_recording(recording)
            frame = page.frame_locator("#frame")
            expect(frame.locator("body")).not_to_contain_text("sotlog", timeout=3000)
            rebound = page.goto(f"http://attacker.test:{recording.port}/")
            assert rebound is not None and rebound.status == 421
            expect(page.locator("body")).to_contain_text("does not answer to host")


@pytest.mark.browser
def test_the_pages_break_no_rule_of_their_own_policy(recording: ServeProcess) -> None:
    violations: list[str] = []
    for browser in launch():
        for page in new_page(browser, {"width": 1366, "height": 768}, bypass_csp=False):
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            for path in PAGES:
                page.goto(recording.url + path)
                page.wait_for_load_state("networkidle")
            assert page.errors == []
    assert violations == []
    assert isinstance(httpx.get(recording.url + "/api/status").json(), dict)
