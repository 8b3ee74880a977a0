"""The verbs of the ``sotlog`` command line, grouped by job."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from sensing.vocabulary import (
    CATEGORIES,
    LANDMARKS,
    MAX_ID,
    OUTPUT_UNITS,
    POSITIONS,
    SHORT_LEG_SIDES,
)


def red(text: str, stream: Any = None) -> str:
    """``text`` in red where ``stream`` (stderr by default) is a terminal and NO_COLOR is unset."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty() or os.environ.get("NO_COLOR"):
        return text
    return f"\033[31m{text}\033[0m"


def add_units_arg(p: argparse.ArgumentParser, help: str = "force unit") -> None:  # noqa: A002
    p.add_argument("--units", choices=list(OUTPUT_UNITS), default="N", help=help)


def add_store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH|URL",
                   help="session store: a file, sqlite:///file or postgresql://host/db "
                        "(default: $SOTLOG_STORE, else store in the config file, else a file in "
                        "the user data dir)")


def positive(text: str) -> float:
    """argparse type for a positive number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def add_metadata_args(p: argparse.ArgumentParser) -> None:
    """The session metadata a person gives when a session is made (record, import)."""
    p.add_argument("--subject", metavar="CODE", help="subject code (a pseudonym, e.g. P-0042)")
    p.add_argument("--position", choices=POSITIONS)
    p.add_argument("--category", choices=CATEGORIES)
    p.add_argument("--short-leg", choices=SHORT_LEG_SIDES)
    p.add_argument("--block", action="append", default=[], metavar="SIDE:LANDMARK[:ANGLE]",
                   help="a block, e.g. left:iliac_crest:30 (repeat for each block); landmarks: "
                        f"{', '.join(LANDMARKS)}")
    p.add_argument("--body-weight", type=positive, metavar="KG", help="body weight in kg")
    p.add_argument("--note", default="", metavar="TEXT", help="a free-text note")


def meta_from_args(args: argparse.Namespace) -> Any:
    """The SessionMeta named by ``add_metadata_args`` options; a one-line error if it is off."""
    from sensing.metadata import Block, SessionMeta

    return SessionMeta(
        subject_code=args.subject, position=args.position, category=args.category,
        short_leg=args.short_leg, blocks=[Block.parse(b) for b in args.block],
        body_weight_kg=args.body_weight, note=args.note,
    )


def session_id(text: str) -> int | str:
    """argparse type for a session id: a number, or ``last`` for the newest session."""
    if text == "last":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"session id must be a whole number or 'last', not {text!r}") from None
    if not 1 <= value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"session id must be from 1 to {MAX_ID}, not {value}")
    return value


def whole_number(lo: int, hi: int) -> Callable[[str], int]:
    """argparse type for a whole number from ``lo`` to ``hi`` (a port, an id)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, not {value}")
        return value
    return parse


def load_session(args: argparse.Namespace) -> Any:
    """The session named by ``args.id`` in the store named by ``args.store``."""
    from firmware_bridge.errors import StoreError
    from sensing.store.sessions import Store

    store = Store.open(args.store)
    ident = args.id
    if ident == "last":
        newest = store.sessions(limit=1)
        if not newest:
            raise StoreError(f"no sessions in {store.path} yet")
        ident = newest[0].id
    return store.session(ident)


def print_json(obj: Any) -> None:
    from sensing.plainjson import dumps

    sys.stdout.write(dumps(obj, indent=2) + "\n")


def fmt_num(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned text table."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=False)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
              for r in rows]
    return "\n".join(lines)


def utc_day(text: str) -> date:
    """argparse type for a day, YYYY-MM-DD (UTC)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date must be YYYY-MM-DD, not {text!r}") from None
