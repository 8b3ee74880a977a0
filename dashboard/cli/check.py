"""``sotlog check``: what a session store can still give back, session by session."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli.common import add_store_arg, print_json, table


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="check a session store for damage",
                       description="Run SQLite's integrity check on the store, then read every "
                                   "session part by part (header, events, samples, raw bytes) "
                                   "and say what can still be read. Writes nothing. Exit status "
                                   "1 when anything is damaged.")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sensing.store.check import check_store
    from sensing.store.sessions import Store

    result = check_store(Store.open(args.store, write=False))
    if args.json:
        print_json({"path": result.path, "whole": result.whole, "integrity": result.integrity,
                    "problems": result.problems,
                    "sessions": [s.as_dict() for s in result.sessions]})
        return 0 if result.whole else 1
    print(f"store {result.path}: SQLite integrity check: " + "; ".join(result.integrity))
    for problem in result.problems:
        print(f"  {problem}")
    rows = [[str(s.id), s.subject_code or "-", s.status, "whole" if s.whole else "DAMAGED",
             str(s.frames), f"{s.raw_bytes:,}", str(s.events)] for s in result.sessions]
    if rows:
        print(table(rows, ["ID", "SUBJECT", "STATUS", "STATE", "FRAMES READ", "RAW BYTES READ",
                           "EVENTS"]))
    for s in result.sessions:
        for problem in s.problems:
            print(f"  session {s.id}: {problem}")
    if not result.whole:
        print(f"what reads above can be shown and exported; `sqlite3 {result.path} .recover > "
              "saved.sql` may save more")
    return 0 if result.whole else 1
