"""A subject's visits: worked out when a session ends, kept in its row, listed from SQL alone,
cleared by an edit of the force, worked out again for the list; the command line and the plot."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from sensing.metadata import SessionMeta
from sensing.metrics import visits
from sensing.metrics.summary import summarise
from sensing.recording.service import RecordingService
from sensing.store.listing import Filters
from sensing.store.sessions import Store
from tests.dashboard.cli.test_cli_store import sotlog
from tests.sensing.recording.test_detected import record_sim
from tests.sensing.recording.test_service import wait_frames


def stored_visit(store: Store, sid: int) -> dict | None:
    with sqlite3.connect(store.path) as conn:
        (text,) = conn.execute("SELECT visit_json FROM sessions WHERE id = ?", (sid,)).fetchone()
    return None if text is None else json.loads(text)


def test_a_recording_keeps_its_visit_when_it_ends(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    service = RecordingService(store, face="test")
    try:
        service.connect("sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1&load=const:30",
                        "sim-loadcells")
        sid = service.start(SessionMeta(subject_code="P-0042"))
        wait_frames(service, 80)
        service.stop(reason="test")
    finally:
        service.close()
    kept = stored_visit(store, sid)
    assert kept is not None
    with store.session(sid) as s:
        summary = summarise(s.samples("N"))
    assert kept["time_on_blocks_s"] == pytest.approx(summary.time_on_blocks_s)
    assert [b["name"] for b in kept["blocks"]] == ["left", "right"]
    for block, channel in zip(kept["blocks"], summary.channels, strict=True):
        assert block["mean"] == pytest.approx(channel.loaded_mean)  # about 30 kg: 294 N
        assert block["mean"] == pytest.approx(30 * 9.80665, rel=0.02)
        assert block["share_pct"] == pytest.approx(50.0, abs=2.0)
    (listed,) = store.sessions(subject="P-0042")
    assert listed.visit == kept


def test_an_edit_clears_it_and_a_list_works_it_out_again(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    sid, _ = record_sim(store)
    assert stored_visit(store, sid) is None  # recorded without the service: not worked out
    (listed,) = visits.fill(store, store.sessions(subject="P-0042"))
    first = listed.visit
    assert first is not None and stored_visit(store, sid) == first
    assert 20.0 < first["time_on_blocks_s"] < 40.0
    assert sum(b["share_pct"] for b in first["blocks"]) == pytest.approx(100.0)
    with store.session(sid) as s:
        conversion = dict(s.info.conversion)
    conversion["tare"] = {"left": 1000.0, "right": 1000.0}
    store.set_conversion(sid, conversion, reason="test")
    assert stored_visit(store, sid) is None  # its force changed: worked out again when needed
    (again,) = visits.fill(store, store.sessions(subject="P-0042"))
    assert again.visit is not None and again.visit != first


def test_sessions_subject_and_the_visits_plot(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store.open(path)
    ids = [record_sim(store)[0] for _ in range(3)]
    store.update_meta(ids[1], {"category": "II"})
    listed = sotlog("sessions", "--subject", "P-0042", store=path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "ON BLOCKS S" in lines[0] and "MEAN ON THE BLOCKS, SHARE" in lines[0]
    assert len(lines) == 4 and all(" N " in line and " %" in line for line in lines[1:])
    assert all(stored_visit(store, sid) is not None for sid in ids)  # kept: the next list is SQL
    as_json = json.loads(sotlog("sessions", "--subject", "P-0042", "--json", store=path).stdout)
    assert all(s["visit"]["blocks"][0]["unit"] == "N" for s in as_json)

    out = tmp_path / "visits.png"
    done = sotlog("plot", "--subject", "P-0042", "--kind", "visits", "-o", str(out), store=path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib import image

    pixels = image.imread(out)
    assert pixels.shape[1] > 400 and np.ptp(pixels) > 0.5  # drawn, not blank
    for args, says in ((["plot", "1", "--kind", "visits", "-o", str(out)], "--subject CODE"),
                       (["plot", "--subject", "P-0042", "-o", str(out)], "not --subject"),
                       (["plot", "--subject", "P-0404", "--kind", "visits", "-o", str(out)],
                        "no sessions of subject P-0404")):
        bad = sotlog(*args, store=path)
        assert bad.returncode == 2 and says in bad.stderr


def test_the_sessions_api_lists_visits(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    sid, _ = record_sim(store)
    page = store.page(Filters(subject="P-0042"))
    assert page.sessions[0].visit is None and page.sessions[0].as_dict()["visit"] is None
    visits.fill(store, page.sessions, most=0)  # none worked out: shown as none
    assert page.sessions[0].visit is None
    visits.fill(store, page.sessions, most=1)
    assert page.sessions[0].as_dict()["visit"] == stored_visit(store, sid)
