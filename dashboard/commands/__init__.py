"""The verbs of the ``sotlog`` command line, grouped by job."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def add_store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="PATH",
                   help="session store file (default: $SOTLOG_STORE, else the user data dir)")


def session_id(text: str) -> int | str:
    """argparse type for a session id: a number, or ``last`` for the newest session."""
    if text == "last":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"session id must be a whole number or 'last', not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"session id must be positive, not {value}")
    return value


def load_session(args: argparse.Namespace) -> Any:
    """The session named by ``args.id`` in the store named by ``args.store``."""
    from firmware_bridge.errors import StoreError
    from sensing import open_store

    store = open_store(args.store)
    ident = args.id
    if ident == "last":
        newest = store.sessions()
        if not newest:
            raise StoreError(f"no sessions in {store.path} yet")
        ident = newest[0].id
    return store.session(ident)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=_default)
    sys.stdout.write("\n")


def _default(obj: object) -> object:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


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
