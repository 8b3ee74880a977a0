"""``sotlog detect ID`` and ``sotlog event list|confirm|move|delete``: detected events.

The rule and what each action does are sensing.recording.detected's (docs/metrics.md).
"""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli.common import (
    add_store_arg,
    fmt_num,
    load_session,
    print_json,
    session_id,
    table,
    whole_number,
)
from sensing.vocabulary import MAX_ID

ACTIONS = ("list", "confirm", "move", "delete")


def register(sub: Any) -> None:
    p = sub.add_parser("detect", help="find placed, settled and removed in a session's force",
                       description="Run the detection rule (docs/metrics.md) over a stored or "
                                   "imported session and keep what it finds as events with "
                                   "source sotlog, replacing those it found before (one edit, "
                                   "undone by `sotlog undo`). A person's events are never "
                                   "touched; detected events a person confirmed, moved or "
                                   "deleted stay as the person left them. Run twice, the "
                                   "second run changes nothing.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_detect)

    p = sub.add_parser("event", help="list a session's events; confirm, move or delete one "
                                     "sotlog detected",
                       description="list: a session's events with their ids. confirm: say a "
                                   "detected event is right. move: put it at --to seconds. "
                                   "delete: take it out. Each change is an edit (`sotlog "
                                   "edits`, `sotlog undo`).")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("event", type=whole_number(1, MAX_ID), nargs="?", metavar="EVENT",
                   help="the event's id (see `sotlog event list ID`)")
    p.add_argument("--to", type=float, metavar="SECONDS",
                   help="move: the event's new time, in seconds since the session's start")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_event)


def _rows(events: list[Any]) -> str:
    from sensing.recording.detected import is_detected

    def state(e: Any) -> str:
        if not is_detected(e):
            return ""
        return ", ".join(w for w, k in (("confirmed", "confirmed_utc"), ("moved", "moved_utc"))
                         if k in e.data) or "detected"

    return table([[str(e.id), fmt_num(e.time_s, 2), e.kind, e.source, state(e), e.text]
                  for e in events],
                 ["EVENT", "TIME S", "KIND", "SOURCE", "STATE", "TEXT"])


def run_detect(args: argparse.Namespace) -> int:
    from sensing.recording.detected import detect
    from sensing.store.sessions import Store

    with load_session(args) as session:
        sid = session.info.id
    store = Store.open(args.store)
    result = detect(store, sid)
    if args.json:
        print_json(result.as_dict())
        return 0
    found = ", ".join(f"{d['kind']} at {d['time_s']:.2f} s" for d in result.found) or "nothing"
    print(f"session {sid}: found {found}")
    if result.kept:
        print(f"  kept as a person left them: {', '.join(result.kept)}")
    if result.edit_id is None:
        print("  no change: the stored detected events are what the rule finds")
    else:
        print(f"  {result.replaced} detected event(s) replaced by {result.added} (edit "
              f"{result.edit_id}; `sotlog undo {sid}` takes it back)")
    return 0


def run_event(args: argparse.Namespace) -> int:
    from firmware_bridge.errors import StoreError
    from sensing.recording import detected
    from sensing.store.sessions import Store

    with load_session(args) as session:
        sid = session.info.id
        events = session.events()
    if args.action == "list":
        if args.json:
            print_json(events)
        else:
            print(_rows(events) if events else f"session {sid} has no events")
        return 0
    if args.event is None:
        raise StoreError(f"sotlog event {args.action} needs the event's id "
                         f"(see `sotlog event list {sid}`)")
    if (args.action == "move") != (args.to is not None):
        raise StoreError("--to SECONDS goes with move, and only with move")
    store = Store.open(args.store)
    act = {"confirm": lambda: detected.confirm(store, sid, args.event),
           "move": lambda: detected.move(store, sid, args.event, args.to),
           "delete": lambda: detected.delete(store, sid, args.event)}
    edit = act[args.action]()
    with store.session(sid) as session:
        done = next(e for e in session.edits() if e.id == edit)
    if args.json:
        print_json(done)
    else:
        print(f"session {sid}: {done.text} (edit {edit}; `sotlog undo {sid}` takes it back)")
    return 0
