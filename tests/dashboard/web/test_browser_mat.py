"""A pressure mat on the live page in Chromium: the binary frames decoded and drawn as the heat
map, each sensel in its colour, beside the traces of the block regions; the stream deflated."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.web.browser import expect, shot

pytestmark = pytest.mark.browser

MAT = "sim://mat?rows=48&cols=48&rate=30&protocol=blockframe&seed=1"

# Every loaded sensel of the frame the page holds, its colour on the canvas against the one
# heatColour gives its value; sensels under the drawn marks (centre of pressure, region boxes
# and labels) are left out. In one evaluation, so no new frame is drawn in between.
PIXELS = """() => {
  const mat = S.lastMat, canvas = document.getElementById("mat");
  const box = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  const cell = Math.min((box.width - 44) / mat.cols, (box.height - 44) / mat.rows);
  const x0 = (box.width - cell * mat.cols) / 2, y0 = (box.height - cell * mat.rows) / 2;
  const ctx = canvas.getContext("2d");
  const near = (r, c) => (mat.cop && Math.abs(r - mat.cop.row) < 3 && Math.abs(c - mat.cop.col) < 3)
    || (mat.regions || []).some((g) => r >= g.r0 - 3 && r <= g.r1 && c >= g.c0 - 1 && c <= g.c1
      && (r <= g.r0 || r >= g.r1 - 1 || c <= g.c0 || c >= g.c1 - 1));
  const out = [];
  for (let r = 0; r < mat.rows; r++) for (let c = 0; c < mat.cols; c++) {
    const v = mat.values[r * mat.cols + c];
    if (!(v > 0) || near(r, c)) continue;
    const px = ctx.getImageData(Math.round((x0 + (c + 0.5) * cell) * dpr),
      Math.round((y0 + (r + 0.5) * cell) * dpr), 1, 1).data;
    out.push([heatColour((v - mat.raw_min) / (mat.raw_max - mat.raw_min)),
      `rgb(${px[0]},${px[1]},${px[2]})`]);
  }
  return { dtype: mat.dtype, n: mat.values.length, kind: mat.values.constructor.name,
    seq: mat.seq, pixels: out };
}"""


def test_the_live_mat_is_drawn_from_its_binary_frames(serve: Any, page: Any) -> None:
    server = serve("--port", MAT, "--profile", "sim-mat-48")
    handshakes: list[dict[str, str]] = []  # what the server answered Chromium's WebSocket
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketHandshakeResponseReceived",
           lambda e: handshakes.append({k.lower(): v for k, v in e["response"]["headers"].items()}))
    page.goto(server.url + "/")
    expect(page.locator("#state")).to_have_text("connected")
    expect(page.locator("#matview")).to_be_visible()
    # the simulated body settles onto the blocks from about 3 s: both regions found on it, and
    # both footprints (about 280 sensels) loaded
    page.wait_for_function("S.lastMat && S.lastMat.regions.length == 2 && "
                           "S.lastMat.values.filter((v) => v > 0).length > 200", timeout=30_000)
    expect(page.locator("#mat-info")).to_contain_text("48×48 sensels")
    drawn = page.evaluate(PIXELS)
    assert drawn["n"] == 48 * 48 and drawn["kind"] in ("Uint16Array", "Uint8Array")
    assert len(drawn["pixels"]) > 100
    wrong = [p for p in drawn["pixels"] if p[0] != p[1]]
    assert not wrong, wrong[:5]
    page.wait_for_function(f"S.lastMat.seq > {drawn['seq']}")  # and it goes on, frame by frame
    assert page.evaluate("S.t.length > 30 && S.channels.map((c) => c.name).join()") == \
        "left,right,total"
    # Chromium offers permessage-deflate, and sotlog serve takes it
    assert handshakes and handshakes[0]["sec-websocket-extensions"].startswith(
        "permessage-deflate")
    shot(page, "20-live-mat-binary")
    assert page.errors == []
