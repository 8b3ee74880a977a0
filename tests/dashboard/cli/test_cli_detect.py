"""``sotlog detect`` and ``sotlog event`` in their own process, on a real store holding a
simulated cycle whose placement and removal are known."""

from __future__ import annotations

import json
from pathlib import Path

from dashboard.cli import VERBS
from sensing.store.sessions import Store
from tests.dashboard.cli.test_cli_store import one_line, sotlog
from tests.sensing.recording.test_detected import record_sim


def test_detect_twice_then_confirm_move_delete_and_undo(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store.open(path)
    sid, truth = record_sim(store)
    person = store.add_event(sid, "marker", "blocks in", time_s=1.0)
    assert VERBS["detect"] == VERBS["event"] == "dashboard.cli.detected"

    first = sotlog("detect", str(sid), store=path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"session {sid}: found placed at ")
    assert "0 detected event(s) replaced by 3" in first.stdout
    again = sotlog("detect", str(sid), "--json", store=path)
    assert json.loads(again.stdout)["edit_id"] is None

    listed = json.loads(sotlog("event", "list", str(sid), "--json", store=path).stdout)
    found = {e["kind"]: e for e in listed if e["source"] == "sotlog"}
    assert abs(found["placed"]["time_s"] - truth.t_on) <= 0.25
    text = sotlog("event", "list", str(sid), store=path).stdout
    assert "EVENT" in text and "detected" in text and "blocks in" in text

    done = sotlog("event", "confirm", str(sid), str(found["placed"]["id"]), store=path)
    assert done.returncode == 0 and "Event placed at" in done.stdout and "confirmed" in done.stdout
    to = round(found["removed"]["time_s"] - 0.5, 2)
    done = sotlog("event", "move", str(sid), str(found["removed"]["id"]), "--to", str(to),
                  store=path)
    assert done.returncode == 0 and f"to {to:.2f} s" in done.stdout
    done = sotlog("event", "delete", str(sid), str(found["settled"]["id"]), store=path)
    assert done.returncode == 0 and "Events taken out: settled" in done.stdout
    edits = sotlog("edits", str(sid), store=path).stdout
    assert edits.count("events") == 4 and "deleted by a person" in edits

    undone = sotlog("undo", str(sid), store=path)
    assert undone.returncode == 0, undone.stderr
    with store.session(sid) as s:
        kinds = sorted(e.kind for e in s.events() if e.source == "sotlog")
    assert kinds == ["placed", "removed", "settled"]

    # bad input: one line each, nothing changed
    for args, says in ((["event", "move", str(sid), str(found["placed"]["id"])], "--to SECONDS"),
                       (["event", "delete", str(sid)], "needs the event's id"),
                       (["event", "delete", str(sid), str(person)], "not one sotlog detected"),
                       (["event", "move", str(sid), str(found["placed"]["id"]), "--to", "1e9"],
                        "cannot be moved")):
        bad = sotlog(*args, store=path)
        assert bad.returncode == 2 and says in one_line(bad.stderr)
