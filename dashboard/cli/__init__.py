"""The ``sotlog`` command line: a verb per job; errors are one line on stderr, not a traceback."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from firmware_bridge import __version__
from firmware_bridge.errors import SotlogError

# Verb groups, one module each; every module has ``register(subparsers)``.
COMMAND_MODULES = (
    "dashboard.cli.record",
    "dashboard.cli.calibrate",
    "dashboard.cli.review",
    "dashboard.cli.edits",
    "dashboard.cli.check",
    "dashboard.cli.importer",
    "dashboard.cli.output",
    "dashboard.cli.plot",
    "dashboard.cli.device",
    "dashboard.cli.serve",
)

EPILOG = """\
examples:
  sotlog record --port 'sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1' \\
                --profile sim-loadcells --duration 30 --subject P-0042 \\
                --position prone --category II --block left:iliac_crest:30 --block right:acetabulum
  sotlog sessions
  sotlog show 1
  sotlog plot 1 -o session-1.png
  sotlog export 1 --format csv -o exports/
  sotlog serve --simulate

sotlog records force and timing; it does not judge the procedure or its effect.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sotlog",
        description="Record force and timing under SOT pelvic blocks from load cells or "
                    "pressure mats; show, plot and export sessions.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sotlog {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except SotlogError as err:
        print(f"sotlog: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sotlog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:
        where = f" {err.filename}:" if err.filename else ""
        print(f"sotlog: error:{where} {err.strerror or err}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: still one line, with the way to see the traceback
        if os.environ.get("SOTLOG_DEBUG"):
            raise
        print(f"sotlog: internal error: {type(err).__name__}: {err} "
              "(set SOTLOG_DEBUG=1 to see the traceback, and please report it)", file=sys.stderr)
        return 3
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
