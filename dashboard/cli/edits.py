"""``sotlog edits ID`` and ``sotlog undo ID``: a session's changes, and taking one back."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli.common import (
    add_store_arg,
    load_session,
    print_json,
    session_id,
    table,
    whole_number,
)
from sensing.vocabulary import MAX_ID


def register(sub: Any) -> None:
    p = sub.add_parser("edits", help="the changes made to a session since it was recorded",
                       description="List every change made to a session's metadata, tare, "
                                   "calibration or mat regions, oldest first, with the old and "
                                   "new values and why. Raw samples are never changed.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_edits)

    p = sub.add_parser("undo", help="take back one change made to a session",
                       description="Put back what one edit changed (default: the newest edit "
                                   "not yet undone). The undo is itself an edit, listed by "
                                   "`sotlog edits` and undoable in turn.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("--edit", type=whole_number(1, MAX_ID), metavar="EDIT_ID",
                   help="the edit to undo (see `sotlog edits ID`)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_undo)


def _summary(value: Any) -> str:
    """A short view of an old or new value (a conversion dict is long: its keys)."""
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(value)) + "}"
    if isinstance(value, list) and value and all(
            isinstance(e, dict) and {"kind", "time_s"} <= set(e) for e in value):  # events
        value = ", ".join(f"{e['kind']} {e['time_s']:.2f} s" for e in value)
    text = "-" if value in (None, "", []) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def run_edits(args: argparse.Namespace) -> int:
    with load_session(args) as session:
        edits = session.edits()
        sid = session.info.id
    if args.json:
        print_json(edits)
        return 0
    if not edits:
        print(f"session {sid} has not been changed since it was recorded")
        return 0
    rows = [[str(e.id), e.at_utc[:19].replace("T", " "), e.field, _summary(e.old), _summary(e.new),
             e.reason or "-", f"undone by {e.undone_by}" if e.undone_by else ""]
            for e in edits]
    print(table(rows, ["EDIT", "AT (UTC)", "FIELD", "OLD", "NEW", "WHY", ""]))
    return 0


def run_undo(args: argparse.Namespace) -> int:
    from sensing.recording.revise import undo
    from sensing.store.sessions import Store

    with load_session(args) as session:
        sid = session.info.id
    edit = undo(Store.open(args.store), sid, args.edit)
    if args.json:
        print_json(edit)
    else:
        print(f"session {sid}: {edit.reason}: {edit.field} back to {_summary(edit.new)} "
              f"(edit {edit.id})")
    return 0
