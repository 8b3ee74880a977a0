"""A pressure mat on the live page in Chromium: the binary frames decoded and drawn as the heat
map, each sensel in its colour, beside the traces of the block regions; the stream deflated."""

from __future__ import annotations

from typing import Any

import pytest

from sensing.mat.orientation import PICTURE_EDGES
from tests.dashboard.web.browser import KEEP_CANVAS_TEXT, expect, pelvis_oriented, shot

pytestmark = pytest.mark.browser

MAT = "sim://mat?rows=48&cols=48&rate=30&protocol=blockframe&seed=1"

# Every loaded sensel of the frame the page drew last, its colour on the canvas against the one
# heatRGB gives its value (the one colour map, GET /api/colourmap); sensels under the drawn marks
# (centre of pressure and its trail, region boxes, and the boxes of their words as the page
# drew them) are left out. In one evaluation, so no new frame is drawn in between.
PIXELS = """() => {
  const canvas = document.getElementById("mat"), mat = canvas._last[0];  // the frame drawn
  const L = canvas._layout, dpr = window.devicePixelRatio || 1, f = mat.factor;
  const ctx = canvas.getContext("2d");
  const trail = canvas._last[1].trail.map(([tr, tc]) => [tr / f, tc / f]);
  const offTrail = (y, x) => trail.slice(1).every(([y1, x1], k) => {  // from each stretch
    const [y0, x0] = trail[k], dy = y1 - y0, dx = x1 - x0, len = dy * dy + dx * dx || 1;
    const u = Math.max(0, Math.min(1, ((y - y0) * dy + (x - x0) * dx) / len));
    return Math.hypot(y - y0 - u * dy, x - x0 - u * dx) > 1.5;
  });
  const near = (r, c) => (mat.cop && Math.abs(r + 0.5 - mat.cop.row / f) < 3
      && Math.abs(c + 0.5 - mat.cop.col / f) < 3) || !offTrail(r + 0.5, c + 0.5)
    || (mat.regions || []).some((g) => r >= g.r0 / f - 3 && r <= g.r1 / f && c >= g.c0 / f - 1
      && c <= g.c1 / f && (r <= g.r0 / f + 2 || r >= g.r1 / f - 1 || c <= g.c0 / f
        || c >= g.c1 / f - 1))
    || L.labels.some((b) => {  // a region's words, wider than the region itself
      const x = L.x0 + (c + 0.5) * L.cell, y = L.y0 + (r + 0.5) * L.cell;
      return x >= b.x - 1 && x <= b.x + b.w + 1 && y >= b.y - 1 && y <= b.y + b.h + 1;
    });
  const out = [];
  for (let r = 0; r < mat.rows; r++) for (let c = 0; c < mat.cols; c++) {
    const v = mat.values[r * mat.cols + c];
    if (!(v > 0) || near(r, c)) continue;
    const px = ctx.getImageData(Math.round((L.x0 + (c + 0.5) * L.cell) * dpr),
      Math.round((L.y0 + (r + 0.5) * L.cell) * dpr), 1, 1).data;
    out.push([heatRGB(mat, v), `rgb(${px[0]},${px[1]},${px[2]})`]);
  }
  return { dtype: mat.dtype, n: mat.values.length, kind: mat.values.constructor.name,
    seq: mat.seq, pixels: out, edges: mat.edges };
}"""


def test_the_live_mat_is_drawn_from_its_binary_frames(serve: Any, page: Any) -> None:
    server = serve("--port", MAT, "--profile", "sim-mat-48")
    handshakes: list[dict[str, str]] = []  # what the server answered Chromium's WebSocket
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketHandshakeResponseReceived",
           lambda e: handshakes.append({k.lower(): v for k, v in e["response"]["headers"].items()}))
    page.add_init_script(KEEP_CANVAS_TEXT)
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
    assert drawn["edges"] == PICTURE_EDGES  # the same words on the same edges as every picture
    assert set(PICTURE_EDGES.values()) <= set(page.evaluate("[...window.drawnText]"))
    # and the pelvis drawing of the setup panel beside it: the same words on the same edges
    pelvis_oriented(page)
    page.wait_for_function(f"S.lastMat.seq > {drawn['seq']}")  # and it goes on, frame by frame
    assert page.evaluate("S.t.length > 30 && S.channels.map((c) => c.name).join()") == \
        "left,right,total"
    # Chromium offers permessage-deflate, and sotlog serve takes it
    assert handshakes and handshakes[0]["sec-websocket-extensions"].startswith(
        "permessage-deflate")
    shot(page, "20-live-mat-binary")
    assert page.errors == []
