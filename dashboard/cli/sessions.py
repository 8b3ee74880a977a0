"""``sotlog sessions``: the sessions in the store, newest first, a page at a time.

Imports only what a list needs (sensing.store.storefile: no numpy, no pydantic), so it answers
quickly however large the store (bench/startup.py, bench/listing.py).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dashboard.cli.common import add_store_arg, fmt_num, print_json, table, utc_day, whole_number
from firmware_bridge.errors import StoreError
from sensing.store.config import configured
from sensing.store.listing import Filters, Listed
from sensing.store.storefile import StoreFile
from sensing.store.url import POSTGRESQL
from sensing.vocabulary import MAX_ID, SESSIONS_PAGE


def register(sub: Any) -> None:
    p = sub.add_parser("sessions", help="list recorded sessions, newest first",
                       description="List the sessions in the store, newest first, a page at "
                                   f"a time ({SESSIONS_PAGE} unless --limit says otherwise); "
                                   "--offset N skips the N newest.")
    p.add_argument("--subject", help="only this subject code; each visit's time on the blocks, "
                                     "and each block's mean force on the blocks and share")
    p.add_argument("--since", type=utc_day, metavar="DATE",
                   help="only sessions started on or after DATE (UTC, e.g. 2026-03-01)")
    p.add_argument("--until", type=utc_day, metavar="DATE",
                   help="only sessions started before DATE (UTC)")
    p.add_argument("--station", metavar="NAME",
                   help="only this station's sessions (a shared postgresql:// store)")
    p.add_argument("--limit", type=whole_number(1, MAX_ID), default=SESSIONS_PAGE, metavar="N",
                   help=f"list at most N sessions (default {SESSIONS_PAGE})")
    p.add_argument("--offset", type=whole_number(0, MAX_ID), default=0, metavar="N",
                   help="skip the N newest sessions (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_sessions)


def run_sessions(args: argparse.Namespace) -> int:
    store = configured(args.store)
    if args.station is not None and store.backend != POSTGRESQL:
        raise StoreError("--station filters a shared store (--store postgresql://…); "
                         f"{store} is one station's")
    filters = Filters(subject=args.subject, since=args.since, until=args.until,
                      station=args.station)
    opened = StoreFile.open(args.store)
    page = opened.page(filters, args.limit, args.offset)
    stations = [i.station or "" for i in page.sessions] if opened.url else None
    if args.subject and any(
            i.visit is None and i.status != "recording" for i in page.sessions):
        from sensing.metrics import visits  # numpy: only for visits not worked out yet
        from sensing.store.sessions import Store

        visits.fill(Store.open(args.store), page.sessions)
    if page.more or (page.offset and not page.sessions):
        shown = (f"sessions {page.offset + 1}-{page.offset + len(page.sessions)}"
                 if page.sessions else f"no sessions after the first {page.offset}")
        print(f"sotlog: {shown} of {page.total}, newest first"
              + (f"; --offset {page.offset + len(page.sessions)} lists the next" if page.more
                 else ""), file=sys.stderr)
    if args.json:
        print_json([listed_dict(i) for i in page.sessions])
        return 0
    if not page.total:
        filtered = args.since or args.until or args.station
        print(f"no sessions of subject {args.subject}" if args.subject else
              "no sessions match" if filtered else
              "no sessions recorded yet (record one with `sotlog record`)")
        return 0
    if not page.sessions:
        return 0
    if args.subject:
        print(visit_table(page.sessions))
        return 0
    rows = [[str(i.id), i.started_utc[:19].replace("T", " "), "DAMAGED" if i.damaged else i.status,
             i.meta["subject_code"] or "-", i.meta["position"] or "-", i.meta["category"] or "-",
             fmt_num(i.duration_s, 1), str(i.n_frames), i.profile_name] for i in page.sessions]
    header = ["ID", "STARTED (UTC)", "STATUS", "SUBJECT", "POSITION", "CATEGORY", "SECONDS",
              "FRAMES", "PROFILE"]
    if stations is not None:
        rows = [[r[0], s, *r[1:]] for r, s in zip(rows, stations, strict=True)]
        header.insert(1, "STATION")
    print(table(rows, header))
    return 0


def _blocks(visit: dict[str, Any] | None) -> str:
    if not visit or not visit["blocks"]:
        return "-"
    return "  ".join(f"{b['name']} {fmt_num(b['mean'])} {b['unit']} ({fmt_num(b['share_pct'])} %)"
                     if b["share_pct"] is not None else f"{b['name']} {fmt_num(b['mean'])} "
                     f"{b['unit']}" for b in visit["blocks"])


def visit_table(sessions: list[Listed]) -> str:
    """One subject's visits: time on the blocks, each block's mean force on them and share."""
    rows = [[str(i.id), i.started_utc[:19].replace("T", " "), "DAMAGED" if i.damaged else i.status,
             i.meta["position"] or "-", i.meta["category"] or "-", fmt_num(i.duration_s, 1),
             fmt_num((i.visit or {}).get("time_on_blocks_s"), 1), _blocks(i.visit)]
            for i in sessions]
    return table(rows, ["ID", "STARTED (UTC)", "STATUS", "POSITION", "CATEGORY", "SECONDS",
                        "ON BLOCKS S", "MEAN ON THE BLOCKS, SHARE"])


def listed_dict(listed: Listed) -> dict[str, Any]:
    """A session as ``sotlog sessions --json`` lists it (``frames``: its frame count)."""
    d = listed.as_dict()
    d["frames"] = d.pop("n_frames")
    return d
