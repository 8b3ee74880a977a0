"""``sotlog export`` and ``sotlog plot``: files for the record, for slides and for analysis."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.commands import add_store_arg, load_session, print_json, session_id


def register(sub: Any) -> None:
    from sensing.exports import FORMATS

    p = sub.add_parser("export", help="export a session in a documented format",
                       description="Export a session's samples, events and metadata. Formats: "
                       + "; ".join(f"{k}: {v[3]}" for k, v in FORMATS.items())
                       + ". See docs/data-format.md.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("--format", default="csv", choices=sorted(FORMATS), help="format name")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--units", choices=("N", "kgf", "lbf"), default="N", help="force unit")
    p.add_argument("--strip-notes", action="store_true",
                   help="drop free-text notes and event text")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    add_store_arg(p)
    p.set_defaults(func=run_export)

    p = sub.add_parser("plot", help="plot force per block over time with events marked",
                       description="Plot a session to a .png, .svg or .pdf file.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help=".png, .svg or .pdf")
    p.add_argument("--units", choices=("N", "kgf", "lbf"), default="N", help="force unit")
    add_store_arg(p)
    p.set_defaults(func=run_plot)


def run_export(args: argparse.Namespace) -> int:
    from sensing.exports import export_session

    session = load_session(args)
    files = export_session(session, args.format, args.out, units=args.units,
                           strip_notes=args.strip_notes)
    if args.json:
        print_json([str(f) for f in files])
    else:
        for f in files:
            print(f)
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from sensing.plots import check_still_path, plot_session

    check_still_path(args.out)
    session = load_session(args)
    print(plot_session(session, args.out, units=args.units))
    return 0
