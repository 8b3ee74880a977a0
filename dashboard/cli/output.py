"""``sotlog export``: files for the record and for analysis (``sotlog plot`` is in plot.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from dashboard.cli.common import (
    add_store_arg,
    add_units_arg,
    load_session,
    print_json,
    session_id,
    utc_day,
)

FILTERS = ("subject", "since", "until", "category", "position")


def add_filter_args(p: argparse.ArgumentParser) -> None:
    """The filters of ``--all`` (export, report): subject, days, category, position."""
    from sensing.vocabulary import CATEGORIES, POSITIONS

    p.add_argument("--subject", metavar="CODE", help="with --all: only this subject code")
    p.add_argument("--since", type=utc_day, metavar="DATE",
                   help="with --all: started on/after (UTC)")
    p.add_argument("--until", type=utc_day, metavar="DATE",
                   help="with --all: started on/before this day (UTC, whole day included)")
    p.add_argument("--category", choices=CATEGORIES, help="with --all: only this category")
    p.add_argument("--position", choices=POSITIONS, help="with --all: only this position")


def register(sub: Any) -> None:
    from sensing.outputs.exports import FORMATS

    p = sub.add_parser(
        "export", help="export sessions in a documented format",
        description="Export sessions' samples, events and metadata. Formats: "
        + "; ".join(f"{k}: {v[3]}" for k, v in FORMATS.items())
        + ". With --all, every session matching the filters is exported and indexed in "
        "sotlog-sessions.tsv. See docs/data-format.md.")
    p.add_argument("id", type=session_id, nargs="?", help="session id, or last")
    p.add_argument("--all", action="store_true",
                   help="export every session matching the filters below, with an index")
    add_filter_args(p)
    p.add_argument("--format", default="csv", choices=sorted(FORMATS), help="format name")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory")
    add_units_arg(p, "force unit")
    p.add_argument("--strip-notes", action="store_true",
                   help="drop free-text notes and event text")
    p.add_argument("--shift-dates", action="store_true",
                   help="move every date back by a per-subject random number of whole days "
                   "(the salt is printed on stderr; keep it to repeat the same shifts)")
    p.add_argument("--shift-salt", metavar="SALT",
                   help="with --shift-dates: use this salt instead of a random one")
    p.add_argument("--force", action="store_true",
                   help="write over files already in the output folder (else that is an error)")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    add_store_arg(p)
    p.set_defaults(func=run_export)


def check_one_or_all(args: argparse.Namespace, error: type[Exception]) -> None:
    """One session id, or --all with its filters (export, report): else ``error``, one line."""
    if args.all == (args.id is not None):
        raise error("give one session id (or last), or --all")
    used = [f"--{f}" for f in FILTERS if getattr(args, f) is not None]
    if used and not args.all:
        raise error(f"{', '.join(used)} only apply with --all")


def matching_sessions(args: argparse.Namespace, nothing: str) -> tuple[Any, list[Any]]:
    """The store and the sessions ``--all`` with its filters names (export, report), newest
    first; says ``nothing`` on stderr when none match."""
    from sensing.store.sessions import Store

    store = Store.open(args.store)
    until = args.until + dt.timedelta(days=1) if args.until else None  # the whole day
    infos = store.sessions(subject=args.subject, since=args.since, until=until,
                           category=args.category, position=args.position)
    if not infos:
        print(f"sotlog: no sessions match; {nothing}", file=sys.stderr)
    return store, infos


def _check_args(args: argparse.Namespace) -> None:
    from firmware_bridge.errors import ExportError

    check_one_or_all(args, ExportError)
    if args.shift_salt is not None and not args.shift_dates:
        raise ExportError("--shift-salt only applies with --shift-dates")


def run_export(args: argparse.Namespace) -> int:
    from sensing.outputs.exports import export_session, exporter
    from sensing.outputs.exports.dataset import export_dataset
    from sensing.outputs.exports.deid import DateShift

    _check_args(args)
    exporter(args.format)  # unknown or not installed: one line before any work
    shift = None
    if args.shift_dates:
        shift = DateShift(args.shift_salt) if args.shift_salt else DateShift.random()
        print(f"sotlog: dates shifted per subject with salt {shift.salt} (keep it private; "
              "--shift-salt repeats the same shifts)", file=sys.stderr)
    if args.all:
        store, infos = matching_sessions(args, "nothing exported")
        result = export_dataset(store, infos, args.format, args.out, units=args.units,
                                strip_notes=args.strip_notes, shift=shift, progress=_progress,
                                overwrite=args.force)
        files = [*result.files, *([result.index] if result.index else [])]
    else:
        session = load_session(args)
        days = shift.days(session.info.meta.subject_code) if shift else 0
        files = export_session(session, args.format, args.out, units=args.units,
                               strip_notes=args.strip_notes, shift_days=days,
                               overwrite=args.force)
    print_files(files, args.json)
    return 0


def print_files(files: list[Any], as_json: bool) -> None:
    """The files a command wrote: a path a line, or a JSON list (export, report)."""
    if as_json:
        print_json([str(f) for f in files])
    else:
        for f in files:
            print(f)


def _progress(done: int, total: int, info: Any, files: list[Path]) -> None:
    size = sum(f.stat().st_size for f in files if f.exists())
    print(f"sotlog: exported {done}/{total}: session {info.id} ({size / 1e6:.1f} MB)",
          file=sys.stderr, flush=True)
