"""A session to report on, recorded through the real Recorder: blocks loaded from 10 s to 60 s,
a slow swing on the load, a gap, a tare and calibration in its conversion, and as many events,
blocks and note characters as a test asks for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from firmware_bridge.frames import Counters, FrameBlock, Notice
from firmware_bridge.profiles import load_profile
from sensing.metadata import Block, SessionMeta
from sensing.store.sessions import Store
from sensing.store.writer import Recorder

T0 = 1000.0
SIDES = ("left", "right") * 4  # up to MAX_BLOCKS blocks
LANDMARKS = ("iliac_crest", "acetabulum", "greater_trochanter", "sacrum", "ilium", "ilium",
             "other", "other")


def cells_toml(blocks: int) -> str:
    """A profile of ``blocks`` cells reading newtons (one count, one newton)."""
    head = ('name = "report-cells"\nprotocol = "lines"\ndescription = "cells in newtons"\n'
            'nominal_rate_hz = 20\n[serial]\nbaudrate = 115200\n[options]\ndelimiter = ","\n')
    return head + "".join(f'[[channels]]\nname = "c{i + 1}"\ncolumn = {i}\nunit = "N"\n'
                          f'block = "{SIDES[i]}"\n' for i in range(blocks))


def report_session(store: Store, tmp: Path, *, blocks: int = 2, events: int = 0,
                   note: str = "first visit", subject: str = "P-0042") -> int:
    """70 s at 20 frames/s; ``events`` extra markers spread over it; a 2 s gap at 30 s."""
    path = tmp / f"report-cells-{blocks}.toml"
    path.write_text(cells_toml(blocks))
    meta = SessionMeta(
        subject_code=subject, position="prone", category="II", short_leg="left",
        body_weight_kg=72.0, note=note,
        blocks=[Block(side=SIDES[i], landmark=LANDMARKS[i], angle_deg=30.0 if i == 0 else None,
                      channel=f"c{i + 1}") for i in range(blocks)])
    conversion = {"tare": [{"from_s": None, "offsets": {f"c{i + 1}": 0.0
                                                        for i in range(blocks)}}],
                  "calibration": {"id": 7, "channels": {"c1": {
                      "id": 7, "fit": "linear", "coef": [0.0, 1.0], "unit": "N",
                      "zero_raw": 0.0, "created_utc": "2024-02-20T09:00:00+00:00",
                      "points": 5, "rms_residual_n": 0.42, "residuals_n": [0.1, -0.5]}}}}
    sid = store.create_session(meta, load_profile(str(path)), t0_host=T0,
                               started_utc="2024-03-05T10:00:00.000+00:00",
                               conversion=conversion)
    rec = Recorder(store, sid)
    t = np.round(np.arange(0.0, 70.0, 0.05), 6)
    t = t[(t < 30.0) | (t >= 32.0)]  # the link was silent for 2 s
    on = (t >= 10.0) & (t <= 60.0)
    swing = 8.0 * np.sin(2 * np.pi * 0.25 * t)  # 15 cycles/min
    values = np.column_stack([on * (300.0 - 40.0 * i + swing) for i in range(blocks)])
    rec.on_frames(FrameBlock.build(values, T0 + t))
    rec.add_event("placed", "", host_time=T0 + 10.0, source="sotlog")
    rec.add_event("removed", "", host_time=T0 + 60.0)
    for k in range(events):
        rec.add_event("marker", f"marker {k + 1}", host_time=T0 + 1.0 + 68.0 * k / max(1, events))
    rec.on_notice(Notice(T0 + 32.0, "gap", "no data for 2.000 s",
                         {"start": T0 + 30.0, "end": T0 + 32.0, "duration_s": 2.0}))
    rec.close("complete", counters=Counters(frames=len(t), undecodable=3))
    return sid
