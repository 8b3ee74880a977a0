"""``sotlog sync``: copy this station's closed sessions into the shared PostgreSQL store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dashboard.cli.common import add_store_arg, print_json
from sensing.store.config import STATION_ENV
from sensing.store.url import SHARED_ENV


def register(sub: Any) -> None:
    p = sub.add_parser("sync", help="copy closed sessions to the shared PostgreSQL store",
                       description="Copy every closed session (complete or interrupted) of this "
                                   "station's store, with its samples, raw bytes, events, edits "
                                   "and calibrations, into the shared PostgreSQL store: each "
                                   "session once, in one transaction, so a run that stops "
                                   "leaves nothing half-copied and the next run goes on. "
                                   "Recording never waits on it. Exit status 1 when a session "
                                   "could not be read (each named). See docs/multi-station.md.")
    p.add_argument("--to", metavar="URL",
                   help=f"the shared store, postgresql://user@host/db (default: "
                        f"${SHARED_ENV}, else shared_store in the config file)")
    p.add_argument("--station", metavar="NAME",
                   help=f"this station's name in the shared store (default: ${STATION_ENV}, else "
                        "station in the config file, else the host name)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sensing.store.config import required_shared_store, sqlite_path
    from sensing.store.pg.sync import Step, Sync
    from sensing.store.storefile import StoreFile

    shared = required_shared_store(args.to)
    sync = Sync(StoreFile.open(sqlite_path(args.store)), shared.url, args.station)

    def progress(step: Step) -> None:
        print(f"sotlog: copied {step.done}/{step.total} {step.uuid} (session {step.station_id}, "
              f"{step.nbytes / 1e6:.2f} MB)", file=sys.stderr, flush=True)

    result = sync.run(progress)
    for sid, why in result.unreadable.items():
        print(f"sotlog: session {sid} not copied: it cannot be read ({why})", file=sys.stderr)
    code = 1 if result.unreadable else 0
    if args.json:
        print_json({**result.__dict__, "to": sync.shown})
        return code
    print(f"station {result.station}: {result.copied} sessions copied "
          f"({result.nbytes / 1e6:.1f} MB in {result.seconds:.1f} s), {result.already} there "
          f"before, {result.followed} with later edits or events, {result.recording} still "
          f"recording (copied once closed), {result.calibrations} calibrations; to {sync.shown}")
    return code
