"""``sotlog plot`` (force over time, or a mat's heat map, mean, centre of pressure, animation)
and ``sotlog regions`` (a mat session's block regions, as found or as a person set them)."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

from dashboard.cli.common import add_store_arg, add_units_arg, load_session, print_json, session_id
from firmware_bridge.errors import SotlogError
from sensing.outputs.figurekinds import KINDS, SUBJECT_KINDS

ALL_KINDS = {**KINDS, **SUBJECT_KINDS}


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


OPTION_FLAGS = {"at": "--at", "t0": "--from", "t1": "--to", "fps": "--fps", "speed": "--speed"}
OPTION_DEFAULTS = {"fps": 10.0, "speed": 1.0}


def register(sub: Any) -> None:
    kinds = "; ".join(f"{k}: {v.help}" for k, v in KINDS.items())
    subject_kinds = "; ".join(f"{k}: {v.help}" for k, v in SUBJECT_KINDS.items())
    p = sub.add_parser("plot", help="plot a session: force over time, or a mat's pictures",
                       description=f"Plot a session to a file. Kinds: {kinds}. With --subject "
                                   f"CODE instead of an id: {subject_kinds}. Stills are "
                                   ".png, .svg or .pdf; animations .gif or .mp4.")
    p.add_argument("id", type=session_id, nargs="?", help="session id, or last")
    p.add_argument("--subject", metavar="CODE", help="a subject code, for --kind visits")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="output file")
    p.add_argument("--kind", choices=list(ALL_KINDS), default="force", help="what to draw")
    p.add_argument("--at", type=_number, metavar="S", help="heatmap: session time in s")
    p.add_argument("--from", dest="t0", type=_number, metavar="S", help="start of the span (s)")
    p.add_argument("--to", dest="t1", type=_number, metavar="S", help="end of the span (s)")
    p.add_argument("--fps", type=_positive, metavar="N", help="animation: pictures per second")
    p.add_argument("--speed", type=_positive, metavar="X", help="animation: x real time")
    add_units_arg(p, "force unit")
    add_store_arg(p)
    p.set_defaults(func=run_plot)

    p = sub.add_parser(
        "regions", help="show or set a mat session's block regions",
        description="Show a pressure-mat session's block regions and mat figures, or set them: "
                    "--set NAME=R0:R1:C0:C1 (rows R0..R1-1, columns C0..C1-1 of the stored "
                    "frame) replaces or adds a region; --remove NAME drops one; --auto forgets "
                    "what a person set, so regions are found on the data again. Every change is "
                    "logged with the session and used by show, plot and export from then on.")
    p.add_argument("id", type=session_id, help="session id, or last")
    p.add_argument("--set", dest="set_", action="append", default=[], type=_region_spec,
                   metavar="NAME=R0:R1:C0:C1", help="a region, e.g. left=6:16:2:10 (repeat)")
    p.add_argument("--remove", action="append", default=[], metavar="NAME",
                   help="drop a region (repeat)")
    p.add_argument("--auto", action="store_true", help="forget set regions; find them again")
    add_units_arg(p, "force unit")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_store_arg(p)
    p.set_defaults(func=run_regions)


def _check_plot_args(args: argparse.Namespace) -> tuple[Any, Path]:
    kind = ALL_KINDS[args.kind]
    if args.kind in SUBJECT_KINDS and (args.subject is None or args.id is not None):
        raise SotlogError(f"--kind {args.kind} draws a subject's sessions: give --subject CODE "
                          "and no session id")
    if args.kind not in SUBJECT_KINDS and (args.id is None or args.subject is not None):
        raise SotlogError(f"--kind {args.kind} draws one session: give its id, not --subject "
                          f"(--subject goes with --kind {', '.join(SUBJECT_KINDS)})")
    if args.kind in SUBJECT_KINDS and args.units != "N":
        raise SotlogError(f"--kind {args.kind} draws the force each visit kept, in N")
    out = Path(args.out)
    if out.suffix.lower() not in kind.suffixes:
        raise SotlogError(f"--kind {args.kind} writes {', '.join(kind.suffixes)}, not "
                          f"{out.suffix or 'a file without suffix'}: {out.name}")
    wrong = [flag for opt, flag in OPTION_FLAGS.items()
             if getattr(args, opt) is not None and opt not in kind.options]
    if wrong:
        takes = ", ".join(OPTION_FLAGS[o] for o in kind.options) or "none of them"
        raise SotlogError(f"{', '.join(wrong)} do(es) not apply to --kind {args.kind} "
                          f"(it takes {takes})")
    if args.t0 is not None and args.t1 is not None and args.t1 <= args.t0:
        raise SotlogError(f"--to ({args.t1:g}) must be after --from ({args.t0:g})")
    for opt, default in OPTION_DEFAULTS.items():
        if getattr(args, opt) is None:
            setattr(args, opt, default)
    if out.suffix.lower() == ".mp4":
        import shutil

        if shutil.which("ffmpeg") is None:
            raise SotlogError("writing .mp4 needs ffmpeg on PATH; install it or write a .gif")
    return kind, out


def run_plot(args: argparse.Namespace) -> int:
    from sensing.outputs.figures import FigureSpec, draw

    _, out = _check_plot_args(args)
    if args.kind in SUBJECT_KINDS:
        return _plot_visits(args, out)
    session = load_session(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    spec = FigureSpec(args.units, args.at, args.t0, args.t1, args.fps, args.speed)
    print(draw(session, args.kind, spec, out))
    return 0


def _plot_visits(args: argparse.Namespace, out: Path) -> int:
    from sensing.metrics import visits
    from sensing.outputs.visitplot import plot_visits
    from sensing.store.sessions import Store

    store = Store.open(args.store)
    listed = visits.fill(store, store.sessions(subject=args.subject)[::-1])  # oldest first
    print(plot_visits(args.subject, listed, out))
    return 0


_SPEC = re.compile(r"^\s*([A-Za-z][\w.-]*)\s*=\s*(\d+):(\d+):(\d+):(\d+)\s*$")


def _region_spec(text: str) -> dict[str, Any]:
    m = _SPEC.match(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"region must be NAME=R0:R1:C0:C1 with whole numbers, e.g. left=6:16:2:10; "
            f"not {text!r}")
    r0, r1, c0, c1 = (int(g) for g in m.groups()[1:])
    return {"name": m.group(1), "r0": r0, "r1": r1, "c0": c0, "c1": c1, "source": "person"}


def run_regions(args: argparse.Namespace) -> int:
    from sensing.metrics.matfacts import mat_fact_lines, mat_facts
    from sensing.store.sessions import Store

    if args.auto and (args.set_ or args.remove):
        raise SotlogError("--auto forgets set regions; it cannot go with --set or --remove")
    session = load_session(args)
    info = session.info
    if not info.is_matrix:
        raise SotlogError(f"session {info.id} is a load-cell session: it has no mat regions")
    if args.auto or args.set_ or args.remove:
        current = {r.name: r.as_dict() for r in session.mat_regions()}
        missing = [n for n in args.remove if n not in current]
        if missing:
            raise SotlogError(f"no region {', '.join(missing)} in session {info.id} "
                              f"(it has {', '.join(current) or 'none'})")
        for name in args.remove:
            del current[name]
        for spec in args.set_:
            current[spec["name"]] = spec
        if not current and not args.auto:
            raise SotlogError("that would leave no regions; --auto finds them on the data again")
        store = Store.open(args.store)
        store.set_mat_regions(info.id, None if args.auto else list(current.values()))
        session = store.session(info.id)
    facts = mat_facts(session, units=args.units)
    if args.json:
        print_json({"id": session.info.id, **facts})
        return 0
    print(f"session {session.info.id}  ({session.info.profile_name})")
    print("\n".join(mat_fact_lines(facts)))
    return 0
