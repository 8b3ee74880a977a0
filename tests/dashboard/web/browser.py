"""What the browser tests share: Chromium through Playwright, screenshots, and waits on the page.

The fixtures (``browser``, ``page``) are in this folder's conftest.py; the tests import the
helpers from here.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sensing import rounding
from sensing.mat.orientation import PICTURE_EDGES
from tests.dashboard.conftest import SERVER_STOP_TIMEOUT_S, ServeProcess

CHROMIUM = os.environ.get("SOTLOG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
WAIT_MS = 15_000
IN_CI = bool(os.environ.get("CI"))
LAPTOP = {"width": 1366, "height": 768}  # a clinic laptop

try:
    from playwright import sync_api as playwright_api
except ImportError:  # pragma: no cover - depends on the machine
    playwright_api = None


def _missing(reason: str) -> None:
    """In CI a browser test that cannot run is a failure; on a workstation, a clear skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def launch(args: list[str] | None = None) -> Iterator[Any]:
    """Headless Chromium for a module's tests (skipped, or failed in CI, when missing)."""
    if playwright_api is None:
        _missing("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (install chromium or set SOTLOG_CHROMIUM)")
    assert playwright_api is not None
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=args or CHROMIUM_ARGS)
        yield b
        b.close()


def new_page(browser: Any, viewport: dict[str, int], bypass_csp: bool = True) -> Iterator[Any]:
    """A fresh context and page; uncaught page errors are collected in ``page.errors``.

    ``bypass_csp``: the tests' own probes (``wait_for_function``) are evaluated strings, which
    the dashboard's Content-Security-Policy forbids; test_security.py loads every page without
    it and sees no violation.
    """
    context = browser.new_context(viewport=viewport, accept_downloads=True,
                                  bypass_csp=bypass_csp)
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    pg.errors = []
    pg.on("pageerror", lambda err: pg.errors.append(str(err)))
    yield pg
    context.close()


def expect(locator: Any) -> Any:
    assert playwright_api is not None
    return playwright_api.expect(locator)


def shot(page: Any, name: str, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def wait_recorded_seconds(page: Any, seconds: float) -> None:
    page.wait_for_function(
        """(s) => S.status.recording && S.t.length &&
                  S.t[S.t.length - 1] - S.status.recording.t_start >= s""", arg=seconds)


def wait_session_frames(server: ServeProcess, frames: int, timeout_s: float = 20.0) -> None:
    """Until the recording on ``server`` holds ``frames`` frames (asked of its status: the
    server is another process, so there is nothing else to wait on)."""
    deadline = time.monotonic() + timeout_s
    while server.http.get("/api/status").json()["session_counters"].get("frames", 0) < frames:
        assert time.monotonic() < deadline, f"the recording got fewer than {frames} frames"
        time.sleep(0.05)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def stop_with(server: ServeProcess, sig: signal.Signals) -> str:
    """Stop ``sotlog serve`` with ``sig`` (SIGTERM as a service manager does, SIGKILL as a
    crash); its stderr."""
    assert server.proc is not None
    server.proc.send_signal(sig)
    server.proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
    return server.stop()


def serve_again(old: ServeProcess, *args: str) -> ServeProcess:
    """A new ``sotlog serve`` on the same store and the same http port as ``old`` (which has
    stopped), so a page left open finds it by itself; stop it with ``.stop()``."""
    new = ServeProcess(old.store, *args)
    new.port, new.url = old.port, old.url
    at = new.args.index("--http-port") + 1
    new.args[at] = str(old.port)
    new.http.close()
    new.http = httpx.Client(base_url=old.url, timeout=10.0)
    return new.start()


# Every text a page draws on its canvases, kept in the page (window.drawnText) for
# overlong_numbers: add with page.add_init_script before the page is opened.
KEEP_CANVAS_TEXT = """(() => {
  const fill = CanvasRenderingContext2D.prototype.fillText;
  window.drawnText = new Set();
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    if (window.drawnText.size < 20000) window.drawnText.add(String(text));
    return fill.call(this, text, ...rest);
  };
})()"""
# a number, and the unit after it (in a card, after a line break)
_NUMBER = re.compile(r"(?<![\w.])\d+\.(\d+)(?![\d.])[ \u2009\u00a0\n]?(\S*)")
_UNITS = sorted(rounding.DECIMALS, key=len, reverse=True)


def overlong(texts: list[str]) -> list[str]:
    """The numbers in ``texts`` with more decimals than their unit means (sensing.rounding), in
    their words; a number without a known unit after it may carry at most ``rounding.MOST``, one
    in a unit that keeps significant digits (a gain per count) at most those."""
    bad = []
    for text in texts:
        for m in _NUMBER.finditer(text):
            after = m.group(2)
            digits = rounding.significant(after)
            if digits is not None:
                if len(m.group(0).split()[0].replace(".", "").lstrip("0")) > digits:
                    bad.append(text[max(0, m.start() - 30):m.end() + 5])
                continue
            unit = next((u for u in _UNITS if after.startswith(u) and (
                len(after) == len(u) or not after[len(u)].isalnum())), None)
            if len(m.group(1)) > (rounding.DECIMALS[unit] if unit else rounding.MOST):
                bad.append(text[max(0, m.start() - 30):m.end() + 5])
    return bad


def overlong_numbers(page: Any) -> list[str]:
    """``overlong`` over what the page shows: its text, its titles, and what its canvases drew
    since KEEP_CANVAS_TEXT."""
    return overlong(page.evaluate("""() => [document.body.innerText,
        ...[...document.querySelectorAll('[title]')].map((n) => n.title),
        ...(window.drawnText ? [...window.drawnText] : [])]"""))


def pelvis_oriented(page: Any) -> None:
    """The page's pelvis drawing carries the mat pictures' words on the same edges
    (PICTURE_EDGES): the patient's right at its left, the patient's left at its right, the
    head at the top in the middle."""
    marks = page.evaluate("""() => {
      const svg = document.getElementById("pelvis").getBoundingClientRect();
      return Object.fromEntries([...document.querySelectorAll("#pelvis text[data-edge]")]
        .map((t) => {
          const b = t.getBoundingClientRect();
          return [t.dataset.edge, [t.textContent, (b.left + b.right - svg.left - svg.right) / 2,
            b.top - svg.top]];
        }));
    }""")
    assert {edge: words for edge, (words, _, _) in marks.items()} == PICTURE_EDGES
    assert marks["left"][1] < 0 < marks["right"][1] and abs(marks["top"][1]) < 5
    assert marks["top"][2] < 30  # at the top edge
