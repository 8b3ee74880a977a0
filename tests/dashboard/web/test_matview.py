"""One orientation on every mat picture: the live and replay frames are turned as the stored
figures draw them (head at the top, the patient's right on the left) whatever the mat's
mounting, with the same words on their edges; a replay's span of frames as one binary body."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from matplotlib.figure import Figure

from dashboard.web.matview import picture, picture_facts, picture_point
from dashboard.web.replaywire import LEVELS, MISSING
from firmware_bridge.profiles import Matrix
from sensing.mat.orientation import PICTURE_EDGES, sensel_to_mm
from sensing.outputs.matfigures import draw_mat
from sensing.store.sessions import Store
from tests.sensing.outputs.test_exports import record_session

BESIDE = {"top": ("left", "right"), "bottom": ("left", "right"),
          "left": ("top", "bottom"), "right": ("top", "bottom")}
MOUNTINGS = [(head, left) for head, lefts in BESIDE.items() for left in lefts]


@pytest.mark.parametrize(("head", "left"), MOUNTINGS)
def test_every_mounting_shows_head_up_and_the_patients_left_on_the_right(head: str,
                                                                         left: str) -> None:
    matrix = Matrix(rows=6, cols=4, head_edge=head, patient_left=left)
    for row, col in product(range(6), range(4)):
        frame = np.zeros((6, 4))
        frame[row, col] = 1.0
        shown = picture(frame, matrix)
        y, x = (int(i[0]) for i in np.nonzero(shown))
        x_mm, y_mm = sensel_to_mm(row, col, matrix)
        # toward the head is up the picture, toward the patient's left is to the right
        assert np.sign(shown.shape[0] / 2 - 0.5 - y) == np.sign(y_mm)
        assert np.sign(x - (shown.shape[1] / 2 - 0.5)) == np.sign(x_mm)
        # a point (the sensel's centre) lands where its sensel is drawn
        assert picture_point(row + 0.5, col + 0.5, matrix) == (y + 0.5, x + 0.5)
    facts = picture_facts({"rows": 6, "cols": 4, "full_rows": 6, "full_cols": 4,
                           "regions": [{"name": "left", "r0": 0, "r1": 2, "c0": 1, "c1": 3}],
                           "cop": {"row": 0.0, "col": 1.0}, "head_edge": head,
                           "patient_left": left}, matrix)
    assert facts["edges"] == PICTURE_EDGES and "head_edge" not in facts
    box = facts["regions"][0]
    covered = picture(np.pad(np.ones((2, 2)), ((0, 4), (1, 1))), matrix)
    ys, xs = np.nonzero(covered)
    assert (box["r0"], box["r1"], box["c0"], box["c1"]) == (ys.min(), ys.max() + 1, xs.min(),
                                                            xs.max() + 1)


def test_the_stored_picture_says_the_same_words_on_the_same_edges() -> None:
    matrix = Matrix(rows=8, cols=8, head_edge="left", patient_left="bottom")
    fig = Figure()
    ax = fig.add_subplot()
    draw_mat(fig, ax, np.arange(64.0).reshape(8, 8), matrix)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    where = {t.get_text().replace("\n", " "): t.get_position() for t in ax.texts}
    assert where[PICTURE_EDGES["top"]][1] == max(y0, y1)
    assert where[PICTURE_EDGES["left"]][0] == min(x0, x1)
    assert where[PICTURE_EDGES["right"]][0] == max(x0, x1)


def test_a_span_of_frames_comes_as_one_binary_body(store_path: Path,
                                                   make_client: Callable[..., TestClient]
                                                   ) -> None:
    sid = record_session(Store.open(store_path), "mat", n=90, rate=30.0, seed=2)
    client = make_client()
    r = client.get(f"/api/sessions/{sid}/mat/frames", params={"t0": 0, "t1": 2})
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    magic, length = struct.unpack_from("<4sI", r.content)
    head = json.loads(r.content[8:8 + length])
    assert magic == b"SMTS" and (8 + length) % 8 == 0
    frames = np.frombuffer(r.content[8 + length:], np.uint8).reshape(head["n"], head["rows"],
                                                                     head["cols"])
    samples = client.get(f"/api/sessions/{sid}/samples", params={"t0": 0, "t1": 2}).json()
    assert head["time_s"] == pytest.approx(samples["time_s"], abs=1e-4)  # every frame, in order
    assert head["edges"] == PICTURE_EDGES and len(head["cop"]) == head["n"]
    assert frames.max() <= LEVELS and MISSING not in frames
    # the levels come back to the stored values within one level
    with Store.open(store_path).session(sid) as s:
        stored = s.frames(0, 2).values.astype(float)
        matrix = s.info.profile.matrix
    assert matrix is not None
    back = head["raw_min"] + frames / LEVELS * (head["span_top"] - head["raw_min"])
    step = (head["span_top"] - head["raw_min"]) / LEVELS
    assert np.abs(back - picture(stored, matrix)).max() <= step / 2 + 1e-9
    for bad in ({"t0": 0, "t1": 0}, {"t0": 0, "t1": 500}):
        r = client.get(f"/api/sessions/{sid}/mat/frames", params=bad)
        assert r.status_code == 400 and "at most 120 s" in r.json()["detail"]
    assert len(client.get("/api/colourmap").json()["colours"]) == 256
