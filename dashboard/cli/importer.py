"""``sotlog import FILE``: a saved device log or capture becomes a session, raw bytes and all."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from dashboard.cli.common import (
    add_metadata_args,
    add_store_arg,
    fmt_num,
    meta_from_args,
    positive,
    print_json,
)


def _utc(text: str) -> str:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO date and time like 2024-03-11T14:25:11, not {text!r}") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a time without a zone is local time
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="make a session from a saved device log or capture file",
        description="Decode a saved file with a device profile, as if it came over the wire, and "
                    "store it as a new session; the file's bytes are kept as its raw capture, so "
                    "`sotlog reparse` decodes them again. Arrival times are made up from the "
                    "device time column when the frames carry one, else spaced evenly at the "
                    "profile's nominal rate (or --rate); the session's device description says "
                    "which. A file of any size is read in pieces.")
    p.add_argument("file", metavar="FILE", help="the file to import")
    p.add_argument("--profile", required=True, metavar="NAME_OR_PATH",
                   help="built-in profile name (see `sotlog profiles`) or a .toml file")
    p.add_argument("--rate", type=positive, metavar="HZ",
                   help="frames per second, for a file whose frames carry no device time")
    p.add_argument("--started", type=_utc, metavar="ISO_TIME",
                   help="when the file was recorded (default: its modification time less the "
                        "session length); local time unless a zone "
                        "is given")
    add_metadata_args(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    add_store_arg(p)
    p.set_defaults(func=run_import)


def _progress(done: int, total: int) -> None:
    if total < 16e6:
        return  # a small file imports in a moment
    pct = 100.0 * done / total if total else 100.0
    print(f"sotlog: imported {done / 1e6:.1f} of {total / 1e6:.1f} MB ({pct:.0f} %)",
          file=sys.stderr, flush=True)


def run_import(args: argparse.Namespace) -> int:
    from firmware_bridge.profiles import load_profile
    from sensing.store.importer import import_file
    from sensing.store.sessions import Store

    meta = meta_from_args(args)
    profile = load_profile(args.profile)
    store = Store.open(args.store)
    result = import_file(store, args.file, profile, meta, rate_hz=args.rate,
                         started_utc=args.started, progress=_progress)
    info = store.session(result.session_id).info
    if args.json:
        print_json({**result.as_dict(), "duration_s": info.duration_s, "store": str(store.path)})
        return 0
    shown = {k: v for k, v in result.counters.items() if v and k not in ("bytes", "frames")}
    errors = ", ".join(f"{k} {v}" for k, v in shown.items()) or "no decode errors"
    timing = ("times from the device clock" if result.timing == "device_time"
              else f"times spaced evenly at {result.rate_hz:g} frames/s")
    print(f"imported session {result.session_id}: {result.frames} frames, "
          f"{fmt_num(info.duration_s)} s, {result.bytes} bytes in {result.reads} reads; "
          f"{timing}; {errors}", file=sys.stderr)
    if not result.frames:
        print(f"sotlog: warning: no frames decoded from {args.file} with profile "
              f"{profile.name!r}; is it the right profile?", file=sys.stderr)
    print(result.session_id)
    return 0
