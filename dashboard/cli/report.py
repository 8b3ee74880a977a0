"""``sotlog report``: the one-page record of a session, as PDF, for the patient's file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dashboard.cli.common import add_store_arg, add_units_arg, load_session, session_id
from dashboard.cli.output import (
    add_filter_args,
    check_one_or_all,
    matching_sessions,
    print_files,
)


def register(sub: Any) -> None:
    from sensing.outputs.figurekinds import PAPERS

    p = sub.add_parser(
        "report", help="a session's one-page record as PDF",
        description="Write one page for the patient's file: the session header, the block "
                    "drawing, force over time with the events, the descriptive measures and a "
                    "data-quality box. With --all, one PDF per session matching the filters, "
                    "into the folder given with -o. Clinic name and practitioner initials come "
                    "from report.toml (docs/metrics.md).")
    p.add_argument("id", type=session_id, nargs="?", help="session id, or last")
    p.add_argument("--all", action="store_true",
                   help="one report per session matching the filters below, into folder -o")
    add_filter_args(p)
    p.add_argument("-o", "--out", required=True, metavar="FILE.pdf",
                   help="the PDF to write (with --all: a folder)")
    p.add_argument("--paper", choices=list(PAPERS), default=next(iter(PAPERS)),
                   help="paper size (default %(default)s)")
    add_units_arg(p, "force unit")
    p.add_argument("--force", action="store_true", help="write over a file already there")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    add_store_arg(p)
    p.set_defaults(func=run_report)


def _check_args(args: argparse.Namespace) -> None:
    from firmware_bridge.errors import SotlogError

    check_one_or_all(args, SotlogError)
    if not args.all and Path(args.out).suffix.lower() != ".pdf":
        raise SotlogError(f"report file must end in .pdf: {args.out}")


def _write(session: Any, out: Path, args: argparse.Namespace, config: dict[str, str]) -> Path:
    from firmware_bridge.errors import SotlogError
    from sensing.outputs.report import write_report
    from sensing.outputs.reportdata import gather

    if out.exists() and not args.force:
        raise SotlogError(f"{out} is already there: write over it with --force")
    return write_report(gather(session, args.units, config), out, args.paper)


def run_report(args: argparse.Namespace) -> int:
    from sensing.outputs.exports import session_stem
    from sensing.outputs.reportdata import report_config

    _check_args(args)
    config = report_config()  # a bad config file: one line before any work
    files: list[Path] = []
    if args.all:
        store, infos = matching_sessions(args, "no report written")
        folder = Path(args.out)
        for info in infos:
            with store.session(info.id) as session:
                out = folder / f"{session_stem(session)}_report.pdf"
                files.append(_write(session, out, args, config))
    else:
        with load_session(args) as session:
            files.append(_write(session, Path(args.out), args, config))
    print_files(files, args.json)
    return 0
