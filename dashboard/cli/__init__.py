"""The ``sotlog`` command line: a verb per job; errors are one line on stderr, not a traceback."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from firmware_bridge import __version__
from firmware_bridge.errors import SotlogError
from sensing.store import config
from sensing.vocabulary import INTENDED_USE

# Every verb and the module that registers it (one module per group of verbs, each with
# ``register(subparsers)``). A command line imports only the module of the verb it runs, so a
# quick verb (``sessions``, ``--version``) never pays for a slow one's imports; `sotlog --help`
# imports them all. tests/dashboard/cli/test_cli_sessions.py checks this table against what
# each module registers.
VERBS: dict[str, str] = {
    "record": "dashboard.cli.record",
    "calibrate": "dashboard.cli.calibrate",
    "calibrations": "dashboard.cli.calibrate",
    "recalibrate": "dashboard.cli.calibrate",
    "sessions": "dashboard.cli.sessions",
    "show": "dashboard.cli.review",
    "reparse": "dashboard.cli.review",
    "edits": "dashboard.cli.edits",
    "undo": "dashboard.cli.edits",
    "check": "dashboard.cli.check",
    "detect": "dashboard.cli.detected",
    "event": "dashboard.cli.detected",
    "import": "dashboard.cli.importer",
    "export": "dashboard.cli.output",
    "plot": "dashboard.cli.plot",
    "report": "dashboard.cli.report",
    "regions": "dashboard.cli.plot",
    "ports": "dashboard.cli.device",
    "profiles": "dashboard.cli.device",
    "serve": "dashboard.cli.serve",
    "sync": "dashboard.cli.sync",
}
COMMAND_MODULES = tuple(dict.fromkeys(VERBS.values()))
CONFIG_HELP = (f"the station's config file (default: ${config.CONFIG_ENV}, else "
               "config.toml in the user config folder); see docs/multi-station.md")

EPILOG = """\
examples:
  sotlog record --port 'sim://loadcells?blocks=2&rate=80&protocol=lines&seed=1' \\
                --profile sim-loadcells --duration 30 --subject P-0042 \\
                --position prone --category II --block left:iliac_crest:30 --block right:acetabulum
  sotlog sessions
  sotlog show 1
  sotlog plot 1 -o session-1.png
  sotlog export 1 --format csv -o exports/
  sotlog report 1 -o session-1.pdf
  sotlog serve --simulate

"""


def terminal_columns() -> int:
    """The width help is wrapped to, found as argparse finds it (``COLUMNS``, else the
    terminal's, else 80) but without importing shutil for it, which loads zlib, bz2 and lzma:
    3 ms of the 56 `sotlog sessions` takes (bench/startup.py)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, as wide as ``terminal_columns`` says."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


class RawDescriptionHelpFormatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The top-level help: its description and examples as written."""


class Parser(argparse.ArgumentParser):
    """Every verb's parser: argparse's, with ``HelpFormatter`` unless a verb names another."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The ``sotlog`` parser with the verbs of ``modules`` (default: every verb)."""
    parser = Parser(
        prog="sotlog",
        description="Record force and timing under SOT pelvic blocks from load cells or "
                    "pressure mats; show, plot and export sessions.",
        epilog=EPILOG + "\n" + textwrap.fill(INTENDED_USE, 79) + "\n",
        formatter_class=RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sotlog {__version__}")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True, parser_class=Parser)
    for name in modules:
        importlib.import_module(name).register(sub)
    for verb in sub.choices.values():  # before or after the verb, as a person types it
        verb.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)
    return parser


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The verb modules a command line needs: its verb's, none for ``--version`` alone, and
    every one otherwise (``--help``, no verb, a wrong verb: the usage lists them all)."""
    given = [a for i, a in enumerate(argv) if i == 0 or argv[i - 1] != "--config"]
    words = [a for a in given if not a.startswith("-")]
    if words and words[0] in VERBS:
        return (VERBS[words[0]],)
    if not words and "--version" in argv and not {"-h", "--help"} & set(argv):
        return ()
    return COMMAND_MODULES


# numpy's OpenBLAS starts a thread per core when numpy is imported, and each spins a while
# waiting for work: about 0.12 s of CPU every command that imports numpy, on a 2-core laptop.
# sotlog does no linear algebra that needs them; a person's own setting wins.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault(*BLAS_THREADS)  # before a verb's module imports numpy
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(modules_for(argv)).parse_args(argv)
    try:
        if args.config:
            config.use_file(args.config)
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
